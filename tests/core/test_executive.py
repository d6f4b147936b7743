"""The executive report (core.insights.executive, core.cli.report), its SVG charts and the
colours every chart shares, on a small population."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import numpy as np
import pytest

from core import cli, insights, pipeline
from core.data.catalog import load_catalog
from core.insights.colours import colour_map, min_distance
from core.insights.executive import SECTIONS, executive_report, read_numbers, render_html
from core.opportunity import offerable_now
from core.ops.pdf import find_chromium, pdf_outline, pdf_pages
from core.pipeline import Settings

SETTINGS = Settings(estimator="peer-bayes", solver="exact", seed=2)
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def frame(synthetic_frame):
    return synthetic_frame(300, 7)


@pytest.fixture(scope="module")
def report(frame):
    out = pipeline.run(frame, SETTINGS)
    greedy = pipeline.optimize(out.problem, SETTINGS, solver="greedy", components=out.components)
    cat = out.context.catalog
    proba = np.linspace(0.0, 1.0, len(frame))
    offerable = np.asarray(offerable_now(cat, out.components.held).any(axis=1))
    rep = executive_report(
        frame, out.result, greedy, "greedy", out.table, cat, SETTINGS,
        churn_proba=proba, offerable=offerable, horizon_months=6,
        data_name="tiny.csv", data_sha256="ab" * 32, created=WHEN,
    )  # fmt: skip
    kpis = insights.overview_kpis(
        frame, out.result, greedy, "greedy",
        churn_proba=proba, horizon_months=6, offerable=offerable,
    )  # fmt: skip
    return rep, kpis, proba


def test_report_holds_the_overview_kpis_and_the_scenario(report):
    rep, kpis, proba = report
    assert rep.numbers() == {k.label: (k.formatted(), k.formatted_delta()) for k in kpis}
    assert any(delta is not None for _, delta in rep.numbers().values())
    assert rep.scenario["Revenue-at-risk horizon"] == "6 months"
    assert rep.scenario["Date"] == rep.created == "2026-01-02T03:04:05+00:00"
    assert rep.scenario["Estimator"] == "peer-bayes" and "greedy" in rep.scenario["Deltas against"]
    assert int(rep.churn_bins["customers"].sum()) == len(proba)
    assert rep.high_risk == pytest.approx(float(np.mean(proba >= 0.5)))


def test_html_is_self_contained_and_reads_back_the_same_numbers(report):
    rep, _, _ = report
    text = render_html(rep)
    assert read_numbers(text) == rep.numbers()
    # nothing to fetch: no scripts, no external sources or links (the SVG namespace is a name)
    assert "<script" not in text and "<link" not in text and "src=" not in text
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", text)
    for section in SECTIONS:
        assert f">{section}</h2>" in text
    svgs = re.findall(r"<svg.*?</svg>", text, re.S)
    assert len(svgs) == 3  # first offers, by contract, churn risk
    for svg in svgs:
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "2026-01-02T03:04:05+00:00" in text and "tiny.csv" in text


@pytest.mark.parametrize("name", ["seed", "full", "retail", "telecom_plans"])
def test_product_colours_stay_apart_for_colour_blind_readers(name):
    colours = colour_map(load_catalog(name))
    assert len(set(colours.values())) == len(colours)
    far = min_distance(colours.values())
    assert set(far) == {"normal", "protan", "deutan", "tritan"}
    assert min(far.values()) >= 10, far


def test_min_distance_sees_a_red_green_pair():
    far = min_distance(["#D55E00", "#009E73"])  # vermillion vs green: fine for everyone
    near = min_distance(["#ff0000", "#00a000"])  # pure red vs green: close for deutans
    assert near["normal"] > 50 and near["deutan"] < far["deutan"]


def test_cli_report_writes_html_and_pdf(frame, tmp_path, capsys):
    data = tmp_path / "tiny.csv"
    frame.to_csv(data, index=False)
    out, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    args = ["report", str(data), "--out", str(out), "--models", str(tmp_path / "models")]
    args += ["--estimator", "peer-bayes", "--model-preset", "fast", "--horizon", "6", "--quiet"]
    chromium = find_chromium() is not None
    code = cli.main(args + (["--pdf", str(pdf)] if chromium else []))
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    text = out.read_text(encoding="utf-8")
    numbers = read_numbers(text)
    assert {v["label"] for v in summary["kpis"].values()} == set(numbers)
    assert "6 months" in text and "peer-bayes" in text
    if chromium:
        raw = pdf.read_bytes()
        assert raw.startswith(b"%PDF") and pdf_pages(raw) >= 1
        assert [t for t in pdf_outline(raw) if t in SECTIONS] == list(SECTIONS)


def test_cli_report_missing_data_exits_2(tmp_path, capsys):
    code = cli.main(["report", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r.html")])
    assert code == 2
    assert "nope.csv" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
