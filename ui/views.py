"""What the pages draw, computed by core.insights for the current scenario and cached.

Each function reads the current data and scenario and calls the pure function of
:mod:`core.insights` that computes the figures. The views that take more than a few
milliseconds are cached with ``st.cache_resource`` per data sha256 and scenario key (the core
objects they read are passed unhashed). Factor keys become the dashboard's labels here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import insights
from core.insights import KPI, CustomerView, JourneySummary, OpportunityViews
from core.opportunity import offerable_now
from core.pipeline import Settings
from ui._base import CACHE_TTL
from ui.cache import results_key
from ui.charts import FACTOR_LABELS
from ui.data import require_data
from ui.pipeline import (
    baselines,
    best_baseline,
    churn_proba,
    components,
    context_and_components,
    outcome,
    report,
    solved,
    trained,
)
from ui.segments import segments_page
from ui.state import settings


def _labelled(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """``frame`` with its ``factor`` keys replaced by the dashboard's factor labels."""
    if frame is None or "factor" not in frame:
        return frame
    return frame.assign(factor=frame["factor"].map(lambda f: FACTOR_LABELS.get(f, f)))


# -- Overview ---------------------------------------------------------------------------------


def kpis(horizon: int) -> list[KPI]:
    """Executive KPIs of the current scenario, with deltas against the best baseline."""
    data = require_data()
    _, result = solved()
    name, base = best_baseline()
    ctx, comps = components()
    offerable = np.asarray(offerable_now(ctx.catalog, comps.held).any(axis=1))
    return insights.overview_kpis(
        data.frame,
        result,
        base,
        name,
        churn_proba=churn_proba(),
        horizon_months=horizon,
        offerable=offerable,
    )


def first_offer_counts() -> pd.DataFrame:
    """Customers per recommended first offer (``offer``, ``customers``), most frequent first."""
    return insights.first_offer_counts(outcome().table)


def opportunity_by(column: str = "Contract") -> pd.DataFrame | None:
    """Total journey opportunity per value of ``column`` (None when the data lacks it)."""
    _, result = solved()
    return insights.opportunity_by(require_data().frame, result.scores, column)


def churn_risk(threshold: float = 0.5) -> tuple[np.ndarray, float] | None:
    """(predicted churn probability per customer, share at ``threshold`` or more), or None."""
    proba = churn_proba()
    if proba is None:
        return None
    return proba, insights.high_risk_share(proba, threshold)


def churn_bins(bins: int = 20) -> pd.DataFrame | None:
    """Customers per band of predicted churn probability (:func:`core.insights.histogram`)."""
    proba = churn_proba()
    return None if proba is None else insights.histogram(proba, bins)


# -- Opportunity and Journeys -----------------------------------------------------------------


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _opportunity_views(
    sha: str, settings_json: str, _problem: Any, _comps: Any, _catalog: Any
) -> OpportunityViews:
    return insights.opportunity_views(_problem, _comps, _catalog)


def opportunity_views(s: Settings | None = None) -> OpportunityViews:
    """:func:`core.insights.opportunity_views` of the current (or given) scenario (cached)."""
    s = s or settings()
    data = require_data()
    ctx, comps = components()
    problem, _ = solved(s)
    return _opportunity_views(data.sha256, results_key(s), problem, comps, ctx.catalog)


def journey_summary(s: Settings | None = None, baseline: str | None = None) -> JourneySummary:
    """Total, share with an offer and offers per journey, with the delta against ``baseline``."""
    s = s or settings()
    _, result = solved(s)
    base = baselines(s, (baseline,))[baseline] if baseline else None
    return insights.journey_summary(result, base)


def journey_steps(s: Settings | None = None, steps: int = 3) -> pd.DataFrame:
    """One row per customer: ``customer_id``, ``score``, ``length``, ``step 1..steps`` labels."""
    ctx, _ = components()
    problem, result = solved(s)
    return insights.journey_steps(problem, result, ctx.catalog.labels, steps)


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _journey_flows(
    sha: str, settings_json: str, steps: int, _solution: tuple, _labels: tuple[str, ...]
) -> pd.DataFrame:
    problem, result = _solution
    return insights.journey_flows(problem, result, _labels, steps)


def journey_flows(s: Settings | None = None, steps: int = 3) -> pd.DataFrame:
    """Customers going from one offer to the next (:func:`core.insights.journey_flows`)."""
    s = s or settings()
    data = require_data()
    ctx, _ = components()
    solution = solved(s)
    return _journey_flows(data.sha256, results_key(s), int(steps), solution, ctx.catalog.labels)


def baseline_comparison(
    s: Settings | None = None, rep: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The scenario's report (or ``rep``, e.g. :func:`ui.pipeline.annealer_check`'s) against
    the study's strategies, one row per baseline."""
    return insights.baseline_table(rep if rep is not None else report(s))


def segment_journeys(segment: str | None, horizon: int = 12) -> pd.DataFrame:
    """The current journeys table, or only the rows of one segment's customers."""
    table = outcome().table
    if segment is None:
        return table
    return insights.segment_journeys(table, segments_page(horizon).segmentation, segment)


# -- Customer ---------------------------------------------------------------------------------


def example_customers(k: int = 5) -> np.ndarray:
    """Ids of ``k`` customers worth a look (the longest, then the best journeys)."""
    problem, result = solved()
    return insights.example_customers(problem, result, k)


def customer_index(customer_id: str) -> int | None:
    """Row of a customer id in the current data (None when absent)."""
    problem, _ = solved()
    return insights.customer_index(problem.ids, customer_id)


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _customer_view(
    sha: str,
    settings_json: str,
    idx: int,
    models: str,
    _s: Settings,
    _out: Any,
    _frame: pd.DataFrame,
    _key_factors: Any,
    _propensity: np.ndarray | None,
) -> CustomerView:
    view = insights.customer_view(
        idx,
        frame=_frame,
        catalog=_out.context.catalog,
        components=_out.components,
        problem=_out.problem,
        result=_out.result,
        table=_out.table,
        settings=_s,
        key_factors=_key_factors,
        propensity=_propensity,
    )
    return replace(
        view,
        journey_parts=_labelled(view.journey_parts),
        first_parts=_labelled(view.first_parts),
        factors=_labelled(view.factors),
    )


def customer_view(idx: int) -> CustomerView:
    """:func:`core.insights.customer_view` of row ``idx`` in the current scenario (cached).

    Factors carry the dashboard's labels (:data:`ui.charts.FACTOR_LABELS`).
    """
    data = require_data()
    s = settings()
    _, _, found = context_and_components()
    out = outcome(s)
    models = "none" if found is None else str(found.models_dir)
    key_factors = None if found is None else found.key_factors
    return _customer_view(
        data.sha256,
        results_key(s),
        int(idx),
        models,
        s,
        out,
        data.frame,
        key_factors,
        out.propensity,
    )


def drivers(top: int = 8) -> pd.DataFrame | None:
    """Held-out permutation importance of each key-factor model (from the training metrics).

    Long frame ``factor`` (label), ``feature``, ``importance``, the ``top`` features per factor;
    None without trained models.
    """
    models = trained()
    if models is None:
        return None
    return _labelled(insights.drivers(models.metrics, top))
