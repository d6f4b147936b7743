"""The dashboard's disk tier: opportunity components saved next to the models come back equal,
and only for the key they were saved under (a restarted server starts warm, never stale)."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from core import pipeline
from core.pipeline import Settings
from ui.pipeline import _load_components, _save_components


@pytest.fixture(scope="module")
def comps(synthetic_frame):
    frame = synthetic_frame(120, 4)
    return pipeline.run(frame, Settings(estimator="peer-bayes", solver="greedy")).components


def test_components_round_trip_through_disk(comps, tmp_path):
    path, meta = tmp_path / "cache" / "components-x.npz", {"data": "ab", "estimator": "peer-bayes"}
    _save_components(path, meta, comps)
    back = _load_components(path, meta)
    assert back is not None
    for f in fields(comps):
        a, b = getattr(comps, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), f.name
        else:
            assert a == b, f.name


def test_components_of_another_key_are_not_loaded(comps, tmp_path):
    path = tmp_path / "components.npz"
    _save_components(path, {"data": "ab", "models": "m1"}, comps)
    assert _load_components(path, {"data": "ab", "models": "m2"}) is None
    assert _load_components(tmp_path / "missing.npz", {"data": "ab"}) is None
    path.write_bytes(b"not a zip")
    assert _load_components(path, {"data": "ab", "models": "m1"}) is None


def test_prewarm_starts_the_default_datas_warm_up(monkeypatch, tmp_path):
    """`python app.py` warms the caches of the demo population and the default scenario; a
    missing demo file or one that fails to load leaves it to the first session."""
    import hashlib

    from core.data import synthetic
    from ui import warmup
    from ui.state import DEFAULT_SETTINGS

    path = tmp_path / "demo" / "customers.parquet"
    monkeypatch.setattr("ui.data.DEMO_PATH", path)
    started: list[tuple[object, object]] = []
    monkeypatch.setattr(warmup, "job", lambda data, s: started.append((data, s)) or "job")
    assert warmup.prewarm() is None and not started  # no demo yet
    path.parent.mkdir()
    path.write_bytes(b"not parquet")
    assert warmup.prewarm() is None and not started  # a broken file: the session says why
    synthetic.write(path, 60, 3)
    assert warmup.prewarm() == "job"
    ((data, s),) = started
    assert s == DEFAULT_SETTINGS
    assert len(data.frame) == 60
    assert data.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def _labelled_cache_page() -> None:
    import streamlit as st

    from ui.cache import cached

    n = st.session_state.setdefault("n", 0)
    cached("test-slots", ("k", n), lambda progress: n, label="Working...")
    st.markdown("after")


def _position_of_after(at) -> int:
    return next(i for i, node in at.main.children.items() if getattr(node, "value", "") == "after")


def test_a_labelled_cache_hit_keeps_the_place_of_the_elements_after_it():
    """A miss leaves its emptied progress bar in the page; a hit must take the same place, or
    every element after it moves and the browser draws it all again (issue 19)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_labelled_cache_page).run()  # a miss
    miss = _position_of_after(at)
    at.run()  # the same key: a hit
    assert not at.exception and _position_of_after(at) == miss
    at.session_state["n"] = 1
    at.run()  # another key: a miss again
    assert _position_of_after(at) == miss


def _labelled_cache_asked_twice_page() -> None:
    import streamlit as st

    from ui.cache import cached

    n = st.session_state.setdefault("n", 0)
    for _ in range(3):  # a page asks for the components many times a run
        cached("test-slots-twice", ("k", n), lambda progress: n, label="Working...")
    st.markdown("after")


