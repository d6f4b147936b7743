"""The acceptance-aware objective: a refused base service blocks its add-ons.

With ``Settings.propensity`` the journey problem values each offer with its acceptance times
that of every prerequisite the customer lacks (:func:`core.opportunity.prerequisite_propensity`).
These tests hold it against the exact expected journey value of
:func:`core.campaigns.expected_journey_value`, which follows every accept / refuse path.
"""

from __future__ import annotations

import numpy as np
import pytest

from core import pipeline
from core.campaigns import expected_journey_value
from core.common.errors import OptionError
from core.data.catalog import load_catalog, parse_catalog
from core.journeys import is_feasible, score
from core.opportunity import Components, prerequisite_propensity

#: A catalog with a chain of prerequisites (lines need phone, internet needs lines: artificial,
#: to test depth two) and an add-on of the middle product, offered with a discount.
CHAIN = {
    "catalog": {"name": "chain"},
    "journey": {"max_length": 4, "discount": 0.9},
    "products": [
        {"key": "phone", "column": "Phone Service", "held_if": ["Yes"]},
        {
            "key": "lines",
            "column": "Multiple Lines",
            "held_if": ["Yes"],
            "requires": ["phone"],
        },
        {
            "key": "internet",
            "column": "Internet Service",
            "held_if": ["Yes"],
            "requires": ["lines"],
        },
        {"key": "offer", "column": "Offer", "held_unless": ["None"]},
    ],
}


def _components(rng, n: int, p: int, held: np.ndarray) -> tuple[Components, np.ndarray]:
    """Components whose value does not depend on the predecessor (every row the same)."""
    value = rng.normal(1.0, 1.0, size=(n, p)).astype(np.float32)
    values = np.zeros((n, 1 + p, p, 3), dtype=np.float32)
    values[..., 0] = value[:, None, :]
    comps = Components(values, ~held, held, np.arange(n), tuple(f"p{j}" for j in range(p)))
    return comps, value


def _feasible_journeys(rng, problem, n_tries: int = 40) -> list[np.ndarray]:
    """Random feasible journeys (every customer's row feasible), the first set the empty one."""
    n, p, width = problem.n_customers, problem.n_products, problem.max_length
    out = [np.full((n, width), -1, dtype=np.int64)]
    for _ in range(n_tries):
        j = np.full((n, width), -1, dtype=np.int64)
        for c in range(n):
            order = rng.permutation(p)[: rng.integers(1, width + 1)]
            j[c, : len(order)] = order
        ok = is_feasible(problem, j)
        j[~ok] = -1  # an infeasible row becomes the empty journey
        out.append(j)
    return out


@pytest.mark.parametrize("catalog", ["chain", "full"])
def test_journey_scores_are_the_exact_expected_values(catalog) -> None:
    rng = np.random.default_rng(5)
    cat = parse_catalog(CHAIN, source="chain") if catalog == "chain" else load_catalog("full")
    keys = cat.keys
    n, p = 60, len(keys)
    held = rng.random((n, p)) < 0.25
    comps, value = _components(rng, n, p, held)
    comps = Components(comps.values, comps.eligible, comps.held, comps.customer_ids, keys)
    prop = rng.uniform(0.05, 0.95, size=(n, p))
    s = pipeline.Settings(
        catalog="seed", estimator="peer-bayes", propensity=True, risk="none", aggregation="mean"
    ).with_(weights={"cltv": 1.0, "churn": 0.0, "satisfaction": 0.0})
    problem = pipeline.problem_for(comps, cat, s, prop)
    requires = cat.requires_matrix()
    opp = np.repeat(value[:, None, :], 1 + p, axis=1).astype(np.float64)
    checked = 0
    for journeys in _feasible_journeys(rng, problem):
        want = expected_journey_value(
            opp, journeys, prop, discount=cat.discount, held=held, requires=requires
        )
        np.testing.assert_allclose(score(problem, journeys), want, rtol=2e-5, atol=2e-5)
        checked += int((journeys[:, 1] >= 0).sum())
    assert checked > 100  # many journeys of two or more offers were compared
    # the old objective (each offer with its own acceptance only) is not the expectation when
    # an add-on's prerequisite is missing: the test would catch a regression to it
    plain = pipeline.problem_for(comps, cat, s.with_(propensity=False), None)
    chained = prerequisite_propensity(prop, held, requires)
    assert (np.abs(chained - prop) > 1e-3).any()
    naive = plain.opportunity * prop[:, None, :].astype(np.float32)
    assert not np.allclose(naive, problem.opportunity)


def test_prerequisite_propensity_chains_and_stops_at_held_products() -> None:
    cat = parse_catalog(CHAIN, source="chain")
    req = cat.requires_matrix()
    p = np.tile([0.5, 0.4, 0.3, 0.9], (3, 1))
    held = np.array([[False] * 4, [False, True, False, False], [True, False, False, False]])
    out = prerequisite_propensity(p, held, req)
    # nothing held: internet needs lines (0.4) which needs phone (0.5)
    np.testing.assert_allclose(out[0], [0.5, 0.5 * 0.4, 0.5 * 0.4 * 0.3, 0.9])
    # lines held: internet is blocked by nothing (lines itself is never offered)
    np.testing.assert_allclose(out[1, [0, 2, 3]], [0.5, 0.3, 0.9])
    # phone held: lines counts alone, internet with lines
    np.testing.assert_allclose(out[2, 1:], [0.4, 0.4 * 0.3, 0.9])
    assert out.dtype == np.float64
    assert prerequisite_propensity(p.astype(np.float32), held, req).dtype == np.float32
    with pytest.raises(OptionError, match="cycle"):
        prerequisite_propensity(p, held, req | req.T)
    with pytest.raises(OptionError, match="held must be"):
        prerequisite_propensity(p, held[:1], req)


def test_pipeline_table_adds_up_with_the_chained_propensity(synthetic_frame) -> None:
    frame = synthetic_frame(300, 8)
    s = pipeline.Settings(estimator="peer-bayes", propensity=True, solver="exact", catalog="full")
    ctx = pipeline.fit_context(frame, s, with_acceptance=True)
    comps = pipeline.components_for(frame, s, ctx)
    prop = pipeline.propensity_for(frame, ctx)
    problem = pipeline.problem_for(comps, ctx.catalog, s, prop)
    result = pipeline.optimize(problem, s)
    table = pipeline.journeys_table(result, problem, comps, s, ctx.catalog, prop)
    per_customer = table.groupby("customer_id", sort=False)["opportunity"].sum()
    scores = dict(zip(problem.ids, result.scores, strict=True))
    np.testing.assert_allclose(per_customer, [scores[i] for i in per_customer.index], atol=1e-3)
    factor = pipeline.offer_propensity(comps, ctx.catalog, s, prop)
    assert factor is not None and (factor <= prop + 1e-7).all()
    assert pipeline.offer_propensity(comps, ctx.catalog, s.with_(propensity=False), prop) is None
