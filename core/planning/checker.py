"""The independent checker: does a plan keep every constraint, and by how much does it not?

It reads only the problem's plain fields (days, channel and product names, bounds) and works out
which activities each rule covers with its own simple set logic, never the solvers' matrices,
patterns or families. Every solver's plan goes through :func:`check_plan` before it is returned,
and its verdict is the one reported (``feasible``, ``violations``, ``objective``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.planning.problem import TYPES, PlanningProblem

#: Relative tolerance of a bound (sales are sums of probabilities).
TOLERANCE = 1e-6
#: Customers named per violated per-customer rule.
EXAMPLES = 5


@dataclass(frozen=True)
class Violation:
    """One constraint or rule the plan breaks.

    Attributes
    ----------
    constraint
        Its label (see :meth:`PlanningProblem.label`).
    name
        table3's Index (or table4's for a conflict rule).
    type
        One of :data:`TYPES`, or ``"Conflict"``.
    bound
        The bound (None for a conflict rule).
    value
        The plan's total (for a per-customer rule: the largest customer count).
    amount
        Units of violation (for per-customer rules: summed over customers; for conflicts: the
        number of conflicting pairs).
    soft
        The constraint is soft: the violation is allowed and paid for.
    penalty
        What the violation costs (``amount * penalty per unit``; 0 when hard).
    customers
        Customers in violation (per-customer rules and conflicts).
    examples
        A few of their ids.
    """

    constraint: str
    name: str
    type: str
    bound: float | None
    value: float
    amount: float
    soft: bool = False
    penalty: float = 0.0
    customers: int = 0
    examples: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for messages."""
        if self.type == "Conflict":
            return (
                f"{self.constraint}: {self.customers} customer(s) get both sides "
                f"(e.g. {', '.join(self.examples)})"
            )
        if self.customers:
            return (
                f"{self.constraint}: {self.customers} customer(s) over the limit by "
                f"{self.amount:g} contacts in all (e.g. {', '.join(self.examples)})"
            )
        return f"{self.constraint}: the plan has {self.value:.6g}, off by {self.amount:.6g}"


@dataclass(frozen=True)
class Check:
    """The checker's verdict on one plan.

    Attributes
    ----------
    feasible
        No hard constraint or conflict rule is broken.
    violations
        Every broken constraint (hard and soft).
    profit
        Expected profit of the chosen assignments.
    penalty
        Penalties of the soft violations.
    objective
        ``profit - penalty``.
    usage
        ``{label: plan's total}`` for every coupling constraint.
    n_chosen
        Number of chosen assignments.
    """

    feasible: bool
    violations: tuple[Violation, ...]
    profit: float
    penalty: float
    objective: float
    usage: dict[str, float] = field(default_factory=dict)
    n_chosen: int = 0


def as_positions(problem: PlanningProblem, chosen: Any) -> np.ndarray:
    """Sorted int64 positions of the chosen assignments from a mask or a list of positions."""
    arr = np.asarray(chosen)
    n = problem.n_assignments
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise OptionError(f"a plan mask must have {n} entries, got {arr.shape}")
        return np.flatnonzero(arr)
    pos = np.unique(arr.astype(np.int64))
    if len(pos) != len(arr.reshape(-1)):
        raise OptionError("a plan lists an assignment twice")
    if len(pos) and (pos[0] < 0 or pos[-1] >= n):
        raise OptionError(f"a plan's assignment positions must be in [0, {n})")
    return pos


def _activity_products(problem: PlanningProblem) -> list[set[str]]:
    names = problem.products
    return [{names[j] for j in np.flatnonzero(row)} for row in problem.activities.targets]


def _matching(
    problem: PlanningProblem, channels: np.ndarray, products: np.ndarray, prods: list[set[str]]
) -> np.ndarray:
    """bool ``[A]``: activities on a listed channel that target a listed product."""
    listed_ch = {c for c, m in zip(problem.channels, channels, strict=True) if m}
    listed_pr = {p for p, m in zip(problem.products, products, strict=True) if m}
    ch_names = [problem.channels[int(c)] for c in problem.activities.channel]
    return np.array(
        [ch_names[a] in listed_ch and bool(prods[a] & listed_pr) for a in range(len(prods))],
        dtype=bool,
    )


def _tol(bound: float) -> float:
    return TOLERANCE * max(1.0, abs(bound))


