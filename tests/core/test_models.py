"""Key-factor and acceptance models: leakage guard, counterfactual features, metrics, targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ModelError
from core.data import schema
from core.data.catalog import load_catalog
from core.data.io import load
from core.models import (
    CLTV_MODELS,
    AcceptanceModels,
    KeyFactorModels,
    OrdinalRegressor,
    cross_validate_models,
    satisfaction_label_evidence,
)


@pytest.fixture(scope="module")
def syn(synthetic_frame) -> pd.DataFrame:
    return synthetic_frame(1200, 7)


@pytest.fixture(scope="module")
def fitted(syn: pd.DataFrame) -> KeyFactorModels:
    return KeyFactorModels("seed", churn_model="logistic", random_state=0).fit(syn)


@pytest.fixture(scope="module")
def classic(fixtures_dir) -> pd.DataFrame:
    return load(fixtures_dir / "classic_telco.csv").frame


def test_features_never_contain_outcome_columns(fitted: KeyFactorModels, syn) -> None:
    for factor in schema.FACTORS:
        names = set(fitted.features(syn.head(5), factor=factor).columns)
        assert not names & set(schema.OUTCOME_COLUMNS)
        assert "Satisfaction Score" not in names
        assert "CLTV" not in names
        assert {f"holds_{k}" for k in fitted.product_keys_} <= names
    assert set(fitted.churn_feature_names_) == set(fitted.features(syn.head(3)).columns)


def test_satisfaction_only_when_asked(syn) -> None:
    m = KeyFactorModels(
        "seed", churn_model="logistic", include_satisfaction_in_churn=True, factors=("churn",)
    ).fit(syn)
    assert "Satisfaction Score" in m.churn_feature_names_
    assert "Satisfaction Score" not in m.feature_names_
    assert not set(m.churn_feature_names_) & set(schema.OUTCOME_COLUMNS)


def test_scrambling_outcome_columns_changes_nothing(syn, fitted: KeyFactorModels) -> None:
    rng = np.random.default_rng(1)
    scrambled = syn.copy()
    for col in ("Churn Score", "Customer Status", "Churn Category", "Churn Reason", "Churn Label"):
        scrambled[col] = rng.permutation(scrambled[col].to_numpy())
    refit = KeyFactorModels("seed", churn_model="logistic", random_state=0).fit(scrambled)
    for f in fitted.factors_:
        np.testing.assert_array_equal(
            fitted.predict_factor(syn, None, f), refit.predict_factor(scrambled, None, f)
        )
    # and the fitted model ignores them at prediction time
    before = fitted.predict_factors(syn)
    after = fitted.predict_factors(scrambled)
    for f in before:
        np.testing.assert_array_equal(before[f], after[f])


def test_observed_holdings_equal_default(fitted: KeyFactorModels, syn) -> None:
    h = fitted.catalog_.holdings(syn)
    a, b = fitted.predict_factors(syn), fitted.predict_factors(syn, h)
    assert set(a) == {"cltv", "churn", "satisfaction"}
    for f in a:
        np.testing.assert_array_equal(a[f], b[f])
        assert a[f].shape == (len(syn),)
    assert ((a["churn"] >= 0) & (a["churn"] <= 1)).all()
    assert ((a["satisfaction"] >= 1) & (a["satisfaction"] <= 5)).all()


def test_adding_internet_rewrites_dependent_features(fitted: KeyFactorModels, syn) -> None:
    cat = fitted.catalog_
    j = cat.index("internet")
    rows = syn[syn["Internet Service"] == "No"].head(20)
    h = cat.holdings(rows)
    h[:, j] = True
    before = fitted.features(rows, factor="cltv")
    after = fitted.features(rows, h, factor="cltv")
    price = cat.products[j].monthly_price
    np.testing.assert_allclose(after["Monthly Charge"] - before["Monthly Charge"], price)
    assert (after["holds_internet"] == 1).all() and (before["holds_internet"] == 0).all()
    internet = syn[syn["Internet Service"] == "Yes"]
    assert (after["Internet Type"] == internet["Internet Type"].mode()[0]).all()
    gb = internet["Avg Monthly GB Download"].median()
    assert (after["Avg Monthly GB Download"] == gb).all()
    assert (after["n_services"] == before["n_services"] + 1).all()
    # unchanged customer history
    np.testing.assert_array_equal(after["charges_per_month"], before["charges_per_month"])


def test_removing_internet_clears_addons(fitted: KeyFactorModels, syn) -> None:
    cat = fitted.catalog_
    rows = syn[(syn["Internet Service"] == "Yes") & (syn["Streaming TV"] == "Yes")].head(20)
    h = cat.holdings(rows)
    h[:, cat.index("internet")] = False
    h[:, cat.index("device_protection")] = False
    h[:, cat.index("tech_support")] = False
    x = fitted.features(rows, h)
    assert (x["Streaming TV"] == 0).all() and (x["Online Security"] == 0).all()
    assert (x["Internet Type"] == "None").all()
    assert (x["Avg Monthly GB Download"] == 0).all()
    assert (x["Monthly Charge"] >= 0).all()
    assert (x["Monthly Charge"] < rows["Monthly Charge"].to_numpy()).all()


def test_adding_offer_uses_tenure_band(fitted: KeyFactorModels, syn) -> None:
    cat = fitted.catalog_
    rows = syn[syn["Offer"] == "None"].head(30)
    h = cat.holdings(rows)
    h[:, cat.index("offer")] = True
    x = fitted.features(rows, h)
    assert (x["Offer"] != "None").all()
    took = syn[syn["Offer"] != "None"]
    for tenure, offer in zip(rows["Tenure in Months"], x["Offer"], strict=True):
        same = took[took["Tenure in Months"] == tenure]["Offer"]
        if len(same):  # an offer customers of that tenure actually took (tenure-banded)
            assert offer in set(same)
    h[:, cat.index("offer")] = False
    assert (fitted.features(rows, h)["Offer"] == "None").all()


def test_counterfactual_moves_predictions(fitted: KeyFactorModels, syn) -> None:
    h = fitted.catalog_.holdings(syn)
    j = fitted.catalog_.index("tech_support")
    mask = ~h[:, j] & h[:, fitted.catalog_.index("internet")]
    h2 = h.copy()
    h2[:, j] = True
    a = fitted.predict_factors(syn[mask], h[mask])
    b = fitted.predict_factors(syn[mask], h2[mask])
    assert not np.allclose(a["churn"], b["churn"])


def test_bad_holdings_shape_and_unfitted(fitted: KeyFactorModels, syn) -> None:
    with pytest.raises(ModelError, match="shape"):
        fitted.predict_factors(syn.head(4), np.zeros((4, 2), bool))
    with pytest.raises(ModelError, match="not fitted"):
        KeyFactorModels().predict_factors(syn.head(2))
    with pytest.raises(ModelError, match="cltv_model"):
        KeyFactorModels(cltv_model="xgboost").fit(syn)


def test_classic_layout_churn_only(classic: pd.DataFrame) -> None:
    m = KeyFactorModels("seed", churn_model="logistic").fit(classic)
    assert m.factors_ == ("churn",)
    assert "offer" not in m.product_keys_  # the classic export has no Offer column
    assert set(m.unavailable_factors_) == {"cltv", "satisfaction"}
    out = m.predict_factors(classic)
    assert set(out) == {"churn"}
    with pytest.raises(ModelError, match="no cltv model"):
        m.predict_factor(classic, None, "cltv")
    res = cross_validate_models(classic, "seed", churn_model="logistic", importance=False)
    assert res["cltv"]["available"] is False and res["cltv"]["r2"] is None
    assert res["satisfaction"]["r2"] is None
    assert 0 <= res["churn"]["roc_auc"] <= 1


@pytest.mark.parametrize("kind", CLTV_MODELS)
def test_every_cltv_family_fits(kind: str, syn) -> None:
    small = syn.head(500)
    m = KeyFactorModels("seed", cltv_model=kind, factors=("cltv",)).fit(small)
    pred = m.predict_factors(small)["cltv"]
    # in-sample, every family must beat predicting the mean
    y = small["CLTV"].to_numpy()
    assert np.mean((pred - y) ** 2) < np.var(y)


def test_ordinal_regressor_expected_value() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 1))
    y = np.clip(np.round(3 + 1.5 * x[:, 0] + rng.normal(0, 0.5, 600)), 1, 5)
    from sklearn.linear_model import LogisticRegression

    m = OrdinalRegressor(LogisticRegression()).fit(x, y)
    cum = m.cumulative_proba(np.array([[-2.0], [0.0], [2.0]]))
    assert (np.diff(cum, axis=1) <= 0).all()
    pred = m.predict(np.array([[-2.0], [0.0], [2.0]]))
    assert pred[0] < pred[1] < pred[2] and 1 <= pred.min() and pred.max() <= 5
    assert abs(pred[1] - 3) < 0.4


def test_cross_validation_report(syn) -> None:
    steps = []
    res = cross_validate_models(
        syn.head(800),
        "seed",
        churn_model="logistic",
        n_splits=3,
        progress=lambda d, t: steps.append((d, t)),
    )
    churn = res["churn"]
    assert set(churn["folds"]) == {"roc_auc", "pr_auc", "brier"}
    assert len(churn["folds"]["roc_auc"]) == 3
    assert sum(b["count"] for b in churn["reliability"]) == 800
    assert churn["roc_auc"] > 0.7
    assert churn["with_satisfaction"]["roc_auc"] > churn["roc_auc"]
    assert churn["satisfaction_is_nearly_a_label"]["flag"] is True
    for f in ("cltv", "satisfaction"):
        assert res[f]["r2"] > res[f]["baseline_r2"]
        assert res[f]["mae"] < res[f]["baseline_mae"]
    top = res["permutation_importance"]["churn"]
    assert top and not {t["feature"] for t in top} & set(schema.OUTCOME_COLUMNS)
    assert steps[-1][0] == steps[-1][1]


def test_satisfaction_evidence_not_flagged_when_unrelated() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"Satisfaction Score": rng.integers(1, 6, 2000), "Churn Value": rng.integers(0, 2, 2000)}
    )
    ev = satisfaction_label_evidence(frame)
    assert ev["flag"] is False and ev["share_with_score_deciding_churn"] == 0.0


def test_acceptance_models(syn) -> None:
    half = len(syn) // 2
    train, test = syn.iloc[:half], syn.iloc[half:]
    acc = AcceptanceModels("seed").fit(train)
    p = acc.predict_proba(test)
    assert p.shape == (len(test), len(acc.product_keys_))
    assert ((p >= 0) & (p <= 1)).all()
    assert not {"Monthly Charge", "Internet Type"} & set(acc.feature_names_)
    held = acc.catalog_.holdings(test)
    net = acc.product_keys_.index("internet")
    dp = acc.product_keys_.index("device_protection")
    # calibrated: mean propensity among eligible customers close to their holding rate
    elig = held[:, net]
    assert abs(p[elig, dp].mean() - held[elig, dp].mean()) < 0.08
    strict = acc.predict_proba(test, given_prerequisites=False)
    assert (strict[~elig, dp] == 0).all()
    np.testing.assert_array_equal(strict[elig, dp], p[elig, dp])
    # the rest of the portfolio is an input
    h = held.copy()
    h[:, acc.product_keys_.index("tech_support")] = ~h[:, acc.product_keys_.index("tech_support")]
    assert not np.allclose(acc.predict_proba(test, h)[:, dp], p[:, dp])


def test_acceptance_constant_for_degenerate_product(syn) -> None:
    frame = syn.head(200).copy()
    frame["Premium Tech Support"] = "No"
    acc = AcceptanceModels("seed").fit(frame)
    assert "tech_support" in acc.constant_
    p = acc.predict_proba(frame)[:, acc.product_keys_.index("tech_support")]
    assert np.unique(p).size == 1 and 0 < p[0] < 0.05


@pytest.mark.real_data
@pytest.mark.slow
def test_ibm_churn_auc_target(ibm_path) -> None:
    frame = load(ibm_path).frame
    res = cross_validate_models(frame, "seed", n_splits=5, random_state=0, importance=False)
    churn = res["churn"]
    assert res["cv"]["stratified"] and res["cv"]["n_splits"] == 5
    assert churn["roc_auc"] >= 0.91, churn
    assert churn["with_satisfaction"]["roc_auc"] > churn["roc_auc"]
    evidence = churn["satisfaction_is_nearly_a_label"]
    assert evidence["flag"] is True
    assert evidence["churn_rate_by_score"]["1"] == 1.0
    assert evidence["churn_rate_by_score"]["5"] == 0.0
    assert res["cltv"]["r2"] > res["cltv"]["baseline_r2"]
    assert res["satisfaction"]["r2"] > res["satisfaction"]["baseline_r2"]


@pytest.mark.real_data
def test_ibm_feature_names_are_leakage_free(ibm_path) -> None:
    frame = load(ibm_path).frame.head(600)
    m = KeyFactorModels(load_catalog("full"), churn_model="logistic", factors=("churn",))
    m.fit(frame)
    assert not set(m.churn_feature_names_) & set(schema.OUTCOME_COLUMNS)
    assert "Satisfaction Score" not in m.churn_feature_names_
    assert len(m.product_keys_) == 11
