"""The doubly robust estimator adjusts for a file's extra columns (confounders it records)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import synthetic
from core.data.catalog import load_catalog
from core.opportunity.estimators import doubly_robust as dr
from core.opportunity.groundtruth import true_effects


@pytest.fixture(scope="module")
def population():
    customers, truth = synthetic.generate_frame(3000, 5)
    return customers, truth, load_catalog("full")


def _with_traits(customers, truth):
    """The population with its hidden traits recorded as extra columns (a survey, say)."""
    out = customers.copy()
    for c in [c for c in truth.columns if c.startswith("latent_")]:
        out[c.replace("latent_", "Survey ")] = truth[c].to_numpy()
    return out


def _average_effect_error(frame, truth, catalog) -> np.ndarray:
    """Per factor: mean over products of |estimated - true| average effect over non-holders,
    in standard deviations of the true effects."""
    held = catalog.holdings(frame)
    est = dr.estimate(frame, catalog, held, random_state=0).raw[:, 0].astype(np.float64)
    true = true_effects(truth, catalog)
    out = []
    for k in range(3):
        e = np.where(held, np.nan, est[:, :, k])
        t = np.where(held, np.nan, true[:, :, k])
        out.append(np.mean(np.abs(np.nanmean(e, 0) - np.nanmean(t, 0))) / np.nanstd(t))
    return np.array(out)


def test_recorded_confounders_bring_the_churn_and_satisfaction_effects_closer_to_the_truth(
    population,
):
    customers, truth, catalog = population
    without = _average_effect_error(customers, truth, catalog)
    with_traits = _average_effect_error(_with_traits(customers, truth), truth, catalog)
    # churn and satisfaction: the traits that drive who holds a product also drive its effect
    assert with_traits[1:].sum() < 0.9 * without[1:].sum(), (without, with_traits)


def test_the_extra_columns_are_covariates_and_named_in_the_notes(population):
    customers, truth, catalog = population
    frame = _with_traits(customers, truth)
    models = dr.DoublyRobustEffects(catalog).fit(frame)
    names = models.covariates(0)
    assert "Survey tech_affinity" in names and "Survey loyalty" in names
    assert any("Survey price_sensitivity" in n for n in models.notes_)
    plain = dr.DoublyRobustEffects(catalog).fit(customers)
    assert not any(n.startswith("Survey") for n in plain.covariates(0))
    assert not any("extra columns" in n for n in plain.notes_)


def test_a_column_that_moves_with_the_portfolio_stays_out(population):
    customers, _, catalog = population
    frame = customers.copy()
    j = catalog.keys.index("streaming_tv")
    held = catalog.holdings(frame)[:, j]
    frame["Hours streamed"] = np.where(held, 10.0 + np.arange(len(frame)) % 7, 0.0)
    frame["Region"] = np.where(np.arange(len(frame)) % 3 == 0, "North", "South")
    models = dr.DoublyRobustEffects(catalog).fit(frame)
    names = models.covariates(0)
    assert "Hours streamed" not in names  # usage of streaming TV: a consequence of holding it
    assert "Region=North" in names and "Region=South" in names
    assert any("left out" in n and "Hours streamed" in n for n in models.notes_)
    # chunk independent: the fitted encoder scores other rows of the same file alike
    raw, _ = models.predict(frame.iloc[:50], catalog.holdings(frame.iloc[:50]))
    full, _ = models.predict(frame, catalog.holdings(frame))
    np.testing.assert_allclose(raw, full[:50], rtol=1e-5, atol=1e-5)


def test_the_purchase_line_summaries_stay_out_like_the_value_histories(population):
    from core.data.transactions import HISTORY_COLUMNS
    from core.models.acceptance import AcceptanceModels

    customers, _, catalog = population
    frame = customers.copy()
    rng = np.random.default_rng(0)
    frame["Most Frequent Category"] = rng.choice(["Kitchen", "Garden", "Toys"], len(frame))
    frame["Returned Lines"] = rng.integers(0, 4, len(frame)).astype(float)
    frame["Returned Value"] = rng.uniform(0, 50, len(frame))
    frame["Region"] = rng.choice(["North", "South"], len(frame))
    models = dr.DoublyRobustEffects(catalog).fit(frame)
    names = " ".join(models.covariates(0))
    assert not any(c in names for c in HISTORY_COLUMNS), names
    assert "Region=North" in names
    assert any("left out" in n and "Most Frequent Category" in n for n in models.notes_)
    acceptance = AcceptanceModels(catalog).fit(frame.iloc[:800])
    numeric, binary, categorical = acceptance.profile_extras()
    assert not set(HISTORY_COLUMNS) & {*numeric, *binary, *categorical}
    assert "Region" in categorical


def test_the_batch_report_says_which_extra_columns_dr_adjusted_for(tmp_path):
    """``optimize --report`` carries the fitted estimator's notes (``estimator_notes``)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "tests" / "fixtures"))
    import make_churn_export

    data = make_churn_export.write(tmp_path / "churn.csv")
    mapping = tmp_path / "churn.toml"
    mapping.write_text(make_churn_export.MAPPING_TOML, encoding="utf-8")
    report = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "core", "optimize", str(data), "--mapping", str(mapping)]
    cmd += ["--catalog", "telecom_plans", "--estimator", "dr", "--out", str(tmp_path / "j.csv")]
    cmd += ["--report", str(report), "--iters", "30", "--quiet"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    notes = json.loads(report.read_text())["estimator_notes"]
    adjusted = next(n for n in notes if n.startswith("adjusted for the file's extra columns"))
    assert "Customer service calls" in adjusted
    assert "left out" in adjusted and "Number vmail messages" in adjusted.split("left out")[1]
