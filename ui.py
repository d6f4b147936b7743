"""The only Streamlit glue: session-state keys, init_state(), cached wrappers over core, widgets.

Pages import from here, never from each other; core never imports streamlit.

The scenario (a frozen :class:`core.pipeline.Settings`) lives in session state under
:data:`SETTINGS` and is mirrored to ``st.query_params`` so a URL reproduces the view. Expensive
work (model training, opportunity components) is cached per data sha256 + catalog + estimator +
seed; a weight change only recombines the cached components (milliseconds) and re-optimizes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import pipeline
from core.errors import CJOError
from core.io import Limits, LoadedData, load
from core.pipeline import Settings

ROOT = Path(__file__).resolve().parent
DEMO_PATH = ROOT / "data" / "demo" / "customers.parquet"
MODELS_DIR = ROOT / "models"  # trusted artifacts only; never a user folder
UPLOAD_LIMITS = Limits(max_bytes=200 * 1024 * 1024, max_rows=2_000_000, max_columns=300)
CACHE_TTL = 3600  # seconds

# session-state keys
SOURCE = "source"  # {"kind": "demo" | "upload" | "path", "name": str, "bytes"?: bytes}
DATA_ERROR = "data_error"
SETTINGS = "settings"  # the current scenario (core.pipeline.Settings)
MAPPING = "mapping"  # user column mapping {"columns": {...}, "values": {...}} or None

#: One colour per product key, used by every chart (unknown keys fall back to GREYS).
PALETTE: dict[str, str] = {
    "offer": "#1f5fa8",
    "phone": "#e07b39",
    "internet": "#2a9d8f",
    "device_protection": "#8e5ea2",
    "tech_support": "#d1495b",
    "multiple_lines": "#f2b134",
    "online_security": "#4c956c",
    "online_backup": "#6c8ebf",
    "streaming_tv": "#b56576",
    "streaming_movies": "#7f5539",
    "streaming_music": "#5e548e",
    "unlimited_data": "#3d5a80",
}
GREYS = ("#7a8696", "#9aa5b1", "#5c6773")
FACTOR_COLOURS = {"cltv": "#1f5fa8", "churn": "#d1495b", "satisfaction": "#2a9d8f"}
FACTOR_LABELS = {"cltv": "CLTV", "churn": "Churn risk", "satisfaction": "Satisfaction"}


# --------------------------------------------------------------------------------------------
# state
# --------------------------------------------------------------------------------------------


def init_state() -> None:
    """Set defaults so every page also runs on its own."""
    st.session_state.setdefault(SOURCE, {"kind": "demo", "name": "Synthetic demo population"})
    st.session_state.setdefault(DATA_ERROR, None)
    st.session_state.setdefault(MAPPING, None)
    if SETTINGS not in st.session_state:
        st.session_state[SETTINGS] = settings_from_query(st.query_params.to_dict())


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
        return Settings(**values)
    except (CJOError, TypeError, ValueError):
        return Settings()


def query_from_settings(s: Settings) -> dict[str, str]:
    """The query params of a scenario: only what differs from the defaults (short URLs)."""
    default, out = Settings().to_dict(), {}
    current = s.to_dict()
    for name, (fieldname, _, fmt) in _QUERY.items():
        if current[fieldname] != default[fieldname]:
            out[name] = fmt(current[fieldname])
    return out


def settings() -> Settings:
    """The current scenario (session state; defaults from the URL on first run)."""
    init_state()
    return st.session_state[SETTINGS]


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


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


@st.cache_data(max_entries=4, ttl=CACHE_TTL, show_spinner="Loading and validating the data...")
def _load_path(path: str, mtime: float, mapping: dict | None = None) -> LoadedData:
    return load(path, mapping=mapping)


@st.cache_data(max_entries=2, ttl=CACHE_TTL, show_spinner="Validating the upload...")
def _load_bytes(data: bytes, name: str, mapping: dict | None = None) -> LoadedData:
    return load(data, name=name, limits=UPLOAD_LIMITS, mapping=mapping)


def ensure_demo() -> Path:
    """Generate the demo population if it is absent (``make run`` normally did it already)."""
    if not DEMO_PATH.exists():
        from core import synthetic

        with st.spinner("Generating the synthetic demo population (first start)..."):
            DEMO_PATH.parent.mkdir(parents=True, exist_ok=True)
            synthetic.write(DEMO_PATH, 7043, 42)
    return DEMO_PATH


def current_data() -> LoadedData | None:
    """The validated data of the current source, or None with the error stored for display."""
    init_state()
    src: dict[str, Any] = st.session_state[SOURCE]
    mapping = st.session_state[MAPPING] if src["kind"] != "demo" else None
    try:
        if src["kind"] == "upload":
            data = _load_bytes(src["bytes"], src["name"], mapping)
        else:
            path = ensure_demo() if src["kind"] == "demo" else Path(src["name"])
            mtime = path.stat().st_mtime if path.exists() else 0.0
            data = _load_path(str(path), mtime, mapping)
        st.session_state[DATA_ERROR] = None
        return data
    except CJOError as exc:
        st.session_state[DATA_ERROR] = exc
        return None


def require_data() -> LoadedData:
    """The current data, or the error box and ``st.stop()`` (pages call this first)."""
    data = current_data()
    if data is None:
        show_error(st.session_state[DATA_ERROR])
        st.page_link("pages/data.py", label="Fix the data source", icon=":material/table:")
        st.stop()
    return data


def show_error(exc: CJOError) -> None:
    """One clear error box (and the failure table when there is one); never a traceback."""
    st.error(str(exc), icon=":material/error:")
    failures = getattr(exc, "failures", None)
    if failures is not None and len(failures):
        st.dataframe(pd.DataFrame(failures), hide_index=True, width="stretch")


def guarded(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; a CJOError becomes the error box and stops the page (never a traceback)."""
    try:
        return fn()
    except CJOError as exc:
        show_error(exc)
        st.stop()