def check_plan(problem: PlanningProblem, chosen: Any) -> Check:
    """Check a plan against every constraint and conflict rule of ``problem``.

    Parameters
    ----------
    problem
        The instance.
    chosen
        bool mask ``[N]`` or positions of the chosen assignments.

    Returns
    -------
    Check
    """
    pos = as_positions(problem, chosen)
    asg, act_tab, cons = problem.assignments, problem.activities, problem.constraints
    cust = asg.customer[pos]
    act = asg.activity[pos]
    prob = asg.probability[pos]
    ids = np.asarray(asg.customer_ids)
    prods = _activity_products(problem)
    violations: list[Violation] = []
    usage: dict[str, float] = {}
    penalty = 0.0
    for k in range(len(cons)):
        label = problem.label(k)
        lo, hi = int(cons.start[k]), int(cons.end[k])
        days = act_tab.day
        covered = _matching(problem, cons.channels[k], cons.products[k], prods)
        covered &= (days >= lo) & (days <= hi)
        hit = covered[act]
        kind, bound = TYPES[int(cons.kind[k])], float(cons.bound[k])
        soft, per_unit = bool(cons.soft[k]), float(cons.penalty[k])
        if kind == "Maximum contact":
            counts = np.bincount(cust[hit], minlength=problem.n_customers)
            excess = np.maximum(counts - bound, 0.0)
            excess[excess <= _tol(bound)] = 0.0
            bad = np.flatnonzero(excess)
            if len(bad):
                amount = float(excess.sum())
                paid = amount * per_unit if soft else 0.0
                penalty += paid
                violations.append(
                    Violation(
                        label,
                        cons.names[k],
                        kind,
                        bound,
                        float(counts.max()),
                        amount,
                        soft,
                        paid,
                        len(bad),
                        tuple(str(i) for i in ids[bad[:EXAMPLES]]),
                    )
                )
            continue
        if kind in ("Minimum assignment", "Maximum assignment"):
            total = float(hit.sum())
        elif kind == "Budget":
            total = float(act_tab.cost[act[hit]].sum())
        else:
            total = float(prob[hit].sum())
        usage[label] = total
        short = bound - total if kind.startswith("Minimum") else total - bound
        if short > _tol(bound):
            paid = short * per_unit if soft else 0.0
            penalty += paid
            violations.append(
                Violation(label, cons.names[k], kind, bound, total, short, soft, paid)
            )
    violations.extend(_conflicts(problem, pos, prods))
    profit = float(asg.profit[pos].sum())
    feasible = not any(not v.soft for v in violations)
    return Check(feasible, tuple(violations), profit, penalty, profit - penalty, usage, len(pos))


def _conflicts(problem: PlanningProblem, pos: np.ndarray, prods: list[set[str]]) -> list[Violation]:
    """Conflict rules broken: pairs of one customer's chosen activities, both orders."""
    cf = problem.conflicts
    if not len(cf) or len(pos) < 2:
        return []
    cust = problem.assignments.customer[pos]
    act = problem.assignments.activity[pos]
    day = problem.activities.day.astype(np.int64)
    first, second = [], []
    for d in range(1, len(pos)):
        same = cust[:-d] == cust[d:]
        if not same.any():
            break
        first.append(np.flatnonzero(same))
        second.append(np.flatnonzero(same) + d)
    if not first:
        return []
    i = np.concatenate(first)
    j = np.concatenate(second)
    ai, aj = act[i], act[j]
    out = []
    ids = np.asarray(problem.assignments.customer_ids)
    for f in range(len(cf)):
        one = _matching(problem, cf.channels1[f], cf.products1[f], prods)
        two = _matching(problem, cf.channels2[f], cf.products2[f], prods)
        lag = int(cf.lag[f])
        fwd = one[ai] & two[aj] & (day[aj] - day[ai] >= 0) & (day[aj] - day[ai] < lag)
        bwd = one[aj] & two[ai] & (day[ai] - day[aj] >= 0) & (day[ai] - day[aj] < lag)
        bad = fwd | bwd
        if bad.any():
            who = np.unique(cust[i[bad]])
            out.append(
                Violation(
                    problem.conflict_label(f),
                    cf.names[f],
                    "Conflict",
                    None,
                    float(bad.sum()),
                    float(bad.sum()),
                    False,
                    0.0,
                    len(who),
                    tuple(str(c) for c in ids[who[:EXAMPLES]]),
                )
            )
    return out
