"""The exact referee: the whole problem as one mixed-integer program for HiGHS.

One binary per eligible assignment. The coupling constraints are rows over all assignments;
each customer's Maximum contact rows and conflict rules are rows over that customer's
assignments, the conflicts written as the maximal cliques of the customer's conflict graph
(tighter than one row per conflicting pair, and fewer). Soft constraints get a slack column
priced at their penalty. The matrix is assembled once from vectors per eligibility pattern,
never row by row.

:func:`solve_exact` runs :func:`scipy.optimize.milp` (HiGHS branch and cut) with a time limit
and the LP relaxation through :func:`scipy.optimize.linprog` (``method="highs"``) for the
shadow prices; the upper bound is HiGHS's dual bound. A proved-infeasible instance is
diagnosed (:mod:`core.planning.diagnose`) and answered with its least-violation plan.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from core.common.progress import Progress
from core.planning._base import PlanResult, big_penalties, check_options, finish
from core.planning._patterns import maximal_cliques, patterns_of
from core.planning.diagnose import irreducible_subset
from core.planning.problem import PlanningProblem

DEFAULTS: dict[str, Any] = {
    "mip_rel_gap": 1e-4,  # HiGHS's default
    "duals": True,  # LP relaxation for the shadow prices
    "diagnose": True,  # irreducible subset when infeasible
    "presolve": True,
}


@dataclass(frozen=True, eq=False)
class Model:
    """``min c x`` s.t. ``A x <= b``, ``lo <= x <= hi``; the first ``n_x`` columns are binary.

    ``row_of`` maps each row to its constraint position (-1 for a conflict clique) and
    ``sign`` is +1 where the row is the constraint as written (``<=``), -1 where negated.
    """

    c: np.ndarray
    A: sp.csr_matrix
    b: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_x: int
    row_of: np.ndarray
    sign: np.ndarray


def build_model(
    problem: PlanningProblem,
    *,
    elastic: bool = False,
    objective: bool = True,
    prefer: tuple[int, ...] = (),
) -> Model:
    """The MIP of ``problem`` (``elastic``: every coupling row gets a slack at a big penalty,
    smallest for the constraints in ``prefer``)."""
    n = problem.n_assignments
    cons = problem.constraints
    rows = problem.coupling
    big = big_penalties(problem, prefer) if elastic else None
    c_parts = [-problem.assignments.profit if objective else np.zeros(n)]
    lo_parts, hi_parts = [np.zeros(n)], [np.ones(n)]
    data, ri, ci, b, row_of, sign = [], [], [], [], [], []
    n_col, n_row = n, 0
    if len(rows):
        coef = problem.coefficients(rows, np.arange(n))
        s = np.where(cons.is_min[rows], -1.0, 1.0)
        r, cc = np.nonzero(coef)
        data.append(coef[r, cc] * s[r])
        ri.append(r)
        ci.append(cc)
        b.append(cons.bound[rows] * s)
        row_of.append(rows)
        sign.append(s)
        slack = cons.soft[rows] | elastic
        k = np.flatnonzero(slack)
        if len(k):
            price = np.where(cons.soft[rows[k]], cons.penalty[rows[k]], 0.0)
            if big is not None:
                price = np.where(cons.soft[rows[k]], price, big[rows[k]])
            data.append(-np.ones(len(k)))
            ri.append(k)
            ci.append(n_col + np.arange(len(k)))
            c_parts.append(price if objective or elastic else np.zeros(len(k)))
            lo_parts.append(np.zeros(len(k)))
            hi_parts.append(np.full(len(k), np.inf))
            n_col += len(k)
        n_row = len(rows)
    per = _per_customer_rows(problem, n_row, n_col)
    data += per["data"]
    ri += per["rows"]
    ci += per["cols"]
    b += per["b"]
    row_of += per["row_of"]
    sign += [np.ones(len(x)) for x in per["row_of"]]
    c_parts += per["c"]
    lo_parts += [np.zeros(len(x)) for x in per["c"]]
    hi_parts += [np.full(len(x), np.inf) for x in per["c"]]
    n_row, n_col = per["n_row"], per["n_col"]
    A = sp.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0),
            (
                np.concatenate(ri) if ri else np.zeros(0, int),
                np.concatenate(ci) if ci else np.zeros(0, int),
            ),
        ),
        shape=(n_row, n_col),
    )
    return Model(
        c=np.concatenate(c_parts),
        A=A,
        b=np.concatenate(b) if b else np.zeros(0),
        lo=np.concatenate(lo_parts),
        hi=np.concatenate(hi_parts),
        n_x=n,
        row_of=np.concatenate(row_of).astype(np.int64) if row_of else np.zeros(0, np.int64),
        sign=np.concatenate(sign) if sign else np.zeros(0),
    )


def _per_customer_rows(problem: PlanningProblem, n_row: int, n_col: int) -> dict[str, Any]:
    """Contact rows and conflict cliques of every customer, pattern by pattern."""
    pats = patterns_of(problem)
    cons = problem.constraints
    contact = problem.contact
    caps = np.floor(cons.bound[contact] + 1e-9)
    out: dict[str, Any] = {"data": [], "rows": [], "cols": [], "b": [], "row_of": [], "c": []}
    sizes = pats.sizes()
    for p, acts in enumerate(pats.activities):
        width, n_p = len(acts), int(sizes[p])
        if width < 2 and not len(contact):
            continue
        base = pats.item_ptr[p] + np.arange(n_p, dtype=np.int64) * width
        groups: list[tuple[np.ndarray, float, int, bool, float]] = []
        for q in maximal_cliques(problem.conflict_matrix[np.ix_(acts, acts)]):
            groups.append((q, 1.0, -1, False, 0.0))
        win = problem.covers[contact][:, acts]
        for r, k in enumerate(contact):
            local = np.flatnonzero(win[r])
            if len(local) > caps[r]:
                groups.append((local, caps[r], int(k), bool(cons.soft[k]), cons.penalty[k]))
        for local, cap, k, soft, pen in groups:
            cols = pats.perm[(base[:, None] + local[None, :]).reshape(-1)]
            rr = n_row + np.repeat(np.arange(n_p), len(local))
            out["data"].append(np.ones(len(cols)))
            out["rows"].append(rr)
            out["cols"].append(cols)
            out["b"].append(np.full(n_p, cap))
            out["row_of"].append(np.full(n_p, k))
            if soft:
                out["data"].append(-np.ones(n_p))
                out["rows"].append(n_row + np.arange(n_p))
                out["cols"].append(n_col + np.arange(n_p))
                out["c"].append(np.full(n_p, pen))
                n_col += n_p
            n_row += n_p
    out["n_row"], out["n_col"] = n_row, n_col
    return out


def _milp(model: Model, time_limit: float, gap: float, presolve: bool = True) -> Any:
    integrality = np.zeros(len(model.c))
    integrality[: model.n_x] = 1
    cons = [LinearConstraint(model.A, -np.inf, model.b)] if model.A.shape[0] else []
    return milp(
        model.c,
        integrality=integrality,
        bounds=Bounds(model.lo, model.hi),
        constraints=cons,
        options={
            "time_limit": max(float(time_limit), 0.01),
            "mip_rel_gap": gap,
            "disp": False,
            "presolve": presolve,
        },
    )


def _lp(model: Model) -> Any:
    return linprog(
        model.c,
        A_ub=model.A if model.A.shape[0] else None,
        b_ub=model.b if model.A.shape[0] else None,
        bounds=np.column_stack([model.lo, model.hi]),
        method="highs",
    )


def lp_prices(problem: PlanningProblem, model: Model, res: Any) -> dict[str, float]:
    """``{label: d objective / d bound}`` from an LP solution's row marginals."""
    marg = np.asarray(res.ineqlin.marginals)
    out: dict[str, float] = {}
    for k in range(len(problem.constraints)):
        sel = model.row_of == k
        if sel.any():
            out[problem.label(k)] = float(-(marg[sel] * model.sign[sel]).sum())
    return out


