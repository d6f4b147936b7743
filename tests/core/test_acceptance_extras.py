"""Offer-acceptance models read a file's extra columns, but never the ones that reveal holdings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.data.catalog import load_catalog
from core.data.io import load
from core.models.acceptance import AcceptanceModels

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import make_churn_export  # noqa: E402


@pytest.fixture(scope="module")
def frame(synthetic_frame):
    return synthetic_frame(3000, 5)


def _with_channel(frame, held, j, seed=0):
    """An extra categorical column: 'web' for 80% of product j's holders, 20% of the others."""
    rng = np.random.default_rng(seed)
    p = np.where(held[:, j], 0.8, 0.2)
    out = frame.copy()
    out["Sign-up Channel"] = np.where(rng.random(len(frame)) < p, "web", "shop")
    return out


def test_an_extra_column_that_predicts_taking_a_product_is_used(frame):
    cat = load_catalog("seed")
    held = cat.holdings(frame)
    j = cat.index("device_protection")
    extra = _with_channel(frame, held, j)
    train, test = np.arange(len(frame)) < 2000, np.arange(len(frame)) >= 2000
    plain = AcceptanceModels(cat).fit(frame[train])
    richer = AcceptanceModels(cat).fit(extra[train])
    assert "Sign-up Channel" in richer.feature_names_
    assert "Sign-up Channel" not in plain.feature_names_
    assert richer.profile_extras()[2] == ["Sign-up Channel"]
    eligible = test & held[:, cat.requires_matrix()[j]].all(axis=1)
    y = held[eligible, j]
    auc_plain = roc_auc_score(y, plain.predict_proba(frame[eligible])[:, j])
    auc_rich = roc_auc_score(y, richer.predict_proba(extra[eligible])[:, j])
    assert auc_rich > auc_plain + 0.05, (auc_plain, auc_rich)
    # a chunk without the column reads it as missing, without an error
    missing = richer.predict_proba(frame[test])
    assert missing.shape == (int(test.sum()), cat.n_products) and np.isfinite(missing).all()


def test_the_usage_of_a_product_stays_out_of_the_acceptance_profile(tmp_path):
    data = make_churn_export.write(tmp_path / "churn.csv")
    mapping = tmp_path / "churn.toml"
    mapping.write_text(make_churn_export.MAPPING_TOML, encoding="utf-8")
    loaded = load(data, mapping=mapping, catalog="telecom_plans")
    model = AcceptanceModels(loaded.catalog).fit(loaded.frame)
    assert "Number vmail messages" in model.extras_.usage  # 0 without the voice-mail plan
    assert "Number vmail messages" not in model.feature_names_
    assert "Customer service calls" in model.feature_names_
    p = model.predict_proba(loaded.frame)
    assert p.shape == (loaded.n_rows, 2) and ((p > 0) & (p < 1)).all()
