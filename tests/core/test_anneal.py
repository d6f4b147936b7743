"""The vectorized annealer: feasibility, monotonicity, reproducibility, batching."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import OptionError
from core.journeys import (
    JourneyProblem,
    evaluate,
    evaluate_cols,
    greedy_batch,
    is_feasible,
    prepare,
    random_problem,
    structured_instance,
)
from core.solvers.anneal import (
    AnnealOptions,
    Scorer,
    anneal,
    beam_start,
    lookahead_start,
    move_table,
    pool_search,
    walk_start,
)
from core.solvers.baselines import greedy
from core.solvers.exact import exact
from core.solvers.schedules import SCHEDULES

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
from core.solvers.anneal import anneal
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
        ({"pool": -1}, "pool"),
        ({"pool_rounds": -1}, "pool"),
        ({"beam": -1}, "beam"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_bad_options_raise(options, match):
    with pytest.raises(ValueError, match=match):
        anneal(structured_instance(3, "seed", rng=0), **options)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 7), m=st.integers(1, 40))
def test_fast_scorer_is_bit_identical_to_evaluate_cols(seed, p, m):
    pb = random_problem(12, p, rng=seed)
    prep = prepare(pb)
    gen = np.random.default_rng(seed)
    rows = gen.integers(0, pb.n_customers, m)
    cols = np.stack([gen.permutation(p) for _ in range(m)], axis=1)[: prep.length]
    lengths = gen.integers(0, prep.length + 1, m)
    scorer = Scorer(prep)
    chk = scorer.checked(rows)
    fast = scorer(scorer.bases(rows), chk, prep.held_bits[rows[chk]], cols, lengths)
    assert np.array_equal(fast, evaluate_cols(prep, rows, cols, lengths))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 7))
def test_starts_are_feasible_lookahead_beats_greedy_and_the_walk_bounds_the_optimum(seed, p):
    pb = random_problem(30, p, rng=seed)
    prep = prepare(pb)
    rows = np.arange(pb.n_customers)
    seqs, lengths = lookahead_start(prep)
    assert is_feasible(pb, seqs).all()
    g_seqs, g_len = greedy_batch(prep)
    assert (evaluate(prep, rows, seqs, lengths) >= evaluate(prep, rows, g_seqs, g_len)).all()
    w_seqs, w_len, bound = walk_start(prep)  # a start before repair: distinct candidates
    assert (bound >= exact(pb).scores - 1e-9).all()  # the walk's value bounds the optimum
    walk = np.where(w_seqs >= 0, w_seqs, 0)
    assert prep.cand[rows[:, None], walk][w_seqs >= 0].all()
    for r in rows:
        assert len(set(w_seqs[r, : w_len[r]].tolist())) == w_len[r]


def test_complete_neighbourhoods_reach_every_journey():
    table = move_table(4, 3)
    for k in range(5):
        everything = {tuple(s) for ell in range(min(k, 3) + 1) for s in permutations(range(k), ell)}
        for ell in range(min(k, 3) + 1):
            kl = k * 4 + ell
            rows = table.rows[table.start[kl] : table.start[kl] + table.total[kl]]
            dl = table.dlen[table.start[kl] : table.start[kl] + table.total[kl]]
            reach = {tuple(range(ell))} | {
                tuple(r[: ell + d]) for r, d in zip(rows, dl, strict=True)
            }
            assert table.complete[kl] == (reach == everything)
    assert table.complete[1 * 4 + 0] and table.complete[2 * 4 + 1]
    assert not table.complete[3 * 4 + 1]


def test_customers_with_a_complete_start_are_solved_without_annealing():
    pb = random_problem(300, 2, rng=3, p_held=0.2)
    res = anneal(pb, rng=0)
    assert np.allclose(res.scores, exact(pb).scores, atol=1e-9)


def test_lookahead_start_finds_a_base_service_before_its_add_ons():
    # product 0 loses value alone, product 1 needs it and is worth more after it: greedy stays
    # empty, the rollout from product 0 finds [0, 1]
    opp = np.zeros((1, 3, 2), dtype=np.float32)
    opp[0, 0] = [-1.0, 5.0]
    opp[0, 1, 1] = 3.0
    req = np.array([[False, False], [True, False]])
    no = np.zeros((2, 2), dtype=bool)
    pb = JourneyProblem(opp, np.zeros((1, 2), bool), req, no, max_length=2, discount=1.0)
    assert greedy(pb).lengths.tolist() == [0]
    seqs, lengths = lookahead_start(prepare(pb))
    assert seqs[0, : lengths[0]].tolist() == [0, 1]
    assert anneal(pb, rng=0, iters=0).scores.tolist() == [2.0]


def test_the_bound_stops_only_optimal_customers():
    pb = structured_instance(300, "full", rng=6)
    ex = exact(pb).scores
    with_bound = anneal(pb, rng=2, **FAST)
    without = anneal(pb, rng=2, bound=False, **FAST)
    assert (with_bound.scores >= without.scores - 1e-9 * (1 + np.abs(ex))).all()
    bound = walk_start(prepare(pb))[2]
    solved = with_bound.scores >= bound - 1e-9 * (1 + np.abs(bound))
    assert solved.any() and np.allclose(with_bound.scores[solved], ex[solved], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    p=st.integers(1, 7),
    pool=st.integers(1, 5),
    units=st.integers(0, 3),
)
def test_pool_search_is_feasible_never_worse_and_never_better_than_exact(seed, p, pool, units):
    # small pools leave prerequisites outside the pool: those products must not be used
    pb = random_problem(40, p, rng=seed, p_requires=0.4)
    prep = prepare(pb)
    rows = np.arange(pb.n_customers)
    seqs, lengths = greedy_batch(prep)
    start = evaluate(prep, rows, seqs, lengths)
    out, out_len, out_s, _ = pool_search(
        prep, rows, seqs, lengths, start, pool=pool, rounds=3, unit_rounds=units
    )
    assert is_feasible(pb, out).all()
    assert np.array_equal(out_len, (out >= 0).sum(axis=1))
    assert np.array_equal(out_s, evaluate(prep, rows, out, out_len))
    assert (out_s >= start).all()
    assert (exact(pb).scores >= out_s - 1e-9).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 7))
def test_pool_search_with_every_candidate_in_the_pool_is_exact(seed, p):
    pb = random_problem(40, p, rng=seed)
    prep = prepare(pb)
    rows = np.arange(pb.n_customers)
    empty = np.full((pb.n_customers, prep.length), -1, dtype=np.int64)
    zero = np.zeros(pb.n_customers, dtype=np.int64)
    _, _, s, _ = pool_search(prep, rows, empty, zero, np.zeros(pb.n_customers), pool=p, rounds=1)
    assert np.allclose(s, exact(pb).scores, atol=1e-9)


def test_the_pool_search_lifts_the_full_catalog_to_the_optimum():
    pb = structured_instance(300, "full", rng=11)
    ex = exact(pb).scores
    off = anneal(pb, rng=3, pool=0, beam=0, **FAST)  # with pool=0 the beam runs for everyone
    on = anneal(pb, rng=3, beam=0, **FAST)
    assert on.params["pool"] == 9 and off.params["pool"] == 0
    assert (on.scores >= off.scores - 1e-9).all() and (on.scores <= ex + 1e-9).all()
    assert (on.scores >= ex - 1e-6).mean() > (off.scores >= ex - 1e-6).mean()
    assert (on.scores >= ex - 1e-6).mean() >= 0.98
    every = anneal(pb, rng=3, pool=pb.n_products, **FAST)  # the pool holds every candidate
    assert np.allclose(every.scores, ex, atol=1e-9)


def test_the_second_pool_search_from_the_walk_start_only_improves():
    pb = structured_instance(80, 25, rng=12)
    # without the unit rounds and the beam, which already find most of what the walk's pool adds
    one = anneal(pb, rng=4, pool_walk=False, pool_units=0, beam=0, **FAST)
    two = anneal(pb, rng=4, pool_walk=True, pool_units=0, beam=0, **FAST)
    assert two.params["pool_walk"] and two.params["pool"] == 10
    assert is_feasible(pb, two.journeys).all()
    assert (two.scores >= one.scores).all() and (two.scores > one.scores + 1e-6).any()
    bound = walk_start(prepare(pb))[2]
    assert (two.scores <= bound + 1e-9 * (1 + np.abs(bound))).all()
    seed = structured_instance(60, "seed", rng=12)  # <= 5 candidates: the first search is exact
    a, b = anneal(seed, rng=4, **FAST), anneal(seed, rng=4, pool_walk=True, **FAST)
    assert np.array_equal(a.journeys, b.journeys)


def _base_and_add_on_problem() -> JourneyProblem:
    """Products 0-4 worth 10 each; base 5 loses 5 but opens add-on 6 (requires 5), worth 50
    right after it; 7 (worth 8) and 8 (worth -3) are distractors that rank between 6 and 5."""
    p = 9
    opp = np.zeros((1, 1 + p, p), dtype=np.float32)
    opp[0, :, :5] = 10.0
    opp[0, :, 5] = -5.0
    opp[0, :, 7] = 8.0
    opp[0, :, 8] = -3.0
    opp[0, 1 + 5, 6] = 50.0
    req = np.zeros((p, p), dtype=bool)
    req[6, 5] = True
    no = np.zeros((p, p), dtype=bool)
    return JourneyProblem(opp, np.zeros((1, p), bool), req, no, max_length=5, discount=1.0)


def test_unit_rounds_bring_in_a_base_service_with_its_add_on():
    pb = _base_and_add_on_problem()
    prep = prepare(pb)
    rows = np.zeros(1, dtype=np.int64)
    seqs = np.array([[0, 1, 2, 3, 4]])
    lengths = np.array([5])
    start = evaluate(prep, rows, seqs, lengths)
    # ranked windows of 2: {7, 6} then {8, 5}: the add-on and its base never share a pool
    _, _, ranked, _ = pool_search(prep, rows, seqs, lengths, start, pool=7, rounds=4)
    assert ranked.tolist() == [50.0]
    out, _, units, _ = pool_search(
        prep, rows, seqs, lengths, start, pool=7, rounds=4, unit_rounds=1
    )
    assert units.tolist() == [75.0] == exact(pb).scores.tolist()
    assert is_feasible(pb, out).all()
    res = anneal(pb, rng=0, init=seqs, iters=0, pool=7)  # polish finds no single move
    assert res.scores.tolist() == [75.0] and res.params["pool_units"] > 0


def test_unit_rounds_lift_the_25_product_catalog_and_only_improve():
    # base services with four add-ons each: optimal journeys chain bases with their add-ons
    pb = structured_instance(120, 25, rng=5)
    ex = exact(pb).scores
    off = anneal(pb, rng=1, pool_units=0, beam=0, **FAST)  # the beam alone finds most optima
    on = anneal(pb, rng=1, beam=0, **FAST)
    assert is_feasible(pb, on.journeys).all()
    assert (on.scores >= off.scores - 1e-9).all() and (on.scores <= ex + 1e-9).all()
    assert (on.scores >= ex - 1e-6).mean() > (off.scores >= ex - 1e-6).mean() + 0.05


def test_customers_the_pool_covers_skip_the_polish_and_stay_optimal():
    pb = structured_instance(200, "seed", rng=7)  # <= 5 candidates, pool 9
    ex = exact(pb).scores
    res = anneal(pb, rng=2, **FAST)
    assert np.allclose(res.scores, ex, atol=1e-9)
    no_pool = anneal(pb, rng=2, pool=0, **FAST)  # without the pool search the polish runs
    assert (no_pool.scores <= res.scores + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 7), width=st.integers(1, 6))
def test_beam_start_is_feasible_scored_and_never_better_than_exact(seed, p, width):
    pb = random_problem(40, p, rng=seed, p_requires=0.4)
    prep = prepare(pb)
    rows = np.arange(pb.n_customers)
    seqs, lengths, scores = beam_start(prep, rows, width)
    assert is_feasible(pb, seqs).all()
    assert np.array_equal(lengths, (seqs >= 0).sum(axis=1))
    assert np.allclose(scores, evaluate(prep, rows, seqs, lengths), atol=1e-9)
    assert (scores >= 0).all() and (exact(pb).scores >= scores - 1e-9).all()
    # a beam wider than any layer of (set, last product) states is the Held-Karp DP
    _, _, wide = beam_start(prep, rows, 5000)
    assert np.allclose(wide, exact(pb).scores, atol=1e-9)


def test_beam_start_depends_only_on_each_customers_own_data():
    pb = structured_instance(50, 25, rng=3)
    prep = prepare(pb)
    rows = np.arange(50)
    full = beam_start(prep, rows, 8)
    part = beam_start(prep, rows[[41, 2, 17]], 8)
    assert all(np.array_equal(a[[41, 2, 17]], b) for a, b in zip(full, part, strict=True))
    sub = beam_start(prepare(pb.subset(np.array([41, 2, 17]))), np.arange(3), 8)
    assert all(np.array_equal(a, b) for a, b in zip(part, sub, strict=True))


def test_the_beam_start_lifts_the_25_product_catalog_and_stays_batch_independent():
    pb = structured_instance(120, 25, rng=8)
    ex = exact(pb).scores
    off = anneal(pb, rng=1, beam=0, **FAST)
    on = anneal(pb, rng=1, **FAST)
    assert on.params["beam"] == 32 and not on.params["pool_walk"]
    assert is_feasible(pb, on.journeys).all() and (on.scores <= ex + 1e-9).all()
    prep = prepare(pb)
    start = beam_start(prep, np.arange(120), 32)[2]
    assert (on.scores >= start - 1e-9).all()  # never worse than the beam start
    assert (on.scores >= ex - 1e-6).mean() >= 0.98
    assert (on.scores >= ex - 1e-6).mean() > (off.scores >= ex - 1e-6).mean()
    small = anneal(pb, rng=1, batch_size=7, **FAST)
    assert np.array_equal(small.journeys, on.journeys)
    idx = np.array([100, 5, 60])
    assert np.array_equal(anneal(pb.subset(idx), rng=1, **FAST).journeys, on.journeys[idx])


def test_auto_chain_length_is_shorter_when_the_pool_search_follows() -> None:
    pb = structured_instance(60, "full", rng=3)
    assert anneal(pb, rng=0).params["chain_factor"] == 1.0
    assert anneal(pb, rng=0, pool=0).params["chain_factor"] == 2.0
    assert anneal(pb, rng=0, pool_rounds=0).params["chain_factor"] == 2.0
    assert anneal(pb, rng=0, chain_factor=3.0).params["chain_factor"] == 3.0
    # "auto" is the same run as the explicit factor it picks
    a, b = anneal(pb, rng=5, pool=0), anneal(pb, rng=5, pool=0, chain_factor=2.0)
    assert np.array_equal(a.journeys, b.journeys) and a.nit == b.nit
    with pytest.raises(ValueError, match="chain_factor"):
        anneal(pb, chain_factor="long")


def test_an_options_object_runs_the_same_as_keywords_and_keywords_override_it() -> None:
    pb = structured_instance(60, "full", rng=6)
    by_kw = anneal(pb, rng=4, restarts=2, **FAST)
    opts = AnnealOptions(rng=4, restarts=2, **FAST)
    by_obj = anneal(pb, options=opts)
    assert np.array_equal(by_kw.journeys, by_obj.journeys) and by_kw.nfev == by_obj.nfev
    assert by_kw.params == by_obj.params
    over = anneal(pb, options=AnnealOptions(rng=9, restarts=0, **FAST), rng=4, restarts=2)
    assert np.array_equal(over.journeys, by_kw.journeys) and over.params["restarts"] == 2
    assert opts.restarts == 2 and opts.pool is None  # the user's options are not resolved


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"t0_acceptance": 1.0}, "t0_acceptance"),
        ({"iters": -1}, "iters and restarts"),
        ({"stall": 0}, "stall"),
        ({"reheat": 0.0}, "reheat"),
        ({"proposals": 0}, "proposals"),
        ({"init": "random"}, "init must be one of"),
        ({"schedule": "linear", "schedule_params": {"alpha": 0.5}}, "takes no parameter"),
        ({"rng": -3}, "seed must be >= 0"),
    ],
)
def test_options_are_validated_when_built(options, match) -> None:
    with pytest.raises(OptionError, match=match):
        AnnealOptions(**options)
    with pytest.raises(OptionError, match=match):
        anneal(structured_instance(3, "seed", rng=0), **options)
