"""Exact journey optimization: dynamic programming over subsets (the referee).

Because step ``t`` is discounted by ``gamma**(t-1)`` and ``t`` equals the number of products
offered so far, the best journey that offers exactly the set ``S`` and ends with ``j`` has value

    V(S, j) = max over i in S \\ {j} of V(S \\ {j}, i) + gamma**(|S|-1) * O[c, 1 + i, j]
    V({j}, j) = first[c, j]          (held aggregation, or the start row)

(Held-Karp over (subset, last product); the vectorized kernel, shared with the annealer's pool
search, is :mod:`core.solvers._dp`). A state is feasible when ``j``'s prerequisites are held or
in ``S \\ {j}`` and ``j`` excludes nothing in ``S \\ {j}``; infeasible states are -inf, so the
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
from core.solvers._dp import chunks_by_size, int_bits, local_bits, n_states, solve_chunk

_BUDGET = 1 << 21  # elements per DP array of one chunk


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
    held_bits = int_bits(problem.held)
    req_bits = int_bits(problem.requires)
    excl_bits = int_bits(problem.excludes)
    weights = [problem.discount**t for t in range(length)]
    journeys = np.full((n, problem.max_length), -1, dtype=np.int16)
    nfev = 0
    for k, layers, idx in chunks_by_size(kc, length, _BUDGET, batch_size):
        loc = np.argsort(~cand[idx], axis=1, kind="stable")[:, :k]  # candidates ascending
        forced = None
        if first is not None:
            f = first[idx]
            hit = loc == f[:, None]
            forced = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        seq, used = solve_chunk(
            layers,
            k,
            first_val[idx[:, None], loc],
            opp[idx[:, None, None], 1 + loc[:, :, None], loc[:, None, :]]
            .astype(np.float64)
            .reshape(idx.size, k * k),
            local_bits(req_bits[loc] & ~held_bits[idx][:, None], loc),
            local_bits(excl_bits[loc], loc),
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
