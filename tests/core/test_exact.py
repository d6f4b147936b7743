"""The exact referee: dynamic programming over subsets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.journeys import candidates, is_feasible, random_problem, score, structured_instance
from core.solvers.exact import brute_force, exact, n_states


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 5), n=st.integers(1, 12))
def test_exact_equals_brute_force(seed, p, n):
    pb = random_problem(n, p, rng=seed)
    ex, bf = exact(pb), brute_force(pb)
    assert is_feasible(pb, ex.journeys).all()
    assert np.allclose(ex.scores, bf.scores, rtol=0, atol=1e-9)
    # reported scores are the journeys' scores
    assert np.array_equal(ex.scores, score(pb, ex.journeys))


def test_exact_on_hand_made_instance():
    # 3 products; product 2 requires 0; 0 and 1 exclude each other
    o = np.zeros((1, 4, 3), dtype=np.float32)
    o[0, 0] = [-1.0, 2.0, 1.0]  # start -> 0, 1, 2
    o[0, 1, 2] = 10.0  # 0 -> 2
    o[0, 3, 1] = 3.0  # 2 -> 1 (but 1 excluded with 0)
    req = np.zeros((3, 3), bool)
    req[2, 0] = True
    exc = np.zeros((3, 3), bool)
    exc[0, 1] = exc[1, 0] = True
    from core.journeys import JourneyProblem

    pb = JourneyProblem(o, np.zeros((1, 3), bool), req, exc, max_length=3, discount=1.0)
    res = exact(pb)
    assert res.journeys[0].tolist() == [0, 2, -1]
    assert res.scores[0] == pytest.approx(9.0)


def test_empty_journey_when_everything_is_negative():
    pb = random_problem(5, 4, rng=3)
    neg = pb.opportunity.copy()
    neg[:] = -np.abs(neg) - 1
    from dataclasses import replace

    res = exact(replace(pb, opportunity=neg))
    assert (res.journeys == -1).all() and (res.scores == 0).all()


def test_forced_first_product():
    pb = structured_instance(200, "full", rng=5)
    cand = candidates(pb)
    startable = cand & ~(pb.requires[None] & ~pb.held[:, None, :]).any(axis=2)
    first = np.where(startable.any(1), startable.argmax(1), -1)
    free, forced = exact(pb), exact(pb, first=first)
    has = first >= 0
    assert (forced.journeys[has, 0] == first[has]).all()
    assert (forced.journeys[~has] == -1).all()
    assert (free.scores >= forced.scores - 1e-9).all()
    assert is_feasible(pb, forced.journeys).all()


def test_independent_of_batch_size():
    pb = structured_instance(300, "full", rng=6)
    a, b = exact(pb, batch_size=7), exact(pb)
    assert np.array_equal(a.journeys, b.journeys)


def test_refuses_too_many_states():
    pb = structured_instance(20, 25, rng=1)
    k = int(candidates(pb).sum(1).max())
    with pytest.raises(ValueError, match="max_states"):
        exact(pb, max_states=n_states(k, 6) - 1)


def test_n_states_counts_subset_last_pairs():
    assert n_states(3, 3) == 3 + 3 * 2 + 1 * 3
    assert n_states(11, 11) == 11 * 2**10
