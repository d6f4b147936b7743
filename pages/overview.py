"""Overview: how is the customer base doing, and what would the optimized journeys add?"""

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

import ui

ui.intro(
    "Overview",
    "How the customer base is doing today and what the recommended journeys add. Each card is "
    "a figure for the whole population; the small number under it is the change against the "
    "**best simple strategy** (the best of greedy and the study's first-offer rules), so a "
    "green delta is what the optimizer earns on top of it. The horizon sets the revenue-at-risk "
    "window. Tune the weights on *Opportunity* and the solver on *Journeys*.",
)
data = ui.require_data()
horizon = ui.horizon_select()
ctx, comps, _ = ui.context_and_components()
out = ui.outcome()
cards = ui.kpis(horizon)

for row in (cards[:4], cards[4:]):
    cols = st.columns(4)
    for col, k in zip(cols, row, strict=False):
        col.metric(
            k.label, k.formatted(), k.formatted_delta(), help=k.help, border=True, width="stretch"
        )

labels = ui.label_of(ctx.catalog)
colours = ui.colour_map(ctx.catalog)
left, right = st.columns(2)
with left:
    first = out.table[out.table["step"] == 1]["product_label"].value_counts()
    top = pd.DataFrame({"offer": first.index, "customers": first.to_numpy()})
    fig = px.bar(
        top,
        x="customers",
        y="offer",
        orientation="h",
        color="offer",
        color_discrete_map=colours,
        title="Recommended first offer",
    )
    fig.update_layout(showlegend=False, yaxis={"categoryorder": "total ascending", "title": None})
    st.plotly_chart(ui.style(fig), width="stretch")
with right:
    by = "Contract" if "Contract" in data.frame else None
    if by:
        seg = pd.DataFrame({by: data.frame[by].to_numpy(), "opportunity": out.result.scores})
        seg = seg.groupby(by, as_index=False)["opportunity"].sum()
        fig = px.bar(seg, x=by, y="opportunity", title="Journey opportunity by contract type")
        fig.update_traces(marker_color=ui.PALETTE["offer"])
        fig.update_layout(yaxis_title="Total opportunity", xaxis_title=None)
        st.plotly_chart(ui.style(fig), width="stretch")

proba = ui.churn_proba()
if proba is not None:
    fig = px.histogram(
        pd.DataFrame({"churn probability": proba}),
        x="churn probability",
        nbins=40,
        title="Churn-risk distribution (predicted by the churn model)",
    )
    fig.update_traces(marker_color=ui.FACTOR_COLOURS["churn"])
    fig.update_layout(yaxis_title="Customers", bargap=0.05)
    st.plotly_chart(ui.style(fig, 300), width="stretch")
    high = float(np.mean(proba >= 0.5))
    st.caption(f"{high:.1%} of customers have a predicted churn probability of 50% or more.")
else:
    st.info(
        "Predicted churn risk needs the trained models: choose the counterfactual estimator on "
        "*Opportunity* (it trains them) to see the distribution.",
        icon=":material/info:",
    )
