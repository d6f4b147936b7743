"""Saved scenarios: the store (core.ops.store), saving and loading a scenario by name.

A saved scenario holds the settings plus the segmentation and its names
(:func:`scenario_params`); loading one makes all of them current.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import streamlit as st

from core.common.errors import CJOError
from core.common.jsonutil import canonical_json
from core.pipeline import Settings
from ui._base import CACHE_TTL, guarded, show_error
from ui.state import (
    SCENARIO_EXTRAS,
    SCENARIO_NAME,
    SEGMENT_DEFAULTS,
    init_state,
    segment_options,
    set_segments,
    set_settings,
    settings,
)


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _store(url: str | None) -> Any:
    from core.ops.store import Store

    return Store(url)


def store() -> Any:
    """The scenario / run / export store (``JOURNEY_DB_URL`` or SQLite under data/)."""
    from core.ops.store import ENV_URL

    return guarded(lambda: _store(os.environ.get(ENV_URL) or None))


def scenario_params() -> dict[str, Any]:
    """What a saved scenario holds: the settings plus the segmentation and its names."""
    return {**settings().to_dict(), "segments": segment_options()}


def split_params(params: dict[str, Any]) -> tuple[Settings, dict[str, Any] | None]:
    """(Settings, segmentation or None) of saved parameters; a CJOError names bad keys."""
    p = dict(params)
    seg = p.pop("segments", None)
    for extra in SCENARIO_EXTRAS:
        p.pop(extra, None)
    return Settings.from_dict(p), seg


def save_scenario(name: str) -> Any:
    """Save the current scenario under ``name`` (a new revision when it exists)."""
    saved = guarded(lambda: store().save_scenario(name, scenario_params()))
    st.session_state[SCENARIO_NAME] = saved.name
    return saved


def load_scenario(name: str) -> Settings:
    """Make the saved scenario ``name`` current (settings, segmentation and names)."""
    saved = guarded(lambda: store().get_scenario(name))
    if saved is None:
        show_error(CJOError(f"No saved scenario called {name!r}; it may have been deleted."))
        st.stop()
    s, seg = guarded(lambda: split_params(saved.params))
    set_settings(s)
    if seg:
        names = {str(k): str(v) for k, v in (seg.get("names") or {}).items()}
        set_segments({**SEGMENT_DEFAULTS, **seg, "names": names})
    st.session_state[SCENARIO_NAME] = saved.name
    return s


def current_scenario_name() -> str | None:
    """The saved scenario the current view equals, or None (an unsaved, ad-hoc scenario)."""
    init_state()
    name = st.session_state[SCENARIO_NAME]
    if not name:
        return None
    saved = guarded(lambda: store().get_scenario(name))
    if saved is None or saved.params_json != canonical_json(scenario_params()):
        return None
    return str(saved.name)


def scenarios_frame(scenarios: list[Any]) -> pd.DataFrame:
    """Saved scenarios as a table (name, revision, updated, main settings)."""
    rows = []
    for sc in scenarios:
        p = sc.params
        w = p.get("weights") or {}
        rows.append(
            {
                "scenario": sc.name,
                "revision": sc.revision,
                "updated (UTC)": sc.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
                "catalog": p.get("catalog"),
                "estimator": p.get("estimator"),
                "solver": p.get("solver"),
                "weights": ", ".join(f"{k} {v:g}" for k, v in w.items()),
                "seed": p.get("seed"),
            }
        )
    return pd.DataFrame(rows)
