"""What the segmentation modules share: the noise label, segment order, input checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError

#: Segment id of the customers no segment takes (DBSCAN noise), and its name.
NOISE = -1
NOISE_NAME = "unclustered"


def display_order(ids: Iterable[int]) -> list[int]:
    """Segment ids in display order: by id (ids are ordered by size), noise last."""
    return sorted(ids, key=lambda s: (s == NOISE, s))


def n_segments(labels: np.ndarray) -> int:
    """Number of segments in ``labels``, noise excluded."""
    return int(len(np.unique(labels[labels != NOISE])))


def check_proba(churn_proba: Any, n: int) -> np.ndarray | None:
    """``churn_proba`` as a float vector of ``n`` probabilities (None stays None).

    Raises :class:`CJOError` for a wrong length, NaN or a value outside [0, 1].
    """
    if churn_proba is None:
        return None
    p = np.asarray(churn_proba, dtype=np.float64).reshape(-1)
    if p.shape != (n,):
        raise CJOError(f"churn_proba has {p.size} values for {n} customers; pass one per row.")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise CJOError("churn_proba must be probabilities in [0, 1] without NaN.")
    return p


def column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    """Column ``name`` of ``frame`` as floats, or None when the frame has no such column."""
    return frame[name].to_numpy(dtype=np.float64) if name in frame.columns else None
