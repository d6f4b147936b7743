"""Chart data of a segmentation: a 2-D projection (scatter, or counted per grid cell) and key
factors (box plots)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.insights.segments._base import check_proba, column
from core.insights.segments.features import scaled_features
from core.insights.segments.result import Segmentation


def projection_2d(
    frame: pd.DataFrame,
    seg: Segmentation,
    random_state: int = 0,
    *,
    churn_proba: Any = None,
    max_points: int = 5_000,
    memo: dict[Any, Any] | None = None,
) -> pd.DataFrame:
    """PCA 2-D coordinates of the scaled features, for a scatter coloured by segment.

    Returns a DataFrame ``Customer ID``, ``x``, ``y``, ``segment`` (name), ``segment_id``, with
    at most ``max_points`` customers: a seeded sample stratified by segment (each segment keeps
    its share). Pass ``churn_proba`` again when the segmentation used it. ``memo`` (see
    :func:`~core.insights.segments.fit.segment`) keeps the scaled features and the PCA fit.
    """
    from sklearn.decomposition import PCA

    if len(frame) != seg.n_customers:
        raise CJOError("projection_2d needs the frame that was segmented (same rows).")
    if "churn_proba" in seg.features and churn_proba is None:
        raise CJOError("this segmentation used churn_proba; pass it to projection_2d too.")
    memo = {} if memo is None else memo
    key = ("pca", tuple(seg.features), int(random_state))
    if key not in memo:
        _, z, _ = scaled_features(frame, churn_proba=churn_proba, features=list(seg.features))
        pca = (
            PCA(n_components=2, random_state=int(random_state)).fit(z) if z.shape[1] >= 2 else None
        )
        memo[key] = (z, pca)
    z, pca = memo[key]
    n = len(z)
    rng = np.random.default_rng([int(random_state), 3])
    if n > max_points:
        keep = []
        for sid in seg.segment_ids:
            idx = np.flatnonzero(seg.labels == sid)
            m = max(1, round(max_points * len(idx) / n))
            keep.append(rng.choice(idx, min(m, len(idx)), replace=False))
        take = np.sort(np.concatenate(keep))[:max_points]
    else:
        take = np.arange(n)
    if pca is not None:
        xy = pca.transform(z[take])
    else:
        xy = np.column_stack([z[take, 0], np.zeros(len(take))])
    return pd.DataFrame(
        {
            "Customer ID": seg.customer_ids[take],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "segment": seg.label_names()[take],
            "segment_id": seg.labels[take],
        }
    )


def projection_cells(projection: pd.DataFrame, bins: int = 32) -> pd.DataFrame:
    """A projection (:func:`projection_2d`) counted per segment and cell of a ``bins`` x ``bins``
    grid: one marker per occupied cell instead of one per customer (a lighter chart of every
    customer).

    Returns a DataFrame ``x``, ``y`` (the mean position of the cell's customers), ``segment``,
    ``segment_id`` and ``customers`` (how many), segments in order of first appearance, cells
    by position; the counts add up to ``len(projection)``.
    """
    if bins < 1:
        raise CJOError(f"bins={bins}: choose a grid of at least 1 x 1 cells.")
    columns = ["x", "y", "segment", "segment_id", "customers"]
    if projection.empty:
        return pd.DataFrame({c: [] for c in columns})
    x = projection["x"].to_numpy(dtype=float)
    y = projection["y"].to_numpy(dtype=float)

    def cell(v: np.ndarray) -> np.ndarray:
        lo, span = float(v.min()), float(v.max() - v.min())
        if span == 0:
            return np.zeros(len(v), dtype=np.int64)
        return np.minimum(((v - lo) / span * bins).astype(np.int64), bins - 1)

    grouped = (
        projection.assign(_cx=cell(x), _cy=cell(y))
        .groupby(["segment_id", "_cx", "_cy"], sort=True)
        .agg(x=("x", "mean"), y=("y", "mean"), segment=("segment", "first"),
             customers=("x", "size"))
        .reset_index()
    )  # fmt: skip
    order = {sid: i for i, sid in enumerate(dict.fromkeys(projection["segment_id"]))}
    grouped["_order"] = grouped["segment_id"].map(order)
    return grouped.sort_values(["_order", "_cx", "_cy"])[columns].reset_index(drop=True)


def distributions(
    frame: pd.DataFrame,
    seg: Segmentation,
    *,
    churn_proba: Any = None,
    max_points: int = 5_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Long table ``segment``, ``factor``, ``value`` of the key factors, for box plots.

    Factors: CLTV, predicted churn (if given), Satisfaction Score, Monthly Charge, Tenure and
    the retail Recency Days and Monetary, in that order, whichever exist; sampled to at most
    ``max_points`` customers (seeded). Empty (same columns) when the data has none of them.
    """
    n = len(frame)
    factors = {
        "CLTV": column(frame, "CLTV"),
        "Predicted churn": check_proba(churn_proba, n),
        "Satisfaction": column(frame, "Satisfaction Score"),
        "Monthly charge": column(frame, "Monthly Charge"),
        "Tenure (months)": column(frame, "Tenure in Months"),
        "Recency (days)": column(frame, "Recency Days"),
        "Monetary": column(frame, "Monetary"),
    }
    data = {label: values for label, values in factors.items() if values is not None}
    if not data:
        return pd.DataFrame({"segment": [], "factor": [], "value": []})
    rng = np.random.default_rng([int(random_state), 4])
    take = np.sort(rng.choice(n, max_points, replace=False)) if n > max_points else np.arange(n)
    names = seg.label_names()[take]
    parts = [
        pd.DataFrame({"segment": names, "factor": label, "value": values[take]})
        for label, values in data.items()
    ]
    return pd.concat(parts, ignore_index=True)


#: Percentiles of :func:`box_stats` (whiskers, quartiles, median).
BOX_PERCENTILES = {"p5": 5, "q1": 25, "median": 50, "q3": 75, "p95": 95}


def box_stats(long: pd.DataFrame, by: str, group: str, value: str = "value") -> pd.DataFrame:
    """Percentiles and mean of ``value`` per (``group``, ``by``): a box plot without its points.

    Returns one row per pair present, in the order they first appear, with columns ``group``,
    ``by``, ``n``, ``mean`` and :data:`BOX_PERCENTILES`.
    """
    rows = []
    for (g, b), part in long.groupby([group, by], sort=False):
        v = part[value].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        q = np.percentile(v, list(BOX_PERCENTILES.values()))
        rows.append(
            {group: g, by: b, "n": int(v.size), "mean": float(v.mean())}
            | {name: float(x) for name, x in zip(BOX_PERCENTILES, q, strict=True)}
        )
    return pd.DataFrame(rows, columns=[group, by, "n", "mean", *BOX_PERCENTILES])
