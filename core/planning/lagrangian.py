"""The scalable planner: Lagrangian prices, then repair and improvement, with a certified gap.

1. **Dual.** :func:`core.planning._relaxation.minimise_dual` prices the coupling constraints;
   the best ``L(lambda)`` is the proved upper bound, the prices the shadow prices.
2. **Repair.** From the plan at those prices, or a draw of the dual's convex combination of
   evaluations when it breaks less, neighbourhoods of customers that can mend the broken rows
   (and of undecided ones) are re-chosen by small programs, growing until the plan keeps every
   hard constraint (:mod:`core.planning._primal`, :mod:`core.planning._repair`).
3. **Improve.** The same programs over random neighbourhoods of undecided customers (a
   large-neighbourhood search, seeded by ``rng``) until the gap to the bound is below
   ``target_gap``, ``patience`` rounds bring nothing, or the time is up.

When no plan keeping every hard constraint is found, a phase-one dual (no profit, violations
priced) proves infeasibility where it can, a deletion filter names an irreducible set of
conflicting constraints, and the elastic problem (hard rows priced very high) gives the
least-violation plan. Warm starts reuse the previous prices, cuts and plan: a re-plan after a
bound change takes a few dual steps, and stops early by rule (``stats["dual_stopped"]``): when the
previous plan, still feasible, is within ``target_gap`` of the bound (it is kept), when three
serious steps barely lower the bound (``stall``, ``stall_tol``), or at ``warm_dual_tol``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from core.common.progress import Progress
from core.common.rng import as_generator
from core.planning._base import PlanResult, big_penalties, check_options, finish
from core.planning._chunks import one_blas_thread
from core.planning._patterns import MAX_SETS
from core.planning._primal import assess, primal
from core.planning._relaxation import Bundle, Callback, Evaluation, Relaxation, minimise_dual
from core.planning.diagnose import irreducible_subset
from core.planning.executor import SERIAL, ChunkExecutor
from core.planning.problem import PlanningProblem

DEFAULTS: dict[str, Any] = {
    "target_gap": 1e-3,  # stop improving below this gap to the bound
    "dual_tol": 1e-5,  # relative predicted decrease that ends the dual phase
    "warm_dual_tol": 1e-4,  # ... of a warm-started re-plan (its bound within 0.01 % of L's min)
    "stall": 3,  # a re-plan's dual stops when this many serious steps (0: never) ...
    "stall_tol": 5e-5,  # ... brought the bound down by at most this (relative) in all
    "dual_share": 0.6,  # at most this share of the time for the dual phase
    "max_dual_iter": 400,
    "neighbourhood": 2000,  # customers freed per repair / improvement program
    "candidates": 4,  # best sets per customer offered to the program
    "mip_time": 20.0,  # seconds per program at most
    "every_columns": 500_000,  # columns of an exhaustive repair program at most
    "columns_per_second": 20_000,  # ... and at most this many per second left
    "patience": 3,  # improvement rounds without gain before stopping
    "chunk_items": 2_000_000,  # items per chunk of the per-customer solve
    "max_sets": MAX_SETS,  # feasible sets per pattern before the greedy fallback
    "contact_prices": True,  # price Maximum contact rows by re-solving at bound + 1
    "diagnose": True,  # name the conflicting constraints when infeasible
}
_PHASE_ONE_TOL = 1e-6


# -------------------------------------------------------------------------------------------
# infeasibility
# -------------------------------------------------------------------------------------------


def phase_one(problem: PlanningProblem) -> PlanningProblem:
    """No profit, soft rows dropped, hard coupling rows priced at 1 / bound per unit violated.

    Its optimum is minus the least (scaled) violation: a negative upper bound proves that no
    plan keeps every hard constraint.
    """
    cons = problem.constraints
    hard = problem.without(constraints=np.flatnonzero(cons.soft))
    c = hard.constraints
    rows = hard.coupling
    soft, pen = c.soft.copy(), c.penalty.copy()
    soft[rows] = True
    pen[rows] = 1.0 / np.maximum(np.abs(c.bound[rows]), 1.0)
    asg = dataclasses.replace(hard.assignments, profit=np.zeros(hard.n_assignments))
    return hard.variant(
        ("covers", "conflict_matrix", "families"),
        constraints=dataclasses.replace(c, soft=soft, penalty=pen),
        assignments=asg,
    )


def elastic(problem: PlanningProblem, prefer: tuple[int, ...] = ()) -> PlanningProblem:
    """Every hard coupling row made soft at a penalty that outweighs any profit (smallest for
    the constraints in ``prefer``)."""
    c = problem.constraints
    big = big_penalties(problem, prefer)
    rows = problem.coupling
    soft, pen = c.soft.copy(), c.penalty.copy()
    hard = rows[~c.soft[rows]]
    soft[hard], pen[hard] = True, big[hard]
    return problem.variant(
        ("covers", "conflict_matrix", "families"),
        constraints=dataclasses.replace(c, soft=soft, penalty=pen),
    )


def proved_infeasible_lagrangian(
    problem: PlanningProblem,
    time_limit: float,
    opts: Mapping[str, Any] | None = None,
    executor: ChunkExecutor | None = None,
) -> bool | None:
    """True when the phase-one bound proves ``problem`` infeasible; None when it cannot."""
    o = check_options("lagrangian", opts, DEFAULTS)
    with one_blas_thread():
        rel = Relaxation(phase_one(problem), o, executor)
        dual = minimise_dual(
            rel,
            None,
            deadline=time.perf_counter() + time_limit,
            tol=1e-9,
            max_iter=int(o["max_dual_iter"]),
            stop_below=-_PHASE_ONE_TOL,
        )
    return True if dual.proved_infeasible or dual.best.value < -_PHASE_ONE_TOL else None


def _answer_infeasible(
    problem: PlanningProblem,
    started: float,
    deadline: float,
    gen: np.random.Generator,
    opts: Mapping[str, Any],
    stats: dict[str, Any],
    executor: ChunkExecutor,
) -> PlanResult:
    """Prove infeasibility if possible, name the conflict, return the least-violation plan."""
    budget = max(deadline - time.perf_counter(), 5.0)
    proved = proved_infeasible_lagrangian(problem, budget / 4, opts, executor) is True
    conflicting: tuple[str, ...] = ()
    prefer: tuple[int, ...] = ()
    note = ""
    if proved and opts["diagnose"]:
        found = irreducible_subset(
            problem,
            lambda sub, tl: proved_infeasible_lagrangian(sub, tl, opts, executor),
            time_limit=budget / 4,
        )
        conflicting, prefer = found.labels, found.constraints
        if not found.complete:
            note = "(the diagnosis ran out of time: the set named may not be minimal)"
    inner = dict(opts, diagnose=False, contact_prices=False)
    least = solve_lagrangian(
        elastic(problem, prefer),
        time_limit=max(deadline - time.perf_counter(), budget / 3),
        rng=gen,
        options=inner,
        executor=executor,
    )
    if not conflicting:
        conflicting = tuple(v.constraint for v in least.violations if not v.soft)
        if conflicting:
            note = ("(named: the constraints the least-violation plan must break) " + note).strip()
    mask = np.zeros(problem.n_assignments, dtype=bool)
    mask[least.chosen] = True
    return finish(
        problem,
        mask,
        solver="lagrangian",
        started=started,
        proved_infeasible=proved,
        least_violation=True,
        conflicting=conflicting,
        note=note,
        stats=stats,
    )


# -------------------------------------------------------------------------------------------
# the solver
# -------------------------------------------------------------------------------------------


def _contact_prices(
    problem: PlanningProblem,
    ev: Evaluation,
    deadline: float,
    opts: Mapping[str, Any],
    executor: ChunkExecutor,
) -> dict[str, float]:
    """Value of one more contact per customer for each Maximum contact row: L(b + 1) - L(b).

    The families at ``b + 1`` and their relaxation's structure are cached on the problem (a
    re-plan after a coupling bound changed reuses them).
    """
    out: dict[str, float] = {}
    cache = problem.__dict__.setdefault("plus_one", {})
    max_sets = int(opts["max_sets"])
    for k in problem.contact:
        if time.perf_counter() > deadline:
            out[problem.label(k)] = float("nan")
            continue
        name = problem.constraints.names[k]
        more = problem.with_bounds({name: problem.constraints.bound[k] + 1.0})
        if (int(k), max_sets) in cache:  # the families at b + 1 and their hosting
            more.__dict__.update(cache[int(k), max_sets])
        rel = Relaxation(more, opts, executor)
        keep = ("families", "hosting", "relaxation")
        cache[int(k), max_sets] = {key: more.__dict__[key] for key in keep}
        out[problem.label(k)] = rel.evaluate(ev.lam).value - ev.value
    return out


def _warm(
    problem: PlanningProblem, rel: Relaxation, warm: PlanResult | None
) -> tuple[np.ndarray | None, list[np.ndarray], Bundle | None]:
    """Prices, plans and cuts of a previous result that still apply to ``problem``."""
    if warm is None:
        return None, [], None
    lam = None
    if len(warm.duals) == len(problem.constraints):
        d = np.nan_to_num(warm.duals[rel.rows], nan=0.0)
        lam = np.maximum(rel.sense * d, 0.0)
    starts = []
    if len(warm.chosen) and warm.chosen.max(initial=-1) < problem.n_assignments:
        mask = np.zeros(problem.n_assignments, dtype=bool)
        mask[warm.chosen] = True
        starts.append(rel.to_slots(mask))
    bundle = warm.warm if isinstance(warm.warm, Bundle) else None
    return lam, starts, bundle


def solve_lagrangian(
    problem: PlanningProblem,
    *,
    time_limit: float = 60.0,
    rng: np.random.Generator | int | None = 0,
    progress: Progress | None = None,
    callback: Callback | None = None,
    warm_start: PlanResult | None = None,
    options: Mapping[str, Any] | None = None,
    executor: ChunkExecutor | None = None,
) -> PlanResult:
    """Plan with the Lagrangian planner.

    Parameters
    ----------
    problem
        The instance.
    time_limit
        Seconds for the whole solve (it stops earlier once the gap is below ``target_gap``).
    rng
        Seed or generator of the improvement neighbourhoods.
    progress
        ``progress(done, total)`` after each phase.
    callback
        ``callback(info)`` after each dual step and improvement round; True stops.
    warm_start
        A previous result on the same instance (other bounds): its prices and plan.
    options
        See :data:`DEFAULTS`.
    executor
        Where the per-customer subproblems run (:mod:`core.planning.executor`): this process
        by default; the Dask engine (:mod:`core.pipeline.batch.plan_engine`) on a cluster. The
        result does not depend on it.

    Returns
    -------
    PlanResult
        ``stats``: ``patterns``, ``engine``, ``dual_iterations``, ``repair_rounds``,
        ``improve_rounds``, seconds per phase.
    """
    with one_blas_thread():
        return _solve(
            problem, time_limit, rng, progress, callback, warm_start, options, executor or SERIAL
        )


def _solve(
    problem: PlanningProblem,
    time_limit: float,
    rng: np.random.Generator | int | None,
    progress: Progress | None,
    callback: Callback | None,
    warm_start: PlanResult | None,
    options: Mapping[str, Any] | None,
    executor: ChunkExecutor,
) -> PlanResult:
    opts = check_options("lagrangian", options, DEFAULTS)
    started = time.perf_counter()
    deadline = started + float(time_limit)
    gen = as_generator(rng)
    rel = Relaxation(problem, opts, executor)
    stats: dict[str, Any] = {
        "patterns": len(rel.families),
        "engine": executor.name,
        "chunks": len(rel.chunks),
        "subproblems_exact": rel.exact,
        "seconds_setup": time.perf_counter() - started,
    }
    lam0, starts, bundle = _warm(problem, rel, warm_start)
    warm = lam0 is not None
    known = [inc.objective for inc in (assess(rel, plan) for plan in starts) if inc.hard_ok]
    t = time.perf_counter()
    dual = minimise_dual(
        rel,
        lam0,
        deadline=started + float(opts["dual_share"]) * float(time_limit),
        tol=float(opts["warm_dual_tol" if warm else "dual_tol"]),
        max_iter=int(opts["max_dual_iter"]),
        warm=warm,
        bundle=bundle,
        callback=callback,
        known=max(known) if known else None,
        gap_tol=float(opts["target_gap"]),
        stall=(int(opts["stall"]), float(opts["stall_tol"])) if warm and opts["stall"] else None,
    )
    stats.update(
        dual_iterations=dual.iterations,
        dual_converged=dual.converged,
        dual_stopped=dual.stopped,
        seconds_dual=time.perf_counter() - t,
    )
    if progress:
        progress(0.5, 1.0)
    if dual.proved_infeasible:
        return _answer_infeasible(problem, started, deadline, gen, opts, stats, executor)
    t = time.perf_counter()
    ev = rel.evaluate(dual.best.lam, top=2, plan=True)
    upper = min(dual.best.value, ev.value)
    inc, primal_stats = primal(
        rel,
        ev,
        upper,
        starts,
        deadline=deadline,
        gen=gen,
        opts=opts,
        callback=callback,
        mixture=dual.mixture,
    )
    stats.update(primal_stats, seconds_primal=time.perf_counter() - t)
    if not inc.hard_ok and stats.get("repair_exhausted"):
        return _answer_infeasible(problem, started, deadline, gen, opts, stats, executor)
    timed_out = (
        ""
        if inc.hard_ok
        else (
            f"The time limit ({time_limit:g} s) ran out before the plan was repaired: give more "
            "time."
        )
    )
    prices = {
        problem.label(int(k)): float(s * lam)
        for k, s, lam in zip(rel.rows, rel.sense, ev.lam, strict=True)
    }
    duals = np.full(len(problem.constraints), np.nan)
    duals[rel.rows] = rel.sense * ev.lam
    if opts["contact_prices"] and len(problem.contact):
        prices.update(_contact_prices(problem, ev, deadline + 0.1 * time_limit, opts, executor))
    mask = rel.to_original(inc.chosen)
    if progress:
        progress(1.0, 1.0)
    note = timed_out + (
        ""
        if rel.exact
        else (
            "Some eligibility patterns had too many feasible contact sets to enumerate: their "
            "customers were planned greedily and bounded by a relaxation."
        )
    )
    return finish(
        problem,
        mask,
        solver="lagrangian",
        started=started,
        upper_bound=upper,
        shadow_prices=prices,
        duals=duals,
        note=note,
        stats=stats,
        warm=dual.bundle,
    )
