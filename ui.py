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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import pipeline
from core.common.errors import CJOError
from core.data.catalog import resolve_catalog
from core.data.io import Limits, LoadedData, load
from core.pipeline import Settings

ROOT = Path(__file__).resolve().parent
DEMO_PATH = ROOT / "data" / "demo" / "customers.parquet"
MODELS_DIR = ROOT / "models"  # trusted artifacts only; never a user folder
UPLOAD_LIMITS = Limits(max_bytes=200 * 1024 * 1024, max_rows=2_000_000, max_columns=300)
CACHE_TTL = 3600  # seconds

# session-state keys
SOURCE = "source"  # {"kind": "demo" | "upload" | "path", "name": str, "bytes"?: bytes}
DATA_ERROR = "data_error"
ROUTED = "_routed"  # app.py's router has run in this session
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

#: The dashboard's default scenario. The exact solver is optimal and, on the shipped catalogs,
#: faster than annealing (seed: ~0.1 s, full: ~0.4 s for 7,043 customers), so a weight change
#: updates every journey well within a second; the Journeys page runs the annealer next to it.
DEFAULT_SETTINGS = Settings(solver="exact")


# --------------------------------------------------------------------------------------------
# state
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
    "refine": ("refine", lambda s: s not in ("0", "false"), lambda b: "1" if b else "0"),
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


# cache_resource, not cache_data: the validated frame is shared read-only instead of being
# unpickled on every call (pages ask for the data several times per rerun). Keys are cheap:
# path + mtime, or the upload's sha256 (computed once); the payload itself is not hashed.
@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner="Loading and validating the data...")
def _load_path(path: str, mtime: float, mapping_json: str) -> LoadedData:
    return load(path, mapping=_mapping(mapping_json))


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner="Validating the upload...")
def _load_bytes(sha: str, name: str, mapping_json: str, _data: bytes) -> LoadedData:
    return load(_data, name=name, limits=UPLOAD_LIMITS, mapping=_mapping(mapping_json))


def _mapping(mapping_json: str) -> dict | None:
    import json

    return json.loads(mapping_json) if mapping_json else None


def ensure_demo() -> Path:
    """Generate the demo population if it is absent (``make run`` normally did it already)."""
    if not DEMO_PATH.exists():
        from core.data import synthetic

        with st.spinner("Generating the synthetic demo population (first start)..."):
            DEMO_PATH.parent.mkdir(parents=True, exist_ok=True)
            synthetic.write(DEMO_PATH, 7043, 42)
    return DEMO_PATH


def current_data() -> LoadedData | None:
    """The validated data of the current source, or None with the error stored for display."""
    init_state()
    src: dict[str, Any] = st.session_state[SOURCE]
    import hashlib
    import json

    mapping = st.session_state[MAPPING] if src["kind"] != "demo" else None
    mapping_json = json.dumps(mapping, sort_keys=True) if mapping else ""
    try:
        if src["kind"] == "upload":
            if "sha256" not in src:
                src["sha256"] = hashlib.sha256(src["bytes"]).hexdigest()
            data = _load_bytes(src["sha256"], src["name"], mapping_json, src["bytes"])
        else:
            path = ensure_demo() if src["kind"] == "demo" else Path(src["name"])
            mtime = path.stat().st_mtime if path.exists() else 0.0
            data = _load_path(str(path), mtime, mapping_json)
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


DATA_DIRS_ENV = "CJO_DATA_DIRS"  # os.pathsep-separated folders the server-path source may read


def data_dirs() -> list[Path]:
    """Folders a server path may point into (the project's data/ and ../shared/data)."""
    import os

    extra = [Path(p) for p in os.environ.get(DATA_DIRS_ENV, "").split(os.pathsep) if p]
    return [ROOT / "data", ROOT.parent / "shared" / "data", *extra]


def use_server_path(text: str) -> None:
    """Switch the source to a CSV/Parquet file on the server, inside :func:`data_dirs` only."""
    path = Path(text.strip()).expanduser().resolve()
    allowed = any(path.is_relative_to(d.resolve()) for d in data_dirs())
    if not allowed:
        raise CJOError(
            f"{text}: only files under {', '.join(str(d) for d in data_dirs())} can be read "
            f"from the server. Fix: copy the file there, or add its folder to {DATA_DIRS_ENV}."
        )
    if path.suffix.lower() not in (".csv", ".parquet", ".tsv", ".txt") or not path.is_file():
        raise CJOError(f"{text}: no CSV or Parquet file there. Fix: check the path.")
    st.session_state[SOURCE] = {"kind": "path", "name": str(path)}
    st.session_state[MAPPING] = None


