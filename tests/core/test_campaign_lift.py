"""Lift against control: hand-checked intervals, the regression adjustment and coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.campaigns import arm_lift, arm_summary, lift_table, validate_log
from core.campaigns.lift import regression_adjusted
from core.common.errors import OptionError


def test_difference_in_means_on_a_tiny_hand_checked_log() -> None:
    # treated 3, 4, 5 (mean 4, s^2 1); control 1, 2, 3 (mean 2, s^2 1)
    df = pd.DataFrame({"arm": ["t", "t", "t", "c", "c", "c"], "y": [3, 4, 5, 1, 2, 3]})
    log = validate_log(df, arm="arm", control="c", outcomes=["y"], min_rows=3)
    lift = arm_lift(log, "t", "y")
    se = np.sqrt(1 / 3 + 1 / 3)  # 0.8165
    # Welch df = (2/3)^2 / ((1/3)^2/2 + (1/3)^2/2) = 4; t(0.975, 4) = 2.7764
    assert lift.estimate == 2.0 and lift.se == pytest.approx(se)
    assert lift.df == pytest.approx(4.0)
    assert lift.ci_low == pytest.approx(2 - 2.776445 * se, abs=1e-5)  # -0.2670
    assert lift.ci_high == pytest.approx(2 + 2.776445 * se, abs=1e-5)  # 4.2670
    assert lift.p_value == pytest.approx(0.0705, abs=1e-4)  # 2 * t.sf(2.449, 4)
    assert (lift.n, lift.n_control, lift.mean, lift.mean_control) == (3, 3, 4.0, 2.0)
    narrow = arm_lift(log, "t", "y", level=0.5)
    assert narrow.ci_high - narrow.ci_low < lift.ci_high - lift.ci_low


def test_binary_lift_uses_newcombes_score_interval() -> None:
    # Newcombe (1998), Table II, method 10: 56/70 - 48/80 -> [0.0524, 0.3339];
    # 9/10 - 3/10 -> [0.1705, 0.8090].
    for (x1, n1, x0, n0), (lo, hi) in (
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
    ):
        df = pd.DataFrame(
            {
                "arm": ["t"] * n1 + ["c"] * n0,
                "y": [1] * x1 + [0] * (n1 - x1) + [1] * x0 + [0] * (n0 - x0),
            }
        )
        log = validate_log(df, arm="arm", control="c", outcomes=["y"], min_rows=10)
        lift = arm_lift(log, "t", "y")
        assert lift.interval == "newcombe" and lift.estimate == pytest.approx(x1 / n1 - x0 / n0)
        assert (round(lift.ci_low, 4), round(lift.ci_high, 4)) == (lo, hi)
    # pooled two-proportion z-test: pooled rate 104/150, z = 0.2 / 0.07547 = 2.650, p = 0.0080
    assert arm_lift(
        validate_log(
            pd.DataFrame(
                {"arm": ["t"] * 70 + ["c"] * 80, "y": [1] * 56 + [0] * 14 + [1] * 48 + [0] * 32}
            ),
            arm="arm",
            control="c",
            outcomes=["y"],
        ),
        "t",
        "y",
    ).p_value == pytest.approx(0.0080, abs=1e-4)


def test_unequal_probabilities_weight_the_means() -> None:
    # Control rows of kind "a" were assigned with probability 0.8, kind "b" with 0.2.
    df = pd.DataFrame(
        {
            "arm": ["t"] * 4 + ["c"] * 4,
            "y": [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 4.0],
            "p": [0.5] * 4 + [0.8, 0.8, 0.8, 0.2],
        }
    )
    log = validate_log(df, arm="arm", control="c", outcomes=["y"], propensity="p", min_rows=2)
    # Hajek control mean: (4 / 0.2) / (3 / 0.8 + 1 / 0.2) = 20 / 8.75
    assert arm_lift(log, "t", "y").mean_control == pytest.approx(20 / 8.75)
    summary = arm_summary(log)
    assert list(summary["arm"]) == ["c", "t"] and summary["y"].iloc[0] == pytest.approx(20 / 8.75)


def _hc2_lin(y: np.ndarray, t: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    xc = x - x.mean(axis=0)
    design = np.column_stack([np.ones(len(y)), t, xc, t[:, None] * xc])
    inv = np.linalg.inv(design.T @ design)
    beta = inv @ design.T @ y
    e = y - design @ beta
    h = np.einsum("ij,jk,ik->i", design, inv, design)
    a = (inv @ design.T)[1]
    return float(beta[1]), float(np.sqrt((a**2 * e**2 / (1 - h)).sum()))


def test_regression_adjustment_matches_lin_with_hc2_and_is_narrower() -> None:
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=(n, 3))
    t = (rng.random(n) < 0.5).astype(float)
    y = 1.0 + 0.5 * t + x @ [2.0, -1.0, 0.5] + 0.8 * t * x[:, 0] + rng.normal(size=n)
    est, se, df, d = regression_adjusted(y, t, x, np.ones(n))
    ref_est, ref_se = _hc2_lin(y, t, x)
    assert est == pytest.approx(ref_est, rel=1e-9) and se == pytest.approx(ref_se, rel=1e-9)
    assert d == 3 and df == n - 8
    frame = pd.DataFrame(
        {"arm": np.where(t == 1, "t", "c"), "y": y, **{f"x{i}": x[:, i] for i in range(3)}}
    )
    log = validate_log(frame, arm="arm", control="c", outcomes=["y"])
    plain, adjusted = arm_lift(log, "t", "y"), arm_lift(log, "t", "y", method="adjusted")
    assert adjusted.covariates == 3 and adjusted.se < 0.6 * plain.se
    assert adjusted.ci_low < 0.5 + 0.8 * x[:, 0].mean() < adjusted.ci_high


def test_many_features_are_summarised_to_keep_rows_per_coefficient() -> None:
    rng = np.random.default_rng(4)
    n = 300
    x = rng.normal(size=(n, 40))
    t = rng.random(n) < 0.5
    y = t + x[:, 0] + rng.normal(size=n)
    est, se, df, d = regression_adjusted(y, t, x, np.ones(n))
    assert d == n // 20 - 1 and np.isfinite(se) and abs(est - 1) < 4 * se


def test_lift_table_rows_and_errors() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "arm": rng.choice(["none", "a", "b"], 300),
            "y": rng.random(300) < 0.3,
            "z": rng.normal(size=300),
            "f": rng.normal(size=300),
        }
    )
    log = validate_log(frame, arm="arm", control="none", outcomes=["y", "z"])
    table = lift_table(log)
    assert list(table[["arm", "outcome"]].itertuples(index=False, name=None)) == [
        ("a", "y"),
        ("b", "y"),
        ("a", "z"),
        ("b", "z"),
    ]
    assert (table["ci_low"] <= table["estimate"]).all() and (
        table["estimate"] <= table["ci_high"]
    ).all()
    assert set(lift_table(log, method="adjusted")["method"]) == {"adjusted"}
    with pytest.raises(OptionError, match="method"):
        lift_table(log, method="bayes")
    with pytest.raises(OptionError, match="treatment arm"):
        arm_lift(log, "none", "y")
    with pytest.raises(OptionError, match="level"):
        arm_lift(log, "a", "y", level=1.5)


@pytest.mark.parametrize("method", ["difference", "adjusted"])
def test_intervals_cover_the_true_lift_at_their_nominal_rate(method: str) -> None:
    """400 small randomized logs with a known lift of 0.05 on a binary outcome."""
    rng = np.random.default_rng(11)
    hits = 0
    reps = 400
    for _ in range(reps):
        n = 400
        x = rng.normal(size=n)
        arm = rng.random(n) < 0.5
        p = np.clip(0.3 + 0.1 * x + 0.05 * arm, 0, 1)
        y = (rng.random(n) < p).astype(int)
        frame = pd.DataFrame({"arm": np.where(arm, "t", "c"), "y": y, "x": x})
        log = validate_log(frame, arm="arm", control="c", outcomes=["y"])
        lift = arm_lift(log, "t", "y", method=method)
        hits += lift.ci_low <= 0.05 <= lift.ci_high
    coverage = hits / reps
    # nominal 0.95; 3 binomial standard errors of 400 draws either side
    assert abs(coverage - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps), coverage
    assert stats.binomtest(hits, reps, 0.95).pvalue > 0.001
