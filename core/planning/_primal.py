"""The primal phase of the Lagrangian planner: repair and improvement of the plan at the prices.

At the prices of the dual every customer holds its best set; where many customers tie, that
plan tips them all one way and the coupling rows may not hold. :func:`primal` starts from the
plan at the prices or from a draw of the dual's convex combination of evaluations (which
balances the ties as the bound does), repairs it with small programs over neighbourhoods of
customers that can mend the broken rows (:mod:`core.planning._repair`), then improves it over
random neighbourhoods of undecided customers until the gap to the bound is small.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.planning._base import big_penalties, relative_gap
from core.planning._chunks import BLOCK_CELLS
from core.planning._relaxation import Callback, Evaluation, Relaxation
from core.planning._repair import candidates, choose

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
        real=rel.real,
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
                real = rel.real[b0:b1].reshape(-1, fam.width)
                keep = ((w > 0) | (c > 0) if raising else (w > 0) & (c <= 0)) & real
                now_use = (c * cur).sum(axis=1)
                # only customers whose sets can move the row are priced (the others, most of
                # them for a cap: those not using it, keep an infinite price)
                reach = np.where(keep, c, 0.0)
                able = (
                    np.maximum(reach, 0.0).sum(axis=1) > now_use + 1e-12
                    if raising
                    else (now_use > 1e-12) | (reach < 0).any(axis=1)
                )
                m = len(sets)
                j = np.zeros(len(cur), dtype=np.int64)
                who = np.arange(c0 + (b0 - lo) // fam.width, c0 + (b1 - lo) // fam.width)
                if able.any():
                    a = np.flatnonzero(able)
                    wa, ka = w[a], keep[a]
                    val = (wa * ka) @ sets_t
                    now_val = (wa * cur[a]).sum(axis=1)
                    move = rel.sense[k] * (now_use[a, None] - reach[a] @ sets_t)
                    if not raising:  # or keep the current set without the row's items
                        val = np.column_stack([val, (wa * (cur[a] & (c[a] <= 0))).sum(axis=1)])
                        move = np.column_stack([move, now_use[a]])
                    loss = np.maximum(now_val[:, None] - val, 0.0)
                    ok = move > 1e-12
                    ratio = np.where(ok, loss / np.where(ok, move, 1.0), np.inf)
                    ja = ratio.argmin(axis=1)
                    r = np.arange(len(ja))
                    price[who[a]] = ratio[r, ja]
                    amount[who[a]] = np.where(np.isfinite(ratio[r, ja]), move[r, ja], 0.0)
                    j[a] = ja
                from_family = j < m
                choice = np.zeros_like(cur)
                if m:
                    choice[from_family] = sets[j[from_family]] & keep[from_family]
                if not raising:
                    drop = cur & (c <= 0)
                    choice[~from_family] = drop[~from_family]
                alt_plan[b0:b1] = choice.reshape(-1)
        order = np.argsort(price, kind="stable")
        order = order[np.isfinite(price[order])]
        enough = int(np.searchsorted(np.cumsum(amount[order]), 3.0 * inc.violation[k])) + 1
        picked.append(order[: min(enough, size)])
        moves.append(alt_plan)
    found = np.unique(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
    return found, moves


def primal(
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
    start's plan) are kept when better than the result; one that keeps every hard constraint
    within ``target_gap`` of ``upper_bound`` is returned at once (a re-plan whose bounds barely
    moved: nothing to repair or improve).
    """
    stats: dict[str, Any] = {"repair_rounds": 0, "improve_rounds": 0}
    for plan in starts:  # a warm start's plan that keeps every constraint, close to the bound
        kept = assess(rel, plan)
        if kept.hard_ok and relative_gap(kept.objective, upper_bound) <= float(opts["target_gap"]):
            stats.update(kept_warm_plan=True, warm_within_gap=True)
            return kept, stats
    inc = assess(rel, rel.chosen(ev))
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


def every_columns(rel: Relaxation, customers: np.ndarray) -> int:
    """Columns of the exhaustive program over ``customers`` (positions): every feasible set of
    each customer's family (two more each: its current set and nothing; about ten where the
    sets were not enumerated).

    HiGHS does not look at its time limit while it presolves and solves the root of a large
    program (a re-plan on the demo once spent 26 s in one of 665,000 columns given 0.05 s), so
    the repair offers every set only when this count fits the time left
    (``columns_per_second``, measured on the demo: about 22,000 columns a second) and
    ``every_columns``.
    """
    per = np.bincount(rel.layout.pattern[customers], minlength=len(rel.families))
    total = 0
    for p in np.flatnonzero(per):
        fam = rel.families[p]
        sets = fam.every_set() if fam.exact else None
        total += int(per[p]) * ((len(sets) if sets is not None else 10) + 2)
    return total


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
        exhaustive = (  # HiGHS may overrun its time limit by far on a large program
            every
            and len(group) <= 20_000
            and every_columns(rel, group)
            <= min(float(opts["every_columns"]), float(opts["columns_per_second"]) * left())
        )
        stats["exhaustive_skipped"] = stats.get("exhaustive_skipped", 0) + int(
            every and not exhaustive
        )
        new = improve(
            rel,
            inc,
            group,
            weights,
            top=int(opts["candidates"]),
            slack_cost=slack_cost,
            time_limit=min(float(opts["mip_time"]), left()),
            abs_gap=abs_gap,
            every=exhaustive,
            extra=moves,
        )
        stats["repair_rounds"] += 1
        if not new.hard_ok:
            if len(group) >= n_c and exhaustive:
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
