"""The current scenario through core.pipeline, cached: components, journeys, baselines, report.

Expensive work (model training, opportunity components) is cached per data sha256 + catalog +
estimator + seed (:func:`ui.cache.cached`, with a progress bar the first time); a weight change
only recombines the cached components (milliseconds) and re-optimizes. The journeys are cached
in two steps: :func:`solved` (problem and solver result: what most figures need) and
:func:`outcome` (a :class:`core.pipeline.Outcome` with the journeys table, built on demand).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import pipeline
from core.data.catalog import resolve_catalog
from core.journeys import JourneyProblem, JourneyResult
from core.opportunity import Components
from core.pipeline import Context, Outcome, Settings
from ui._base import CACHE_TTL, guarded, progress_bar
from ui.cache import cached, scenario_key
from ui.data import require_data
from ui.models import models_ready, trained_models
from ui.state import settings


def context_and_components(s: Settings | None = None) -> tuple[Context, Components, Any]:
    """(Context, Components, TrainedModels or None) of the current data and scenario.

    The models are trained when the estimator or the propensity needs them, and loaded when
    they are already on disk; otherwise (peer-bayes, neighbours on new data) they are None.
    The ``campaign`` estimator's log is read and fitted once (:func:`ui.campaigns.offer_response`).

    Cached per data sha256 + catalog + estimator + seed (+ campaign log); the first computation
    shows a progress bar (training the models on first start; they are then loaded from
    ``models/``). ``s`` defaults to the current scenario (the Plan page passes its calendar's
    catalog).
    """
    data = require_data()
    s = s or settings()

    def compute() -> tuple[Context, Components, Any]:
        need = s.estimator == "counterfactual" or s.propensity or models_ready(data, s)
        trained = trained_models(data, s) if need else None
        ctx = Context(
            catalog=resolve_catalog(s.catalog, list(data.frame.columns)),
            models=getattr(trained, "key_factors", None),
            acceptance=getattr(trained, "acceptance", None),
        )
        if s.estimator == "campaign":
            from ui.campaigns import offer_response

            ctx = replace(ctx, models=offer_response(s))
        bar, tick = progress_bar(f"Estimating the opportunity of every offer ({s.estimator})...")
        try:
            comps = pipeline.components_for(data.frame, s, ctx, progress=tick)
        finally:
            bar.empty()
        return ctx, comps, trained

    key = (data.sha256, s.catalog, s.estimator, s.seed, s.campaign)
    ctx, comps, trained = guarded(lambda: cached("components", key, compute))
    if trained is None and models_ready(data, s):  # trained since (e.g. on the Models page)
        trained = guarded(lambda: trained_models(data, s))
        ctx = replace(ctx, models=ctx.models, acceptance=trained.acceptance)
    return ctx, comps, trained


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _propensity(
    sha: str, catalog: str, campaign: str, _frame: pd.DataFrame, _ctx: Context
) -> np.ndarray:
    return pipeline.propensity_for(_frame, _ctx)


def acceptance_propensity(s: Settings | None = None) -> np.ndarray:
    """Acceptance propensity [n, P] of every customer and product, whatever the scenario.

    With the ``campaign`` estimator the campaign's products take the acceptance it measured.
    """
    data = require_data()
    s = s or settings()
    ctx, _, _ = context_and_components(s)
    if ctx.acceptance is None:  # the scenario did not need them: train (or load) them now
        trained = guarded(lambda: trained_models(data, s))
        ctx = replace(ctx, acceptance=trained.acceptance)
    log = s.campaign if s.estimator == "campaign" else ""
    prop: np.ndarray = guarded(lambda: _propensity(data.sha256, s.catalog, log, data.frame, ctx))
    return prop


def propensity(s: Settings | None = None) -> np.ndarray | None:
    """Acceptance propensity [n, P] when the scenario uses it, else None."""
    s = s or settings()
    return acceptance_propensity(s) if s.propensity else None


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _solve(
    sha: str, settings_json: str, _s: Settings, _ctx: Context, _comps: Components, _prop: Any
) -> tuple[JourneyProblem, JourneyResult]:
    problem = pipeline.problem_for(_comps, _ctx.catalog, _s, _prop)
    return problem, pipeline.optimize(problem, _s, components=_comps)


def solved(s: Settings | None = None) -> tuple[JourneyProblem, JourneyResult]:
    """(problem, solver result) of the current (or given) scenario, cached per data and settings.

    What the figures need; :func:`outcome` adds the journeys table.
    """
    s = s or settings()
    data = require_data()
    ctx, comps, _ = context_and_components()
    prop = propensity(s)
    solution: tuple[JourneyProblem, JourneyResult] = guarded(
        lambda: _solve(data.sha256, scenario_key(s), s, ctx, comps, prop)
    )
    return solution


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _outcome(
    sha: str,
    settings_json: str,
    _s: Settings,
    _ctx: Context,
    _comps: Components,
    _prop: Any,
    _solution: tuple[JourneyProblem, JourneyResult],
) -> Outcome:
    problem, result = _solution
    t = time.perf_counter()
    table = pipeline.journeys_table(result, problem, _comps, _s, _ctx.catalog, _prop)
    seconds = {
        "optimize": float(result.seconds.get("total", 0.0)),
        "table": time.perf_counter() - t,
    }
    return Outcome(_s, _ctx, _comps, problem, result, table, _prop, seconds)


def outcome(s: Settings | None = None) -> Outcome:
    """The current (or given) scenario's :class:`core.pipeline.Outcome`, journeys table included.

    Cached per data and settings; pages that only need scores call :func:`solved`.
    """
    s = s or settings()
    data = require_data()
    ctx, comps, _ = context_and_components()
    prop = propensity(s)
    solution = solved(s)
    out: Outcome = guarded(
        lambda: _outcome(data.sha256, scenario_key(s), s, ctx, comps, prop, solution)
    )
    return out


@st.cache_resource(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _baseline(
    sha: str, settings_json: str, name: str, _s: Settings, _problem: Any, _comps: Any
) -> JourneyResult:
    return pipeline.optimize(_problem, _s, solver=name, components=_comps)


def baselines(
    s: Settings | None = None, names: tuple[str, ...] = pipeline.DEFAULT_BASELINES
) -> dict[str, JourneyResult]:
    """The study's baselines and greedy on the current problem: {name: JourneyResult}."""
    s = s or settings()
    data = require_data()
    _, comps, _ = context_and_components()
    problem, _ = solved(s)
    key = scenario_key(s)

    def one(name: str) -> JourneyResult:
        result: JourneyResult = guarded(
            lambda: _baseline(data.sha256, key, name, s, problem, comps)
        )
        return result

    return {n: one(n) for n in names}


