"""The Campaigns and Plan pages, and the campaign estimator on the Opportunity page, in AppTest.

On the demo population (its past campaign, ``data/demo/customers.campaigns.parquet``, and the
shipped calendar ``data/calendars/quarter.toml``); the scenario uses the peer-bayes estimator
so no counterfactual components are estimated. Every test uses its own SQLite store.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import ui
from core.pipeline import Settings

ROOT = Path(__file__).resolve().parents[2]
FAST = ui.DEFAULT_SETTINGS.with_(estimator="peer-bayes")
DEMO_LOG = ROOT / "data" / "demo" / "customers.campaigns.parquet"


@pytest.fixture(autouse=True)
def _models(demo_models) -> None:
    """The demo's trained models (the Plan page trains the full catalog's once more)."""


@pytest.fixture
def downloads(monkeypatch) -> list[tuple[bytes, str]]:
    """Every payload handed to a download button (bytes, mime)."""
    captured: list[tuple[bytes, str]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        captured.append((path_or_data, mimetype))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return captured


@pytest.fixture
def deferred(monkeypatch) -> list[tuple[Any, str]]:
    """Every deferred download (its callable, mime): made when the user clicks."""
    captured: list[tuple[Any, str]] = []
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, **kw):
        captured.append((data_callable, mimetype))
        return original(self, data_callable, mimetype, coordinates, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return captured


def _page(path: str, settings: Settings = FAST, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = settings
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(path).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def test_campaigns_page_answers_the_three_questions_on_the_demo(downloads, deferred):
    at = _page("pages/campaigns.py")
    assert not at.error, [e.value for e in at.error]
    assert _metric(at, "Rows") == "7,043" and _metric(at, "Offer arms") == "8"
    charts = _vega(at)  # lift, Qini, policy values: keyed Vega-Lite views
    assert len(charts) == 3 and not at.get("plotly_chart")
    text = _captions(at)
    assert "Lift of each arm on accepted" in text and "Qini coefficients" in text
    assert "learned targeting" in text and "everyone: control (no contact)" in text
    # the next test: a smaller minimum detectable lift needs more customers per arm
    per_arm = int(_metric(at, "Customers per offer arm").replace(",", ""))
    at.number_input(key="camp_mde_accepted").set_value(0.01).run()
    assert not at.exception
    assert int(_metric(at, "Customers per offer arm").replace(",", "")) > per_arm
    # the assignment file: every demo customer, the targeting's arm outside the holdout
    (button,) = at.get("download_button")
    # made when the button is clicked (the targeting predicts every customer), not per rerun
    assert not [data for data, mime in downloads if mime == "text/csv"]
    assert "(7,043 customers)" in button.proto.label
    csv = [make() for make, mime in deferred if mime == "text/csv"][-1]  # the click
    table = pd.read_csv(io.BytesIO(csv))
    assert list(table.columns) == ["customer_id", "arm", "probability", "holdout", "recommended"]
    assert len(table) == 7043 and table["customer_id"].is_unique
    share = float(_metric(at, "Holdout of the targeted campaign").rstrip("%")) / 100
    assert abs(table["holdout"].mean() - share) < 0.02
    kept = table[~table["holdout"]]
    assert (kept["arm"] == kept["recommended"]).all()
    assert (table.loc[table["holdout"], "arm"] == "control").all()
    assert set(table["recommended"]) <= set(pd.read_parquet(DEMO_LOG)["arm"])
    # another outcome is another analysis of the same log, without a new fit
    at.segmented_control(key="camp_outcome").set_value("revenue").run()
    assert not at.exception and "Lift of each arm on revenue" in _captions(at)


def _bad_log() -> bytes:
    log = pd.read_parquet(DEMO_LOG).head(400).copy()
    log["accepted"] = log["accepted"].astype(object)
    log.loc[3, "accepted"] = "yes"  # not a number
    log.loc[[5, 9], "propensity"] = 1.5  # outside (0, 1]
    return log.to_csv(index=False).encode()


def test_a_malformed_uploaded_log_shows_the_clear_error_and_its_table():
    source = {"kind": "upload", "name": "bad_log.csv", "bytes": _bad_log(), "file_id": "x"}
    at = _page(
        "pages/campaigns.py",
        campaign_source=source,
        camp_source="Upload a log",
    )
    assert at.error, "the error box is shown"
    message = at.error[0].value
    assert "bad_log.csv" in message and "problem(s) found" in message
    assert "'accepted'" in message and "'propensity'" in message
    failures = at.dataframe[0].value
    assert {"column", "check", "rows", "fix"} <= set(failures.columns)
    assert not at.get("plotly_chart") and not _vega(at) and not at.get("download_button")


def _vega(at: AppTest) -> list[tuple[str, dict, dict[str, bytes]]]:
    """(element id, specification, {dataset: Arrow bytes}) of every Vega-Lite chart."""
    import json

    found = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "spec") and hasattr(proto, "datasets"):
            data = {d.name: d.data.data for d in proto.datasets}
            found.append((proto.id, json.loads(proto.spec), data))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return found


def money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def _refined(at: AppTest) -> None:
    """Wait for the background re-plan of the quick answer, then the page's next run."""
    job = at.session_state["plan_state"]["refine"]
    assert job is not None and job.done.wait(120), "the refinement did not end"
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def test_plan_page_plans_the_calendar_and_a_slider_replans(downloads, deferred):
    at = _page("pages/plan.py")
    assert not at.error, [e.value for e in at.error]
    assert _metric(at, "Feasible") == "yes"
    value = _metric(at, "Plan value")
    gap = float(_metric(at, "Gap to the bound").rstrip("%"))
    assert 0 <= gap < 1.0
    assert "7,043 customers" in _captions(at)
    # the first plan is a plan, not a re-plan
    assert re.search(r"(?<!Re-)Planned and redrew in [\d.]+ s", _captions(at)), _captions(at)
    assert "Re-planned" not in _captions(at)
    assert any("call-centre budget" in m.value for m in at.markdown)  # shadow prices in words
    # usage, channels, days: keyed Vega-Lite views whose specifications hold no data
    charts = _vega(at)
    assert len(charts) == 3 and not at.get("plotly_chart")
    assert all(set(spec.get("data", {"name": 0})) == {"name"} for _, spec, _ in charts)
    # the plan's CSV is rendered when the button is clicked, not on every re-plan
    assert not [d for d, mime in downloads if mime == "text/csv"]
    first_csv = [make() for make, mime in deferred if mime == "text/csv"][-1]  # the click
    plan = pd.read_csv(io.BytesIO(first_csv))
    assert list(plan.columns) == ["Customer", "Activity"]
    assert len(plan) == int(_metric(at, "Contacts").replace(",", ""))

    budget = at.slider(key="plan_bound_0")
    assert budget.label.startswith("call-centre budget") and budget.value == 6000.0
    budget.set_value(3000.0).run()  # below what the plan spent: a quick answer at once
    assert not at.exception and not at.error
    assert money(_metric(at, "Plan value")) < money(value)  # less budget, less value
    state = at.session_state["plan_state"]
    assert state["quick"] and state["refine"] is not None
    assert state["problem"].constraints.bound[0] == 3000.0
    quick = state["result"]
    assert quick.feasible and quick.usage[state["problem"].label(0)] <= 3000.0 + 1e-6
    assert "Quick answer, being refined" in _captions(at)
    assert re.search(r"Answered and redrew in ([\d.]+) s", _captions(at)), _captions(at)
    after_csv = [make() for make, mime in deferred if mime == "text/csv"][-1]
    assert after_csv != first_csv
    assert len(pd.read_csv(io.BytesIO(after_csv))) == int(_metric(at, "Contacts").replace(",", ""))
    # the same elements and specifications, other data: the browser swaps the data in place
    after = _vega(at)
    assert [(i, spec) for i, spec, _ in after] == [(i, spec) for i, spec, _ in charts]
    assert [data for *_, data in after] != [data for *_, data in charts]

    # the background re-plan replaces the quick answer: a plan at least as good, a gap at
    # most as wide (both proved), then no more refinement
    _refined(at)
    state = at.session_state["plan_state"]
    assert not state["quick"] and state["refine"] is None
    refined = state["result"]
    assert refined is not quick and refined.feasible
    assert refined.objective >= quick.objective - 1e-6
    assert refined.usage[state["problem"].label(0)] <= 3000.0 + 1e-6
    assert "Quick answer" not in _captions(at)
    seconds = re.search(r"Re-planned and redrew in ([\d.]+) s", _captions(at))
    assert seconds is not None, _captions(at)
    assert money(_metric(at, "Plan value")) == pytest.approx(refined.objective, abs=1)

    # a minimum no plan can reach: infeasible, said clearly, the least-violation plan shown
    at.slider(key="plan_bound_6").set_value(7500.0).run()
    assert not at.exception
    # the budget moved before keeps its value (it went back to the calendar's before)
    assert at.slider(key="plan_bound_0").value == 3000.0
    assert at.session_state["plan_state"]["problem"].constraints.bound[0] == 3000.0
    assert at.error and "Infeasible" in at.error[0].value
    assert "security offers" in at.error[0].value
    assert _metric(at, "Feasible") == "no"
    assert at.session_state["plan_state"]["refine"] is None  # no quick answer: re-planned here
    # and back: feasible again
    at.slider(key="plan_bound_6").set_value(2500.0).run()
    assert not at.exception and not at.error and _metric(at, "Feasible") == "yes"


