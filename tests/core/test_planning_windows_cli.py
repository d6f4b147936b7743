"""``timing --journeys --contacts`` and ``plan CALENDAR.toml --windows``: contact windows on the
command line (issue 22, item 2), on 200 customers and a two-activity calendar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main

CALENDAR = """
[calendar]
name = "tiny"
horizon_days = 150
catalog = "full"

[channels]
email = { cost = 0.0, response = 1.0 }

[[activities]]
id = "E-security"
day = 10
channel = "email"
products = ["online_security"]

[[activities]]
id = "E-backup"
day = 70
channel = "email"
products = ["online_backup"]

[[activities]]
id = "E-security-2"
day = 120
channel = "email"
products = ["online_security"]
"""
DAYS = {
    "E-security": (10, "online_security"),
    "E-backup": (70, "online_backup"),
    "E-security-2": (120, "online_security"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Customers, their purchase log (same ids), journeys, the calendar and the contact plan
    that ``timing --journeys --contacts`` writes for them."""
    from core.data.synthetic import generate_frame
    from core.data.synthetic.purchases import purchase_log

    base = tmp_path_factory.mktemp("windows")
    frame, _ = generate_frame(200, seed=2)
    frame.to_parquet(base / "customers.parquet", index=False)
    ids = frame["Customer ID"].astype(str).tolist()
    log = purchase_log(200, 1)
    names = {old: ids[i] for i, old in enumerate(sorted(log["customer_id"].unique()))}
    log.assign(customer_id=log["customer_id"].map(names)).to_csv(base / "log.csv", index=False)
    journeys = pd.DataFrame(
        {
            "customer_id": np.repeat(ids, 2),
            "step": [1, 2] * len(ids),
            "product": ["online_security", "online_backup"] * len(ids),
        }
    )
    journeys.to_csv(base / "journeys.csv", index=False)
    (base / "cal.toml").write_text(CALENDAR, encoding="utf-8")
    argv = ["timing", str(base / "log.csv"), "--calibration-end", "1997-09-30"]
    argv += ["--models", "bgnbd", "--report", str(base / "t.json"), "--quiet"]
    argv += ["--journeys", str(base / "journeys.csv"), "--contacts", str(base / "contacts.csv")]
    assert main(argv) == 0
    return base


def plan(base: Path, name: str, *extra: str) -> tuple[int, dict, pd.DataFrame]:
    out, rep = base / f"{name}.csv", base / f"{name}.json"
    argv = ["plan", str(base / "cal.toml"), "--data", str(base / "customers.parquet")]
    argv += ["--out", str(out), "--report", str(rep), "--solver", "exact", *extra]
    code = main(argv)
    return code, json.loads(rep.read_text()), pd.read_csv(out, dtype=str)


def test_timing_writes_the_contact_plan_the_planner_reads(files):
    contacts = pd.read_csv(files / "contacts.csv")
    assert list(contacts.columns) == ["customer_id", "step", "product", "date", "reason"]
    assert len(contacts) == 400
    assert (pd.to_datetime(contacts["date"]) >= pd.Timestamp("1997-10-01")).all()
    report = json.loads((files / "t.json").read_text())
    assert report["contacts"]["rows"] == 400 and report["contacts"]["as_of"] == "1997-10-01"


def test_windows_remove_out_of_window_assignments(files, capsys):
    code, plain, anywhen = plan(files, "plain")
    assert code == 0 and plain["windows"] == {"used": False}
    code, report, chosen = plan(files, "windowed", "--windows", str(files / "contacts.csv"))
    assert code == 0, capsys.readouterr().err
    contacts = pd.read_csv(files / "contacts.csv")
    first = pd.to_datetime(contacts["date"]).min()  # day 1 by default: the earliest date
    win = report["windows"]
    assert win["used"] is True and win["calendar_start"] == first.strftime("%Y-%m-%d")
    assert (win["before_days"], win["after_days"]) == (7, 21)
    removed = plain["instance"]["assignments"] - report["instance"]["assignments"]
    assert win["assignments_removed"] == removed > 0
    assert report["feasible"] is True and report["status"] == "optimal"
    assert len(chosen) and in_windows(chosen, contacts, first)
    assert not in_windows(anywhen, contacts, first)  # without windows the plan ignores them


def in_windows(chosen: pd.DataFrame, contacts: pd.DataFrame, origin: pd.Timestamp) -> bool:
    """Every contact of the plan falls in the customer's window for the activity's product,
    recomputed from the file: [date - 7, date + 21], day 1 = ``origin``."""
    day = (pd.to_datetime(contacts["date"]) - origin).dt.days + 1
    keys = zip(contacts["customer_id"], contacts["product"], strict=True)
    when = dict(zip(keys, day, strict=True))
    for customer, activity in zip(chosen["Customer"], chosen["Activity"], strict=True):
        d, product = DAYS[activity]
        if not when[(customer, product)] - 7 <= d <= when[(customer, product)] + 21:
            return False
    return True


def test_an_explicit_calendar_start_moves_day_1(files):
    start = pd.Timestamp("1997-09-01")
    code, report, chosen = plan(
        files, "start", "--windows", str(files / "contacts.csv"), "--calendar-start", "1997-09-01"
    )
    assert code == 0 and report["windows"]["calendar_start"] == "1997-09-01"
    assert report["windows"]["calendar_start_from"] == "--calendar-start"
    assert in_windows(chosen, pd.read_csv(files / "contacts.csv"), start)


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (lambda t: t.drop(columns="date"), [], "column(s) ['date'] missing"),
        (lambda t: t.assign(date="soon"), [], "date 'soon' in row 1 does not parse"),
        (lambda t: t.assign(product="fax"), [], "product(s) ['fax'] (first in row 1)"),
        (lambda t: t.assign(customer_id="nobody"), [], "none of its 1 customer ids"),
        (lambda t: t, ["--calendar-start", "someday"], "--calendar-start 'someday': not a date"),
        (lambda t: t, ["--window-before", "-1"], "--window-before -1"),
    ],
)
def test_bad_windows_exit_2_with_one_clear_line(files, tmp_path, capsys, change, extra, message):
    bad = tmp_path / "bad.csv"
    change(pd.read_csv(files / "contacts.csv")).to_csv(bad, index=False)
    argv = ["plan", str(files / "cal.toml"), "--data", str(files / "customers.parquet")]
    argv += ["--out", str(tmp_path / "p.csv"), "--windows", str(bad), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_window_options_need_windows_and_a_calendar(files, tmp_path, capsys):
    argv = ["plan", str(files / "cal.toml"), "--data", str(files / "customers.parquet")]
    assert main([*argv, "--out", str(tmp_path / "p.csv"), "--window-after", "9"]) == 2
    assert "--window-after without --windows" in capsys.readouterr().err
    argv = ["plan", str(tmp_path), "--out", str(tmp_path / "p.csv"), "--windows", "c.csv"]
    assert main(argv) == 2
    assert "--windows is for a campaign calendar" in capsys.readouterr().err
    argv = ["timing", str(files / "log.csv"), "--calibration-end", "1997-09-30"]
    argv += ["--report", str(tmp_path / "t.json"), "--contacts", str(tmp_path / "c.csv")]
    assert main(argv) == 2
    assert "--journeys and --contacts go together" in capsys.readouterr().err
