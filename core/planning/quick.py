"""A quick answer after a bound moved: a feasible plan and a proved bound, without a solve.

A page that re-plans on every slider step (``replan``: a few dual steps, a repair, an
improvement; about a third of a second on the demo) can answer at once with :func:`quick_replan`
and refine in the background:

* **The bound.** The per-customer part of the dual function ``L(lambda)`` does not depend on the
  coupling bounds, so at the previous result's multipliers ``L`` for the new bounds is the old
  value shifted by ``sum_k lambda_k s_k (b_new_k - b_old_k)`` (:func:`bound_at_prices`); ``L`` at
  any multipliers ``>= 0`` (soft rows' at most their penalty, as the dual keeps them) bounds every
  plan of the new problem from above, so the gap is proved.
* **The plan.** The previous plan when it keeps every hard constraint of the new bounds; else,
  when the broken rows are maxima (a budget or cap lowered), the previous plan less its least
  valuable contacts of each broken row (profit per unit of the row, lowest first), never taking
  a contact whose loss would break a hard minimum. Dropping contacts keeps every per-customer rule
  (contact limits, conflicts), so the result holds them. The independent checker judges it.

No quick answer (None) when a Maximum contact bound moved (the per-customer part changes), the
previous result has no Lagrangian bound, or a minimum was raised above what the plan reaches.
"""

from __future__ import annotations

import math
import time

import numpy as np

from core.planning._base import PlanResult, finish
from core.planning.checker import check_plan
from core.planning.problem import PlanningProblem

#: ``stats`` key of a quick answer (True), and of the contacts it dropped.
QUICK, DROPPED = "quick", "quick_dropped"


def bound_at_prices(old: PlanningProblem, result: PlanResult, new: PlanningProblem) -> float:
    """``L(lambda)`` of ``new`` at ``result``'s multipliers (a proved upper bound), or NaN.

    Parameters
    ----------
    old
        The problem ``result`` was planned on.
    result
        A Lagrangian result on ``old``: ``upper_bound`` is ``L(lambda)`` at its multipliers
        ``duals`` (signed, ``s_k lambda_k`` on the coupling rows).
    new
        ``old`` with other coupling bounds (:meth:`PlanningProblem.with_bounds`).

    Returns
    -------
    float
        ``result.upper_bound + sum_k duals_k (b_new_k - b_old_k)`` over the coupling rows; NaN
        when that is not a bound of ``new`` (another solver, no bound, other rules, a Maximum
        contact bound or a soft row's penalty changed).
    """
    a, b = old.constraints, new.constraints
    rows = old.coupling
    if (
        result.solver != "lagrangian"
        or not math.isfinite(result.upper_bound)
        or len(result.duals) != len(a)
        or len(b) != len(a)
        or new.assignments is not old.assignments
        or not np.array_equal(rows, new.coupling)
        or not np.array_equal(a.kind, b.kind)
        or not np.array_equal(a.soft, b.soft)
        or not np.array_equal(a.penalty, b.penalty)
        or not np.array_equal(a.bound[old.contact], b.bound[new.contact])
    ):
        return float("nan")
    duals = result.duals[rows]
    if not np.all(np.isfinite(duals)):
        return float("nan")
    return float(result.upper_bound + duals @ (b.bound[rows] - a.bound[rows]))


