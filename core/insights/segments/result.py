"""The result of a segmentation: :class:`Segmentation` (labels, names, quality, stability)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.insights.segments._base import display_order


@dataclass(frozen=True, eq=False)
class Segmentation:
    """One segmentation of a customer table.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape (n,)
        Segment id per customer, in the frame's row order; ids are 0..k-1 ordered by size
        (largest first); -1 marks DBSCAN noise.
    customer_ids : numpy.ndarray of str, shape (n,)
        ``Customer ID`` per row (row numbers as text when the column is absent).
    names : dict[int, str]
        Segment id -> name; unique; edit with :func:`rename`, store it with a scenario.
    method, k
        The method and the number of segments (noise excluded).
    silhouette, calinski_harabasz : float or None
        Quality on the scaled features (silhouette on a seeded sample; noise excluded).
    stability : dict
        ``{"ari_mean", "ari_min", "n_runs", "scheme"}``.
    shares : dict[int, float]
        Segment id -> share of customers (noise included under -1 when present).
    profile : pandas.DataFrame
        One row per segment: ``segment_id``, ``name``, ``size``, ``share`` and the mean of each
        feature (raw units).
    features : tuple[str, ...]
        Clustering features used (see :data:`~core.insights.segments.features.FEATURES`).
    k_scores : pandas.DataFrame
        The k candidates tried: ``k``, ``min_share``, ``admissible``, ``silhouette``,
        ``calinski_harabasz`` and ``bic`` (gmm).
    noise_share : float or None
        Share of noise customers (``dbscan`` only).
    params, seed, notes
        Parameters as called, the seed, and notes (features left out, fallbacks, warnings).
    """

    labels: np.ndarray
    customer_ids: np.ndarray
    names: dict[int, str]
    method: str
    k: int
    silhouette: float | None
    calinski_harabasz: float | None
    stability: dict[str, Any]
    shares: dict[int, float]
    profile: pd.DataFrame
    features: tuple[str, ...]
    k_scores: pd.DataFrame
    noise_share: float | None
    params: dict[str, Any]
    seed: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_customers(self) -> int:
        return len(self.labels)

    @property
    def segment_ids(self) -> list[int]:
        """Segment ids in display order (by size, noise last)."""
        return display_order(self.names)

    def label_names(self) -> np.ndarray:
        """Segment name per customer."""
        ids = np.array(sorted(self.names), dtype=np.int64)
        names = np.array([self.names[int(i)] for i in ids], dtype=object)
        return names[np.searchsorted(ids, self.labels)]

    def name_shares(self) -> dict[str, float]:
        """Segment name -> share of customers, in display order."""
        return {self.names[i]: self.shares[i] for i in self.segment_ids}

    def to_frame(self) -> pd.DataFrame:
        """``Customer ID``, ``Segment ID``, ``Segment Name`` per customer (the CLI's CSV)."""
        return pd.DataFrame(
            {
                "Customer ID": self.customer_ids,
                "Segment ID": self.labels,
                "Segment Name": self.label_names(),
            }
        )

    def report(self) -> dict[str, Any]:
        """A JSON-friendly summary: method, k, silhouette, stability, segment shares, ..."""
        return {
            "method": self.method,
            "k": self.k,
            "silhouette": _round(self.silhouette),
            "calinski_harabasz": _round(self.calinski_harabasz),
            "stability": {
                k: (_round(v) if isinstance(v, float) else v) for k, v in self.stability.items()
            },
            "segment_shares": {n: round(s, 6) for n, s in self.name_shares().items()},
            "noise_share": _round(self.noise_share),
            "names": {str(i): n for i, n in self.names.items()},
            "features": list(self.features),
            "seed": self.seed,
            "params": self.params,
            "notes": list(self.notes),
        }


def _round(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)
