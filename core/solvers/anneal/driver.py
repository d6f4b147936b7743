"""The annealer's driver: :func:`anneal` runs every batch of customers through the phases.

Per batch: prepare the flat arrays, build the start journeys (:mod:`.starts`), anneal the chains
(:mod:`.chains`), polish by local search (:mod:`core.solvers._local_search`) and finish with the
exact pool search (:mod:`.pool`). The options are one :class:`AnnealOptions`, validated when it
is built and resolved against the problem once per run.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.common.rng import customer_keys, seed_of
from core.journeys import (
    JourneyProblem,
    JourneyResult,
    decode,
    evaluate,
    is_feasible,
    make_result,
    normalize_journeys,
    prepare,
)
from core.solvers._local_search import local_search
from core.solvers._moves import MoveTable, initial_perm, move_table
from core.solvers.anneal.chains import run_chains, type_slots
from core.solvers.anneal.options import AnnealOptions
from core.solvers.anneal.pool import pool_phase
from core.solvers.anneal.starts import start_journeys, walk_start

_TRACE_SUMS = ("best", "current", "temp", "active", "accepted")
_PHASES = ("prepare", "start", "calibrate", "anneal", "polish", "pool")


def anneal(
    problem: JourneyProblem, options: AnnealOptions | None = None, **keywords: Any
) -> JourneyResult:
    """Optimize every customer's journey by simulated annealing.

    Parameters
    ----------
    problem
        The problem.
    options
        The options (default ``AnnealOptions()``); see :class:`AnnealOptions` for each one.
    **keywords
        Options as keywords (``iters=200, rng=0``...), the fields of :class:`AnnealOptions`;
        with ``options`` too they replace its fields.

    Returns
    -------
    JourneyResult
        ``params`` holds the options used (``pool`` and ``chain_factor`` resolved), ``seed``
        the seed, ``trace`` per-iteration population means, ``seconds`` the time per phase.

    Raises
    ------
    OptionError
        A bad option (see :class:`AnnealOptions`) or an ``init`` journeys array that does not
        fit the problem or is infeasible.

    Examples
    --------
    >>> from core.journeys import structured_instance
    >>> pb = structured_instance(50, "seed", rng=1)
    >>> res = anneal(pb, rng=0)
    >>> res.journeys.shape
    (50, 5)
    >>> anneal(pb, options=AnnealOptions(iters=100, rng=0)).params["iters"]
    100
    """
    t_total = time.perf_counter()
    if options is None:
        opts = AnnealOptions(**keywords)
    else:
        opts = dataclasses.replace(options, **keywords) if keywords else options
    init_arr = None if isinstance(opts.init, str) else normalize_journeys(problem, opts.init)
    if init_arr is not None and not is_feasible(problem, init_arr).all():
        bad = np.flatnonzero(~is_feasible(problem, init_arr))[:5]
        raise OptionError(f"init journeys are infeasible for customers at rows {bad.tolist()}")
    seed = seed_of(opts.rng)
    n = problem.n_customers
    length = min(problem.max_length, problem.n_products)
    opts = opts.resolved(length)
    table = move_table(problem.n_products, length)
    slots = type_slots(table, opts.move_weights)
    total_iters = opts.iters * (1 + opts.restarts)
    tr = {key: np.zeros(total_iters) for key in _TRACE_SUMS}
    journeys = np.full((n, problem.max_length), -1, dtype=np.int16)
    timing = dict.fromkeys(_PHASES, 0.0)
    nfev = 0
    nit = 0
    stopped = False
    batch_opts = opts
    size = opts.batch_size
    n_batches = max(1, -(-n // size))
    for b, lo in enumerate(range(0, n, size)):
        idx = slice(lo, min(n, lo + size))
        out, used, b_nit, b_stopped = _anneal_batch(
            problem.subset(idx),
            batch_opts,
            None if init_arr is None else init_arr[idx],
            seed,
            table,
            slots,
            trace=tr,
            timing=timing,
            progress={"batch": b, "n_batches": n_batches, "done": lo, "n": n},
        )
        journeys[idx, : out.shape[1]] = out
        nfev += used
        nit = max(nit, b_nit)
        if b_stopped and not stopped:  # the callback stopped the run: later batches skip annealing
            stopped = True
            batch_opts = dataclasses.replace(opts, iters=0)
    trace: dict[str, np.ndarray] = {}
    if nit > 0 and n > 0:
        k = nit
        trace = {
            "iteration": np.arange(1, k + 1),
            "best_mean": tr["best"][:k] / n,
            "current_mean": tr["current"][:k] / n,
            "temperature": tr["temp"][:k] / np.maximum(tr["active"][:k], 1),
            "acceptance_rate": tr["accepted"][:k] / np.maximum(tr["active"][:k], 1),
            "active": tr["active"][:k] / n,
        }
    timing["total"] = time.perf_counter() - t_total
    message = "stopped by callback" if stopped else "annealing finished"
    return make_result(
        problem,
        journeys,
        solver="anneal",
        params=opts.params(),
        nit=nit,
        nfev=nfev,
        seconds=timing,
        message=message,
        trace=trace,
        seed=seed,
    )


def _anneal_batch(
    pb: JourneyProblem,
    opts: AnnealOptions,
    init: np.ndarray | None,
    seed: int,
    table: MoveTable,
    slots: np.ndarray,
    *,
    trace: dict[str, np.ndarray],
    timing: dict[str, float],
    progress: dict[str, int],
) -> tuple[np.ndarray, int, int, bool]:
    """One batch through every phase: (journeys, evaluations, iterations, stopped)."""
    t = time.perf_counter()
    prep = prepare(pb)
    n, le = prep.n, prep.length
    k_cand = prep.cand.sum(axis=1).astype(np.int64)
    width = min(int(max(k_cand.max(initial=0), le, 1)), prep.p)
    keys = customer_keys(pb.ids, seed)
    timing["prepare"] += time.perf_counter() - t

    t = time.perf_counter()
    rows_all = np.arange(n)
    seqs, lengths, walk = start_journeys(prep, opts, init, k_cand)
    perm = initial_perm(prep, seqs, lengths)[:, :width]
    best_perm, best_len = perm.copy(), lengths.copy()
    best = evaluate(prep, rows_all, perm, lengths)
    nfev = n
    # certified optimal once the best reaches the walk bound (rounding slack 1e-9 relative)
    threshold = np.full(n, np.inf)
    if opts.bound and (opts.iters > 0 or opts.polish):
        ub = (walk or walk_start(prep))[2]
        threshold = ub - 1e-9 * (1.0 + np.abs(ub))
    timing["start"] += time.perf_counter() - t

    used, nit, stopped = run_chains(
        prep,
        opts,
        table,
        slots,
        keys,
        perm=perm,
        lengths=lengths,
        scores=best,
        threshold=threshold,
        best_perm=best_perm,
        best_len=best_len,
        trace=trace,
        timing=timing,
        progress=progress,
    )
    nfev += used

    pool = opts.pool or 0
    pool_runs = pool > 0 and opts.pool_rounds > 0
    if opts.polish and n > 0:
        t = time.perf_counter()
        best = evaluate(prep, rows_all, best_perm, best_len)  # the annealed bests' scores
        skip = best >= threshold  # certified optimal ones need no polish
        if pool_runs:
            # nor those whose candidates all fit the pool: its first DP covers every journey
            skip |= k_cand <= pool
        todo = np.flatnonzero(~skip)
        if todo.size:
            perm_p, len_p, _, used = local_search(
                prep, table, todo, best_perm[todo], best_len[todo], best[todo]
            )
            best_perm[todo], best_len[todo] = perm_p, len_p
            nfev += used
        timing["polish"] += time.perf_counter() - t
    out = decode(prep, rows_all, best_perm, best_len)
    if pool_runs and n > 0 and (opts.iters > 0 or opts.polish):
        t = time.perf_counter()
        nfev += pool_phase(prep, opts, out, threshold, k_cand, walk)
        timing["pool"] += time.perf_counter() - t
    return out, nfev, nit, stopped
