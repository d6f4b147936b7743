"""Repair and improvement: small mixed-integer programs over a neighbourhood of customers.

At the Lagrangian prices every customer holds its best set; the coupling constraints may not
hold, because customers at the margin (small *regret*: best minus second-best reduced value)
all tip the same way. A neighbourhood of such customers is freed: each may take one of a few
candidate sets (its best ones at the prices, the same without their non-positive items, its
current set, nothing), the others stay, and HiGHS chooses among the candidates under the
coupling constraints with what the fixed customers leave of each bound. Every row has a slack at
a big penalty (soft rows: at their penalty), so the program always has a solution and a slack
left in a hard row says the neighbourhood was too small (it is doubled). The same program over
fresh neighbourhoods is the improvement phase (a large-neighbourhood search) until the gap to the
Lagrangian bound is small or the time is up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from core.planning._patterns import Family, greedy_picks


@dataclass(frozen=True, eq=False)
class Layout:
    """Where each customer's items sit in pattern order.

    Attributes
    ----------
    pattern : numpy.ndarray
        int64 ``[C]`` pattern of each customer position.
    start : numpy.ndarray
        int64 ``[C]`` first item of each customer position.
    width : numpy.ndarray
        int64 ``[C]`` its number of items.
    owner : numpy.ndarray
        int32 ``[N]`` customer position of each item.
    """

    pattern: np.ndarray
    start: np.ndarray
    width: np.ndarray
    owner: np.ndarray


def make_layout(sizes: np.ndarray, item_ptr: np.ndarray, widths: np.ndarray) -> Layout:
    """The layout of patterns with ``sizes`` customers of ``widths`` items each."""
    n_pat = len(sizes)
    pattern = np.repeat(np.arange(n_pat), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    rank = np.arange(len(pattern)) - first[pattern]
    width = widths[pattern].astype(np.int64)
    start = item_ptr[:-1][pattern] + rank * width
    owner = np.repeat(np.arange(len(pattern), dtype=np.int32), width)
    return Layout(pattern, start, width, owner)


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sets of a neighbourhood: ``customer[j]`` may take items ``items[ptr[j]:ptr[j+1]]``."""

    customer: np.ndarray
    ptr: np.ndarray
    items: np.ndarray
    value: np.ndarray


def candidates(
    customers: np.ndarray,
    layout: Layout,
    families: tuple[Family, ...],
    weights: np.ndarray,
    profit: np.ndarray,
    incumbent: np.ndarray,
    *,
    top: int,
    slack: float,
    every: bool = False,
    extra: list[np.ndarray] | None = None,
    real: np.ndarray | None = None,
) -> Candidates:
    """Candidate sets of ``customers`` (positions) at the reduced ``weights``.

    Per customer: its ``top`` best sets at the weights without their non-positive items and
    without the items below ``-slack``, a greedy set where the sets were not enumerated, its
    incumbent set and the empty set; repeats removed. With ``every``, every feasible set of
    the customer's pattern instead (when there are not too many): the program is then exact
    for these customers. ``extra`` plans (bool, pattern order) add each customer's set in them.
    ``real`` (bool per slot) masks the padding slots of hosted customers out of every set.
    """
    cust_parts, ptr_parts, item_parts, value_parts = [], [], [], []
    n_items = 0
    pats = layout.pattern[customers]
    for p in np.unique(pats):
        who = customers[pats == p]
        fam = families[p]
        width = fam.width
        idx = layout.start[who][:, None] + np.arange(width)[None, :]
        w = weights[idx]
        picks = [np.zeros((len(who), width), bool), incumbent[idx]]
        picks += [plan[idx] for plan in extra or ()]
        all_sets = fam.every_set() if every and fam.exact else None
        if all_sets is not None:
            picks += [np.broadcast_to(s, (len(who), width)) for s in all_sets]
        elif fam.exact and len(fam.sets):
            vals = np.maximum(w, 0).astype(np.float32) @ fam.sets_t
            if fam.penalty.any():
                vals -= fam.penalty.astype(np.float32)
            m = vals.shape[1]
            best = np.argpartition(-vals, top - 1, axis=1)[:, :top] if m > top else None
            for j in range(min(top, m)):
                s = fam.sets[best[:, j]] if best is not None else fam.sets[np.full(len(who), j)]
                picks.append(s & (w > 0))
                picks.append(s & (w > -slack))
        else:
            picks.append(greedy_picks(fam, w))
        k = len(picks)
        stack = np.stack(picks, axis=1)
        if real is not None:
            stack &= real[idx][:, None, :]
        stack = stack.reshape(len(who) * k, width)
        owner = np.repeat(np.arange(len(who)), k)
        key = np.concatenate(
            [owner.astype(np.int64).view(np.uint8).reshape(-1, 8), np.packbits(stack, axis=1)],
            axis=1,
        )
        key = np.ascontiguousarray(key).view(f"V{key.shape[1]}").ravel()
        _, first = np.unique(key, return_index=True)
        first = np.sort(first)
        stack, owner = stack[first], owner[first]
        r, col = np.nonzero(stack)
        items = layout.start[who][owner[r]] + col
        counts = np.bincount(r, minlength=len(stack))
        cust_parts.append(who[owner])
        ptr_parts.append(n_items + np.cumsum(counts))
        item_parts.append(items)
        value = np.bincount(r, weights=profit[items], minlength=len(stack))
        value_parts.append(value - fam.set_penalty(stack))
        n_items += len(items)
    return Candidates(
        customer=np.concatenate(cust_parts),
        ptr=np.concatenate([[0], *ptr_parts]).astype(np.int64),
        items=np.concatenate(item_parts).astype(np.int64),
        value=np.concatenate(value_parts),
    )


