"""Segments, Models, Export & scenarios and RL lab pages in AppTest on the demo population.

The scenario is the app's default with the peer-bayes estimator (no counterfactual components
to estimate); the trained models come from ``models/`` (the ``demo_models`` fixture). Every
test uses its own SQLite store through ``JOURNEY_DB_URL``, never ``data/journeys.db``.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import ui
from core import pipeline
from core.data.io import load
from core.ops import export
from core.ops.store import Store
from core.pipeline import Settings

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo" / "customers.parquet"
FAST = ui.DEFAULT_SETTINGS.with_(estimator="peer-bayes")


@pytest.fixture(autouse=True)
def db_url(tmp_path, monkeypatch, demo_models) -> str:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    monkeypatch.setenv("JOURNEY_DB_URL", url)
    return url


def _page(path: str, settings: Settings = FAST) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = settings
    at.switch_page(path).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in (at.info, at.success, at.warning, at.error) for e in kind]
    return "\n".join(str(p) for p in parts)


def _name_field(at: AppTest, sid: int):
    """The name field of segment ``sid`` (its key names the segmentation, ``ui.name_key``)."""
    (field,) = [t for t in at.text_input if t.label == f"Segment {sid}"]
    assert field.key.startswith(f"seg_name_{sid}_")
    return field


def test_segments_page_answers_whom_to_contact_and_keeps_names():
    at = _page("pages/segments.py")
    assert not at.error
    sentence = at.info[0].value
    assert sentence.startswith("Contact first:") and "offer" in sentence
    labels = {m.label: m.value for m in at.metric}
    assert float(labels["Stability (ARI)"]) > 0.5
    first = _name_field(at, 0)
    first.set_value("Rescue squad")
    _button(at, "Apply names").click()
    at.run()
    assert not at.exception
    assert at.session_state["segments"]["names"]["0"] == "Rescue squad"
    assert "Rescue squad" in "".join(str(d.value) for d in at.table)  # the ranked segments
    # a duplicate name is refused with a clear message, not stored
    _name_field(at, 1).set_value("Rescue squad")
    _button(at, "Apply names").click()
    at.run()
    assert not at.exception
    assert at.error and "unique" in at.error[0].value
    assert at.session_state["segments"]["names"]["1"] != "Rescue squad"


def test_models_page_shows_metrics_cards_and_curves():
    at = _page("pages/models.py")
    metrics = {m.label: m.value for m in at.metric}
    assert 0.5 < float(metrics["ROC AUC"]) <= 1.0
    assert {"PR AUC", "Brier score", "CLTV R2", "Satisfaction MAE"} <= set(metrics)
    assert any("nearly a churn label" in w.value for w in at.warning)
    assert len(at.expander) >= 2  # the key-factor and acceptance model cards
    charts_before = len(at.get("plotly_chart"))
    _button(at, "Compute the curves").click()
    at.run(timeout=300)
    assert not at.exception
    assert len(at.get("plotly_chart")) == charts_before + 2  # ROC and precision-recall
    assert "out-of-fold predictions" in _texts(at)


def test_export_download_is_the_cli_bytes_and_is_recorded(db_url, monkeypatch):
    captured: list[tuple[bytes, str]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        captured.append((path_or_data, mimetype))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = _page("pages/export.py")
    assert not at.download_button  # nothing prepared yet
    _button(at, "Prepare the download").click()
    at.run()
    assert not at.exception and len(at.download_button) == 1
    csv = [data for data, mime in captured if mime == "text/csv"]
    assert csv, "the download button received the CSV bytes"

    data = load(DEMO)
    expected = export.render(pipeline.run(data.frame, FAST).table, "csv").data
    assert csv[-1] == expected
    with Store(db_url) as db:
        (run,) = db.list_runs()
        (rec,) = db.list_exports(run)
    assert (
        run.data_hash == data.sha256 and run.journeys_sha256 == hashlib.sha256(expected).hexdigest()
    )
    assert rec.sha256 == hashlib.sha256(csv[-1]).hexdigest() and rec.format == "csv"

    # the recorded run re-runs to byte-identical journeys
    _button(at, "Re-run this run's scenario and compare").click()
    at.run()
    assert not at.exception
    assert any("byte-identical" in s.value for s in at.success)


def test_an_excel_download_is_the_same_journeys_and_rechecks_byte_identical(db_url, monkeypatch):
    xlsx_mime = export.MIME["xlsx"]
    captured: list[bytes] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if mimetype == xlsx_mime:
            captured.append(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = _page("pages/export.py")
    [fmt] = [r for r in at.radio if r.label == "Format"]
    fmt.set_value("xlsx")
    at.run()
    _button(at, "Prepare the download").click()
    at.run()
    assert not at.exception and captured
    table = pipeline.run(load(DEMO).frame, FAST).table
    assert captured[-1] == export.render(table, "xlsx").data
    book = pd.read_excel(io.BytesIO(captured[-1]), dtype={"customer_id": str})
    assert list(book.columns) == list(table.columns) and len(book) == len(table)
    with Store(db_url) as db:
        (run,) = db.list_runs()
        (rec,) = db.list_exports(run)
    assert rec.format == "xlsx" and rec.sha256 == hashlib.sha256(captured[-1]).hexdigest()
    _button(at, "Re-run this run's scenario and compare").click()
    at.run()
    assert not at.exception
    assert any("byte-identical" in s.value for s in at.success)


def test_saved_scenario_is_listed_after_a_reload_and_loads_back(db_url):
    tuned = FAST.with_(weights={"cltv": 1.0, "churn": 2.5, "satisfaction": 0.5}, seed=3)
    at = _page("pages/export.py", tuned)
    [box] = [t for t in at.text_input if t.label == "Scenario name"]
    box.set_value("Retention push")
    _button(at, "Save the current scenario").click()
    at.run()
    assert not at.exception and any("Saved 'Retention push'" in s.value for s in at.success)

    fresh = _page("pages/export.py")  # a new session: only the database remembers
    [pick] = [s for s in fresh.selectbox if s.label == "Saved scenarios"]
    assert "Retention push" in pick.options
    pick.set_value("Retention push")
    fresh.run()
    _button(fresh, "Load").click()
    fresh.run()
    assert not fresh.exception
    assert fresh.session_state["settings"] == tuned
    assert "Retention push" in _texts(fresh)


def test_export_page_reports_a_changed_data_file(db_url):
    with Store(db_url) as db:
        db.record_run(None, seed=0, data_hash="ab" * 32, journeys_sha256="cd" * 32, params={})
    at = _page("pages/export.py")
    assert any("data file has changed" in w.value for w in at.warning)


def test_rl_lab_trains_and_compares_policies():
    at = _page("pages/rl_lab.py")
    assert any("Train and compare" in i.value for i in at.info)
    for box in at.number_input:
        if box.label.startswith("Training episodes"):
            box.set_value(1_000)
    [ev] = [b for b in at.number_input if b.label.startswith("Evaluation")]
    ev.set_value(3)
    _button(at, "Train and compare").click()
    at.run(timeout=300)
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {
        f"{a} vs annealed journeys" for a in ("Q-learning (tabular)", "Contextual bandit")
    } <= labels
    text = _texts(at)
    assert "Best on the" in text
    assert "policy opens with" in text or "makes no offer" in text
    assert len(at.get("plotly_chart")) == 2  # policy values with CIs, training curves


def test_export_of_one_segment_holds_whole_journeys_of_that_segment_only(monkeypatch):
    captured: list[bytes] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if mimetype == "text/csv":
            captured.append(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = _page("pages/export.py")
    [who] = [s for s in at.selectbox if s.label == "Customers"]
    segment = who.options[1]
    who.set_value(segment)
    at.run()
    _button(at, "Prepare the download").click()
    at.run()
    assert not at.exception and captured
    part = pd.read_csv(io.BytesIO(captured[-1]), dtype={"customer_id": str})
    full = pipeline.run(load(DEMO).frame, FAST).table
    ids = set(part["customer_id"])
    assert 0 < len(ids) < full["customer_id"].nunique()
    whole = full[full["customer_id"].astype(str).isin(ids)].reset_index(drop=True)
    assert captured[-1] == export.render(whole, "csv").data
    assert segment in _texts(at)


def test_a_prepared_download_is_withdrawn_when_the_scenario_changes():
    at = _page("pages/export.py")
    _button(at, "Prepare the download").click()
    at.run()
    assert len(at.download_button) == 1
    at.session_state["settings"] = FAST.with_(
        weights={"cltv": 2.0, "churn": 1.0, "satisfaction": 1.0}
    )
    at.run()
    assert not at.exception and not at.download_button


def test_segmentation_options_are_in_the_url():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.query_params["segments"] = "kmeans:3:0.05"
    at.switch_page("pages/segments.py").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Segments"] == "3"
    at.number_input(key="seg_k").set_value(2)
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Segments"] == "2"
    assert at.query_params["segments"] == "kmeans:2:0.05"
