"""Which constraints conflict: an irreducible infeasible subset by a deletion filter.

Start from every hard constraint and conflict rule (soft ones can always be paid for). Drop each
candidate in turn; when what is left is still proved infeasible, the candidate is not needed and
stays dropped. What survives is irreducible: remove any one member and the rest can hold (as far
as the oracle can tell). The oracle is the solver's: the LP relaxation and HiGHS for the exact
referee, the Lagrangian phase-one bound for the scalable planner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.planning.problem import PlanningProblem

#: ``oracle(problem, time_limit) -> True`` (proved infeasible), ``False`` or ``None`` (unknown).
Oracle = Callable[[PlanningProblem, float], "bool | None"]


@dataclass(frozen=True)
class Found:
    """An infeasible subset of the constraints.

    Attributes
    ----------
    constraints
        Positions of the constraints in it.
    conflicts
        Positions of the conflict rules in it.
    labels
        Their labels, for messages.
    complete
        The filter finished (else the set is infeasible but maybe not minimal).
    """

    constraints: tuple[int, ...]
    conflicts: tuple[int, ...]
    labels: tuple[str, ...]
    complete: bool


def _candidates(problem: PlanningProblem) -> list[tuple[str, int]]:
    """Hard constraints and conflict rules, in the order they are tried for removal."""
    cons = problem.constraints
    hard = np.flatnonzero(~cons.soft)
    maxima = [int(k) for k in hard if not cons.is_min[k] and not cons.per_customer[k]]
    contact = [int(k) for k in hard if cons.per_customer[k]]
    minima = [int(k) for k in hard if cons.is_min[k]]
    return [("conflict", f) for f in range(len(problem.conflicts))] + [
        ("constraint", k) for k in contact + maxima + minima
    ]


def _restricted(problem: PlanningProblem, keep: set[tuple[str, int]]) -> PlanningProblem:
    cons = problem.constraints
    drop_c = [k for k in range(len(cons)) if not cons.soft[k] and ("constraint", k) not in keep]
    drop_f = [f for f in range(len(problem.conflicts)) if ("conflict", f) not in keep]
    return problem.without(constraints=drop_c, conflicts=drop_f)


def irreducible_subset(
    problem: PlanningProblem, oracle: Oracle, *, time_limit: float = 60.0
) -> Found:
    """Deletion filter over the hard constraints and conflict rules of an infeasible problem.

    Parameters
    ----------
    problem
        An instance the oracle proves infeasible.
    oracle
        ``oracle(sub_problem, seconds) -> True | False | None``.
    time_limit
        Seconds for the whole filter; when they run out the remaining candidates are kept
        (``complete`` False).

    Returns
    -------
    Found
    """
    started = time.perf_counter()
    keep = set(_candidates(problem))
    complete = True
    for cand in _candidates(problem):
        left = time_limit - (time.perf_counter() - started)
        if left <= 0:
            complete = False
            break
        trial = keep - {cand}
        if oracle(_restricted(problem, trial), max(left / 2, 0.5)) is True:
            keep = trial
    cons = tuple(sorted(k for kind, k in keep if kind == "constraint"))
    conf = tuple(sorted(f for kind, f in keep if kind == "conflict"))
    labels = tuple(problem.label(k) for k in cons) + tuple(problem.conflict_label(f) for f in conf)
    return Found(cons, conf, labels, complete)
