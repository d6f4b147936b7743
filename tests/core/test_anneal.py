"""The vectorized annealer: feasibility, monotonicity, reproducibility, batching."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.anneal import anneal, move_table
from core.baselines import greedy
from core.exact import exact
from core.journeys import is_feasible, random_problem, structured_instance
from core.schedules import SCHEDULES

ROOT = Path(__file__).resolve().parents[2]
FAST = {"iters": 40, "chain_factor": 4.0}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 6), polish=st.booleans())
def test_feasible_never_worse_than_start_and_never_better_than_exact(seed, p, polish):
    pb = random_problem(15, p, rng=seed)
    res = anneal(pb, rng=seed, polish=polish, **FAST)
    assert is_feasible(pb, res.journeys).all()
    assert (res.scores >= greedy(pb).scores - 1e-9).all()
    assert (exact(pb).scores >= res.scores - 1e-9).all()


def test_never_worse_than_a_given_start():
    pb = structured_instance(200, "full", rng=4)
    start = exact(pb).journeys  # the optimum as start: annealing must keep it
    res = anneal(pb, rng=1, init=start, polish=False, **FAST)
    assert np.array_equal(res.scores, exact(pb).scores)


def test_infeasible_start_is_rejected():
    pb = structured_instance(5, "seed", rng=0)
    bad = np.full((5, 5), -1)
    bad[:, :2] = [3, 3]
    with pytest.raises(ValueError, match="infeasible"):
        anneal(pb, init=bad)


def test_independent_of_batch_size_and_of_the_other_customers():
    pb = structured_instance(60, "full", rng=2)
    a = anneal(pb, rng=9, batch_size=7, **FAST)
    b = anneal(pb, rng=9, batch_size=1000, **FAST)
    assert np.array_equal(a.journeys, b.journeys)
    idx = np.array([50, 3, 17])
    c = anneal(pb.subset(idx), rng=9, **FAST)
    assert np.array_equal(c.journeys, a.journeys[idx])


def test_same_seed_same_result_string_ids():
    pb = replace(
        structured_instance(40, "seed", rng=3),
        customer_ids=np.array([f"{i:04d}-CUST" for i in range(40)]),
    )
    a, b = anneal(pb, rng=123, **FAST), anneal(pb, rng=123, **FAST)
    assert np.array_equal(a.journeys, b.journeys) and a.seed == 123
    assert {k: v.tolist() for k, v in a.trace.items()} == {
        k: v.tolist() for k, v in b.trace.items()
    }


_SNIPPET = """
import hashlib
from core.anneal import anneal
from core.journeys import structured_instance
res = anneal(structured_instance(80, "full", rng=8), rng=77, iters=40, chain_factor=4.0)
print(hashlib.sha256(res.journeys.tobytes() + res.scores.tobytes()).hexdigest())
"""


def test_deterministic_across_processes():
    out = subprocess.run(
        [sys.executable, "-c", _SNIPPET], cwd=ROOT, capture_output=True, text=True, check=True
    )
    res = anneal(structured_instance(80, "full", rng=8), rng=77, iters=40, chain_factor=4.0)
    here = hashlib.sha256(res.journeys.tobytes() + res.scores.tobytes()).hexdigest()
    assert out.stdout.strip() == here


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_runs_and_traces(schedule):
    pb = structured_instance(50, "full", rng=5)
    res = anneal(pb, rng=0, schedule=schedule, iters=30, restarts=0, chain_factor=None)
    assert is_feasible(pb, res.journeys).all()
    assert res.nit == 30 and res.trace["iteration"].tolist() == list(range(1, 31))
    assert set(res.trace) == {
        "iteration",
        "best_mean",
        "current_mean",
        "temperature",
        "acceptance_rate",
        "active",
    }
    assert np.all(np.diff(res.trace["best_mean"]) >= -1e-9)  # best so far never drops
    assert res.params["schedule"] == schedule


def test_geometric_trace_follows_the_schedule():
    pb = structured_instance(30, "seed", rng=5)
    res = anneal(
        pb,
        rng=0,
        t0=50.0,
        iters=25,
        restarts=0,
        chain_factor=None,
        polish=False,
        schedule_params={"alpha": 0.9},
    )
    assert np.allclose(res.trace["temperature"], 50.0 * 0.9 ** np.arange(25))


def test_callback_reports_progress_and_can_stop():
    pb = structured_instance(100, "full", rng=1)
    seen = []

    def cb(info):
        seen.append(info)
        return info["iteration"] >= 20

    res = anneal(pb, rng=0, callback=cb, callback_every=10, iters=100, chain_factor=None)
    assert [i["iteration"] for i in seen] == [10, 20]
    assert res.message == "stopped by callback" and res.nit == 20
    assert is_feasible(pb, res.journeys).all()


def test_move_table_rows_are_permutations_with_consistent_lengths():
    table = move_table(6, 4)
    assert np.array_equal(np.sort(table.rows, axis=1), np.tile(np.arange(6), (len(table.rows), 1)))
    # K = 6 candidates, journey length 2: 1 swap, 2 inserts, 8 replaces, 12 extends, 2 shortens
    kl = 6 * 5 + 2
    assert table.tcnt[kl * 6 : kl * 6 + 6].tolist() == [1, 2, 0, 8, 12, 2]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"t0": "hot"}, "t0"),
        ({"t0": -1.0}, "t0"),
        ({"schedule": "quench"}, "unknown schedule"),
        ({"moves": {"teleport": 1.0}}, "unknown moves"),
        ({"moves": {"swap": 1.0}}, "extend"),
        ({"batch_size": 0}, "batch_size"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_bad_options_raise(options, match):
    with pytest.raises(ValueError, match=match):
        anneal(structured_instance(3, "seed", rng=0), **options)
