"""How far the key-factor models can be trusted: the Models page's metric cards.

:func:`metric_cards` adds to :func:`core.models.report.metric_table` what a metric card shows
besides the value: the difference to the naive baseline and whether lower is better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Metrics (by the suffix of their dotted key) for which a lower value is better.
LOWER_IS_BETTER = (".brier", ".mae")


def _finite(x: object) -> bool:
    return isinstance(x, int | float | np.floating) and bool(np.isfinite(x))


def metric_cards(table: pd.DataFrame) -> pd.DataFrame:
    """The metric table with the columns a card needs.

    Parameters
    ----------
    table
        :func:`core.models.report.metric_table` (``factor``, ``key``, ``metric``, ``value``,
        ``baseline``, ``better``, ``available``, ``help``).

    Returns
    -------
    pandas.DataFrame
        The same rows, with ``shown`` (the value when available and finite, else None),
        ``delta`` (value minus baseline when the model is compared with one, else None) and
        ``lower_is_better``.
    """
    out = table.copy()
    shown: list[float | None] = []
    delta: list[float | None] = []
    for r in table.itertuples(index=False):
        value = float(r.value) if r.available and _finite(r.value) else None
        shown.append(value)
        compared = r.better is not None and _finite(r.baseline)
        delta.append(value - float(r.baseline) if compared and value is not None else None)
    out["shown"] = pd.Series(shown, index=table.index, dtype=object)
    out["delta"] = pd.Series(delta, index=table.index, dtype=object)
    out["lower_is_better"] = table["key"].astype(str).str.endswith(LOWER_IS_BETTER)
    return out