@st.cache_data(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _raw_columns(kind: str, name: str, payload: bytes | None) -> list[str]:
    from core.data.io import read_table

    raw, _ = read_table(payload if payload is not None else name, name=name, limits=UPLOAD_LIMITS)
    return [str(c) for c in raw.columns]


def raw_columns() -> list[str]:
    """Column names of the current source as exported (for the mapping editor)."""
    src = st.session_state[SOURCE]
    return guarded(lambda: _raw_columns(src["kind"], src["name"], src.get("bytes")))


def guess_mapping(columns: list[str]) -> pd.DataFrame:
    """Mapping editor rows: each canonical column and the best-matching export column."""
    from core.data import schema

    def norm(x: str) -> str:
        return "".join(ch for ch in x.lower() if ch.isalnum())

    by_norm = {norm(c): c for c in columns}
    rows = []
    for col in schema.CANONICAL:
        rows.append(
            {
                "canonical column": col,
                "required": col in schema.REQUIRED,
                "your column": by_norm.get(norm(col)),
            }
        )
    return pd.DataFrame(rows)


def apply_mapping(editor: pd.DataFrame) -> None:
    """Store the editor's mapping for the current source (validated by core.data.mapping)."""
    from core.data.mapping import ColumnMapping

    pairs = {
        str(r["your column"]): str(r["canonical column"])
        for _, r in editor.iterrows()
        if isinstance(r["your column"], str) and r["your column"]
    }
    ColumnMapping.load({"columns": pairs})  # raises MappingError naming the problem
    st.session_state[MAPPING] = {"columns": pairs}


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


def prepare_models(path: Path | None = None, catalog: str | None = None) -> Path:
    """Train (or load) a data file's models where the app looks for them (``make run``)."""
    from core.models.train import load_or_train

    data = load(path or ensure_demo())
    s = DEFAULT_SETTINGS if catalog is None else DEFAULT_SETTINGS.with_(catalog=catalog)
    cat = resolve_catalog(s.catalog, list(data.frame.columns))
    folder = models_dir(data, s.catalog)
    load_or_train(data.frame, folder, data.sha256, cat, random_state=s.seed)
    return folder


def models_ready(data: LoadedData, s: Settings) -> bool:
    """Whether trained artifacts for this data and catalog are on disk (loading is quick)."""
    from core.models.train import ACCEPTANCE_FILE, KEY_FACTORS_FILE

    folder = models_dir(data, s.catalog)
    return (folder / KEY_FACTORS_FILE).is_file() and (folder / ACCEPTANCE_FILE).is_file()


def trained_models(data: LoadedData | None = None, s: Settings | None = None) -> Any:
    """Key-factor and acceptance models for the data and catalog (trained once, on disk)."""
    from core.models.train import load_or_train

    data = data or require_data()
    s = s or settings()

    def compute() -> Any:
        cat = resolve_catalog(s.catalog, list(data.frame.columns))
        bar, tick = _progress_bar("Training the models on this data (first start only)...")
        try:
            return load_or_train(
                data.frame, models_dir(data, s.catalog), data.sha256, cat, progress=tick
            )
        finally:
            bar.empty()

    return _cached("models", (data.sha256, s.catalog), compute)


def context_and_components() -> tuple[pipeline.Context, Any, Any]:
    """(Context, Components, TrainedModels or None) of the current data and scenario.

    The models are trained when the estimator or the propensity needs them, and loaded when
    they are already on disk; otherwise (peer-bayes, neighbours on new data) they are None.

    Cached per data sha256 + catalog + estimator + seed; the first computation shows a progress
    bar (training the models on first start; they are then loaded from ``models/``).
    """
    data = require_data()
    s = settings()

    def compute() -> tuple[pipeline.Context, Any, Any]:
        need = s.estimator == "counterfactual" or s.propensity or models_ready(data, s)
        trained = trained_models(data, s) if need else None
        ctx = pipeline.Context(
            catalog=resolve_catalog(s.catalog, list(data.frame.columns)),
            models=getattr(trained, "key_factors", None),
            acceptance=getattr(trained, "acceptance", None),
        )
        bar, tick = _progress_bar(f"Estimating the opportunity of every offer ({s.estimator})...")
        try:
            comps = pipeline.components_for(data.frame, s, ctx, progress=tick)
        finally:
            bar.empty()
        return ctx, comps, trained

    key = (data.sha256, s.catalog, s.estimator, s.seed)
    ctx, comps, trained = guarded(lambda: _cached("components", key, compute))
    if trained is None and models_ready(data, s):  # trained since (e.g. on the Models page)
        trained = guarded(lambda: trained_models(data, s))
        ctx = replace(ctx, models=ctx.models, acceptance=trained.acceptance)
    return ctx, comps, trained


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


class Outcome:
    """The current scenario's journeys: problem, solver result and (built on first use) the
    journey table, so pages that only need the scores do not pay for it."""

    def __init__(
        self, settings: Settings, problem: Any, result: Any, seconds: float, table_args: tuple
    ) -> None:
        self.settings, self.problem, self.result, self.seconds = settings, problem, result, seconds
        self._table_args = table_args
        self._lock = threading.Lock()
        self._table: pd.DataFrame | None = None

    @property
    def table(self) -> pd.DataFrame:
        """One row per customer and step (:func:`core.pipeline.journeys_table`)."""
        with self._lock:
            if self._table is None:
                comps, catalog, prop = self._table_args
                self._table = pipeline.journeys_table(
                    self.result, self.problem, comps, self.settings, catalog, prop
                )
            return self._table


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _outcome(
    sha: str, settings_json: str, _s: Settings, _ctx: Any, _comps: Any, _prop: Any
) -> Outcome:
    t = time.perf_counter()
    problem = pipeline.problem_for(_comps, _ctx.catalog, _s, _prop)
    result = pipeline.optimize(problem, _s, components=_comps)
    return Outcome(_s, problem, result, time.perf_counter() - t, (_comps, _ctx.catalog, _prop))


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


@st.cache_resource(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _baseline(
    sha: str, settings_json: str, name: str, _s: Settings, _problem: Any, _comps: Any
) -> Any:
    return pipeline.optimize(_problem, _s, solver=name, components=_comps)


def baselines(
    s: Settings | None = None, names: tuple[str, ...] = pipeline.DEFAULT_BASELINES
) -> dict[str, Any]:
    """The study's baselines and greedy on the current problem: {name: JourneyResult}."""
    s = s or settings()
    data = require_data()
    _, comps, _ = context_and_components()
    out = outcome(s)
    key = _key(s)
    return {
        n: guarded(lambda n=n: _baseline(data.sha256, key, n, s, out.problem, comps)) for n in names
    }


def best_baseline(
    s: Settings | None = None, names: tuple[str, ...] = pipeline.DEFAULT_BASELINES
) -> tuple[str, Any]:
    """(name, result) of the baseline with the highest total opportunity."""
    base = baselines(s, names)
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


@st.cache_data(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _journeys_csv(sha: str, settings_json: str, _table: pd.DataFrame) -> bytes:
    from core.ops.export import render

    data = render(_table, "csv").data
    assert data is not None
    return data


def journeys_csv(s: Settings | None = None) -> bytes:
    """The journey table as safe CSV (formula-neutralised, core.ops.export)."""
    s = s or settings()
    data = require_data()
    return _journeys_csv(data.sha256, _key(s), outcome(s).table)


# --------------------------------------------------------------------------------------------
# shared widgets and chart helpers
# --------------------------------------------------------------------------------------------


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


def solver_controls() -> Settings:
    """Solver and annealing-schedule widgets (schedule, T0 auto or manual, its parameters,
    iterations, restarts, seed), bound to the scenario; returns the updated settings."""
    from core.solvers import SOLVERS
    from core.solvers.schedules import DEFAULTS, SCHEDULES

    s = settings()
    c = st.columns([1.3, 1.3, 1, 1, 1, 1])
    solver = c[0].selectbox(
        "Solver",
        SOLVERS,
        key=bind("j_solver", s.solver),
        help="Which journeys every page uses: exact (optimal), anneal, greedy, greedy with "
        "local search, or the study's original annealer (seed-style).",
    )
    schedule = c[1].selectbox(
        "Schedule", SCHEDULES, key=bind("j_schedule", s.schedule), help="Annealing schedule."
    )
    auto = c[2].toggle("Auto T0", key=bind("j_auto", s.t0 == "auto"), help="From the data.")
    t0 = c[3].number_input(
        "T0",
        0.001,
        1e6,
        key=bind("j_t0", 1.0 if s.t0 == "auto" else float(s.t0)),
        disabled=auto,
        help="Initial temperature (when not automatic).",
    )
    iters = c[4].number_input("Iterations", 1, 20_000, key=bind("j_iters", s.iters))
    restarts = c[5].number_input("Restarts", 0, 20, key=bind("j_restarts", s.restarts))
    params = {}
    names = list(DEFAULTS[schedule])
    cols = st.columns(max(len(names), 1) + 2)
    for col, name in zip(cols, names, strict=False):
        params[name] = col.number_input(
            f"{schedule} · {name}",
            value=None,
            key=bind(f"j_sp_{schedule}_{name}", s.schedule_params.get(name)),
            placeholder=f"default {DEFAULTS[schedule][name]:g}",
            format="%g",
        )
    seed = cols[-2].number_input("Seed", 0, 2**31 - 1, key=bind("j_seed", s.seed))
    refine = cols[-1].toggle(
        "Exact refinement",
        key=bind("j_refine", s.refine),
        help="On (default): the annealer also starts from a beam search on large catalogs and "
        "ends with an exact search over a small pool of products, so its journeys are optimal "
        "on the shipped catalogs whatever the schedule. Off: the temperature schedule alone, to "
        "see what a schedule achieves by itself.",
    )
    return update_settings(
        solver=solver or s.solver,
        schedule=schedule,
        t0="auto" if auto else float(t0),
        iters=int(iters),
        restarts=int(restarts),
        schedule_params={k: v for k, v in params.items() if v is not None},
        seed=int(seed),
        refine=bool(refine),
    )


def product_colour(key: str, i: int = 0) -> str:
    return PALETTE.get(key, GREYS[i % len(GREYS)])


def colour_map(catalog: Any, by: str = "label") -> dict[str, str]:
    """{label or key: colour} for a catalog's products (plotly ``color_discrete_map``)."""
    names = catalog.labels if by == "label" else catalog.keys
    return {
        n: product_colour(k, i) for i, (n, k) in enumerate(zip(names, catalog.keys, strict=True))
    }


def _use_template() -> None:
    """plotly_white as plotly's default template, set once (passing it to every figure costs
    ~30 ms of validation each)."""
    import plotly.io as pio

    if pio.templates.default != "plotly_white":
        pio.templates.default = "plotly_white"


def style(fig: Any, height: int = 360) -> Any:
    """House look for plotly figures: white, compact margins, readable fonts."""
    _use_template()
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        font={"size": 13},
        legend={"title": None},
        title={"font": {"size": 15}},
    )
    return fig


def intro(title: str, text: str) -> None:
    """Page title and the few plain sentences on what the page answers and how to read it.

    Every page starts here, so this is where a page run without the router is caught (app.py's
    ``st.navigation`` has switched the pages-folder fallback off before any routed page runs).
    """
    ensure_router()
    init_state()
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
        if s != DEFAULT_SETTINGS and st.button("Reset scenario", icon=":material/restart_alt:"):
            set_settings(DEFAULT_SETTINGS)
            st.rerun()


# --------------------------------------------------------------------------------------------
# views: small frames the pages draw (shaping only; the figures come from core)
# --------------------------------------------------------------------------------------------

HORIZONS = (3, 6, 12, 24, 36)
NO_OFFER = "No offer"


def horizon_select() -> int:
    """Months of the revenue-at-risk horizon, bound to the ``horizon`` query param."""
    try:
        default = int(st.query_params.get("horizon", 12))
    except ValueError:
        default = 12
    default = default if default in HORIZONS else 12
    h = st.segmented_control(
        "Horizon (months)",
        HORIZONS,
        key=bind("horizon", default),
        help="Horizon of the revenue-at-risk figure.",
    )
    h = int(h or default)
    if h == 12:
        st.query_params.pop("horizon", None)
    else:
        st.query_params["horizon"] = str(h)
    return h


def kpis(horizon: int) -> list[Any]:
    """Executive KPIs of the current scenario, with deltas against the best baseline."""
    from core.insights.kpis import KPI, compute_kpis

    data = require_data()
    out = outcome()
    name, base = best_baseline()
    proba = churn_proba()
    cards = compute_kpis(
        data.frame,
        churn_proba=proba,
        journey_scores=out.result.scores,
        baseline_scores=base.scores,
        journey_lengths=out.result.lengths,
        horizon_months=horizon,
        baseline_name=f"best baseline ({name})",
    )
    base_cards = {
        k.key: k
        for k in compute_kpis(
            data.frame, journey_lengths=base.lengths, horizon_months=horizon, churn_proba=proba
        )
    }
    short = {"total_opportunity": "Journey opportunity"}
    result = []
    for k in cards:
        if k.key in short:
            k = KPI(k.key, short[k.key], k.value, k.delta, k.unit, k.help)
        b = base_cards.get(k.key)
        if k.delta is None and b is not None and k.key == "share_with_offer":
            k = KPI(
                k.key, k.label, k.value, k.value - b.value, k.unit, k.help + f" Delta vs {name}."
            )
        result.append(k)
    return result


def label_of(catalog: Any) -> dict[str, str]:
    return dict(zip(catalog.keys, catalog.labels, strict=True))


def journey_steps(out: Outcome, catalog: Any, steps: int = 3) -> pd.DataFrame:
    """One row per customer: ``customer_id``, ``score``, ``length``, ``step 1..steps`` labels."""
    labels = np.array([*catalog.labels, NO_OFFER], dtype=object)
    j = np.asarray(out.result.journeys)
    frame = pd.DataFrame(
        {"customer_id": out.problem.ids, "score": out.result.scores, "length": out.result.lengths}
    )
    for t in range(min(steps, j.shape[1])):
        frame[f"step {t + 1}"] = labels[np.where(j[:, t] >= 0, j[:, t], len(catalog.keys))]
    return frame


def sankey(out: Outcome, catalog: Any, steps: int = 3) -> Any:
    """Plotly Sankey of step 1 -> step 2 -> step 3 offers (one colour per product).

    Only customers who go on to a next offer flow on; the rest end at their last offer.
    """
    import plotly.graph_objects as go

    frame = journey_steps(out, catalog, steps)
    cols = [c for c in frame.columns if c.startswith("step ")]
    colours = colour_map(catalog) | {NO_OFFER: "#c9d1db"}
    nodes: list[tuple[int, str]] = []
    index: dict[tuple[int, str], int] = {}
    src, dst, val = [], [], []
    for t in range(len(cols) - 1):
        live = (frame[cols[t]] != NO_OFFER) & (frame[cols[t + 1]] != NO_OFFER)
        pairs = frame[live].groupby([cols[t], cols[t + 1]]).size()
        for (a, b), n in pairs.items():
            for node in ((t, a), (t + 1, b)):
                if node not in index:
                    index[node] = len(nodes)
                    nodes.append(node)
            src.append(index[(t, a)])
            dst.append(index[(t + 1, b)])
            val.append(int(n))
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": [f"{lab} (step {t + 1})" for t, lab in nodes],
                "color": [colours.get(lab, GREYS[0]) for _, lab in nodes],
                "pad": 14,
            },
            link={"source": src, "target": dst, "value": val, "color": "rgba(120,130,150,0.25)"},
        )
    )
    return style(fig, 420)


