"""What a weight change on the Journeys page does (issue 19). The next weight step is computed
ahead in the background: which step is next, and that stepping a weight there finds the
journeys, the annealer's check and the judgement already computed (the page's thread solves
nothing), while a jump is computed as before; both show what a fresh computation shows. The
page draws its tables before its figures but keeps its sections in their order, and the
strategies' table is a static table with the same columns."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from ui.journeys_ahead import THREAD, next_weights

ROOT = Path(__file__).resolve().parents[2]
FAST = ui.DEFAULT_SETTINGS.with_(estimator="peer-bayes")
W = {"cltv": 1.0, "churn": 1.0, "satisfaction": 1.0}


def test_the_next_step_goes_on_the_way_the_weight_moved():
    assert next_weights(W, {**W, "churn": 1.1}) == {**W, "churn": 1.2}
    assert next_weights({**W, "churn": 1.1}, W) == {**W, "churn": 0.9}
    # the browser's float steps (0.1 + 0.2) and the next step are the same scenario's weights
    step = next_weights({**W, "cltv": 0.1}, {**W, "cltv": 0.1 + 0.1})
    assert step is not None and step["cltv"] == 0.3
    assert FAST.with_(weights=step) == FAST.with_(weights={**W, "cltv": 0.1 + 0.2})


@pytest.mark.parametrize(
    "last, now",
    [
        (None, W),  # the first drawing: no way yet
        (W, W),  # nothing moved
        (W, {**W, "churn": 1.5}),  # a jump
        (W, {**W, "churn": 1.1, "cltv": 0.9}),  # two factors
        ({**W, "churn": 2.9}, {**W, "churn": 3.0}),  # the end of the slider
        ({**W, "churn": 0.1}, {**W, "churn": 0.0}),
    ],
)
def test_no_next_step_without_one_step_of_one_weight(last, now):
    assert next_weights(last, now) is None


@pytest.fixture(autouse=True)
def _models(demo_models, monkeypatch) -> None:
    """The trained models of the demo population; no start-up warm-up (each scenario's would
    build its segmentations in the background, for the tests of other pages to find)."""
    monkeypatch.setattr("ui.widgets.warm_up", lambda *a, **k: None)


def _join_ahead() -> None:
    for thread in threading.enumerate():
        if thread.name == THREAD:
            thread.join(timeout=600)


def _step(at: AppTest, churn: float) -> dict[str, str]:
    at.slider(key="j_w_churn").set_value(churn).run()
    assert not at.exception, [e.message for e in at.exception]
    return {m.label: m.value for m in at.metric}


def test_a_weight_step_finds_its_journeys_computed_ahead(monkeypatch):
    from core import pipeline
    from ui.cache import in_script

    solves: list[str] = []
    for name in ("optimize", "sampled_report"):
        real = getattr(pipeline, name)

        def counted(*a, _real=real, _name=name, **k):  # the page's own work only
            if in_script():  # not the background's thread, nor the warm-up's
                solves.append(_name)
            return _real(*a, **k)

        monkeypatch.setattr(pipeline, name, counted)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.switch_page("pages/journeys.py").run()
    assert not at.exception, [e.message for e in at.exception]
    _step(at, 1.1)  # one step up: 1.2 is computed in the background
    _join_ahead()
    solves.clear()
    ahead = _step(at, 1.2)
    assert solves == [], "the step the background prepared solves nothing in the page"
    _join_ahead()
    _step(at, 2.0)  # a jump: computed by the page, nothing prepared for it
    assert "optimize" in solves and "sampled_report" in solves
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    fresh.session_state["settings"] = FAST.with_(weights={**W, "churn": 1.2})
    fresh.switch_page("pages/journeys.py").run()
    assert {m.label: m.value for m in fresh.metric} == ahead


def test_nothing_is_computed_ahead_under_the_switch(monkeypatch):
    from ui import journeys_ahead

    monkeypatch.setenv("CJO_AHEAD", "0")
    started: list[object] = []
    real = journeys_ahead.background.start
    monkeypatch.setattr(
        journeys_ahead.background, "start", lambda *a, **k: started.append(a) or real(*a, **k)
    )
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.switch_page("pages/journeys.py").run()
    _step(at, 1.1)
    _step(at, 1.2)  # a step the same way: it would have been prepared
    assert started == []


def test_the_sections_keep_their_order_and_the_strategies_table_is_static():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.switch_page("pages/journeys.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert [h.value for h in at.subheader] == [
        "Against the study's strategies",
        "First → second → third offer",
        "Journey table",
        "When to contact, and at what discount",
    ]
    strategies, journeys = at.table  # the strategies, then a page of the journey table
    frame = strategies.value
    assert list(frame.columns) == [
        "baseline", "annealing ≥ baseline", "annealing better", "mean uplift", "seconds"
    ]  # fmt: skip
    assert len(frame) == 5
    shown = strategies.proto.arrow_data.styler.display_values  # what the browser shows
    assert (
        b"%" in shown
        and str(round(100 * float(frame["annealing better"].iloc[0]), 1)).encode() in shown
    )
    # the journey table: a static page of STATIC_ROWS rows, or a grid to sort and search
    page = journeys.value
    assert {"customer_id", "step"} <= set(page.columns) and len(page) == 20
    assert not at.dataframe
    at.number_input(key="j_table_page").set_value(3).run()
    assert at.table[1].value["customer_id"].tolist() == (
        _journey_rows(at).iloc[40:60]["customer_id"].tolist()
    )
    at.toggle(key="j_table_grid").set_value(True).run()  # page 3 of the grid's pages
    assert not at.exception, [e.message for e in at.exception]
    (grid,) = at.dataframe
    assert len(at.table) == 1 and len(grid.value) == min(500, len(_journey_rows(at)) - 1000)
    assert grid.value["customer_id"].tolist() == (
        _journey_rows(at).iloc[1000:1500]["customer_id"].tolist()
    )


def _journey_rows(at: AppTest):
    """The page's whole journey table (what its pages cut)."""
    from ui import outcome

    return outcome(at.session_state["settings"]).table


def test_the_strategies_table_downloads_as_the_csv_it_shows():
    import io

    import pandas as pd

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.switch_page("pages/journeys.py").run()
    assert not at.exception, [e.message for e in at.exception]
    buttons = at.get("download_button")
    assert len(buttons) == 2, buttons  # the strategies' and the journey table's
    table = at.table[0].value
    csv = ui.csv_maker(table)()
    back = pd.read_csv(io.BytesIO(csv))
    assert list(back.columns) == list(table.columns)
    pd.testing.assert_series_equal(back["baseline"], table["baseline"].reset_index(drop=True))
    assert back["mean uplift"].to_numpy() == pytest.approx(table["mean uplift"].to_numpy())
