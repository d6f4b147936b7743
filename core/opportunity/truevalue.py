"""The true value of a journey on the synthetic population, and the truth-optimal journey.

The synthetic population (:mod:`core.data.synthetic`) knows every customer's true expected
CLTV, churn probability and satisfaction under *any* portfolio. That makes it the referee of the
decisions the product recommends, not only of its estimates.

For weights ``w`` and a customer holding ``H``, the value of a portfolio ``h`` is::

    v(h) = w_cltv * CLTV(h) / s_cltv - w_churn * churn(h) / s_churn + w_sat * sat(h) / s_sat

where ``s_k`` is the 75th percentile of ``|true first-step effect|`` of factor ``k`` over the
feasible first offers (not held, not excluded, prerequisites held): a typical large effect is
about 1 in every factor, as in the estimators' own normalised units. The **true value** of an
ordered journey ``J`` is::

    TV(J) = sum_t gamma**(t-1) * [v(H + J<=t) - v(H + J<t)]

and the **truth-optimal journey** maximises it over every feasible journey (exact dynamic
programming over the subsets of the catalog: prerequisites held or offered earlier, exclusions,
the length cap). The empty journey is feasible, so the optimum is never below 0.

:func:`portfolio_table` computes ``v`` for every customer and every subset of at most
``max_length`` catalog products once (per catalog); weights then recombine it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.data import synthetic
from core.data.catalog import Catalog
from core.data.schema import FACTORS
from core.opportunity.components import offerable_now, parse_weights, robust_scale

_SIGN = np.array([1.0, -1.0, 1.0])  # cltv up, churn down, satisfaction up = good
#: Absolute tolerance of "at the true optimum" and "harmful" (normalised units).
TOL = 1e-9


def _product_index(catalog: Catalog) -> np.ndarray:
    unknown = [k for k in catalog.keys if k not in synthetic.PRODUCTS]
    if unknown:
        raise CJOError(
            f"catalog '{catalog.name}' has products the synthetic truth does not know: {unknown}."
        )
    return np.array([synthetic.PRODUCTS.index(k) for k in catalog.keys], dtype=np.int64)


def _bits(matrix: np.ndarray) -> np.ndarray:
    """uint64 bitmask per row of a bool ``[n, P]`` matrix."""
    m = np.asarray(matrix, dtype=bool)
    weights = np.left_shift(np.uint64(1), np.arange(m.shape[1], dtype=np.uint64))
    return (m.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def truth_scales(truth: pd.DataFrame, catalog: Catalog, held: np.ndarray) -> np.ndarray:
    """``s_k``: the 75th percentile of ``|true first-step effect|`` over feasible first offers.

    Returns
    -------
    numpy.ndarray
        float64 ``[3]`` in :data:`FACTORS` order (raw units per normalised unit).
    """
    now = offerable_now(catalog, held)
    out = np.empty(len(FACTORS))
    for k, f in enumerate(FACTORS):
        cols = [f"d_{f}__{key}" for key in catalog.keys]
        eff = truth[cols].to_numpy(dtype=np.float64)
        out[k] = robust_scale(eff, now & np.isfinite(eff))
    return out


@dataclass(frozen=True, eq=False)
class PortfolioTable:
    """Normalised true factor values of every customer under every small catalog subset.

    Attributes
    ----------
    masks
        uint64 ``[m]``: the subsets (bitmasks over the catalog's products), by size.
    factors
        float64 ``[m, n, 3]``: ``sign_k * outcome_k(H + S) / s_k`` (NaN where ``S`` overlaps
        the customer's holdings or holds an excluded pair).
    held
        bool ``[n, P]``: catalog holdings.
    requires, excludes
        The catalog's bool ``[P, P]`` matrices.
    max_length, discount
        The catalog's journey policy.
    scales
        ``s_k`` (raw units per normalised unit).
    """

    masks: np.ndarray
    factors: np.ndarray
    held: np.ndarray
    requires: np.ndarray
    excludes: np.ndarray
    max_length: int
    discount: float
    scales: np.ndarray

    @property
    def n_customers(self) -> int:
        return int(self.factors.shape[1])

    def row(self, masks: np.ndarray) -> np.ndarray:
        """Row index of each bitmask (every mask must be a tabulated subset)."""
        order = np.argsort(self.masks)
        pos = np.searchsorted(self.masks[order], masks)
        pos = np.minimum(pos, len(order) - 1)
        found = self.masks[order][pos] == masks
        if not np.all(found):
            raise CJOError("a journey uses a set of products that is not tabulated.")
        return order[pos]

    def values(self, weights: Mapping[str, float] | Sequence[float]) -> np.ndarray:
        """``v(H + S)`` for the weights: float64 ``[m, n]``."""
        w = parse_weights(weights).astype(np.float64)
        return self.factors @ w


def portfolio_table(
    truth: pd.DataFrame,
    customers: pd.DataFrame,
    catalog: Catalog,
    *,
    scales: np.ndarray | None = None,
) -> PortfolioTable:
    """Tabulate the true normalised factors for every subset of at most ``max_length`` products.

    Parameters
    ----------
    truth, customers
        The synthetic population (:func:`core.data.synthetic.generate_frame`), same rows.
    catalog
        A catalog of synthetic products (``seed``, ``full`` or a subset of their products).
    scales
        ``s_k`` to use (default :func:`truth_scales` of this population).
    """
    idx = _product_index(catalog)
    h12 = synthetic.holdings_from_frame(customers)
    held = h12[:, idx]
    p = catalog.n_products
    length = min(catalog.max_length, p)
    s = truth_scales(truth, catalog, held) if scales is None else np.asarray(scales, float)
    excl = catalog.excludes_matrix()
    held_bits = _bits(held)
    excl_bits = _bits(excl)
    masks: list[int] = []
    rows: list[np.ndarray] = []
    for size in range(length + 1):
        for combo in combinations(range(p), size):
            mask = sum(1 << j for j in combo)
            h = h12.copy()
            h[:, idx[list(combo)]] = True
            out = synthetic.true_outcomes(truth, h)
            vals = np.stack([out[f] for f in FACTORS], axis=1) * _SIGN / s
            bad = (held_bits & np.uint64(mask)) != 0
            for j in combo:  # an excluded pair inside S, or with a held product
                bad |= ((np.uint64(mask) | held_bits) & excl_bits[j]) != 0
            vals[bad] = np.nan
            masks.append(mask)
            rows.append(vals)
    return PortfolioTable(
        masks=np.array(masks, dtype=np.uint64),
        factors=np.stack(rows),
        held=held,
        requires=catalog.requires_matrix(),
        excludes=excl,
        max_length=length,
        discount=float(catalog.discount),
        scales=s,
    )


def journey_true_values(
    table: PortfolioTable,
    weights: Mapping[str, float] | Sequence[float],
    journeys: np.ndarray,
    *,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """True value ``TV(J)`` of each customer's journey (float64 ``[n]``; 0 for no offer).

    Parameters
    ----------
    journeys
        int ``[n, width]`` of catalog product indices, padded with -1.
    values
        ``table.values(weights)`` when already computed.
    """
    v = table.values(weights) if values is None else values
    j = np.asarray(journeys, dtype=np.int64)
    n = table.n_customers
    if j.shape[0] != n:
        raise CJOError(f"journeys cover {j.shape[0]} customers, the truth {n}.")
    cols = np.arange(n)
    total = np.zeros(n)
    prefix = np.zeros(n, dtype=np.uint64)
    before = v[table.row(prefix), cols]
    for t in range(j.shape[1]):
        live = j[:, t] >= 0
        if not live.any():
            break
        step = np.where(
            live, np.left_shift(np.uint64(1), np.maximum(j[:, t], 0).astype(np.uint64)), 0
        )
        nxt = prefix | step.astype(np.uint64)
        after = v[table.row(nxt), cols]
        gain = np.where(live, table.discount**t * (after - before), 0.0)
        if np.isnan(gain[live]).any():
            raise CJOError("a journey offers a held or excluded product.")
        total += gain
        prefix, before = nxt, np.where(live, after, before)
    return total


def truth_optimal(
    table: PortfolioTable, weights: Mapping[str, float] | Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The truth-optimal journey of every customer, by dynamic programming over subsets.

    ``f(S) = max_j f(S - j) + gamma**(|S|-1) * [v(H + S) - v(H + S - j)]`` over the products
    ``j`` of ``S`` whose prerequisites are held or in ``S - j``; ``f(empty) = 0``.

    Returns
    -------
    (values, journeys)
        float64 ``[n]`` optimal true values (>= 0) and int64 ``[n, max_length]`` journeys
        (catalog indices, padded with -1).
    """
    v = table.values(weights)
    m, n = v.shape
    masks = table.masks
    row_of = {int(mk): r for r, mk in enumerate(masks)}
    held_bits = _bits(table.held)
    req_bits = _bits(table.requires)
    f = np.full((m, n), -np.inf)
    last = np.full((m, n), -1, dtype=np.int8)
    f[0] = 0.0  # masks[0] is the empty set
    p = table.held.shape[1]
    for r in range(1, m):
        mask = int(masks[r])
        size = bin(mask).count("1")
        ok_set = np.isfinite(v[r])
        for j in range(p):
            if not mask >> j & 1:
                continue
            prev = mask ^ (1 << j)
            pr = row_of[prev]
            reach = np.isfinite(f[pr]) & ok_set
            need = req_bits[j] & ~(held_bits | np.uint64(prev))
            reach &= need == 0
            cand = np.where(reach, f[pr] + table.discount ** (size - 1) * (v[r] - v[pr]), -np.inf)
            better = cand > f[r]
            f[r] = np.where(better, cand, f[r])
            last[r] = np.where(better, j, last[r])
    best_row = np.argmax(f, axis=0)
    best = f[best_row, np.arange(n)]
    journeys = np.full((n, table.max_length), -1, dtype=np.int64)
    cur = masks[best_row].copy()
    rows = best_row.copy()
    sizes = np.bitwise_count(cur).astype(np.int64)  # products in each customer's best set
    cols = np.arange(n)
    for t in range(table.max_length, 0, -1):
        live = sizes >= t
        if not live.any():
            continue
        prod = last[rows, cols]
        journeys[live, t - 1] = prod[live]
        cur = np.where(
            live, cur ^ np.left_shift(np.uint64(1), np.maximum(prod, 0).astype(np.uint64)), cur
        )
        rows = np.where(live, table.row(cur), rows)
        sizes = np.where(live, sizes - 1, sizes)
    return best, journeys


def decision_metrics(
    recommended: np.ndarray, optimal: np.ndarray, *, tol: float = TOL
) -> dict[str, float]:
    """``captured``, ``share_harmful`` and ``share_at_true_optimum`` of recommended journeys.

    Parameters
    ----------
    recommended
        True values of the recommended journeys (float ``[n]``).
    optimal
        True values of the truth-optimal journeys (float ``[n]``, >= 0).
    """
    rec = np.asarray(recommended, dtype=np.float64)
    opt = np.asarray(optimal, dtype=np.float64)
    total = float(opt.sum())
    return {
        "captured": float(rec.sum() / total) if total > 0 else float("nan"),
        "share_harmful": float(np.mean(rec < -tol)) if rec.size else 0.0,
        "share_at_true_optimum": float(np.mean(rec >= opt - tol)) if rec.size else 1.0,
        "mean_true_value": float(rec.mean()) if rec.size else 0.0,
        "mean_optimal_value": float(opt.mean()) if opt.size else 0.0,
    }
