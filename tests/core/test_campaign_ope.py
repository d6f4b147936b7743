"""Off-policy evaluation with known propensities, policies and Qini curves."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from core.campaigns import (
    IPW,
    OPE_ESTIMATORS,
    SNIPW,
    DirectMethod,
    DoublyRobust,
    actions_from_labels,
    from_actions,
    greedy,
    qini,
    single_arm,
)
from core.campaigns.policy import share_by_arm
from core.common.errors import OptionError


def _logged(n: int, rng: np.random.Generator):
    """Three arms logged with propensities that depend on x (known); known mean rewards."""
    x = rng.normal(size=n)
    logits = np.column_stack([np.zeros(n), 0.8 * x, -0.8 * x])
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    a = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    mean = np.column_stack([0.2 + 0 * x, 0.3 + 0.2 * x, 0.35 - 0.2 * x])
    r = (rng.random(n) < np.clip(mean[np.arange(n), a], 0, 1)).astype(float)
    return x, a, prob[np.arange(n), a], mean, r


def test_estimators_share_one_signature() -> None:
    sigs = {inspect.signature(cls.estimate_policy_value) for cls in OPE_ESTIMATORS.values()}
    assert len(sigs) == 1
    params = list(next(iter(sigs)).parameters)
    assert params == ["self", "reward", "action", "action_dist", "pscore", "estimated_rewards"]
    assert len({inspect.signature(c.estimate_interval) for c in OPE_ESTIMATORS.values()}) == 1


def test_ipw_snipw_dr_recover_a_policy_value_with_known_propensities() -> None:
    rng = np.random.default_rng(0)
    x, a, p, mean, r = _logged(40_000, rng)
    target = np.where(x > 0, 1, 2)  # the truly better arm for each x
    pi = from_actions(target, 3)
    truth = mean[np.arange(len(x)), target].mean()
    q = mean + rng.normal(0, 0.05, mean.shape)  # a decent, imperfect outcome model
    for est in (IPW(), SNIPW(), DoublyRobust()):
        v = est.estimate_interval(r, a, pi, p, q)
        assert v.ci_low <= truth <= v.ci_high, (est.name, v, truth)
        assert v.ci_high - v.ci_low < 0.03
    dr = DoublyRobust().estimate_interval(r, a, pi, p, mean)
    ipw = IPW().estimate_interval(r, a, pi, p)
    assert dr.se < ipw.se  # a right outcome model removes variance
    # A wrong outcome model biases the direct method but not DR (propensities are right).
    wrong = mean + 0.1
    assert DirectMethod().estimate_policy_value(r, a, pi, p, wrong) > truth + 0.08
    assert abs(DoublyRobust().estimate_policy_value(r, a, pi, p, wrong) - truth) < 0.01


def test_intervals_cover_at_the_nominal_rate_and_bootstrap_agrees() -> None:
    rng = np.random.default_rng(1)
    hits = {"ipw": 0, "snipw": 0, "dr": 0}
    reps = 300
    for _ in range(reps):
        x, a, p, mean, r = _logged(800, rng)
        pi = single_arm(len(x), 3, 1)
        truth = mean[:, 1].mean()
        for name in hits:
            est = OPE_ESTIMATORS[name]()
            q = mean if est.needs_model else None
            v = est.estimate_interval(r, a, pi, p, q)
            hits[name] += v.ci_low <= truth <= v.ci_high
    for name, h in hits.items():
        assert abs(h / reps - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps), (name, h / reps)
    x, a, p, mean, r = _logged(3000, rng)
    pi = single_arm(len(x), 3, 2)
    normal = SNIPW().estimate_interval(r, a, pi, p)
    boot = SNIPW().estimate_interval(r, a, pi, p, n_bootstrap=300, rng=3)
    assert boot.interval == "bootstrap"
    assert abs((boot.ci_high - boot.ci_low) / (normal.ci_high - normal.ci_low) - 1) < 0.25
    assert boot == SNIPW().estimate_interval(r, a, pi, p, n_bootstrap=300, rng=3)


def test_paired_difference_is_narrower_than_two_intervals() -> None:
    rng = np.random.default_rng(2)
    x, a, p, mean, r = _logged(20_000, rng)
    learned, best = from_actions(np.where(x > 0, 1, 2), 3), single_arm(len(x), 3, 2)
    d = DoublyRobust().estimate_difference(r, a, learned, best, p, mean)
    true_gain = np.where(x > 0, mean[:, 1], mean[:, 2]).mean() - mean[:, 2].mean()
    assert d.ci_low <= true_gain <= d.ci_high and d.ci_low > 0
    v1 = DoublyRobust().estimate_interval(r, a, learned, p, mean)
    v0 = DoublyRobust().estimate_interval(r, a, best, p, mean)
    assert d.value == pytest.approx(v1.value - v0.value)
    assert d.se < 0.8 * np.hypot(v1.se, v0.se)  # pairing removes the shared noise


def test_inputs_are_checked() -> None:
    r, a, p = np.ones(4), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    pi = from_actions(np.array([1, 1, 1, 1]), 2)
    with pytest.raises(OptionError, match="pscore"):
        IPW().estimate_policy_value(r, a, pi, np.zeros(4))
    with pytest.raises(OptionError, match="sum"):
        IPW().estimate_policy_value(r, a, pi * 2, p)
    with pytest.raises(OptionError, match="estimated_rewards"):
        DoublyRobust().estimate_policy_value(r, a, pi, p)
    with pytest.raises(OptionError, match="arm indices"):
        IPW().estimate_policy_value(r, np.array([0, 1, 2, 0]), pi, p)


def test_policies() -> None:
    assert greedy([[0.1, 0.3], [-0.2, -0.1], [0.2, 0.2]]).tolist() == [2, 0, 1]
    assert greedy([[0.1, 0.3]], cost=[0.0, 0.25]).tolist() == [1]
    assert actions_from_labels(["b", None, "", "ctl", "a"], ["ctl", "a", "b"]).tolist() == [
        2,
        0,
        0,
        0,
        1,
    ]
    with pytest.raises(OptionError, match=r"\['yacht'\].*never tried"):
        actions_from_labels(["a", "yacht"], ["ctl", "a"])
    assert share_by_arm([0, 1, 1, 1], ["c", "t"]) == {"c": 0.25, "t": 0.75}
    assert single_arm(2, 3, 2).tolist() == [[0, 0, 1], [0, 0, 1]]


def test_qini_ranks_responders_first() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    x = rng.normal(size=n)
    t = rng.random(n) < 0.5
    y = (rng.random(n) < 0.1 + 0.2 * (x > 0) * t).astype(float)
    good = qini(x, y, t, n_bootstrap=200, rng=1)
    rand = qini(rng.normal(size=n), y, t, n_bootstrap=200, rng=1)
    # a perfect ranking of a +0.2 effect on half the customers has coefficient 0.025
    assert good.ci_low > 0.01 and good.coefficient > rand.coefficient + 0.01
    assert rand.ci_low < 0 < rand.ci_high
    assert good.curve["fraction"].iloc[-1] == 1.0
    assert good.curve["qini"].iloc[-1] == pytest.approx(good.curve["random"].iloc[-1])
    assert (good.curve["ci_low"] <= good.curve["ci_high"]).all()
    # the uplift curve ends at the average lift (0.1); ranking well, it gets there by half the
    # customers (everyone who responds), ranking at random only half way
    half = (good.curve["fraction"] - 0.5).abs().idxmin()
    assert good.curve["uplift"].iloc[-1] == pytest.approx(0.1, abs=0.03)
    assert good.curve["uplift"][half] > 0.08 and rand.curve["uplift"][half] < 0.075
    again = qini(x, y, t, n_bootstrap=200, rng=1)
    assert (again.ci_low, again.ci_high) == (good.ci_low, good.ci_high)
    with pytest.raises(OptionError, match="both"):
        qini(x, y, np.ones(n, dtype=bool))
