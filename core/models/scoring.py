"""Fast scoring of fitted models on several portfolios at once (the encoded path).

:meth:`core.models.KeyFactorModels.predict_portfolios` scores every model on all portfolios of a
chunk of customers stacked row-wise (:class:`StackedScorer`). A ``[tree preprocessor, model]``
pipeline is fed the encoded matrix of :meth:`~core.models.PortfolioFeatures.matrix_many` instead
of a string frame, and tree ensembles are evaluated in row blocks (:func:`in_blocks`). Every
shortcut gives the numbers of the plain pipeline calls exactly
(``tests/core/test_counterfactual_speed.py`` checks equality, not closeness).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    VotingClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from core.models.features import PortfolioFeatures

__all__ = ["StackedScorer", "in_blocks"]

_BLOCK = 2048  # rows per tree-ensemble call: the rows' features stay in the CPU cache


def in_blocks(fn: Callable[[Any], Any], X: Any) -> np.ndarray:
    """``fn(X)`` computed on blocks of ``_BLOCK`` rows of the array ``X`` and stacked.

    For row-wise predictors (tree ensembles score each row on its own) the numbers are the same
    as ``fn(X)``; blocks keep a block's features in the cache while all trees are evaluated
    (sklearn walks the rows once per tree), about 1.5-2x faster on large matrices.
    """
    if not isinstance(X, np.ndarray) or len(X) <= _BLOCK:
        return np.asarray(fn(X))
    return np.concatenate([np.asarray(fn(X[s : s + _BLOCK])) for s in range(0, len(X), _BLOCK)])


def _predict_encoded(final: Any, Z: np.ndarray, proba: bool) -> np.ndarray:
    """A pipeline's last step on its encoded matrix ``Z``, in row blocks (:func:`in_blocks`)."""
    if proba:
        return in_blocks(final.predict_proba, Z)[:, 1]
    return in_blocks(final.predict, Z)


def _predict_rows(model: Any, X: pd.DataFrame, proba: bool) -> np.ndarray:
    """``model.predict_proba(X)[:, 1]`` (``proba``) or ``model.predict(X)``, tree steps in blocks.

    A pipeline ending in a histogram gradient boosting model is preprocessed on the whole
    matrix and its final step scored in row blocks (:func:`in_blocks`); other models are
    called as they are. The numbers are those of the plain call.
    """
    final = model.steps[-1][1] if isinstance(model, Pipeline) else None
    if isinstance(final, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        return _predict_encoded(final, model[:-1].transform(X), proba)
    if proba:
        return np.asarray(model.predict_proba(X))[:, 1]
    return np.asarray(model.predict(X))


def _tree_layout(model: Any) -> tuple[list[str], dict[str, np.ndarray], Any] | None:
    """``(columns, categories, final)`` of a fitted ``[tree preprocessor, model]`` pipeline.

    None unless ``model`` is a two-step :class:`Pipeline` whose first step is the fitted tree
    preprocessor of :mod:`core.models.factory` (an ``OrdinalEncoder`` on the categorical columns
    with unknown and missing values encoded as NaN, the numeric columns passed through, nothing
    else): then ``final`` applied to :meth:`PortfolioFeatures.matrix_many` equals the pipeline.
    """
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    pre = model.steps[0][1]
    if not isinstance(pre, ColumnTransformer) or not hasattr(pre, "transformers_"):
        return None
    columns: list[str] = []
    categories: dict[str, np.ndarray] = {}
    for name, trans, cols in pre.transformers_:
        cols = list(cols) if not isinstance(cols, str) else [cols]
        if name == "remainder":
            if trans != "drop":
                return None
            continue
        if isinstance(trans, OrdinalEncoder):
            if not (
                trans.handle_unknown == "use_encoded_value"
                and np.isnan(trans.unknown_value)
                and np.isnan(trans.encoded_missing_value)
            ):
                return None
            categories.update(zip(cols, trans.categories_, strict=True))
        elif not (
            trans == "passthrough"
            or (isinstance(trans, FunctionTransformer) and trans.func is None)  # fitted form
        ):
            return None
        columns += cols
    return columns, categories, model.steps[1][1]


class StackedScorer:
    """Scores models on one chunk of customers under several portfolios, stacked row-wise.

    A ``[tree preprocessor, model]`` pipeline (:func:`_tree_layout`) is fed the encoded matrix
    of :meth:`PortfolioFeatures.matrix_many` (no string frame, no per-call column transformer); a
    soft :class:`VotingClassifier` without weights is the mean of its members' probabilities,
    each scored the cheapest way; anything else gets the model matrix frame of
    :meth:`PortfolioFeatures.transform_many`. The numbers are those of the plain pipeline calls
    (tested), only the work is less.

    Parameters
    ----------
    part
        The chunk of customers (validated canonical frame).
    portfolios
        Bool ``[n, P]`` portfolio per block of rows (None = observed), ``n`` the customers scored.
    rows
        Optional positions in ``part`` of the customers scored (repeats allowed); all of
        ``part`` when None.
    """

    def __init__(
        self,
        part: pd.DataFrame,
        portfolios: list[np.ndarray | None],
        rows: np.ndarray | None = None,
    ) -> None:
        self.part = part
        self.portfolios = portfolios
        self.rows = rows
        self._frames: dict[tuple[str, ...], pd.DataFrame] = {}
        self._matrices: dict[tuple[tuple[str, ...], tuple[str, ...]], np.ndarray] = {}

    def _frame(self, builder: PortfolioFeatures) -> pd.DataFrame:
        key = tuple(builder.feature_names_)  # same columns, same matrix (as before)
        if key not in self._frames:
            part = self.part if self.rows is None else self.part.iloc[self.rows]
            self._frames[key] = builder.transform_many(part, self.portfolios)
        return self._frames[key]

    def predict(self, model: Any, builder: PortfolioFeatures, proba: bool) -> np.ndarray:
        """``model``'s predictions on the stacked rows, float ``[K * n]`` (portfolio-major).

        ``builder`` is the fitted :class:`PortfolioFeatures` of ``model``'s matrix; ``proba``
        asks for the probability of class 1 instead of ``predict``.
        """
        layout = _tree_layout(model)
        if layout is not None:
            columns, categories, final = layout
            key = (tuple(builder.feature_names_), tuple(columns))
            if key not in self._matrices:
                self._matrices[key] = builder.matrix_many(
                    self.part, self.portfolios, columns, categories, rows=self.rows
                )
            return _predict_encoded(final, self._matrices[key], proba)
        if (
            proba
            and isinstance(model, VotingClassifier)
            and model.voting == "soft"
            and model.weights is None
            and hasattr(model, "estimators_")
        ):
            members = [self.predict(m, builder, proba=True) for m in model.estimators_]
            return np.average(np.stack(members), axis=0)
        return _predict_rows(model, self._frame(builder), proba)
