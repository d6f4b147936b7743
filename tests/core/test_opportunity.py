"""Components, eligibility, normalisation and live recombination (core.opportunity)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import CJOError
from core.data.catalog import load_catalog, parse_catalog
from core.data.schema import FACTORS
from core.opportunity import (
    Components,
    build_components,
    combine,
    eligibility,
    normalise,
    offerable_now,
    robust_scale,
)


@pytest.fixture(scope="module")
def small_population():
    from core.data import synthetic

    return synthetic.generate_frame(400, seed=5)


def _components(n=7, p=4, seed=0, eligible=None):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, 1 + p, p, 3)).astype(np.float32)
    elig = np.ones((n, p), bool) if eligible is None else eligible
    return Components(
        values=values,
        eligible=elig,
        held=~elig,
        customer_ids=np.arange(n),
        product_keys=tuple(f"p{j}" for j in range(p)),
    )


def test_combine_equals_from_scratch_loop():
    comp = _components()
    w = {"cltv": 0.3, "churn": 2.0, "satisfaction": 0.7}
    levers = {"p1": 0.0, "p3": 2.5}
    prop = np.random.default_rng(1).uniform(size=(7, 4))
    got = combine(comp, w, levers=levers, propensity=prop)
    lever = np.array([1.0, 0.0, 1.0, 2.5])
    want = np.zeros((7, 5, 4))
    for c in range(7):
        for i in range(5):
            for j in range(4):
                s = sum(w[f] * float(comp.values[c, i, j, k]) for k, f in enumerate(FACTORS))
                want[c, i, j] = lever[j] * prop[c, j] * s
    assert got.dtype == np.float32 and got.shape == (7, 5, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_recombination_with_new_weights_equals_fresh_combination():
    comp = _components(seed=3)
    combine(comp, (1, 1, 1))  # a first combination must not alter the cache
    again = combine(comp, (0.2, 5.0, 1.0))
    fresh = np.einsum("cijk,k->cij", comp.values.astype(np.float64), [0.2, 5.0, 1.0])
    np.testing.assert_allclose(again, fresh, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    w=st.tuples(*[st.floats(0, 10, allow_nan=False)] * 3),
    bump=st.floats(0, 10, allow_nan=False),
    seed=st.integers(0, 1000),
)
def test_raising_cltv_weight_never_lowers_an_offer_with_positive_cltv(w, bump, seed):
    comp = _components(seed=seed)
    lo = combine(comp, w)
    hi = combine(comp, (w[0] + bump, w[1], w[2]))
    pos = comp.values[..., 0] > 0
    assert np.all(hi[pos] >= lo[pos] - 1e-5 * (1 + np.abs(lo[pos])))
    neg = comp.values[..., 0] < 0
    if bump > 0.01:
        assert np.all(hi[neg] < lo[neg])


@pytest.mark.parametrize(
    "weights",
    [(-1, 1, 1), {"cltv": 1, "churn": -0.1}, (1, float("nan"), 1), {"revenue": 1}, (1, 1)],
)
def test_bad_weights_are_rejected(weights):
    with pytest.raises(CJOError):
        combine(_components(), weights)


@pytest.mark.parametrize("levers", [{"p0": -1.0}, {"nope": 1.0}, {"p1": float("inf")}])
def test_bad_levers_are_rejected(levers):
    with pytest.raises(CJOError):
        combine(_components(), (1, 1, 1), levers=levers)


def test_bad_propensity_is_rejected():
    with pytest.raises(CJOError, match="shape"):
        combine(_components(), (1, 1, 1), propensity=np.ones((2, 2)))


def test_zero_lever_switches_a_product_off():
    out = combine(_components(), (1, 1, 1), levers={"p2": 0})
    assert np.all(out[:, :, 2] == 0) and np.any(out[:, :, 1] != 0)


def _catalog_with_exclusion():
    return parse_catalog(
        {
            "products": [
                {"key": "phone", "column": "Phone Service", "held_if": ["Yes"]},
                {"key": "internet", "column": "Internet Service", "held_if": ["Yes"]},
                {
                    "key": "tech_support",
                    "column": "Premium Tech Support",
                    "held_if": ["Yes"],
                    "requires": ["internet"],
                },
                {
                    "key": "device_protection",
                    "column": "Device Protection Plan",
                    "held_if": ["Yes"],
                    "excludes": ["tech_support"],
                },
            ]
        }
    )


def test_eligibility_masks_held_and_excluded_but_not_prerequisites():
    cat = _catalog_with_exclusion()
    held = np.array(
        [
            [False, False, False, False],  # nothing: all eligible (prerequisite left to journeys)
            [True, False, True, False],  # holds support -> protection excluded
            [False, True, False, True],  # holds protection -> support excluded
        ]
    )
    elig = eligibility(cat, held)
    assert elig.tolist() == [
        [True, True, True, True],
        [False, True, False, False],
        [True, False, False, False],
    ]
    now = offerable_now(cat, held)
    assert now[0].tolist() == [True, True, False, True]  # support needs internet first


def test_normalise_scales_zeroes_ineligible_and_diagonal():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(50, 4, 3, 3)) * np.array([500.0, 0.05, 0.3])
    elig = rng.random((50, 3)) < 0.7
    values, scale = normalise(raw, elig)
    assert values.dtype == np.float32 and values.flags.c_contiguous
    for k, f in enumerate(FACTORS):
        assert scale[f] == pytest.approx(robust_scale(raw[:, 0, :, k], elig), rel=1e-5)
        assert np.quantile(np.abs(values[:, 0, :, k][elig]), 0.75) == pytest.approx(1, rel=1e-4)
    assert np.all(values[~elig[:, None, :].repeat(4, 1)] == 0)
    assert np.all(values[:, 1 + np.arange(3), np.arange(3)] == 0)
    back, _ = normalise(raw, elig, scale)
    np.testing.assert_allclose(back, values, rtol=1e-6)


def test_normalise_rejects_bad_scale():
    with pytest.raises(CJOError):
        normalise(np.ones((2, 2, 1, 3)), np.ones((2, 1), bool), {"cltv": 0.0})


def test_components_validate_shapes():
    with pytest.raises(ValueError):
        Components(
            np.zeros((2, 3, 3, 3), np.float32),
            np.ones((2, 3), bool),
            np.zeros((2, 3), bool),
            np.arange(2),
            ("a", "b", "c"),
        )


def test_build_components_shapes_dtypes_and_mask(small_population):
    customers, _ = small_population
    cat = load_catalog("seed")
    for name, opts in (("peer-bayes", {}), ("neighbours", {"k": 20})):
        comp = build_components(customers, cat, name, **opts)
        n, p = len(customers), cat.n_products
        assert comp.values.shape == (n, 1 + p, p, 3) and comp.values.dtype == np.float32
        assert comp.eligible.dtype == np.bool_ and comp.held.dtype == np.bool_
        assert np.array_equal(comp.held, cat.holdings(customers))
        assert np.all(comp.values[~comp.eligible[:, None, :].repeat(1 + p, 1)] == 0)
        assert np.all(np.isfinite(comp.values))
        assert set(comp.scale) == set(FACTORS) and all(s > 0 for s in comp.scale.values())
        assert comp.estimator == name and comp.seconds > 0
        assert list(comp.customer_ids[:2]) == list(customers["Customer ID"][:2])
        raw = comp.raw()
        np.testing.assert_allclose(raw[..., 0], comp.values[..., 0] * comp.scale["cltv"], rtol=1e-6)


def test_build_components_unknown_estimator(small_population):
    with pytest.raises(CJOError, match="unknown estimator"):
        build_components(small_population[0], load_catalog("seed"), "magic")


def test_build_components_unknown_option(small_population):
    with pytest.raises(CJOError, match="no option"):
        build_components(small_population[0], load_catalog("seed"), "peer-bayes", k=3)


def test_subset_keeps_rows():
    comp = _components()
    sub = comp.subset(np.array([1, 3]))
    assert sub.n_customers == 2 and np.array_equal(sub.values, comp.values[[1, 3]])
