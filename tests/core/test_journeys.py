"""Problem validation, scoring, feasibility, decoding and comparisons."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.rng import customer_keys
from core.journeys import (
    JourneyProblem,
    compare_baselines,
    compare_to_exact,
    decode,
    evaluate,
    first_step_parts,
    is_feasible,
    make_result,
    prepare,
    random_problem,
    score,
    step_components,
    step_parts,
    structured_instance,
)
from core.solvers import solve


def _problem(aggregation="sum", held=(False, False, False), discount=0.5):
    o = np.zeros((1, 4, 3), dtype=np.float32)
    o[0, 0] = [1.0, 2.0, 3.0]  # start -> j
    o[0, 1] = [0.0, 4.0, 8.0]  # 0 -> j
    o[0, 2] = [5.0, 0.0, 6.0]  # 1 -> j
    o[0, 3] = [7.0, 1.0, 0.0]  # 2 -> j
    no = np.zeros((3, 3), dtype=bool)
    return JourneyProblem(
        o, np.array([held]), no, no, max_length=3, discount=discount, aggregation=aggregation
    )


def test_score_discounts_and_chains_predecessors():
    pb = _problem()
    assert score(pb, np.array([[1, 0, 2]])).tolist() == [2.0 + 0.5 * 5.0 + 0.25 * 8.0]
    assert score(pb, np.array([[-1, -1, -1]])).tolist() == [0.0]
    assert step_components(pb, np.array([[2, 1, -1]])).tolist() == [[3.0, 0.5, 0.0]]


@pytest.mark.parametrize(("aggregation", "expected"), [("sum", 12.0), ("mean", 6.0), ("max", 7.0)])
def test_first_step_aggregates_held_rows(aggregation, expected):
    # holds products 1 and 2; offering 0 first uses rows 1 -> 0 (5.0) and 2 -> 0 (7.0)
    pb = _problem(aggregation, held=(False, True, True), discount=1.0)
    assert score(pb, np.array([[0, -1, -1]]))[0] == expected


def test_is_feasible_rules():
    req = np.zeros((3, 3), bool)
    req[2, 0] = True  # 2 needs 0
    exc = np.zeros((3, 3), bool)
    exc[0, 1] = exc[1, 0] = True
    pb = replace(_problem(), requires=req, excludes=exc)
    j = np.array([[0, 2, -1], [2, 0, -1], [0, 1, -1], [1, 1, -1], [-1, 0, 1]])
    pb5 = pb.subset(np.zeros(5, dtype=int))
    assert is_feasible(pb5, j).tolist() == [True, False, False, False, True]
    held = replace(pb5, held=np.array([[False, True, False]] * 5))
    assert is_feasible(held, np.array([[0, -1, -1]] * 5)).tolist() == [False] * 5  # excluded
    assert is_feasible(held, np.array([[1, -1, -1]] * 5)).tolist() == [False] * 5  # held


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"opportunity": np.zeros((2, 3, 3), np.float32)}, "1 \\+ P"),
        ({"held": np.zeros((2, 3), int)}, "held"),
        ({"discount": 0.0}, "discount"),
        ({"aggregation": "median"}, "aggregation"),
        ({"max_length": 0}, "max_length"),
        ({"customer_ids": np.arange(5)}, "customer_ids"),
    ],
)
def test_validation_messages(change, match):
    pb = random_problem(2, 3, rng=0)
    with pytest.raises(ValueError, match=match):
        replace(pb, **change)


def test_validation_of_rules_and_values():
    pb = random_problem(2, 3, rng=0)
    bad = np.zeros((3, 3), bool)
    bad[0, 1] = True
    with pytest.raises(ValueError, match="symmetric"):
        replace(pb, excludes=bad)
    nan = pb.opportunity.copy()
    nan[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        replace(pb, opportunity=nan)


def test_subset_keeps_ids_and_rules():
    pb = replace(random_problem(6, 4, rng=1), customer_ids=np.array(list("abcdef")))
    sub = pb.subset([4, 1])
    assert sub.ids.tolist() == ["e", "b"]
    assert np.array_equal(sub.opportunity, pb.opportunity[[4, 1]])


def test_customer_keys_depend_on_seed_and_id_only():
    ids = np.array(["7590-VHVEG", "5575-GNVDE", "3668-QPYBK"])
    k1 = customer_keys(ids, 11)
    assert np.array_equal(customer_keys(ids[::-1], 11), k1[::-1])
    assert len(set(k1.tolist())) == 3
    assert not np.array_equal(customer_keys(ids, 12), k1)
    assert np.array_equal(customer_keys(np.arange(3), 5), customer_keys(np.arange(3), 5))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 7))
def test_decoded_states_are_feasible_and_scored_exactly(seed, p):
    """Any ordering of candidates decodes to a feasible journey whose score() equals evaluate()."""
    pb = random_problem(20, p, rng=seed)
    prep = prepare(pb)
    rng = np.random.default_rng(seed)
    key = np.where(prep.cand, rng.random((20, p)), 2.0 + rng.random((20, p)))
    perm = np.argsort(key, axis=1)
    lengths = np.minimum(rng.integers(0, prep.length + 1, 20), prep.cand.sum(1))
    rows = np.arange(20)
    dec = decode(prep, rows, perm, lengths)
    journeys = np.full((20, pb.max_length), -1)
    journeys[:, : dec.shape[1]] = dec
    assert is_feasible(pb, journeys).all()
    assert np.array_equal(evaluate(prep, rows, perm, lengths), score(pb, journeys))


def test_step_parts_sum_to_step_scores():
    pb = structured_instance(50, "full", rng=3, aggregation="max")
    rng = np.random.default_rng(0)
    comp = rng.normal(size=pb.opportunity.shape + (3,))
    w = np.array([1.0, 0.5, 2.0])
    pb = replace(pb, opportunity=(comp * w).sum(-1).astype(np.float32))
    res = solve(pb, "greedy")
    parts = step_parts(comp, pb, res.journeys, w)
    assert parts.shape == (50, pb.max_length, 3)
    assert np.allclose(parts.sum(-1), res.step_scores, atol=1e-4)


@pytest.mark.parametrize("aggregation", ["sum", "mean", "max"])
def test_step_parts_first_step_is_first_step_parts_of_the_chosen_offer(aggregation):
    """step_parts gathers the chosen offer before aggregating the held rows: the same values,
    bit for bit, as first_step_parts over every offer (and each later step's row)."""
    pb = structured_instance(60, "full", rng=5, aggregation=aggregation)
    comp = np.random.default_rng(1).normal(size=pb.opportunity.shape + (3,)).astype(np.float32)
    w = np.array([1.0, 0.5, 2.0])
    res = solve(pb, "greedy")
    j = np.asarray(res.journeys)
    parts = step_parts(comp, pb, j, w)
    live = j[:, 0] >= 0
    rows = np.arange(pb.n_customers)
    want = first_step_parts(comp.astype(np.float64), pb, w)[rows, np.maximum(j[:, 0], 0)]
    assert live.any() and np.array_equal(parts[live, 0], want[live])
    assert (parts[~live] == 0).all()
    second = j[:, 1] >= 0
    prev, cur = j[second, 0], j[second, 1]
    want2 = pb.discount * (w * comp[rows[second], 1 + prev, cur].astype(np.float64))
    assert second.any() and np.array_equal(parts[second, 1], want2)


def test_comparisons():
    pb = random_problem(4, 3, rng=0, max_length=2)
    j_best = np.array([[0, 1], [0, -1], [-1, -1], [2, -1]])
    j_other = np.array([[1, -1], [0, -1], [-1, -1], [-1, -1]])
    common = {"params": {}, "nit": 0, "nfev": 0, "seconds": {}, "message": ""}
    a = make_result(pb, j_best, solver="a", **common)
    b = make_result(pb, j_other, solver="b", **common)
    gap = a.scores - b.scores
    cmp = compare_to_exact(b, a)
    assert cmp["share_optimal"] == np.mean(np.abs(gap) <= 1e-6)
    assert cmp["mean_gap"] == pytest.approx(gap.mean())
    base = compare_baselines(a, {"b": b})["b"]
    assert base["mean_uplift"] == pytest.approx(gap.mean())
    assert base["share_better_or_equal"] == np.mean(gap >= -1e-6)


def test_solve_rejects_unknown_solver():
    with pytest.raises(ValueError, match="unknown solver"):
        solve(random_problem(2, 2), "tabu")


def test_structured_instance_respects_rules_in_holdings():
    pb = structured_instance(2000, 25, rng=0)
    held = pb.held
    unmet = (pb.requires[None] & ~held[:, None, :]).any(axis=2)
    assert not (held & unmet).any()
    assert not ((held.astype(int) @ pb.excludes.astype(int)) * held).any()


def test_products_switched_off_are_never_offered_and_block_their_add_ons() -> None:
    from core.solvers.exact import exact

    rng = np.random.default_rng(5)
    n, p = 50, 4
    opp = rng.uniform(0.1, 1.0, size=(n, 1 + p, p)).astype(np.float32)
    requires = np.zeros((p, p), bool)
    requires[3, 2] = True  # product 3 needs product 2
    held = np.zeros((n, p), bool)
    held[:10, 2] = True  # the first ten customers already hold product 2
    off = np.array([True, True, False, True])
    pb = JourneyProblem(opp, held, requires, np.zeros((p, p), bool), 4, 1.0, offerable=off)
    res = exact(pb)
    assert not (res.journeys == 2).any()
    has3 = (res.journeys == 3).any(axis=1)
    assert has3[:10].all() and not has3[10:].any()
    assert is_feasible(pb, res.journeys).all()
    plain = JourneyProblem(opp, held, requires, np.zeros((p, p), bool), 4, 1.0)
    assert not is_feasible(pb, exact(plain).journeys).all()
    assert pb.subset(np.arange(5)).offerable.shape == (5, p)
    with pytest.raises(ValueError, match="offerable"):
        JourneyProblem(opp, held, requires, np.zeros((p, p), bool), 4, 1.0, offerable=off[:2])
