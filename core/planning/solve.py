"""One dispatcher for the planners, the way :mod:`scipy.optimize` dispatches ``minimize``.

:func:`solve` takes a problem and a solver name and returns a
:class:`~core.planning._base.PlanResult`; :func:`replan` is what a dashboard page calls after a
slider moved: the problem with new bounds, warm-started from the previous result. The solver
modules import only :mod:`core.planning._base` and their helpers, never this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.common.progress import Progress
from core.planning._base import PlanResult
from core.planning.exact import solve_exact
from core.planning.executor import ChunkExecutor
from core.planning.greedy import solve_greedy
from core.planning.lagrangian import solve_lagrangian
from core.planning.problem import PlanningProblem

#: Largest instance ``solver="auto"`` gives to HiGHS (eligible assignments): it proved optimality
#: in 2-3 s at 6,500 and in 13-23 s at 30,000 (10,000 customers x 50 activities x 5 %), and took
#: minutes from about 80,000 (benchmarks/plan.py, docs/planning.md).
AUTO_EXACT_ASSIGNMENTS = 20_000
#: ... and only with at least this many seconds.
AUTO_EXACT_SECONDS = 20.0


@dataclass(frozen=True)
class PlannerSpec:
    """One planner: its name, function, whether it is seeded and proves a bound."""

    name: str
    function: Callable[..., PlanResult]
    seeded: bool
    bound: bool
    summary: str


PLANNERS: dict[str, PlannerSpec] = {
    "exact": PlannerSpec(
        "exact",
        solve_exact,
        False,
        True,
        "HiGHS branch and cut on the whole problem (the referee)",
    ),
    "lagrangian": PlannerSpec(
        "lagrangian",
        solve_lagrangian,
        True,
        True,
        "Lagrangian prices, per-customer subproblems, repair and improvement",
    ),
    "greedy": PlannerSpec(
        "greedy",
        solve_greedy,
        False,
        False,
        "greedy fill by expected profit (baseline: minimums ignored)",
    ),
}
#: Names ``--solver`` accepts.
SOLVERS: tuple[str, ...] = ("auto", "exact", "lagrangian", "greedy")


def pick_solver(problem: PlanningProblem, time_limit: float = 60.0) -> str:
    """``"exact"`` when HiGHS finishes such instances within the time, else ``"lagrangian"``."""
    small = problem.n_assignments <= AUTO_EXACT_ASSIGNMENTS
    return "exact" if small and time_limit >= AUTO_EXACT_SECONDS else "lagrangian"


def solve(
    problem: PlanningProblem,
    solver: str = "auto",
    *,
    time_limit: float = 60.0,
    rng: np.random.Generator | int | None = 0,
    progress: Progress | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    warm_start: PlanResult | None = None,
    options: Mapping[str, Any] | None = None,
    executor: ChunkExecutor | None = None,
) -> PlanResult:
    """Plan ``problem`` with one of :data:`SOLVERS`.

    Parameters
    ----------
    problem
        The instance.
    solver
        ``"auto"`` (exact up to :data:`AUTO_EXACT_ASSIGNMENTS` eligible assignments given at
        least :data:`AUTO_EXACT_SECONDS`, else lagrangian), ``"exact"``, ``"lagrangian"`` or
        ``"greedy"``.
    time_limit
        Seconds.
    rng
        Seed or generator (the lagrangian planner's improvement phase).
    progress
        ``progress(done, total)``.
    callback
        Lagrangian only: ``callback(info)`` after each step; True stops.
    warm_start
        Lagrangian only: a previous result on this instance with other bounds.
    options
        Per-solver options (see each solver's ``DEFAULTS``).
    executor
        Lagrangian only: where its per-customer subproblems run (:mod:`core.planning.executor`;
        this process by default, the Dask engine of :mod:`core.pipeline.batch.plan_engine` on a
        cluster). The other solvers run in this process.

    Returns
    -------
    PlanResult

    Examples
    --------
    >>> from core.planning import benchmark_instance, solve
    >>> res = solve(benchmark_instance(300, 20, 0.1, 10, rng=1), "lagrangian", time_limit=10)
    >>> res.feasible, res.gap < 0.01
    (True, True)
    """
    if solver not in SOLVERS:
        raise OptionError(f"solver {solver!r}: choose one of {list(SOLVERS)}")
    if not (isinstance(time_limit, int | float) and time_limit > 0):
        raise OptionError(f"time_limit must be a number of seconds > 0, got {time_limit!r}")
    name = pick_solver(problem, float(time_limit)) if solver == "auto" else solver
    kwargs: dict[str, Any] = {"time_limit": float(time_limit), "progress": progress}
    if options:
        kwargs["options"] = options
    if name == "lagrangian":
        kwargs.update(rng=rng, callback=callback, warm_start=warm_start, executor=executor)
    return PLANNERS[name].function(problem, **kwargs)


def replan(
    problem: PlanningProblem,
    bounds: Mapping[int | str, float] | None = None,
    *,
    warm_start: PlanResult | None = None,
    soft: Mapping[str, float] | None = None,
    time_limit: float = 5.0,
    rng: np.random.Generator | int | None = 0,
    options: Mapping[str, Any] | None = None,
    executor: ChunkExecutor | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
) -> tuple[PlanningProblem, PlanResult]:
    """Re-plan after bounds changed (a budget slider moved), from the previous prices.

    Parameters
    ----------
    problem
        The instance the previous result was computed on (its cached structure is reused).
    bounds
        ``{constraint name or position: new bound}``.
    warm_start
        The previous result: its prices start the dual and its plan the repair.
    soft
        ``{constraint name: penalty}`` to mark constraints soft.
    time_limit, rng, options, executor, callback
        As :func:`solve` (the lagrangian planner; ``callback`` returning True stops it, e.g. a
        page's background re-plan that a newer slider change made stale).

    Returns
    -------
    (PlanningProblem, PlanResult)
        The changed problem (pass it to the next re-plan) and its plan.
    """
    new = problem.with_bounds(bounds or {})
    if soft:
        new = new.with_soft(soft, by="name")
    res = solve(
        new,
        "lagrangian",
        time_limit=time_limit,
        rng=rng,
        warm_start=warm_start,
        options=options,
        executor=executor,
        callback=callback,
    )
    return new, res