def test_a_quick_answer_within_the_planners_target_gap_is_final_without_a_refinement():
    """A budget raised above what the plan spends (its shadow price 0): the previous plan keeps
    the new bound and its proved gap is already within the planner's target, so the page shows
    it as final and starts no background re-plan (which would keep it and redraw the page)."""
    import ui.plan

    at = _page("pages/plan.py")
    budget = at.slider(key="plan_bound_0")
    budget.set_value(9000.0).run()  # well above the plan's spend: a quick answer to refine
    state = at.session_state["plan_state"]
    if state["refine"] is not None:
        _refined(at)
    state = at.session_state["plan_state"]
    before = state["result"]
    label = state["problem"].label(0)
    # the preconditions: the budget does not bind and the plan is within the target gap
    assert before.feasible and before.usage[label] < 9000.0 - 100.0
    assert before.gap <= ui.plan.FINAL_GAP

    at.slider(key="plan_bound_0").set_value(9100.0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    state = at.session_state["plan_state"]
    assert state["problem"].constraints.bound[0] == 9100.0
    assert state["quick"] and state["final"] and state["refine"] is None  # nothing to refine
    quick = state["result"]
    assert quick.stats.get("quick") and quick.feasible
    assert quick.gap <= ui.plan.FINAL_GAP and quick.objective == pytest.approx(before.objective)
    assert state["warm"][1] is quick  # the next re-plan starts from it
    text = _captions(at)
    assert "Quick answer, final" in text and "being refined" not in text
    assert "is final: no background re-plan" in text
    assert _metric(at, "Gap to the bound") == f"{quick.gap:.3%}"  # the proved gap is shown
    # a change that needs refining still gets one (and is not called final)
    at.slider(key="plan_bound_0").set_value(3000.0).run()
    state = at.session_state["plan_state"]
    assert state["quick"] and not state["final"] and state["refine"] is not None
    assert "Quick answer, being refined" in _captions(at)


def _chain_done(at: AppTest, steps: int) -> Any:
    """The Plan page's chain of steps planned ahead, once its first ``steps`` are planned."""
    chain = at.session_state["plan_state"]["ahead"]
    assert chain is not None, "no steps planned ahead"
    deadline = time.monotonic() + 240
    while len(chain.jobs) < steps and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(chain.jobs) >= steps, "the chain did not plan its steps"
    for job in chain.jobs[:steps]:
        assert job.done.wait(240), "a step planned ahead did not end"
    return chain


def _settle(at: AppTest) -> None:
    """Stop the Plan page's background work and wait for it (a later test patches the planner)."""
    import threading

    state = at.session_state["plan_state"]
    if state.get("refine") is not None:
        state["refine"].cancel.set()
    if state.get("ahead") is not None:
        state["ahead"].stop()
    for thread in threading.enumerate():
        if thread.name.startswith("cjo-plan-"):
            thread.join(240)
            assert not thread.is_alive(), f"{thread.name} did not stop"


def test_a_sliders_next_steps_are_planned_ahead_and_shown_at_once(monkeypatch):
    """After a one-step move of one slider, its next steps in that direction are planned in the
    background (as the page would plan them: feasible, proved gap, from the plan before), and
    the page shows such a step at once; another move cancels them."""
    import ui.plan_ahead

    monkeypatch.setattr(ui.plan_ahead, "WAIT_SECONDS", 120.0)  # no quick answer in between
    at = _page("pages/plan.py")
    at.slider(key="plan_bound_0").set_value(3000.0).run()  # a jump: nothing planned ahead
    state = at.session_state["plan_state"]
    assert state.get("ahead") is None
    if state["refine"] is not None:
        _refined(at)
    at.slider(key="plan_bound_0").set_value(3100.0).run()  # one step up
    state = at.session_state["plan_state"]
    # the budget binds: the quick answer moves customers into the freed room, and says so
    changed = state["result"].stats.get("quick_changed", 0)
    assert state["quick"] and changed > 0
    assert f"the previous plan with {changed:,} contacts changed" in _captions(at)
    chain = _chain_done(at, ui.plan_ahead.LEAD)
    assert (chain.name, chain.step) == ("call-centre budget", 100.0)
    assert [job.bounds["call-centre budget"] for job in chain.jobs] == [3200.0, 3300.0]
    before = state["result"] if state["refine"] is None else state["refine"].result[1]
    shown = chain.jobs[0].result[1]

    at.slider(key="plan_bound_0").set_value(3200.0).run()  # the step planned ahead
    assert not at.exception and not at.error, [e.value for e in at.error]
    state = at.session_state["plan_state"]
    assert state["result"] is shown and state["ahead_hit"] and state["refine"] is None
    label = state["problem"].label(0)
    assert state["problem"].constraints.bound[0] == 3200.0
    assert shown.feasible and shown.usage[label] <= 3200.0 + 1e-6
    assert shown.upper_bound >= shown.objective - 1e-6  # its gap is proved
    assert shown.objective >= before.objective - 1e-6  # more budget: at least the plan before
    # said above the figures (a planner's plan, or a quick answer final at once) and below
    assert "Planned ahead in the background" in _captions(at)
    assert "this plan was computed in the background" in _captions(at)
    assert money(_metric(at, "Plan value")) == pytest.approx(shown.objective, abs=1)
    assert at.session_state["plan_state"]["ahead"] is chain  # followed: the same chain goes on
    chain = _chain_done(at, 3)  # one more step planned: it stays LEAD steps ahead
    assert chain.jobs[2].bounds["call-centre budget"] == 3400.0

    at.slider(key="plan_bound_0").set_value(3100.0).run()  # back: a new chain, downwards
    assert not at.exception
    assert chain.cancel.is_set()
    state = at.session_state["plan_state"]
    assert not state["ahead_hit"] and state["ahead"] is not chain
    assert state["ahead"].step == -100.0

    at.slider(key="plan_bound_0").set_value(4000.0).run()  # a jump: nothing ahead
    assert at.session_state["plan_state"]["ahead"] is None
    _settle(at)


def test_nothing_is_planned_ahead_when_work_ahead_is_switched_off(monkeypatch):
    monkeypatch.setenv("CJO_AHEAD", "0")
    at = _page("pages/plan.py")
    at.slider(key="plan_bound_0").set_value(3000.0).run()
    at.slider(key="plan_bound_0").set_value(3100.0).run()
    assert not at.exception
    assert at.session_state["plan_state"].get("ahead") is None
    _settle(at)


def test_opportunity_page_offers_the_campaign_estimator_and_the_url_keeps_it():
    at = _page("pages/opportunity.py")
    control = at.segmented_control(key="opp_estimator")
    assert "campaign" in control.options
    control.set_value("campaign").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    s = at.session_state["settings"]
    assert s.estimator == "campaign" and s.campaign == "data/demo/customers.campaigns.parquet"
    assert ui.query_from_settings(s)["campaign"] == s.campaign
    assert ui.settings_from_query(ui.query_from_settings(s)) == s
    assert "past randomized campaign" in _captions(at)
    assert "no campaign outcome measures it" in _captions(at)  # the estimator's notes
    at.segmented_control(key="opp_estimator").set_value("peer-bayes").run()
    assert not at.exception and at.session_state["settings"].campaign == ""


def test_a_campaign_log_outside_the_data_folders_is_refused():
    s = FAST.with_(estimator="campaign", campaign="/etc/passwd.csv")
    at = _page("pages/opportunity.py", settings=s)
    assert any("can be read from the server" in e.value for e in at.error)


@pytest.mark.parametrize("quick", [True, False])
def test_a_replan_that_finds_no_plan_in_time_searches_longer_before_saying_so(monkeypatch, quick):
    """A short re-plan that found no feasible plan proves nothing: the page searches again with
    the first plan's time before it shows anything, and never calls that "infeasible". Without
    a quick answer on the page's run; with one, in the background while the quick answer shows."""
    import dataclasses

    import core.planning
    import core.planning.quick
    import ui.plan

    real = core.planning.replan
    limits: list[float] = []

    def short_one_fails(problem, bounds=None, **kw):
        limits.append(kw["time_limit"])
        new, result = real(problem, bounds, **kw)
        if len(limits) == 1:  # the re-plan within the slider's budget "ran out of time"
            result = dataclasses.replace(result, feasible=False, status="no_plan")
        return new, result

    monkeypatch.setattr(core.planning, "replan", short_one_fails)
    if not quick:
        monkeypatch.setattr(
            core.planning.quick, "quick_replan", lambda p, b, **kw: (p.with_bounds(b), None)
        )
    at = _page("pages/plan.py")
    # far enough below the plan's spend that a quick answer is not within the target gap
    at.slider(key="plan_bound_0").set_value(3000.0).run()
    assert at.session_state["plan_state"]["quick"] is quick
    if quick:
        _refined(at)
    assert limits == [ui.plan.REPLAN_SECONDS, ui.plan.FIRST_SECONDS]
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _metric(at, "Feasible") == "yes"
    assert not at.session_state["plan_state"]["quick"]
