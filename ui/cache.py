"""The dashboard's one cache for long work that shows its own progress, its keys, and its disk tier.

Data and models that Streamlit can cache directly use ``st.cache_data`` / ``st.cache_resource``
(always with ``max_entries`` and ``ttl``) next to the function they wrap. Work that draws a
progress bar while it runs (training the models, estimating the components, segmenting, the
RL lab ...) cannot: a cached function would replay its progress bar on every rerun. Such work
goes through :func:`cached`: a bounded, least-recently-used ``st.cache_resource`` of slots, each
filled once, under a lock, outside any cached function. A slot also records the progress of the
work filling it, so the start-up warm-up (:mod:`ui.warmup`, a background thread) and a page
that needs the same value share one computation: the page shows the warm-up's progress bar
while it waits.

Keys are tuples of text and numbers; :func:`scenario_key` and :func:`json_key` turn settings
and options into canonical JSON text (:func:`core.common.jsonutil.canonical_json`);
:func:`problem_key` keeps only what defines the journey problem (not the solver).

What is expensive and depends only on the data, the models and the scenario's estimator (the
opportunity components) is also kept on disk next to the models (:func:`save_arrays`,
:func:`load_arrays`: ``.npz`` without pickles, plus a JSON sidecar), so a restarted server
starts warm.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from core.common.jsonutil import canonical_json
from core.pipeline import Settings
from ui._base import CACHE_TTL

#: Slots kept at most (least recently used go first). Models and components are used on every
#: rerun, so the per-scenario views that come and go with the sliders are evicted before them.
MAX_SLOTS = 32
#: Settings that define the journey problem (:func:`core.pipeline.problem_for`) and the
#: baselines run on it; the solver and its schedule do not.
PROBLEM_FIELDS = (
    "catalog",
    "estimator",
    "weights",
    "levers",
    "propensity",
    "aggregation",
    "seed",
    "model_preset",
    "risk",
    "risk_level",
    "confounding",
)
_POLL = 0.1  # seconds between two looks at a slot another thread is filling


@dataclass
class _Slot:
    """A cache entry filled outside the cached function, so progress bars are not replayed."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    filled: bool = False
    value: Any = None
    done: float = 0.0  # progress of the work filling it, in [0, 1]


#: Kinds of long-lived values every page needs (kept in their own, smaller pool, so that the
#: per-scenario values that come and go with the sliders never evict them).
LONG_LIVED = frozenset({"models", "components", "segments-memo", "ceiling", "curves", "rl-env"})


@st.cache_resource(max_entries=MAX_SLOTS, ttl=CACHE_TTL, show_spinner=False)
def _short_slot(kind: str, key: tuple[Hashable, ...]) -> _Slot:
    return _Slot()


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _long_slot(kind: str, key: tuple[Hashable, ...]) -> _Slot:
    return _Slot()


#: Kinds cached once per value of a slider (the Segments page's minimum share: its fit and its
#: page): their own pool, so stepping a slider through many values never evicts what the pages
#: built ahead (:func:`ui.segments.prepare_segmentations`) or other pages' values.
PER_STEP = frozenset({"segments-fit", "segments-page"})


@st.cache_resource(max_entries=MAX_SLOTS, ttl=CACHE_TTL, show_spinner=False)
def _step_slot(kind: str, key: tuple[Hashable, ...]) -> _Slot:
    return _Slot()


def _slot(kind: str, key: tuple[Hashable, ...]) -> _Slot:
    # looked up once per run: a page asks for the components a dozen times a run, and each
    # st.cache_resource lookup hashes its arguments again
    pool = _step_slot if kind in PER_STEP else _long_slot if kind in LONG_LIVED else _short_slot
    slot: _Slot = per_run("slot", (kind, key), lambda: pool(kind, key))
    return slot


