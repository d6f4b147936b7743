"""Per-customer subproblems: pure functions of a chunk of patterns and the prices.

Given prices on the coupling constraints, every customer's best plan is independent of the
others: maximise ``sum (profit - alpha[a] - beta[a] * p) x`` over the customer's feasible sets.
:func:`solve_chunk` does it for every customer of a chunk of patterns with one matrix product per
pattern (weights clipped at zero times the family's sets), in float32 with a float64 value of the
chosen set. It depends only on its arguments, so a Dask engine can map it over chunks
(``client.map(solve_chunk, chunks, alpha=..., beta=...)``) and add up the
:class:`ChunkSolution` figures; :func:`make_chunks` cuts a problem into chunks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from core.planning._patterns import Family, Patterns, greedy_picks

#: Cells of the [customers, sets] value matrix computed at once (memory per block: 4 bytes each).
BLOCK_CELLS = 1 << 22
_EPS32 = 2.0**-22  # float32 rounding allowance per item in the bound


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread: the per-pattern products are small, and on a shared machine
    OpenBLAS's threads made them 100x slower (measured); parallelism comes from chunks."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True, eq=False)
class Chunk:
    """Consecutive patterns with their items in pattern order.

    Attributes
    ----------
    families : tuple of Family
        One per pattern.
    sizes : numpy.ndarray
        int64 customers per pattern.
    activity, profit, probability : numpy.ndarray
        The items (customers of the first pattern first, each customer's items by activity).
    item_start, customer_start : int
        Offsets of the chunk in the problem's pattern order.
    """

    families: tuple[Family, ...]
    sizes: np.ndarray
    activity: np.ndarray
    profit: np.ndarray
    probability: np.ndarray
    item_start: int = 0
    customer_start: int = 0

    @property
    def n_customers(self) -> int:
        return int(self.sizes.sum())

    @property
    def n_items(self) -> int:
        return len(self.activity)


@dataclass(frozen=True, eq=False)
class ChunkSolution:
    """The customers' best sets at given prices.

    Attributes
    ----------
    chosen : numpy.ndarray
        bool ``[items]`` in the chunk's order.
    value : numpy.ndarray
        float64 ``[customers]``: reduced value of the chosen set (less soft contact penalties).
    bound : numpy.ndarray
        float64 ``[customers]``: upper bound of the best reduced value (>= ``value``; equal up
        to float32 rounding where the sets were enumerated).
    best : numpy.ndarray
        int32 ``[customers]`` index of the chosen set in its family (-1 when greedy).
    second : numpy.ndarray or None
        float64 ``[customers]`` second-best set value (``top=2``).
    count, prob : numpy.ndarray
        float64 ``[A]``: chosen assignments and their summed probability per activity.
    exact : bool
        Every pattern's sets were enumerated.
    """

    chosen: np.ndarray
    value: np.ndarray
    bound: np.ndarray
    best: np.ndarray
    second: np.ndarray | None
    count: np.ndarray
    prob: np.ndarray
    exact: bool


def make_chunks(
    patterns: Patterns,
    families: tuple[Family, ...],
    activity: np.ndarray,
    profit: np.ndarray,
    probability: np.ndarray,
    *,
    max_items: int = 2_000_000,
) -> list[Chunk]:
    """Cut pattern-ordered items into chunks of whole patterns of about ``max_items`` items.

    The chunks hold float32 copies of profit and probability (the subproblems run in float32).
    """
    out: list[Chunk] = []
    sizes = patterns.sizes()
    ip, cp = patterns.item_ptr, patterns.cust_ptr
    p = 0
    while p < len(families):
        q = p + 1
        while q < len(families) and ip[q + 1] - ip[p] <= max_items:
            q += 1
        lo, hi = int(ip[p]), int(ip[q])
        out.append(
            Chunk(
                families=families[p:q],
                sizes=sizes[p:q],
                activity=activity[lo:hi],
                profit=profit[lo:hi].astype(np.float32),
                probability=probability[lo:hi].astype(np.float32),
                item_start=lo,
                customer_start=int(cp[p]),
            )
        )
        p = q
    return out


def solve_chunk(
    chunk: Chunk,
    alpha: np.ndarray,
    beta: np.ndarray,
    *,
    top: int = 1,
    plan: bool = True,
) -> ChunkSolution:
    """Best set of every customer of ``chunk`` at prices ``(alpha, beta)`` per activity.

    Parameters
    ----------
    chunk
        Patterns and their items (:func:`make_chunks`).
    alpha, beta
        float64 ``[A]``: an assignment of activity ``a`` with probability ``p`` costs
        ``alpha[a] + beta[a] * p`` at these prices.
    top
        2 also returns each customer's second-best set value (``second``).
    plan
        Return the chosen items and per-customer figures; False returns only what the dual
        needs (bounds summed per customer are still there, ``chosen`` is empty).

    Returns
    -------
    ChunkSolution
    """
    n_items, n_cust = chunk.n_items, chunk.n_customers
    n_a = len(alpha)
    alpha32, beta32 = alpha.astype(np.float32), beta.astype(np.float32)
    chosen = np.zeros(n_items, dtype=bool)
    value = np.zeros(n_cust)
    slack = np.zeros(n_cust)  # float32 rounding allowance of each customer's value
    best = np.full(n_cust, -1, dtype=np.int32)
    second = np.full(n_cust, -np.inf) if top >= 2 else None
    exact = True
    off = cust = 0
    for fam, n in zip(chunk.families, chunk.sizes, strict=True):
        n, width = int(n), fam.width
        if width == 0:
            if second is not None:
                second[cust : cust + n] = 0.0
            cust += n
            continue
        acts = fam.activities
        a_loc, b_loc = alpha32[acts], beta32[acts]
        m = max(len(fam.sets), 1)
        block = n if n * m <= BLOCK_CELLS else max(1, BLOCK_CELLS // m)
        for b0 in range(0, n, block):
            b1 = min(n, b0 + block)
            lo, hi = off + b0 * width, off + b1 * width
            pr = chunk.probability[lo:hi].reshape(b1 - b0, width)
            wb = chunk.profit[lo:hi].reshape(b1 - b0, width) - a_loc - b_loc * pr
            pos = np.maximum(wb, np.float32(0))
            sl = slice(cust + b0, cust + b1)
            if fam.exact:
                vals = pos @ fam.sets_t
                if fam.penalty.any():
                    vals -= fam.penalty.astype(np.float32)
                k = vals.argmax(axis=1)
                top_val = vals.max(axis=1)
                picks = fam.sets[k] & (wb > 0)
                value[sl] = top_val
                slack[sl] = width * (
                    np.abs(top_val) + fam.penalty[k] if fam.penalty.any() else np.abs(top_val)
                )
                best[sl] = k
                if second is not None:
                    if m > 1:
                        second[sl] = np.partition(vals, m - 2, axis=1)[:, -2]
                    else:
                        second[sl] = -np.inf
            else:
                exact = False
                picks = greedy_picks(fam, wb)
                got = (wb * picks).sum(axis=1, dtype=np.float64)
                kmax = max(fam.kmax, 1)
                topk = -np.sort(-pos, axis=1)[:, :kmax].sum(axis=1, dtype=np.float64)
                value[sl] = got
                slack[sl] = np.maximum(topk, got) - got + width * np.abs(topk)
                if second is not None:
                    second[sl] = got  # unknown: treat the customer as undecided
            chosen[lo:hi] = picks.reshape(-1)
        off += n * width
        cust += n
    bound = value + _EPS32 * slack
    act = chunk.activity[chosen]
    count = np.bincount(act, minlength=n_a).astype(np.float64)
    prob_sum = np.bincount(act, weights=chunk.probability[chosen], minlength=n_a)
    if not plan:
        chosen = np.zeros(0, dtype=bool)
    return ChunkSolution(chosen, value, bound, best, second, count, prob_sum, exact)