def drop_repair(
    problem: PlanningProblem, mask: np.ndarray, duals: np.ndarray | None = None
) -> np.ndarray | None:
    """``mask`` less its least valuable contacts of each broken hard maximum, or None.

    Each broken row drops, by reduced profit per unit of the row (lowest first), contacts until
    it is within its bound, skipping each contact whose loss would take a hard minimum below
    its bound. The reduced profit is the profit less what the contact uses of every coupling
    row at the signed multipliers ``duals`` (``[K]``, as ``PlanResult.duals``; none: the
    profit): a contact that serves a soft minimum or target is worth its price there. None when
    a hard minimum is broken or a row cannot be mended that way.
    """
    cons = problem.constraints
    rows = problem.coupling
    hard = ~cons.soft[rows]
    is_min = cons.is_min[rows]
    bound = cons.bound[rows]
    mins = np.flatnonzero(hard & is_min)
    price = np.zeros(len(rows)) if duals is None else np.nan_to_num(duals[rows], nan=0.0)
    out = np.asarray(mask, dtype=bool).copy()
    for _ in range(len(rows) + 1):
        chosen = np.flatnonzero(out)
        coef = problem.coefficients(rows, chosen)
        use = coef.sum(axis=1)
        if np.any(use[mins] < bound[mins] - 1e-9 * np.maximum(1.0, np.abs(bound[mins]))):
            return None
        over = np.flatnonzero(hard & ~is_min & (use > bound))
        if not len(over):
            return out
        r = over[0]
        cand = np.flatnonzero(coef[r] > 0)
        value = problem.assignments.profit[chosen[cand]] - price @ coef[:, cand]
        order = cand[np.argsort(value / coef[r, cand], kind="stable")]
        need = use[r] - bound[r]
        slack = use[mins] - bound[mins]
        drop = []
        for i, (c, m) in enumerate(zip(coef[r, order], coef[np.ix_(mins, order)].T, strict=True)):
            if np.any(m > slack):  # its loss would break a hard minimum: it stays
                continue
            slack = slack - m
            need -= c
            drop.append(order[i])
            if need <= 0:
                break
        if need > 0:
            return None
        out[chosen[np.asarray(drop, dtype=np.int64)]] = False
    return None


def quick_replan(
    problem: PlanningProblem,
    bounds: dict[int | str, float],
    *,
    warm_start: PlanResult,
) -> tuple[PlanningProblem, PlanResult | None]:
    """A feasible plan for new bounds and its proved gap at once, or None (then re-plan).

    Parameters
    ----------
    problem
        The problem ``warm_start`` was planned on.
    bounds
        ``{constraint name or position: new bound}`` (coupling constraints).
    warm_start
        A feasible Lagrangian result on ``problem`` (a full plan or a quick answer).

    Returns
    -------
    (PlanningProblem, PlanResult or None)
        The changed problem and its quick plan: ``stats["quick"]`` True, the multipliers,
        shadow prices and cuts of ``warm_start`` (a re-plan warm-started from it starts where
        ``warm_start`` did, from this plan), ``upper_bound`` their ``L`` for the new bounds.

    Examples
    --------
    >>> from core.planning import benchmark_instance, solve
    >>> p = benchmark_instance(300, 20, 0.1, 10, rng=1)
    >>> res = solve(p, "lagrangian", time_limit=10)
    >>> k = int(p.coupling[0])
    >>> new, quick = quick_replan(p, {k: p.constraints.bound[k] * 1.1}, warm_start=res)
    >>> quick is None or (quick.feasible and quick.upper_bound >= quick.objective)
    True
    """
    started = time.perf_counter()
    new = problem.with_bounds(bounds)
    if not warm_start.feasible:
        return new, None
    upper = bound_at_prices(problem, warm_start, new)
    if not math.isfinite(upper):
        return new, None
    mask = np.zeros(new.n_assignments, dtype=bool)
    mask[warm_start.chosen] = True
    before = int(mask.sum())
    if not check_plan(new, mask).feasible:
        repaired = drop_repair(new, mask, warm_start.duals)
        if repaired is None:
            return new, None
        mask = repaired
    dropped = before - int(mask.sum())
    note = (
        "Quick answer: the previous plan"
        + (f" less {dropped:,} contacts of the broken rows" if dropped else "")
        + ", bounded at the previous prices (not re-planned)."
    )
    res = finish(
        new,
        mask,
        solver="lagrangian",
        started=started,
        upper_bound=upper,
        shadow_prices=warm_start.shadow_prices,
        duals=warm_start.duals,
        note=note,
        stats={QUICK: True, DROPPED: dropped},
        warm=warm_start.warm,
    )
    return new, (res if res.feasible else None)
