"""A quick answer after a bound moved: a feasible plan and a proved bound, without a solve.

A page that re-plans on every slider step (``replan``: a few dual steps, a repair, an
improvement; about a third of a second on the demo) can answer at once with :func:`quick_replan`
and refine in the background:

* **The bound.** The per-customer part of the dual function ``L(lambda)`` does not depend on the
  coupling bounds, so at the previous result's multipliers ``L`` for the new bounds is the old
  value shifted by ``sum_k lambda_k s_k (b_new_k - b_old_k)`` (:func:`bound_at_prices`); ``L`` at
  any multipliers ``>= 0`` (soft rows' at most their penalty, as the dual keeps them) bounds every
  plan of the new problem from above, so the gap is proved. When a row priced above 0 gained
  room (a maximum raised, a minimum lowered) its price is too high for the new bound:
  :func:`line_search` moves the prices along ``lambda + t * step``, ``t`` in ``[0, 1]`` (those
  rows' prices down to 0, the others kept), and evaluates ``L`` (the relaxation's per-customer
  solve, about 8 ms on the demo) at most :data:`LINE_EVALS` times, each where the previous
  solve's cuts (moved to the new bounds) and its own put the minimum on that line; the lowest
  ``L`` known, and its multipliers, are the answer's.
* **The plan.** The previous plan when it keeps every hard constraint of the new bounds; else,
  when the broken rows are maxima (a budget or cap lowered), the previous plan less its least
  valuable contacts of each broken row (profit per unit of the row, lowest first), never taking
  a contact whose loss would break a hard minimum. Dropping contacts keeps every per-customer rule
  (contact limits, conflicts), so the result holds them. After a line search the plan then uses
  the freed room (:func:`move_customers`): customers take their best set at one of the line
  search's prices (the relaxation's sets keep their contact limits and conflicts), the moves
  that gain most per unit of the room first, while every coupling row keeps its bound; the moved
  plan is kept only when the checker finds it feasible and better. The independent checker
  judges it.

No quick answer (None) when a Maximum contact bound moved (the per-customer part changes), the
previous result has no Lagrangian bound, or a minimum was raised above what the plan reaches.
"""

from __future__ import annotations

import math
import time

import numpy as np

from core.planning._base import PlanResult, finish
from core.planning._chunks import one_blas_thread
from core.planning._relaxation import Bundle, Evaluation, Relaxation
from core.planning.checker import Check, check_plan
from core.planning.executor import SERIAL
from core.planning.greedy import accept_in_order
from core.planning.problem import PlanningProblem

#: ``stats`` keys: a quick answer (True), the contacts it dropped and those it changed.
QUICK, DROPPED, CHANGED = "quick", "quick_dropped", "quick_changed"
#: Evaluations of the dual function a quick answer spends at most when a row gained room.
LINE_EVALS = 3
#: The line search stops once its cut model cannot lower the bound by more than this (relative).
LINE_TOL = 1e-5


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


def _relaxation(problem: PlanningProblem) -> Relaxation | None:
    """The relaxation of ``problem`` from the structure its original's solve cached, or None."""
    kept, fams = problem.__dict__.get("relaxation"), problem.__dict__.get("families")
    if kept is None or fams is None or getattr(kept[0][1], "name", "") != SERIAL.name:
        return None  # none cached, or its chunks are placed elsewhere (a cluster)
    opts = {"max_sets": fams[0], "chunk_items": kept[0][2]}
    return Relaxation(problem, opts, kept[0][1])


