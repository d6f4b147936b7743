"""Ground-truth validation metrics and the opportunity-check command."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from core.cli.opportunity_check import add_cli
from core.common.errors import CJOError
from core.data.catalog import load_catalog
from core.opportunity import Components, eligibility, offerable_now, robust_scale
from core.opportunity.groundtruth import (
    opportunity_check,
    spearman,
    true_effects,
    validate,
)


@pytest.fixture(scope="module")
def population():
    from core.data import synthetic

    return synthetic.generate_frame(2000, seed=3)


def _components_from(values0, held, catalog):
    n, p, _ = values0.shape
    values = np.zeros((n, 1 + p, p, 3), np.float32)
    values[:, 0] = np.nan_to_num(values0)
    return Components(
        values=values,
        eligible=eligibility(catalog, held),
        held=held,
        customer_ids=np.arange(n),
        product_keys=catalog.keys,
    )


def test_true_effects_flip_churn(population):
    _, truth = population
    cat = load_catalog("seed")
    t = true_effects(truth, cat)
    j = cat.index("internet")
    np.testing.assert_allclose(t[:, j, 1], -truth["d_churn__internet"].to_numpy())
    np.testing.assert_allclose(t[:, j, 0], truth["d_cltv__internet"].to_numpy())


def test_estimate_equal_to_truth_scores_perfectly(population):
    customers, truth = population
    cat = load_catalog("seed")
    held = cat.holdings(customers)
    t = true_effects(truth, cat)
    now = offerable_now(cat, held)
    scale = np.array([robust_scale(t[:, :, k], now) for k in range(3)])
    res = validate(_components_from(t / scale, held, cat), truth, cat)
    assert res["spearman"] == pytest.approx(1.0)
    assert res["spearman_combined"] == pytest.approx(1.0)
    assert res["top1"] == 1.0
    # another per-factor scale changes the 1/1/1 trade-off but not the per-factor ranks
    res = validate(_components_from(t * np.array([1.0, 50.0, 3.0]), held, cat), truth, cat)
    assert res["spearman"] == pytest.approx(1.0) and res["top1"] < 1.0
    assert res["n_top1"] > 500
    assert set(res["per_product"]) == set(cat.keys)


def test_shuffled_estimate_scores_near_zero(population):
    customers, truth = population
    cat = load_catalog("seed")
    held = cat.holdings(customers)
    t = np.nan_to_num(true_effects(truth, cat))
    rng = np.random.default_rng(0)
    shuffled = rng.standard_normal(t.shape)  # unrelated to the truth
    res = validate(_components_from(shuffled, held, cat), truth, cat)
    assert abs(res["spearman"]) < 0.06
    assert abs(res["top1"] - res["top1_chance"]) < 0.05


def test_spearman_edge_cases():
    assert spearman(np.ones(5), np.arange(5)) == 0.0
    assert np.isnan(spearman(np.arange(5), np.ones(5)))
    assert spearman(np.array([1, 2, 2, 3]), np.array([10, 20, 20, 30])) == pytest.approx(1.0)
    assert spearman(np.arange(10), -(np.arange(10.0) ** 3)) == pytest.approx(-1.0)


def test_validate_rejects_mismatch(population):
    customers, truth = population
    cat = load_catalog("seed")
    comp = _components_from(np.zeros((10, 5, 3)), cat.holdings(customers)[:10], cat)
    with pytest.raises(CJOError):
        validate(comp, truth, cat)


def test_opportunity_check_rejects_unknown_estimator():
    with pytest.raises(CJOError, match="unknown estimator"):
        opportunity_check(100, 0, ["oracle"])


def test_cli_writes_the_report(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    out = tmp_path / "report.json"
    args = parser.parse_args(
        [
            "opportunity-check",
            "--rows",
            "300",
            "--seed",
            "1",
            "--report",
            str(out),
            "--estimators",
            "peer-bayes,neighbours",
            "--quiet",
            "--no-decision",  # the estimates only (tests/core/test_decision.py: the decisions)
        ]
    )
    assert args.func(args) == 0
    report = json.loads(out.read_text())
    assert set(report) == {"peer-bayes", "neighbours"}
    for r in report.values():
        assert {"spearman", "top1", "seconds"} <= set(r)
        assert -1 <= r["spearman"] <= 1 and 0 <= r["top1"] <= 1 and r["seconds"] > 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["neighbours"]) == {"spearman", "top1", "seconds"}


def test_cli_model_preset_reaches_the_counterfactual_models(tmp_path, monkeypatch):
    from core.opportunity.estimators import counterfactual

    seen: list[dict] = []
    real = counterfactual.fit_models

    def spy(frame, catalog, random_state, **options):
        seen.append(options)
        return real(frame, catalog, random_state, **options)

    monkeypatch.setattr(counterfactual, "fit_models", spy)
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    out = tmp_path / "report.json"
    args = parser.parse_args(
        ["opportunity-check", "--rows", "300", "--report", str(out), "--quiet"]
        + ["--estimators", "counterfactual", "--model-preset", "fast", "--no-decision"]
    )
    assert args.func(args) == 0
    assert seen == [{"preset": "fast"}]
    assert set(json.loads(out.read_text())) == {"counterfactual"}
