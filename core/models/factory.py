"""The estimators of the model families: which pipeline each model choice and preset builds.

:class:`~core.models.KeyFactorModels` and :class:`~core.models.AcceptanceModels` ask this module
for unfitted estimators; the choices are :data:`CLTV_MODELS`, :data:`SATISFACTION_MODELS` and
:data:`CHURN_MODELS`, the preset (:data:`core.models.presets.PRESETS`) sets the boosting rounds,
learning rate and native categories. Tree models sit behind the ordinal-encoding preprocessor that
:mod:`core.models.scoring` knows how to bypass; linear models behind one-hot, scaling and splines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    SplineTransformer,
    StandardScaler,
)

from core.common.errors import ModelError
from core.models.presets import PRESETS, Preset
from core.models.scoring import in_blocks

__all__ = [
    "CHURN_MODELS",
    "CLTV_MODELS",
    "SATISFACTION_MODELS",
    "OrdinalRegressor",
    "SegmentInteraction",
    "churn_estimator",
    "fit_soft",
    "hgb_classifier",
    "linear_preprocessor",
    "regressor",
    "satisfaction_estimator",
]


#: Model families selectable for CLTV.
CLTV_MODELS: tuple[str, ...] = ("hgb", "gbr", "mlp", "rf", "ridge")
#: Model families selectable for satisfaction.
SATISFACTION_MODELS: tuple[str, ...] = ("ordinal", "regression")
#: Model families selectable for churn.
CHURN_MODELS: tuple[str, ...] = ("blend", "hgb", "logistic", "gb")


class SegmentInteraction(BaseEstimator, TransformerMixin):
    """Encode with ``preprocessor`` and append the encoded columns multiplied by ``column``.

    With ``column="month_to_month"`` a linear model gets separate slopes for month-to-month
    customers, whose churn behaves differently from contract customers.
    """

    def __init__(self, preprocessor: Any, column: str) -> None:
        self.preprocessor = preprocessor
        self.column = column

    def fit(self, X: pd.DataFrame, y: Any = None) -> SegmentInteraction:
        self.preprocessor_ = clone(self.preprocessor).fit(X, y)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        z = np.asarray(self.preprocessor_.transform(X), dtype=float)
        if self.column not in X.columns:
            return z
        m = X[self.column].to_numpy(dtype=float)[:, None]
        return np.hstack([z, z * m])


class OrdinalRegressor(BaseEstimator, RegressorMixin):
    """Ordinal regression by cumulative binary classifiers (Frank and Hall, 2001).

    One clone of ``classifier`` per threshold estimates ``P(y >= level_k)``; the cumulative
    probabilities are made non-increasing and :meth:`predict` returns the expected level
    ``level_0 + sum_k (level_k - level_{k-1}) P(y >= level_k)``.
    """

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def fit(self, X: Any, y: Any) -> OrdinalRegressor:
        y = np.asarray(y, dtype=float)
        self.levels_ = np.unique(y)
        self.estimators_: list[Any] = []
        for level in self.levels_[1:]:
            target = (y >= level).astype(int)
            if target.min() == target.max():
                self.estimators_.append(float(target[0]))
            else:
                self.estimators_.append(clone(self.classifier).fit(X, target))
        return self

    def cumulative_proba(self, X: Any) -> np.ndarray:
        """``[n, K-1]`` non-increasing ``P(y >= level_k)`` for k = 1..K-1."""
        n = len(X)
        cols = [
            np.full(n, e) if isinstance(e, float) else in_blocks(e.predict_proba, X)[:, 1]
            for e in self.estimators_
        ]
        if not cols:
            return np.zeros((n, 0))
        return np.minimum.accumulate(np.column_stack(cols), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        cum = self.cumulative_proba(X)
        steps = np.diff(self.levels_)
        return self.levels_[0] + cum @ steps


def _spline_columns(frame: pd.DataFrame, numeric: Sequence[str]) -> list[str]:
    return [c for c in numeric if frame[c].nunique() > 4]


def linear_preprocessor(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> Any:
    """Unfitted preprocessor of the linear models: one-hot, standard scaling, cubic splines.

    Parameters
    ----------
    frame
        The model matrix (numeric columns with more than 4 distinct values also get splines).
    categorical, numeric
        Its categorical and numeric columns.

    Returns
    -------
    ColumnTransformer
        Dense output; other columns are dropped.
    """
    parts: list[tuple[str, Any, list[str]]] = []
    if categorical:
        parts.append(
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float),
                categorical,
            )
        )
    if numeric:
        parts.append(("num", StandardScaler(), numeric))
    spl = _spline_columns(frame, numeric)
    if spl:
        parts.append(
            ("spline", SplineTransformer(n_knots=5, degree=3, extrapolation="constant"), spl)
        )
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _tree_preprocessor(categorical: list[str], numeric: list[str], unknown: float = np.nan) -> Any:
    """Ordinal codes of the categories (unknown and missing: NaN), then the numbers as they are.

    :func:`core.models.scoring._tree_layout` recognises the fitted form and bypasses it.
    ``unknown=-1`` codes unknown and missing categories -1 instead, for models that take no NaN.
    """
    parts: list[tuple[str, Any, list[str]]] = []
    if categorical:
        parts.append(
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=unknown,
                    encoded_missing_value=unknown,
                ),
                categorical,
            )
        )
    if numeric:
        parts.append(("num", "passthrough", numeric))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def hgb_classifier(
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Pipeline:
    """Unfitted histogram gradient boosting classifier (depth 3) behind the tree preprocessor.

    Parameters
    ----------
    categorical, numeric
        Categorical and numeric columns of the model matrix.
    random_state
        Seed of the booster.
    preset
        :data:`core.models.presets.PRESETS` entry: rounds, learning rate, native categories.

    Returns
    -------
    Pipeline
        ``[tree preprocessor, HistGradientBoostingClassifier]``.
    """
    return make_pipeline(
        _tree_preprocessor(categorical, numeric),
        _hgb(HistGradientBoostingClassifier, len(categorical), random_state, preset, 3),
    )


def _hgb(cls: Any, n_categorical: int, random_state: int, preset: Preset, depth: int) -> Any:
    """A histogram gradient boosting model after :func:`_tree_preprocessor` (categories first)."""
    native = preset.native_categorical and n_categorical > 0
    return cls(
        learning_rate=preset.learning_rate,
        max_iter=preset.rounds,
        max_depth=depth,
        min_samples_leaf=30,
        categorical_features=list(range(n_categorical)) if native else None,
        random_state=random_state,
    )


def _logistic(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> Pipeline:
    pre = linear_preprocessor(frame, categorical, numeric)
    return make_pipeline(
        SegmentInteraction(pre, "month_to_month"),
        LogisticRegression(C=0.3, max_iter=5000),
    )


def churn_estimator(
    kind: str,
    frame: pd.DataFrame,
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Any:
    """Unfitted churn classifier of ``kind`` (:data:`CHURN_MODELS`).

    Parameters
    ----------
    kind
        ``"logistic"`` (spline logistic regression with month-to-month interactions), ``"hgb"``
        (:func:`hgb_classifier`), ``"gb"`` (exact-split gradient boosting, scikit-learn's
        defaults: 100 rounds of depth 3 at learning rate 0.1, on the ordinal codes) or anything
        else: ``"blend"``, the soft vote of logistic and hgb.
    frame
        The model matrix the estimator will be fitted on (spline columns are those with more
        than 4 distinct values).
    categorical, numeric
        Its categorical and numeric columns.
    random_state
        Seed of the stochastic learners.
    preset
        :data:`core.models.presets.PRESETS` entry: rounds, learning rate, native categories.
    """
    if kind == "logistic":
        return _logistic(frame, categorical, numeric)
    if kind == "hgb":
        return hgb_classifier(categorical, numeric, random_state, preset)
    if kind == "gb":
        return make_pipeline(
            _tree_preprocessor(categorical, numeric, unknown=-1),
            GradientBoostingClassifier(random_state=random_state),
        )
    return VotingClassifier(
        [
            ("logistic", _logistic(frame, categorical, numeric)),
            ("hgb", hgb_classifier(categorical, numeric, random_state, preset)),
        ],
        voting="soft",
    )


#: Churn models that can learn from churn probabilities (soft labels, :func:`fit_soft`).
SOFT_LABEL_MODELS: tuple[str, ...] = ("gb", "hgb")


def fit_soft(model: Pipeline, X: pd.DataFrame, p: np.ndarray) -> Pipeline:
    """Fit a ``[preprocessor, classifier]`` pipeline on churn probabilities ``p`` (soft labels).

    Every customer appears twice, as a churner with weight ``p`` and as a stayer with weight
    ``1 - p``: the classifier's log-loss is then the cross-entropy to ``p``, so its
    ``predict_proba`` estimates the given probability. Rows of weight 0 are left out.
    """
    n = len(X)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    y = np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)])
    w = np.concatenate([p, 1.0 - p])
    keep = w > 0
    last = model.steps[-1][0]
    return model.fit(X.iloc[rows[keep]], y[keep], **{f"{last}__sample_weight": w[keep]})


def regressor(
    kind: str,
    frame: pd.DataFrame,
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Any:
    """Unfitted regressor of ``kind`` (:data:`CLTV_MODELS`), also satisfaction's ``regression``.

    Parameters
    ----------
    kind
        ``"hgb"``, ``"gbr"``, ``"rf"``, ``"ridge"`` or ``"mlp"``.
    frame, categorical, numeric, random_state, preset
        As for :func:`churn_estimator`.

    Raises
    ------
    ModelError
        For an unknown ``kind``.
    """
    if kind == "hgb":
        return make_pipeline(
            _tree_preprocessor(categorical, numeric),
            _hgb(HistGradientBoostingRegressor, len(categorical), random_state, preset, 4),
        )
    if kind == "gbr":
        return make_pipeline(
            linear_preprocessor(frame, categorical, numeric),
            GradientBoostingRegressor(
                n_estimators=200, max_depth=3, learning_rate=0.05, random_state=random_state
            ),
        )
    if kind == "rf":
        return make_pipeline(
            _tree_preprocessor(categorical, numeric),
            RandomForestRegressor(
                n_estimators=200, min_samples_leaf=10, max_features=0.5, random_state=random_state
            ),
        )
    if kind == "ridge":
        return make_pipeline(
            linear_preprocessor(frame, categorical, numeric),
            RidgeCV(alphas=np.logspace(-2, 3, 12)),
        )
    if kind == "mlp":
        return TransformedTargetRegressor(
            regressor=make_pipeline(
                linear_preprocessor(frame, categorical, numeric),
                MLPRegressor(
                    hidden_layer_sizes=(64, 32),
                    alpha=1e-3,
                    learning_rate_init=1e-3,
                    max_iter=500,
                    early_stopping=True,
                    n_iter_no_change=15,
                    random_state=random_state,
                ),
            ),
            transformer=StandardScaler(),
        )
    raise ModelError(f"cltv_model={kind!r}: choose one of {list(CLTV_MODELS)}.")


def satisfaction_estimator(
    kind: str,
    frame: pd.DataFrame,
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Any:
    """Unfitted satisfaction model of ``kind`` (:data:`SATISFACTION_MODELS`).

    Parameters
    ----------
    kind
        ``"ordinal"`` (:class:`OrdinalRegressor` over boosted classifiers, on the encoded
        matrix) or ``"regression"`` (:func:`regressor` ``"hgb"``).
    frame, categorical, numeric, random_state, preset
        As for :func:`churn_estimator`.

    Raises
    ------
    ModelError
        For an unknown ``kind``.
    """
    if kind == "ordinal":
        # encode once, then one boosted classifier per threshold on the encoded matrix
        return make_pipeline(
            _tree_preprocessor(categorical, numeric),
            OrdinalRegressor(
                _hgb(HistGradientBoostingClassifier, len(categorical), random_state, preset, 3)
            ),
        )
    if kind == "regression":
        return regressor("hgb", frame, categorical, numeric, random_state, preset)
    raise ModelError(f"satisfaction_model={kind!r}: choose one of {list(SATISFACTION_MODELS)}.")
