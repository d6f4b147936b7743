"""Baselines the annealer is compared with.

* :func:`greedy`: step by step, offer the feasible product with the largest immediate
  (discounted) opportunity; stop when no product adds a positive value.
* :func:`greedy_local_search`: greedy, then steepest-ascent hill climbing over the annealer's move
  neighbourhood (swap, insert, reverse, replace, extend, shorten) until no move improves.
* :func:`first_offer`: the study's four baselines. The first offer is the feasible product with
  the best immediate CLTV gain (``first-cltv``), churn reduction (``first-churn``), satisfaction
  gain (``first-satisfaction``) or opportunity (``first-opportunity``), among the first offers
  that are not credibly harmful (:func:`core.journeys.credible_first`: under the do-no-harm rule
  the strategies keep it too, none when there is none); the rest of the journey is then optimized: exactly (DP with the first product fixed) when every customer's DP fits
  ``max_states``, else greedily. The factor baselines need the per-factor ``components``
  ``[n, 1 + P, P, 3]`` (factors ``cltv, churn, satisfaction``, oriented so that larger is better,
  i.e. ``churn`` is the reduction of churn probability) laid out like the opportunity.
* :func:`seed_style`: the study's simulated annealing, kept as the slow reference: per customer
  (a Python loop), every move is a full random shuffle of the customer's candidates,
  ``T0 = 1000``, geometric cooling by 0.99 until ``T < 1`` (688 iterations). A shuffle is decoded
  as the journey of its feasible products in shuffled order (up to ``max_length``), cut after its
  best-scoring prefix.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.common.rng import customer_keys, seed_of
from core.data.schema import FACTORS
from core.journeys import (
    JourneyProblem,
    JourneyResult,
    candidates,
    credible_first,
    decode,
    evaluate,
    first_rows,
    first_step_parts,
    greedy_batch,
    make_result,
    prepare,
)
from core.solvers._dp import n_states
from core.solvers._local_search import local_search
from core.solvers._moves import initial_perm, move_table
from core.solvers.exact import exact

FIRST_OFFER_BASELINES = ("first-cltv", "first-churn", "first-satisfaction", "first-opportunity")


def _batches(n: int, batch_size: int) -> list[slice]:
    if batch_size < 1:
        raise OptionError(f"batch_size must be >= 1, got {batch_size}")
    return [slice(lo, min(n, lo + batch_size)) for lo in range(0, n, batch_size)]


def _padded(seqs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    live = np.arange(seqs.shape[1])[None, :] < lengths[:, None]
    return np.where(live, seqs, -1)


def greedy(problem: JourneyProblem, *, batch_size: int = 65536) -> JourneyResult:
    """Step-by-step greedy journeys (see the module docstring).

    Examples
    --------
    >>> from core.journeys import structured_instance
    >>> greedy(structured_instance(10, "seed", rng=0)).journeys.shape
    (10, 5)
    """
    t = time.perf_counter()
    n = problem.n_customers
    out = np.full((n, problem.max_length), -1, dtype=np.int16)
    for idx in _batches(n, batch_size):
        seqs, lengths = greedy_batch(prepare(problem.subset(idx)))
        out[idx, : seqs.shape[1]] = _padded(seqs, lengths)
    return make_result(
        problem,
        out,
        solver="greedy",
        params={"batch_size": batch_size},
        nit=problem.max_length,
        nfev=n * problem.n_products * problem.max_length,
        seconds={"total": time.perf_counter() - t},
        message="greedy: largest immediate opportunity at each step",
    )


def greedy_local_search(
    problem: JourneyProblem, *, max_passes: int = 50, batch_size: int = 65536
) -> JourneyResult:
    """Greedy journeys improved by steepest-ascent local search (see the module docstring)."""
    t = time.perf_counter()
    n = problem.n_customers
    length = min(problem.max_length, problem.n_products)
    table = move_table(problem.n_products, length)
    out = np.full((n, problem.max_length), -1, dtype=np.int16)
    nfev = 0
    for idx in _batches(n, batch_size):
        prep = prepare(problem.subset(idx))
        seqs, lengths = greedy_batch(prep)
        rows = np.arange(prep.n)
        perm = initial_perm(prep, seqs, lengths)
        scores = evaluate(prep, rows, perm, lengths)
        perm, lengths, scores, used = local_search(
            prep, table, rows, perm, lengths, scores, max_passes=max_passes
        )
        nfev += used
        out[idx, :length] = decode(prep, rows, perm, lengths)
    return make_result(
        problem,
        out,
        solver="greedy+ls",
        params={"max_passes": max_passes, "batch_size": batch_size},
        nit=1,
        nfev=nfev,
        seconds={"total": time.perf_counter() - t},
        message="greedy start, steepest-ascent local search to a local optimum",
    )


def first_offer(
    problem: JourneyProblem,
    name: str,
    *,
    components: np.ndarray | None = None,
    max_states: int = 200_000,
) -> JourneyResult:
    """One of the study's first-offer baselines (see the module docstring).

    Parameters
    ----------
    problem
        The problem.
    name
        ``first-cltv``, ``first-churn``, ``first-satisfaction`` or ``first-opportunity``.
    components
        ``[n, 1 + P, P, 3]`` factor components (required by the three factor baselines).
    max_states
        Optimize the rest exactly when every customer's DP has at most this many states,
        otherwise greedily.
    """
    t = time.perf_counter()
    if name not in FIRST_OFFER_BASELINES:
        raise OptionError(f"unknown baseline {name!r}; choose one of {FIRST_OFFER_BASELINES}")
    n, p = problem.n_customers, problem.n_products
    if name == "first-opportunity":
        first_vals = first_rows(problem)
    else:
        if components is None:
            raise OptionError(f"baseline {name!r} needs the per-factor components [n, 1 + P, P, 3]")
        k = FACTORS.index(name.removeprefix("first-"))
        first_vals = first_step_parts(components, problem, np.ones(np.shape(components)[3]))[
            :, :, k
        ]
    cand = candidates(problem)
    startable = cand & ~(problem.requires[None, :, :] & ~problem.held[:, None, :]).any(axis=2)
    startable &= credible_first(problem)  # do no harm: never a credibly harmful first offer
    score_first = np.where(startable, first_vals, -np.inf)
    first = np.where(startable.any(axis=1), score_first.argmax(axis=1), -1)
    length = min(problem.max_length, p)
    worst = int(cand.sum(axis=1).max(initial=0))
    if n_states(worst, length) <= max_states:
        res = exact(problem, first=first, max_states=max_states)
        journeys, how = res.journeys, "exact"
    else:
        journeys = np.full((n, problem.max_length), -1, dtype=np.int16)
        seqs, lengths = greedy_batch(prepare(problem), first_fixed=first)
        journeys[:, : seqs.shape[1]] = _padded(seqs, lengths)
        how = "greedy"
    return make_result(
        problem,
        journeys,
        solver=name,
        params={"rest": how, "max_states": max_states},
        nit=length,
        nfev=n * p,
        seconds={"total": time.perf_counter() - t},
        message=f"first offer by {name.removeprefix('first-')}, rest optimized ({how})",
    )


def seed_style(
    problem: JourneyProblem,
    *,
    rng: np.random.Generator | int | None = None,
    t0: float = 1000.0,
    alpha: float = 0.99,
    t_min: float = 1.0,
) -> JourneyResult:
    """The study's simulated annealing, one customer at a time (slow reference).

    Parameters
    ----------
    problem
        The problem.
    rng
        Seed, Generator or None; customer ``c`` uses ``np.random.default_rng([seed, key_c])``
        with ``key_c`` derived from its id.
    t0, alpha, t_min
        Geometric cooling ``T <- alpha * T`` from ``t0`` while ``T >= t_min``.
    """
    t_start = time.perf_counter()
    if not (t0 > 0 and 0 < alpha < 1 and 0 < t_min <= t0):
        raise OptionError("seed_style needs t0 > 0, 0 < alpha < 1 and 0 < t_min <= t0")
    seed = seed_of(rng)
    n, p = problem.n_customers, problem.n_products
    iters = math.ceil(math.log(t_min / t0) / math.log(alpha))
    cand = candidates(problem)
    first = first_rows(problem)
    keys = customer_keys(problem.ids, seed)
    req = [np.flatnonzero(problem.requires[j]).tolist() for j in range(p)]
    excl = [set(np.flatnonzero(problem.excludes[j]).tolist()) for j in range(p)]
    gamma = problem.discount
    powers = [gamma**t for t in range(problem.max_length)]
    out = np.full((n, problem.max_length), -1, dtype=np.int16)
    for c in range(n):
        items = np.flatnonzero(cand[c])
        if items.size == 0:
            continue
        gen = np.random.default_rng([seed, int(keys[c])])
        held = set(np.flatnonzero(problem.held[c]).tolist())

        ctx = (held, first[c].tolist(), problem.opportunity[c, 1:].astype(np.float64).tolist())
        cur_s, cur_j = _decode_shuffle(gen.permutation(items), ctx, req, excl, powers)
        best_s, best_j = cur_s, cur_j
        temp = t0
        for _ in range(iters):
            s, j = _decode_shuffle(gen.permutation(items), ctx, req, excl, powers)
            if s >= cur_s or gen.random() < math.exp((s - cur_s) / temp):
                cur_s, cur_j = s, j
                if s > best_s:
                    best_s, best_j = s, j
            temp *= alpha
        out[c, : len(best_j)] = best_j
    return make_result(
        problem,
        out,
        solver="seed-style",
        params={"t0": t0, "alpha": alpha, "t_min": t_min, "iterations": iters},
        nit=iters,
        nfev=n * (iters + 1),
        seconds={"total": time.perf_counter() - t_start},
        message=f"study-style annealing: {iters} full shuffles per customer",
        seed=seed,
    )


def _decode_shuffle(
    order: np.ndarray,
    ctx: tuple[set[int], list[float], list[list[float]]],
    req: list[list[int]],
    excl: list[set[int]],
    powers: list[float],
) -> tuple[float, list[int]]:
    """Feasible products of ``order`` (up to max length), cut after the best-scoring prefix."""
    held, f_row, o_rows = ctx
    have = set(held)
    total, best, best_len = 0.0, 0.0, 0
    kept: list[int] = []
    prev = -1
    for j in order.tolist():
        if len(kept) == len(powers):
            break
        if any(q not in have for q in req[j]) or (excl[j] & have):
            continue
        val = f_row[j] if prev < 0 else o_rows[prev][j]
        total += powers[len(kept)] * val
        kept.append(j)
        have.add(j)
        prev = j
        if total > best:
            best, best_len = total, len(kept)
    return best, kept[:best_len]


def run_all(
    problem: JourneyProblem, *, components: np.ndarray | None = None, **options: Any
) -> dict[str, JourneyResult]:
    """Every first-offer baseline that can run (the factor ones need ``components``)."""
    names = FIRST_OFFER_BASELINES if components is not None else ("first-opportunity",)
    return {name: first_offer(problem, name, components=components, **options) for name in names}
