"""Session state and URL binding: the state keys, init_state(), the scenario <-> query params.

The scenario (a frozen :class:`core.pipeline.Settings`) lives in session state under
:data:`SETTINGS` and is mirrored to ``st.query_params`` so a URL reproduces the view; the
segmentation options live under :data:`SEGMENTS` and in the ``segments`` query param. Widgets
follow the scenario through :func:`bind`. The router's helpers (:func:`ensure_router`,
:func:`mark_routed`) and the optional sign-in are here too: they are state of the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import pipeline
from core.common.errors import CJOError
from core.pipeline import Settings
from ui._base import show_error

# session-state keys
SOURCE = "source"  # {"kind": "demo" | "upload" | "path", "name": str, "bytes"?: bytes}
DATA_ERROR = "data_error"
ROUTED = "_routed"  # app.py's router has run in this session
SETTINGS = "settings"  # the current scenario (core.pipeline.Settings)
MAPPING = "mapping"  # user column mapping {"columns": {...}, "values": {...}} or None
SEGMENTS = "segments"  # {"method", "k": "auto" | int, "min_share", "names": {"id": name}}
SCENARIO_NAME = "scenario_name"  # the saved scenario the current settings were saved as/loaded from
VERIFY_RUN = "verify_run"  # id of a run whose settings were loaded for a re-run check
EXPORT = "export"  # the last prepared download (see ui.exports.prepare_export)
CURVES = "churn_curves"  # True once the user asked for the out-of-fold ROC / PR curves

#: The dashboard's default scenario. The exact solver is optimal and, on the shipped catalogs,
#: faster than annealing (seed: ~0.1 s, full: ~0.4 s for 7,043 customers), so a weight change
#: updates every journey well within a second; the Journeys page runs the annealer next to it.
DEFAULT_SETTINGS = Settings(solver="exact")
DEMO_SOURCE = {"kind": "demo", "name": "Synthetic demo population"}
SEGMENT_DEFAULTS: dict[str, Any] = {"method": "kmeans", "k": "auto", "min_share": 0.05, "names": {}}
SCENARIO_EXTRAS = ("segments", pipeline.RUN_KEY)  # saved keys beyond core.pipeline.Settings


# --------------------------------------------------------------------------------------------
# router, sign-in, defaults
# --------------------------------------------------------------------------------------------


def ensure_router() -> None:
    """Run every page through app.py's router, deep links included.

    On a freshly started server Streamlit treats the ``pages/`` folder as a v1 multipage app
    until ``st.navigation`` has run once, so a deep link (``/segments``) opened first would run
    the page without the router (no page config, no grouped navigation). Switch that fallback
    off and rerun: the rerun goes through app.py, whose ``st.navigation`` picks the page by URL.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the v1 fallback
        return
    if getattr(PagesManager, "uses_pages_directory", False) and not st.session_state.get(ROUTED):
        # only on a session's first run, which has no widget events a rerun could drop
        PagesManager.uses_pages_directory = False
        st.rerun()


def mark_routed() -> None:
    """Called by app.py on every run: this session has been through the router."""
    st.session_state[ROUTED] = True


