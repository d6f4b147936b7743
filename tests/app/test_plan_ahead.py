"""The Plan page's steps planned ahead (ui.plan_ahead) without a page: which moves start a
chain, the chain's steps, that each is the plan the page would show, and that it ends."""

from __future__ import annotations

import numpy as np
import pytest

import ui.plan_ahead as pa
from core.planning import benchmark_instance, solve
from core.planning.checker import check_plan


def test_one_step_is_exactly_one_bound_moved_by_its_sliders_step():
    steps = {"a": 100.0, "b": 5.0}
    assert pa.one_step({"a": 0.0, "b": 10.0}, {"a": 100.0, "b": 10.0}, steps) == ("a", 100.0)
    assert pa.one_step({"a": 300.0, "b": 10.0}, {"a": 200.0, "b": 10.0}, steps) == ("a", -100.0)
    assert pa.one_step({"a": 0.0, "b": 10.0}, {"a": 200.0, "b": 10.0}, steps) is None  # a jump
    assert pa.one_step({"a": 0.0, "b": 10.0}, {"a": 100.0, "b": 15.0}, steps) is None  # two
    assert pa.one_step({"a": 0.0, "b": 10.0}, {"a": 0.0, "b": 10.0}, steps) is None  # none
    assert pa.one_step({"a": 0.0}, {"a": 100.0, "b": 1.0}, steps) is None  # other rows


def test_a_chain_steps_along_its_slider_within_its_range():
    chain = pa.Chain("a", -100.0, 0.0, 600.0, {"a": 200.0, "b": 7.0}, seed=0)
    assert chain.bounds_at(0) == {"a": 100.0, "b": 7.0}
    assert chain.bounds_at(1) == {"a": 0.0, "b": 7.0}
    assert chain.bounds_at(2) is None  # below the slider's low end


def _instance():
    problem = benchmark_instance(300, 20, 0.1, 10, rng=3)
    first = solve(problem, "lagrangian", time_limit=20, rng=0)
    k = int(problem.coupling[0])
    return problem, first, problem.constraints.names[k], float(problem.constraints.bound[k])


def test_the_chain_plans_its_steps_as_the_page_would_and_stops_when_left(monkeypatch):
    monkeypatch.setattr(pa, "IDLE_SECONDS", 0.5)
    problem, first, name, bound = _instance()
    origin = {
        problem.constraints.names[k]: float(problem.constraints.bound[k]) for k in problem.coupling
    }
    chain = pa.Chain(name, 0.05 * bound, 0.0, 3 * bound, origin, seed=0)
    thread = pa.start(chain, problem, first, None)
    thread.join(120)  # LEAD steps, then nobody follows: it ends
    assert not thread.is_alive()
    assert len(chain.jobs) == pa.LEAD
    prev = first
    for i, job in enumerate(chain.jobs):
        assert job.done.is_set() and job.error is None and job.result is not None
        new, result = job.result
        assert new.constraints.bound[problem.coupling[0]] == pytest.approx(
            bound + (i + 1) * 0.05 * bound
        )
        mask = np.zeros(new.n_assignments, dtype=bool)
        mask[result.chosen] = True
        assert result.feasible and check_plan(new, mask).feasible
        assert result.upper_bound >= result.objective - 1e-6  # a proved gap
        assert result.objective >= prev.objective - 1e-6  # a raised bound: never worse
        prev = result


def test_a_stopped_chain_ends_and_plans_nothing_more():
    problem, first, name, bound = _instance()
    origin = {
        problem.constraints.names[k]: float(problem.constraints.bound[k]) for k in problem.coupling
    }
    chain = pa.Chain(name, 0.05 * bound, 0.0, 3 * bound, origin, seed=0)
    chain.stop()
    thread = pa.start(chain, problem, first, None)
    thread.join(60)
    assert not thread.is_alive() and chain.jobs == []
