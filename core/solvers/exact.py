"""Exact journey optimization: dynamic programming over subsets (the referee).

Because step ``t`` is discounted by ``gamma**(t-1)`` and ``t`` equals the number of products
offered so far, the best journey that offers exactly the set ``S`` and ends with ``j`` has value

    V(S, j) = max over i in S \\ {j} of V(S \\ {j}, i) + gamma**(|S|-1) * O[c, 1 + i, j]
    V({j}, j) = first[c, j]          (held aggregation, or the start row)

(Held-Karp over (subset, last product)). A state is feasible when ``j``'s prerequisites are held
or in ``S \\ {j}`` and ``j`` excludes nothing in ``S \\ {j}``; infeasible states are -inf, so the
recursion only extends feasible orderings. The optimum is the best state with ``|S| <=
max_length``, or the empty journey (score 0) when every state is negative.

The DP runs over each customer's own candidates (:func:`core.journeys.candidates`), vectorized
across all customers with the same number of candidates ``K``; the work per customer is about
``sum_m C(K, m) * m * (m - 1)`` for ``m <= max_length``: 56 thousand transitions for 11 candidates
and full-length journeys, 5 million for 25 candidates and journeys of at most 6. Ties are broken
deterministically (shorter journeys first, then the order of the state enumeration).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.common.errors import OptionError
from core.journeys import (
    JourneyProblem,
    JourneyResult,
    candidates,
    first_rows,
    is_feasible,
    make_result,
    score,
)

_BUDGET = 1 << 21  # elements per DP array of one chunk


@dataclass(frozen=True, eq=False)
class _Layer:
    masks: np.ndarray  # int64 [C]: subsets of size m, ascending
    last: np.ndarray  # int64 [M]: local product j of each state (subset, j), ordered (mask, j)
    pred_mask: np.ndarray  # int64 [M]: subset without j
    pred: np.ndarray  # int64 [M, m-1]: index in layer m-1 of (pred_mask, i), i ascending
    trans: np.ndarray  # int64 [M, m-1]: i * K + j


@lru_cache(maxsize=8)
def _layers(k: int, length: int) -> tuple[_Layer, ...]:
    layers: list[_Layer] = []
    prev_masks = np.zeros(1, dtype=np.int64)
    for m in range(1, min(k, length) + 1):
        combos = np.array(list(itertools.combinations(range(k), m)), dtype=np.int64)
        masks = np.left_shift(np.int64(1), combos).sum(axis=1)
        order = np.argsort(masks, kind="stable")
        combos, masks = combos[order], masks[order]
        last = combos.reshape(-1)
        pred_mask = np.repeat(masks, m) - np.left_shift(np.int64(1), last)
        if m == 1:
            pred = np.zeros((last.size, 0), dtype=np.int64)
            trans = np.zeros((last.size, 0), dtype=np.int64)
        else:
            # for each (subset, position p): the other members, ascending
            keep = ~np.eye(m, dtype=bool)  # [p, q]: q != p
            wide = np.broadcast_to(combos[:, None, :], (combos.shape[0], m, m))
            others = wide[:, keep].reshape(-1, m - 1)
            pos = np.searchsorted(prev_masks, pred_mask)
            pred = pos[:, None] * (m - 1) + np.arange(m - 1)[None, :]
            trans = others * k + last[:, None]
        layers.append(_Layer(masks, last, pred_mask, pred, trans))
        prev_masks = masks
    return tuple(layers)


def n_states(k: int, length: int) -> int:
    """Number of DP states ``(S, j)`` for ``k`` candidates and journeys up to ``length``."""
    return sum(math.comb(k, m) * m for m in range(1, min(k, length) + 1))


def exact(
    problem: JourneyProblem,
    *,
    batch_size: int | None = None,
    max_states: int = 2_000_000,
    first: np.ndarray | None = None,
) -> JourneyResult:
    """Optimal journeys for every customer, by dynamic programming over subsets.

    Parameters
    ----------
    problem
        The problem.
    batch_size
        Customers per vectorized chunk (default: as many as fit about 2 million DP values).
    max_states
        Refuse customers whose DP would exceed this many states (see :func:`n_states`); the
        default admits e.g. 12 candidates at full length and 25 candidates with journeys up to 6.
    first
        Optional int ``[n]`` of product indices: force each journey to start with that product
        (-1: the empty journey). Used by the first-offer baselines. A forced product that cannot
        start a feasible journey yields the empty journey.

    Returns
    -------
    JourneyResult

    Raises
    ------
    ValueError
        A customer exceeds ``max_states``.
    """
    t_start = time.perf_counter()
    n, p = problem.n_customers, problem.n_products
    length = min(problem.max_length, p)
    cand = candidates(problem)
    kc = cand.sum(axis=1)
    if n:
        worst = int(kc.max())
        if n_states(worst, length) > max_states:
            who = int(np.argmax(kc))
            raise OptionError(
                f"exact: customer {problem.ids[who]!r} has {worst} candidate products; with "
                f"max_length {length} that is {n_states(worst, length):,} DP states, more than "
                f"max_states={max_states:,}. Use the anneal solver, or raise max_states."
            )
    if first is not None:
        first = np.asarray(first, dtype=np.int64)
        if first.shape != (n,):
            raise OptionError(f"first must have shape ({n},), got {first.shape}")
    first_val = first_rows(problem)
    opp = problem.opportunity
    held_bits = _bits(problem.held)
    req_bits = _bits(problem.requires)
    excl_bits = _bits(problem.excludes)
    weights = [problem.discount**t for t in range(length)]
    journeys = np.full((n, problem.max_length), -1, dtype=np.int16)
    nfev = 0
    for k in np.unique(kc):
        k = int(k)
        if k == 0:
            continue
        layers = _layers(k, length)
        width = max(lay.last.size for lay in layers)
        step = batch_size or max(1, _BUDGET // width)
        members = np.flatnonzero(kc == k)
        for lo in range(0, members.size, step):
            idx = members[lo : lo + step]
            loc = np.argsort(~cand[idx], axis=1, kind="stable")[:, :k]  # candidates ascending
            forced = None
            if first is not None:
                f = first[idx]
                hit = loc == f[:, None]
                forced = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
            seq, used = _solve_chunk(
                layers,
                k,
                first_val[idx[:, None], loc],
                opp[idx[:, None, None], 1 + loc[:, :, None], loc[:, None, :]]
                .astype(np.float64)
                .reshape(idx.size, k * k),
                _local_bits(req_bits[loc] & ~held_bits[idx][:, None], loc),
                _local_bits(excl_bits[loc], loc),
                weights,
                forced,
            )
            nfev += used
            live = seq >= 0
            glob = np.where(live, np.take_along_axis(loc, np.maximum(seq, 0), axis=1), -1)
            journeys[idx, : glob.shape[1]] = glob
    seconds = {"total": time.perf_counter() - t_start}
    return make_result(
        problem,
        journeys,
        solver="exact",
        params={
            "max_states": max_states,
            "batch_size": batch_size,
            "forced_first": first is not None,
        },
        nit=length,
        nfev=nfev,
        seconds=seconds,
        message="optimal by dynamic programming over subsets",
    )


def _bits(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=bool)
    w = np.left_shift(np.int64(1), np.arange(m.shape[-1], dtype=np.int64))
    return np.where(m, w, 0).sum(axis=-1).astype(np.int64)


def _local_bits(global_bits: np.ndarray, loc: np.ndarray) -> np.ndarray:
    """Map global product bitmasks ``[m, K]`` to bitmasks over each customer's local indices."""
    k = loc.shape[1]
    hit = (global_bits[:, :, None] >> loc[:, None, :]) & 1  # [m, a, b]
    return (hit << np.arange(k, dtype=np.int64)[None, None, :]).sum(axis=2)