def line_search(
    rel: Relaxation,
    lam0: np.ndarray,
    upper: float,
    step: np.ndarray,
    bundle: Bundle | None,
    evals: int,
) -> list[Evaluation]:
    """``L`` along the prices ``lam0 + t * step``, ``t`` in ``[0, 1]`` (within ``[0, cap]``).

    Each step evaluates ``L`` (with each customer's best set) where the cut model (``bundle``'s
    cuts moved to the new bounds, and the steps' own; without any, ``t = 0``) is lowest on the
    line. It stops after ``evals`` evaluations, at a ``t`` already evaluated, or once the model
    cannot go below the lowest value known (``upper``, then the steps') by more than
    :data:`LINE_TOL` (relative). The evaluations made, in order.
    """
    grid = np.linspace(0.0, 1.0, 201)
    line = np.clip(lam0[None, :] + grid[:, None] * step[None, :], 0.0, rel.cap)  # [T, K]
    cuts_l: list[np.ndarray] = []
    cuts_v: list[float] = []
    cuts_g: list[np.ndarray] = []
    moved = bundle.moved_to(rel) if bundle is not None else None
    if moved is not None:
        cuts_l, cuts_v, cuts_g = list(moved.lam), list(moved.value), list(moved.grad)
    out: list[Evaluation] = []
    best = upper
    tried: set[int] = set()
    for _ in range(evals):
        i = 0
        if cuts_l:
            at, g, v = np.asarray(cuts_l), np.asarray(cuts_g), np.asarray(cuts_v)
            model = (v - np.einsum("ij,ij->i", g, at) + line @ g.T).max(axis=1)
            i = int(np.argmin(model))
            if best - model[i] <= LINE_TOL * max(abs(best), 1.0):
                break
        if i in tried:  # the model has nothing new to ask
            break
        tried.add(i)
        ev = rel.evaluate(line[i], plan=True)
        out.append(ev)
        best = min(best, ev.value)
        cuts_l.append(ev.lam)
        cuts_v.append(ev.value)
        cuts_g.append(ev.grad)
    return out


def move_customers(
    problem: PlanningProblem,
    rel: Relaxation,
    mask: np.ndarray,
    evs: list[Evaluation],
    price: np.ndarray,
    raised: np.ndarray,
) -> np.ndarray:
    """``mask`` with customers moved to their best sets at the evaluations' prices, greedily.

    A move gives one customer its best set at one evaluation's prices (the relaxation's
    per-customer solve: it keeps the customer's contact limits and conflicts). Moves that raise
    the objective (a violated soft row's penalty counted) and the reduced profit (at the signed
    ``price`` ``[K]``, the ``raised`` rows' left out: those whose room is used) are taken in
    rounds, at most one per customer: those using none of that room first, then by reduced
    profit per unit of it, while every maximum keeps its bound and every minimum its own (a
    violated soft one: free).
    """
    cons = problem.constraints
    rows = problem.coupling
    asg = problem.assignments
    is_min, bound, soft = cons.is_min[rows], cons.bound[rows], cons.soft[rows]
    out = mask.copy()
    use = problem.coefficients(rows, np.flatnonzero(out)).sum(axis=1)
    sense = np.where(is_min, -1.0, 1.0)
    slack = sense * (bound - use)
    free = soft & (slack < 0)  # a violated soft row: its penalty is paid per unit
    left = np.where(free, np.inf, np.maximum(slack, 0.0))
    added = np.maximum(np.where(raised, slack, 0.0), 1e-12)
    penalty = np.where(free, cons.penalty[rows], 0.0) * sense
    price = np.where(raised, 0.0, price)
    parts = []
    targets = []
    for ev in evs:
        target = rel.to_original(rel.chosen(ev))
        changed = np.flatnonzero(target != out)
        if not len(changed):
            continue
        sign = np.where(target[changed], 1.0, -1.0)
        who, inv = np.unique(asg.customer[changed], return_inverse=True)
        coef = problem.coefficients(rows, changed) * sign
        delta = np.stack([np.bincount(inv, weights=r, minlength=len(who)) for r in coef])
        dprofit = np.bincount(inv, weights=asg.profit[changed] * sign, minlength=len(who))
        gain, red = dprofit - penalty @ delta, dprofit - price @ delta
        keep = (gain > 1e-9) & (red > 1e-9)
        if keep.any():
            targets.append(target)
            parts.append(
                (np.full(int(keep.sum()), len(targets) - 1), who[keep], red[keep], delta[:, keep])
            )
    if not parts:
        return out
    which = np.concatenate([p[0] for p in parts])
    cust = np.concatenate([p[1] for p in parts])
    red = np.concatenate([p[2] for p in parts])
    delta = np.concatenate([p[3] for p in parts], axis=1)
    per = (np.maximum(delta[raised], 0.0) / added[raised, None]).max(axis=0, initial=0.0)
    score = np.where(per > 0, red / np.where(per > 0, per, 1.0), red)
    order = np.lexsort((-score, per > 0))
    which, cust, delta = which[order], cust[order], delta[:, order]
    spend = sense[:, None] * delta  # what each move takes of each row's slack
    open_ = np.ones(len(cust), dtype=bool)
    moved = np.zeros(problem.n_customers, dtype=bool)
    indptr = asg.indptr
    while True:
        open_ &= ~moved[cust]
        idx = np.flatnonzero(open_)
        if not len(idx):
            break
        props = idx[np.unique(cust[idx], return_index=True)[1]]
        props.sort()
        take = accept_in_order(props, spend[:, props], left)
        open_[props] = False
        won = props[take]
        if not len(won):
            continue
        left = left - spend[:, won].sum(axis=1)
        for j in won:
            c = cust[j]
            out[indptr[c] : indptr[c + 1]] = targets[which[j]][indptr[c] : indptr[c + 1]]
        moved[cust[won]] = True
    return out


