"""The estimators: peer-bayes (fast == N x N), counterfactual and neighbours (planted effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.data.catalog import parse_catalog
from core.opportunity import build_components
from core.opportunity.estimators import peer_bayes_bruteforce, peer_bayes_probabilities
from core.opportunity.estimators.counterfactual import portfolio_effects

# ---- peer-bayes ------------------------------------------------------------------------------


@st.composite
def _population(draw):
    n = draw(st.integers(1, 40))
    p = draw(st.integers(1, 4))
    y = draw(arrays(np.int64, n, elements=st.integers(0, 6)))  # small range: many ties
    held = draw(arrays(np.bool_, (n, p)))
    return y.astype(float), held


@settings(max_examples=150, deadline=None)
@given(data=_population(), centre=st.sampled_from(["none", "half", "baseline"]))
def test_peer_bayes_sorting_equals_bruteforce(data, centre):
    y, held = data
    fast = peer_bayes_probabilities(y, held, centre=centre)
    slow = peer_bayes_bruteforce(y, held, centre=centre)
    assert fast.shape == (len(y), 1 + held.shape[1], held.shape[1])
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_peer_bayes_by_hand():
    # customers 0..3 with CLTV 10, 20, 20, 30; product 0 held by 1 and 3, product 1 by 2 and 3
    y = np.array([10.0, 20.0, 20.0, 30.0])
    held = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=bool)
    out = peer_bayes_probabilities(y, held)
    # customer 0: better = {1, 2, 3}; start row: P(better and p_j) = 2/4 for both products
    assert out[0, 0].tolist() == [0.5, 0.5]
    # customer 1: better = {3} (2 ties, not better); P(better and p_0) = 1/4
    assert out[1, 0, 0] == pytest.approx(0.25)
    # after product 0 (held by 1, 3): P(better and p_1 | p_0) = #{3} / 2
    assert out[1, 1, 1] == pytest.approx(0.5)
    # customer 3 is the best: nobody better -> undefined -> 0.5
    assert out[3].tolist() == [[0.5, 0.5]] * 3


def test_peer_bayes_baseline_is_zero_when_holding_says_nothing():
    # product held by every second customer in rank order: no association with being better
    y = np.arange(1000, dtype=float)
    held = (np.arange(1000) % 2 == 0)[:, None]
    out = peer_bayes_probabilities(y, held, centre="baseline")
    assert np.abs(out).max() < 2e-3


# ---- a planted population ------------------------------------------------------------------

CATALOG = parse_catalog(
    {
        "catalog": {"name": "planted"},
        "products": [
            {"key": "phone", "column": "Phone Service", "held_if": ["Yes"]},
            {"key": "internet", "column": "Internet Service", "held_if": ["Yes"]},
            {
                "key": "tech_support",
                "column": "Premium Tech Support",
                "held_if": ["Yes"],
                "requires": ["internet"],
            },
        ],
    }
)


@pytest.fixture(scope="module")
def planted():
    """Synthetic customers whose outcomes are rewritten: tech support raises CLTV and
    satisfaction and lowers churn; internet lowers CLTV and satisfaction and raises churn."""
    from core.data import synthetic

    customers, _ = synthetic.generate_frame(1500, seed=11)
    rng = np.random.default_rng(0)
    held = CATALOG.holdings(customers)
    ts, inet = held[:, 2].astype(float), held[:, 1].astype(float)
    tenure = customers["Tenure in Months"].to_numpy(float)
    df = customers.copy()
    df["CLTV"] = 3500 + 10 * tenure + 900 * ts - 600 * inet + rng.normal(0, 150, len(df))
    p_churn = np.clip(0.35 - 0.25 * ts + 0.2 * inet - 0.002 * tenure, 0.02, 0.95)
    churned = rng.random(len(df)) < p_churn
    df["Churn Value"] = churned.astype(np.int64)
    df["Churn Label"] = np.where(churned, "Yes", "No")
    df["Churn Score"] = np.rint(100 * p_churn + rng.normal(0, 3, len(df))).clip(0, 100)
    sat = 3 + 1.2 * ts - 0.8 * inet + rng.normal(0, 0.4, len(df))
    df["Satisfaction Score"] = np.rint(sat).clip(1, 5).astype(np.int64)
    return df


def _mean_first_step(comp, j):
    m = comp.eligible[:, j] & comp.held[:, 1]  # offerable now: internet held
    if j == 1:
        m = comp.eligible[:, j]
    return comp.raw()[m, 0, j, :].mean(axis=0)


def test_neighbours_recover_planted_signs(planted):
    comp = build_components(planted, CATALOG, "neighbours", k=50)
    support = _mean_first_step(comp, 2)
    internet = _mean_first_step(comp, 1)
    assert np.all(support > 0), support  # CLTV up, churn down (positive = good), satisfaction up
    assert np.all(internet < 0), internet
    assert support[0] == pytest.approx(900, rel=0.35)


def test_counterfactual_recovers_planted_signs(planted):
    from core.models import KeyFactorModels

    models = KeyFactorModels(
        CATALOG, cltv_model="ridge", churn_model="logistic", satisfaction_model="regression"
    ).fit(planted)
    comp = build_components(planted, CATALOG, "counterfactual", models=models)
    support = _mean_first_step(comp, 2)
    internet = _mean_first_step(comp, 1)
    assert np.all(support > 0), support
    assert np.all(internet < 0), internet
    assert support[0] == pytest.approx(900, rel=0.35)


def test_peer_bayes_sees_the_planted_association(planted):
    comp = build_components(planted, CATALOG, "peer-bayes")
    assert np.all(_mean_first_step(comp, 2) > 0)
    assert np.all(_mean_first_step(comp, 1) < 0)


def test_peer_bayes_without_churn_score_uses_churn_value(planted):
    comp = build_components(planted.drop(columns=["Churn Score"]), CATALOG, "peer-bayes")
    assert any("Churn Value" in note for note in comp.notes)
    assert np.any(comp.values[..., 1] != 0)


def test_peer_bayes_smoothing_is_a_function_of_features(planted):
    small = planted.iloc[:300]
    comp = build_components(small, CATALOG, "peer-bayes", smooth=True, n_estimators=5)
    plain = build_components(small, CATALOG, "peer-bayes")
    assert np.all(np.isfinite(comp.values))
    assert not np.allclose(comp.values, plain.values)
    again = build_components(small, CATALOG, "peer-bayes", smooth=True, n_estimators=5)
    np.testing.assert_array_equal(comp.values, again.values)  # reproducible per random_state


class _LinearStub:
    """f(H) = H @ a + b * H[:, 0] * H[:, 1] for every factor (churn uses -f)."""

    product_keys_ = CATALOG.keys

    def predict_factors(self, frame, holdings):
        h = np.asarray(holdings, dtype=float)
        f = h @ np.array([1.0, 2.0, 4.0]) + 10.0 * h[:, 0] * h[:, 1]
        return {"cltv": f, "churn": -f, "satisfaction": 2 * f}


def test_counterfactual_differences_follow_the_definition():
    frame = pd.DataFrame({"x": range(3)})
    held = np.array([[False, False, False], [True, False, False], [False, True, True]])
    raw = portfolio_effects(_LinearStub(), frame, held)
    stub = _LinearStub()

    def f(h):
        return stub.predict_factors(None, h[None])["cltv"][0]

    for c in range(3):
        for j in range(3):
            hj = held[c].copy()
            hj[j] = True
            assert raw[c, 0, j, 0] == pytest.approx(f(hj) - f(held[c]))
            for i in range(3):
                if i == j:
                    continue
                hi = held[c].copy()
                hi[i] = True
                hij = hi.copy()
                hij[j] = True
                assert raw[c, 1 + i, j, 0] == pytest.approx(f(hij) - f(hi))
    np.testing.assert_allclose(raw[..., 1], raw[..., 0])  # churn -f, sign flipped: + good
    np.testing.assert_allclose(raw[..., 2], 2 * raw[..., 0])
    assert raw[0, 0, 1, 0] == pytest.approx(2.0) and raw[0, 1, 1, 0] == pytest.approx(12.0)