def test_a_labelled_cache_asked_again_in_the_same_run_draws_no_more_placeholders():
    """Only a run's first call for a key can miss, so only it leaves a placeholder: a page that
    asks for the components a dozen times a run has one, not a dozen (issue 19)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_labelled_cache_asked_twice_page).run()  # a miss, then hits
    assert not at.exception and _position_of_after(at) == 1
    at.run()  # hits only
    assert _position_of_after(at) == 1


def test_results_key_leaves_out_the_annealers_settings_only_when_another_solver_runs():
    """Tuning the schedule beside the exact journeys re-solves nothing; the annealed journeys,
    another weight or another seed are other results."""
    from ui.cache import results_key, scenario_key

    exact = Settings(solver="exact")
    tuned = exact.with_(schedule="linear", iters=900, restarts=3, t0=2.0, refine=False)
    assert results_key(tuned) == results_key(exact)
    assert scenario_key(tuned) != scenario_key(exact)  # the scenario itself did change
    anneal = exact.with_(solver="anneal")
    assert results_key(anneal.with_(schedule="linear")) != results_key(anneal)
    assert results_key(exact.with_(weights={"cltv": 2.0, "churn": 1.0, "satisfaction": 1.0})) != (
        results_key(exact)
    )
    assert results_key(exact.with_(seed=7)) != results_key(exact)


def test_the_warm_up_scores_the_demos_feedback_texts_and_nothing_else(tmp_path, monkeypatch):
    """The demo's texts are scored in the background (the Customer page's first writer is then
    a cache hit); another data file, or a demo without texts, gets no such step's work."""
    from core.data import synthetic
    from core.data.io import load
    from ui import warmup
    from ui.signals import _scored

    path = tmp_path / "demo" / "customers.parquet"
    path.parent.mkdir()
    synthetic.write(path, 60, 3)
    monkeypatch.setattr("ui.data.DEMO_PATH", path)
    data = load(path)
    assert warmup._feedback(data) is None  # no feedback file beside the demo
    synthetic.write(path, 60, 3, feedback=True)
    scored = warmup._feedback(data)
    assert scored is not None and len(scored) > 0
    feedback = synthetic.feedback_path(path)
    assert scored is _scored(str(feedback), feedback.stat().st_mtime)  # the page's cache entry
    other = tmp_path / "other.parquet"
    synthetic.write(other, 60, 3, feedback=True)
    assert warmup._feedback(load(other)) is None  # not the demo


def test_stepping_a_slider_through_many_values_keeps_what_was_built_ahead():
    """The Segments page caches its fit and its page once per minimum share: in their own pool,
    so a slider moved through many shares never evicts the segmentations built ahead."""
    from ui.cache import MAX_SLOTS, cached, peek

    cached("segments", ("built ahead",), lambda: "tables")
    for i in range(2 * MAX_SLOTS):
        cached("segments-fit", ("share", i), lambda i=i: i)
        cached("segments-page", ("share", i), lambda i=i: i)
    assert peek("segments", ("built ahead",)) == "tables"
    assert peek("segments-fit", ("share", 0)) is None  # the oldest steps went first


def test_the_warm_up_builds_the_other_segmentations_after_the_default_one(monkeypatch):
    from core.data.io import LoadedData
    from ui import segments, warmup
    from ui.state import DEFAULT_SETTINGS, SEGMENT_DEFAULTS

    called = []
    monkeypatch.setattr(segments, "prepare_segmentations", lambda *a: called.append(a) or 2)
    data = LoadedData.__new__(LoadedData)
    labels = [label for label, _ in warmup.steps(data, DEFAULT_SETTINGS)]
    assert labels.index("other segmentations") == labels.index("segments") + 1
    step = dict(warmup.steps(data, DEFAULT_SETTINGS))["other segmentations"]
    assert step() == 2 and called == [(data, DEFAULT_SETTINGS, SEGMENT_DEFAULTS)]


def _per_run_page() -> None:
    import streamlit as st

    from ui.cache import per_run

    calls = st.session_state.setdefault("calls", [])
    first = per_run("fact", "k", lambda: calls.append(1) or len(calls))
    again = per_run("fact", "k", lambda: calls.append(1) or len(calls))
    other = per_run("fact", "other", lambda: calls.append(1) or len(calls))
    st.write(f"{first} {again} {other}")


def test_per_run_computes_once_per_run_and_key_and_again_in_the_next_run():
    """The data file's modification time is looked up once per run, not once per cached view's
    call (issue 19), and never kept from one run to the next."""
    from streamlit.testing.v1 import AppTest

    from ui.cache import per_run

    at = AppTest.from_function(_per_run_page).run()
    assert not at.exception and at.markdown[0].value == "1 1 2"
    at.run()
    assert at.markdown[0].value == "3 3 4"  # a new run computes again
    calls = []
    assert [per_run("x", 1, lambda: calls.append(1)) for _ in range(2)] == [None, None]
    assert len(calls) == 2  # outside a script run: no memo
