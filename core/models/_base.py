"""Helpers shared by the model modules: Yes/No columns, option checks, factor targets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.common.errors import ModelError
from core.data import schema


def _yes(values: pd.Series) -> np.ndarray:
    return values.astype(object).eq("Yes").to_numpy(dtype=bool)


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ModelError(f"{name}={value!r}: choose one of {list(allowed)}.")


def _is_binary(y: np.ndarray) -> bool:
    """Whether ``y`` holds 0/1 labels only (not churn probabilities)."""
    return bool(np.isin(y, (0.0, 1.0)).all())


def _factor_target(frame: pd.DataFrame, factor: str) -> np.ndarray | None:
    """The observed values of ``factor``, or None when the frame does not observe it.

    Churn is ``Churn Value`` (0/1) or, in a file that gives no outcome but a churn probability,
    ``Churn Probability`` (learnt as soft labels).
    """
    col = schema.FACTOR_COLUMNS[factor]
    if col not in frame.columns and factor == "churn":
        col = schema.CHURN_PROBABILITY
    if col not in frame.columns:
        return None
    y = frame[col]
    if y.isna().any():
        raise ModelError(
            f"{col} has {int(y.isna().sum())} empty value(s); the {factor} model needs every row. "
            "Fix: fill or drop those rows."
        )
    return y.to_numpy(dtype=float)
