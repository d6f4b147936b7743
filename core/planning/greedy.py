"""The baseline: a greedy fill by expected profit, the way campaign tools fill volumes.

In rounds, every customer proposes its most profitable assignment that its own rules (Maximum
contact, conflicts) still allow; the proposals are accepted by falling profit while every
maximum (assignments, budgets, sales; soft ones too) has room. Minimums are not looked at, so the
fill may break them: that is what the checker then reports. No bound is proved.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from core.common.progress import Progress
from core.planning._base import PlanResult, check_options, finish
from core.planning.problem import COEF_KIND, PlanningProblem

DEFAULTS: dict[str, Any] = {}


def accept_in_order(cands: np.ndarray, use: np.ndarray, room: np.ndarray) -> np.ndarray:
    """bool ``[n]``: proposals (by falling profit) accepted in order while rows have room.

    ``use`` is ``[R, n]`` what each adds to each maximum row and ``room`` ``[R]`` what is left;
    a proposal that does not fit is skipped and later smaller ones may still fit.
    """
    taken = np.zeros(len(cands), dtype=bool)
    open_ = np.ones(len(cands), dtype=bool)
    left = room.astype(np.float64).copy()
    while open_.any():
        open_ &= ~(use > left[:, None] + 1e-9).any(axis=0)
        idx = np.flatnonzero(open_)
        if not len(idx):
            break
        cum = np.cumsum(use[:, idx], axis=1)
        over = (cum > left[:, None] + 1e-9).any(axis=0)
        stop = int(np.argmax(over)) if over.any() else len(idx)
        ok = idx[:stop]
        taken[ok] = True
        open_[ok] = False
        left -= use[:, ok].sum(axis=1)
    return taken


def solve_greedy(
    problem: PlanningProblem,
    *,
    time_limit: float | None = None,
    progress: Progress | None = None,
    options: Mapping[str, Any] | None = None,
) -> PlanResult:
    """Greedy fill by expected profit (see the module docstring).

    Parameters
    ----------
    problem
        The instance.
    time_limit
        Unused (the fill takes a few passes over the assignments).
    progress
        ``progress(done, total)`` per round.
    options
        None.
    """
    check_options("greedy", options, DEFAULTS)
    started = time.perf_counter()
    asg, cons = problem.assignments, problem.constraints
    n_c, n_a = problem.n_customers, problem.n_activities
    cust, act, profit = asg.customer.astype(np.int64), asg.activity, asg.profit
    maxima = problem.coupling[~cons.is_min[problem.coupling]]
    contact = problem.contact
    cov_c = problem.covers[contact]
    caps = np.floor(cons.bound[contact] + 1e-9).astype(np.int64)
    counts = np.zeros((n_c, len(contact)), dtype=np.int64)
    conf = np.zeros((n_a + 1, n_a + 1), dtype=bool)
    conf[:n_a, :n_a] = problem.conflict_matrix
    deg = np.diff(asg.indptr)
    width = int(min(caps.min(initial=deg.max(initial=0)), deg.max(initial=0)))
    picks = np.full((n_c, max(width, 1)), n_a, dtype=np.int64)
    n_picked = np.zeros(n_c, dtype=np.int64)
    room = cons.bound[maxima].astype(np.float64)
    kind = COEF_KIND[cons.kind[maxima]]
    chosen = np.zeros(len(asg), dtype=bool)
    open_ = profit > 0
    order = np.lexsort((-profit, cust))  # by customer, most profitable first
    rounds = 0
    while open_.any():
        rounds += 1
        idx = np.flatnonzero(open_)
        c, a = cust[idx], act[idx]
        ok = n_picked[c] < picks.shape[1]
        for j in range(len(contact)):
            ok &= counts[c, j] + cov_c[j, a] <= caps[j]
        for j in range(picks.shape[1]):
            ok &= ~conf[a, picks[c, j]]
        open_[idx[~ok]] = False
        if not open_.any():
            break
        ranked = order[open_[order]]
        first = np.concatenate([[True], cust[ranked][1:] != cust[ranked][:-1]])
        cands = ranked[first]
        cands = cands[np.argsort(-profit[cands], kind="stable")]
        a = act[cands]
        use = problem.covers[maxima][:, a].astype(np.float64)
        use[kind == 1] *= problem.activities.cost[a]
        use[kind == 2] *= asg.probability[cands]
        take = accept_in_order(cands, use, room)
        room -= use[:, take].sum(axis=1)
        won = cands[take]
        open_[cands] = False  # taken, or no room now and never later
        chosen[won] = True
        c, a = cust[won], act[won]
        picks[c, n_picked[c]] = a
        n_picked[c] += 1
        for j in range(len(contact)):
            counts[c, j] += cov_c[j, a]
        if progress:
            progress(rounds, rounds + 1)
    return finish(problem, chosen, solver="greedy", started=started, stats={"rounds": rounds})