@dataclass(frozen=True)
class Choice:
    """The program's answer: a candidate per customer, the slacks, HiGHS's status."""

    chosen: np.ndarray | None
    slack: np.ndarray
    status: int
    message: str


def choose(
    cands: Candidates,
    n_customers: int,
    coef: np.ndarray,
    sense: np.ndarray,
    residual: np.ndarray,
    slack_cost: np.ndarray,
    *,
    time_limit: float,
    gap: float = 1e-4,
) -> Choice:
    """Pick one candidate per customer maximising value under the coupling rows.

    Parameters
    ----------
    cands
        Candidates with ``customer`` in ``0 .. n_customers - 1``.
    n_customers
        Customers of the neighbourhood.
    coef
        float64 ``[n_candidates, K]`` what each candidate adds to each coupling row.
    sense
        ``+1`` for ``<=`` rows, ``-1`` for ``>=`` rows.
    residual
        ``[K]`` what the customers outside the neighbourhood leave of each bound.
    slack_cost
        ``[K]`` price of one unit of slack.
    time_limit, gap
        HiGHS options.
    """
    n_cand, k = coef.shape
    cust = cands.customer
    one = sp.csr_matrix(
        (np.ones(n_cand), (cust, np.arange(n_cand))), shape=(n_customers, n_cand + k)
    )
    rows = sp.hstack(
        [sp.csr_matrix(coef.T * sense[:, None]), -sp.identity(k, format="csr")], format="csr"
    )
    A = sp.vstack([one, rows], format="csr")
    lo = np.concatenate([np.ones(n_customers), np.full(k, -np.inf)])
    hi = np.concatenate([np.ones(n_customers), residual * sense])
    c = np.concatenate([-cands.value, slack_cost])
    integrality = np.concatenate([np.ones(n_cand), np.zeros(k)])
    res = milp(
        c,
        integrality=integrality,
        bounds=Bounds(np.zeros(n_cand + k), np.concatenate([np.ones(n_cand), np.full(k, np.inf)])),
        constraints=[LinearConstraint(A, lo, hi)],
        options={"time_limit": max(time_limit, 0.05), "mip_rel_gap": gap, "disp": False},
    )
    if res.x is None:
        return Choice(None, np.full(k, np.nan), int(res.status), str(res.message))
    y = res.x[:n_cand] > 0.5
    return Choice(np.flatnonzero(y), res.x[n_cand:], int(res.status), str(res.message))
