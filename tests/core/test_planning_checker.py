"""The independent checker against a brute force, and the solvers against every subset.

Tiny random instances (every constraint type, conflicts with lags, soft rows) are small enough
to enumerate every plan. A naive reading of the benchmark's semantics, written here from
scratch, decides each plan's feasibility and objective; the checker must agree on every subset,
HiGHS must find the best one, and the Lagrangian planner must come within its tolerance with an
upper bound at least the optimum.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.planning import PlanningProblem, check_plan, solve
from core.planning.problem import (
    TYPES,
    Activities,
    Assignments,
    Conflicts,
    Constraints,
)

CHANNELS = ("call", "mail", "sms")
PRODUCTS = ("p1", "p2", "p3")


def tiny(seed: int, *, soft: bool = False) -> PlanningProblem:
    """3-4 customers, 5 activities, about 11 eligible assignments, every constraint type."""
    rng = np.random.default_rng(seed)
    n_a, n_c = 5, int(rng.integers(3, 5))
    targets = rng.random((n_a, 3)) < 0.4
    targets[np.arange(n_a), rng.integers(0, 3, n_a)] = True
    acts = Activities(
        ids=np.array([f"a{i}" for i in range(n_a)]),
        day=rng.integers(1, 30, n_a),
        channel=rng.integers(0, 3, n_a),
        cost=rng.choice([0.0, 1.0, 2.5], n_a),
        targets=targets,
    )
    pairs = [(c, a) for c in range(n_c) for a in range(n_a) if rng.random() < 0.6][:12]
    cust, act = np.array(pairs).T
    asg = Assignments.from_pairs(
        cust,
        act,
        rng.normal(5, 4, len(pairs)),
        rng.uniform(0.05, 0.9, len(pairs)),
        np.array([f"c{i}" for i in range(n_c)]),
    )
    kinds = np.array([0, 1, 2, 3, 4, 5])
    k = len(kinds)
    chans = rng.random((k, 3)) < 0.7
    chans[:, 0] |= ~chans.any(axis=1)
    prods = rng.random((k, 3)) < 0.7
    prods[:, 1] |= ~prods.any(axis=1)
    start = rng.integers(1, 15, k)
    bound = np.array([2, 4, 5.0, 0.6, 1.5, 2])
    cons = Constraints(
        kinds,
        start,
        start + rng.integers(5, 20, k),
        chans,
        prods,
        bound,
        soft=(rng.random(k) < 0.4) if soft else np.zeros(k, bool),
        penalty=rng.uniform(1, 6, k),
        names=tuple(str(i + 1) for i in range(k)),
    )
    conf = Conflicts(
        np.array([[True, False, False], [False, True, True]]),
        np.ones((2, 3), bool),
        np.array([[True, False, False], [True, True, False]]),
        np.array([[True, True, False], [False, False, True]]),
        np.array([10, 6]),
        ("1", "2"),
    )
    return PlanningProblem(acts, asg, cons, conf, CHANNELS, PRODUCTS, name=f"tiny{seed}")


def naive(problem: PlanningProblem, chosen: list[int]) -> tuple[bool, float]:
    """Feasibility (hard rules) and objective of a plan, straight from the definitions."""
    act, asg, con, cf = (
        problem.activities,
        problem.assignments,
        problem.constraints,
        problem.conflicts,
    )
    prods = [{PRODUCTS[j] for j in range(3) if act.targets[a, j]} for a in range(len(act))]
    chan = [CHANNELS[c] for c in act.channel]

    def covers(chs: np.ndarray, prs: np.ndarray, a: int) -> bool:
        return chan[a] in {CHANNELS[j] for j in range(3) if chs[j]} and bool(
            prods[a] & {PRODUCTS[j] for j in range(3) if prs[j]}
        )

    ok, penalty = True, 0.0
    for k in range(len(con)):
        inside = [
            n
            for n in chosen
            if con.start[k] <= act.day[asg.activity[n]] <= con.end[k]
            and covers(con.channels[k], con.products[k], int(asg.activity[n]))
        ]
        kind, b = TYPES[con.kind[k]], float(con.bound[k])
        if kind == "Maximum contact":
            over = sum(
                max(0, sum(1 for n in inside if asg.customer[n] == c) - b)
                for c in range(problem.n_customers)
            )
        else:
            total = {
                "Minimum assignment": len(inside),
                "Maximum assignment": len(inside),
                "Budget": sum(act.cost[asg.activity[n]] for n in inside),
                "Minimum sales": sum(asg.probability[n] for n in inside),
                "Maximum sales": sum(asg.probability[n] for n in inside),
            }[kind]
            over = max(0.0, (b - total) if kind.startswith("Minimum") else (total - b))
        if over > 1e-9:
            if con.soft[k]:
                penalty += over * con.penalty[k]
            else:
                ok = False
    for n1, n2 in itertools.permutations(chosen, 2):
        if asg.customer[n1] != asg.customer[n2]:
            continue
        a1, a2 = int(asg.activity[n1]), int(asg.activity[n2])
        for f in range(len(cf)):
            gap = act.day[a2] - act.day[a1]
            if (
                covers(cf.channels1[f], cf.products1[f], a1)
                and covers(cf.channels2[f], cf.products2[f], a2)
                and 0 <= gap < cf.lag[f]
            ):
                ok = False
    return ok, float(sum(asg.profit[n] for n in chosen)) - penalty


def every_plan(problem: PlanningProblem):
    n = problem.n_assignments
    for r in range(n + 1):
        for subset in itertools.combinations(range(n), r):
            yield list(subset)


SEEDS = range(8)


def test_checker_agrees_with_the_brute_force_on_every_subset():
    seen = {True: 0, False: 0}
    for seed in SEEDS:
        problem = tiny(seed, soft=seed % 2 == 1)
        for plan in every_plan(problem):
            ok, objective = naive(problem, plan)
            check = check_plan(problem, np.array(plan, dtype=np.int64))
            assert check.feasible == ok, (seed, plan)
            assert check.objective == pytest.approx(objective, abs=1e-9), (seed, plan)
            seen[ok] += 1
    assert seen[True] > 100 and seen[False] > 100  # both verdicts were exercised


@pytest.mark.parametrize("seed", SEEDS)
def test_solvers_reach_the_brute_force_optimum(seed):
    problem = tiny(seed, soft=seed % 2 == 1)
    values = [naive(problem, plan) for plan in every_plan(problem)]
    feasible = [v for ok, v in values if ok]
    exact = solve(problem, "exact", time_limit=30)
    lagr = solve(problem, "lagrangian", time_limit=30, rng=seed)
    if not feasible:
        assert not exact.feasible and exact.status == "infeasible"
        assert not lagr.feasible
        return
    best = max(feasible)
    assert exact.feasible and exact.objective == pytest.approx(best, abs=1e-6)
    assert exact.upper_bound >= best - 1e-6
    assert lagr.feasible
    assert lagr.objective >= best - 0.005 * abs(best) - 1e-6
    assert lagr.upper_bound >= best - 1e-6


def test_checker_lists_each_broken_rule_with_its_customers():
    problem = tiny(2)
    everything = np.arange(problem.n_assignments)
    check = check_plan(problem, everything)
    kinds = {v.type for v in check.violations}
    assert not check.feasible and "Conflict" in kinds
    contact = [v for v in check.violations if v.type == "Maximum contact"]
    for v in contact:
        assert v.customers >= 1 and v.examples and all(e.startswith("c") for e in v.examples)