def quick_replan(
    problem: PlanningProblem,
    bounds: dict[int | str, float],
    *,
    warm_start: PlanResult,
    use_room: bool = True,
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
    use_room
        When a row priced above 0 gained room, search its price and move customers into the
        room (False: the previous plan, less its drops, and prices as they are; for
        comparisons).

    Returns
    -------
    (PlanningProblem, PlanResult or None)
        The changed problem and its quick plan: ``stats["quick"]`` True, ``stats`` also the
        contacts dropped (``quick_dropped``) and changed (``quick_changed``); the multipliers of
        ``warm_start`` (the line search's with the lowest ``L``, when lower) and the coupling
        rows' shadow prices at them, its cuts (a re-plan warm-started from it starts there,
        from this plan); ``upper_bound`` their ``L`` for the new bounds.

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
    was = check_plan(new, mask)
    if not was.feasible:
        repaired = drop_repair(new, mask, warm_start.duals)
        if repaired is None:
            return new, None
        mask, was = repaired, check_plan(new, repaired)
    dropped = before - int(mask.sum())
    rows = new.coupling
    sense = np.where(new.constraints.is_min[rows], -1.0, 1.0)
    duals = warm_start.duals.copy()
    moved_by = sense * (new.constraints.bound[rows] - problem.constraints.bound[rows])
    lam0 = np.maximum(sense * np.nan_to_num(duals[rows], nan=0.0), 0.0)
    # the prices of the rows that gained room down (a row priced at 0: nothing changes). Not
    # those that lost room up: measured, a lowered budget's plan gained 0-0.13 % for +20 ms
    step = np.where(moved_by > 0, -lam0, 0.0)
    rel = _relaxation(new) if use_room and (step != 0).any() else None
    moved = None
    if rel is not None:
        bundle = warm_start.warm if isinstance(warm_start.warm, Bundle) else None
        with one_blas_thread():
            evs = line_search(rel, lam0, upper, step, bundle, LINE_EVALS)
        best = min(evs, key=lambda e: e.value, default=None)
        if best is not None and best.value < upper:
            upper = best.value
            duals[rows] = sense * best.lam
        use = new.coefficients(rows, np.flatnonzero(mask)).sum(axis=1)
        roomy = (sense * (new.constraints.bound[rows] - use) > 0) & (lam0 > 0)
        moved = move_customers(new, rel, mask, evs, np.nan_to_num(duals[rows]), roomy)
    prices = dict(warm_start.shadow_prices)
    for k in rows:  # the coupling rows' prices: the multipliers of the bound, by their new labels
        prices.pop(problem.label(int(k)), None)
        prices[new.label(int(k))] = float(duals[k])

    def answer(plan: np.ndarray, changed: int, check: Check | None = None) -> PlanResult:
        note = (
            "Quick answer: the previous plan"
            + (f" less {dropped:,} contacts of the broken rows" if dropped else "")
            + (f", {changed:,} contacts changed to use the freed room" if changed else "")
            + (
                ", bounded at the previous prices (not re-planned)."
                if rel is None
                else ", bounded at the previous prices, the freed rows' lowered (not re-planned)."
            )
        )
        return finish(
            new,
            plan,
            solver="lagrangian",
            started=started,
            upper_bound=upper,
            shadow_prices=prices,
            duals=duals,
            note=note,
            stats={QUICK: True, DROPPED: dropped, CHANGED: changed},
            warm=warm_start.warm,
            check=check,
        )

    if moved is not None and not np.array_equal(moved, mask):
        res = answer(moved, int((moved != mask).sum()))
        if res.feasible and res.objective > was.objective:  # else the plan as it was
            return new, res
    res = answer(mask, 0, was)  # ``was`` judged this very plan on ``new``
    return new, (res if res.feasible else None)
