"""The planners on small instances: HiGHS as referee, infeasibility, soft constraints, seeds."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.common.errors import OptionError
from core.planning import benchmark_instance, check_plan, replan, solve
from core.planning.problem import (
    Activities,
    Assignments,
    Conflicts,
    Constraints,
    PlanningProblem,
)

#: The planner's stated tolerance against HiGHS's optimum on small instances.
TOLERANCE = 0.005


@pytest.fixture(scope="module", params=[0.05, 0.15], ids=["elig5", "elig15"])
def small(request):
    problem = benchmark_instance(1500, 30, request.param, 25, rng=11)
    exact = solve(problem, "exact", time_limit=120)
    assert exact.status == "optimal", exact.message
    return problem, exact


def test_planner_is_feasible_and_within_tolerance_of_highs(small):
    problem, exact = small
    res = solve(problem, "lagrangian", time_limit=60, rng=0)
    assert res.feasible and res.violations == ()
    assert res.objective >= (1 - TOLERANCE) * exact.objective
    assert res.upper_bound >= exact.objective - 1e-6 * abs(exact.objective)
    assert exact.upper_bound >= exact.objective
    assert res.gap == pytest.approx(
        (res.upper_bound - res.objective) / abs(res.upper_bound), rel=1e-9
    )
    assert check_plan(problem, res.chosen).feasible  # the verdict is the checker's


def test_shadow_prices_are_optimal_prices_like_the_lps(small):
    """Optimal prices need not be unique, so compare what they prove: the Lagrangian dual
    function at the LP relaxation's prices is as low as at the planner's own, and the
    planner's bound is at least as tight as the LP's."""
    from core.planning._relaxation import Relaxation
    from core.planning.lagrangian import DEFAULTS

    problem, exact = small
    res = solve(problem, "lagrangian", time_limit=60, rng=0)
    assert set(exact.shadow_prices) == set(res.shadow_prices)
    rows = problem.coupling
    for k in rows:
        label = problem.label(int(k))
        mine, lp = res.shadow_prices[label], exact.shadow_prices[label]
        if problem.constraints.is_min[k]:
            assert mine <= 1e-9 and lp <= 1e-9
        else:
            assert mine >= -1e-9 and lp >= -1e-9
    rel = Relaxation(problem, DEFAULTS)
    lp_prices = np.abs([exact.shadow_prices[problem.label(int(k))] for k in rows])
    at_lp = rel.evaluate(lp_prices).value
    at_mine = rel.evaluate(np.abs(res.duals[rows])).value
    assert at_mine == pytest.approx(res.upper_bound, rel=1e-9)
    assert at_lp >= at_mine - 2e-5 * abs(at_mine)  # mine are as good, to the dual_tol
    assert at_lp <= at_mine * (1 + 1e-4)  # and the LP's are optimal prices too
    assert res.upper_bound <= exact.stats["lp_bound"] * (1 + 1e-5)


def test_a_binding_maximum_is_worth_what_its_price_says(small):
    problem, _ = small
    base = solve(problem, "lagrangian", time_limit=60, rng=0)
    row = max(
        (int(k) for k in problem.coupling if not problem.constraints.is_min[k]),
        key=lambda k: base.shadow_prices[problem.label(k)],
    )
    price = base.shadow_prices[problem.label(row)]
    assert price > 0.01
    step = 0.02 * problem.constraints.bound[row]
    more, res = replan(
        problem,
        {problem.constraints.names[row]: problem.constraints.bound[row] + step},
        warm_start=base,
        time_limit=60,
    )
    gain = res.upper_bound - base.upper_bound
    slack = 1e-4 * abs(base.upper_bound)
    assert 0 < gain + slack and gain <= price * step + slack  # the bound is concave in b


def test_greedy_fill_breaks_minimums_that_the_planner_keeps(small):
    problem, exact = small
    greedy = solve(problem, "greedy")
    broken = {v.type for v in greedy.violations}
    assert not greedy.feasible and broken <= {"Minimum assignment", "Minimum sales"}
    assert np.isnan(greedy.upper_bound)


def test_same_seed_same_plan():
    problem = benchmark_instance(800, 25, 0.1, 20, rng=5)
    opts = {"target_gap": 0.0, "patience": 2}
    one = solve(problem, "lagrangian", time_limit=30, rng=7, options=opts)
    two = solve(problem, "lagrangian", time_limit=30, rng=7, options=opts)
    assert np.array_equal(one.chosen, two.chosen) and one.objective == two.objective
    again = benchmark_instance(800, 25, 0.1, 20, rng=5)
    assert np.array_equal(again.assignments.profit, problem.assignments.profit)


def test_replan_warm_start_matches_a_cold_solve():
    problem = benchmark_instance(1200, 30, 0.1, 20, rng=3)
    first = solve(problem, "lagrangian", time_limit=30)
    k = int(problem.coupling[4])  # call-centre budget
    name = problem.constraints.names[k]
    new, warm = replan(problem, {name: problem.constraints.bound[k] * 0.8}, warm_start=first)
    cold = solve(new, "lagrangian", time_limit=30)
    assert warm.feasible and cold.feasible
    assert warm.objective == pytest.approx(cold.objective, rel=2e-3)
    assert new.constraints.bound[k] == pytest.approx(problem.constraints.bound[k] * 0.8)
    assert problem.constraints.bound[k] != new.constraints.bound[k]  # the original is unchanged


@pytest.mark.parametrize("solver", ["exact", "lagrangian"])
def test_infeasible_names_the_conflicting_constraints(solver):
    problem = benchmark_instance(1500, 30, 0.1, 25, rng=4, infeasible=True)
    res = solve(problem, solver, time_limit=60)
    assert res.status == "infeasible" and not res.feasible
    assert any(c.startswith("2: Minimum assignment") for c in res.conflicting)
    assert "Infeasible" in res.message and "2: Minimum assignment" in res.message
    broken = [v for v in res.violations if not v.soft]
    assert [v.name for v in broken] == ["2"]
    assert broken[0].amount > 0 and res.n_chosen > 0  # a least-violation plan, not nothing


def _lp_feasible_only() -> PlanningProblem:
    """One customer, one activity: at most 0.5 assignments yet at least 0.5 expected sales."""
    acts = Activities(np.array(["a"]), [1], [0], [1.0], np.ones((1, 1), bool))
    asg = Assignments.from_pairs([0], [0], [10.0], [1.0], np.array(["c"]))
    cons = Constraints(
        kind=[1, 3],
        start=[1, 1],
        end=[9, 9],
        channels=np.ones((2, 1), bool),
        products=np.ones((2, 1), bool),
        bound=[0.5, 0.5],
        soft=[False, False],
        penalty=[0.0, 0.0],
        names=("cap", "target"),
    )
    return PlanningProblem(acts, asg, cons, Conflicts.empty(1, 1), ("mail",), ("p",))


def test_integer_infeasible_although_the_lp_is_feasible():
    problem = _lp_feasible_only()
    exact = solve(problem, "exact", time_limit=20)
    assert exact.status == "infeasible"
    assert {c.split(":")[0] for c in exact.conflicting} == {"cap", "target"}
    lagr = solve(problem, "lagrangian", time_limit=20)
    assert not lagr.feasible and lagr.status == "no_plan"  # the relaxation cannot prove it
    assert "not proved impossible" in lagr.message and lagr.violations


@pytest.mark.parametrize("solver", ["exact", "lagrangian"])
def test_soft_constraints_are_paid_for_instead_of_failing(solver):
    problem = benchmark_instance(1500, 30, 0.1, 25, rng=4, infeasible=True)
    soft = problem.with_soft({"Minimum assignment": 3.0})
    res = solve(soft, solver, time_limit=60)
    assert res.feasible and res.status in ("optimal", "feasible")
    paid = [v for v in res.violations if v.soft]
    assert paid and all(v.type == "Minimum assignment" for v in paid)
    assert res.penalty == pytest.approx(sum(v.amount * 3.0 for v in paid))
    assert res.objective == pytest.approx(res.profit - res.penalty)
    dear = solve(problem.with_soft({"Minimum assignment": 1e4}), solver, time_limit=60)
    short = sum(v.amount for v in dear.violations)
    assert short <= sum(v.amount for v in paid) + 1e-6  # a dearer shortfall is not larger


def test_soft_maximum_contact_is_exceeded_only_when_it_pays():
    problem = benchmark_instance(600, 25, 0.15, 15, rng=2).with_bounds({"9": 1})
    cheap = problem.with_soft({"Maximum contact": 0.5})
    exact = solve(cheap, "exact", time_limit=60)
    lagr = solve(cheap, "lagrangian", time_limit=60)
    over = [v for v in exact.violations if v.type == "Maximum contact"]
    assert over and over[0].soft and over[0].penalty == pytest.approx(0.5 * over[0].amount)
    dear = solve(problem.with_soft({"Maximum contact": 50.0}), "lagrangian", time_limit=60)
    more = [v for v in dear.violations if v.type == "Maximum contact"]
    assert sum(v.amount for v in more) < over[0].amount  # dearer: fewer extra contacts
    assert lagr.objective >= (1 - TOLERANCE) * exact.objective
    assert lagr.upper_bound >= exact.objective - 1e-6 * abs(exact.objective)


def test_auto_and_bad_options():
    problem = benchmark_instance(300, 20, 0.1, 10, rng=1)
    assert solve(problem, "auto", time_limit=20).solver == "exact"
    with pytest.raises(OptionError, match="solver"):
        solve(problem, "simplex")
    with pytest.raises(OptionError, match="no option"):
        solve(problem, "lagrangian", options={"temperature": 1})
    with pytest.raises(OptionError, match="time_limit"):
        solve(problem, "exact", time_limit=0)


def test_a_bound_change_keeps_the_elastic_penalties_it_does_not_change():
    """The elastic penalties depend on the rows' coefficients, not on the bounds: a re-plan
    reuses them, and they equal those computed afresh."""
    import dataclasses

    from core.planning._base import big_penalties

    problem = benchmark_instance(400, 20, 0.1, 10, rng=6)
    first = big_penalties(problem)
    k = int(problem.coupling[0])
    moved = problem.with_bounds({k: problem.constraints.bound[k] * 0.5})
    assert moved.__dict__["big_penalties"] is problem.__dict__["big_penalties"]
    fresh = dataclasses.replace(moved)  # no cached structure
    assert "big_penalties" not in fresh.__dict__
    assert np.array_equal(big_penalties(moved), big_penalties(fresh))
    assert np.array_equal(big_penalties(moved), first)
    prefer = big_penalties(moved, (k,))  # the others cost 1000 times more; the cache unchanged
    assert prefer[k] == first[k] and np.array_equal(big_penalties(moved), first)


def test_a_replan_with_unchanged_bounds_stops_at_once_with_the_same_plan_and_a_valid_bound():
    """The early stop of a re-plan: its previous plan still keeps every constraint and is
    within ``target_gap`` of the bound the moved cuts give, so the dual stops at its first
    evaluation and the plan is kept; the bound stays a true bound (HiGHS referees)."""
    problem = benchmark_instance(1200, 30, 0.1, 20, rng=3)
    first = solve(problem, "lagrangian", time_limit=30)
    assert first.feasible and first.gap <= 1e-3
    k = int(problem.coupling[4])
    same, again = replan(problem, {k: problem.constraints.bound[k]}, warm_start=first)
    assert again.stats["dual_stopped"] == "gap" and again.stats["dual_iterations"] == 1
    assert again.stats["warm_within_gap"] and again.stats["repair_rounds"] == 0
    assert np.array_equal(again.chosen, first.chosen)
    assert again.objective == pytest.approx(first.objective, rel=1e-12)
    assert again.gap <= 1e-3
    exact = solve(same, "exact", time_limit=120)
    assert exact.status == "optimal"
    assert again.upper_bound >= exact.objective - 1e-6 * abs(exact.objective)
    # a bound that moved: the dual runs, and stops by a rule with an honest bound
    moved, after = replan(problem, {k: problem.constraints.bound[k] * 0.9}, warm_start=first)
    ref = solve(moved, "exact", time_limit=120)
    assert after.feasible and after.stats["dual_iterations"] > 1
    assert after.upper_bound >= ref.objective - 1e-6 * abs(ref.objective)
    assert after.objective >= (1 - TOLERANCE) * ref.objective


def test_the_dual_stops_when_its_bound_stalls_and_each_stop_gives_a_valid_bound():
    from core.planning._relaxation import Relaxation, minimise_dual
    from core.planning.lagrangian import DEFAULTS

    problem = benchmark_instance(600, 20, 0.1, 12, rng=2)
    exact = solve(problem, "exact", time_limit=120)
    assert exact.status == "optimal"
    rel = Relaxation(problem, DEFAULTS)
    far = time.perf_counter() + 60

    def run(**kw):
        return minimise_dual(rel, None, deadline=far, tol=1e-9, max_iter=400, **kw)

    full = run()
    stalled = run(stall=(3, 1.0))  # any three serious steps "stall" at a 100 % tolerance
    assert stalled.stopped == "stall" and 4 <= stalled.iterations < full.iterations
    never = run(stall=(3, 0.0))  # a serious step always brings L down: never a stall
    assert never.stopped == "" and never.iterations == full.iterations
    at_once = run(known=exact.objective, gap_tol=10.0)
    assert at_once.stopped == "gap" and at_once.iterations == 1
    for dual in (full, stalled, never, at_once):
        assert dual.best.value >= exact.objective - 1e-6 * abs(exact.objective)
        assert dual.best.value == pytest.approx(rel.evaluate(dual.best.lam).value, rel=1e-9)
    assert full.best.value <= stalled.best.value


def test_the_repair_offers_every_set_only_when_the_program_fits_the_time(monkeypatch):
    """HiGHS can overrun its time limit by minutes on a huge program (HiGHS #885/#2226): the
    exhaustive repair program is built only when its columns (counted exactly, as
    :func:`every_columns` does) fit ``every_columns`` and the time left."""
    from core.planning import _primal
    from core.planning._relaxation import Relaxation
    from core.planning._repair import candidates
    from core.planning.lagrangian import DEFAULTS

    problem = benchmark_instance(300, 20, 0.15, 8, rng=5)
    first = solve(problem, "lagrangian", time_limit=30)
    k = 5  # the budget of direct mail, email and text messages: halved, the plan must move
    assert (
        k in problem.coupling and problem.constraints.kind[k] == problem.constraints.kind[4]
    )  # budgets
    tight = {k: problem.constraints.bound[k] * 0.5}
    offered: list[bool] = []
    real = _primal.improve

    def spy(*args, **kw):
        offered.append(bool(kw.get("every")))
        return real(*args, **kw)

    monkeypatch.setattr(_primal, "improve", spy)
    opts = {"neighbourhood": 5000}
    _, free = replan(problem, tight, warm_start=first, time_limit=30, options=opts)
    assert free.feasible and any(offered)  # small enough: every set is offered
    offered.clear()
    capped = dict(opts, every_columns=10)
    _, guarded = replan(problem, tight, warm_start=first, time_limit=30, options=capped)
    assert offered and not any(offered) and guarded.stats["exhaustive_skipped"] >= 1
    assert guarded.status in ("optimal", "feasible", "no_plan")  # never "infeasible" unproved

    rel = Relaxation(problem, DEFAULTS)
    everyone = np.arange(problem.n_customers)
    built = candidates(
        everyone,
        rel.layout,
        rel.families,
        rel.profit,
        rel.profit,
        np.zeros(len(rel.profit), bool),
        top=4,
        slack=0.0,
        every=True,
        real=rel.real,
    )
    count = _primal.every_columns(rel, everyone)
    assert count - 2 * len(everyone) <= len(built.customer) <= count  # repeats removed


def test_a_replan_reuses_the_relaxation_s_structure_and_gets_the_same_dual_function():
    """The chunks, layout and price scale do not depend on the coupling bounds: the relaxation
    of ``with_bounds`` reuses them (no rebuild per slider step) and evaluates ``L`` exactly as
    a relaxation built afresh; a changed contact rule builds its own."""
    import dataclasses

    from core.planning._relaxation import Relaxation
    from core.planning.lagrangian import DEFAULTS

    problem = benchmark_instance(400, 20, 0.1, 10, rng=6)
    rel = Relaxation(problem, DEFAULTS)
    k = int(next(k for k in problem.coupling if problem.constraints.bound[k] > 0))
    moved = problem.with_bounds({k: problem.constraints.bound[k] * 0.5})
    again = Relaxation(moved, DEFAULTS)
    fresh = Relaxation(dataclasses.replace(moved), DEFAULTS)  # no cached structure
    assert again.chunks is rel.chunks and fresh.chunks is not rel.chunks
    assert np.array_equal(again.bound, fresh.bound) and not np.array_equal(again.bound, rel.bound)
    lam = np.random.default_rng(0).uniform(0, 1, len(rel.rows)) * rel.scale
    a, b = again.evaluate(lam, top=2, plan=True), fresh.evaluate(lam, top=2, plan=True)
    assert a.value == pytest.approx(b.value, rel=1e-12) and np.allclose(a.grad, b.grad)
    assert np.array_equal(again.chosen(a), fresh.chosen(b))
    c = int(problem.contact[0])
    rules = problem.with_bounds({c: problem.constraints.bound[c] + 1})
    assert Relaxation(rules, DEFAULTS).chunks is not rel.chunks
