"""Temperature schedules: each one against its formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.solvers.schedules import SCHEDULES, Schedule, check_params, temperature

K = np.arange(0, 200)


def test_geometric_formula():
    assert np.allclose(temperature("geometric", 50.0, K, alpha=0.9), 50.0 * 0.9**K, rtol=1e-12)


def test_geometric_final_ratio_reaches_target_at_steps():
    t = temperature("geometric", 8.0, [0, 100], steps=100, final_ratio=1e-3)
    assert t[0] == 8.0 and math.isclose(t[1], 8e-3, rel_tol=1e-9)


def test_linear_formula_and_floor():
    t = temperature("linear", 10.0, K, steps=150)
    assert np.allclose(t, 10.0 * np.maximum(0.0, 1 - K / 150))
    assert t[150:].max() == 0.0


def test_logarithmic_formula():
    assert np.allclose(temperature("logarithmic", 3.0, K), 3.0 / np.log(K + math.e))
    assert temperature("logarithmic", 3.0, 0) == pytest.approx(3.0)


def test_cauchy_formula():
    assert np.allclose(temperature("cauchy", 7.0, K), 7.0 / (1.0 + K))


def test_lundy_mees_recursion_and_closed_form():
    beta, t0 = 0.05, 20.0
    t = temperature("lundy-mees", t0, K, beta=beta)
    assert np.allclose(t[1:], t[:-1] / (1 + beta * t[:-1]), rtol=1e-12)
    derived = temperature("lundy-mees", t0, [0, 80], steps=80, final_ratio=0.01)
    assert derived[1] == pytest.approx(0.2, rel=1e-9)


def test_adaptive_replays_update_rule():
    acc = np.r_[np.ones(20), np.zeros(20), np.full(20, 0.5)]
    p = {"target": 0.4, "target_end": 0.4, "gain": 0.3, "smoothing": 0.2}
    t = temperature("adaptive", 5.0, np.arange(61), acceptance=acc, **p)
    ema, expected = 0.4, [5.0]
    for a in acc:
        ema += 0.2 * (a - ema)
        expected.append(expected[-1] * math.exp(0.3 * (0.4 - ema)))
    assert np.allclose(t, expected, rtol=1e-12)
    # accepting more than the target cools, accepting less heats
    assert t[20] < t[0] and t[40] > t[20]


def test_adaptive_needs_acceptance():
    with pytest.raises(ValueError, match="acceptance"):
        temperature("adaptive", 1.0, 3)


@pytest.mark.parametrize("name", [s for s in SCHEDULES if s != "adaptive"])
def test_stateful_schedule_matches_closed_form(name):
    t0 = np.array([1.0, 30.0, 500.0])
    params = {"steps": 60}
    sched = Schedule(name, t0, **params)
    for k in range(1, 61):
        sched.step(np.zeros(3, dtype=bool))
        assert np.allclose(sched.t, temperature(name, t0, k, **params), rtol=1e-9, atol=0)


def test_stateful_adaptive_matches_replay():
    rng = np.random.default_rng(0)
    acc = rng.random(50) < 0.3
    sched = Schedule("adaptive", np.array([4.0]), steps=50)
    for a in acc:
        sched.step(np.array([a]))
    replay = temperature("adaptive", 4.0, 50, steps=50, acceptance=acc.astype(float))
    assert sched.t[0] == pytest.approx(float(replay), rel=1e-12)


def test_restart_and_take_are_per_customer():
    sched = Schedule("geometric", np.array([10.0, 20.0]), alpha=0.5)
    sched.step(np.zeros(2, dtype=bool))
    sched.restart(np.array([True, False]), np.array([3.0]))
    assert sched.t.tolist() == [3.0, 10.0]
    sched.take(np.array([1]))
    assert sched.t.tolist() == [10.0]


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("boltzmann", {}, "unknown schedule"),
        ("geometric", {"alpha": 1.5}, "alpha"),
        ("geometric", {"beta": 1.0}, "no parameter"),
        ("linear", {}, "steps"),
        ("adaptive", {"target": 0.0}, "target"),
    ],
)
def test_bad_parameters_raise(name, params, match):
    with pytest.raises(ValueError, match=match):
        temperature(name, 1.0, [0, 1], **params)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["geometric", "logarithmic", "cauchy", "lundy-mees", "linear"]),
    t0=st.floats(0.01, 1e4),
)
def test_closed_forms_start_at_t0_and_never_increase(name, t0):
    params = check_params(name, {"steps": 100})
    t = temperature(name, t0, np.arange(300), **params)
    assert t[0] == pytest.approx(t0)
    assert np.all(np.diff(t) <= 1e-12 * t0)
    assert np.all(t >= 0)
