"""The current scenario through core.pipeline, cached: components, journeys, baselines, report.

Expensive work is cached per data sha256 + catalog + estimator + seed (:func:`ui.cache.cached`,
with a progress bar the first time) and the opportunity components are also kept on disk next
to the trained models (a restarted server starts warm). What a weight change cannot affect is
computed once: the components, the churn predictions, the propensity. A weight change only
recombines the components into a new problem (cached per :func:`ui.cache.problem_key`: the
annealer and the exact solver share it, and so do the baselines) and re-optimizes.

The journeys are cached in two steps: :func:`solved` (problem and solver result: what most
figures need) and :func:`outcome` (a :class:`core.pipeline.Outcome` with the journeys table,
built on demand). Every function takes the data and the scenario explicitly too, so the
start-up warm-up (:mod:`ui.warmup`) fills the same caches from a background thread.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import pipeline
from core.common.provenance import ROOT as CORE_ROOT
from core.common.provenance import library_versions
from core.data.catalog import resolve_catalog
from core.data.io import LoadedData
from core.journeys import JourneyProblem, JourneyResult
from core.opportunity import Components
from core.pipeline import Context, Outcome, Settings
from ui._base import CACHE_TTL, guarded
from ui.cache import cached, load_arrays, problem_key, results_key, save_arrays, scenario_key
from ui.data import require_data
from ui.models import ARTIFACTS, models_dir, models_ready, trained_models
from ui.state import settings

#: What the components' disk file holds as arrays; the other fields go to its sidecar.
_ARRAYS = ("values", "eligible", "held", "customer_ids", "std", "bias")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 of core's sources and the numerical libraries' versions (disk caches' key)."""
    h = hashlib.sha256(json.dumps(library_versions(), sort_keys=True).encode())
    for path in sorted((CORE_ROOT / "core").rglob("*.py")):
        h.update(str(path.relative_to(CORE_ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def models_fingerprint(data: LoadedData, s: Settings) -> str | None:
    """sha256 of the trained models' artifacts on disk (from their sidecars), or None."""
    if not models_ready(data, s):
        return None
    folder = models_dir(data, s.catalog)
    try:
        shas = [
            json.loads((folder / name).with_suffix(".json").read_text())["artifact_sha256"]
            for name in ARTIFACTS
        ]
    except (OSError, ValueError, KeyError):
        return None
    return hashlib.sha256("".join(shas).encode()).hexdigest()


def _disk_key(data: LoadedData, s: Settings, what: str, **extra: Any) -> tuple[Path, dict]:
    """Where a cached array of ``what`` lives (next to the models) and what its sidecar holds."""
    meta = {
        "what": what,
        "data": data.sha256,
        "models": models_fingerprint(data, s),
        "code": code_fingerprint(),
        **extra,
    }
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
    return models_dir(data, s.catalog) / "cache" / f"{what}-{digest}.npz", meta


def _components_key(data: LoadedData, s: Settings, catalog: Any) -> tuple[Path, dict]:
    return _disk_key(
        data,
        s,
        "components",
        catalog=hashlib.sha256(repr(catalog).encode()).hexdigest(),
        estimator=s.estimator,
        seed=s.seed,
        model_preset=s.model_preset,
    )


def _load_components(path: Path, meta: dict) -> Components | None:
    got = load_arrays(path, meta)
    if got is None:
        return None
    arrays, side = got
    ids = arrays["customer_ids"]
    values = {
        **side["fields"],
        **{k: arrays[k] for k in _ARRAYS if k in arrays},
        "customer_ids": ids.astype(object) if side["ids_object"] else ids,
        "product_keys": tuple(side["fields"]["product_keys"]),
        "factors": tuple(side["fields"]["factors"]),
        "notes": tuple(side["fields"]["notes"]),
    }
    return Components(**values)


def _save_components(path: Path, meta: dict, comps: Components) -> None:
    arrays = {k: getattr(comps, k) for k in _ARRAYS if getattr(comps, k) is not None}
    ids = np.asarray(comps.customer_ids)
    arrays["customer_ids"] = ids.astype(str) if ids.dtype == object else ids
    other = {f.name: getattr(comps, f.name) for f in fields(comps) if f.name not in _ARRAYS}
    save_arrays(path, arrays, {**meta, "fields": other, "ids_object": ids.dtype == object})


def components(
    data: LoadedData | None = None, s: Settings | None = None
) -> tuple[Context, Components]:
    """(Context, Components) of the data and scenario: from memory, from disk, or estimated.

    The Context holds the catalog (and, when they were needed to estimate, the models); use
    :func:`context_and_components` for the trained models. Estimated components are saved
    next to the models (:func:`ui.cache.save_arrays`), so the next server start loads them.
    """
    data = data or require_data()
    s = s or settings()

    # the campaign estimator learns from a log the disk key does not see: memory only
    on_disk = s.estimator != "campaign"

    def compute(progress: Any) -> tuple[Context, Components]:
        cat = resolve_catalog(s.catalog, list(data.frame.columns))
        path, meta = _components_key(data, s, cat)
        if on_disk and (stored := _load_components(path, meta)) is not None:
            return Context(catalog=cat), stored
        need = s.estimator == "counterfactual" or s.propensity or models_ready(data, s)
        trained = trained_models(data, s) if need else None
        ctx = Context(
            catalog=cat,
            models=getattr(trained, "key_factors", None),
            acceptance=getattr(trained, "acceptance", None),
        )
        if s.estimator == "campaign":
            from ui.campaigns import offer_response

            ctx = replace(ctx, models=offer_response(s))
        comps = pipeline.components_for(data.frame, s, ctx, progress=progress)
        path, meta = _components_key(data, s, cat)  # the models may be new
        try:
            if on_disk:
                _save_components(path, meta, comps)
        except OSError:  # a read-only models folder: the memory cache still works
            pass
        return ctx, comps

    key = (data.sha256, s.catalog, s.estimator, s.seed, s.model_preset, s.campaign)
    label = f"Estimating the opportunity of every offer ({s.estimator})..."
    ctx, comps = guarded(lambda: cached("components", key, compute, label=label))
    return ctx, comps


def trained(data: LoadedData | None = None, s: Settings | None = None) -> Any:
    """The trained models when the scenario needs them or they are on disk, else None."""
    data = data or require_data()
    s = s or settings()
    need = s.estimator == "counterfactual" or s.propensity or models_ready(data, s)
    return guarded(lambda: trained_models(data, s)) if need else None


def context_and_components(
    data: LoadedData | None = None, s: Settings | None = None
) -> tuple[Context, Components, Any]:
    """(Context, Components, TrainedModels or None) of the current data and scenario.

    The models are trained when the estimator or the propensity needs them, and loaded when
    they are already on disk; otherwise (peer-bayes, neighbours on new data) they are None.
    Pages that need only the catalog or the components call :func:`components` (it does not
    load the models when the components come from disk). The ``campaign`` estimator's log is
    read and fitted once (:func:`ui.campaigns.offer_response`).
    """
    data = data or require_data()
    s = s or settings()
    ctx, comps = components(data, s)
    models = trained(data, s)
    if models is not None:  # the campaign estimator keeps its offer response as the models
        kept = ctx.models if s.estimator == "campaign" else models.key_factors
        ctx = replace(ctx, models=kept, acceptance=models.acceptance)
    return ctx, comps, models


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _propensity(
    sha: str, catalog: str, campaign: str, _frame: pd.DataFrame, _ctx: Context
) -> np.ndarray:
    return pipeline.propensity_for(_frame, _ctx)


def acceptance_propensity(data: LoadedData | None = None, s: Settings | None = None) -> np.ndarray:
    """Acceptance propensity [n, P] of every customer and product, whatever the scenario.

    With the ``campaign`` estimator the campaign's products take the acceptance it measured.
    """
    data = data or require_data()
    s = s or settings()
    ctx, _, _ = context_and_components(data, s)
    if ctx.acceptance is None:  # the scenario did not need them: train (or load) them now
        found = guarded(lambda: trained_models(data, s))
        ctx = replace(ctx, acceptance=found.acceptance)
    log = s.campaign if s.estimator == "campaign" else ""
    prop: np.ndarray = guarded(lambda: _propensity(data.sha256, s.catalog, log, data.frame, ctx))
    return prop


def propensity(s: Settings | None = None, data: LoadedData | None = None) -> np.ndarray | None:
    """Acceptance propensity [n, P] when the scenario uses it, else None."""
    s = s or settings()
    return acceptance_propensity(data, s) if s.propensity else None


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _problem(
    sha: str, problem_json: str, _s: Settings, _ctx: Context, _comps: Components, _prop: Any
) -> JourneyProblem:
    return pipeline.problem_for(_comps, _ctx.catalog, _s, _prop)


def problem(s: Settings | None = None, data: LoadedData | None = None) -> JourneyProblem:
    """The journey problem of the scenario's weights, levers and propensity (cached; the
    solver's settings do not change it)."""
    s = s or settings()
    data = data or require_data()
    ctx, comps = components(data, s)
    prop = propensity(s, data)
    out: JourneyProblem = guarded(
        lambda: _problem(data.sha256, problem_key(s), s, ctx, comps, prop)
    )
    return out


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _solve(
    sha: str, settings_json: str, _s: Settings, _problem: JourneyProblem, _comps: Components
) -> JourneyResult:
    return pipeline.optimize(_problem, _s, components=_comps)


def solved(
    s: Settings | None = None, data: LoadedData | None = None
) -> tuple[JourneyProblem, JourneyResult]:
    """(problem, solver result) of the current (or given) scenario, cached per data and settings.

    What the figures need; :func:`outcome` adds the journeys table.
    """
    s = s or settings()
    data = data or require_data()
    _, comps = components(data, s)
    prob = problem(s, data)
    result: JourneyResult = guarded(lambda: _solve(data.sha256, results_key(s), s, prob, comps))
    return prob, result


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


def outcome(s: Settings | None = None, data: LoadedData | None = None) -> Outcome:
    """The current (or given) scenario's :class:`core.pipeline.Outcome`, journeys table included.

    Cached per data and settings; pages that only need scores call :func:`solved`.
    """
    s = s or settings()
    data = data or require_data()
    ctx, comps = components(data, s)
    prop = propensity(s, data)
    solution = solved(s, data)
    out: Outcome = guarded(
        lambda: _outcome(data.sha256, results_key(s), s, ctx, comps, prop, solution)
    )
    return out


@st.cache_resource(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _baseline(
    sha: str, key: str, name: str, _s: Settings, _problem: Any, _comps: Any
) -> JourneyResult:
    return pipeline.optimize(_problem, _s, solver=name, components=_comps)


def baselines(
    s: Settings | None = None,
    names: tuple[str, ...] = pipeline.DEFAULT_BASELINES,
    data: LoadedData | None = None,
) -> dict[str, JourneyResult]:
    """The study's baselines and greedy on the current problem: {name: JourneyResult}.

    Cached per problem (:func:`ui.cache.problem_key`): the exact and the annealed journeys of
    the same weights share them.
    """
    s = s or settings()
    data = data or require_data()
    _, comps = components(data, s)
    prob = problem(s, data)

    def one(name: str) -> JourneyResult:
        key = results_key(s) if name == s.solver else problem_key(s)
        result: JourneyResult = guarded(lambda: _baseline(data.sha256, key, name, s, prob, comps))
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
    sha: str,
    settings_json: str,
    _s: Settings,
    _solution: tuple,
    _comps: Any,
    _exact: JourneyResult,
    _base: dict[str, JourneyResult],
) -> dict[str, Any]:
    problem, result = _solution
    return pipeline.report(
        result,
        problem,
        _s,
        components=_comps,
        verify="exact",
        exact=_exact,
        baseline_results=_base,
    )


def report(s: Settings | None = None, data: LoadedData | None = None) -> dict[str, Any]:
    """core.pipeline.report with ``verify="exact"`` for the current scenario.

    The exact journeys and the baselines come from their caches (the default scenario's
    solver is exact, so on the Journeys page only the annealer itself is new work).
    """
    s = s or settings()
    data = data or require_data()
    _, comps = components(data, s)
    solution = solved(s, data)
    exact = solution[1] if s.solver == "exact" else solved(s.with_(solver="exact"), data)[1]
    base = baselines(s, tuple(b for b in pipeline.DEFAULT_BASELINES if b != s.solver), data)
    rep: dict[str, Any] = guarded(
        lambda: _report(data.sha256, results_key(s), s, solution, comps, exact, base)
    )
    return rep


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _check(
    sha: str,
    settings_json: str,
    _s: Settings,
    _problem: JourneyProblem,
    _comps: Components,
    _exact: JourneyResult | None,
) -> tuple[JourneyResult, dict[str, Any]]:
    return pipeline.sampled_report(_problem, _comps, _s, exact=_exact)


def annealer_check(
    s: Settings | None = None, data: LoadedData | None = None, *, reuse_exact: bool = False
) -> tuple[JourneyResult, dict[str, Any]]:
    """The annealer (the scenario's schedule) on a fixed seeded sample of customers, judged
    against the exact solver and the study's baselines on the same customers.

    :func:`core.pipeline.sampled_report` on :data:`core.pipeline.CHECK_SAMPLE` customers:
    (the annealer's result on the sample, its report with ``sample`` and ``population``).
    Cached per data and settings; the problem is the scenario's (shared with the exact solver).
    With ``reuse_exact`` (the page shows the exact journeys of every customer anyway) the
    referee is the sample's rows of those cached exact journeys instead of a new exact run on
    the sample: the same journeys and scores, so the same report and the same cache key.
    """
    s = (s or settings()).with_(solver="anneal")
    data = data or require_data()
    _, comps = components(data, s)
    prob = problem(s, data)
    exact = solved(s.with_(solver="exact"), data)[1] if reuse_exact else None
    out: tuple[JourneyResult, dict[str, Any]] = guarded(
        lambda: _check(data.sha256, scenario_key(s), s, prob, comps, exact)
    )
    return out


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _churn_proba(sha: str, models: str, _path: Path, _meta: dict, _data: Any, _s: Any) -> Any:
    got = load_arrays(_path, _meta)
    if got is not None:
        return got[0]["proba"]
    found = trained(_data, _s)
    if found is None or "churn" not in found.key_factors.factors_:
        return None
    proba = np.asarray(found.key_factors.predict_factor(_data.frame, None, "churn"), dtype=float)
    try:
        save_arrays(_path, {"proba": proba}, _meta)
    except OSError:
        pass
    return proba


def churn_proba(data: LoadedData | None = None, s: Settings | None = None) -> np.ndarray | None:
    """Predicted churn probability per customer (None without trained churn models).

    Kept on disk next to the models, so the Overview of a restarted server does not wait for
    the models to load.
    """
    data = data or require_data()
    s = s or settings()
    fingerprint = models_fingerprint(data, s)
    if fingerprint is None and trained(data, s) is None:
        return None
    fingerprint = fingerprint or models_fingerprint(data, s) or "none"
    path, meta = _disk_key(data, s, "churn", catalog=s.catalog)
    proba: np.ndarray | None = guarded(
        lambda: _churn_proba(data.sha256, fingerprint, path, meta, data, s)
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


def catalog(data: LoadedData | None = None, s: Settings | None = None) -> Any:
    """The scenario's catalog, restricted to the data's columns (its products, labels, rules)."""
    ctx, _ = components(data, s)
    return ctx.catalog


def journeys_csv_maker(s: Settings | None = None) -> Any:
    """A callable that renders the journeys table as safe CSV (a deferred download)."""
    return csv_maker(outcome(s).table)


def csv_maker(table: pd.DataFrame) -> Any:
    """A callable that renders ``table`` as safe CSV (a deferred download)."""
    from core.ops.export import render

    return lambda: render(table, "csv").data