def auth_configured() -> bool:
    """Whether sign-in (``st.login``, OIDC) is configured: an ``[auth]`` section in secrets."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all: sign-in is off (the default)
        return False


def require_sign_in() -> None:
    """When sign-in is configured, stop every page until the user has signed in."""
    if not auth_configured():
        return
    if not st.user.get("is_logged_in", False):
        st.title("Customer Journey Optimizer")
        st.write("This dashboard is shared by your team: sign in to continue.")
        st.button("Sign in", icon=":material/login:", on_click=st.login, type="primary")
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {st.user.get('email') or st.user.get('name') or 'user'}")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)


def init_state() -> None:
    """Set defaults (``setdefault``) so every page also runs on its own."""
    st.session_state.setdefault(SOURCE, dict(DEMO_SOURCE))
    st.session_state.setdefault(DATA_ERROR, None)
    st.session_state.setdefault(MAPPING, None)
    if SETTINGS not in st.session_state:
        st.session_state[SETTINGS] = settings_from_query(st.query_params.to_dict())
    if SEGMENTS not in st.session_state:
        st.session_state[SEGMENTS] = segments_from_query(st.query_params.get("segments"))
    st.session_state.setdefault(SCENARIO_NAME, None)
    st.session_state.setdefault(VERIFY_RUN, None)
    st.session_state.setdefault(EXPORT, None)
    st.session_state.setdefault(CURVES, False)


# --------------------------------------------------------------------------------------------
# scenario <-> URL
# --------------------------------------------------------------------------------------------


def _pairs(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, text.split(";")):
        key, _, value = part.partition(":")
        out[key] = float(value)
    return out


def _unpairs(values: dict[str, float]) -> str:
    return ";".join(f"{k}:{v:g}" for k, v in sorted(values.items()))


#: query-param name -> (Settings field, parse, format)
_QUERY: dict[str, tuple[str, Callable[[str], Any], Callable[[Any], str]]] = {
    "catalog": ("catalog", str, str),
    "estimator": ("estimator", str, str),
    "w": (
        "weights",
        lambda s: dict(
            zip(("cltv", "churn", "satisfaction"), map(float, s.split(",")), strict=True)
        ),
        lambda w: ",".join(f"{w[k]:g}" for k in ("cltv", "churn", "satisfaction")),
    ),
    "levers": ("levers", _pairs, _unpairs),
    "propensity": ("propensity", lambda s: s in ("1", "true"), lambda b: "1" if b else "0"),
    "aggregation": ("aggregation", str, str),
    "solver": ("solver", str, str),
    "schedule": ("schedule", str, str),
    "sp": ("schedule_params", _pairs, _unpairs),
    "t0": ("t0", str, lambda v: v if isinstance(v, str) else f"{v:g}"),
    "iters": ("iters", int, str),
    "restarts": ("restarts", int, str),
    "seed": ("seed", int, str),
    "refine": ("refine", lambda s: s not in ("0", "false"), lambda b: "1" if b else "0"),
    "risk": ("risk", str, str),
    "level": ("risk_level", float, lambda v: f"{v:g}"),
    "conf": ("confounding", float, lambda v: f"{v:g}"),
    "campaign": ("campaign", str, str),
}


def settings_from_query(params: dict[str, str]) -> Settings:
    """Settings from URL query params (unknown or malformed values fall back to defaults)."""
    values: dict[str, Any] = {}
    for name, (fieldname, parse, _) in _QUERY.items():
        if name in params:
            try:
                values[fieldname] = parse(params[name])
            except (TypeError, ValueError):
                continue
    try:
        return Settings.from_dict({**DEFAULT_SETTINGS.to_dict(), **values})
    except (CJOError, TypeError, ValueError):
        return DEFAULT_SETTINGS


def query_from_settings(s: Settings) -> dict[str, str]:
    """The query params of a scenario: only what differs from the defaults (short URLs)."""
    default, out = DEFAULT_SETTINGS.to_dict(), {}
    current = s.to_dict()
    for name, (fieldname, _, fmt) in _QUERY.items():
        if current[fieldname] != default[fieldname]:
            out[name] = fmt(current[fieldname])
    return out


def settings() -> Settings:
    """The current scenario (session state; from the URL on first run, else DEFAULT_SETTINGS)."""
    init_state()
    s: Settings = st.session_state[SETTINGS]
    return s


def set_settings(s: Settings) -> None:
    """Make ``s`` the current scenario and mirror it to the URL query string."""
    st.session_state[SETTINGS] = s
    wanted = query_from_settings(s)
    current = st.query_params.to_dict()
    if any(current.get(k) != v for k, v in wanted.items()) or any(
        k in current and k not in wanted for k in _QUERY
    ):
        for k in _QUERY:
            if k in current and k not in wanted:
                del st.query_params[k]
        st.query_params.update(wanted)


def update_settings(**changes: Any) -> Settings:
    """``set_settings(settings().with_(**changes))``; a CJOError is shown, the old kept."""
    s = settings()
    try:
        new = s.with_(**changes)
    except CJOError as exc:
        show_error(exc)
        return s
    if new != s:
        set_settings(new)
    return new


def bind(key: str, value: Any) -> str:
    """Seed widget ``key`` with ``value`` (from the scenario) unless the user just changed it.

    A widget bound this way follows the scenario when it changes elsewhere (a loaded scenario,
    a URL, another page's widget) and keeps the user's value when they just moved it: the
    marker remembers what the widget held at the end of the previous run. Returns ``key`` for
    ``st.slider(key=bind(...))``.
    """
    marker = f"_bound_{key}"
    if key not in st.session_state:
        st.session_state[key] = value
    elif st.session_state[key] == st.session_state.get(marker) and st.session_state[key] != value:
        st.session_state[key] = value  # unchanged by the user, changed elsewhere: follow
    st.session_state[marker] = st.session_state[key]
    return key


# --------------------------------------------------------------------------------------------
# segmentation options <-> URL
# --------------------------------------------------------------------------------------------


def segments_from_query(text: str | None) -> dict[str, Any]:
    """``method:k:min_share`` (the ``segments`` query param) -> options; bad text -> defaults."""
    if not text:
        return dict(SEGMENT_DEFAULTS)
    from core.insights.segments import METHODS

    try:
        method, k, share = text.split(":")
        n_segments: int | str = k if k == "auto" else int(k)
        min_share = float(share)
    except ValueError:
        return dict(SEGMENT_DEFAULTS)
    if method not in METHODS or not 0 <= min_share < 0.5:
        return dict(SEGMENT_DEFAULTS)
    return {"method": method, "k": n_segments, "min_share": min_share, "names": {}}


def set_segments(opts: dict[str, Any]) -> None:
    """Keep the segmentation in session state and its method, k and share in the URL."""
    st.session_state[SEGMENTS] = opts
    text = f"{opts['method']}:{opts['k']}:{opts['min_share']:g}"
    default = SEGMENT_DEFAULTS
    if text == f"{default['method']}:{default['k']}:{default['min_share']:g}":
        st.query_params.pop("segments", None)
    elif st.query_params.get("segments") != text:
        st.query_params["segments"] = text


def segment_options() -> dict[str, Any]:
    """The segmentation of the scenario: method, k, minimum share and the user's names."""
    init_state()
    return dict(st.session_state[SEGMENTS])


def set_segment_options(method: str, k: int | str, min_share: float) -> None:
    """Change the segmentation; the user's names are kept only while it stays the same."""
    old = segment_options()
    new = {"method": method, "k": k, "min_share": float(min_share)}
    names = old["names"] if all(old[f] == v for f, v in new.items()) else {}
    set_segments({**new, "names": names})


def curves_requested() -> bool:
    """Whether the user asked for the churn model's out-of-fold curves in this session."""
    init_state()
    return bool(st.session_state[CURVES])
