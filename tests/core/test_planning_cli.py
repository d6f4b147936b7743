"""``python -m core plan``: exit codes, the plan file, the report's keys, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli.main import main
from core.planning import benchmark_instance, write_instance

ROOT = Path(__file__).resolve().parents[2]
REPORT_KEYS = {
    "objective",
    "upper_bound",
    "gap",
    "feasible",
    "violations",
    "seconds",
    "solver",
    "shadow_prices",
}


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    base = tmp_path_factory.mktemp("plan")
    ok = write_instance(benchmark_instance(1200, 30, 0.1, 20, rng=6), base / "ok")
    bad = write_instance(
        benchmark_instance(1200, 30, 0.1, 20, rng=6, infeasible=True), base / "bad"
    )
    return base, ok, bad


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", "plan", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("solver", ["exact", "lagrangian"])
def test_feasible_instance_exits_0_with_plan_and_report(instances, solver):
    base, ok, _ = instances
    out, rep = base / f"plan-{solver}.csv", base / f"report-{solver}.json"
    proc = run(
        str(ok),
        "--out",
        str(out),
        "--report",
        str(rep),
        "--solver",
        solver,
        "--time-limit",
        "60",
        "--seed",
        "3",
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(rep.read_text())
    assert REPORT_KEYS <= set(report) and list(report)[:8] == [
        "objective",
        "upper_bound",
        "gap",
        "feasible",
        "violations",
        "seconds",
        "solver",
        "shadow_prices",
    ]
    assert report["feasible"] is True and report["violations"] == []
    assert report["solver"] == solver and report["gap"] <= 0.005
    assert report["upper_bound"] >= report["objective"]
    assert len(report["shadow_prices"]) == 9
    plan = pd.read_csv(out, dtype=str)
    assert list(plan.columns) == ["Customer", "Activity"] and len(plan) == report["n_assignments"]
    eligible = pd.read_csv(ok / "table2.csv", dtype=str)
    pairs = set(zip(eligible["Customer"], eligible["Activity"], strict=True))
    assert set(zip(plan["Customer"], plan["Activity"], strict=True)) <= pairs
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["feasible"] is True and summary["out"] == str(out)


def test_proved_infeasible_exits_2_and_still_reports(instances):
    base, _, bad = instances
    out, rep = base / "bad.csv", base / "bad.json"
    proc = run(str(bad), "--out", str(out), "--report", str(rep), "--solver", "lagrangian")
    assert proc.returncode == 2
    assert "Infeasible" in proc.stderr and "2: Minimum assignment" in proc.stderr
    report = json.loads(rep.read_text())
    assert report["feasible"] is False and report["status"] == "infeasible"
    assert [v["name"] for v in report["violations"]] == ["2"]
    assert out.is_file() and len(pd.read_csv(out)) > 0  # the least-violation plan


def test_soft_option_turns_the_infeasible_instance_into_a_plan(instances):
    base, _, bad = instances
    rep = base / "soft.json"
    code = main(
        [
            "plan",
            str(bad),
            "--out",
            str(base / "soft.csv"),
            "--report",
            str(rep),
            "--soft",
            "Minimum assignment=4",
            "--solver",
            "lagrangian",
        ]
    )
    report = json.loads(rep.read_text())
    assert code == 0 and report["feasible"] is True
    assert report["violations"] and all(v["soft"] for v in report["violations"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "no such folder"),
        (["{ok}/table1.csv"], "a file, not a folder of planning tables"),
        (["{ok}", "--soft", "Minimum salez=3"], "--soft 'Minimum salez=3'"),
        (["{ok}", "--soft", "Budget=x"], "is not a number"),
        (["{ok}", "--data", "customers.csv"], "--data is for a campaign calendar"),
        (["data/calendars/quarter.toml"], "give the customers with --data"),
        (["{ok}", "--time-limit", "0"], "--time-limit 0"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(instances, capsys, args, message):
    base, ok, _ = instances
    argv = ["plan", *[a.format(ok=ok) for a in args], "--out", str(base / "x.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_a_missing_table_exits_2(instances, tmp_path):
    _, ok, _ = instances
    for name in ("table1.csv", "table2.csv", "table3.csv"):
        (tmp_path / name).write_bytes((ok / name).read_bytes())
    proc = run(str(tmp_path), "--out", str(tmp_path / "p.csv"))
    assert proc.returncode == 2 and "table4.csv is missing" in proc.stderr


def test_calendar_with_customers_uses_the_pipeline(tmp_path):
    """400 customers cannot meet the shipped calendar's 2,500 security offers (sized for the
    7,043 of the demo population): exit 2 naming it; soft, the plan is made and priced."""
    from core.data.synthetic import generate_frame

    frame, _ = generate_frame(400, seed=2)
    data = tmp_path / "customers.parquet"
    frame.to_parquet(data, index=False)
    out, rep = tmp_path / "plan.csv", tmp_path / "report.json"
    args = [
        "data/calendars/quarter.toml",
        "--data",
        str(data),
        "--out",
        str(out),
        "--report",
        str(rep),
        "--time-limit",
        "60",
    ]
    proc = run(*args)
    assert proc.returncode == 2 and "security offers" in proc.stderr
    proc = run(*args, "--soft", "Minimum assignment=5")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(rep.read_text())
    assert REPORT_KEYS <= set(report) and report["instance"]["customers"] == 400
    assert report["feasible"] is True
    plan = pd.read_csv(out, dtype=str)
    assert len(plan) and set(plan["Customer"]) <= set(frame["Customer ID"].astype(str))
    assert any(label.startswith("call-centre budget") for label in report["shadow_prices"])
