"""The dashboard's one cache for long work that shows its own progress, and its keys.

Data and models that Streamlit can cache directly use ``st.cache_data`` / ``st.cache_resource``
(always with ``max_entries`` and ``ttl``) next to the function they wrap. Work that draws a
progress bar while it runs (training the models, estimating the components, segmenting, the
RL lab ...) cannot: a cached function would replay its progress bar on every rerun. Such work
goes through :func:`cached`: a bounded, least-recently-used ``st.cache_resource`` of slots, each
filled once, under a lock, outside any cached function.

Keys are tuples of text and numbers; :func:`scenario_key` and :func:`json_key` turn settings
and options into canonical JSON text (:func:`core.common.jsonutil.canonical_json`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from core.common.jsonutil import canonical_json
from core.pipeline import Settings
from ui._base import CACHE_TTL

#: Slots kept at most (least recently used go first). Models and components are used on every
#: rerun, so the per-scenario views that come and go with the sliders are evicted before them.
MAX_SLOTS = 32


@dataclass
class _Slot:
    """A cache entry filled outside the cached function, so progress bars are not replayed."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    filled: bool = False
    value: Any = None


@st.cache_resource(max_entries=MAX_SLOTS, ttl=CACHE_TTL, show_spinner=False)
def _slot(kind: str, key: tuple[Hashable, ...]) -> _Slot:
    return _Slot()


def cached(kind: str, key: tuple[Hashable, ...], compute: Callable[[], Any]) -> Any:
    """``compute()`` once per ``(kind, key)``; later calls return the stored value.

    Parameters
    ----------
    kind
        What is cached (``"components"``, ``"segments"`` ...), so equal keys of different
        kinds do not collide.
    key
        Everything the value depends on, as text and numbers (data sha256, scenario key ...).
    compute
        The work; it may draw a progress bar. A CJOError it raises is not stored.
    """
    slot = _slot(kind, key)
    if not slot.filled:
        with slot.lock:
            if not slot.filled:
                slot.value = compute()
                slot.filled = True
    return slot.value


def peek(kind: str, key: tuple[Hashable, ...]) -> Any:
    """The value :func:`cached` stored for ``(kind, key)``, or None when not computed yet."""
    slot = _slot(kind, key)
    return slot.value if slot.filled else None


def scenario_key(s: Settings) -> str:
    """Cache key of a scenario: the canonical JSON of its settings."""
    return canonical_json(s.to_dict())


def json_key(value: Any) -> str:
    """Cache key of plain options (dicts, lists, text, numbers): their canonical JSON."""
    return canonical_json(value)
