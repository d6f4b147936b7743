"""The scalable planner: Lagrangian prices, then repair and improvement, with a certified gap.

1. **Dual.** :func:`core.planning._relaxation.minimise_dual` prices the coupling constraints;
   the best ``L(lambda)`` is the proved upper bound, the prices the shadow prices.
2. **Repair.** At those prices every customer holds its best set; where the coupling rows do
   not hold, neighbourhoods of undecided customers (small regret, or able to help the broken
   rows) are re-chosen by small programs (:mod:`core.planning._repair`), doubling the
   neighbourhood until the plan keeps every hard constraint.
3. **Improve.** The same programs over random neighbourhoods of undecided customers (a
   large-neighbourhood search, seeded by ``rng``) until the gap to the bound is below
   ``target_gap``, ``patience`` rounds bring nothing, or the time is up.

When no plan keeping every hard constraint is found, a phase-one dual (no profit, violations
priced) proves infeasibility where it can, a deletion filter names an irreducible set of
conflicting constraints, and the elastic problem (hard rows priced very high) gives the
least-violation plan. Warm starts reuse the previous prices and plan: a re-plan after a bound
change takes a few dual steps.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.common.progress import Progress
from core.common.rng import as_generator
from core.planning._base import PlanResult, big_penalties, check_options, finish, relative_gap
from core.planning._chunks import BLOCK_CELLS, one_blas_thread
from core.planning._patterns import MAX_SETS
from core.planning._relaxation import Bundle, Callback, Evaluation, Relaxation, minimise_dual
from core.planning._repair import candidates, choose
from core.planning.diagnose import irreducible_subset
from core.planning.problem import PlanningProblem

DEFAULTS: dict[str, Any] = {
    "target_gap": 1e-3,  # stop improving below this gap to the bound
    "dual_tol": 1e-5,  # relative predicted decrease that ends the dual phase
    "dual_share": 0.6,  # at most this share of the time for the dual phase
    "max_dual_iter": 400,
    "neighbourhood": 2000,  # customers freed per repair / improvement program
    "candidates": 4,  # best sets per customer offered to the program
    "mip_time": 20.0,  # seconds per program at most
    "patience": 3,  # improvement rounds without gain before stopping
    "chunk_items": 2_000_000,  # items per chunk of the per-customer solve
    "max_sets": MAX_SETS,  # feasible sets per pattern before the greedy fallback
    "contact_prices": True,  # price Maximum contact rows by re-solving at bound + 1
    "diagnose": True,  # name the conflicting constraints when infeasible
}
_PHASE_ONE_TOL = 1e-6


# -------------------------------------------------------------------------------------------
# plans in pattern order
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Incumbent:
    """A plan (bool, pattern order), its objective, coupling violations and their scaled sum
    over the hard rows (violation / bound)."""

    chosen: np.ndarray
    objective: float
    violation: np.ndarray
    hard_ok: bool
    scaled: float = 0.0

    def better_than(self, other: Incumbent, soft: np.ndarray) -> bool:
        del soft
        if self.hard_ok != other.hard_ok:
            return self.hard_ok
        if self.hard_ok:
            return self.objective > other.objective + 1e-9 * abs(other.objective)
        return self.scaled < other.scaled


def _usage_of(rel: Relaxation, chosen: np.ndarray) -> np.ndarray:
    act = rel.act[chosen]
    count = np.bincount(act, minlength=len(rel.cost)).astype(np.float64)
    prob = np.bincount(act, weights=rel.prob[chosen], minlength=len(rel.cost))
    return rel.usage(count, prob)


def assess(rel: Relaxation, chosen: np.ndarray) -> Incumbent:
    """Objective (profit less soft penalties) and coupling violations of a plan (fast path)."""
    viol = np.maximum(rel.sense * (_usage_of(rel, chosen) - rel.bound), 0.0)
    viol[viol <= 1e-7 * np.maximum(np.abs(rel.bound), 1.0)] = 0.0
    penalty = float((np.where(rel.soft, rel.cap, 0.0) * viol).sum())
    for p, fam in enumerate(rel.families):
        if fam.soft.any():
            lo, hi = rel.patterns.item_ptr[p], rel.patterns.item_ptr[p + 1]
            penalty += float(fam.set_penalty(chosen[lo:hi].reshape(-1, fam.width)).sum())
    hard = ~rel.soft
    hard_ok = not (viol[hard] > 0).any()
    scaled = float((viol[hard] / np.maximum(np.abs(rel.bound[hard]), 1.0)).sum())
    return Incumbent(chosen, float(rel.profit[chosen].sum()) - penalty, viol, hard_ok, scaled)


def _row_coefficients(rel: Relaxation, items: np.ndarray) -> np.ndarray:
    act = rel.act[items]
    base = np.ones((len(rel.rows), len(items)))
    base[rel.kind == 1] = rel.cost[act]
    base[rel.kind == 2] = rel.prob[items]
    return rel.cov[:, act] * base


def improve(
    rel: Relaxation,
    inc: Incumbent,
    customers: np.ndarray,
    weights: np.ndarray,
    *,
    top: int,
    slack_cost: np.ndarray,
    time_limit: float,
    abs_gap: float = 0.0,
    every: bool = False,
    extra: list[np.ndarray] | None = None,
) -> Incumbent:
    """Re-choose the sets of ``customers`` (positions) by one program; keep it when better.

    ``abs_gap`` is the optimality gap (in objective units) the program may stop at; ``extra``
    are plans (pattern order) whose sets are offered as candidates too.
    """
    customers = np.unique(customers)
    nz = np.abs(weights[weights != 0])
    slack = 0.05 * float(np.median(nz)) if len(nz) else 0.0
    cands = candidates(
        customers,
        rel.layout,
        rel.families,
        weights,
        rel.profit,
        inc.chosen,
        top=top,
        slack=slack,
        every=every,
        extra=extra,
    )
    owner = np.repeat(np.arange(len(cands.customer)), np.diff(cands.ptr))
    coef_items = _row_coefficients(rel, cands.items)
    coef = np.zeros((len(cands.customer), len(rel.rows)))
    for k in range(len(rel.rows)):
        coef[:, k] = np.bincount(owner, weights=coef_items[k], minlength=len(cands.customer))
    mine = rel.items_of(customers)
    mine = mine[inc.chosen[mine]]
    residual = rel.bound - (_usage_of(rel, inc.chosen) - _row_coefficients(rel, mine).sum(axis=1))
    scale = max(abs(float(rel.profit[mine].sum())), 1e-9)
    gap = float(np.clip(abs_gap / scale, 1e-6, 0.05)) if abs_gap > 0 else 1e-4
    choice = choose(
        dataclasses.replace(cands, customer=np.searchsorted(customers, cands.customer)),
        len(customers),
        coef,
        rel.sense,
        residual,
        slack_cost,
        time_limit=time_limit,
        gap=gap,
    )
    if choice.chosen is None:
        return inc
    new = inc.chosen.copy()
    new[mine] = False
    lens = np.diff(cands.ptr)[choice.chosen]
    first = np.repeat(cands.ptr[choice.chosen] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    new[cands.items[first + np.arange(int(lens.sum()))]] = True
    out = assess(rel, new)
    return out if out.better_than(inc, rel.soft) else inc


# -------------------------------------------------------------------------------------------
# repair and improvement
# -------------------------------------------------------------------------------------------


def _regret(rel: Relaxation, ev: Evaluation) -> np.ndarray:
    """Best minus second-best reduced value per customer position (0: undecided)."""
    value = np.concatenate([s.value for s in ev.solutions])
    second = np.concatenate([s.second for s in ev.solutions if s.second is not None])
    best = np.concatenate([s.best for s in ev.solutions])
    reg = np.where(np.isfinite(second), value - second, np.inf)
    reg[best < 0] = 0.0
    return np.maximum(reg, 0.0)


def _row_coefficient(rel: Relaxation, k: int) -> np.ndarray:
    """float64 ``[N]``: what each item adds to coupling row ``k``."""
    base = {0: 1.0, 1: rel.cost[rel.act], 2: rel.prob}[int(rel.kind[k])]
    return rel.cov[k, rel.act] * base


def _helpers(
    rel: Relaxation, inc: Incumbent, weights: np.ndarray, size: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Customers that mend the broken hard rows at the least loss, and the sets that do it.

    Per broken row and customer, the alternatives are the family's sets keeping their positive
    items and, for a minimum, the row's items (even at a loss), or, for a maximum, without the
    row's items; each is priced as lost reduced value per unit of the row it moves. Customers
    are taken by that price until they could mend three times the violation (at most
    ``size``). Returns their positions and, per row, a plan (pattern order) holding each
    customer's best alternative: the repair offers it as a candidate.
    """
    picked: list[np.ndarray] = []
    moves: list[np.ndarray] = []
    n_c = len(rel.layout.start)
    for k in np.flatnonzero((inc.violation > 0) & ~rel.soft):
        coef = _row_coefficient(rel, int(k))
        raising = rel.sense[k] < 0  # a minimum: add the row's items
        price = np.full(n_c, np.inf)
        amount = np.zeros(n_c)
        alt_plan = np.zeros(len(rel.act), dtype=bool)
        for p, fam in enumerate(rel.families):
            lo, hi = rel.patterns.item_ptr[p], rel.patterns.item_ptr[p + 1]
            if hi == lo or (raising and not fam.exact):
                continue
            sets = fam.sets if fam.exact else np.zeros((0, fam.width), bool)
            sets_t = sets.T.astype(np.float64)
            block = max(1, BLOCK_CELLS // max(sets_t.shape[1], 1)) * fam.width
            c0 = rel.patterns.cust_ptr[p]
            for b0 in range(lo, hi, block):
                b1 = min(hi, b0 + block)
                w = weights[b0:b1].reshape(-1, fam.width)
                c = coef[b0:b1].reshape(-1, fam.width)
                cur = inc.chosen[b0:b1].reshape(-1, fam.width)
                keep = (w > 0) | (c > 0) if raising else (w > 0) & (c <= 0)
                val = (w * keep) @ sets_t
                now_val = (w * cur).sum(axis=1)
                now_use = (c * cur).sum(axis=1)
                move = rel.sense[k] * (now_use[:, None] - (c * keep) @ sets_t)
                if not raising:  # or keep the current set without the row's items
                    drop = cur & (c <= 0)
                    val = np.column_stack([val, (w * drop).sum(axis=1)])
                    move = np.column_stack([move, now_use])
                loss = np.maximum(now_val[:, None] - val, 0.0)
                ok = move > 1e-12
                ratio = np.where(ok, loss / np.where(ok, move, 1.0), np.inf)
                j = ratio.argmin(axis=1)
                r = np.arange(len(j))
                who = slice(c0 + (b0 - lo) // fam.width, c0 + (b1 - lo) // fam.width)
                price[who] = ratio[r, j]
                amount[who] = np.where(np.isfinite(ratio[r, j]), move[r, j], 0.0)
                m = len(sets)
                from_family = j < m
                choice = np.zeros_like(cur)
                if m:
                    choice[from_family] = sets[j[from_family]] & keep[from_family]
                if not raising:
                    choice[~from_family] = drop[~from_family]
                alt_plan[b0:b1] = choice.reshape(-1)
        order = np.argsort(price, kind="stable")
        order = order[np.isfinite(price[order])]
        enough = int(np.searchsorted(np.cumsum(amount[order]), 3.0 * inc.violation[k])) + 1
        picked.append(order[: min(enough, size)])
        moves.append(alt_plan)
    found = np.unique(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
    return found, moves


def _primal(
    rel: Relaxation,
    ev: Evaluation,
    upper_bound: float,
    starts: list[np.ndarray],
    *,
    deadline: float,
    gen: np.random.Generator,
    opts: Mapping[str, Any],
    callback: Callback | None,
    mixture: tuple[tuple[float, np.ndarray], ...] = (),
) -> tuple[Incumbent, dict[str, Any]]:
    """Repair the plan at the prices, then improve it, within ``deadline``.

    The repair starts from the plan at the prices or, when it breaks less, from a draw of the
    dual's ``mixture`` (each customer takes the set of one of the last evaluations, with the
    master's weights): where many customers tie at the prices, the plan at the prices tips
    them all one way while the mixture balances them as the bound does. ``starts`` (a warm
    start's plan) are kept when better than the result.
    """
    inc = assess(rel, rel.chosen(ev))
    stats: dict[str, Any] = {"repair_rounds": 0, "improve_rounds": 0}
    if mixture and not inc.hard_ok:
        mixed = assess(rel, _draw(rel, ev, mixture, gen))
        stats["mixture"] = len(mixture)
        if mixed.better_than(inc, rel.soft):
            inc = mixed
            stats["started_from_mixture"] = True
    inc = _repair_improve(rel, ev, inc, upper_bound, deadline, gen, opts, callback, stats)
    for plan in starts:
        other = assess(rel, plan)
        if other.better_than(inc, rel.soft):
            inc = other
            stats["kept_warm_plan"] = True
    return inc, stats


def _draw(
    rel: Relaxation,
    ev: Evaluation,
    mixture: tuple[tuple[float, np.ndarray], ...],
    gen: np.random.Generator,
) -> np.ndarray:
    """A plan drawn from the dual's convex combination of evaluations, customer by customer."""
    weights = np.array([w for w, _ in mixture])
    cum = np.cumsum(weights / weights.sum())
    pick = np.searchsorted(cum, gen.random(len(rel.layout.start)) * cum[-1])
    pick = np.minimum(pick, len(mixture) - 1)
    sets = np.full(len(rel.layout.start), -1, dtype=np.int32)
    for i, (_, choice) in enumerate(mixture):
        sel = pick == i
        sets[sel] = choice[sel]
    return rel.plan_from_sets(sets, rel.weights(ev.lam), rel.chosen(ev))


def _repair_improve(
    rel: Relaxation,
    ev: Evaluation,
    inc: Incumbent,
    upper_bound: float,
    deadline: float,
    gen: np.random.Generator,
    opts: Mapping[str, Any],
    callback: Callback | None,
    stats: dict[str, Any],
) -> Incumbent:
    if not len(rel.rows):
        return inc
    weights = rel.weights(ev.lam)
    regret = _regret(rel, ev)
    order = np.argsort(regret, kind="stable")
    n_c = len(order)
    big = big_penalties(rel.problem)[rel.rows]
    slack_cost = np.where(rel.soft, rel.cap, big)
    size = min(n_c, int(opts["neighbourhood"]))
    abs_gap = float(opts["target_gap"]) * abs(upper_bound) / 4

    def left() -> float:
        return deadline - time.perf_counter()

    extra = min(n_c, 300)
    every = False
    while not inc.hard_ok and left() > 0:
        pick, moves = _helpers(rel, inc, weights, size)
        group = np.union1d(pick, order[: max(extra, len(pick))])
        every = every or len(group) * 4 >= n_c
        new = improve(
            rel,
            inc,
            group,
            weights,
            top=int(opts["candidates"]),
            slack_cost=slack_cost,
            time_limit=min(float(opts["mip_time"]), left()),
            abs_gap=abs_gap,
            every=every and len(group) <= 20_000,
            extra=moves,
        )
        stats["repair_rounds"] += 1
        if not new.hard_ok:
            if len(group) >= n_c and every:
                inc = new if new.better_than(inc, rel.soft) else inc
                stats["repair_exhausted"] = True
                break
            extra = min(n_c, 2 * max(extra, len(group)))
            size = min(n_c, max(size, extra))
        inc = new
    stale = 0
    while inc.hard_ok and left() > 0 and stale < int(opts["patience"]):
        if relative_gap(inc.objective, upper_bound) <= float(opts["target_gap"]):
            break
        pool = order[: min(n_c, 4 * size)]
        group = gen.choice(pool, size=min(size, len(pool)), replace=False)
        new = improve(
            rel,
            inc,
            group,
            weights,
            top=int(opts["candidates"]),
            slack_cost=slack_cost,
            time_limit=min(float(opts["mip_time"]), left()),
            abs_gap=abs_gap,
        )
        stats["improve_rounds"] += 1
        stale = 0 if new is not inc else stale + 1
        inc = new
        if callback is not None and callback(
            {"phase": "improve", "objective": inc.objective, "upper_bound": upper_bound}
        ):
            break
    return inc


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
    problem: PlanningProblem, time_limit: float, opts: Mapping[str, Any] | None = None
) -> bool | None:
    """True when the phase-one bound proves ``problem`` infeasible; None when it cannot."""
    o = check_options("lagrangian", opts, DEFAULTS)
    with one_blas_thread():
        rel = Relaxation(phase_one(problem), o)
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
) -> PlanResult:
    """Prove infeasibility if possible, name the conflict, return the least-violation plan."""
    budget = max(deadline - time.perf_counter(), 5.0)
    proved = proved_infeasible_lagrangian(problem, budget / 4, opts) is True
    conflicting: tuple[str, ...] = ()
    prefer: tuple[int, ...] = ()
    note = ""
    if proved and opts["diagnose"]:
        found = irreducible_subset(
            problem,
            lambda sub, tl: proved_infeasible_lagrangian(sub, tl, opts),
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
) -> dict[str, float]:
    """Value of one more contact per customer for each Maximum contact row: L(b + 1) - L(b).

    The families at ``b + 1`` are cached on the problem (a re-plan after a coupling bound
    changed reuses them).
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
        if (int(k), max_sets) in cache:
            more.__dict__["families"] = (max_sets, cache[int(k), max_sets])
        rel = Relaxation(more, opts)
        cache[int(k), max_sets] = rel.families
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
        starts.append(mask[rel.patterns.perm])
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

    Returns
    -------
    PlanResult
        ``stats``: ``patterns``, ``dual_iterations``, ``repair_rounds``, ``improve_rounds``,
        seconds per phase.
    """
    with one_blas_thread():
        return _solve(problem, time_limit, rng, progress, callback, warm_start, options)


def _solve(
    problem: PlanningProblem,
    time_limit: float,
    rng: np.random.Generator | int | None,
    progress: Progress | None,
    callback: Callback | None,
    warm_start: PlanResult | None,
    options: Mapping[str, Any] | None,
) -> PlanResult:
    opts = check_options("lagrangian", options, DEFAULTS)
    started = time.perf_counter()
    deadline = started + float(time_limit)
    gen = as_generator(rng)
    rel = Relaxation(problem, opts)
    stats: dict[str, Any] = {
        "patterns": len(rel.families),
        "subproblems_exact": rel.exact,
        "seconds_setup": time.perf_counter() - started,
    }
    lam0, starts, bundle = _warm(problem, rel, warm_start)
    t = time.perf_counter()
    dual = minimise_dual(
        rel,
        lam0,
        deadline=started + float(opts["dual_share"]) * float(time_limit),
        tol=float(opts["dual_tol"]),
        max_iter=int(opts["max_dual_iter"]),
        warm=lam0 is not None,
        bundle=bundle,
        callback=callback,
    )
    stats.update(
        dual_iterations=dual.iterations,
        dual_converged=dual.converged,
        seconds_dual=time.perf_counter() - t,
    )
    if progress:
        progress(0.5, 1.0)
    if dual.proved_infeasible:
        return _answer_infeasible(problem, started, deadline, gen, opts, stats)
    t = time.perf_counter()
    ev = rel.evaluate(dual.best.lam, top=2, plan=True)
    upper = min(dual.best.value, ev.value)
    inc, primal_stats = _primal(
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
        return _answer_infeasible(problem, started, deadline, gen, opts, stats)
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
        prices.update(_contact_prices(problem, ev, deadline + 0.1 * time_limit, opts))
    mask = np.zeros(problem.n_assignments, dtype=bool)
    mask[rel.patterns.perm[inc.chosen]] = True
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
