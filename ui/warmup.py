"""Warm the caches in the background as soon as a session starts, with a progress indicator.

The first session of a data file and scenario starts a daemon thread that fills, in the order
the pages need them, the same caches the pages read (:mod:`ui.cache`, :mod:`ui.pipeline`):
the opportunity components (from disk after the first start), the churn predictions, the
default journeys and their baselines, the trained models, the annealer's report, the journeys
table, the default segmentation, the other segmentations its minimum share can choose and the
demo's feedback texts. A page that needs a value the warm-up is computing waits for it with the
warm-up's own progress bar (:func:`ui.cache.cached`); the sidebar shows the warm-up's progress
(:func:`warm_up`) until it is done, then the page reruns once.

When it is done the warm-up freezes the garbage collector's view of everything loaded so far
(``gc.freeze``): the models, frames and caches are never collected, and a collection no
longer walks them (with ``runner.postScriptGC`` off in ``.streamlit/config.toml``, this keeps
Python's own collections from adding ~0.2 s to a rerun).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from core.common.errors import CJOError
from core.data.io import LoadedData
from core.pipeline import Settings
from ui import background
from ui._base import CACHE_TTL
from ui.cache import scenario_key
from ui.state import SEGMENT_DEFAULTS

_LOG = logging.getLogger(__name__)
#: Seconds between two refreshes of the sidebar's progress indicator.
REFRESH = 0.5
#: Steps the first page needs; the rest waits until a page has been drawn (or this long, in
#: seconds), so the warm-up never slows the first page down.
FIRST_STEPS = 5
PAGE_WAIT = 20.0
_PAGE_DONE = threading.Event()


def page_done() -> None:
    """Called by the router after a page has run: the warm-up may go on with the rest."""
    _PAGE_DONE.set()


@dataclass
class Job:
    """One warm-up: its steps, how far it got and what failed (never raised)."""

    steps: list[tuple[str, Callable[[], Any]]]
    done: int = 0
    current: str = ""
    finished: bool = False
    errors: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def fraction(self) -> float:
        return self.done / len(self.steps) if self.steps else 1.0

    def start(self) -> None:
        """Start the thread once."""
        with self.lock:
            if self.thread is None:
                self.thread = background.start(self._run, "cjo-warm-up")

    def _run(self) -> None:
        for i, (label, step) in enumerate(self.steps):
            if i == FIRST_STEPS:
                background.wait(_PAGE_DONE, PAGE_WAIT)
            if background.stopping():  # the process is exiting: no new step
                break
            self.current = label
            try:
                step()
            except (CJOError, Exception) as exc:  # the page computes it again and shows it
                self.errors.append(f"{label}: {exc}")
                _LOG.info("warm-up step %r failed: %s", label, exc)
            self.done += 1
        gc.collect()
        gc.freeze()
        self.current = ""
        self.finished = True


def steps(data: LoadedData, s: Settings) -> list[tuple[str, Callable[[], Any]]]:
    """What the warm-up computes for ``data`` and ``s``, in the order the pages need it."""
    from ui import pipeline
    from ui.pipeline import annealer_check, baselines, components, outcome, solved

    anneal = s.with_(solver="anneal")
    out: list[tuple[str, Callable[[], Any]]] = [
        ("opportunity estimates", lambda: components(data, s)),
        ("churn predictions", lambda: pipeline.churn_proba(data, s)),
        ("journeys", lambda: solved(s, data)),
        ("baselines", lambda: baselines(s, data=data)),
        ("journeys table", lambda: outcome(s, data)),
        ("trained models", lambda: pipeline.trained(data, s)),
        ("annealer", lambda: annealer_check(anneal, data, reuse_exact=s.solver == "exact")),
        ("segments", lambda: _segments(data, s)),
        ("other segmentations", lambda: _other_segments(data, s)),
        ("feedback texts", lambda: _feedback(data)),
    ]
    return out


def _feedback(data: LoadedData) -> Any:
    """The demo's feedback texts scored (the Customer page's first view of a writer): only for
    the demo population, whose file sits at a known place (an uploaded table's siblings are
    found from the session's source, which a background thread does not have)."""
    from ui.data import DEMO_PATH
    from ui.signals import _scored

    path = DEMO_PATH.with_name(f"{DEMO_PATH.stem}.feedback.parquet")
    if data.source != DEMO_PATH.name or not DEMO_PATH.is_file() or not path.is_file():
        return None
    return _scored(str(path), path.stat().st_mtime)


def _segments(data: LoadedData, s: Settings) -> Any:
    """The default segmentation (the Segments page's first view)."""
    from ui.segments import segments_base

    return segments_base(data, s, SEGMENT_DEFAULTS)


def _other_segments(data: LoadedData, s: Settings) -> Any:
    """The other segmentations the Segments page's minimum share can choose, built ahead."""
    from ui.segments import prepare_segmentations

    if not background.ahead():
        return None
    return prepare_segmentations(data, s, SEGMENT_DEFAULTS)


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _job(sha: str, settings_json: str, _data: LoadedData, _s: Settings) -> Job:
    return Job(steps(_data, _s))


def job(data: LoadedData, s: Settings) -> Job:
    """The warm-up of ``data`` and ``s`` (started when first asked for)."""
    found = _job(data.sha256, scenario_key(s), data, s)
    found.start()
    return found


def prewarm() -> Job | None:
    """Start the warm-up of the default data and scenario before any browser has connected.

    Called by ``python app.py`` (``make run``) in a thread of the server process once
    Streamlit's runtime exists, so the models, components and default journeys load while the
    browser is still fetching the page; the first session then finds them in the caches (or
    waits for the step in progress). Returns the job, or None when the default data is absent
    or fails to load (the first session then does it and shows why). Never raises.
    """
    from ui.data import DEMO_PATH, _load_path
    from ui.state import DEFAULT_SETTINGS

    # Streamlit warns once that this thread has no session: true, and harmless here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: threading.current_thread().name != "cjo-prewarm"
    )
    try:
        if not DEMO_PATH.exists():
            return None
        data = _load_path(str(DEMO_PATH), DEMO_PATH.stat().st_mtime, "")
        return job(data, DEFAULT_SETTINGS)
    except Exception as exc:  # the first session loads it again and shows the error
        _LOG.info("prewarm failed: %s", exc)
        return None


def warm_up(data: LoadedData | None, s: Settings) -> None:
    """Start warming the caches of ``data`` and ``s`` and, while it runs, show its progress.

    Called from the sidebar on every run; once the warm-up is done it draws nothing. While it
    runs, a small fragment refreshes the indicator every :data:`REFRESH` seconds and reruns
    the page once when the warm-up ends.
    """
    if data is None:
        return
    found = job(data, s)
    if found.finished:
        return

    @st.fragment(run_every=REFRESH)
    def status() -> None:
        if found.finished:
            st.rerun()
        st.progress(
            found.fraction,
            text=f"Preparing the dashboard in the background: {found.current or 'done'}...",
        )

    with st.container(key="cjo-warmup"):
        status()