# --------------------------------------------------------------------------------------------
# bounded caches for long work that shows progress
# --------------------------------------------------------------------------------------------


@dataclass
class _Slot:
    """A cache entry filled outside the cached function, so progress bars are not replayed."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _slot(kind: str, key: tuple) -> _Slot:
    return _Slot()


def _cached(kind: str, key: tuple, compute: Callable[[], Any]) -> Any:
    slot = _slot(kind, key)
    if slot.value is None:
        with slot.lock:
            if slot.value is None:
                slot.value = compute()
    return slot.value


def _progress_bar(text: str) -> tuple[Any, Callable[[float, float], None]]:
    bar = st.progress(0.0, text=text)

    def tick(done: float, total: float) -> None:
        bar.progress(min(max(done / total if total else 1.0, 0.0), 1.0), text=text)

    return bar, tick


def models_dir(data: LoadedData, catalog: str) -> Path:
    """Trusted folder of the models trained on this data and catalog."""
    name = Path(catalog).stem if catalog.endswith(".toml") else catalog
    return MODELS_DIR / f"{data.sha256[:16]}-{name}"


def trained_models(data: LoadedData | None = None, s: Settings | None = None) -> Any:
    """Key-factor and acceptance models for the data and catalog (trained once, on disk)."""
    from core.train import load_or_train

    data = data or require_data()
    s = s or settings()

    def compute() -> Any:
        cat = pipeline.resolve_catalog(s.catalog, list(data.frame.columns))
        bar, tick = _progress_bar("Training the models on this data (first start only)...")
        try:
            return load_or_train(
                data.frame, models_dir(data, s.catalog), data.sha256, cat, progress=tick
            )
        finally:
            bar.empty()

    return _cached("models", (data.sha256, s.catalog), compute)


def context_and_components() -> tuple[pipeline.Context, Any, Any]:
    """(Context, Components, TrainedModels) of the current data and scenario.

    Cached per data sha256 + catalog + estimator + seed; the first computation shows a progress
    bar (training the models on first start; they are then loaded from ``models/``).
    """
    data = require_data()
    s = settings()

    def compute() -> tuple[pipeline.Context, Any, Any]:
        trained = trained_models(data, s)
        ctx = pipeline.Context(
            catalog=pipeline.resolve_catalog(s.catalog, list(data.frame.columns)),
            models=trained.key_factors,
            acceptance=trained.acceptance,
        )
        bar, tick = _progress_bar(f"Estimating the opportunity of every offer ({s.estimator})...")
        try:
            comps = pipeline.components_for(data.frame, s, ctx, progress=tick)
        finally:
            bar.empty()
        return ctx, comps, trained

    key = (data.sha256, s.catalog, s.estimator, s.seed)
    return guarded(lambda: _cached("components", key, compute))


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _propensity(sha: str, catalog: str, _frame: pd.DataFrame, _ctx: pipeline.Context) -> np.ndarray:
    return pipeline.propensity_for(_frame, _ctx)


def propensity() -> np.ndarray | None:
    """Acceptance propensity [n, P] when the scenario uses it, else None."""
    s = settings()
    if not s.propensity:
        return None
    data = require_data()
    ctx, _, _ = context_and_components()
    return _propensity(data.sha256, s.catalog, data.frame, ctx)


@dataclass(frozen=True, eq=False)
class Outcome:
    """The current scenario's journeys: problem, solver result and the journey table."""

    settings: Settings
    problem: Any
    result: Any
    table: pd.DataFrame
    seconds: float


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _outcome(
    sha: str, settings_json: str, _s: Settings, _ctx: Any, _comps: Any, _prop: Any
) -> Outcome:
    t = time.perf_counter()
    problem = pipeline.problem_for(_comps, _ctx.catalog, _s, _prop)
    result = pipeline.optimize(problem, _s, components=_comps)
    table = pipeline.journeys_table(result, problem, _comps, _s, _ctx.catalog, _prop)
    return Outcome(_s, problem, result, table, time.perf_counter() - t)


