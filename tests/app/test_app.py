"""The dashboard in AppTest: every page renders on the demo population and on the IBM file, a
weight change re-optimizes the journeys, the URL reproduces the scenario, bad input is reported
clearly and never as an exception.

Most tests use the fast peer-bayes estimator; one uses the default (dr) estimator
(its models are trained once per session by the ``demo_models`` fixture, as the app would).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from core.pipeline import Settings

ROOT = Path(__file__).resolve().parents[2]
FAST = Settings(estimator="peer-bayes", solver="exact")
PAGES = [
    "pages/overview.py",
    "pages/opportunity.py",
    "pages/journeys.py",
    "pages/customer.py",
    "pages/segments.py",
    "pages/models.py",
    "pages/export.py",
    "pages/rl_lab.py",
    "pages/data.py",
]


def _app(settings: Settings | None = FAST, source: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if settings is not None:
        at.session_state["settings"] = settings
    if source is not None:
        at.session_state["source"] = source
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_demo_population(page):
    at = _app().run()
    at.switch_page(page).run()
    _ok(at)
    assert at.title, f"{page} has a title"


def test_overview_default_kpis(demo_models):
    at = _app(settings=None).run()  # the default scenario: dr estimator, do no harm
    _ok(at)
    s = at.session_state["settings"]
    assert (s.estimator, s.risk) == ("dr", "lcb")
    labels = [m.label for m in at.metric]
    for label in ("Customers", "Churn rate", "Monthly recurring revenue", "Average CLTV"):
        assert label in labels
    alone = int(_metric(at, "Left alone on purpose").replace(",", ""))
    assert 0 < alone < 7043  # some customers could be offered something and are not
    assert _metric(at, "Customers") == "7,043"
    total = next(m for m in at.metric if m.label == "Journey opportunity")
    assert total.delta is not None and not total.delta.startswith("-")  # >= the best baseline


def test_weight_change_changes_journeys():
    at = _app().run()
    at.switch_page("pages/journeys.py").run()
    before = _metric(at, "Total opportunity")
    rows_before = next(c.value for c in at.caption if "rows (one per customer" in c.value)
    at.slider(key="j_w_churn").set_value(3.0).run()
    _ok(at)
    assert at.session_state["settings"].weights["churn"] == 3.0
    assert at.query_params["w"] == "1,3,1"
    assert _metric(at, "Total opportunity") != before
    at.slider(key="j_w_cltv").set_value(0.0).run()
    at.slider(key="j_w_satisfaction").set_value(0.0).run()
    rows_after = next(c.value for c in at.caption if "rows (one per customer" in c.value)
    assert rows_after != rows_before, "churn-only weights recommend different journeys"


def test_opportunity_weight_slider_updates_live_part():
    at = _app().run()
    at.switch_page("pages/opportunity.py").run()
    before = _metric(at, "Total journey opportunity")
    at.slider(key="opp_w_cltv").set_value(0.0).run()
    _ok(at)
    assert _metric(at, "Total journey opportunity") != before


def test_confounding_allowance_is_a_slider_of_the_scenario_and_in_the_url():
    at = _app(Settings(solver="exact")).run()  # dr, do no harm at 0.9 (the defaults)
    at.switch_page("pages/opportunity.py").run()
    _ok(at)
    before = float(_metric(at, "Customers with a next offer").rstrip("%"))
    at.slider(key="confounding").set_value(0.5).run()
    _ok(at)
    s = at.session_state["settings"]
    assert s.confounding == 0.5 and ui.query_from_settings(s)["conf"] == "0.5"
    assert ui.settings_from_query({"conf": "0.5"}).confounding == 0.5
    assert ui.settings_from_query({"conf": "-1"}).confounding == 0.0  # bad URL: the default
    after = float(_metric(at, "Customers with a next offer").rstrip("%"))
    assert after < before  # the allowance leaves more customers alone


def test_the_value_harm_tradeoff_is_drawn_on_request_and_follows_the_settings(monkeypatch):
    import ui.decision

    calls = []
    real = ui.decision.harm_tradeoff

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ui.decision, "harm_tradeoff", counted)
    at = _app(Settings(solver="exact", weights={"cltv": 1, "churn": 2, "satisfaction": 1})).run()
    at.switch_page("pages/opportunity.py").run()
    _ok(at)

    def captions() -> str:
        return "\n".join(str(c.value) for c in at.caption)

    assert "this scenario (level 0.9)" not in captions()
    button = next(b for b in at.button if b.label == "Show the value / harm trade-off")
    button.click().run()
    _ok(at)
    assert "this scenario (level 0.9):" in captions(), captions()
    assert not any(b.label == "Show the value / harm trade-off" for b in at.button)
    # another do-no-harm setting moves the ring, without computing the curve again
    at.slider(key="confounding").set_value(0.25).run()
    _ok(at)
    assert "this scenario (level 0.9, allowance 0.25):" in captions(), captions()
    assert len(calls) == 1
    # another weight is another curve: the button again
    at.slider(key="opp_w_cltv").set_value(0.0).run()
    _ok(at)
    assert any(b.label == "Show the value / harm trade-off" for b in at.button)


def test_query_params_reproduce_the_scenario():
    at = _app(settings=None)
    at.query_params["w"] = "2,0.5,1"
    at.query_params["estimator"] = "peer-bayes"
    at.query_params["levers"] = "tech_support:1.5"
    at.run()
    _ok(at)
    s = at.session_state["settings"]
    assert s.weights == {"cltv": 2.0, "churn": 0.5, "satisfaction": 1.0}
    assert s.estimator == "peer-bayes" and s.levers == {"tech_support": 1.5}


def test_refinement_toggle_runs_the_schedule_alone_and_is_in_the_url():
    at = _app().run()
    at.switch_page("pages/journeys.py").run()
    _ok(at)
    at.toggle(key="j_refine").set_value(False).run()
    _ok(at)
    s = at.session_state["settings"]
    assert s.refine is False and ui.query_from_settings(s)["refine"] == "0"
    assert ui.settings_from_query({"refine": "0"}).refine is False
    assert ui.settings_from_query({}).refine is True


def test_bad_query_params_fall_back_to_defaults():
    at = _app(settings=None)
    at.query_params["w"] = "lots"
    at.query_params["solver"] = "magic"
    at.query_params["estimator"] = "peer-bayes"
    at.run()
    assert not at.exception
    assert at.session_state["settings"].solver == "exact"


@pytest.mark.parametrize("payload", [b"", b"Customer ID,Contract\nA,Weekly\n", b"\x00\x01" * 50])
@pytest.mark.parametrize("page", ["pages/data.py", "pages/overview.py"])
def test_malformed_upload_shows_clear_error_not_exception(payload, page):
    at = _app(source={"kind": "upload", "name": "bad.csv", "bytes": payload}).run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.error, "the error box is shown"
    assert "bad.csv" in at.error[0].value


def test_unknown_export_offers_the_mapping_editor():
    payload = b"cust,months\nA,3\nB,5\n"
    at = _app(source={"kind": "upload", "name": "crm.csv", "bytes": payload}).run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert "unknown layout" in at.error[0].value
    assert any(s.value == "Map your columns" for s in at.subheader)
    assert any(b.label == "Apply the mapping" for b in at.button)


def test_an_excel_workbook_reads_from_the_server_path(tmp_path, monkeypatch, ibm_path):
    """A workbook in a data folder: the Data page reads it (its 300 customers)."""
    import pandas as pd

    book = tmp_path / "customers.xlsx"
    pd.read_csv(ibm_path, keep_default_na=False).iloc[:300].to_excel(book, index=False)
    monkeypatch.setenv(ui.DATA_DIRS_ENV, str(tmp_path))
    at = _app().run()
    at.switch_page("pages/data.py").run()
    at.text_input[0].input(str(book))
    next(b for b in at.button if b.label == "Read this file").click().run()
    _ok(at)
    assert at.session_state["source"] == {"kind": "path", "name": str(book)}
    assert _metric(at, "Customers") == "300"


def test_server_path_outside_data_folders_is_refused():
    at = _app().run()
    at.switch_page("pages/data.py").run()
    at.text_input[0].input("/etc/passwd")
    next(b for b in at.button if b.label == "Read this file").click().run()
    assert not at.exception
    assert any("can be read from the server" in e.value for e in at.error)
    assert at.session_state["source"]["kind"] == "demo"


@pytest.mark.real_data
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_ibm_file(ibm_path, page):
    at = _app(source={"kind": "path", "name": str(ibm_path)}).run()
    at.switch_page(page).run()
    _ok(at)
    if page == "pages/data.py":
        assert any(m.value == "7,043" for m in at.metric)


def test_sign_in_is_off_by_default_and_required_when_configured():
    at = _app()
    at.run()
    assert not at.exception and not any(b.label == "Sign in" for b in at.button)
    at = _app()
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "s" * 32,
        "client_id": "cjo",
        "client_secret": "x",
        "server_metadata_url": "https://login.example.invalid/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert any(b.label == "Sign in" for b in at.button)
    assert not at.metric, "no figures are shown before signing in"


def _report_script() -> None:
    """A page that builds the executive report as the Overview's download button does."""
    import streamlit as st

    import ui
    from core.insights.executive import render_html

    ui.init_state()
    horizon = int(st.session_state["report_horizon"])
    st.session_state["report_html"] = render_html(ui.build_report(ui.report_inputs(horizon)))


def test_executive_report_shows_the_overview_numbers():
    from core.insights.executive import read_numbers

    at = _app().run()
    at.button_group(key="horizon").set_value(24).run()  # the horizon changes a card
    _ok(at)
    page = {m.label: (m.value, m.delta or None) for m in at.metric}
    assert any(b.label.startswith("Executive report") for b in at.get("download_button"))
    made = AppTest.from_function(_report_script, default_timeout=300)
    made.session_state["settings"] = FAST
    made.session_state["report_horizon"] = 24
    made.run()
    _ok(made)
    text = made.session_state["report_html"]
    numbers = read_numbers(text)
    assert numbers == page and "24 months" in text