def proved_infeasible_exact(problem: PlanningProblem, time_limit: float) -> bool | None:
    """True when the LP relaxation or HiGHS proves ``problem`` infeasible; None if unknown."""
    model = build_model(problem, objective=False)
    lp = _lp(model)
    if lp.status == 2:
        return True
    res = _milp(model, time_limit, 1.0)
    if res.status == 2:
        return True
    return False if res.x is not None else None


def solve_exact(
    problem: PlanningProblem,
    *,
    time_limit: float = 60.0,
    progress: Progress | None = None,
    options: Mapping[str, Any] | None = None,
) -> PlanResult:
    """Solve ``problem`` with HiGHS (the referee).

    Parameters
    ----------
    problem
        The instance.
    time_limit
        Seconds for HiGHS's branch and cut (the LP and a diagnosis come on top).
    progress
        ``progress(done, total)``, called when each phase ends.
    options
        ``mip_rel_gap`` (1e-4), ``duals`` (True: LP relaxation for shadow prices),
        ``diagnose`` (True: irreducible subset when infeasible), ``presolve`` (True).

    Returns
    -------
    PlanResult
        ``stats`` holds ``lp_bound``, ``seconds_milp``, ``seconds_lp``, ``mip_status``.
    """
    opts = check_options("exact", options, DEFAULTS)
    started = time.perf_counter()
    model = build_model(problem)
    stats: dict[str, Any] = {"rows": int(model.A.shape[0]), "columns": len(model.c)}
    stats["seconds_build"] = time.perf_counter() - started
    prices: dict[str, float] = {}
    duals = np.full(len(problem.constraints), np.nan)
    lp_bound = float("nan")
    if opts["duals"]:
        t = time.perf_counter()
        lp = _lp(model)
        stats["seconds_lp"] = time.perf_counter() - t
        if lp.status == 0:
            lp_bound = -float(lp.fun)
            prices = lp_prices(problem, model, lp)
            for label, v in prices.items():
                duals[problem.labels.index(label)] = v
    stats["lp_bound"] = lp_bound
    if progress:
        progress(0.2, 1.0)
    t = time.perf_counter()
    remaining = time_limit - (time.perf_counter() - started)
    res = _milp(model, remaining, float(opts["mip_rel_gap"]), bool(opts["presolve"]))
    stats["seconds_milp"] = time.perf_counter() - t
    stats["mip_status"] = int(res.status)
    stats["mip_message"] = str(res.message)
    stats["nodes"] = int(getattr(res, "mip_node_count", 0) or 0)
    if progress:
        progress(0.9, 1.0)
    if res.status == 2:
        return _infeasible(problem, started, time_limit, opts, stats)
    dual_bound = getattr(res, "mip_dual_bound", None)
    ub = -float(dual_bound) if dual_bound is not None and np.isfinite(dual_bound) else np.inf
    if np.isfinite(lp_bound):
        ub = min(ub, lp_bound)
    if res.x is None:
        chosen = np.zeros(problem.n_assignments, dtype=bool)
        note = f"HiGHS found no plan within {time_limit:g} s ({res.message})."
    else:
        chosen = res.x[: model.n_x] > 0.5
        note = "" if res.status == 0 else f"HiGHS stopped: {res.message}"
    if res.status == 0 and res.x is not None:
        ub = min(ub, -float(res.fun) + abs(float(res.fun)) * float(opts["mip_rel_gap"]))
    if progress:
        progress(1.0, 1.0)
    return finish(
        problem,
        chosen,
        solver="exact",
        started=started,
        upper_bound=float(ub) if np.isfinite(ub) else float("nan"),
        shadow_prices=prices,
        duals=duals,
        note=note,
        stats=stats,
    )


