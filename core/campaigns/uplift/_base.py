"""What the meta-learners share: arms, the default base models, fitting and predicting outcomes.

Every learner takes ``fit(X, treatment, y, p=None)`` with ``treatment`` the arm label of each
row (any labels; ``control_name`` marks the control group) and ``p`` the probability of the arm
each row received (default: the observed arm shares), and ``predict(X)`` returning the uplift
of every treatment arm against control, ``[n, K]`` in the order of ``treatments_`` (sorted
labels, as causalml). ``predict_outcomes(X)`` gives the expected outcome under control and
every arm, ``[n, 1 + K]``, which the doubly robust policy evaluation needs.

Base models: ``learner`` (outcome models) and ``effect_learner`` (the second stage of X and
DR) are any scikit-learn estimators, cloned per arm; ``None`` picks gradient boosting
(``HistGradientBoostingClassifier`` for a 0/1 outcome, whose probability is the prediction,
else ``HistGradientBoostingRegressor``), regularised for the few thousand rows an arm has.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from core.common.errors import OptionError
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.common.threads import model_threads


def default_model(binary: bool, n_rows: int, seed: int, *, effect: bool = False) -> Any:
    """Gradient boosting sized for ``n_rows`` training rows (a classifier for 0/1 outcomes).

    With 200 rows or more, boosting stops when a held-out fifth of the rows stops improving
    (at most 300 rounds): a noisy outcome (rare, heavy-tailed spend) then gets a nearly flat
    model instead of one that chases a few large values, and a strong signal gets the rounds
    it needs. Smaller arms get 50 fixed rounds. Amounts (and effects) get larger leaves, at
    least 2% of the rows: a leaf's mean then never rests on one or two big spenders.
    """
    leaf = int(min(100 if effect else 50, max(5, n_rows // 20)))
    if effect or not binary:
        leaf = max(leaf, n_rows // 50)
    stop = n_rows >= 200
    params = {
        "max_iter": 300 if stop else 50,
        "learning_rate": 0.05,
        "max_leaf_nodes": 7 if (effect or not binary) else 15,
        "min_samples_leaf": leaf,
        "l2_regularization": 1.0,
        "early_stopping": stop,
        "validation_fraction": 0.2,
        "n_iter_no_change": 10,
        "random_state": seed,
    }
    if binary and not effect:
        return HistGradientBoostingClassifier(**params)
    return HistGradientBoostingRegressor(**params)


def fit_model(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """Fit ``model`` (a constant when ``y`` has one value: classifiers need two classes)."""
    if len(np.unique(y)) < 2:
        return float(y[0]) if len(y) else 0.0
    with model_threads():
        return model.fit(x, y)


def predict_model(model: Any, x: np.ndarray) -> np.ndarray:
    """Predictions of a fitted model: P(y = 1) for classifiers, values otherwise."""
    if isinstance(model, float):
        return np.full(len(x), model)
    with model_threads():
        if is_classifier(model):
            return model.predict_proba(x)[:, 1]
        return np.asarray(model.predict(x), dtype=np.float64)


class BaseMetaLearner(BaseEstimator):
    """Shared parameters and checks of the T-, X- and DR-learners.

    Parameters
    ----------
    control_name : str, default "control"
        Label of the control group in ``treatment``.
    learner : scikit-learn estimator, optional
        Outcome model, cloned per arm (default: :func:`default_model`).
    effect_learner : scikit-learn estimator, optional
        Second-stage effect model (X- and DR-learners; default: a regressor of
        :func:`default_model`).
    n_folds : int, default 2
        Folds of the cross-fitting (DR-learner).
    random_state : int, Generator or None, default 0
        Seed of the folds and the base models.
    """

    def __init__(
        self,
        control_name: str = "control",
        learner: Any = None,
        effect_learner: Any = None,
        n_folds: int = 2,
        random_state: Any = 0,
    ) -> None:
        self.control_name = control_name
        self.learner = learner
        self.effect_learner = effect_learner
        self.n_folds = n_folds
        self.random_state = random_state

    # -- shared set-up -------------------------------------------------------------------------

    def _setup(
        self, x: Any, treatment: Any, y: Any, p: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Arrays, arm codes (0 = control) and the propensity of the received arm."""
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim == 1:
            xa = xa[:, None]
        t = np.asarray(treatment).astype(str)
        ya = np.asarray(y, dtype=np.float64)
        n = len(xa)
        if len(t) != n or len(ya) != n:
            raise OptionError(f"X, treatment and y differ in length: {n}, {len(t)}, {len(ya)}")
        if not np.all(np.isfinite(ya)) or not np.all(np.isfinite(xa)):
            raise OptionError("X and y must be finite (encode and fill the features first)")
        control = str(self.control_name)
        if not (t == control).any():
            raise OptionError(f"no row has the control label {control!r}")
        self.treatments_ = tuple(sorted(set(t.tolist()) - {control}))
        if not self.treatments_:
            raise OptionError("no treatment arm: every row is in the control group")
        if isinstance(self.n_folds, bool) or not isinstance(self.n_folds, int) or self.n_folds < 2:
            raise OptionError(f"n_folds must be a whole number >= 2, got {self.n_folds!r}")
        labels = (control, *self.treatments_)
        codes = np.searchsorted(np.array(labels[1:]), t) + 1
        codes[t == control] = 0
        if p is None:
            share = np.bincount(codes, minlength=len(labels)) / n
            pa = share[codes]
        else:
            pa = np.asarray(p, dtype=np.float64)
            if pa.shape != (n,) or not np.all((pa > 0) & (pa <= 1)):
                raise OptionError("p must hold one probability in (0, 1] per row")
        self.binary_ = bool(np.isin(ya, (0.0, 1.0)).all())
        self.seed_ = seed_of(self.random_state, high=SKLEARN_SEED_HIGH)
        # e_k: mean assignment probability of each arm (constant in a randomized log)
        self.arm_share_ = np.array([pa[codes == k].mean() for k in range(len(labels))])
        self.n_features_in_ = xa.shape[1]
        return xa, codes, ya, pa

    def _outcome_model(self, n_rows: int) -> Any:
        if self.learner is not None:
            return clone(self.learner)
        return default_model(self.binary_, n_rows, self.seed_)

    def _effect_model(self, n_rows: int) -> Any:
        if self.effect_learner is not None:
            return clone(self.effect_learner)
        return default_model(self.binary_, n_rows, self.seed_, effect=True)

    def _check_x(self, x: Any) -> np.ndarray:
        if not hasattr(self, "treatments_"):
            raise OptionError(f"{type(self).__name__} is not fitted; call fit(X, treatment, y)")
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim == 1:
            xa = xa[:, None]
        if xa.shape[1] != self.n_features_in_:
            raise OptionError(
                f"X has {xa.shape[1]} features; the learner was fitted with {self.n_features_in_}"
            )
        return xa

    @property
    def arms_(self) -> tuple[str, ...]:
        """Control first, then ``treatments_``: the columns of :meth:`predict_outcomes`."""
        return (str(self.control_name), *self.treatments_)

    def fit_predict(self, x: Any, treatment: Any, y: Any, p: Any = None) -> np.ndarray:
        """Fit, then predict the uplift of the same rows."""
        return self.fit(x, treatment, y, p).predict(x)

    # -- to be provided ------------------------------------------------------------------------

    def fit(self, x: Any, treatment: Any, y: Any, p: Any = None) -> BaseMetaLearner:
        raise NotImplementedError

    def predict(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def predict_outcomes(self, x: Any) -> np.ndarray:
        raise NotImplementedError
