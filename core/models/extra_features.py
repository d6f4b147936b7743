"""The columns beyond the telecom allow-list as model features: extra columns and retail values.

Whatever a file has besides the canonical telecom columns becomes a feature here (issue 20): the
*extra* columns a mapped or catalog-read file keeps (:mod:`core.data.extras` typed them) and the
retail value columns of the schema (``Recency Days``, ``Frequency``, ``Monetary``, ``Average
Order Value``, ``Days Between Purchases``). Identifiers, outcomes (canonical or named in the
mapping's ``[outcomes]``: the loader leaves those out), the catalog's holding columns (they become
``holds_<key>``), the ``text_...`` feature columns (read by
:class:`~core.models.features.PortfolioFeatures` itself) and free text never do.

:class:`ExtraFeatures` is fitted inside :class:`~core.models.features.PortfolioFeatures`:

* numeric columns: missing values become the training median;
* yes/no columns: 1/0, missing values the training share of "Yes";
* categorical columns: the :data:`~core.data.extras.MAX_LEVELS` - 1 most frequent levels are
  kept, the others become ``"(other)"``, missing values ``"(missing)"``;
* *usage of a product*: a numeric column that is (almost) always 0 without product j and mostly
  non-zero with it (``Number vmail messages`` and a voice-mail plan) moves with the portfolio as
  the telecom usage columns do: 0 when j is removed, the holders' median when j is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.data import schema
from core.data.extras import MAX_LEVELS, typed_kind
from core.data.feedback import TEXT_PREFIX
from core.data.transactions import HISTORY_COLUMNS

__all__ = ["OTHER", "MISSING", "VALUE_FEATURES", "ExtraFeatures"]

OTHER = "(other)"
MISSING = "(missing)"
#: The retail value columns of the schema that are features (numeric, history: never rewritten).
VALUE_FEATURES: tuple[str, ...] = tuple(c.name for c in schema.VALUE_COLUMNS if c.role == "feature")
_USAGE_MIN = 20  # holders and non-holders a usage link needs on each side


class ExtraFeatures:
    """Fitted treatment of the extra and retail value columns (see the module docstring).

    Attributes
    ----------
    numeric, binary, categorical : list of str
        The columns of each kind, in frame order.
    fill : dict
        Value of a missing cell, per numeric and yes/no column.
    levels : dict
        Kept levels of each categorical column.
    usage : dict
        ``{column: (product index, value when added)}`` of the columns that are usage of a
        product.
    """

    def __init__(self) -> None:
        self.numeric: list[str] = []
        self.binary: list[str] = []
        self.categorical: list[str] = []
        self.fill: dict[str, float] = {}
        self.levels: dict[str, tuple[str, ...]] = {}
        self.usage: dict[str, tuple[int, float]] = {}

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, product_columns: Sequence[str], holdings: np.ndarray
    ) -> ExtraFeatures:
        """Learn kinds, fill values, kept levels and usage links from the training ``frame``."""
        self = cls()
        products = set(product_columns)
        for c in frame.columns:
            if c in products or (c in schema.BY_NAME and c not in VALUE_FEATURES):
                continue
            if str(c).startswith(TEXT_PREFIX):  # text features: PortfolioFeatures reads them
                continue
            kind = "numeric" if c in VALUE_FEATURES else typed_kind(frame[c])
            values = frame[c]
            if kind == "numeric":
                x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
                med = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
                self.numeric.append(c)
                self.fill[c] = med
                if c not in VALUE_FEATURES:
                    self._link_usage(c, x, holdings)
            elif kind == "boolean":
                yes = values.astype(object).eq("Yes")
                known = values.notna()
                self.binary.append(c)
                self.fill[c] = float(yes[known].mean()) if known.any() else 0.0
            else:
                counts = values.astype(object).dropna().astype(str).value_counts()
                keep = counts.index[: MAX_LEVELS - 1] if len(counts) > MAX_LEVELS else counts.index
                self.categorical.append(c)
                self.levels[c] = tuple(str(v) for v in keep)
        return self

    def _link_usage(self, column: str, x: np.ndarray, holdings: np.ndarray) -> None:
        for j in range(holdings.shape[1]):
            held = holdings[:, j]
            if held.sum() < _USAGE_MIN or (~held).sum() < _USAGE_MIN:
                continue
            zero_without = np.mean(np.nan_to_num(x[~held]) == 0)
            used_with = np.mean(np.nan_to_num(x[held]) != 0)
            if zero_without >= 0.99 and used_with >= 0.5:
                on = x[held & np.isfinite(x) & (x != 0)]
                self.usage[column] = (j, float(np.median(on)) if on.size else 0.0)
                return

    def profile(self) -> tuple[list[str], list[str], list[str]]:
        """The portfolio-free columns: ``(numeric, yes/no, categorical)``.

        A numeric column that is the usage of a product (0 without it), the retail value
        columns and the other summaries of the purchase lines
        (:data:`core.data.transactions.HISTORY_COLUMNS`) are left out: they reveal the portfolio.
        """
        history = {*VALUE_FEATURES, *HISTORY_COLUMNS}
        numeric = [c for c in self.numeric if c not in self.usage and c not in history]
        categorical = [c for c in self.categorical if c not in history]
        return numeric, [c for c in self.binary if c not in history], categorical

    @property
    def names(self) -> list[str]:
        """Every column this object turns into a feature."""
        return [*self.numeric, *self.binary, *self.categorical]

    def kinds(self, product_keys: Sequence[str] = ()) -> dict[str, str]:
        """``{column: kind}`` (for the model card); ``product_keys`` name the usage links."""
        out = {c: "numeric" for c in self.numeric}
        out.update({c: "boolean" for c in self.binary})
        out.update(
            {c: f"categorical ({len(self.levels[c])} levels kept)" for c in self.categorical}
        )
        for c, (j, _) in self.usage.items():
            key = product_keys[j] if j < len(product_keys) else f"#{j + 1}"
            out[c] += f", usage of product {key}"
        return out

    def prepare(self, frame: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
        """The portfolio-independent arrays: ``{"x_numeric": ..., "x_binary": ..., "cats": ...}``.

        A column the frame lacks (a chunk without it) is read as missing everywhere.
        """
        n = len(frame)

        def col(c: str) -> pd.Series:
            return frame[c] if c in frame.columns else pd.Series([None] * n, dtype=object)

        numeric = {}
        for c in self.numeric:
            x = pd.to_numeric(col(c), errors="coerce").to_numpy(dtype=float)
            numeric[c] = np.where(np.isfinite(x), x, self.fill[c])
        binary = {}
        for c in self.binary:
            v = col(c).astype(object)
            x = np.where(v.eq("Yes"), 1.0, np.where(v.eq("No"), 0.0, self.fill[c]))
            binary[c] = x.astype(float)
        cats = {}
        for c in self.categorical:
            kept = set(self.levels[c])
            v = col(c).astype(object)
            cats[c] = np.array(
                [MISSING if x is None or x != x else (s if (s := str(x)) in kept else OTHER)
                 for x in v],
                dtype=object,
            )  # fmt: skip
        return {"x_numeric": numeric, "x_binary": binary, "cats": cats}

    def assemble(
        self, base: dict[str, Any], observed: np.ndarray, new: np.ndarray
    ) -> dict[str, Any]:
        """The numeric and yes/no feature columns under portfolio ``new`` (usage follows it).

        The categorical ones are in ``base["cats"]`` with the telecom categories.
        """
        out: dict[str, Any] = {}
        for c in self.numeric:
            v = base["x_numeric"][c]
            if c in self.usage:
                j, ref = self.usage[c]
                changed = observed[:, j] != new[:, j]
                if changed.any():
                    v = v.copy()
                    v[changed & ~new[:, j]] = 0.0
                    v[changed & new[:, j]] = ref
            out[c] = v
        for c in self.binary:
            out[c] = base["x_binary"][c]
        return out
