"""Multi-arm uplift learners: one signature, the control label as a parameter, planted effects."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from core.campaigns import LEARNERS, DRLearner, TLearner, XLearner, make_learner
from core.common.errors import OptionError


def _data(n: int = 3000, seed: int = 0):
    """Arms 'none' (control), 'a' and 'b'; effect of a = 1 + x0, of b = 2 - x0 (linear)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = rng.choice(np.array(["none", "a", "b"]), n, p=[0.4, 0.3, 0.3])
    tau = np.column_stack([1 + x[:, 0], 2 - x[:, 0]])
    y = x @ [1.0, 0.5, -0.5] + np.where(t == "a", tau[:, 0], 0) + np.where(t == "b", tau[:, 1], 0)
    return x, t, y + rng.normal(size=n), tau


@pytest.mark.parametrize("name", list(LEARNERS))
def test_learners_share_the_causalml_signature(name: str) -> None:
    cls = LEARNERS[name]
    assert list(inspect.signature(cls.fit).parameters) == ["self", "x", "treatment", "y", "p"]
    assert list(inspect.signature(cls.predict).parameters) == ["self", "x"]
    assert "control_name" in inspect.signature(cls).parameters
    x, t, y, _ = _data(400)
    model = make_learner(name, control_name="none", learner=LinearRegression())
    assert model.fit(x, t, y) is model
    assert model.treatments_ == ("a", "b") and model.arms_ == ("none", "a", "b")
    assert model.predict(x[:7]).shape == (7, 2)
    assert model.predict_outcomes(x[:7]).shape == (7, 3)


@pytest.mark.parametrize("cls", [TLearner, XLearner, DRLearner])
def test_learners_recover_planted_heterogeneous_effects(cls) -> None:
    x, t, y, tau = _data()
    model = cls(control_name="none", learner=LinearRegression(), effect_learner=LinearRegression())
    pred = model.fit(x, t, y).predict(x)
    for j in range(2):
        assert np.corrcoef(pred[:, j], tau[:, j])[0, 1] > 0.95
        assert abs(pred[:, j].mean() - tau[:, j].mean()) < 0.15


def test_default_gradient_boosting_learns_a_binary_outcome() -> None:
    rng = np.random.default_rng(2)
    n = 4000
    x = rng.normal(size=(n, 2))
    t = np.where(rng.random(n) < 0.5, "ctl", "mail")
    p = 0.1 + 0.3 * (x[:, 0] > 0) * (t == "mail")
    y = (rng.random(n) < p).astype(float)
    model = TLearner(control_name="ctl").fit(x, t, y)
    tau = model.predict(x)[:, 0]
    assert tau[x[:, 0] > 0.5].mean() > 0.2 and abs(tau[x[:, 0] < -0.5].mean()) < 0.06
    mu = model.predict_outcomes(x)
    assert mu.min() >= 0 and mu.max() <= 1  # probabilities of a classifier


def test_control_label_is_a_parameter_and_errors_are_clear() -> None:
    x, t, y, _ = _data(300)
    with pytest.raises(OptionError, match="control label 'control'"):
        TLearner(learner=LinearRegression()).fit(x, t, y)
    with pytest.raises(OptionError, match="not fitted"):
        XLearner().predict(x)
    with pytest.raises(OptionError, match="n_folds"):
        DRLearner(control_name="none", n_folds=1).fit(x, t, y)
    with pytest.raises(OptionError, match="every row is in the control"):
        TLearner(control_name="none").fit(x, np.full(len(t), "none"), y)
    with pytest.raises(OptionError, match="unknown uplift learner"):
        make_learner("s")
    fitted = TLearner(control_name="none", learner=LinearRegression()).fit(x, t, y)
    with pytest.raises(OptionError, match="features"):
        fitted.predict(x[:, :2])


def test_results_are_reproducible_per_seed() -> None:
    x, t, y, _ = _data(800)
    a = DRLearner(control_name="none", random_state=4).fit(x, t, y).predict(x)
    b = DRLearner(control_name="none", random_state=4).fit(x, t, y).predict(x)
    c = DRLearner(control_name="none", random_state=5).fit(x, t, y).predict(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
