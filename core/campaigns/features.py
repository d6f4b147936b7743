"""Customer features of a campaign log -> a numeric matrix for the learners and adjustments.

:class:`FeatureEncoder` learns, on the rows it is fitted on, which columns are numbers (every
filled cell parses as one) and which are categories; numbers keep their values (missing cells
take the fitted median, with a missing indicator), categories become one-hot columns of their
most frequent levels. Text columns that look like identifiers (mostly unique) or have a single
value carry no information and are dropped (listed in ``dropped_``). The same fitted encoder
turns any other frame with those columns (held-out rows, a customer table) into the same
columns; unseen levels are all-zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from core.common.errors import DataValidationError, OptionError


def _numbers(col: pd.Series) -> pd.Series | None:
    """The column as floats when every filled cell is a number, else None."""
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return col.astype("float64")
    text = col.astype(object).where(col.notna(), None)
    text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    text = text.where(text != "", None)
    num = pd.to_numeric(text, errors="coerce")
    if (text.notna() & num.isna()).any():
        return None
    return num.astype("float64")


class FeatureEncoder(TransformerMixin, BaseEstimator):
    """Numbers as they are, categories one-hot; fitted on one frame, applied to any.

    Parameters
    ----------
    max_levels : int, default 30
        Most frequent levels kept per category (the rest share the all-zero pattern).
    min_count : int, default 5
        Fewest rows a level needs to get its own column.
    max_unique_share : float, default 0.5
        A text column with more than 10 distinct values that exceed this share of rows is an
        identifier and is dropped.

    Attributes
    ----------
    columns_ : list of str
        Input columns used.
    numeric_ : dict
        Numeric column -> (fitted median, whether a missing indicator is added).
    levels_ : dict
        Category column -> its kept levels.
    dropped_ : dict
        Column -> why it was dropped.
    feature_names_ : list of str
        Names of the output columns.

    Examples
    --------
    >>> df = pd.DataFrame({"age": ["30", "40", None], "plan": ["a", "b", "a"]})
    >>> enc = FeatureEncoder(min_count=1).fit(df)
    >>> enc.feature_names_
    ['age', 'age (missing)', 'plan=a', 'plan=b']
    >>> enc.transform(df).tolist()[2]
    [35.0, 1.0, 1.0, 0.0]
    """

    def __init__(
        self, max_levels: int = 30, min_count: int = 5, max_unique_share: float = 0.5
    ) -> None:
        self.max_levels = max_levels
        self.min_count = min_count
        self.max_unique_share = max_unique_share

    def fit(self, frame: pd.DataFrame, y: object = None) -> FeatureEncoder:
        """Learn the columns' kinds, medians and levels from ``frame``."""
        if self.max_levels < 1 or self.min_count < 1 or not 0 < self.max_unique_share <= 1:
            raise OptionError("max_levels, min_count >= 1 and max_unique_share in (0, 1]")
        self.columns_: list[str] = []
        self.numeric_: dict[str, tuple[float, bool]] = {}
        self.levels_: dict[str, list[str]] = {}
        self.dropped_: dict[str, str] = {}
        names: list[str] = []
        n = len(frame)
        for c in frame.columns:
            col = frame[c]
            num = _numbers(col)
            if num is not None:
                finite = num[np.isfinite(num)]
                if finite.nunique() < 2:
                    self.dropped_[str(c)] = "a single value"
                    continue
                missing = bool(len(finite) < n)
                self.numeric_[str(c)] = (float(finite.median()), missing)
                names += [str(c)] + ([f"{c} (missing)"] if missing else [])
            else:
                text = col.astype(object).where(col.notna(), None).astype(str)
                counts = text.value_counts()
                if len(counts) < 2:
                    self.dropped_[str(c)] = "a single value"
                    continue
                if len(counts) > self.max_unique_share * n and len(counts) > 10:
                    self.dropped_[str(c)] = "an identifier (mostly distinct values)"
                    continue
                kept = [str(v) for v, k in counts.items() if k >= self.min_count]
                kept = sorted(kept[: self.max_levels])
                if not kept:
                    self.dropped_[str(c)] = f"no level with {self.min_count} rows"
                    continue
                self.levels_[str(c)] = kept
                names += [f"{c}={v}" for v in kept]
            self.columns_.append(str(c))
        self.feature_names_ = names
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """float64 ``[n, len(feature_names_)]`` for any frame with the fitted columns."""
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"the customer features {missing} used when the campaign was learnt are "
                "missing. Fix: give the same customer columns."
            )
        parts: list[np.ndarray] = []
        for c in self.columns_:
            col = frame[c]
            if c in self.numeric_:
                med, indicator = self.numeric_[c]
                num = _numbers(col)
                if num is None:
                    num = pd.to_numeric(col, errors="coerce").astype("float64")
                x = num.to_numpy(dtype=np.float64)
                miss = ~np.isfinite(x)
                parts.append(np.where(miss, med, x)[:, None])
                if indicator:
                    parts.append(miss.astype(np.float64)[:, None])
            else:
                text = col.astype(object).where(col.notna(), None).astype(str).to_numpy()
                levels = np.asarray(self.levels_[c], dtype=object)
                parts.append((text[:, None] == levels[None, :]).astype(np.float64))
        if not parts:
            return np.zeros((len(frame), 0))
        return np.hstack(parts)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        return np.asarray(self.feature_names_, dtype=object)