def best_baseline(
    s: Settings | None = None, names: tuple[str, ...] = pipeline.DEFAULT_BASELINES
) -> tuple[str, JourneyResult]:
    """(name, result) of the baseline with the highest total opportunity."""
    base = baselines(s, names)
    name = max(base, key=lambda k: float(base[k].scores.sum()))
    return name, base[name]


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _report(
    sha: str, settings_json: str, _s: Settings, _solution: tuple, _comps: Any
) -> dict[str, Any]:
    problem, result = _solution
    return pipeline.report(result, problem, _s, components=_comps, verify="exact")


def report(s: Settings | None = None) -> dict[str, Any]:
    """core.pipeline.report with ``verify="exact"`` for the current scenario."""
    s = s or settings()
    data = require_data()
    _, comps, _ = context_and_components()
    solution = solved(s)
    rep: dict[str, Any] = guarded(lambda: _report(data.sha256, scenario_key(s), s, solution, comps))
    return rep


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _churn_proba(sha: str, catalog: str, _frame: pd.DataFrame, _models: Any) -> np.ndarray:
    return np.asarray(_models.predict_factor(_frame, None, "churn"), dtype=float)


def churn_proba() -> np.ndarray | None:
    """Predicted churn probability per customer (None when the data has no churn outcome)."""
    data = require_data()
    _, _, trained = context_and_components()
    if trained is None or "churn" not in trained.key_factors.factors_:
        return None
    proba: np.ndarray = _churn_proba(
        data.sha256, settings().catalog, data.frame, trained.key_factors
    )
    return proba


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
    return _journeys_csv(data.sha256, scenario_key(s), outcome(s).table)
