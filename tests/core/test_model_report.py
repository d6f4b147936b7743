"""Models page helpers: metric tables, curves, out-of-fold churn predictions, model cards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from core.common.errors import CJOError, ModelError
from core.models import cross_validate_models
from core.models import report as mr


@pytest.fixture(scope="module")
def frame(synthetic_frame):
    return synthetic_frame(600, 5)


METRICS = {
    "churn": {
        "available": True,
        "roc_auc": 0.9,
        "pr_auc": 0.7,
        "brier": 0.12,
        "base_rate": 0.25,
        "reliability": [
            {
                "bin_lower": 0.0,
                "bin_upper": 0.1,
                "mean_predicted": 0.05,
                "observed_rate": 0.04,
                "count": 10,
            }
        ],
        "with_satisfaction": {"roc_auc": 0.99, "pr_auc": 0.98, "brier": 0.03},
        "satisfaction_is_nearly_a_label": {
            "available": True,
            "flag": True,
            "churn_rate_by_score": {"1": 1.0, "2": 1.0, "3": 0.16, "4": 0.0, "5": 0.0},
            "share_with_score_deciding_churn": 0.62,
        },
    },
    "cltv": {
        "available": True,
        "r2": 0.2,
        "mae": 900.0,
        "baseline_r2": -0.001,
        "baseline_mae": 995.0,
    },
    "satisfaction": {"available": False, "reason": "the data has no Satisfaction Score column"},
    "permutation_importance": {
        "churn": [
            {"feature": "Contract", "importance": 0.1},
            {"feature": "Tenure", "importance": 0.2},
        ],
        "cltv": [{"feature": "Age", "importance": 0.05}],
    },
}


def test_metric_table_compares_with_baselines_and_marks_unavailable():
    t = mr.metric_table(METRICS).set_index("key")
    assert t.loc["churn.roc_auc", "baseline"] == 0.5 and t.loc["churn.roc_auc", "better"]
    assert t.loc["churn.pr_auc", "baseline"] == 0.25
    assert t.loc["churn.brier", "baseline"] == pytest.approx(0.25 * 0.75)
    assert t.loc["churn.brier", "better"]  # 0.12 < 0.1875: lower is better
    assert t.loc["cltv.mae", "better"] and t.loc["cltv.r2", "better"]
    sat = t.loc["satisfaction.r2"]
    assert not sat["available"] and pd.isna(sat["value"]) and "no Satisfaction" in sat["help"]
    worse = mr.metric_table({**METRICS, "cltv": {**METRICS["cltv"], "mae": 1200.0}})
    assert not worse.set_index("key").loc["cltv.mae", "better"]


def test_importance_and_reliability_tables():
    imp = mr.importance_table(METRICS)
    churn = imp[imp["factor"] == "churn"]["feature"].tolist()
    assert churn == ["Tenure", "Contract"]  # largest first
    assert list(mr.importance_table({}).columns) == ["factor", "feature", "importance"]
    rel = mr.reliability_table(METRICS)
    assert rel is not None and rel["count"].tolist() == [10]
    assert mr.reliability_table({"churn": {}}) is None


def test_satisfaction_warning_names_the_evidence():
    text = mr.satisfaction_warning(METRICS)
    assert text is not None
    assert "nearly a churn label" in text and "score 1: 100%" in text and "62%" in text
    assert "0.900 to 0.990" in text
    assert mr.satisfaction_warning({"churn": {"satisfaction_is_nearly_a_label": {}}}) is None


def test_curves_match_sklearn_and_span_the_square():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2_000)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, y.size), 0, 1)
    c = mr.curves(y, p, max_points=50)
    assert c.roc_auc == pytest.approx(roc_auc_score(y, p))
    assert c.pr_auc == pytest.approx(average_precision_score(y, p))
    assert len(c.roc) <= 50 and len(c.pr) <= 50
    assert (c.roc.iloc[0][["fpr", "tpr"]] == 0).all() and (
        c.roc.iloc[-1][["fpr", "tpr"]] == 1
    ).all()
    assert np.all(np.diff(c.roc["fpr"]) >= 0) and np.all(np.diff(c.pr["recall"]) >= 0)
    assert c.reliability["count"].sum() == y.size and c.n == y.size
    assert c.base_rate == pytest.approx(y.mean())
    # a calibrated predictor's reliability bins lie near the diagonal
    p_cal = rng.uniform(0, 1, 50_000)
    y_cal = (rng.uniform(0, 1, p_cal.size) < p_cal).astype(int)
    rel = mr.curves(y_cal, p_cal).reliability
    assert np.abs(rel["observed_rate"] - rel["mean_predicted"]).max() < 0.03


@pytest.mark.parametrize(
    ("y", "p"),
    [([0, 0, 0], [0.1, 0.2, 0.3]), ([0, 1], [0.1]), ([0, 1], [0.1, 1.5]), ([0, 2], [0.1, 0.2])],
)
def test_curves_refuse_bad_input(y, p):
    with pytest.raises(CJOError):
        mr.curves(y, p)


def test_churn_oof_uses_the_cross_validation_folds(frame):
    p = mr.churn_oof(frame, "seed", n_splits=3, random_state=0, churn_model="logistic")
    assert p.shape == (len(frame),) and np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    y = frame["Churn Value"].to_numpy(dtype=int)
    cv = cross_validate_models(
        frame,
        "seed",
        churn_model="logistic",
        n_splits=3,
        random_state=0,
        with_satisfaction=False,
        importance=False,
    )
    splits = StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    fold_auc = [roc_auc_score(y[te], p[te]) for _, te in splits]
    assert fold_auc == pytest.approx(cv["churn"]["folds"]["roc_auc"], abs=1e-9)
    assert roc_auc_score(y, p) > 0.6


def test_churn_oof_needs_churn(frame):
    with pytest.raises(ModelError, match="Churn Value"):
        mr.churn_oof(frame.drop(columns=["Churn Value"]))


def test_model_cards_reads_markdown_next_to_artifacts(tmp_path):
    (tmp_path / "key_factors.md").write_text("# Model card: key factors\n", encoding="utf-8")
    (tmp_path / "acceptance.md").write_text("# Model card: acceptance\n", encoding="utf-8")
    (tmp_path / "metrics.json").write_text("{}", encoding="utf-8")
    cards = mr.model_cards(tmp_path)
    assert list(cards) == ["acceptance", "key_factors"]
    assert cards["key_factors"].startswith("# Model card")
    assert mr.model_cards(tmp_path / "missing") == {} and mr.model_cards(None) == {}
