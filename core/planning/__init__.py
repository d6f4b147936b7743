"""Campaign planning: the whole population's contact plan under budgets, caps, rules, conflicts.

The family offers

* the problem: :class:`PlanningProblem` (plain arrays: activities, eligible assignments,
  constraints, conflicts), read from the public benchmark's four tables
  (:func:`read_instance`), built from a campaign calendar and per-customer, per-product values
  (:func:`load_calendar`, :func:`build_problem`, optionally narrowed to each customer's
  contact windows; :func:`window_removals`) or generated (:func:`benchmark_instance`);
* the planners behind one dispatcher, :func:`solve` (``"exact"``: HiGHS, the referee;
  ``"lagrangian"``: the scalable planner with a certified gap; ``"greedy"``: the baseline), and
  :func:`replan` for a page that moves a bound and re-plans from the previous prices;
* the independent checker, :func:`check_plan`;
* one result object, :class:`PlanResult`.

See docs/planning.md.
"""

from core.planning._base import PlanResult
from core.planning.calendar import (
    Calendar,
    CalendarError,
    build_problem,
    load_calendar,
    window_removals,
)
from core.planning.checker import Check, Violation, check_plan
from core.planning.generate import benchmark_instance
from core.planning.problem import TYPES, PlanningProblem
from core.planning.solve import PLANNERS, SOLVERS, replan, solve
from core.planning.tables import read_instance, write_instance

__all__ = [
    "PLANNERS",
    "SOLVERS",
    "TYPES",
    "Calendar",
    "CalendarError",
    "Check",
    "PlanResult",
    "PlanningProblem",
    "Violation",
    "benchmark_instance",
    "build_problem",
    "check_plan",
    "load_calendar",
    "read_instance",
    "replan",
    "solve",
    "window_removals",
    "write_instance",
]