def in_script() -> bool:
    """Whether the caller runs a page (a script thread), not a background thread."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


def _fill(slot: _Slot, compute: Callable[..., Any], label: str | None) -> None:
    """Fill ``slot`` (its lock held); with ``label``, ``compute(progress)`` reports into it."""
    if label is None:
        slot.value = compute()
        slot.filled = True
        return
    bar = st.progress(0.0, text=label) if in_script() else None

    def tick(done: float, total: float) -> None:
        slot.done = min(max(done / total if total else 1.0, 0.0), 1.0)
        if bar is not None:
            bar.progress(slot.done, text=label)

    try:
        slot.value = compute(tick)
        slot.filled = True
    finally:
        if bar is not None:
            bar.empty()


def _wait(slot: _Slot, label: str) -> None:
    """Wait for another thread to fill ``slot``, showing its progress when a page waits."""
    bar = st.progress(slot.done, text=f"{label} (under way)") if in_script() else None
    try:
        while slot.lock.locked() and not slot.filled:
            time.sleep(_POLL)
            if bar is not None:
                bar.progress(slot.done, text=f"{label} (under way)")
    finally:
        if bar is not None:
            bar.empty()


def cached(
    kind: str, key: tuple[Hashable, ...], compute: Callable[..., Any], *, label: str | None = None
) -> Any:
    """``compute()`` once per ``(kind, key)``; later calls return the stored value.

    Parameters
    ----------
    kind
        What is cached (``"components"``, ``"segments"`` ...), so equal keys of different
        kinds do not collide.
    key
        Everything the value depends on, as text and numbers (data sha256, scenario key ...).
    compute
        The work. With ``label`` it is called as ``compute(progress)``, ``progress(done,
        total)`` (:class:`core.common.progress.Progress`), and must not draw anything itself.
        A CJOError it raises is not stored.
    label
        Text of the progress bar a page shows while the work runs (or while it waits for the
        warm-up or another session doing the same work). The emptied bar stays in the page as
        an empty element, and a hit draws one too: the page has the same elements either way.
    """
    slot = _slot(kind, key)
    # A miss leaves its emptied progress bar in the page: a hit takes that place too, so the
    # elements after it keep theirs and the browser does not draw them again. Only the first
    # call of a run for a key can miss (the later ones wait for it), so only the first one
    # draws: a page asking for the components a dozen times a run has one placeholder.
    first = label is not None and in_script() and _first_in_run(kind, key)
    if slot.filled and first:
        st.empty()
    while not slot.filled:
        if slot.lock.acquire(blocking=label is None):
            try:
                if not slot.filled:
                    _fill(slot, compute, label)
            finally:
                slot.lock.release()
        elif label is not None:
            _wait(slot, label)  # then fill it here if the other thread failed
    return slot.value


def _first_in_run(kind: str, key: tuple[Hashable, ...]) -> bool:
    """Whether this is the run's first :func:`cached` call for ``(kind, key)`` (a script only)."""
    calls: list[int] = per_run("calls", (kind, key), list)
    calls.append(1)
    return len(calls) == 1


def per_run(kind: str, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per script run and ``(kind, key)``; outside a script, every call.

    For cheap facts a page asks for many times in one run (a data file's modification time:
    ``ui.data.current_data`` runs on every cached view's call) and that must not go stale
    across runs. The memo lives on the run's context and is dropped when Streamlit starts the
    next run (or enters a fragment rerun: ``ScriptRunContext.cursors`` is a new dict then).
    Nothing is drawn, so the page's elements are the same either way.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    run = getattr(ctx, "cursors", None)
    if ctx is None or run is None:
        return compute()
    memo = getattr(ctx, "_cjo_per_run", None)
    if memo is None or memo[0] is not run:  # a new run: the old memo is gone
        memo = (run, {})
        ctx._cjo_per_run = memo  # type: ignore[attr-defined]
    values: dict[tuple[str, Hashable], Any] = memo[1]
    if (kind, key) not in values:
        values[kind, key] = compute()
    return values[kind, key]


def peek(kind: str, key: tuple[Hashable, ...]) -> Any:
    """The value :func:`cached` stored for ``(kind, key)``, or None when not computed yet."""
    slot = _slot(kind, key)
    return slot.value if slot.filled else None


def scenario_key(s: Settings) -> str:
    """Cache key of a scenario: the canonical JSON of its settings."""
    return canonical_json(s.to_dict())


#: Settings only the annealer reads (:meth:`core.pipeline.Settings.solver_options`).
ANNEAL_FIELDS: tuple[str, ...] = (
    "schedule",
    "schedule_params",
    "t0",
    "iters",
    "restarts",
    "refine",
)


def results_key(s: Settings) -> str:
    """Cache key of what a scenario's solver computes (journeys, their table, flows, baselines,
    judgement): :func:`scenario_key`, but with the annealer's settings at their defaults when
    another solver runs, so tuning the schedule beside the exact journeys re-solves nothing."""
    if s.solver == "anneal":
        return scenario_key(s)
    return scenario_key(s.with_(**{f: getattr(Settings(), f) for f in ANNEAL_FIELDS}))


def problem_key(s: Settings) -> str:
    """Cache key of a scenario's journey problem: :data:`PROBLEM_FIELDS` of its settings."""
    d = s.to_dict()
    return canonical_json({k: d[k] for k in PROBLEM_FIELDS})


def json_key(value: Any) -> str:
    """Cache key of plain options (dicts, lists, text, numbers): their canonical JSON."""
    return canonical_json(value)


# --------------------------------------------------------------------------------------------
# disk tier: arrays next to the trusted models
# --------------------------------------------------------------------------------------------


def save_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` to ``path`` (``.npz``, no pickles) and ``meta`` beside it, atomically.

    ``meta`` (JSON) should hold everything a later reader must check (the key the arrays were
    computed for); :func:`load_arrays` returns them only when it matches.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    side = path.with_suffix(".json")
    side_tmp = side.with_suffix(".json.tmp")
    side_tmp.write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    os.replace(side_tmp, side)


def load_arrays(path: Path, meta: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict] | None:
    """Arrays saved by :func:`save_arrays` when their sidecar holds ``meta``, else None.

    Returns ``(arrays, sidecar)``; a missing, unreadable or mismatched file is None (the caller
    computes the arrays again), never an error.
    """
    side = path.with_suffix(".json")
    try:
        stored = json.loads(side.read_text(encoding="utf-8"))
        if any(stored.get(k) != v for k, v in meta.items()):
            return None
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}, stored
    except (OSError, ValueError, KeyError):
        return None
