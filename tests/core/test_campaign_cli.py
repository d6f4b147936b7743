"""``python -m core campaign``: exit codes, the report's keys, reproducibility, and a run on a
look-alike of the MineThatData e-mail experiment.

The look-alike (tests/fixtures/make_hillstrom.py) is a seeded file in the public experiment's
shape with invented rows; it is NOT the public data, and no figure here is about it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli.main import main as cli

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _hillstrom():
    spec = importlib.util.spec_from_file_location("make_hillstrom", FIXTURES / "make_hillstrom.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lookalike(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hillstrom") / "hillstrom_lookalike.csv"
    _hillstrom().make(16_000, seed=1).to_csv(path, index=False)
    return path


def _args(log: Path, report: Path, *extra: str) -> list[str]:
    return [
        "campaign",
        str(log),
        "--arm",
        "segment",
        "--control",
        "No E-Mail",
        "--outcome",
        "visit",
        "--outcome",
        "spend",
        "--report",
        str(report),
        "--quiet",
        "--bootstrap",
        "30",
        *extra,
    ]


def test_lookalike_has_the_experiments_shape_and_effect_sizes() -> None:
    module = _hillstrom()
    frame = module.make(64_000, seed=0)
    assert tuple(frame.columns) == module.COLUMNS and len(frame) == 64_000
    means = frame.groupby("segment")[["visit", "conversion", "spend"]].mean()
    assert means.loc["No E-Mail", "visit"] == pytest.approx(0.106, abs=0.006)
    assert means.loc["Mens E-Mail", "visit"] == pytest.approx(0.183, abs=0.008)
    assert means.loc["Womens E-Mail", "visit"] == pytest.approx(0.151, abs=0.008)
    assert means.loc["Mens E-Mail", "spend"] == pytest.approx(1.42, abs=0.2)
    assert set(frame["segment"]) == {"No E-Mail", "Mens E-Mail", "Womens E-Mail"}
    pd.testing.assert_frame_equal(module.make(500, seed=0), module.make(500, seed=0))
    assert not module.make(500, seed=0).equals(module.make(500, seed=1))


def test_report_keys_and_learned_policy_against_the_best_single_arm(
    lookalike: Path, tmp_path: Path, capsys
) -> None:
    report_path = tmp_path / "report.json"
    assert cli(_args(lookalike, report_path, "--out", str(tmp_path / "next.csv"))) == 0
    summary = json.loads(capsys.readouterr().out)
    report = json.loads(report_path.read_text())
    assert {"n", "arms", "policy", "qini"} <= set(report)
    assert report["n"] == 16_000 and summary["n"] == 16_000
    assert set(report["arms"]) == {"No E-Mail", "Mens E-Mail", "Womens E-Mail"}
    for arm in report["arms"].values():
        assert {"n", "mean", "lift"} <= set(arm)
        assert set(arm["mean"]) == set(arm["lift"]) == {"visit", "spend"}
        for lift in arm["lift"].values():
            assert {"estimate", "ci_low", "ci_high", "p_value"} <= set(lift)
    mens = report["arms"]["Mens E-Mail"]["lift"]["visit"]
    assert 0.05 < mens["estimate"] < 0.10 and mens["ci_low"] > 0 and mens["p_value"] < 1e-6
    for outcome in ("visit", "spend"):
        policy = report["policy"][outcome]
        keys = {"value", "ci_low", "ci_high", "method", "best_single_arm"}
        assert keys | {"best_single_arm_value", "share_by_arm"} <= set(policy)
        assert policy["ci_low"] <= policy["value"] <= policy["ci_high"]
        assert policy["method"] == "dr" and policy["best_single_arm"] == "Mens E-Mail"
        assert sum(policy["share_by_arm"].values()) == pytest.approx(1.0)
    assert set(report["qini"]) == {"Mens E-Mail", "Womens E-Mail"}
    assert set(report["qini"]["Mens E-Mail"]["visit"]) == {"coefficient", "ci_low", "ci_high"}
    # personalising the e-mail to past purchases beats the best single e-mail on visits
    visit = report["policy"]["visit"]
    assert visit["value"] >= visit["best_single_arm_value"]
    assert visit["gain_over_best_single_arm"]["estimate"] > 0
    # the next campaign: the targeting, with a random holdout as control
    next_test = pd.read_csv(tmp_path / "next.csv")
    assert len(next_test) == 16_000 and set(next_test["arm"]) <= set(report["arms"])
    assert abs(next_test["holdout"].mean() - 0.1) < 0.01  # the default holdout share


def test_same_seed_same_report_other_seed_other_split(lookalike: Path, tmp_path: Path) -> None:
    reports = []
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        path = tmp_path / f"{name}.json"
        assert cli(_args(lookalike, path, "--seed", seed, "--learner", "t")) == 0
        reports.append(json.loads(path.read_text()))
    assert reports[0] == reports[1]
    assert reports[0]["arms"] == reports[2]["arms"]  # lifts use every row: no seed
    assert reports[0]["policy"] != reports[2]["policy"]


def test_malformed_logs_give_one_message_and_exit_2(tmp_path: Path, capsys) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("segment,visit\nNo E-Mail,1\nMens E-Mail,yes\n" + "Mens E-Mail,0\n" * 40)
    report = tmp_path / "r.json"
    args = ["campaign", str(log), "--arm", "segment", "--control", "No E-Mail"]
    args += ["--outcome", "visit", "--report", str(report), "--quiet"]
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.csv: 2 problem(s)") and "Traceback" not in err
    assert "column 'visit': is not a number in row 2 (values: 'yes')" in err
    assert "arm 'No E-Mail' has 1 row(s)" in err
    assert not report.exists()
    assert cli([*args[:5], "Nobody", *args[6:]]) == 2
    assert "no control rows" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # argparse refuses it: a usage error
        cli([*args, "--holdout", "1.5"])
    assert usage.value.code == 2 and "between 0 and 1" in capsys.readouterr().err


def test_the_command_runs_as_a_module(lookalike: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "core", "campaign", str(tmp_path / "missing.csv")]
        + ["--arm", "a", "--control", "c", "--outcome", "y", "--report", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "no such file" in out.stderr and "Traceback" not in out.stderr