def _infeasible(
    problem: PlanningProblem,
    started: float,
    time_limit: float,
    opts: Mapping[str, Any],
    stats: dict[str, Any],
) -> PlanResult:
    """Least-violation plan and the constraints that conflict, after HiGHS proved infeasibility."""
    budget = max(time_limit - (time.perf_counter() - started), 0.2 * time_limit, 5.0)
    t = time.perf_counter()
    conflicting: tuple[str, ...] = ()
    prefer: tuple[int, ...] = ()
    note = ""
    if opts["diagnose"]:
        found = irreducible_subset(
            problem,
            lambda sub, tl: proved_infeasible_exact(sub, tl),
            time_limit=budget / 2,
        )
        conflicting, complete, prefer = found.labels, found.complete, found.constraints
        if not complete:
            note = "(the diagnosis ran out of time: the set named may not be minimal)"
    stats["seconds_diagnosis"] = time.perf_counter() - t
    elastic = build_model(problem, elastic=True, prefer=prefer)
    res = _milp(elastic, max(budget / 2, 1.0), 1e-4)
    chosen = (
        res.x[: elastic.n_x] > 0.5
        if res.x is not None
        else np.zeros(problem.n_assignments, dtype=bool)
    )
    return finish(
        problem,
        chosen,
        solver="exact",
        started=started,
        proved_infeasible=True,
        least_violation=True,
        conflicting=conflicting,
        note=note,
        stats=stats,
    )
