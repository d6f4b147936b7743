"""Overview: how is the customer base doing, and what would the optimized journeys add?"""

import streamlit as st

import ui

ui.intro(
    "Overview",
    "How the customer base is doing today and what the recommended journeys add. Each card is "
    "a figure for the whole population; the small number under it is the change against the "
    "**best simple strategy** (the best of greedy and the study's first-offer rules), so a "
    "green delta is what the optimizer earns on top of it. The horizon sets the revenue-at-risk "
    "window. Tune the weights on *Opportunity* and the solver on *Journeys*; take the page "
    "away as the **executive report**.",
)
ui.require_data()
catalog = ui.catalog()


@st.fragment
def cards() -> None:
    """The horizon, the KPI cards and the report: a horizon change reruns only this part."""
    choose, download = st.columns([1, 1], vertical_alignment="bottom")
    with choose:
        horizon = ui.horizon_select()
    with download:
        ui.report_buttons(horizon)
    kpis = ui.kpis(horizon)
    for row in (kpis[i : i + 3] for i in range(0, len(kpis), 3)):  # whole figures at 1280 px
        for col, k in zip(st.columns(3), row, strict=False):
            col.metric(
                k.label,
                k.formatted(),
                k.formatted_delta(),
                help=k.help,
                border=True,
                width="stretch",
            )


cards()
left, right = st.columns(2)
ui.plot(ui.first_offer_bar(ui.first_offer_counts(), ui.colour_map(catalog)), left)
if (by_contract := ui.opportunity_by("Contract")) is not None:
    ui.plot(ui.opportunity_by_bar(by_contract, "Contract"), right)

if (risk := ui.churn_risk(0.5)) is not None:
    ui.plot(ui.churn_histogram(ui.churn_bins()))
    st.caption(f"{risk[1]:.1%} of customers have a predicted churn probability of 50% or more.")
else:
    st.info(
        "Predicted churn risk needs the trained models: choose the counterfactual estimator on "
        "*Opportunity* (it trains them) to see the distribution.",
        icon=":material/info:",
    )
