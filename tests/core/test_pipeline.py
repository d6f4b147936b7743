"""The journey pipeline and ``python -m core optimize``: settings, table, report, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import cli, pipeline
from core.common.errors import CJOError
from core.data import synthetic
from core.journeys import is_feasible, score

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frame(synthetic_frame) -> pd.DataFrame:
    return synthetic_frame(800, 3)


@pytest.fixture(scope="module")
def outcome(frame) -> pipeline.Outcome:
    return pipeline.run(frame, pipeline.Settings(estimator="peer-bayes", iters=80, seed=4))


def test_settings_round_trip_and_reject_bad_values() -> None:
    s = pipeline.Settings(weights={"cltv": 2}, levers={"offer": 0.5}, t0="3.5", seed=9)
    assert s.weights == {"cltv": 2.0, "churn": 0.0, "satisfaction": 0.0}
    assert s.t0 == 3.5
    assert pipeline.Settings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    for bad in (
        {"estimator": "magic"},
        {"solver": "quantum"},
        {"schedule": "hot"},
        {"t0": "warm"},
        {"t0": -1.0},
        {"weights": {"cltv": -1}},
        {"iters": 0},
        {"aggregation": "median"},
        {"model_preset": "turbo"},
    ):
        with pytest.raises(CJOError):
            pipeline.Settings(**bad)
    with pytest.raises(CJOError, match="unknown scenario setting"):
        pipeline.Settings.from_dict({"weight": 1})


def test_weights_and_levers_text() -> None:
    assert pipeline.parse_weights_text("cltv=1, churn=2.5") == {
        "cltv": 1.0,
        "churn": 2.5,
        "satisfaction": 0.0,
    }
    assert pipeline.parse_levers_text("tech_support=1.5,offer=0") == {
        "tech_support": 1.5,
        "offer": 0.0,
    }
    for bad in ("cltv", "value=1", "cltv=x", ""):
        with pytest.raises(CJOError):
            pipeline.parse_weights_text(bad)


def test_table_rows_are_the_feasible_journeys_and_parts_add_up(outcome) -> None:
    res, prob, table = outcome.result, outcome.problem, outcome.table
    assert list(table.columns) == list(pipeline.TABLE_COLUMNS)
    assert is_feasible(prob, res.journeys).all()
    assert len(table) == int(res.lengths.sum())
    parts = table[["cltv", "churn", "satisfaction"]].sum(axis=1)
    np.testing.assert_allclose(parts, table["opportunity"], atol=1e-3)
    per_customer = table.groupby("customer_id", sort=False)["opportunity"].sum()
    scores = pd.Series(res.scores, index=prob.ids)
    np.testing.assert_allclose(per_customer, scores[per_customer.index], atol=1e-3)
    np.testing.assert_allclose(score(prob, res.journeys), res.scores, atol=1e-4)
    # steps are 1..L per customer, in order
    steps = table.groupby("customer_id", sort=False)["step"].apply(list)
    assert all(s == list(range(1, len(s) + 1)) for s in steps)


def test_levers_and_propensity_scale_the_table_consistently(frame, outcome) -> None:
    s = outcome.settings.with_(levers={"tech_support": 0.0}, propensity=True)
    ctx = pipeline.fit_context(frame, s, with_acceptance=True)
    prop = pipeline.propensity_for(frame, ctx)
    prob = pipeline.problem_for(outcome.components, ctx.catalog, s, prop)
    res = pipeline.optimize(prob, s)
    table = pipeline.journeys_table(res, prob, outcome.components, s, ctx.catalog, prop)
    assert "tech_support" not in set(table["product"])  # a lever of 0 switches it off
    assert outcome.table["product"].eq("tech_support").any()  # ... which it was offered before
    parts = table[["cltv", "churn", "satisfaction"]].sum(axis=1)
    np.testing.assert_allclose(parts, table["opportunity"], atol=1e-3)
    with pytest.raises(CJOError, match="unknown product"):
        pipeline.problem_for(outcome.components, ctx.catalog, s.with_(levers={"tv": 2.0}))


def test_raising_a_weight_changes_the_journeys(outcome) -> None:
    s2 = outcome.settings.with_(weights={"cltv": 5, "churn": 0, "satisfaction": 0})
    prob = pipeline.problem_for(outcome.components, outcome.context.catalog, s2)
    res = pipeline.optimize(prob, s2)
    assert not np.array_equal(res.journeys, outcome.result.journeys)


def test_report_fields_and_anneal_is_at_least_every_baseline(outcome) -> None:
    rep = pipeline.report(
        outcome.result,
        outcome.problem,
        outcome.settings,
        components=outcome.components,
        verify="exact",
    )
    for key in ("n_customers", "solver", "schedule", "seconds_optimize", "share_optimal"):
        assert key in rep
    assert rep["n_customers"] == 800 and rep["solver"] == "anneal"
    assert 0.99 <= rep["share_optimal"] <= 1.0
    assert rep["max_gap"] >= rep["mean_gap"] >= -1e-9
    assert set(rep["baselines"]) == set(pipeline.DEFAULT_BASELINES)


def test_sampled_report_refereed_by_the_populations_exact_journeys_is_the_same(outcome) -> None:
    """The dashboard passes the exact journeys it already has for every customer: their rows
    of the sample referee the annealer as an exact run on the sample would (issue 19)."""
    from core.pipeline.run import result_rows

    s = outcome.settings.with_(solver="anneal", t0=1.0)
    idx = pipeline.check_sample(outcome.problem.n_customers, 200, s.seed)
    exact = pipeline.optimize(outcome.problem, s, solver="exact")
    rows = result_rows(exact, idx)
    fresh = pipeline.optimize(outcome.problem.subset(idx), s, solver="exact")
    assert np.array_equal(rows.journeys, fresh.journeys)
    assert np.array_equal(rows.scores, fresh.scores)
    assert np.array_equal(rows.step_scores, fresh.step_scores)
    result, rep = pipeline.sampled_report(outcome.problem, outcome.components, s, size=200)
    reused, rep2 = pipeline.sampled_report(
        outcome.problem, outcome.components, s, size=200, exact=exact
    )
    assert np.array_equal(result.journeys, reused.journeys)
    drop = {"seconds_optimize", "seconds_exact", "baselines"}
    assert {k: v for k, v in rep.items() if k not in drop} == {
        k: v for k, v in rep2.items() if k not in drop
    }
    for name, row in rep["baselines"].items():
        assert {k: v for k, v in row.items() if k != "seconds"} == {
            k: v for k, v in rep2["baselines"][name].items() if k != "seconds"
        }
    assert rep2["seconds_exact"] == exact.seconds["total"]  # the population's run
    with pytest.raises(CJOError):
        result_rows(exact, np.array([outcome.problem.n_customers]))
    for name, b in rep["baselines"].items():
        assert b["share_better_or_equal"] >= 0.99, name
    with pytest.raises(CJOError):
        pipeline.report(outcome.result, outcome.problem, outcome.settings, verify="brute")


def test_exact_solver_reports_its_own_optimum(outcome) -> None:
    s = outcome.settings.with_(solver="exact")
    res = pipeline.optimize(outcome.problem, s)
    rep = pipeline.report(res, outcome.problem, s, verify="exact", baselines=("greedy",))
    assert rep["share_optimal"] == 1.0 and rep["max_gap"] == 0.0
    assert (res.scores >= outcome.result.scores - 1e-6).all()


def test_bad_schedule_parameter_is_a_clear_error(outcome) -> None:
    s = outcome.settings.with_(schedule="geometric", schedule_params={"alpha": 7.0})
    with pytest.raises(CJOError, match="anneal"):
        pipeline.optimize(outcome.problem, s)


# ---- CLI ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("opt") / "customers.parquet"
    synthetic.write(path, 500, 8)
    return path


def _optimize(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", "optimize", str(data), "--out", str(out), "--quiet"]
        + list(extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_optimize_writes_journeys_and_report(data_file, tmp_path) -> None:
    out, rep = tmp_path / "journeys.csv", tmp_path / "report.json"
    args = ("--report", str(rep), "--verify", "exact", "--estimator", "peer-bayes")
    args += ("--weights", "cltv=1,churn=2,satisfaction=1", "--iters", "60", "--seed", "3")
    proc = _optimize(data_file, out, *args)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(rep.read_text())
    assert report["n_customers"] == 500
    assert report["solver"] == "anneal" and report["schedule"] == "geometric"
    assert report["seconds_optimize"] > 0
    assert 0.99 <= report["share_optimal"] <= 1.0
    assert {"first-cltv", "greedy"} <= set(report["baselines"])
    assert report["settings"]["weights"] == {"cltv": 1.0, "churn": 2.0, "satisfaction": 1.0}
    table = pd.read_csv(out)
    assert list(table.columns) == list(pipeline.TABLE_COLUMNS)
    assert len(table) == report["rows"] > 0


def test_refine_off_anneals_with_the_schedule_alone(frame) -> None:
    s = pipeline.Settings(estimator="peer-bayes", catalog="full", iters=60, seed=4, refine=False)
    assert pipeline.Settings.from_dict(s.to_dict()) == s
    opts = s.solver_options()
    assert (opts["pool"], opts["beam"], opts["polish"]) == (0, 0, False)
    assert "pool" not in s.with_(refine=True).solver_options()
    alone = pipeline.run(frame, s)
    refined = pipeline.run(frame, s.with_(refine=True))
    assert alone.result.params["pool"] == 0 and alone.result.params["polish"] is False
    assert refined.result.params["pool"] > 0
    # the refinements only add: every customer's refined journey is at least as good
    assert np.all(refined.result.scores >= alone.result.scores - 1e-9)


def test_cli_optimize_fast_model_preset(data_file, tmp_path) -> None:
    out, rep = tmp_path / "journeys.csv", tmp_path / "report.json"
    proc = _optimize(
        data_file,
        out,
        "--report",
        str(rep),
        "--model-preset",
        "fast",
        "--seed",
        "3",
        "--no-refine",
        "--estimator",
        "counterfactual",
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(rep.read_text())
    assert report["settings"]["model_preset"] == "fast"
    assert report["settings"]["refine"] is False
    assert report["n_customers"] == 500 and report["rows"] > 0
    default = tmp_path / "default.csv"
    assert (
        _optimize(data_file, default, "--seed", "3", "--estimator", "counterfactual").returncode
        == 0
    )
    assert out.read_bytes() != default.read_bytes()  # other models, other journeys


def test_cli_optimize_is_byte_identical_across_processes(data_file, tmp_path) -> None:
    args = ("--estimator", "peer-bayes", "--iters", "60", "--seed", "11", "--baselines", "")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert _optimize(data_file, a, *args).returncode == 0
    assert _optimize(data_file, b, *args).returncode == 0
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.csv"
    assert _optimize(data_file, c, *args[:-4], "--seed", "12", "--baselines", "").returncode == 0
    assert pd.read_csv(c).shape[1] == pd.read_csv(a).shape[1]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (("--weights", "cltv=-1"), "weight"),
        (("--weights", "speed=1"), "--weights"),
        (("--levers", "rocket=2"), "rocket"),
        (("--t0", "hot"), "t0"),
        (("--schedule-param", "alpha"), "--schedule-param"),
    ],
)
def test_cli_optimize_bad_options_exit_2_without_traceback(
    data_file, tmp_path, extra, needle
) -> None:
    proc = _optimize(data_file, tmp_path / "j.csv", "--estimator", "peer-bayes", *extra)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "j.csv").exists()


def test_cli_optimize_bad_output_name(data_file, tmp_path) -> None:
    code = cli.main(["optimize", str(data_file), "--out", str(tmp_path / "j.json"), "--quiet"])
    assert code == 2


@pytest.mark.real_data
def test_cli_optimize_on_the_ibm_file(ibm_path, tmp_path) -> None:
    out, rep = tmp_path / "j.parquet", tmp_path / "r.json"
    args = ("--report", str(rep), "--verify", "exact", "--estimator", "peer-bayes")
    proc = _optimize(ibm_path, out, *args, "--catalog", "full", "--baselines", "greedy")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(rep.read_text())
    assert report["n_customers"] == 7043
    # the optimality target itself is measured by benchmarks/journeys.py, not here
    assert 0.9 <= report["share_optimal"] <= 1.0 and report["max_gap"] >= 0
    assert report["baselines"]["greedy"]["share_better_or_equal"] >= 0.9
    table = pd.read_parquet(out)
    assert table["customer_id"].nunique() <= 7043 and len(table) == report["rows"]


def test_per_customer_summary_covers_every_customer(outcome) -> None:
    ids = list(outcome.problem.ids)
    summary = pipeline.per_customer(outcome.table, ids)
    assert list(summary["customer_id"]) == ids
    np.testing.assert_allclose(summary["journey_value"], outcome.result.scores, atol=1e-3)
    assert (summary["length"].to_numpy() == outcome.result.lengths).all()
    none = summary["length"] == 0
    assert summary.loc[none, "first_offer"].isna().all()
    keys = np.array(outcome.problem.product_keys, dtype=object)
    has = ~none.to_numpy()
    first = outcome.result.journeys[has, 0].astype(int)
    assert (summary.loc[has, "first_offer"].to_numpy() == keys[first]).all()


def test_segment_command_reads_the_optimize_output(data_file, tmp_path) -> None:
    out = tmp_path / "journeys.csv"
    assert _optimize(data_file, out, "--estimator", "peer-bayes", "--baselines", "").returncode == 0
    rep = tmp_path / "seg.json"
    proc = subprocess.run(
        [sys.executable, "-m", "core", "segment", str(data_file), "--journeys", str(out)]
        + ["--report", str(rep), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Contact first:" in proc.stdout and "offer " in proc.stdout


def test_a_saved_cli_run_reruns_byte_for_byte_and_a_changed_file_is_reported(
    data_file, tmp_path
) -> None:
    import os

    env = {**os.environ, "JOURNEY_DB_URL": f"sqlite:///{tmp_path / 'runs.db'}"}
    out, rep = tmp_path / "journeys.csv", tmp_path / "report.json"
    args = ["--estimator", "counterfactual", "--iters", "40", "--seed", "5", "--baselines", ""]
    args += ["--report", str(rep), "--save-run", "nightly"]
    cmd = [sys.executable, "-m", "core", "optimize", str(data_file), "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd + args, cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run_id = str(json.loads(rep.read_text())["run_id"])

    def rerun(data: Path) -> tuple[int, dict]:
        p = subprocess.run(
            [sys.executable, "-m", "core", "rerun", run_id, str(data)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert "Traceback" not in p.stderr, p.stderr
        return p.returncode, json.loads(p.stdout)

    code, result = rerun(data_file)
    assert code == 0 and result["identical"] and not result["data_changed"]
    changed = tmp_path / "changed.parquet"
    frame = pd.read_parquet(data_file)
    frame.loc[0, "Monthly Charge"] = float(frame.loc[0, "Monthly Charge"]) + 50.0
    frame.to_parquet(changed, index=False)
    code, result = rerun(changed)
    assert result["data_changed"] and "changed" in result["message"]
    settings, opts = pipeline.split_run_params(
        {**pipeline.Settings().to_dict(), "batch": {"format": "csv"}, "segments": {}}
    )
    assert settings == pipeline.Settings() and opts == {"format": "csv"}


def test_sampled_report_checks_a_fixed_sample_against_the_exact_optimum(outcome) -> None:
    s = outcome.settings.with_(t0=1.0)  # a fixed T0: the sample anneals as the population
    idx = pipeline.check_sample(800, 200, s.seed)
    assert len(idx) == 200 and (np.diff(idx) > 0).all()
    assert np.array_equal(idx, pipeline.check_sample(800, 200, s.seed))  # fixed
    assert np.array_equal(pipeline.check_sample(150, 200), np.arange(150))  # all when fewer
    result, rep = pipeline.sampled_report(outcome.problem, outcome.components, s, size=200)
    assert (rep["sample"], rep["population"], rep["n_customers"]) == (200, 800, 200)
    whole = pipeline.optimize(outcome.problem, s, components=outcome.components)
    assert np.array_equal(result.journeys, np.asarray(whole.journeys)[idx])
    sub = outcome.problem.subset(idx)
    exact = pipeline.optimize(sub, s, solver="exact")
    gap = exact.scores - result.scores
    assert rep["share_optimal"] == pytest.approx(float(np.mean(gap <= 1e-6)))
    assert rep["max_gap"] == pytest.approx(float(gap.max()))
    assert set(rep["baselines"]) == set(pipeline.DEFAULT_BASELINES)
