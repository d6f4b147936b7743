"""Opportunity: what is each offer worth, to whom, and after which other offer?"""

import time

import streamlit as st

import ui

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
ui.opportunity_controls()
ui.risk_controls()
ctx, comps = ui.components()


@st.fragment
def live() -> None:
    t0 = time.perf_counter()
    ui.weight_sliders("opp_w")
    with st.expander("Product levers", icon=":material/tune:"):
        s = ui.lever_sliders(ctx.catalog)
    summary = ui.journey_summary(s, baseline="greedy")
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "Total journey opportunity",
        f"{summary.total_opportunity:,.1f}",
        f"{summary.delta:+,.1f} vs greedy",
        help="Sum over customers of the optimized journeys' opportunity; delta against the "
        "greedy strategy (Overview compares with the best of all the study's strategies).",
        border=True,
    )
    m2.metric(
        "Customers with a next offer",
        f"{summary.share_with_offer:.1%}",
        help="Share of customers whose journey has at least one offer worth making.",
        border=True,
    )
    m3.metric(
        "Offers per journey",
        f"{summary.mean_length:.2f}",
        help="Average number of offers in a recommended journey.",
        border=True,
    )
    ui.quality_panel(
        ui.quality(s),
        ceiling_ready=ui.ceiling_ready(),
        on_ceiling=ui.compute_ceiling,
        tradeoff=ui.tradeoff(s),
        on_tradeoff=ui.compute_tradeoff,
    )
    views = ui.opportunity_views(s)
    box, heat, best = ui.opportunity_charts(views, ui.colour_map(ctx.catalog))
    left, right = st.columns(2)
    ui.show_vega(box, "opp_box", left)
    ui.show_vega(heat, "opp_heat", right)
    ui.show_vega(best, "opp_best")
    st.caption(f"{box.summary} {heat.summary} {best.summary}")
    seconds = time.perf_counter() - t0
    st.caption(
        f"Re-optimized {summary.n_customers:,} journeys and redrew in {seconds:.2f} s (server)."
    )
    if comps.notes:
        st.caption("Notes: " + " ".join(comps.notes))


live()
