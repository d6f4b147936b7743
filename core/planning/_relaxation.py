"""The Lagrangian relaxation of the coupling constraints and its dual, by cutting planes.

Prices ``lambda_k >= 0`` on the coupling constraints (minimum and maximum assignments and sales
per window, budgets) decouple the customers: each maximises its reduced profit over the sets its
own rules allow (Maximum contact rows, conflicts), exactly, by the per-pattern families of
:mod:`core.planning._patterns` and :func:`core.planning._chunks.solve_chunk`. The dual function
``L(lambda) = sum_k lambda_k s_k b_k + sum_c max_x (...)`` (``s = +1`` for ``<=`` rows, ``-1``
for ``>=`` rows) bounds every plan's objective from above; :func:`minimise_dual` minimises it by
a box-step cutting-plane (bundle) method whose master is a small LP. Soft constraints cap their
price at their penalty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog

from core.planning._chunks import ChunkSolution, make_chunks
from core.planning._patterns import families_of, host_patterns
from core.planning._repair import Layout, make_layout
from core.planning.executor import SERIAL, ChunkExecutor
from core.planning.problem import COEF_KIND, PlanningProblem

Callback = Callable[[dict[str, Any]], "bool | None"]
#: Profit of a padding slot (an activity of a host pattern the customer is not eligible for):
#: never positive at any price, so never chosen.
PADDING = -1e9


# -------------------------------------------------------------------------------------------
# the relaxation
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The dual function at one price vector."""

    lam: np.ndarray
    value: float  # L(lambda)
    grad: np.ndarray  # s_k (b_k - usage_k)
    usage: np.ndarray
    solutions: tuple[ChunkSolution, ...]


#: What a relaxation holds that the coupling bounds do not change: kept on the problem and
#: reused by the relaxation of a re-plan (``with_bounds`` keeps it with the families).
_SHARED = (
    "patterns",
    "families",
    "real",
    "act",
    "profit",
    "prob",
    "chunks",
    "bound_chunks",
    "layout",
    "exact",
    "scale",
)


