"""The learned targeting: personalise when it pays, fall back to the best arm when it does not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from core.campaigns import learn_targeting
from core.campaigns.targeting import average_lifts, shrink
from core.common.errors import OptionError

ARMS = ("none", "a", "b")


def _data(n: int, effect: float, seed: int):
    """Arm a helps when x > 0 and b when x < 0 by ``effect``; a has a small average edge."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    t = rng.choice(np.array(ARMS), n)
    tau_a = 0.2 + effect * (x[:, 0] > 0)
    tau_b = effect * (x[:, 0] <= 0)
    y = x[:, 1] + np.where(t == "a", tau_a, 0.0) + np.where(t == "b", tau_b, 0.0)
    return x, t, y + rng.normal(size=n), np.full(n, 1 / 3)


def test_strong_heterogeneity_is_targeted() -> None:
    x, t, y, p = _data(6000, 2.0, 0)
    tg = learn_targeting(x, t, y, p, ARMS, learner_params={"learner": LinearRegression()})
    assert tg.strength > 0
    assert set(tg.validation.columns) == {"strength", "value", "se", "gain", "gain_se", "bound"}
    best = tg.validation.loc[tg.validation["strength"] == tg.strength].iloc[0]
    assert best["gain"] > 3 * best["gain_se"]
    acts = tg.actions(x)
    assert (acts[x[:, 0] > 0.5] == 1).mean() > 0.9 and (acts[x[:, 0] < -0.5] == 2).mean() > 0.9


def test_without_heterogeneity_a_margin_keeps_the_best_single_arm() -> None:
    x, t, y, p = _data(3000, 0.0, 1)
    tg = learn_targeting(
        x, t, y, p, ARMS, margin=3.0, learner_params={"learner": LinearRegression()}
    )
    assert tg.strength == 0.0
    assert (tg.actions(x) == 1).all()  # everyone gets arm a, the best on average


def test_minimised_outcomes_and_helpers() -> None:
    x, t, y, p = _data(3000, 2.0, 2)
    tg = learn_targeting(
        x, t, -y, p, ARMS, minimize=True, learner_params={"learner": LinearRegression()}
    )
    assert tg.sign == -1.0 and (tg.actions(x)[x[:, 0] > 0.5] == 1).mean() > 0.9
    codes = np.array([ARMS.index(v) for v in t])
    lifts = average_lifts(codes, y, p, 3)
    assert lifts.shape == (2,) and lifts[0] > lifts[1]
    np.testing.assert_allclose(
        shrink(np.array([[1.0, 3.0]]), np.array([0.0, 1.0]), 0.5), [[0.5, 2.0]]
    )
    with pytest.raises(OptionError, match="strengths"):
        learn_targeting(x, t, y, p, ARMS, strengths=(0.0, 2.0))
