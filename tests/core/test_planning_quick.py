"""The Plan page's quick answer after a bound moved (core.planning.quick): a plan that keeps the
new bounds and a proved bound, refereed by the relaxation itself and by HiGHS."""

from __future__ import annotations

import numpy as np
import pytest

from core.planning import benchmark_instance, check_plan, replan, solve
from core.planning._relaxation import Relaxation
from core.planning.lagrangian import DEFAULTS
from core.planning.quick import (
    CHANGED,
    DROPPED,
    QUICK,
    bound_at_prices,
    drop_repair,
    move_customers,
    quick_replan,
)


@pytest.fixture(scope="module")
def planned():
    problem = benchmark_instance(300, 16, 0.15, 10, rng=7)
    first = solve(problem, "lagrangian", time_limit=30, rng=0)
    assert first.feasible
    return problem, first


def _max_rows(problem):
    c = problem.constraints
    return [int(k) for k in problem.coupling if not c.is_min[k] and not c.soft[k]]


def test_the_bound_is_the_dual_function_at_the_previous_prices(planned):
    problem, first = planned
    for k in problem.coupling:
        for factor in (0.7, 1.3):
            new = problem.with_bounds({int(k): problem.constraints.bound[k] * factor})
            bound = bound_at_prices(problem, first, new)
            rel = Relaxation(new, DEFAULTS)
            lam = np.maximum(rel.sense * np.nan_to_num(first.duals[rel.rows]), 0.0)
            assert bound == pytest.approx(rel.evaluate(lam).value, rel=1e-9, abs=1e-6)


def test_no_bound_from_another_solver_or_when_a_contact_rule_moves(planned):
    problem, first = planned
    exact = solve(problem, "exact", time_limit=60)
    k = int(problem.coupling[0])
    moved = problem.with_bounds({k: problem.constraints.bound[k] * 0.9})
    assert np.isnan(bound_at_prices(problem, exact, moved))
    if len(problem.contact):
        c = int(problem.contact[0])
        rules = problem.with_bounds({c: problem.constraints.bound[c] + 1})
        assert np.isnan(bound_at_prices(problem, first, rules))
        assert (
            quick_replan(problem, {c: problem.constraints.bound[c] + 1}, warm_start=first)[1]
            is None
        )


def test_quick_answers_keep_the_new_bounds_and_their_gap_is_proved_by_highs(planned):
    """Every coupling bound moved down and up: each quick answer keeps every constraint of the
    new bounds (the independent checker) and its bound is above HiGHS's optimum."""
    problem, first = planned
    kinds = {"kept": 0, "repaired": 0}
    for k in problem.coupling:
        for factor in (0.8, 1.2):
            bounds = {int(k): float(problem.constraints.bound[k] * factor)}
            new, quick = quick_replan(problem, bounds, warm_start=first)
            if quick is None:  # a minimum raised beyond the plan: the page re-plans
                assert problem.constraints.is_min[k] and factor > 1
                continue
            assert quick.stats[QUICK] is True
            assert quick.feasible and check_plan(new, quick.chosen).feasible
            kinds["repaired" if quick.stats[DROPPED] else "kept"] += 1
            exact = solve(new, "exact", time_limit=60)
            assert exact.status == "optimal"
            assert quick.upper_bound >= exact.objective - 1e-6 * abs(exact.objective)
            assert quick.objective <= exact.objective + 1e-6 * abs(exact.objective)
            assert 0.0 <= quick.gap
            assert quick.gap == pytest.approx(
                (quick.upper_bound - quick.objective) / abs(quick.upper_bound)
            )
    assert kinds["kept"] and kinds["repaired"], kinds


def test_a_lowered_cap_drops_the_least_valuable_contacts_it_covers(planned):
    problem, first = planned
    k = next(r for r in _max_rows(problem) if problem.coefficients([r], first.chosen).sum() > 0)
    used = problem.coefficients([k], first.chosen).sum()
    new, quick = quick_replan(problem, {k: used * 0.9}, warm_start=first)
    assert quick is not None and quick.stats[DROPPED] > 0
    dropped = np.setdiff1d(first.chosen, quick.chosen)
    assert np.all(np.isin(quick.chosen, first.chosen))  # only drops
    assert len(dropped) == quick.stats[DROPPED]
    assert np.all(problem.coefficients([k], dropped) > 0)  # each covered by the lowered row
    assert problem.coefficients([k], quick.chosen).sum() <= used * 0.9 + 1e-9


def test_drop_repair_gives_up_when_a_minimum_would_break(planned):
    problem, first = planned
    mask = np.zeros(problem.n_assignments, dtype=bool)
    mask[first.chosen] = True
    c = problem.constraints
    mins = [int(k) for k in problem.coupling if c.is_min[k] and not c.soft[k]]
    if not mins:
        pytest.skip("no hard minimum in this instance")
    m = mins[0]
    used = problem.coefficients([m], first.chosen).sum()
    raised = problem.with_bounds({m: used * 1.5})
    assert drop_repair(raised, mask) is None


def test_a_replan_from_the_quick_answer_is_no_worse_and_chains(planned):
    problem, first = planned
    k = _max_rows(problem)[0]
    b = float(problem.constraints.bound[k])
    new, quick = quick_replan(problem, {k: b * 0.85}, warm_start=first)
    assert quick is not None
    refined_problem, refined = replan(new, {}, warm_start=quick, time_limit=10)
    assert refined.feasible and refined.objective >= quick.objective - 1e-9
    # a quick answer from a quick answer: the bound still the dual function at those prices
    again, second = quick_replan(new, {k: b * 0.8}, warm_start=quick)
    assert second is not None and second.feasible
    shifted = bound_at_prices(new, quick, again)
    assert shifted == pytest.approx(_dual_value(again, quick), rel=1e-9, abs=1e-6)
    assert second.upper_bound <= shifted + 1e-9  # the line search's lowest L, when lower
    assert second.upper_bound == pytest.approx(_dual_value(again, second), rel=1e-9, abs=1e-6)


