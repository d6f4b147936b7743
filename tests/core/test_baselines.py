"""The study's baselines, greedy, greedy + local search and the seed-style annealer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.journeys import candidates, first_rows, is_feasible, random_problem, structured_instance
from core.solvers.baselines import (
    FIRST_OFFER_BASELINES,
    first_offer,
    greedy,
    greedy_local_search,
    seed_style,
)
from core.solvers.exact import exact


def _with_components(pb, seed=0):
    rng = np.random.default_rng(seed)
    comp = rng.normal(size=pb.opportunity.shape + (3,))
    weights = np.array([1.0, 2.0, 0.5])
    return replace(pb, opportunity=(comp * weights).sum(-1).astype(np.float32)), comp


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 5))
def test_exact_is_at_least_every_baseline(seed, p):
    pb, comp = _with_components(random_problem(12, p, rng=seed), seed)
    best = exact(pb).scores
    results = [greedy(pb), greedy_local_search(pb), seed_style(pb, rng=seed, t_min=100.0)]
    results += [first_offer(pb, name, components=comp) for name in FIRST_OFFER_BASELINES]
    for res in results:
        assert is_feasible(pb, res.journeys).all(), res.solver
        assert (best >= res.scores - 1e-9).all(), res.solver


def test_local_search_never_worse_than_greedy():
    pb = structured_instance(300, "full", rng=1)
    g, ls = greedy(pb), greedy_local_search(pb)
    assert (ls.scores >= g.scores - 1e-9).all()
    assert ls.scores.mean() > g.scores.mean()


def test_greedy_takes_the_best_immediate_offer():
    pb = structured_instance(200, "seed", rng=2)
    res = greedy(pb)
    first = np.where(
        candidates(pb) & ~(pb.requires[None] & ~pb.held[:, None, :]).any(2), first_rows(pb), -np.inf
    )
    offered = res.journeys[:, 0] >= 0
    assert (res.journeys[offered, 0] == first[offered].argmax(1)).all()
    assert (first[~offered].max(1) <= 0).all()  # stops when nothing adds value


@pytest.mark.parametrize("factor", [0, 1, 2])
def test_factor_baselines_start_with_the_best_factor_gain(factor):
    pb, comp = _with_components(structured_instance(150, "full", rng=3))
    name = FIRST_OFFER_BASELINES[factor]
    res = first_offer(pb, name, components=comp)
    startable = candidates(pb) & ~(pb.requires[None] & ~pb.held[:, None, :]).any(2)
    gain = np.where(startable, comp[:, 0, :, factor], -np.inf)  # sum over held rows below
    held_rows = np.where(pb.held[:, :, None], comp[:, 1:, :, factor], 0.0).sum(1)
    gain = np.where(pb.held.any(1)[:, None], np.where(startable, held_rows, -np.inf), gain)
    has = startable.any(1)
    assert (res.journeys[has, 0] == gain[has].argmax(1)).all()
    assert res.params["rest"] == "exact"


@pytest.mark.parametrize("name", FIRST_OFFER_BASELINES)
def test_first_offer_baselines_never_start_with_a_credibly_harmful_offer(name):
    """Under do no harm a credibly harmful step holds the sentinel NOT_CREDIBLE: the study's
    strategies pick their first offer among the others (none when there is none), so their
    value is never the sentinel's."""
    from core.journeys import credible_first
    from core.opportunity import NOT_CREDIBLE

    pb, comp = _with_components(structured_instance(150, "full", rng=5))
    rng = np.random.default_rng(5)
    opp = pb.opportunity.copy()
    opp[rng.random(opp.shape) < 0.3] = NOT_CREDIBLE
    pb = replace(pb, opportunity=opp)
    ok = credible_first(pb)
    assert (~ok).any() and ok.any()
    res = first_offer(pb, name, components=comp)
    started = res.journeys[:, 0] >= 0
    first = res.journeys[started, 0].astype(int)
    assert ok[np.flatnonzero(started), first].all()
    assert (res.scores > NOT_CREDIBLE / 2).all()  # nor later: the rest is optimized
    # customers with no credible startable offer get no offer
    startable = candidates(pb) & ~(pb.requires[None] & ~pb.held[:, None, :]).any(2)
    none = ~(startable & ok).any(1)
    assert (res.journeys[none, 0] < 0).all()


def test_factor_baselines_need_components():
    with pytest.raises(ValueError, match="components"):
        first_offer(structured_instance(3, "seed"), "first-cltv")


def test_seed_style_settings_and_determinism():
    pb = structured_instance(20, "seed", rng=4)
    a, b = seed_style(pb, rng=5), seed_style(pb, rng=5)
    assert a.nit == 688  # T0 = 1000, x0.99 until T < 1
    assert np.array_equal(a.journeys, b.journeys)
    assert is_feasible(pb, a.journeys).all()
    assert np.array_equal(seed_style(pb.subset([3, 7]), rng=5).journeys, a.journeys[[3, 7]])