def opportunity_views(problem: Any, comps: Any, catalog: Any) -> dict[str, pd.DataFrame]:
    """What the Opportunity page draws from the weighted opportunity ``O[c, i, j]``.

    ``first``: per product, quantiles (p5, q1, median, q3, p95) and mean of its opportunity as
    the next offer over eligible customers (box plots without shipping every point);
    ``matrix``: mean ``O(i -> j)`` over customers eligible for ``j`` (rows: predecessor);
    ``best``: customers for whom each product is the best single next offer.
    """
    opp = np.asarray(problem.opportunity)
    elig = np.asarray(comps.eligible)
    labels = list(catalog.labels)
    first = combine_first(problem)
    stats = []
    for j, (key, lab) in enumerate(zip(catalog.keys, labels, strict=True)):
        v = first[elig[:, j], j]
        if v.size:
            q = np.percentile(v, [5, 25, 50, 75, 95])
            stats.append({"product": lab, "key": key, "customers": int(v.size), "mean": v.mean(),
                          "p5": q[0], "q1": q[1], "median": q[2], "q3": q[3], "p95": q[4]})  # fmt: skip
    masked = np.where(elig[:, None, :], opp, np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(masked[:, 1:, :], axis=0) if len(opp) else np.zeros((0, 0))
    np.fill_diagonal(mean, np.nan)
    matrix = pd.DataFrame(mean, index=labels, columns=labels)
    offerable = elig & _prerequisites_met(problem, comps)
    score = np.where(offerable, first, -np.inf)
    has = np.isfinite(score).any(axis=1) & (np.max(score, axis=1, initial=-np.inf) > 0)
    best = np.argmax(np.where(np.isfinite(score), score, -1e30), axis=1)[has]
    counts = pd.Series(np.array(labels, dtype=object)[best]).value_counts()
    best_frame = pd.DataFrame(
        {"product": labels, "customers": [int(counts.get(lab, 0)) for lab in labels]}
    )
    return {"first": pd.DataFrame(stats), "matrix": matrix, "best": best_frame}


def combine_first(problem: Any) -> np.ndarray:
    """``[n, P]`` opportunity of each product as the first offer (held products aggregated)."""
    from core.journeys import first_rows

    return np.asarray(first_rows(problem))


def _prerequisites_met(problem: Any, comps: Any) -> np.ndarray:
    held = np.asarray(comps.held)
    req = np.asarray(problem.requires)
    return ~((req[None, :, :] & ~held[:, None, :]).any(axis=2))


PROFILE_NUMBERS = ("Tenure in Months", "Monthly Charge", "CLTV", "Satisfaction Score", "Age")
PROFILE_WORDS = ("Contract", "Internet Type", "Payment Method", "Offer")


def customer_index(customer_id: str) -> int | None:
    """Row of a customer id in the current data (None when absent)."""
    ids = np.asarray(outcome().problem.ids).astype(str)
    hits = np.flatnonzero(ids == str(customer_id).strip())
    return int(hits[0]) if hits.size else None


def customer_view(idx: int) -> dict[str, Any]:
    """Everything the Customer page draws for row ``idx``.

    ``matrix``: ``O(i -> j)`` frame (rows: start + products); ``journey``: the customer's rows
    of the journey table; ``first_parts``: long frame (product, factor, value) of each product's
    weighted first-step parts; ``factors``: predicted key factors now and with the journey's
    products held (None without trained models).
    """
    from core.journeys import first_step_parts

    data = require_data()
    s = settings()
    ctx, comps, trained = context_and_components()
    out = outcome()
    labels = list(ctx.catalog.labels)
    opp = np.asarray(out.problem.opportunity[idx])
    matrix = pd.DataFrame(opp, index=["(current portfolio)", *labels], columns=labels)
    for j, lab in enumerate(labels):
        matrix.loc[lab, lab] = np.nan
        if not comps.eligible[idx, j]:  # held or excluded: never offered
            matrix[lab] = np.nan
    cid = out.problem.ids[idx]
    journey = out.table[out.table["customer_id"] == cid].reset_index(drop=True)
    sub = out.problem.subset([idx])
    eff = pipeline.effective_components(
        comps.subset([idx]), s.levers, propensity()[[idx]] if s.propensity else None
    )
    weights = [s.weights[f] for f in ("cltv", "churn", "satisfaction")]
    parts = first_step_parts(eff, sub, weights)[0]  # [P, 3]
    first = pd.DataFrame(
        [
            {"product": lab, "factor": FACTOR_LABELS[f], "value": float(parts[j, k])}
            for j, lab in enumerate(labels)
            for k, f in enumerate(("cltv", "churn", "satisfaction"))
            if comps.eligible[idx, j]
        ]
    )
    factors = None
    if trained is not None:
        row = data.frame.iloc[[idx]]
        held = np.asarray(comps.held[[idx]]).copy()
        now = trained.key_factors.predict_factors(row, held)
        for j in np.asarray(out.result.journeys[idx]):
            if j >= 0:
                held[0, j] = True
        after = trained.key_factors.predict_factors(row, held)
        factors = pd.DataFrame(
            {
                "factor": [FACTOR_LABELS[f] for f in now],
                "now": [float(now[f][0]) for f in now],
                "with the journey": [float(after[f][0]) for f in now],
            }
        )
    return {
        "id": cid,
        "profile": data.frame.iloc[idx],
        "matrix": matrix,
        "journey": journey,
        "first_parts": first,
        "factors": factors,
        "held": [lab for j, lab in enumerate(labels) if comps.held[idx, j]],
    }


def drivers(top: int = 8) -> pd.DataFrame | None:
    """Held-out permutation importance of each key-factor model (from the training metrics).

    Long frame ``factor, feature, importance``, the ``top`` features per factor; None without
    trained models.
    """
    _, _, trained = context_and_components()
    if trained is None:
        return None
    rows = []
    for factor, entries in (trained.metrics.get("permutation_importance") or {}).items():
        for e in sorted(entries or [], key=lambda e: -e["importance"])[:top]:
            rows.append(
                {
                    "factor": FACTOR_LABELS.get(factor, factor),
                    "feature": e["feature"],
                    "importance": float(e["importance"]),
                }
            )
    return pd.DataFrame(rows) if rows else None


# ---- secondary pages ----
# Segments, Models, Export & scenarios and RL lab: their state keys and cached wrappers.

SEGMENTS = "segments"  # {"method", "k": "auto" | int, "min_share", "names": {"id": name}}
SCENARIO_NAME = "scenario_name"  # the saved scenario the current settings were saved as/loaded from
VERIFY_RUN = "verify_run"  # id of a run whose settings were loaded for a re-run check
EXPORT = "export"  # the last prepared download (see prepare_export)
CURVES = "churn_curves"  # True once the user asked for the out-of-fold ROC / PR curves
SEGMENT_DEFAULTS: dict[str, Any] = {"method": "kmeans", "k": "auto", "min_share": 0.05, "names": {}}
SCENARIO_EXTRAS = ("segments", pipeline.RUN_KEY)  # saved keys beyond core.pipeline.Settings
RL_EPISODES = {"qlearning": 20_000, "bandit": 10_000, "fqi": 2_000}  # < 30 s on the demo


def _segments_from_query(text: str | None) -> dict[str, Any]:
    """``method:k:min_share`` (the ``segments`` query param) -> options; bad text -> defaults."""
    from core.insights.segments import METHODS

    try:
        method, k, share = (text or "").split(":")
        opts = {"method": method, "k": k if k == "auto" else int(k), "min_share": float(share)}
    except ValueError:
        return dict(SEGMENT_DEFAULTS)
    if method not in METHODS or not 0 <= opts["min_share"] < 0.5:
        return dict(SEGMENT_DEFAULTS)
    return {**opts, "names": {}}


def _set_segments(opts: dict[str, Any]) -> None:
    """Keep the segmentation in session state and its method, k and share in the URL."""
    st.session_state[SEGMENTS] = opts
    text = f"{opts['method']}:{opts['k']}:{opts['min_share']:g}"
    default = SEGMENT_DEFAULTS
    if text == f"{default['method']}:{default['k']}:{default['min_share']:g}":
        st.query_params.pop("segments", None)
    elif st.query_params.get("segments") != text:
        st.query_params["segments"] = text


def _secondary_init() -> None:
    if SEGMENTS not in st.session_state:
        st.session_state[SEGMENTS] = _segments_from_query(st.query_params.get("segments"))
    st.session_state.setdefault(SCENARIO_NAME, None)
    st.session_state.setdefault(VERIFY_RUN, None)
    st.session_state.setdefault(EXPORT, None)
    st.session_state.setdefault(CURVES, False)


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _page_slot(kind: str, key: tuple) -> _Slot:
    return _Slot()


def _page_cached(kind: str, key: tuple, compute: Callable[[], Any]) -> Any:
    """Like ``_cached`` but in the secondary pages' own bounded cache (no evictions of theirs)."""
    slot = _page_slot(kind, key)
    if slot.value is None:
        with slot.lock:
            if slot.value is None:
                slot.value = compute()
    return slot.value


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


# -- segments ---------------------------------------------------------------------------------


SEGMENT_PALETTE = ("#1f5fa8", "#e07b39", "#2a9d8f", "#8e5ea2", "#d1495b", "#f2b134", "#4c956c")
SEGMENT_PALETTE += ("#6c8ebf", "#b56576", "#7f5539", "#5e548e", "#3d5a80")


def segment_colours(names: list[str]) -> dict[str, str]:
    """One colour per segment name, in display order (noise grey), for every segment chart."""
    from core.insights.segments import NOISE_NAME

    return {
        n: GREYS[0] if n == NOISE_NAME else SEGMENT_PALETTE[i % len(SEGMENT_PALETTE)]
        for i, n in enumerate(names)
    }


def segment_columns() -> dict[str, Any]:
    """Column formats of the segment insights table (:func:`core.insights.segments.insights`)."""
    num = st.column_config.NumberColumn
    return {
        "share": num(format="percent"),
        "churn_rate": num("churn rate", format="percent"),
        "predicted_churn": num("predicted churn", format="percent"),
        "avg_cltv": num("avg CLTV", format="%.0f"),
        "avg_satisfaction": num("avg satisfaction", format="%.2f"),
        "avg_monthly_charge": num("avg monthly", format="%.2f"),
        "revenue_at_risk": num("revenue at risk", format="%.0f"),
        "opportunity_total": num("opportunity", format="%.0f"),
        "opportunity_per_customer": num("opportunity / customer", format="%.2f"),
        "top_first_offer": st.column_config.TextColumn("top first offer"),
    }


def segment_options() -> dict[str, Any]:
    """The segmentation of the scenario: method, k, minimum share and the user's names."""
    _secondary_init()
    return dict(st.session_state[SEGMENTS])


def set_segment_options(method: str, k: int | str, min_share: float) -> None:
    """Change the segmentation; the user's names are kept only while it stays the same."""
    old = segment_options()
    new = {"method": method, "k": k, "min_share": float(min_share)}
    names = old["names"] if all(old[f] == v for f, v in new.items()) else {}
    _set_segments({**new, "names": names})


def set_segment_names(segmentation: Any, names: dict[Any, str]) -> bool:
    """Keep the user's segment names (``{segment id: name}``) with the scenario.

    Checked first (:func:`core.insights.segments.rename`): empty or duplicate names are shown as an
    error and not kept. Returns True when kept.
    """
    from core.insights.segments import rename

    try:
        rename(segmentation, {int(k): v for k, v in names.items()})
    except CJOError as exc:
        show_error(exc)
        return False
    _set_segments(
        {**segment_options(), "names": {str(k): str(v).strip() for k, v in names.items()}}
    )
    return True


def _journey_inputs() -> tuple[np.ndarray, np.ndarray]:
    """Journey value and first offer (label, None for no offer) per customer, in frame order."""
    ctx, _, _ = context_and_components()
    out = outcome()
    first = journey_steps(out, ctx.catalog, 1)["step 1"].to_numpy(dtype=object)
    return np.asarray(out.result.scores, dtype=float), np.where(first == NO_OFFER, None, first)


def segments_page(horizon: int = 12) -> Any:
    """:class:`core.insights.segments.SegmentsPage` of the current data, scenario and segmentation.

    The segmentation is cached per data, catalog, seed and options; renaming or a new scenario
    only recomputes the insights (:func:`core.insights.segments.rename_page`).
    """
    from core.insights import segments as core_segments

    data = require_data()
    s = settings()
    opts = segment_options()
    proba = churn_proba()
    base_key = (data.sha256, s.catalog, s.seed, opts["method"], str(opts["k"]), opts["min_share"])

    def base() -> Any:
        with st.spinner(f"Segmenting {data.n_rows:,} customers ({opts['method']})..."):
            return core_segments.page_data(
                data.frame,
                method=opts["method"],
                k=opts["k"],
                min_share=opts["min_share"],
                random_state=s.seed,
                churn_proba=proba,
            )

    page = guarded(lambda: _page_cached("segments", base_key, base))
    value, first = _journey_inputs()
    key = (*base_key, _key(s), _json(opts["names"]), int(horizon))
    return guarded(
        lambda: _page_cached(
            "segments-described",
            key,
            lambda: core_segments.rename_page(
                page,
                opts["names"],
                data.frame,
                churn_proba=proba,
                journey_value=value,
                first_offer=first,
                horizon_months=int(horizon),
            ),
        )
    )


# -- models -----------------------------------------------------------------------------------


def model_summary() -> dict[str, Any]:
    """What the Models page shows from the trained models (see :mod:`core.models.report`).

    ``trained``, ``metrics`` (metric vs baseline table), ``importance``, ``reliability``
    (None when absent), ``warning`` (Satisfaction Score is nearly a label, or None), ``cards``.
    """
    from core.models import report as mr

    trained = trained_models()
    m = trained.metrics
    return {
        "trained": trained,
        "metrics": mr.metric_table(m),
        "importance": mr.importance_table(m),
        "reliability": mr.reliability_table(m),
        "warning": mr.satisfaction_warning(m),
        "cards": mr.model_cards(trained.models_dir),
        "cv": m.get("cv") or {},
    }


def curves_requested() -> bool:
    _secondary_init()
    return bool(st.session_state[CURVES])


def churn_curves() -> Any:
    """Out-of-fold ROC / PR / reliability curves of the churn model (cached; progress shown).

    None when the data has no churn outcome. Uses the folds and seed of the stored metrics.
    """
    from core.models import report as model_report

    data = require_data()
    s = settings()
    if "Churn Value" not in data.frame.columns:
        return None
    cv = trained_models(data, s).metrics.get("cv") or {}
    n_splits, seed = int(cv.get("n_splits", 5)), int(cv.get("random_state", 0))

    def compute() -> Any:
        bar, tick = _progress_bar(f"Out-of-fold churn predictions ({n_splits} models)...")
        try:
            return model_report.churn_curves(
                data.frame, s.catalog, n_splits=n_splits, random_state=seed, progress=tick
            )
        finally:
            bar.empty()

    key = (data.sha256, s.catalog, n_splits, seed)
    return guarded(lambda: _page_cached("curves", key, compute))


# -- scenarios, runs and exports --------------------------------------------------------------


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _store(url: str | None) -> Any:
    from core.ops.store import Store

    return Store(url)


def store() -> Any:
    """The scenario / run / export store (``JOURNEY_DB_URL`` or SQLite under data/)."""
    import os

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
        _set_segments({**SEGMENT_DEFAULTS, **seg, "names": names})
    st.session_state[SCENARIO_NAME] = saved.name
    return s


def current_scenario_name() -> str | None:
    """The saved scenario the current view equals, or None (an unsaved, ad-hoc scenario)."""
    from core.ops.store import canonical_json

    _secondary_init()
    name = st.session_state[SCENARIO_NAME]
    if not name:
        return None
    saved = guarded(lambda: store().get_scenario(name))
    if saved is None or saved.params_json != canonical_json(scenario_params()):
        return None
    return saved.name


def segment_journeys(segment: str | None, horizon: int = 12) -> pd.DataFrame:
    """The current journeys table, or only the rows of one segment's customers."""
    table = outcome().table
    if segment is None:
        return table
    seg = segments_page(horizon).segmentation
    ids = set(seg.customer_ids[seg.label_names() == segment].astype(str))
    return table[table["customer_id"].astype(str).isin(ids)].reset_index(drop=True)


def prepare_export(table: pd.DataFrame, fmt: str, bom: bool, what: str) -> dict[str, Any]:
    """Encode ``table`` (core.ops.export.render, as the CLI) and record the run and the export.

    The run's fingerprint is the sha256 of the *full* journeys CSV (no BOM), so a re-run is
    checked on the whole scenario whatever was downloaded. Returns and keeps in session state
    ``{"result", "run_id", "file_name", "what", "scenario"}``.
    """
    from core.ops.export import render

    data = require_data()
    s = settings()
    out = outcome()
    result = guarded(lambda: render(table, fmt, bom=bom))
    fingerprint = guarded(lambda: render(out.table, "csv"))
    name = current_scenario_name()
    scores, lengths = np.asarray(out.result.scores), np.asarray(out.result.lengths)
    summary = {
        "n_customers": int(scores.size),
        "total_opportunity": float(scores.sum()),
        "share_with_offer": float(np.mean(lengths > 0)) if scores.size else 0.0,
        "rows": int(len(out.table)),
    }

    def record() -> Any:
        db = store()
        run = db.record_run(
            name,
            seed=s.seed,
            data_hash=data.sha256,
            journeys_sha256=fingerprint.sha256,
            params=s.to_dict(),
            summary=summary,
        )
        db.record_export(run, result.format, result.row_count, result.sha256)
        return run

    run = guarded(record)
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in (name or "journeys"))
    prepared = {
        "key": (_key(s), what, fmt, bool(bom)),
        "result": result,
        "run_id": run.id,
        "file_name": f"{stem}-run{run.id}.{result.format}",
        "what": what,
        "scenario": name,
    }
    st.session_state[EXPORT] = prepared
    return prepared


