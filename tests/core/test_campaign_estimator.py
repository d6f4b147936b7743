"""The campaign estimator from the product: Settings.campaign, fit_context, batch and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import pipeline
from core.campaigns import OfferResponse
from core.common.errors import CJOError
from core.data import synthetic
from core.data.io import validate_canonical
from core.data.synthetic import campaign_frame
from core.pipeline import batch

ROOT = Path(__file__).resolve().parents[2]
N = 900


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> dict:
    """900 synthetic customers and their past campaign, written as the demo writes them."""
    d = tmp_path_factory.mktemp("campaign")
    customers, truth = synthetic.generate_frame(N, seed=13)
    data, log = d / "customers.parquet", d / "customers.campaigns.parquet"
    customers.to_parquet(data, index=False)
    campaign_frame(customers, truth, seed=13).to_parquet(log, index=False)
    return {"dir": d, "data": data, "log": log, "frame": validate_canonical(customers)}


def test_settings_name_the_campaign_log_and_check_it(population) -> None:
    log = str(population["log"])
    s = pipeline.Settings(estimator="campaign", campaign=log)
    assert s.campaign == log
    assert pipeline.Settings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert pipeline.Settings().campaign == ""  # saved scenarios without it still load
    with pytest.raises(CJOError, match="give its log"):
        pipeline.Settings(estimator="campaign")
    with pytest.raises(CJOError, match="campaign estimator only"):
        pipeline.Settings(estimator="dr", campaign=log)
    with pytest.raises(CJOError, match="CSV or Parquet"):
        pipeline.Settings(estimator="campaign", campaign="data/calendars/quarter.toml")


def test_fit_context_reads_the_log_once_and_the_propensity_comes_from_it(population) -> None:
    frame = population["frame"]
    s = pipeline.Settings(
        estimator="campaign", campaign=str(population["log"]), propensity=True, catalog="full"
    )
    ctx = pipeline.fit_context(frame, s)
    assert isinstance(ctx.models, OfferResponse) and ctx.acceptance is not None
    comps = pipeline.components_for(frame, s, ctx)
    p = ctx.catalog.n_products
    assert comps.estimator == "campaign" and comps.values.shape == (N, 1 + p, p, 3)
    tried = [j for j, k in enumerate(ctx.catalog.keys) if k in ctx.models.products]
    untried = [j for j in range(p) if j not in tried]
    assert len(tried) >= 5 and untried
    assert comps.values[:, :, tried].any() and not comps.values[:, :, untried].any()
    prop = pipeline.propensity_for(frame, ctx)
    cols = [ctx.models.products.index(ctx.catalog.keys[j]) for j in tried]
    np.testing.assert_allclose(
        prop[:, tried], ctx.models.propensity(frame)[:, cols], rtol=1e-6, atol=1e-7
    )
    models = ctx.acceptance.predict_proba(frame)
    np.testing.assert_allclose(prop[:, untried], models[:, untried], rtol=1e-6, atol=1e-7)
    # the whole run uses it; the same Settings give the same journeys
    out = pipeline.run(frame, s.with_(solver="exact"), context=ctx, components=comps)
    assert len(out.table) and set(out.table["product"]) <= set(ctx.catalog.keys)
    # a log of other customers is a clear error, not a join failure deep inside
    with pytest.raises(CJOError, match="not among the 300 customers"):
        pipeline.fit_context(frame.iloc[:300], s)


def test_batch_fits_the_campaign_once_and_is_chunk_independent(population, tmp_path) -> None:
    s = pipeline.Settings(estimator="campaign", campaign=str(population["log"]), solver="exact")
    opts = {"train_rows": N, "scale_rows": N, "baselines": ()}
    one = batch.run_batch(
        population["data"], tmp_path / "one.csv", s, batch.BatchOptions(chunk_rows=N, **opts)
    )
    assert isinstance(one.context.models, OfferResponse) and one.report["n_chunks"] == 1
    chunked = batch.run_batch(
        population["data"], tmp_path / "c.csv", s, batch.BatchOptions(chunk_rows=200, **opts)
    )
    assert chunked.report["n_chunks"] == 5
    assert (tmp_path / "c.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    # a reference sample without every customer of the log: refused with the fix
    small = batch.BatchOptions(chunk_rows=200, train_rows=300, scale_rows=300, baselines=())
    with pytest.raises(batch.BatchError, match="--train-rows"):
        batch.run_batch(population["data"], tmp_path / "x.csv", s, small)
    assert not (tmp_path / "x.csv").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


def test_cli_optimize_with_the_campaign_estimator(population, tmp_path) -> None:
    out = tmp_path / "journeys.csv"
    data, log = str(population["data"]), str(population["log"])
    done = _cli(
        "optimize", data, "--out", str(out), "--estimator", "campaign", "--campaign", log,
        "--propensity", "--baselines", "", "--solver", "exact", "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out)
    assert len(table) and table["customer_id"].nunique() <= N
    bad = _cli("optimize", data, "--out", str(tmp_path / "b.csv"), "--campaign", log, "--quiet")
    assert bad.returncode == 2 and "campaign estimator only" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = _cli(
        "optimize", data, "--out", str(tmp_path / "m.csv"), "--estimator", "campaign",
        "--campaign", str(tmp_path / "nope.parquet"), "--quiet",
    )  # fmt: skip
    assert missing.returncode == 2 and "no such file" in missing.stderr
