"""Purchase timing: published-parameter recovery, the ``timing`` command and its bad inputs.

Logs are drawn with ``core.data.synthetic.purchases.purchase_log`` (BG/NBD + Gamma-Gamma with the
published CDNOW parameters); the CDNOW look-alike figures themselves are measured by
``benchmarks/timing.py`` (README), not here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main as cli
from core.common.errors import DataValidationError
from core.data.purchases import read_purchases
from core.data.synthetic.purchases import CDNOW_LOOKALIKE, purchase_log
from core.models.timing import (
    PUBLISHED,
    BetaGeoModel,
    GammaGammaModel,
    contact_schedule,
    contact_windows,
    daily,
    fit_timing,
    read_contact_plan,
    rfm_summary,
)

CAL, HOLD = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def plain_rfm() -> pd.DataFrame:
    log = read_purchases(purchase_log(12_000, 3))
    return rfm_summary(log, CAL, HOLD)


def test_bgnbd_recovers_the_published_cdnow_parameters(plain_rfm: pd.DataFrame) -> None:
    fit = BetaGeoModel().fit(plain_rfm).fit_
    assert fit.converged
    for name, published in PUBLISHED["bgnbd"].items():
        est, se = fit.params[name], fit.se[name]
        assert np.isfinite(se) and se > 0
        # within three standard errors of the value the log was drawn with
        assert abs(est - published) < 3 * se, (name, est, se, published)


def test_gammagamma_recovers_the_published_cdnow_parameters(plain_rfm: pd.DataFrame) -> None:
    gg = GammaGammaModel().fit(plain_rfm)
    fit = gg.fit_
    for name, published in PUBLISHED["gammagamma"].items():
        assert abs(fit.params[name] - published) < 3 * fit.se[name], (name, fit.params[name])
    # the implied mean spend per purchase p*v/(q-1) is the best-identified quantity
    p, q, v = (PUBLISHED["gammagamma"][k] for k in ("p", "q", "v"))
    assert gg.population_mean() == pytest.approx(p * v / (q - 1), rel=0.1)


def test_p_alive_and_expected_purchases_behave(plain_rfm: pd.DataFrame) -> None:
    m = BetaGeoModel().fit(plain_rfm)
    alive = m.p_alive(plain_rfm)
    assert ((alive >= 0) & (alive <= 1)).all()
    # no repeat purchase: alive for sure under BG/NBD
    assert np.allclose(alive[plain_rfm["frequency"].to_numpy() == 0], 1.0)
    # same frequency, longer silence -> lower P(alive)
    one = pd.DataFrame({"frequency": [3.0, 3.0], "recency": [30.0, 5.0], "T": [35.0, 35.0]})
    a = m.p_alive(one)
    assert a[0] > a[1]
    e = m.expected(39.0, one)
    assert e[0] > e[1] > 0


def test_fit_timing_reports_holdout_and_conditional_table() -> None:
    log = read_purchases(purchase_log(1500, 1, deviations=CDNOW_LOOKALIKE))
    res = fit_timing(log, CAL, HOLD, models=["bgnbd", "paretonbd"])
    rep = res.report()
    assert rep["n_customers"] == 1500
    assert rep["model"] in ("bgnbd", "paretonbd")
    h = rep["holdout"]
    assert set(h) >= {"predicted_total", "actual_total", "error_pct", "mae", "rmse", "correlation"}
    assert h["correlation"] > 0.5
    assert abs(h["error_pct"]) < 40
    table = rep["conditional_expectation"]
    assert [row["frequency"] for row in table][0] == "0"
    assert sum(row["customers"] for row in table) == 1500
    cust = res.customers
    assert {"p_alive"} <= set(cust.columns)


def _log(tmp_path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path = tmp_path / "log.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    return path


def test_cli_report_keys(tmp_path: Path, capsys) -> None:
    path = tmp_path / "cdnow.csv"
    purchase_log(800, 2, deviations=CDNOW_LOOKALIKE).to_csv(path, index=False)
    report = tmp_path / "r.json"
    out = tmp_path / "c.parquet"
    args = ["timing", str(path), "--calibration-end", CAL, "--holdout-end", HOLD]
    args += ["--models", "bgnbd,paretonbd", "--report", str(report), "--out", str(out), "--quiet"]
    args += ["--selection", "validation"]
    assert cli(args) == 0
    capsys.readouterr()
    rep = json.loads(report.read_text())
    assert set(rep) >= {"n_customers", "model", "params", "holdout", "seconds"}
    assert rep["params"]["bgnbd"]["r"]["published"] == 0.243
    assert rep["selection"]["rule"] == "validation"
    assert rep["params"]["gammagamma"]["v"]["published"] == 15.44
    assert len(pd.read_parquet(out)) == 800


@pytest.mark.parametrize(
    ("rows", "extra", "needle"),
    [
        ([("a", "2024-01-02", 5.0), ("a", "not a date", 3.0)], [], "date"),
        ([("a", "2024-01-02", 5.0), ("b", "2024-02-02", -3.0)], [], "negative"),
        ([("a", "2024-01-02", 5.0), ("b", "2024-02-02", 3.0)], ["--cal-outside"], "calibration"),
    ],
)
def test_cli_bad_inputs_exit_2(tmp_path: Path, capsys, rows, extra, needle) -> None:
    path = _log(tmp_path, rows)
    cal = "2030-01-01" if extra else "2024-01-20"
    code = cli(["timing", str(path), "--calibration-end", cal, "--report", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err.lower()
    assert needle in err and "traceback" not in err


def test_negative_amounts_with_a_returns_rule_are_read() -> None:
    df = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "date": ["2024-01-02"] * 2 + ["2024-01-03"]}
    ).assign(amount=[20.0, -5.0, 8.0])
    with pytest.raises(DataValidationError):
        read_purchases(df)
    net = daily(read_purchases(df, returns="net"))
    assert net["amount"].tolist() == [15.0, 8.0]
    drop = daily(read_purchases(df, returns="drop"))
    assert drop["amount"].tolist() == [20.0, 8.0]


def test_contact_dates_follow_as_of_and_the_gap() -> None:
    log = read_purchases(purchase_log(400, 5))
    res = fit_timing(log, CAL, None, models=["bgnbd"])
    ids = res.customers.index[:20]
    journeys = pd.DataFrame(
        {"customer_id": np.repeat(ids, 2), "step": [1, 2] * 20, "product": ["a", "offer"] * 20}
    )
    plan = contact_schedule(journeys, res.customers, as_of=CAL).table
    assert len(plan) == 40
    dates = pd.to_datetime(plan["date"])
    assert (dates >= pd.Timestamp(CAL)).all()
    wide = plan.assign(date=dates).pivot(index="customer_id", columns="step", values="date")
    assert ((wide[2] - wide[1]).dt.days >= 14).all()
    win = contact_windows(
        plan_obj := contact_schedule(journeys, res.customers, as_of=CAL),
        ids,
        ["a", "offer"],
        calendar_start=CAL,
    )
    first = pd.to_datetime(plan_obj.table["date"]).iloc[0]
    day = (first - pd.Timestamp(CAL)).days + 1
    assert win[0, 0, 0] == max(day - 7, 1) and win[0, 0, 1] == day + 21


def test_a_contact_plan_file_is_checked_and_gives_windows() -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "zz"],
            "product": ["p", "p", "q", "p"],
            "date": ["2024-03-10", "2024-03-20", "2024-03-01", "2024-03-05"],
        }
    )
    table = read_contact_plan(raw, products=["p", "q"], name="c.csv")
    win = contact_windows(
        table, ["a", "b"], ["p", "q"], calendar_start="2024-03-01", horizon_days=90
    )
    # a's two dates for p (days 10 and 20) span days 3 .. 41; b's q on day 1: 1 .. 22
    assert win[0, 0].tolist() == [3, 41] and win[1, 1].tolist() == [1, 22]
    assert win[0, 1].tolist() == [1, 90] and win[1, 0].tolist() == [1, 90]  # no date: any day
    for bad, message in [
        (raw.drop(columns="date"), r"c.csv: column\(s\) \['date'\] missing"),
        (raw.assign(date=["2024-03-10", "soon", "x", "2024-03-05"]), "'soon' in row 2"),
        (raw.assign(product=["p", "p", "r", "p"]), r"\['r'\] \(first in row 3\)"),
    ]:
        with pytest.raises(DataValidationError, match=message):
            read_contact_plan(bad, products=["p", "q"], name="c.csv")


def test_the_fits_print_no_numpy_warnings_when_the_search_overflows(tmp_path: Path, capsys):
    """On this log (seed 0) the likelihood search tries parameters where terms overflow; the
    fits reject them quietly (numpy's warnings, errors under pytest, used to reach the user's
    terminal) and reach the same estimates."""
    path = tmp_path / "cdnow.csv"
    purchase_log(800, 0, deviations=CDNOW_LOOKALIKE).to_csv(path, index=False)
    report = tmp_path / "r.json"
    args = ["timing", str(path), "--calibration-end", CAL, "--holdout-end", HOLD]
    args += ["--report", str(report), "--quiet"]
    assert cli(args) == 0
    assert "Warning" not in capsys.readouterr().err
    rep = json.loads(report.read_text())
    assert 0.1 < rep["params"]["bgnbd"]["r"]["estimate"] < 0.5
    assert abs(rep["holdout"]["error_pct"]) < 20