def _dual_value(problem, result):
    """``L`` of ``problem`` at ``result``'s multipliers, evaluated afresh by the relaxation."""
    rel = Relaxation(problem, DEFAULTS)
    lam = np.maximum(rel.sense * np.nan_to_num(result.duals[rel.rows]), 0.0)
    return rel.evaluate(lam).value


def test_a_raised_budget_uses_the_freed_room_and_its_bound_is_proved_by_highs(planned):
    """The binding budget raised: the quick answer changes customers' sets to use the room, so
    it beats the previous plan; it keeps every constraint (the checker), its bound is ``L`` at
    the multipliers it reports (no worse than at the previous ones) and above HiGHS's optimum."""
    problem, first = planned
    c = problem.constraints
    budgets = [k for k in _max_rows(problem) if c.kind[k] == 2]  # Budget rows
    k = max(budgets, key=lambda r: first.duals[r])
    assert first.duals[k] > 0  # it binds
    bounds = {k: float(c.bound[k] * 1.2)}
    _, previous = quick_replan(problem, bounds, warm_start=first, use_room=False)
    new, quick = quick_replan(problem, bounds, warm_start=first)
    assert previous is not None and quick is not None
    assert np.array_equal(previous.chosen, first.chosen)
    assert check_plan(new, quick.chosen).feasible and quick.feasible
    assert quick.stats[CHANGED] > 0
    assert quick.objective > previous.objective + 1e-6 * abs(previous.objective)
    used = new.coefficients([k], quick.chosen).sum()
    assert c.bound[k] < used <= bounds[k] + 1e-9  # into the freed room, not beyond it
    assert quick.upper_bound <= previous.upper_bound + 1e-9
    assert quick.upper_bound == pytest.approx(_dual_value(new, quick), rel=1e-9, abs=1e-6)
    assert quick.shadow_prices[new.label(k)] == pytest.approx(quick.duals[k])
    exact = solve(new, "exact", time_limit=60)
    assert exact.status == "optimal"
    assert quick.upper_bound >= exact.objective - 1e-6 * abs(exact.objective)
    assert quick.objective <= exact.objective + 1e-6 * abs(exact.objective)
    # a quick answer from this one (the budget lowered back): the bound still L at its prices
    again, second = quick_replan(new, {k: float(c.bound[k])}, warm_start=quick)
    assert second is not None and check_plan(again, second.chosen).feasible
    assert second.upper_bound == pytest.approx(_dual_value(again, second), rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("seed", [3, 11])
def test_freed_room_answers_keep_every_rule_and_never_lose_to_the_previous_plan(seed):
    """Every hard maximum raised and lowered and every minimum lowered, on other instances: the
    quick answer keeps every constraint (the checker), is at least the previous plan's (after
    the drops), and its bound is above HiGHS's optimum."""
    problem = benchmark_instance(200, 12, 0.15, 10, rng=seed)
    first = solve(problem, "lagrangian", time_limit=30, rng=0)
    assert first.feasible
    c = problem.constraints
    moves = [(k, f) for k in _max_rows(problem) for f in (1.25, 0.8)]
    moves += [(int(k), 0.8) for k in problem.coupling if c.is_min[k]]
    for k, factor in moves:
        bounds = {k: float(c.bound[k] * factor)}
        _, previous = quick_replan(problem, bounds, warm_start=first, use_room=False)
        new, quick = quick_replan(problem, bounds, warm_start=first)
        if previous is None:  # a lowered cap the drops cannot mend: the page re-plans
            assert quick is None and factor < 1
            continue
        assert quick is not None
        assert check_plan(new, quick.chosen).feasible
        assert quick.objective >= previous.objective - 1e-9 * abs(previous.objective)
        assert quick.upper_bound <= previous.upper_bound + 1e-9
        exact = solve(new, "exact", time_limit=60)
        assert exact.status == "optimal"
        assert quick.upper_bound >= exact.objective - 1e-6 * abs(exact.objective)


def test_moves_keep_every_coupling_row_at_prices_that_ask_for_more_than_the_room(planned):
    """The budget raised by 2 % and its price set to 0: every customer's best set asks for
    far more than the room; the moves taken fill it without breaking any row (the checker)."""
    problem, first = planned
    c = problem.constraints
    k = max((r for r in _max_rows(problem) if c.kind[r] == 2), key=lambda r: first.duals[r])
    new = problem.with_bounds({k: float(c.bound[k] * 1.02)})
    rel = Relaxation(new, DEFAULTS)
    raised = rel.rows == k
    lam = np.where(raised, 0.0, np.maximum(rel.sense * np.nan_to_num(first.duals[rel.rows]), 0))
    ev = rel.evaluate(lam, plan=True)
    asked = rel.to_original(rel.chosen(ev))
    assert new.coefficients([k], np.flatnonzero(asked)).sum() > c.bound[k] * 1.02 + 1.0
    mask = np.zeros(new.n_assignments, dtype=bool)
    mask[first.chosen] = True
    out = move_customers(new, rel, mask, [ev], np.nan_to_num(first.duals[rel.rows]), raised)
    check = check_plan(new, out)
    assert check.feasible, [v.describe() for v in check.violations]
    assert not np.array_equal(out, mask)
    assert check.objective > first.objective
