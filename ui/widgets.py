"""Shared widgets: the page intro, the sidebar, and the controls bound to the scenario.

Each control reads its value from the scenario through :func:`ui.state.bind` (so it follows a
loaded scenario or a URL) and writes what the user chose back with
:func:`ui.state.update_settings` (so the URL follows the widgets).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.insights.overview import HORIZONS
from core.pipeline import Settings
from ui.charts import FACTOR_LABELS
from ui.data import current_data
from ui.state import (
    DEFAULT_SETTINGS,
    SOURCE,
    bind,
    ensure_router,
    init_state,
    segment_options,
    set_segment_options,
    set_settings,
    settings,
    update_settings,
)
from ui.warmup import warm_up


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
    """The shared sidebar: data source, the scenario in one line, reset, and the start-up
    warm-up of the caches with its progress (:func:`ui.warmup.warm_up`)."""
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
        warm_up(current_data(), s)


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


def lever_sliders(catalog: Any) -> Settings:
    """One lever slider per product (0 switches it off, 1 leaves it); returns the settings."""
    s = settings()
    cols = st.columns(catalog.n_products)
    levers = {}
    for col, key, label in zip(cols, catalog.keys, catalog.labels, strict=True):
        levers[key] = col.slider(
            label, 0.0, 3.0, step=0.1, key=bind(f"lever_{key}", s.levers.get(key, 1.0))
        )
    return update_settings(levers={k: v for k, v in levers.items() if v != 1.0})


def opportunity_controls() -> Settings:
    """Estimator, catalog, acceptance propensity and held-product aggregation widgets."""
    from core.data.catalog import available_catalogs
    from core.opportunity import DATA_ESTIMATORS
    from ui.campaigns import ESTIMATOR_NOTE, demo_log_available, demo_log_setting

    s = settings()
    c1, c2, c3, c4 = st.columns([1.6, 1, 1, 1])
    with_log = demo_log_available() or s.estimator == "campaign"
    estimator = c1.segmented_control(
        "Estimator",
        (*DATA_ESTIMATORS, "campaign") if with_log else DATA_ESTIMATORS,
        key=bind("opp_estimator", s.estimator),
        help="dr (default): doubly robust effects that adjust for who holds what today, with "
        "standard errors; counterfactual: what the trained models predict if the customer "
        "took the offer; peer-bayes: how similar holders differ; neighbours: nearest "
        "look-alike customers"
        + ("; campaign: what the demo's past randomized campaign taught." if with_log else "."),
    )
    names = available_catalogs()
    catalog = c2.selectbox(
        "Catalog",
        names if s.catalog in names else [*names, s.catalog],  # a catalog file of the user's
        key=bind("opp_catalog", s.catalog),
        format_func=lambda c: c if c in names else f"{Path(c).stem} (your file)",
        help="Products.",
    )
    propensity = c3.toggle(
        "× acceptance",
        key=bind("opp_prop", s.propensity),
        help="Multiply each offer by the predicted probability that the customer accepts it.",
    )
    aggregation = c4.selectbox(
        "Held products",
        ("sum", "mean", "max"),
        key=bind("opp_agg", s.aggregation),
        help="How the products a customer already holds combine before the first offer.",
    )
    estimator = estimator or s.estimator
    if estimator == "campaign":
        st.caption(ESTIMATOR_NOTE)
    return update_settings(
        estimator=estimator,
        catalog=catalog,
        propensity=propensity,
        aggregation=aggregation,
        campaign=(s.campaign or demo_log_setting()) if estimator == "campaign" else "",
    )


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


def segment_controls() -> dict[str, Any]:
    """Method, k (or automatic), minimum share: the segmentation widgets; returns the options."""
    from core.insights.segments import METHODS

    opts = segment_options()
    c1, c2, c3, c4 = st.columns(4)
    method = c1.selectbox(
        "Method",
        METHODS,
        key=bind("seg_method", opts["method"]),
        help="k-means (default), DBSCAN (density; finds k itself and leaves noise), "
        "agglomerative (Ward) or a Gaussian mixture.",
    )
    auto = c2.toggle(
        "Choose k automatically",
        key=bind("seg_auto", opts["k"] == "auto"),
        help="Pick the number of segments by silhouette and Calinski-Harabasz (BIC for the "
        "mixture).",
    )
    k = c3.number_input(
        "Segments (k)",
        2,
        12,
        key=bind("seg_k", 4 if opts["k"] == "auto" else int(opts["k"])),
        disabled=auto or method == "dbscan",
    )
    min_share = c4.slider(
        "Minimum segment share",
        0.0,
        0.25,
        step=0.01,
        key=bind("seg_min_share", float(opts["min_share"])),
        help="No segment smaller than this share of customers (0 disables the rule).",
    )
    set_segment_options(method, "auto" if auto or method == "dbscan" else int(k), min_share)
    return segment_options()


def risk_controls() -> Settings:
    """The do-no-harm switch, its confidence level and the allowance for unrecorded confounding."""
    s = settings()
    c1, c2, c3 = st.columns([1, 2, 2])
    on = c1.toggle(
        "Do no harm",
        key=bind("risk_on", s.risk == "lcb"),
        help="Recommend an offer only when it is credibly good: journeys maximise the lower "
        "confidence bound of the opportunity, and an offer whose upper bound is below zero is "
        "never made. Needs an estimator with standard errors (dr); customers for whom nothing "
        "is likely to help are left alone.",
    )
    level = c2.slider(
        "Confidence level",
        0.5,
        0.99,
        key=bind("risk_level", float(s.risk_level)),
        step=0.01,
        disabled=not on,
        help="How sure the bound must be: higher abstains more, harms fewer customers.",
    )
    confounding = c3.slider(
        "Unrecorded confounding",
        0.0,
        1.0,
        key=bind("confounding", float(s.confounding)),
        step=0.05,
        disabled=not on,
        help="Allow for traits the data does not record (need, tech affinity, price "
        "sensitivity) biasing the estimated effects, as a multiple of the bias the recorded "
        "features removed: 0 trusts the adjustment, 0.5 allows half as much again. Higher "
        "leaves more customers alone; on the synthetic truth 0.5 keeps churn- or "
        "satisfaction-only campaigns within 5% harmed (docs/opportunity.md).",
    )
    return update_settings(
        risk="lcb" if on else "none", risk_level=float(level), confounding=float(confounding)
    )


def metric_grid(metrics: list[tuple[str, str, str | None]], per_row: int = 3) -> None:
    """``(label, value, help)`` as bordered KPI cards, ``per_row`` a row (whole at 1280 px)."""
    for i in range(0, len(metrics), per_row):
        for col, (label, value, help_text) in zip(
            st.columns(per_row), metrics[i : i + per_row], strict=False
        ):
            col.metric(label, value, border=True, help=help_text)


def quality_panel(
    q: Any,
    *,
    ceiling_ready: bool,
    on_ceiling: Any,
    tradeoff: Any = None,
    on_tradeoff: Any = None,
) -> None:
    """Captured value and harm of the scenario on the synthetic truth, beside the ceiling; with
    ``on_tradeoff``, the value/harm trade-off of every do-no-harm setting (``tradeoff``, once
    computed, :func:`ui.decision.tradeoff`) or the button that computes it."""
    if q is None:
        return
    st.markdown("**Judged on the synthetic truth**")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Value captured",
        f"{q.captured:.1%}",
        help="Sum of the true values of the recommended journeys over the sum of the "
        "truth-optimal journeys' values (the demo population knows every customer's truth).",
        border=True,
    )
    c2.metric(
        "Made worse off",
        f"{q.share_harmful:.1%}",
        help="Share of customers whose recommended journey has a true value below zero.",
        border=True,
    )
    if q.ceiling is not None:
        c3.metric(
            "Ceiling: captured",
            f"{q.ceiling['captured']:.1%}",
            help="A learner trained on the true effects themselves (which no estimator sees), "
            "cross-fitted, through the same solver: what the data can tell at best.",
            border=True,
        )
        c4.metric("Ceiling: worse off", f"{q.ceiling['share_harmful']:.1%}", border=True)
    elif not ceiling_ready:
        c3.button(
            "Compute the ceiling",
            on_click=on_ceiling,
            help="Train the ceiling learner on the true effects to compare with (about a "
            "minute on the demo population).",
        )
    if on_tradeoff is None:
        return
    if tradeoff is None:
        st.button(
            "Show the value / harm trade-off",
            on_click=on_tradeoff,
            help="Make this scenario's journeys again at every confidence level and allowance "
            "for unrecorded confounding and judge them on the truth (a few seconds): the curve "
            "to pick the do-no-harm setting on.",
        )
        return
    from ui.charts_journeys import show
    from ui.charts_opportunity import tradeoff_chart

    s = settings()
    chart = tradeoff_chart(
        tradeoff, risk=s.risk, risk_level=s.risk_level, confounding=s.confounding
    )
    show(chart, "tradeoff")
    st.caption(chart.summary)


def static_table(frame: Any, digits: int = 4) -> Any:
    """``frame`` formatted for ``st.table`` (a pandas Styler, no index): floats to ``digits``
    significant digits with thousands separators, integers with separators, yes/no for
    booleans, missing values blank.

    For the small tables a control redraws (a dozen rows): a static table is drawn at once,
    where ``st.dataframe``'s grid updates its screen-reader copy ~0.2 s after each change
    (issue 19); the grid stays for long tables (scrolling, sorting, search)."""
    import pandas as pd

    formats: dict[str, Any] = {}
    for name, column in frame.items():
        if pd.api.types.is_bool_dtype(column):
            formats[name] = lambda v: "yes" if v else "no"
        elif pd.api.types.is_integer_dtype(column):
            formats[name] = "{:,}"
        elif pd.api.types.is_float_dtype(column):
            formats[name] = f"{{:,.{digits}g}}"
    return frame.style.format(formats, na_rep="").hide(axis="index")
