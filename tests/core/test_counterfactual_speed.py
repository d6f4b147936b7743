"""The stacked, de-duplicated counterfactual scoring equals the per-portfolio reference path.

``portfolio_effects`` uses :meth:`KeyFactorModels.predict_portfolios` (customer features read
once, every distinct (customer, portfolio) row scored in one call per model); the reference is
the straightforward path, one :meth:`KeyFactorModels.predict_factors` call per portfolio, which
``portfolio_effects`` takes for any model object without ``predict_portfolios``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.catalog import load_catalog
from core.models import KeyFactorModels
from core.opportunity import build_components
from core.opportunity.estimators.counterfactual import portfolio_effects


class _PerPortfolio:
    """The reference: only ``predict_factors`` (one call per portfolio), no stacking."""

    def __init__(self, models: KeyFactorModels) -> None:
        self._m = models
        self.product_keys_ = models.product_keys_
        self.catalog_ = models.catalog_
        self.unavailable_factors_ = models.unavailable_factors_

    def predict_factors(self, frame: pd.DataFrame, holdings: Any = None) -> Any:
        return self._m.predict_factors(frame, holdings)


@pytest.fixture(scope="module")
def frame(synthetic_frame) -> pd.DataFrame:
    return synthetic_frame(600, 3)


@pytest.fixture(scope="module")
def catalog(frame: pd.DataFrame) -> Any:
    return load_catalog("seed").restrict_to(list(frame.columns))


@pytest.fixture(scope="module")
def models(frame: pd.DataFrame, catalog: Any) -> KeyFactorModels:
    # the default models (blend churn, hgb CLTV, ordinal satisfaction), as the dashboard uses
    return KeyFactorModels(catalog, random_state=0).fit(frame.iloc[:400])


def test_transform_many_equals_per_portfolio_transform(models, frame) -> None:
    part = frame.iloc[400:520]
    rng = np.random.default_rng(0)
    held = models.catalog_.holdings(part)
    ports = [None, held, rng.random(held.shape) < 0.5, np.ones_like(held), np.zeros_like(held)]
    for builder in (models.features_, models.churn_features_):
        stacked = builder.transform_many(part, ports)
        reference = pd.concat([builder.transform(part, h) for h in ports], ignore_index=True)
        pd.testing.assert_frame_equal(stacked, reference, check_exact=True)


def test_predict_portfolios_equals_predict_factors(models, frame) -> None:
    part = frame.iloc[350:600]
    rng = np.random.default_rng(1)
    held = models.catalog_.holdings(part)
    ports = [held, rng.random(held.shape) < 0.3, rng.random(held.shape) < 0.7]
    stacked = models.predict_portfolios(part, ports)
    assert set(stacked) == set(models.factors_)
    for k, h in enumerate(ports):
        ref = models.predict_factors(part, h)
        for f in models.factors_:
            np.testing.assert_allclose(stacked[f][k], ref[f], rtol=0, atol=1e-12)


def test_components_equal_the_per_portfolio_reference(models, frame, catalog) -> None:
    part = frame.iloc[300:600]  # held-out and in-sample customers
    fast = build_components(part, catalog, "counterfactual", models=models)
    ref = build_components(part, catalog, "counterfactual", models=_PerPortfolio(models))
    assert fast.scale == pytest.approx(ref.scale, abs=1e-12)
    np.testing.assert_allclose(fast.values, ref.values, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(fast.eligible, ref.eligible)
    held = catalog.holdings(part)
    raw = portfolio_effects(models, part, held, catalog=catalog)
    raw_ref = portfolio_effects(_PerPortfolio(models), part, held, catalog=catalog)
    np.testing.assert_allclose(raw, raw_ref, rtol=0, atol=1e-9)


def test_components_equal_the_reference_with_a_sub_catalog(models, frame, catalog) -> None:
    # a catalog of fewer products in another order: the models' other products stay observed
    keys = list(catalog.keys)[::-1][:3]
    sub = dataclasses.replace(
        catalog, products=tuple(catalog.products[catalog.index(k)] for k in keys)
    )
    part = frame.iloc[450:600]
    held = sub.holdings(part)
    raw = portfolio_effects(models, part, held, catalog=sub, chunk_size=70)
    raw_ref = portfolio_effects(_PerPortfolio(models), part, held, catalog=sub, chunk_size=70)
    np.testing.assert_allclose(raw, raw_ref, rtol=0, atol=1e-9)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_portfolios_and_chunks_match_the_reference(models, frame, data) -> None:
    n = data.draw(st.integers(1, 40), label="customers")
    start = data.draw(st.integers(0, len(frame) - n), label="start")
    part = frame.iloc[start : start + n]
    p = len(models.product_keys_)
    bits = data.draw(st.lists(st.booleans(), min_size=n * p, max_size=n * p), label="held")
    held = np.array(bits, dtype=bool).reshape(n, p)
    chunk = data.draw(st.integers(1, 50), label="chunk")
    raw = portfolio_effects(models, part, held, chunk_size=chunk)
    raw_ref = portfolio_effects(_PerPortfolio(models), part, held, chunk_size=chunk)
    np.testing.assert_allclose(raw, raw_ref, rtol=0, atol=1e-9)
    progress: list[tuple[float, float]] = []
    portfolio_effects(models, part, held, progress=lambda d, t: progress.append((d, t)))
    assert progress and progress[-1][0] == progress[-1][1]


def test_block_scoring_equals_the_plain_model_calls(models, frame) -> None:
    from core.models import scoring

    part = frame.iloc[:300]
    held = models.catalog_.holdings(part)
    X = models.features_.transform_many(part, [held, ~held, None] * 4)  # 3,600 rows
    assert len(X) > scoring._BLOCK
    pred = scoring._predict_rows(models.cltv_model_, X, proba=False)
    assert np.array_equal(pred, models.cltv_model_.predict(X))
    sat = models.satisfaction_model_
    Z = sat[:-1].transform(X)
    ordinal = sat[-1]
    plain = np.column_stack(
        [
            np.full(len(Z), e) if isinstance(e, float) else e.predict_proba(Z)[:, 1]
            for e in ordinal.estimators_
        ]
    )
    assert np.array_equal(ordinal.cumulative_proba(Z), np.minimum.accumulate(plain, axis=1))
    churn = scoring._predict_rows(models.churn_model_, X, proba=True)
    assert np.array_equal(churn, models.churn_model_.predict_proba(X)[:, 1])


def test_encoded_matrix_equals_the_fitted_tree_preprocessor(models, frame) -> None:
    from core.models import scoring

    part = frame.iloc[:200]
    held = models.catalog_.holdings(part)
    ports = [held, ~held, None]
    columns, categories, _ = scoring._tree_layout(models.cltv_model_)
    X = models.features_.transform_many(part, ports)
    Z = models.features_.matrix_many(part, ports, columns, categories)
    assert np.array_equal(Z, models.cltv_model_[:-1].transform(X), equal_nan=True)
    # repeated customers through ``rows`` equal the repeated frame
    rows = np.array([5, 5, 0, 199, 7, 5])
    sub = [h[rows] for h in (held, ~held)]
    Zr = models.features_.matrix_many(part, sub, columns, categories, rows=rows)
    Xr = models.features_.transform_many(part.iloc[rows], sub)
    assert np.array_equal(Zr, models.cltv_model_[:-1].transform(Xr), equal_nan=True)
    # an unseen category encodes as NaN, like the OrdinalEncoder's unknown value
    odd = part.copy()
    odd["Payment Method"] = odd["Payment Method"].astype(object)
    odd.iloc[0, odd.columns.get_loc("Payment Method")] = "Barter"
    Xo = models.features_.transform_many(odd, [None])
    Zo = models.features_.matrix_many(odd, [None], columns, categories)
    assert np.isnan(Zo[0, columns.index("Payment Method")])
    assert np.array_equal(Zo, models.cltv_model_[:-1].transform(Xo), equal_nan=True)


def test_predict_portfolios_with_rows_equals_the_repeated_frame(models, frame) -> None:
    part = frame.iloc[:120]
    rows = np.r_[np.arange(120), np.arange(0, 120, 3)]
    h = models.catalog_.holdings(part)[rows]
    h[::2, 0] = True
    fast = models.predict_portfolios(part, [h], rows=rows)
    plain = models.predict_factors(part.iloc[rows], h)
    for f, v in plain.items():
        assert np.array_equal(fast[f][0], v), f


@pytest.fixture(scope="module")
def fast_models(frame: pd.DataFrame, catalog: Any) -> KeyFactorModels:
    return KeyFactorModels(catalog, preset="fast", random_state=0).fit(frame.iloc[:400])


def test_fast_preset_uses_fewer_trees_and_scores_the_same_both_ways(
    fast_models, frame, catalog
) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    m = fast_models
    assert (m.churn_kind_, m.satisfaction_kind_) == ("hgb", "regression")
    hgb = m.churn_model_[-1]
    assert isinstance(hgb, HistGradientBoostingClassifier)
    assert hgb.max_iter == 60 and hgb.categorical_features is None
    part = frame.iloc[400:]
    held = catalog.holdings(part)
    fast = build_components(part, catalog, "counterfactual", models=m, random_state=0)
    ref = portfolio_effects(_PerPortfolio(m), part, held, catalog=catalog)
    raw = portfolio_effects(m, part, held, catalog=catalog)
    assert np.array_equal(raw, ref)
    assert fast.values.shape[0] == len(part)


def test_explicit_choices_override_the_preset_and_bad_presets_are_refused(frame, catalog):
    from core.common.errors import ModelError

    m = KeyFactorModels(
        catalog, preset="fast", churn_model="logistic", factors=("churn",), random_state=0
    ).fit(frame.iloc[:300])
    assert m.churn_kind_ == "logistic"
    with pytest.raises(ModelError, match="preset"):
        KeyFactorModels(catalog, preset="turbo").fit(frame.iloc[:300])


def test_models_pickled_before_presets_still_load(models) -> None:
    import pickle

    state = dict(models.__dict__)
    for key in ("preset", "churn_kind_", "satisfaction_kind_"):
        state.pop(key)
    old = KeyFactorModels.__new__(KeyFactorModels)
    old.__setstate__(state)
    again = pickle.loads(pickle.dumps(old))
    assert again.preset == "accurate" and again.churn_kind_ == "blend"
    assert again.get_params()["preset"] == "accurate"


def test_customer_predictions_equal_one_predict_factors_call_per_portfolio(models, frame) -> None:
    from core.insights.customer import _predicted

    row = frame.iloc[[450]]
    held = models.catalog_.holdings(row)
    got = _predicted(models, row, held, np.array([0, 2, -1]))
    after = held.copy()
    after[0, [0, 2]] = True
    now, later = models.predict_factors(row, held), models.predict_factors(row, after)
    assert list(got["factor"]) == list(now)
    np.testing.assert_allclose(got["now"], [now[f][0] for f in now], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        got["with the journey"], [later[f][0] for f in now], rtol=0, atol=1e-12
    )
