"""What every planner returns: :class:`PlanResult`, built by :func:`finish` after the checker.

Like :class:`scipy.optimize.OptimizeResult`, one object per call: the plan (positions of the
chosen assignments), its objective, the best proved upper bound, the gap, the checker's verdict
and violations, seconds, solver, shadow prices, status and message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.planning.checker import Check, Violation, check_plan
from core.planning.problem import PlanningProblem

#: Statuses a result can have.
STATUSES = ("optimal", "feasible", "infeasible", "no_plan")
#: A gap at most this is reported as optimal.
OPTIMAL_GAP = 1e-4


@dataclass(frozen=True, eq=False)
class PlanResult:
    """A plan and what is known about it.

    Attributes
    ----------
    chosen : numpy.ndarray
        int64 sorted positions of the chosen assignments in ``problem.assignments``.
    objective : float
        Expected profit less the penalties of soft violations (the checker's figure).
    upper_bound : float
        Best proved upper bound on the objective of any plan (NaN when none was proved).
    gap : float
        ``(upper_bound - objective) / |upper_bound|`` for a feasible plan, else NaN.
    feasible : bool
        Every hard constraint and conflict rule holds (the independent checker's verdict).
    violations : tuple of Violation
        Every broken constraint, soft ones included (empty when all hold).
    seconds : float
        Wall time of the solve.
    solver : str
        ``"exact"``, ``"lagrangian"`` or ``"greedy"``.
    shadow_prices : dict
        ``{constraint label: value of one more unit of its bound}`` (negative for minimums).
    status : str
        ``optimal``, ``feasible``, ``infeasible`` (proved) or ``no_plan`` (none found, not
        proved impossible).
    message : str
        What happened, in plain words.
    profit, penalty : float
        The objective's two parts.
    usage : dict
        ``{constraint label: the plan's total}`` for every coupling constraint.
    conflicting : tuple of str
        When infeasible: the constraints that cannot all hold.
    duals : numpy.ndarray
        float64 ``[K]`` signed multipliers per constraint (NaN for per-customer rules): the
        warm start of a re-plan.
    stats : dict
        Solver details (iterations, phases' seconds, LP bound, ...).
    warm : object
        Opaque state a warm-started re-plan reuses (the Lagrangian planner's cuts).
    """

    chosen: np.ndarray
    objective: float
    upper_bound: float
    gap: float
    feasible: bool
    violations: tuple[Violation, ...]
    seconds: float
    solver: str
    shadow_prices: dict[str, float]
    status: str
    message: str
    profit: float = 0.0
    penalty: float = 0.0
    usage: dict[str, float] = field(default_factory=dict)
    conflicting: tuple[str, ...] = ()
    duals: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stats: dict[str, Any] = field(default_factory=dict)
    warm: Any = field(default=None, repr=False)

    @property
    def n_chosen(self) -> int:
        return len(self.chosen)

    def plan_table(self, problem: PlanningProblem) -> pd.DataFrame:
        """One row per chosen assignment: ``Customer, Activity`` (ids as the source spelt them)."""
        asg = problem.assignments
        ids = np.asarray(asg.customer_ids)
        return pd.DataFrame(
            {
                "Customer": ids[asg.customer[self.chosen]],
                "Activity": problem.activities.ids[asg.activity[self.chosen]],
            }
        )

    def report(self) -> dict[str, Any]:
        """The figures of ``report.json`` (the required keys first)."""
        return {
            "objective": self.objective,
            "upper_bound": self.upper_bound,
            "gap": self.gap,
            "feasible": self.feasible,
            "violations": [v.__dict__ for v in self.violations],
            "seconds": self.seconds,
            "solver": self.solver,
            "shadow_prices": dict(self.shadow_prices),
            "status": self.status,
            "message": self.message,
            "profit": self.profit,
            "penalty": self.penalty,
            "n_assignments": self.n_chosen,
            "usage": dict(self.usage),
            "conflicting": list(self.conflicting),
            "stats": dict(self.stats),
        }


def relative_gap(objective: float, upper_bound: float) -> float:
    """``(upper_bound - objective) / max(|upper_bound|, 1e-9)``, at least 0; NaN if unknown."""
    if not (math.isfinite(objective) and math.isfinite(upper_bound)):
        return float("nan")
    return max(0.0, (upper_bound - objective) / max(abs(upper_bound), 1e-9))


def check_options(name: str, options: Mapping[str, Any] | None, allowed: Mapping[str, Any]) -> dict:
    """``allowed`` (the defaults) updated with ``options``; unknown names raise OptionError."""
    opts = dict(allowed)
    for key, value in (options or {}).items():
        if key not in allowed:
            raise OptionError(
                f"solver {name!r} has no option {key!r}; its options are {sorted(allowed)}"
            )
        opts[key] = value
    return opts


def finish(
    problem: PlanningProblem,
    chosen: Any,
    *,
    solver: str,
    started: float,
    upper_bound: float = float("nan"),
    shadow_prices: Mapping[str, float] | None = None,
    duals: np.ndarray | None = None,
    proved_infeasible: bool = False,
    conflicting: tuple[str, ...] = (),
    note: str = "",
    stats: Mapping[str, Any] | None = None,
    least_violation: bool = False,
    warm: Any = None,
    check: Check | None = None,
) -> PlanResult:
    """Check the plan with the independent checker and wrap everything in a PlanResult
    (``check``: the checker's verdict on exactly this plan and problem, when the caller has it)."""
    check = check if check is not None else check_plan(problem, chosen)
    pos = np.flatnonzero(chosen) if np.asarray(chosen).dtype == bool else np.sort(chosen)
    gap = relative_gap(check.objective, upper_bound) if check.feasible else float("nan")
    if check.feasible:
        status = "optimal" if gap <= OPTIMAL_GAP else "feasible"
        soft = [v for v in check.violations if v.soft]
        msg = (
            f"{'Optimal' if status == 'optimal' else 'Feasible'} plan: {check.n_chosen} "
            f"assignments, objective {check.objective:,.2f}"
        )
        if math.isfinite(upper_bound):
            msg += f", upper bound {upper_bound:,.2f} (gap {gap:.3%})"
        if soft:
            msg += f"; pays for {len(soft)} soft violation(s) ({check.penalty:,.2f})"
        msg += "."
    else:
        hard = [v for v in check.violations if not v.soft]
        status = "infeasible" if proved_infeasible else "no_plan"
        head = (
            "Infeasible: the constraints cannot all hold"
            if proved_infeasible
            else "No plan found that keeps every constraint (not proved impossible)"
        )
        if conflicting:
            head += " - these conflict: " + "; ".join(conflicting)
        which = "The least-violation plan" if least_violation else "The plan"
        msg = (
            f"{head}. {which} breaks {len(hard)} hard constraint(s): "
            + "; ".join(v.describe() for v in hard)
            + ". Relax a bound or mark a constraint soft (--soft TYPE=PENALTY, or soft = true "
            "and penalty = ... in the calendar)."
        )
    if note:
        msg += " " + note
    k = len(problem.constraints)
    return PlanResult(
        chosen=pos.astype(np.int64),
        objective=check.objective,
        upper_bound=float(upper_bound),
        gap=gap,
        feasible=check.feasible,
        violations=check.violations,
        seconds=time.perf_counter() - started,
        solver=solver,
        shadow_prices=dict(shadow_prices or {}),
        status=status,
        message=msg,
        profit=check.profit,
        penalty=check.penalty,
        usage=check.usage,
        conflicting=tuple(conflicting),
        duals=np.full(k, np.nan) if duals is None else np.asarray(duals, dtype=np.float64),
        stats=dict(stats or {}),
        warm=warm,
    )


def big_penalties(problem: PlanningProblem, prefer: Any = None) -> np.ndarray:
    """Per constraint, a penalty per unit that outweighs any profit (elastic mode).

    ``prefer`` (positions): constraints that may be broken first; the others cost 1000 times
    more, so a least-violation plan breaks the conflicting constraints named, not others.
    """
    if "big_penalties" not in problem.__dict__:  # bounds do not change it: with_bounds keeps it
        rows = problem.coupling
        scale = max(float(np.abs(problem.assignments.profit).max(initial=0.0)), 1.0)
        base = np.full(len(problem.constraints), 100.0 * scale)
        if len(rows) and problem.n_assignments:
            coef = problem.coefficients(rows, np.arange(min(problem.n_assignments, 200_000)))
            pos = coef > 0
            mean = np.where(pos, coef, 0.0).sum(axis=1) / np.maximum(pos.sum(axis=1), 1)
            base[rows] = 100.0 * scale / np.where(mean > 0, mean, 1.0)
        problem.__dict__["big_penalties"] = base
    out: np.ndarray = problem.__dict__["big_penalties"].copy()
    if prefer is not None and len(prefer):
        others = np.ones(len(out), dtype=bool)
        others[np.asarray(list(prefer), dtype=np.int64)] = False
        out[others] *= 1000.0
    return out
