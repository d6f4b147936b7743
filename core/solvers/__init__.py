"""Journey solvers: one registry, the way :mod:`scipy.optimize` dispatches ``minimize``.

The registry (:data:`REGISTRY`) lists every solver once: its name, its function, the extra
inputs it needs besides the problem and whether it draws random numbers. :func:`solve` is the
one dispatcher; the pipeline, the RL lab and the benchmarks call it by name. The solver modules
import only :mod:`core.journeys` and their shared helpers, never this registry, so there is no
import cycle.

Solvers
-------
``anneal``
    Simulated annealing vectorized across customers (:mod:`core.solvers.anneal`; its options
    are one :class:`core.solvers.anneal.AnnealOptions`, given as keywords or ``options=``).
``exact``
    Held-Karp dynamic programming over subsets: the referee (:mod:`core.solvers.exact`).
``greedy``, ``greedy+ls``, ``seed-style``
    Baselines (:mod:`core.solvers.baselines`).
``first-cltv``, ``first-churn``, ``first-satisfaction``, ``first-opportunity``
    The study's first-offer baselines (the three factor ones need the per-factor components).

Shared pieces
-------------
:mod:`core.solvers._dp` (the Held-Karp kernel of ``exact`` and the annealer's pool search),
:mod:`core.solvers._moves` (search states and their move table), :mod:`core.solvers._scorer`
(fast state scoring) and :mod:`core.solvers._local_search` (steepest ascent, the annealer's
polish and ``greedy+ls``); :mod:`core.solvers.schedules` (temperature schedules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.common.errors import OptionError
from core.journeys import JourneyProblem, JourneyResult
from core.solvers import anneal as _anneal
from core.solvers import baselines as _baselines
from core.solvers import exact as _exact


@dataclass(frozen=True)
class SolverSpec:
    """One row of the registry.

    Attributes
    ----------
    name
        The name users and scripts choose it by (``--solver``).
    function
        ``function(problem, **options) -> JourneyResult``.
    needs
        Extra keyword inputs it cannot run without (``"components"``: the per-factor
        components ``[n, 1 + P, P, 3]``).
    seeded
        Takes ``rng`` (a seed): its result depends on it.
    user_facing
        Offered as ``--solver`` (the others are baselines the report compares with).
    """

    name: str
    function: Callable[..., JourneyResult]
    needs: tuple[str, ...] = ()
    seeded: bool = False
    user_facing: bool = False


def _first_offer(name: str) -> Callable[..., JourneyResult]:
    def run(problem: JourneyProblem, **options: Any) -> JourneyResult:
        return _baselines.first_offer(problem, name, **options)

    run.__name__ = f"first_offer[{name}]"
    return run


_SPECS: tuple[SolverSpec, ...] = (
    SolverSpec("anneal", _anneal.anneal, seeded=True, user_facing=True),
    SolverSpec("exact", _exact.exact, user_facing=True),
    SolverSpec("greedy", _baselines.greedy, user_facing=True),
    SolverSpec("greedy+ls", _baselines.greedy_local_search, user_facing=True),
    SolverSpec("seed-style", _baselines.seed_style, seeded=True, user_facing=True),
    *(
        SolverSpec(
            name,
            _first_offer(name),
            needs=() if name == "first-opportunity" else ("components",),
        )
        for name in _baselines.FIRST_OFFER_BASELINES
    ),
)

#: Every solver by name.
REGISTRY: dict[str, SolverSpec] = {s.name: s for s in _SPECS}
#: The names a user may choose as ``--solver`` (the first-offer baselines are for comparison).
SOLVERS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.user_facing)
#: The study's first-offer baselines.
FIRST_OFFER_BASELINES: tuple[str, ...] = _baselines.FIRST_OFFER_BASELINES


def spec(name: str) -> SolverSpec:
    """The registry row of ``name``; an :class:`OptionError` lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise OptionError(f"unknown solver {name!r}; choose one of {', '.join(REGISTRY)}") from None


def solvers() -> dict[str, Callable[..., JourneyResult]]:
    """Solver names accepted by :func:`solve`, with their functions."""
    return {name: s.function for name, s in REGISTRY.items()}


def solve(problem: JourneyProblem, solver: str = "anneal", **options: Any) -> JourneyResult:
    """Optimize every customer's journey with the named solver.

    Parameters
    ----------
    problem
        The problem.
    solver
        A name of :data:`REGISTRY`: ``anneal``, ``exact``, ``greedy``, ``greedy+ls``,
        ``seed-style`` or one of the first-offer baselines.
    **options
        Passed to the solver function.
    """
    row = spec(solver)
    missing = [k for k in row.needs if options.get(k) is None]
    if missing:
        raise OptionError(f"solver {solver!r} needs {', '.join(missing)}.")
    try:
        return row.function(problem, **options)
    except OptionError as exc:  # say which solver refused the option
        raise OptionError(f"{solver}: {exc}") from exc


__all__ = [
    "FIRST_OFFER_BASELINES",
    "REGISTRY",
    "SOLVERS",
    "SolverSpec",
    "solve",
    "solvers",
    "spec",
]