def _key(s: Settings) -> str:
    import json

    return json.dumps(s.to_dict(), sort_keys=True)


def outcome(s: Settings | None = None) -> Outcome:
    """Journeys of the current (or given) scenario, cached per data and settings."""
    s = s or settings()
    data = require_data()
    ctx, comps, _ = context_and_components()
    prop = propensity() if s.propensity else None
    return guarded(lambda: _outcome(data.sha256, _key(s), s, ctx, comps, prop))


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _baselines(sha: str, settings_json: str, _s: Settings, _problem: Any, _comps: Any) -> dict:
    out = {}
    for name in pipeline.DEFAULT_BASELINES:
        out[name] = pipeline.optimize(_problem, _s, solver=name, components=_comps)
    return out


def baselines(s: Settings | None = None) -> dict[str, Any]:
    """The study's baselines and greedy on the current problem: {name: JourneyResult}."""
    s = s or settings()
    data = require_data()
    _, comps, _ = context_and_components()
    out = outcome(s)
    return guarded(lambda: _baselines(data.sha256, _key(s), s, out.problem, comps))


def best_baseline(s: Settings | None = None) -> tuple[str, Any]:
    """(name, result) of the baseline with the highest total opportunity."""
    base = baselines(s)
    name = max(base, key=lambda k: float(base[k].scores.sum()))
    return name, base[name]


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _report(sha: str, settings_json: str, _s: Settings, _out: Outcome, _comps: Any) -> dict:
    return pipeline.report(_out.result, _out.problem, _s, components=_comps, verify="exact")


