"""Collaborative filtering ("neighbours"): what happened to similar customers with and without j.

For customer ``c`` take its ``k`` nearest customers in a space of standardised pre-treatment
features (see :func:`core.opportunity.estimators._common.feature_matrix`) and holdings (weighted by
``holdings_weight``), never ``c`` itself. The effect of offering ``j`` first is::

    mean factor of the neighbours holding j  -  mean factor of the neighbours not holding j

and right after ``i`` the same among the neighbours holding ``i``. Each group mean is shrunk
toward the population's mean of that group by ``prior`` pseudo-customers, so a group with few
(or no) neighbours falls back to the population difference instead of noise.

Factors (higher is better): CLTV, minus Churn Value (so the effect is in churn-probability points
avoided; option ``churn="score"`` uses minus Churn Score instead), Satisfaction Score. Absent
factors give zero components.

Memory is bounded: neighbours are searched in chunks of ``chunk_size`` customers, and in a random
reference pool of at most ``max_reference`` customers (all of them below that size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.data.catalog import Catalog
from core.data.schema import FACTORS
from core.opportunity.estimators._common import EstimatorResult, feature_matrix


def _factors(frame: pd.DataFrame, churn: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``[N, 3]`` factor values (higher = better), availability ``[3]`` and notes."""
    cols = {
        "cltv": ("CLTV", 1.0),
        "churn": ("Churn Score", -1.0) if churn == "score" else ("Churn Value", -1.0),
        "satisfaction": ("Satisfaction Score", 1.0),
    }
    y = np.zeros((len(frame), len(FACTORS)))
    ok = np.zeros(len(FACTORS), dtype=bool)
    notes: list[str] = []
    for k, f in enumerate(FACTORS):
        col, sign = cols[f]
        if col not in frame.columns:
            notes.append(f"{f}: column '{col}' is absent; its components are 0.")
            continue
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(v).any():
            notes.append(f"{f}: column '{col}' has no values; its components are 0.")
            continue
        y[:, k] = sign * np.where(np.isfinite(v), v, np.nanmedian(v))
        ok[k] = True
    return y, ok, notes


