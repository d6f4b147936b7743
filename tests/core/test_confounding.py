"""The do-no-harm rule's allowance for unrecorded confounding (``Settings.confounding``)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from core.common.errors import CJOError, OptionError
from core.data.catalog import load_catalog
from core.journeys import step_parts
from core.opportunity import (
    NOT_CREDIBLE,
    Components,
    build_components,
    combine,
    parse_weights,
    risk_z,
    shifted,
    spread,
)
from core.pipeline import Settings, effective_components, journeys_table, optimize, problem_for


def _random_components(seed: int, n: int = 40, p: int = 4) -> Components:
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 1, (n, 1 + p, p, 3)).astype(np.float32)
    std = rng.uniform(0, 0.5, (n, 1 + p, p, 3)).astype(np.float32)
    held = rng.random((n, p)) < 0.2
    values *= ~held[:, None, :, None]
    std *= ~held[:, None, :, None]
    bias = rng.uniform(0, 1.0, (p, 3)).astype(np.float32)
    return Components(values, ~held, held, np.arange(n), tuple("abcd"[:p]), std=std, bias=bias)


def test_spread_adds_the_allowance_on_eligible_off_diagonal_offers_only():
    comp = _random_components(0)
    z, k = risk_z(0.9), 0.4
    width = spread(comp, z, k)
    want = z * comp.std + k * comp.bias[None, None] * comp.eligible[:, None, :, None]
    p = comp.n_products
    want[:, 1 + np.arange(p), np.arange(p)] = z * comp.std[:, 1 + np.arange(p), np.arange(p)]
    np.testing.assert_allclose(width, want, rtol=1e-6, atol=1e-6)
    held = comp.held
    assert np.all(width[held[:, None, :].repeat(1 + p, 1)] == 0)  # nothing on held products
    np.testing.assert_array_equal(spread(comp, z, 0.0), z * comp.std)
    np.testing.assert_allclose(shifted(comp, -z, k), comp.values - width, atol=1e-6)
    np.testing.assert_allclose(shifted(comp, z, k), comp.values + width, atol=1e-6)
    assert spread(replace(comp, std=None), z, k) is None


@pytest.mark.parametrize("seed", range(5))
def test_combine_bounds_with_the_allowance_and_abstains_more_as_it_grows(seed):
    comp = _random_components(seed)
    w = (1.0, 0.5, 2.0)
    z = risk_z(0.8)
    wv = parse_weights(w)
    plain = combine(comp, w, risk=z)
    assert np.array_equal(combine(comp, w, risk=z, confounding=0.0), plain)
    # without risk control there is no bound: the allowance does nothing
    assert np.array_equal(combine(comp, w, confounding=1.0), combine(comp, w))
    previous = first = None
    for k in (0.0, 0.25, 0.5, 1.0, 3.0):
        opp = combine(comp, w, risk=z, confounding=k)
        width = spread(comp, z, k)
        lower = (comp.values - width) @ wv
        upper = (comp.values + width) @ wv
        harmful = upper < 0
        np.testing.assert_allclose(opp[~harmful], lower[~harmful], atol=1e-5)
        assert np.all(opp[harmful] == NOT_CREDIBLE)
        credible = opp > 0
        if previous is not None:
            assert not (credible & ~previous).any()  # a larger allowance never adds an offer
        previous = credible
        first = credible if first is None else first
    assert previous.mean() < 0.5 * first.mean()  # 3x the bias leaves most offers out


def test_the_allowance_must_be_a_number_at_least_zero():
    comp = _random_components(1)
    for bad in (-0.1, float("nan"), float("inf"), "x"):
        with pytest.raises(OptionError, match="confounding"):
            combine(comp, (1, 1, 1), risk=1.0, confounding=bad)  # type: ignore[arg-type]
        with pytest.raises(CJOError, match="confounding"):
            Settings(confounding=bad)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="bias must have shape"):
        replace(comp, bias=np.zeros((2, 3), np.float32))
    with pytest.raises(OptionError, match=">= 0"):
        replace(comp, bias=-np.ones((comp.n_products, 3), np.float32))
    assert comp.subset(slice(0, 5)).bias is comp.bias


def test_settings_keep_the_allowance_and_use_it_only_with_the_bound():
    s = Settings(confounding=0.5)
    assert s.confounding == 0.5 and s.risk_confounding == 0.5
    assert Settings.from_dict(s.to_dict()) == s
    assert Settings(risk="none", confounding=0.5).risk_confounding == 0.0
    assert Settings().confounding == 0.0  # the default trusts the adjustment


# ---------------------------------------------------------------------------------------------
# the dr estimator measures what the recorded features explained
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dr_frame(synthetic_frame):
    return synthetic_frame(1500, 3)


@pytest.fixture(scope="module")
def dr_fit(dr_frame):
    from core.opportunity.estimators.doubly_robust import DoublyRobustEffects

    cat = load_catalog("seed")
    model = DoublyRobustEffects(cat, random_state=0).fit(dr_frame)
    comp = build_components(dr_frame, cat, "dr", models=model, random_state=0)
    return cat, model, comp


def test_dr_measures_the_shift_the_recorded_features_explain(dr_frame, dr_fit):
    cat, model, comp = dr_fit
    assert model.shift_.shape == (cat.n_products, 3) and np.isfinite(model.shift_).all()
    scale = np.array([comp.scale[f] for f in comp.factors])
    np.testing.assert_allclose(comp.bias, np.abs(model.shift_) / scale, rtol=1e-5)
    # holders of the add-ons are the loyal customers: they churn less than non-holders beyond
    # what the add-on does, and the recorded features (tenure, contract) explain part of it
    for key in ("device_protection", "tech_support"):
        assert model.shift_[cat.index(key), 1] > 0, key
    # the naive difference is what the shift adds to the doubly robust average
    held = cat.holdings(dr_frame)
    j = cat.index("device_protection")
    can = held[:, cat.requires_matrix()[j]].all(axis=1) & ~(held & cat.excludes_matrix()[j]).any(1)
    churn = -dr_frame["Churn Value"].to_numpy(float)[can]
    t = held[can, j]
    naive = churn[t].mean() - churn[~t].mean()
    assert naive > model.shift_[j, 1] > 0  # the adjustment moved it toward zero, not past it


def test_the_journeys_table_interval_includes_the_allowance(dr_fit):
    cat, _, comp = dr_fit
    base = Settings(risk="lcb", risk_level=0.8, solver="exact")
    tables, offered = [], []
    for k in (0.0, 0.3):
        s = base.with_(confounding=k)
        problem = problem_for(comp, cat, s)
        result = optimize(problem, s)
        table = journeys_table(result, problem, comp, s, cat)
        tables.append(table)
        offered.append(table["customer_id"].nunique())
        j = np.asarray(result.journeys)
        rows, steps = np.nonzero(j >= 0)
        w = parse_weights(s.weights)
        width = spread(comp, risk_z(0.8), k)
        for name, sign in (("opportunity_low", -1.0), ("opportunity_high", 1.0)):
            moved = replace(comp, values=comp.values + sign * width, std=None, bias=None)
            want = step_parts(effective_components(moved, s.levers), problem, j, w)
            np.testing.assert_allclose(
                table[name], want[rows, steps].sum(axis=1).round(6), atol=3e-6
            )
    assert offered[1] < offered[0]  # the allowance leaves more customers alone
    gap = [(t["opportunity_high"] - t["opportunity_low"]).mean() for t in tables]
    assert gap[1] > gap[0]


def test_optimize_rejects_a_negative_allowance_with_one_clear_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "core", "optimize", "--help"], capture_output=True, text=True
    )
    assert "--confounding" in out.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "optimize",
            "missing.csv",
            "--confounding",
            "-1",
            "--out",
            str(tmp_path / "j.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "confounding" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_batch_engine_applies_the_allowance_the_same_in_every_chunk(tmp_path):
    """The allowance comes from the models fitted once (their measured shift), so chunks of any
    size give the same journeys, and the allowance leaves customers alone there too."""
    import pandas as pd

    from core.data import synthetic
    from core.pipeline import batch

    customers, _ = synthetic.generate_frame(1200, seed=6)
    data = tmp_path / "c.parquet"
    customers.to_parquet(data, index=False)
    opts = {"train_rows": 1200, "scale_rows": 1200, "baselines": ()}
    base = Settings(solver="exact")  # dr, do no harm at 0.9
    plain = batch.run_batch(
        data, tmp_path / "plain.csv", base, batch.BatchOptions(chunk_rows=1200, **opts)
    )
    wide = base.with_(confounding=0.5)
    one = batch.run_batch(
        data,
        tmp_path / "one.csv",
        wide,
        batch.BatchOptions(chunk_rows=1200, **opts),
        context=plain.context,
    )
    batch.run_batch(
        data,
        tmp_path / "c300.csv",
        wide,
        batch.BatchOptions(chunk_rows=300, **opts),
        context=one.context,
    )
    assert (tmp_path / "c300.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    offered = [pd.read_csv(tmp_path / f)["customer_id"].nunique() for f in ("plain.csv", "one.csv")]
    assert 0 < offered[1] < offered[0]


def test_the_tradeoff_judges_every_do_no_harm_setting_as_judge_does(population):
    from core.insights.decision import harm_tradeoff, judge
    from core.opportunity.truevalue import portfolio_table, truth_optimal

    customers, truth = population
    cat = load_catalog("seed")
    comp = build_components(customers, cat, "dr", random_state=0)
    s = Settings(solver="exact")
    w = [s.weights[f] for f in ("cltv", "churn", "satisfaction")]
    table = portfolio_table(truth, customers, cat)
    optimal, _ = truth_optimal(table, w)
    calls = []
    frame = harm_tradeoff(
        comp,
        cat,
        s,
        table,
        optimal,
        levels=(0.8, 0.95),
        allowances=(0.0, 0.5),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert len(frame) == 1 + 2 * 2 and calls[-1] == (5, 5)
    assert frame["risk"].tolist() == ["none"] + ["lcb"] * 4
    for row in frame.itertuples():
        if row.risk == "none":
            want = judge(comp, cat, table, w, optimal, settings=s.with_(risk="none"))
        else:
            setting = s.with_(risk_level=row.risk_level, confounding=row.confounding)
            want = judge(comp, cat, table, w, optimal, settings=setting)
        assert row.captured == pytest.approx(want["captured"])
        assert row.share_harmful == pytest.approx(want["share_harmful"])
    lcb = frame[frame["risk"] == "lcb"].set_index(["confounding", "risk_level"])
    assert lcb.loc[(0.5, 0.95), "share_with_offer"] <= lcb.loc[(0.0, 0.8), "share_with_offer"]
    # without a measured bias the allowances would change nothing: left out
    plain = harm_tradeoff(
        replace(comp, bias=None), cat, s, table, optimal, levels=(0.9,), allowances=(0.0, 0.5)
    )
    assert plain["confounding"].tolist() == [0.0, 0.0]
    # without standard errors there is no bound: the one row without risk control
    none = harm_tradeoff(replace(comp, std=None, bias=None), cat, s, table, optimal)
    assert none["risk"].tolist() == ["none"]


@pytest.fixture(scope="module")
def population():
    from core.data import synthetic

    return synthetic.generate_frame(1200, 8)