def prepared_export(what: str, fmt: str, bom: bool) -> dict[str, Any] | None:
    """The download prepared for exactly this scenario, selection and format, else None."""
    _secondary_init()
    prepared = st.session_state[EXPORT]
    if prepared and prepared["key"] == (_key(settings()), what, fmt, bool(bom)):
        return prepared
    return None


RUN_COLUMNS = {
    "total opportunity": st.column_config.NumberColumn(format="%.1f"),
    "share with offer": st.column_config.NumberColumn(format="percent"),
}


def runs_frame(runs: list[Any]) -> pd.DataFrame:
    """The run history as a table (newest first)."""
    rows = []
    for r in runs:
        summary = r.summary
        rows.append(
            {
                "run": r.id,
                "scenario": r.scenario_name or "(unsaved)",
                "created (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "seed": r.seed,
                "customers": summary.get("n_customers"),
                "total opportunity": summary.get("total_opportunity"),
                "share with offer": summary.get("share_with_offer"),
                "data sha256": r.data_hash[:12],
                "journeys sha256": r.journeys_sha256[:12],
                "code": r.code_version,
            }
        )
    return pd.DataFrame(rows)


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


def run_settings(run: Any) -> Settings:
    """The settings a run used."""
    return guarded(lambda: split_params(run.params)[0])