def _solve_chunk(
    layers: tuple[_Layer, ...],
    k: int,
    first: np.ndarray,
    trans: np.ndarray,
    req: np.ndarray,
    excl: np.ndarray,
    weights: list[float],
    forced: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    mc = first.shape[0]
    rows = np.arange(mc)
    lay0 = layers[0]
    v = np.where(req[:, lay0.last] == 0, first[:, lay0.last], -np.inf)
    if forced is not None:
        v = np.where(lay0.last[None, :] == forced[:, None], v, -np.inf)
        best_val = np.full(mc, -np.inf)
    else:
        best_val = np.zeros(mc)
    best_layer = np.zeros(mc, dtype=np.int64)
    best_state = np.zeros(mc, dtype=np.int64)
    args: list[np.ndarray] = [np.zeros((mc, 0), dtype=np.int8)]
    nfev = mc * lay0.last.size

    def take_best(vals: np.ndarray, m: int) -> None:
        s = vals.argmax(axis=1)
        top = vals[rows, s]
        better = top > best_val
        best_val[better] = top[better]
        best_layer[better] = m
        best_state[better] = s[better]

    take_best(v, 1)
    for m, lay in enumerate(layers[1:], start=2):
        w = weights[m - 1]
        vm = np.full((mc, lay.last.size), -np.inf)
        arg = np.zeros((mc, lay.last.size), dtype=np.int8)
        for r in range(m - 1):
            cand = v[:, lay.pred[:, r]] + w * trans[:, lay.trans[:, r]]
            better = cand > vm
            vm = np.where(better, cand, vm)
            arg[better] = r
        jj = lay.last
        ok = (req[:, jj] & ~lay.pred_mask[None, :]) == 0
        ok &= (excl[:, jj] & lay.pred_mask[None, :]) == 0
        vm[~ok] = -np.inf
        nfev += mc * lay.pred.size
        take_best(vm, m)
        args.append(arg)
        v = vm
    # backtrack
    seq = np.full((mc, len(layers)), -1, dtype=np.int64)
    state = best_state.copy()
    for m in range(len(layers), 0, -1):
        on = best_layer >= m
        if not on.any():
            continue
        lay = layers[m - 1]
        seq[on, m - 1] = lay.last[state[on]]
        if m > 1:
            choice = args[m - 1][rows[on], state[on]].astype(np.int64)
            state[on] = lay.pred[state[on], choice]
    return seq, nfev


def brute_force(problem: JourneyProblem) -> JourneyResult:
    """Optimal journeys by enumerating every sequence of distinct products (small tests only).

    Enumerates ``sum_m P! / (P - m)!`` sequences for ``m <= max_length``; refuses more than
    20,000.
    """
    t_start = time.perf_counter()
    n, p = problem.n_customers, problem.n_products
    length = min(problem.max_length, p)
    total = sum(math.perm(p, m) for m in range(length + 1))
    if total > 20_000:
        raise OptionError(f"brute_force would enumerate {total:,} sequences; use exact instead")
    best = np.zeros(n)
    best_seq = np.full((n, problem.max_length), -1, dtype=np.int64)
    for m in range(1, length + 1):
        for seq in itertools.permutations(range(p), m):
            j = np.full((n, problem.max_length), -1, dtype=np.int64)
            j[:, :m] = seq
            s = np.where(is_feasible(problem, j), score(problem, j), -np.inf)
            better = s > best
            best[better] = s[better]
            best_seq[better] = j[better]
    return make_result(
        problem,
        best_seq,
        solver="brute-force",
        params={},
        nit=total,
        nfev=total * n,
        seconds={"total": time.perf_counter() - t_start},
        message=f"enumerated {total} sequences",
    )
