"""Opportunity: what is each offer worth, to whom, and after which other offer?"""

import time

import plotly.graph_objects as go
import streamlit as st

import ui
from core.data.catalog import available_catalogs
from core.opportunity import ESTIMATORS

ui.intro(
    "Opportunity",
    "What each offer is worth. The *opportunity* of offering a product is a weighted sum of how "
    "much it is expected to raise lifetime value, lower churn risk and raise satisfaction; the "
    "weights are yours. **Levers** scale a product up or down (a campaign, a margin). Read the "
    "box plot as *how valuable is this product as the next offer*, the heatmap as *what it is "
    "worth right after another offer* and the last chart as *for how many customers it is the "
    "single best next step*. Moving a slider only recombines cached estimates.",
)
ui.require_data()
s = ui.settings()
c1, c2, c3, c4 = st.columns([1.6, 1, 1, 1])
estimator = c1.segmented_control(
    "Estimator",
    ESTIMATORS,
    key=ui.bind("opp_estimator", s.estimator),
    help="counterfactual: what the trained models predict if the customer took the offer "
    "(the most accurate on ground truth); peer-bayes: how similar holders differ; neighbours: "
    "nearest look-alike customers.",
)
catalog = c2.selectbox(
    "Catalog", available_catalogs(), key=ui.bind("opp_catalog", s.catalog), help="Products."
)
propensity = c3.toggle(
    "× acceptance",
    key=ui.bind("opp_prop", s.propensity),
    help="Multiply each offer by the predicted probability that the customer accepts it.",
)
aggregation = c4.selectbox(
    "Held products",
    ("sum", "mean", "max"),
    key=ui.bind("opp_agg", s.aggregation),
    help="How the products a customer already holds combine before the first offer.",
)
ui.update_settings(
    estimator=estimator or s.estimator,
    catalog=catalog,
    propensity=propensity,
    aggregation=aggregation,
)
ctx, comps, _ = ui.context_and_components()


@st.fragment
def live() -> None:
    t0 = time.perf_counter()
    s = ui.weight_sliders("opp_w")
    with st.expander("Product levers", icon=":material/tune:"):
        cols = st.columns(ctx.catalog.n_products)
        levers = {}
        for col, key, label in zip(cols, ctx.catalog.keys, ctx.catalog.labels, strict=True):
            levers[key] = col.slider(
                label, 0.0, 3.0, step=0.1, key=ui.bind(f"lever_{key}", s.levers.get(key, 1.0))
            )
        s = ui.update_settings(levers={k: v for k, v in levers.items() if v != 1.0})
    out = ui.outcome(s)
    name, base = ui.best_baseline(s, ("greedy",))
    m1, m2, m3 = st.columns(3)
    total, btotal = float(out.result.scores.sum()), float(base.scores.sum())
    m1.metric(
        "Total journey opportunity",
        f"{total:,.1f}",
        f"{total - btotal:+,.1f} vs {name}",
        help="Sum over customers of the optimized journeys' opportunity; delta against the "
        "greedy strategy (Overview compares with the best of all the study's strategies).",
        border=True,
    )
    m2.metric(
        "Customers with a next offer",
        f"{(out.result.lengths > 0).mean():.1%}",
        help="Share of customers whose journey has at least one offer worth making.",
        border=True,
    )
    m3.metric(
        "Offers per journey",
        f"{out.result.lengths.mean():.2f}",
        help="Average number of offers in a recommended journey.",
        border=True,
    )
    views = ui.opportunity_views(out.problem, comps, ctx.catalog)
    colours = ui.colour_map(ctx.catalog)
    left, right = st.columns(2)
    fig = go.Figure()
    for r in views["first"].itertuples():
        fig.add_box(
            x=[r.product], q1=[r.q1], median=[r.median], q3=[r.q3], lowerfence=[r.p5],
            upperfence=[r.p95], mean=[r.mean], name=r.product, showlegend=False,
            marker_color=ui.product_colour(r.key),
        )  # fmt: skip
    fig.update_layout(
        title="Opportunity as the next offer (box: quartiles, whiskers: 5th-95th percentile)",
        yaxis_title="Opportunity",
    )
    left.plotly_chart(ui.style(fig), width="stretch")
    m = views["matrix"]
    fig = go.Figure(
        go.Heatmap(
            z=m.to_numpy(), x=list(m.columns), y=list(m.index), colorscale="Blues",
            texttemplate="%{z:.2f}", colorbar={"title": "mean O(i→j)"},
            hovertemplate="after %{y}, offer %{x}: %{z:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title="Mean opportunity of offer j right after offer i",
        xaxis_title="then offer j",
        yaxis={"title": "after offer i", "autorange": "reversed"},
    )
    right.plotly_chart(ui.style(fig), width="stretch")
    best = views["best"]
    fig = go.Figure(
        go.Bar(x=best["product"], y=best["customers"],
               marker_color=[colours[p] for p in best["product"]])
    )  # fmt: skip
    fig.update_layout(title="Customers for whom each offer is the best next step",
                      yaxis_title="Customers")  # fmt: skip
    st.plotly_chart(ui.style(fig, 320), width="stretch")
    st.caption(f"Re-optimized {len(out.result.scores):,} journeys and redrew in "
               f"{time.perf_counter() - t0:.2f} s (server).")  # fmt: skip
    if comps.notes:
        st.caption("Notes: " + " ".join(comps.notes))


live()