def repro_check(run: Any) -> Any:
    """:func:`core.ops.store.check_reproducible` of a run against the data loaded now."""
    from core.ops.store import check_reproducible

    return guarded(lambda: check_reproducible(run, require_data().sha256))


def load_run_settings(run: Any) -> None:
    """Make a run's settings current and remember to compare its journeys after the rerun."""
    s, _ = guarded(lambda: split_params(run.params))
    set_settings(s)
    st.session_state[VERIFY_RUN] = run.id


def verify_run(run: Any) -> bool:
    """True when the current scenario's journeys are byte-identical to the run's.

    The current settings must be the run's (:func:`load_run_settings`). Compared in each form a
    run may have recorded: CSV (the dashboard), CSV with BOM or Parquet (``optimize --out``).
    """
    from core.ops.export import render
    from core.ops.store import verify_rerun

    table = outcome().table
    forms = (lambda: render(table, "csv"), lambda: render(table, "csv", bom=True))
    forms += (lambda: render(table, "parquet"),)
    return any(verify_rerun(run, f().data) for f in forms)


# -- RL lab -----------------------------------------------------------------------------------


def rl_action_columns() -> dict[str, Any]:
    """Column formats of the RL lab's best-actions table (:func:`core.rl.best_actions`)."""
    num = st.column_config.NumberColumn
    return {
        "label": st.column_config.TextColumn("first action"),
        "share": num("share of segment", format="percent"),
        "propensity": num("acceptance", format="percent"),
        "gain": num("gain if accepted", format="%.2f"),
        "value": num("journey value", format="%.2f"),
    }


