"""Overview: how is the customer base doing, and what would the optimized journeys add?"""

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
ui.require_data()
horizon = ui.horizon_select()
ctx, _, _ = ui.context_and_components()
cards = ui.kpis(horizon)

for row in (cards[i : i + 4] for i in range(0, len(cards), 4)):
    cols = st.columns(4)
    for col, k in zip(cols, row, strict=False):
        col.metric(
            k.label, k.formatted(), k.formatted_delta(), help=k.help, border=True, width="stretch"
        )

left, right = st.columns(2)
left.plotly_chart(
    ui.first_offer_bar(ui.first_offer_counts(), ui.colour_map(ctx.catalog)), width="stretch"
)
if (by_contract := ui.opportunity_by("Contract")) is not None:
    right.plotly_chart(ui.opportunity_by_bar(by_contract, "Contract"), width="stretch")

if (risk := ui.churn_risk(0.5)) is not None:
    proba, high = risk
    st.plotly_chart(ui.churn_histogram(proba), width="stretch")
    st.caption(f"{high:.1%} of customers have a predicted churn probability of 50% or more.")
else:
    st.info(
        "Predicted churn risk needs the trained models: choose the counterfactual estimator on "
        "*Opportunity* (it trains them) to see the distribution.",
        icon=":material/info:",
    )