class Relaxation:
    """The per-customer decomposition of one problem: chunks, prices -> dual function.

    ``executor`` places the chunks once (:meth:`ChunkExecutor.bind`) and solves them at each
    price vector (serial in this process by default; the Dask engine on a cluster). A problem
    from :meth:`PlanningProblem.with_bounds` reuses its original's chunks, layout and price
    scale (only the bounds, senses and caps of the rows are read again).
    """

    def __init__(
        self,
        problem: PlanningProblem,
        opts: Mapping[str, Any],
        executor: ChunkExecutor | None = None,
    ) -> None:
        self.problem = problem
        cons = problem.constraints
        self.rows = problem.coupling
        self.sense = np.where(cons.is_min[self.rows], -1.0, 1.0)
        self.bound = cons.bound[self.rows]
        self.soft = cons.soft[self.rows]
        self.cap = np.where(self.soft, cons.penalty[self.rows], np.inf)
        self.cov = problem.covers[self.rows].astype(np.float64)
        self.kind = COEF_KIND[cons.kind[self.rows]]
        self.cost = problem.activities.cost
        families = families_of(problem, int(opts["max_sets"]))
        cached = problem.__dict__.get("hosting")
        if cached is None or cached[0] is not families:
            cached = problem.__dict__["hosting"] = (families, host_patterns(problem, families))
        hosting = cached[1]
        executor = executor or SERIAL
        key = (cached[0], executor, int(opts["chunk_items"]))
        kept = problem.__dict__.get("relaxation")
        if kept is not None and all(a is b for a, b in zip(kept[0][:2], key[:2], strict=True)):
            if kept[0][2] == key[2]:  # a re-plan: the same customers' structure, other bounds
                self.__dict__.update(kept[1])
                return
        self.patterns = hosting.patterns
        self.families = hosting.families
        self.real = hosting.real
        perm = self.patterns.perm
        safe = np.where(self.real, perm, 0)
        asg = problem.assignments
        sizes = self.patterns.sizes()
        self.act = (
            np.concatenate(
                [np.tile(a, int(n)) for a, n in zip(self.patterns.activities, sizes, strict=True)]
            )
            if len(sizes)
            else np.zeros(0, np.int32)
        ).astype(np.int32)
        self.profit = np.where(self.real, asg.profit[safe], PADDING)
        self.prob = np.where(self.real, asg.probability[safe], 0.0)
        self.chunks = make_chunks(
            self.patterns,
            self.families,
            self.act,
            self.profit,
            self.prob,
            max_items=int(opts["chunk_items"]),
        )
        self.bound_chunks = executor.bind(self.chunks)
        widths = np.array([f.width for f in self.families], dtype=np.int64)
        self.layout: Layout = make_layout(self.patterns.sizes(), self.patterns.item_ptr, widths)
        self.exact = all(f.exact for f in self.families)
        self.scale = self._price_scale()
        problem.__dict__["relaxation"] = (key, {name: self.__dict__[name] for name in _SHARED})

    def to_original(self, chosen: np.ndarray) -> np.ndarray:
        """bool ``[N]`` (the problem's assignments) of a plan in slot order."""
        out = np.zeros(self.problem.n_assignments, dtype=bool)
        out[self.patterns.perm[chosen & self.real]] = True
        return out

    def to_slots(self, mask: np.ndarray) -> np.ndarray:
        """bool ``[slots]`` of a plan given over the problem's assignments."""
        return np.where(self.real, mask[np.where(self.real, self.patterns.perm, 0)], False)

    def _price_scale(self) -> np.ndarray:
        """A typical price of each row: a typical profit per unit of the row."""
        pos = self.profit[self.profit > 0]
        typical = float(np.median(pos)) if len(pos) else 1.0
        act = self.act[self.real]
        count = np.bincount(act, minlength=len(self.cost)).astype(np.float64)
        probs = np.bincount(act, weights=self.prob[self.real], minlength=len(self.cost))
        per = self.usage(count, probs) / np.maximum(self.cov @ count, 1.0)
        return typical / np.where(per > 0, per, 1.0)

    def usage(self, count: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """``[K]`` totals of the coupling rows from per-activity counts and probability sums."""
        out = np.zeros(len(self.rows))
        for code, per_act in ((0, count), (1, count * self.cost), (2, prob)):
            sel = self.kind == code
            if sel.any():
                out[sel] = self.cov[sel] @ per_act
        return out

    def prices(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per activity ``(alpha, beta)`` of the signed prices ``s * lambda``."""
        return self.problem.activity_prices(self.rows, self.sense * lam)

    def weights(self, lam: np.ndarray) -> np.ndarray:
        """Reduced profit of every item (pattern order)."""
        alpha, beta = self.prices(lam)
        return self.profit - alpha[self.act] - beta[self.act] * self.prob

    def evaluate(self, lam: np.ndarray, *, top: int = 1, plan: bool = False) -> Evaluation:
        """``L(lambda)``, a subgradient and (``plan``) every customer's best set."""
        alpha, beta = self.prices(lam)
        sols = tuple(self.bound_chunks.solve(alpha, beta, top=top, plan=plan))
        count = np.sum([s.count for s in sols], axis=0) if sols else np.zeros(len(self.cost))
        prob = np.sum([s.prob for s in sols], axis=0) if sols else np.zeros(len(self.cost))
        use = self.usage(count, prob)
        value = float(sum(s.bound.sum() for s in sols)) + float(lam @ (self.sense * self.bound))
        return Evaluation(lam, value, self.sense * (self.bound - use), use, sols)

    def items_of(self, customers: np.ndarray) -> np.ndarray:
        """int64 items (pattern order) of customer positions ``customers``."""
        lay = self.layout
        width = lay.width[customers]
        first = np.repeat(
            lay.start[customers] - np.concatenate([[0], np.cumsum(width)[:-1]]), width
        )
        return first + np.arange(int(width.sum()))

    def best_sets(self, ev: Evaluation) -> np.ndarray:
        """int32 ``[C]`` (customer positions): each customer's set index at ``ev``'s prices."""
        if not ev.solutions:
            return np.zeros(0, dtype=np.int32)
        return np.concatenate([s.best for s in ev.solutions])

    def plan_from_sets(
        self, sets: np.ndarray, weights: np.ndarray, fallback: np.ndarray
    ) -> np.ndarray:
        """bool ``[N]`` (pattern order): customer ``i`` takes set ``sets[i]`` of its family,
        without its non-positive items at ``weights``; ``fallback`` where ``sets`` is -1."""
        out = fallback.copy()
        for p, fam in enumerate(self.families):
            lo, hi = self.patterns.item_ptr[p], self.patterns.item_ptr[p + 1]
            if hi == lo or not fam.exact:
                continue
            k = sets[self.patterns.cust_ptr[p] : self.patterns.cust_ptr[p + 1]]
            ok = k >= 0
            w = weights[lo:hi].reshape(-1, fam.width)
            picks = fallback[lo:hi].reshape(-1, fam.width).copy()
            picks[ok] = fam.sets[k[ok]] & (w[ok] > 0)
            out[lo:hi] = picks.reshape(-1)
        return out

    def chosen(self, ev: Evaluation) -> np.ndarray:
        """bool ``[N]`` (pattern order) of the evaluation's plan."""
        return (
            np.concatenate([s.chosen for s in ev.solutions]) if ev.solutions else np.zeros(0, bool)
        )

    def floor(self) -> float:
        """Lowest objective any plan can have: a plan scoring below it cannot exist."""
        low = float(np.minimum(self.profit[self.real], 0).sum())
        act = self.act[self.real]
        count = np.bincount(act, minlength=len(self.cost)).astype(np.float64)
        probs = np.bincount(act, weights=self.prob[self.real], minlength=len(self.cost))
        most = self.usage(count, probs)
        worst = np.where(self.sense > 0, np.maximum(most - self.bound, 0), self.bound)
        low -= float((np.where(self.soft, self.cap, 0.0) * np.maximum(worst, 0)).sum())
        for fam, n in zip(self.families, self.patterns.sizes(), strict=True):
            if fam.soft.any():
                full = fam.set_penalty(np.ones((1, fam.width), bool))
                low -= float(full[0]) * int(n)
        return low


# -------------------------------------------------------------------------------------------
# the dual phase: box-step cutting planes
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Bundle:
    """Cuts ``L(lambda) >= value_i + grad_i (lambda - lam_i)`` of one problem's dual function.

    The per-customer part of ``L`` does not depend on the coupling bounds, so when only those
    change (a slider moved) every cut still holds after :meth:`moved_to` shifts it by
    ``lambda . s (b_new - b_old)``: a re-plan starts with the whole model of the last solve.
    """

    rows: np.ndarray
    sense: np.ndarray
    bound: np.ndarray
    lam: np.ndarray
    value: np.ndarray
    grad: np.ndarray
    families: tuple

    def moved_to(self, rel: Relaxation) -> Bundle | None:
        """The cuts for ``rel``'s bounds, or None when its rules or rows differ."""
        if (
            self.families is not rel.families
            or not np.array_equal(self.rows, rel.rows)
            or not np.array_equal(self.sense, rel.sense)
        ):
            return None
        shift = rel.sense * (rel.bound - self.bound)
        return Bundle(
            rel.rows,
            rel.sense,
            rel.bound,
            self.lam,
            self.value + self.lam @ shift,
            self.grad + shift,
            rel.families,
        )


@dataclass(frozen=True, eq=False)
class Dual:
    """Outcome of the dual phase."""

    best: Evaluation
    iterations: int
    proved_infeasible: bool
    converged: bool
    history: tuple[float, ...]
    bundle: Bundle | None = None
    mixture: tuple[tuple[float, np.ndarray], ...] = ()
    stopped: str = ""  # why it stopped before converging early: "gap" or "stall"


def minimise_dual(
    rel: Relaxation,
    lam0: np.ndarray | None,
    *,
    deadline: float,
    tol: float,
    max_iter: int,
    warm: bool = False,
    bundle: Bundle | None = None,
    callback: Callback | None = None,
    stop_below: float | None = None,
    max_cuts: int = 80,
    keep_choices: int = 40,
    known: float | None = None,
    gap_tol: float = 0.0,
    stall: tuple[int, float] | None = None,
) -> Dual:
    """Minimise ``L(lambda)`` over ``0 <= lambda <= cap`` (box-step cutting-plane method).

    Parameters
    ----------
    rel
        The relaxation.
    lam0
        Starting prices (zeros by default).
    deadline, tol, max_iter
        Stop at this ``time.perf_counter()``, when the model predicts a relative decrease
        below ``tol`` inside a box it does not touch, or after this many evaluations.
    warm
        Start with a small box (the prices are close).
    bundle
        Cuts of an earlier solve of the same problem with other coupling bounds.
    callback
        ``callback(info)`` after each step; True stops.
    stop_below
        Stop (infeasible) once ``L`` is below this (default: the lowest objective any plan
        can have, :meth:`Relaxation.floor`).
    max_cuts
        Cuts kept (the most recent, and the centre's).
    keep_choices
        Evaluations whose per-customer choices are kept for :attr:`Dual.mixture`: the convex
        combination of them that the last master's multipliers give (its coupling usage is
        what the bound's prices balance), from which the primal phase draws a starting plan.
    known, gap_tol
        The objective of a plan known to keep every hard constraint (a re-plan's previous
        plan, where the new bounds still hold it): stop once ``L`` is within ``gap_tol``
        (relative) of it, as no bound can close that gap further than the plan already does.
    stall
        ``(n, rel)``: stop once the last ``n`` serious steps (those that moved the centre;
        a null step only adds a cut) brought ``L`` down by at most ``rel`` (relative) in all
        (a re-plan's warm prices have converged).

    Every ``L(lambda)`` bounds every plan from above, so stopping early never makes the bound
    invalid, only (by at most what the rules allow) less tight.
    """
    k = len(rel.rows)
    lam = np.zeros(k) if lam0 is None else np.clip(np.asarray(lam0, float), 0, rel.cap)
    center = rel.evaluate(lam)
    history = [center.value]
    if k == 0:
        return Dual(center, 1, False, True, tuple(history))
    floor = rel.floor() if stop_below is None else stop_below
    step = 0.1 if warm else 1.0
    cuts_l, cuts_v, cuts_g = [center.lam], [center.value], [center.grad]
    old = bundle.moved_to(rel) if bundle is not None else None
    if old is not None:
        take = slice(max(0, len(old.value) - max_cuts // 2), None)
        cuts_l += list(old.lam[take])
        cuts_v += list(old.value[take])
        cuts_g += list(old.grad[take])
    converged = proved = False
    it = 1
    choices: list[np.ndarray | None] = [None] * (len(cuts_l) - 1)
    choices.insert(0, rel.best_sets(center))
    weights_mu = np.zeros(0)
    best_seen = [center.value]  # the best L after each serious step
    stopped = ""
    while it < max_iter and time.perf_counter() < deadline:
        if center.value < floor - 1e-9 * max(abs(floor), 1.0):
            proved = True
            break
        size = max(abs(center.value), 1.0)
        if known is not None and center.value - known <= gap_tol * size:
            stopped = "gap"
            break
        if stall is not None and len(best_seen) > stall[0]:
            if best_seen[-stall[0] - 1] - center.value <= stall[1] * size:
                stopped = "stall"
                break
        box = step * rel.scale
        lo = np.maximum(center.lam - box, 0.0)
        hi = np.minimum(center.lam + box, rel.cap)
        G = np.asarray(cuts_g)
        rhs = np.einsum("ij,ij->i", G, np.asarray(cuts_l)) - np.asarray(cuts_v)
        res = linprog(
            np.concatenate([np.zeros(k), [1.0]]),
            A_ub=np.hstack([G, -np.ones((len(G), 1))]),
            b_ub=rhs,
            bounds=[*zip(lo, hi, strict=True), (None, None)],
            method="highs",
        )
        if res.status != 0:
            break
        weights_mu = -np.asarray(res.ineqlin.marginals)
        pred = float(res.x[-1])
        drop = center.value - pred
        x = res.x[:k]
        edge = ((x <= lo + 1e-12) & (lo > 0)) | ((x >= hi - 1e-12) & (hi < rel.cap))
        if drop <= tol * max(abs(center.value), 1.0):
            if not edge.any():
                converged = True
                break
            step = min(step * 4.0, 1e8)
            it += 1
            continue
        trial = rel.evaluate(x)
        it += 1
        history.append(trial.value)
        cuts_l.append(trial.lam)
        cuts_v.append(trial.value)
        cuts_g.append(trial.grad)
        choices.append(rel.best_sets(trial))
        if len(choices) > keep_choices:
            choices[-keep_choices - 1] = None
        if trial.value <= center.value - 0.1 * drop:
            moved = np.abs(trial.lam - center.lam)
            if (moved >= 0.95 * box).any():
                step = min(step * 2.0, 1e8)
            center = trial
            best_seen.append(center.value)
        else:
            step = max(step * 0.7, 1e-9)
        if len(cuts_l) > max_cuts:
            keep = [i for i in range(len(cuts_l)) if cuts_l[i] is center.lam]
            drop_at = next(i for i in range(len(cuts_l)) if i not in keep)
            del cuts_l[drop_at], cuts_v[drop_at], cuts_g[drop_at], choices[drop_at]
        if callback is not None and callback(
            {"phase": "dual", "iteration": it, "upper_bound": center.value}
        ):
            break
    bundle_out = Bundle(
        rel.rows,
        rel.sense,
        rel.bound,
        np.asarray(cuts_l),
        np.asarray(cuts_v),
        np.asarray(cuts_g),
        rel.families,
    )
    mixture: list[tuple[float, np.ndarray]] = []
    for i in range(min(len(weights_mu), len(choices))):
        got = choices[i]
        if weights_mu[i] > 1e-9 and got is not None:
            mixture.append((float(weights_mu[i]), got))
    return Dual(center, it, proved, converged, tuple(history), bundle_out, tuple(mixture), stopped)