def rl_env(horizon: int = 12) -> Any:
    """The journey environment of the current scenario: the dashboard's own components,
    acceptance propensities and segments (cached)."""
    from core import rl

    data = require_data()
    s = settings()
    ctx, comps, _ = context_and_components()
    prop = guarded(lambda: _propensity(data.sha256, s.catalog, data.frame, ctx))
    seg = segments_page(horizon).segmentation
    key = (data.sha256, _key(s), _json(segment_options()))
    return guarded(
        lambda: _page_cached(
            "rl-env",
            key,
            lambda: rl.build_env(
                data.frame,
                ctx.catalog,
                weights=s.weights,
                levers=s.levers or None,
                aggregation=s.aggregation,
                random_state=s.seed,
                components=comps,
                propensity=prop,
                segmentation=seg,
            ),
        )
    )


def rl_lab(agents: list[str], episodes: dict[str, int], eval_episodes: int, *, train: bool) -> Any:
    """The RL lab result for these options: cached; trained (progress bar) only when ``train``.

    Returns None when it was not trained yet and ``train`` is False.
    """
    from core import rl

    env = rl_env()
    s = settings()
    data = require_data()
    key = (data.sha256, _key(s), _json(segment_options()), tuple(agents), _json(episodes))
    key += (int(eval_episodes),)
    slot = _page_slot("rl-lab", key)
    if slot.value is not None or not train:
        return slot.value

    def compute() -> Any:
        bar, tick = _progress_bar(f"Training {', '.join(agents)} and evaluating every policy...")
        try:
            return rl.lab_data(
                env,
                agents=agents,
                episodes=episodes,
                seed=s.seed,
                eval_episodes=int(eval_episodes),
                progress=tick,
            )
        finally:
            bar.empty()

    return guarded(lambda: _page_cached("rl-lab", key, compute))
