"""Planning the next test: sample sizes against textbook values, control shares, assignments."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.campaigns import (
    achieved_power,
    min_control_share,
    randomized,
    sample_size,
    targeted,
    validate_log,
    write_assignments,
)
from core.campaigns.plan import plan_next_test
from core.common.errors import OptionError


def test_binary_sample_size_matches_the_textbook() -> None:
    # Fleiss, Levin & Paik: 10% vs 15%, alpha 0.05 two-sided, power 0.8 -> 686 per group
    # (725 with the continuity correction, which we do not apply).
    plan = sample_size(0.10, 0.05)
    assert plan.n_per_arm == plan.n_control == 686
    assert plan.control_share == 0.5 and plan.n_total == 1372
    # 90% power needs more; a larger lift fewer.
    assert sample_size(0.10, 0.05, power=0.9).n_per_arm == 918
    assert sample_size(0.10, 0.10).n_per_arm < 300


def test_amount_sample_size_matches_the_textbook() -> None:
    # Cohen's d = 0.5 at alpha 0.05, power 0.8: 2 (1.96 + 0.8416)^2 / 0.25 = 62.8 -> 63 per
    # group with the normal approximation (64 with Student's t).
    plan = sample_size(10.0, 0.5, kind="amount", sd=1.0)
    assert plan.n_per_arm == 63 and plan.sd == 1.0
    assert sample_size(10.0, 5.0, kind="amount", sd=10.0).n_per_arm == 63  # scale-free


def test_the_control_share_is_optimal_for_several_arms() -> None:
    plan = sample_size(0.10, 0.03, n_treatments=4)
    assert plan.ratio == 2.0 and plan.control_share == pytest.approx(2 / 6, abs=0.01)
    totals = {
        r: sample_size(0.10, 0.03, n_treatments=4, ratio=r).n_total for r in (1.0, 1.5, 2.0, 3.0)
    }
    assert min(totals, key=totals.get) == 2.0
    bonf = sample_size(0.10, 0.03, n_treatments=4, correction="bonferroni")
    assert bonf.n_per_arm > plan.n_per_arm


def test_the_plans_reach_their_power() -> None:
    for kind, base, mde, sd in (("binary", 0.05, 0.01, None), ("amount", 1.0, 0.2, 2.5)):
        plan = sample_size(base, mde, kind=kind, sd=sd, n_treatments=2)
        power = achieved_power(plan.n_per_arm, plan.n_control, base, mde, kind=kind, sd=sd)
        assert 0.8 <= power < 0.81
        less = achieved_power(plan.n_per_arm - 20, plan.n_control, base, mde, kind=kind, sd=sd)
        assert less < 0.8


def test_smallest_holdout_with_the_customers_available() -> None:
    plan = min_control_share(20_000, 0.10, 0.02)
    assert plan is not None and plan.n_total <= 20_000 and plan.control_share < 0.2
    assert achieved_power(plan.n_per_arm, plan.n_control, 0.10, 0.02) >= 0.8
    smaller = sample_size(0.10, 0.02, ratio=plan.ratio * 0.9)
    assert smaller.n_total > 20_000  # a smaller holdout would need more customers
    assert min_control_share(1000, 0.10, 0.02) is None  # too few customers for that lift


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(OptionError, match=r"\[0, 1\]"):
        sample_size(0.9, 0.2)
    with pytest.raises(OptionError, match="sd"):
        sample_size(1.0, 0.1, kind="amount")
    with pytest.raises(OptionError, match="non-zero"):
        sample_size(0.1, 0.0)
    with pytest.raises(OptionError, match="alpha"):
        sample_size(0.1, 0.01, alpha=1.0)


def test_plan_from_a_log_uses_its_control_group() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "arm": np.repeat(["c", "a", "b"], 500),
            "y": (rng.random(1500) < 0.2).astype(int),
            "s": rng.gamma(2.0, 5.0, 1500),
        }
    )
    log = validate_log(frame, arm="arm", control="c", outcomes=["y", "s"])
    plan = plan_next_test(log, "y", 0.05, n_customers=20_000)
    assert plan["baseline"] == pytest.approx(frame.loc[frame.arm == "c", "y"].mean())
    assert plan["per_arm"]["n_treatments"] == 2
    assert plan["targeting_vs_holdout"]["n_total"] <= 20_000
    amount = plan_next_test(log, "s", 1.0, n_customers=5000)
    sd = frame.loc[frame.arm == "c", "s"].std()
    assert amount["sd"] == pytest.approx(sd) and amount["kind"] == "amount"


def test_assignments_are_seeded_per_customer_and_keep_their_shares(tmp_path: Path) -> None:
    ids = [f"C{i:05d}" for i in range(20_000)]
    a = randomized(ids, ["control", "x", "y"], [0.2, 0.4, 0.4], seed=3)
    b = randomized(ids[::-1], ["control", "x", "y"], [0.2, 0.4, 0.4], seed=3)
    pd.testing.assert_series_equal(
        a.set_index("customer_id")["arm"], b.set_index("customer_id")["arm"].loc[ids]
    )
    shares = a["arm"].value_counts(normalize=True)
    assert abs(shares["control"] - 0.2) < 0.015 and abs(shares["x"] - 0.4) < 0.015
    assert (a["holdout"] == (a["arm"] == "control")).all()
    c = randomized(ids, ["control", "x", "y"], [0.2, 0.4, 0.4], seed=4)
    assert (a["arm"] != c["arm"]).mean() > 0.3
    with pytest.raises(OptionError, match="sum to 1"):
        randomized(ids, ["control", "x"], [0.5, 0.6])
    with pytest.raises(OptionError, match="unique"):
        randomized(["a", "a"], ["control", "x"], [0.5, 0.5])


def test_targeted_assignment_holds_out_a_random_control_group(tmp_path: Path) -> None:
    ids = np.arange(10_000)
    rec = np.where(ids % 3 == 0, "control", np.where(ids % 3 == 1, "x", "=cmd()"))
    t = targeted(ids, rec, control_share=0.1, seed=1)
    assert abs(t["holdout"].mean() - 0.1) < 0.01
    assert (t.loc[t["holdout"], "arm"] == "control").all()
    kept = ~t["holdout"]
    assert (t.loc[kept, "arm"] == t.loc[kept, "recommended"]).all()
    p = t.set_index("customer_id")["probability"]
    assert p[0] == 1.0 and math.isclose(p[t.index[kept & (t.recommended == "x")][0]], 0.9)
    out = write_assignments(t, tmp_path / "next.csv")
    text = (tmp_path / "next.csv").read_text()
    assert out.row_count == 10_000 and "'=cmd()" in text and "\n=cmd()" not in text