def _group_sums(
    g: np.ndarray, h: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sums over the neighbour axis.

    ``g`` ``[b, m, 1 + P]`` (start + holdings), ``h`` ``[b, m, P]``, ``y`` ``[b, m, K]``.
    Returns ``s1 [b, 1 + P, P, K]`` (factor sums of those holding i and j), ``n1 [b, 1 + P, P]``,
    ``t [b, 1 + P, K]`` (factor sums of those holding i) and ``ni [b, 1 + P]``.
    """
    b, m, p = h.shape
    k = y.shape[2]
    gt = np.swapaxes(g, 1, 2)  # [b, 1 + P, m]
    hy = (h[:, :, :, None] * y[:, :, None, :]).reshape(b, m, p * k)
    s1 = np.matmul(gt, hy).reshape(b, 1 + p, p, k)
    n1 = np.matmul(gt, h)
    t = np.matmul(gt, y)
    ni = g.sum(axis=1)
    return s1, n1, t, ni


def _effects(
    s1: np.ndarray,
    n1: np.ndarray,
    t: np.ndarray,
    ni: np.ndarray,
    prior: float,
    mean1: np.ndarray,
    mean0: np.ndarray,
) -> np.ndarray:
    """Shrunken ``mean(with j) - mean(without j)`` per (i, j, factor)."""
    s0 = t[:, :, None, :] - s1
    n0 = ni[:, :, None] - n1
    m1 = (s1 + prior * mean1) / (n1 + prior)[..., None]
    m0 = (s0 + prior * mean0) / (n0 + prior)[..., None]
    return m1 - m0


def estimate(
    frame: pd.DataFrame,
    catalog: Catalog,
    held: np.ndarray,
    *,
    models: Any = None,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    k: int = 100,
    holdings_weight: float = 1.0,
    prior: float = 10.0,
    churn: str = "value",
    max_reference: int = 20_000,
    chunk_size: int = 4096,
) -> EstimatorResult:
    """Neighbour-difference components (raw units: CLTV, churn probability, score points).

    Parameters
    ----------
    frame, catalog, held
        Customer data, catalog and its holdings ``[N, P]``.
    models
        Unused (accepted for a uniform interface).
    k : int, default 100
        Neighbours per customer.
    holdings_weight : float, default 1.0
        Weight of each holding (0/1) in the distance, next to z-scored features.
    prior : float, default 10
        Pseudo-customers pulling each group mean toward the population's group mean.
    churn : {"value", "score"}
        Churn factor from Churn Value (probability points) or Churn Score.
    max_reference : int, default 20,000
        Size of the random pool neighbours are drawn from.
    chunk_size : int
        Customers per search chunk (memory bound).
    """
    from sklearn.neighbors import NearestNeighbors

    if churn not in ("value", "score"):
        raise CJOError(f"churn='{churn}': choose 'value' or 'score'.")
    if k < 1 or prior < 0 or holdings_weight < 0:
        raise CJOError("neighbours: need k >= 1, prior >= 0 and holdings_weight >= 0.")
    n, p = held.shape
    y, ok, notes = _factors(frame, churn)
    z = np.hstack([feature_matrix(frame, catalog), holdings_weight * held.astype(np.float32)])
    z = np.ascontiguousarray(z, dtype=np.float32)
    rng = np.random.default_rng([seed_of(random_state, high=SKLEARN_SEED_HIGH), 17])
    ref = np.arange(n) if n <= max_reference else np.sort(rng.choice(n, max_reference, False))
    k_eff = min(k, len(ref) - 1) if len(ref) > 1 else 1
    index = NearestNeighbors(n_neighbors=k_eff + 1).fit(z[ref])
    ref_pos = np.full(n, -1, dtype=np.int64)
    ref_pos[ref] = np.arange(len(ref))

    h_ref = held[ref].astype(np.float32)
    y_ref = y[ref].astype(np.float32)
    g_ref = np.concatenate([np.ones((len(ref), 1), np.float32), h_ref], axis=1)
    # Population group means (the shrinkage targets): [1 + P, P, K].
    s1, n1, t, ni = _group_sums(g_ref[None], h_ref[None], y_ref[None])
    s1, n1, t, ni = s1[0], n1[0], t[0], ni[0]
    overall = y_ref.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean1 = np.where(n1[..., None] > 0, s1 / n1[..., None], overall)
        mean0 = np.where(
            (ni[:, None] - n1)[..., None] > 0,
            (t[:, None] - s1) / (ni[:, None] - n1)[..., None],
            overall,
        )

    raw = np.zeros((n, 1 + p, p, len(FACTORS)), dtype=np.float32)
    for lo in range(0, n, chunk_size):
        hi = min(lo + chunk_size, n)
        ind = index.kneighbors(z[lo:hi], return_distance=False)  # [b, k + 1]
        own = ref_pos[lo:hi]
        is_self = ind == own[:, None]
        drop_last = ~is_self.any(axis=1)
        is_self[drop_last, -1] = True
        ind = ind[~is_self].reshape(hi - lo, k_eff)
        h_nb = h_ref[ind]
        g_nb = np.concatenate([np.ones((hi - lo, k_eff, 1), np.float32), h_nb], axis=2)
        sums = _group_sums(g_nb, h_nb, y_ref[ind])
        raw[lo:hi] = _effects(*sums, prior, mean1[None], mean0[None])
        if progress is not None:
            progress(hi, n)
    raw[..., ~ok] = 0.0
    churn_unit = (
        "churn probability points avoided" if churn == "value" else "Churn Score points avoided"
    )
    return EstimatorResult(
        raw=raw,
        units={"cltv": "CLTV", "churn": churn_unit, "satisfaction": "Satisfaction Score points"},
        notes=tuple(notes),
        info={
            "k": k_eff,
            "reference": len(ref),
            "prior": prior,
            "holdings_weight": holdings_weight,
        },
    )