def report(s: Settings | None = None) -> dict[str, Any]:
    """core.pipeline.report with ``verify="exact"`` for the current scenario."""
    s = s or settings()
    data = require_data()
    _, comps, _ = context_and_components()
    out = outcome(s)
    return guarded(lambda: _report(data.sha256, _key(s), s, out, comps))


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _churn_proba(sha: str, catalog: str, _frame: pd.DataFrame, _models: Any) -> np.ndarray:
    return np.asarray(_models.predict_factor(_frame, None, "churn"), dtype=float)


def churn_proba() -> np.ndarray | None:
    """Predicted churn probability per customer (None when the data has no churn outcome)."""
    data = require_data()
    _, _, trained = context_and_components()
    if trained is None or "churn" not in trained.key_factors.factors_:
        return None
    return _churn_proba(data.sha256, settings().catalog, data.frame, trained.key_factors)


# --------------------------------------------------------------------------------------------
# shared widgets and chart helpers
# --------------------------------------------------------------------------------------------


def bind(key: str, value: Any) -> str:
    """Seed widget ``key`` with ``value`` (from the scenario) unless the user just changed it.

    A widget bound this way follows the scenario when it changes elsewhere (a loaded scenario,
    a URL) and keeps the user's value otherwise. Returns ``key`` for ``st.slider(key=bind(...))``.
    """
    marker = f"_bound_{key}"
    if key not in st.session_state or st.session_state.get(marker) != value:
        st.session_state[key] = value
    st.session_state[marker] = value
    return key


def weight_sliders(prefix: str = "w", columns: bool = True) -> Settings:
    """The three factor-weight sliders, bound to the scenario; returns the updated settings."""
    s = settings()
    cols = st.columns(3) if columns else [st.container()] * 3
    helps = {
        "cltv": "How much a rise in customer lifetime value counts.",
        "churn": "How much a fall in churn risk counts.",
        "satisfaction": "How much a rise in satisfaction (1-5) counts.",
    }
    new = {}
    for col, factor in zip(cols, ("cltv", "churn", "satisfaction"), strict=True):
        key = bind(f"{prefix}_{factor}", float(s.weights[factor]))
        new[factor] = col.slider(
            f"Weight: {FACTOR_LABELS[factor]}", 0.0, 3.0, step=0.1, key=key, help=helps[factor]
        )
    return update_settings(weights=new)


def product_colour(key: str, i: int = 0) -> str:
    return PALETTE.get(key, GREYS[i % len(GREYS)])


def colour_map(catalog: Any, by: str = "label") -> dict[str, str]:
    """{label or key: colour} for a catalog's products (plotly ``color_discrete_map``)."""
    names = catalog.labels if by == "label" else catalog.keys
    return {
        n: product_colour(k, i) for i, (n, k) in enumerate(zip(names, catalog.keys, strict=True))
    }


def style(fig: Any, height: int = 360) -> Any:
    """House look for plotly figures: white, compact margins, readable fonts."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        font={"size": 13},
        legend={"title": None},
        title={"font": {"size": 15}},
    )
    return fig


def intro(title: str, text: str) -> None:
    """Page title and the few plain sentences on what the page answers and how to read it."""
    st.title(title)
    st.markdown(text)


def sidebar() -> None:
    """The shared sidebar: data source, the scenario in one line, reset."""
    s = settings()
    with st.sidebar:
        st.caption(f"**Data:** {st.session_state[SOURCE]['name']}")
        w = s.weights
        st.caption(
            f"**Scenario:** {s.catalog} catalog, {s.estimator}, {s.solver}; weights CLTV "
            f"{w['cltv']:g}, churn {w['churn']:g}, satisfaction {w['satisfaction']:g}"
        )
        st.caption("The URL holds the scenario: copy it to share this view.")
        if s != Settings() and st.button("Reset scenario", icon=":material/restart_alt:"):
            set_settings(Settings())
            st.rerun()


# ---- secondary pages ----
