"""Decision quality of the current scenario on the synthetic truth (demo population only).

When the data is a synthetic population whose truth file lies beside it (the demo), the pages
show how much of the truly achievable value the scenario's journeys capture and how many
customers they make worse off, beside the information ceiling (a learner trained on the true
effects; computed on request, it takes about a minute). See :mod:`core.insights.decision`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.insights.decision import ScenarioQuality, harm_tradeoff, scenario_quality
from core.opportunity.truevalue import portfolio_table, truth_optimal
from core.pipeline import Settings
from ui._base import CACHE_TTL, guarded, progress_bar
from ui.cache import cached, peek, results_key
from ui.data import DEMO_PATH, require_data
from ui.pipeline import components, solved
from ui.state import SOURCE, settings


def _truth_file() -> Path | None:
    src: dict[str, Any] = st.session_state.get(SOURCE) or {}
    if src.get("kind") == "demo":
        path = DEMO_PATH
    elif src.get("kind") == "path":
        path = Path(src["name"])
    else:
        return None
    from core.data.synthetic import truth_path

    truth = truth_path(path)
    return truth if truth.is_file() else None


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _truth(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_parquet(path)


def truth() -> pd.DataFrame | None:
    """The truth rows of the current data, or None (not a synthetic population with its truth)."""
    path = _truth_file()
    if path is None:
        return None
    frame = _truth(str(path), path.stat().st_mtime)
    data = require_data()
    ids = data.frame.get("Customer ID")
    if len(frame) != data.n_rows or ids is None:
        return None
    if not (frame["Customer ID"].astype(str).to_numpy() == ids.astype(str).to_numpy()).all():
        return None
    return frame


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _table(sha: str, catalog: str, _frame: Any, _truth: Any, _cat: Any) -> Any:
    """The true outcomes of every portfolio: what no weight change affects (computed once)."""
    return portfolio_table(_truth, _frame, _cat)


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _reference(sha: str, catalog: str, weights: tuple[float, ...], _table: Any) -> Any:
    """The truth-optimal journeys' values for these weights (as :func:`truth_reference`)."""
    optimal, _ = truth_optimal(_table, weights)
    return _table, optimal


def _referee(data: Any, s: Settings, frame: pd.DataFrame, catalog: Any) -> Any:
    """``(portfolio table, truth-optimal values)`` of the scenario's catalog and weights, from
    the caches (:func:`_table`, :func:`_reference`); None when every weight is 0."""
    weights = tuple(s.weights[f] for f in ("cltv", "churn", "satisfaction"))
    if sum(weights) <= 0:
        return None
    table = guarded(lambda: _table(data.sha256, s.catalog, data.frame, frame, catalog))
    return guarded(lambda: _reference(data.sha256, s.catalog, weights, table))


def _ceiling_key() -> tuple[Any, ...]:
    s = settings()
    return (require_data().sha256, s.catalog, s.seed)


def ceiling_ready() -> bool:
    """Whether the information ceiling of this data and catalog is computed."""
    return peek("ceiling", _ceiling_key()) is not None


def compute_ceiling() -> None:
    """Train the ceiling learner (about a minute on the demo population, with a progress bar)."""
    from core.opportunity.groundtruth import ceiling_components

    data, frame = require_data(), truth()
    ctx, _ = components()
    s = settings()
    if frame is None:
        return

    def compute() -> Any:
        bar, tick = progress_bar("Training the ceiling learner on the true effects...")
        try:
            return ceiling_components(data.frame, frame, ctx.catalog, seed=s.seed, progress=tick)
        finally:
            bar.empty()

    guarded(lambda: cached("ceiling", _ceiling_key(), compute))


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _quality(
    sha: str, key: str, with_ceiling: bool, _s: Any, _c: Any, _ceil: Any, _ref: Any, _j: Any
) -> Any:
    ctx, comps = _c
    table, optimal = _ref
    return scenario_quality(comps, ctx.catalog, _s, table, optimal, ceiling=_ceil, journeys=_j)


def quality(s: Settings | None = None) -> ScenarioQuality | None:
    """The scenario's captured value and harm on the truth, or None without a truth file."""
    frame = truth()
    if frame is None:
        return None
    return quality_for(require_data(), s or settings(), frame, peek("ceiling", _ceiling_key()))


def quality_for(data: Any, s: Settings, frame: pd.DataFrame, ceil: Any) -> ScenarioQuality | None:
    """:func:`quality` of ``data`` and ``s`` judged on the truth rows ``frame`` (:func:`truth`)
    beside the ceiling ``ceil`` (or None): the same caches, without the session, so a
    background thread can fill them ahead (:mod:`ui.journeys_ahead`)."""
    ctx, comps = components(data, s)
    ref = _referee(data, s, frame, ctx.catalog)
    if ref is None:
        return None
    # without a propensity the page's own journeys are the ones judged: not solved twice
    journeys = None if s.propensity else solved(s, data)[1].journeys
    out: ScenarioQuality = guarded(
        lambda: _quality(
            data.sha256, results_key(s), ceil is not None, s, (ctx, comps), ceil, ref, journeys
        )
    )
    return out


def _tradeoff_key(s: Settings) -> tuple[Any, ...]:
    """The scenario without its do-no-harm settings: the trade-off spans them."""
    return (
        require_data().sha256,
        results_key(s.with_(risk="lcb", risk_level=0.9, confounding=0.0)),
    )


def tradeoff(s: Settings | None = None) -> pd.DataFrame | None:
    """The scenario's value and harm at every do-no-harm setting, once computed
    (:func:`compute_tradeoff`); None before, and without a truth file."""
    if truth() is None:
        return None
    out: pd.DataFrame | None = peek("tradeoff", _tradeoff_key(s or settings()))
    return out


def compute_tradeoff() -> None:
    """Judge the scenario at every confidence level and allowance on the truth (a button's
    ``on_click``; a few seconds on the demo, with a progress bar)."""
    data, frame = require_data(), truth()
    if frame is None:
        return
    s = settings()
    ctx, comps = components(data, s)
    ref = _referee(data, s, frame, ctx.catalog)
    if ref is None:
        return

    def compute() -> Any:
        bar, tick = progress_bar("Judging every do-no-harm setting on the truth...")
        try:
            return harm_tradeoff(comps, ctx.catalog, s, *ref, progress=tick)
        finally:
            bar.empty()

    guarded(lambda: cached("tradeoff", _tradeoff_key(s), compute))
