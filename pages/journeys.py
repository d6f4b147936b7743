"""Journeys: which offers, in which order, and how good is the optimizer at finding them?"""

import pandas as pd
import streamlit as st

import ui
from core.pipeline import CHECK_SAMPLE, Settings

ui.intro(
    "Journeys",
    "The ordered offers recommended to every customer and how much they are worth. The "
    "**solver** searches each customer's best journey under the catalog's rules; *exact* "
    "enumerates them (optimal, fast on small catalogs), *anneal* is simulated annealing whose "
    "temperature schedule you tune here. Read the left plot as *how hot the search is* and the "
    "right one as *how good the journeys get per iteration*; the table below compares it with "
    "the exact optimum and with the study's simple strategies. The annealing figures, plots and "
    f"comparison cover a fixed seeded sample of {CHECK_SAMPLE:,} customers (all of them when "
    "there are fewer); the total, the flows and the table cover every customer.",
)
ui.require_data()
#: The strategies' table is static (a grid updates its screen-reader copy ~0.2 s after a change)
BASELINE_FORMATS = {
    "annealing ≥ baseline": "{:.1%}",
    "annealing better": "{:.1%}",
    "mean uplift": "{:,.4f}",
    "seconds": "{:.3f}",
}
ROWS = 500  # journey table rows per page in the grid (the browser gets one page at a time)
#: Rows per page of the static table (the default view): a weight change redraws it at once,
#: where the grid shows its new rows ~0.2 s after it gets them (issue 19)
STATIC_ROWS = 20
FLOW_STEPS = 3  # the flows go from the first to the second and from the second to the third offer


def journey_table(s: Settings, table: pd.DataFrame) -> None:
    """The journey table, one page at a time (:data:`STATIC_ROWS` rows as a static table, or
    :data:`ROWS` in a grid to sort and search), and its CSV download."""
    st.subheader("Journey table")
    a, b, c = st.columns([3, 1, 1], vertical_alignment="bottom")
    a.caption(f"{len(table):,} rows (one per customer and step) · solver {s.solver}")
    grid = a.toggle(
        "Sort and search",
        key="j_table_grid",
        help=f"A grid of {ROWS} rows per page that sorts and searches; off: {STATIC_ROWS} rows "
        "per page as a plain table, redrawn at once when a weight moves.",
    )
    rows = ROWS if grid else STATIC_ROWS
    pages = max(1, -(-len(table) // rows))
    page = b.number_input(f"Page (of {pages:,})", 1, pages, 1, key="j_table_page")
    c.download_button(
        "Download CSV",
        ui.journeys_csv_maker(s),
        "journeys.csv",
        "text/csv",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        key="j_table_csv",
    )
    start = (min(int(page), pages) - 1) * rows
    shown = table.iloc[start : start + rows]
    if grid:
        st.dataframe(shown, hide_index=True, width="stretch", height=360)
    else:
        st.table(ui.static_table(shown))


def contact_section(table: pd.DataFrame) -> None:
    """Each step's contact date and discount level, or why there are none."""
    st.subheader("When to contact, and at what discount")
    dates = ui.step_dates(table)
    if dates is None:
        st.info(ui.NO_DATES)
    else:
        st.dataframe(dates, hide_index=True, width="stretch", height=240)
    data = ui.require_data()
    catalog = ui.catalog()
    levels = ui.guarded(lambda: ui.step_discounts(table, data.frame, data.sha256, catalog))
    if levels is None:
        st.info(ui.NO_DISCOUNTS)
    else:
        st.caption(
            "Discount per step: the level whose expected margin (acceptance x (margin - discount) "
            "x price) beats list price in at least 90% of bootstrap fits; 0 = list price."
        )
        st.dataframe(levels, hide_index=True, width="stretch", height=240)


@st.fragment
def body() -> None:
    # the solver's controls stay in the fragment: out of it, each change of them would rerun
    # the whole page and start the sidebar's warm-up of the new scenario
    ui.solver_controls()
    with st.expander("Weights", icon=":material/balance:"):
        s = ui.weight_sliders("j_w")
    out = ui.outcome(s)
    # The page's sections in their order; the tables are drawn first. A data grid shows new
    # rows ~0.2 s after it gets them, so the figures above are computed and drawn meanwhile
    # (drawn last, the table's wait came on top of everything else).
    figures, tables, contacts = st.container(), st.container(), st.container()
    with tables:
        journey_table(s, out.table)
    with contacts:
        contact_section(out.table)
    anneal = s.with_(solver="anneal")
    # with the exact journeys on the page, their rows of the sample referee the annealer
    diag, rep = ui.annealer_check(anneal, reuse_exact=s.solver == "exact")
    total = ui.journey_summary(s).total_opportunity
    quality = ui.quality(s)
    pair = ui.anneal_charts(diag.trace, anneal.schedule)
    comparison = ui.baseline_comparison(rep=rep)
    flows = ui.flow_charts(ui.journey_flows(s, FLOW_STEPS), FLOW_STEPS)
    sampled = rep["sample"] < rep["population"]
    checked = f"the {rep['sample']:,} sampled customers" if sampled else "all customers"
    metrics = [
        ("Total opportunity", f"{total:,.2f}",
         f"Sum of the {s.solver} journeys' opportunity over all customers."),
        ("Annealing optimal", f"{rep['share_optimal']:.2%}",
         f"Share of {checked} whose annealed journey scores as the exact optimum."),
        ("Mean gap", f"{rep['mean_gap']:.4f}",
         f"Exact minus annealed score, averaged over {checked}."),
        ("Worst gap", f"{rep['max_gap']:.3f}",
         f"The largest exact minus annealed score of {checked}."),
        ("Annealing time", f"{rep['seconds_optimize']:.2f} s",
         f"{anneal.iters} iterations per run, {anneal.restarts} restart(s), {checked}."),
    ]  # fmt: skip
    with figures:
        ui.metric_grid(metrics)
        ui.quality_panel(quality, ceiling_ready=ui.ceiling_ready(), on_ceiling=ui.compute_ceiling)
        if pair:
            left, right = st.columns(2)
            ui.show_vega(pair[0], "j_anneal_temperature", left)
            ui.show_vega(pair[1], "j_anneal_scores", right)
            st.caption(f"{pair[0].summary} {pair[1].summary}")
        st.subheader("Against the study's strategies")
        cap, get = st.columns([4, 1], vertical_alignment="bottom")
        cap.caption(f"Annealing against each strategy on {checked}.")
        get.download_button(
            "Download CSV",
            ui.csv_maker(comparison),
            "strategies.csv",
            "text/csv",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
            key="j_strategies_csv",
        )
        st.table(comparison.style.format(BASELINE_FORMATS).hide(axis="index"))
        st.subheader("First → second → third offer")
        for i, chart in enumerate(flows):
            ui.show_vega(chart, f"j_flows_{i + 1}")
        st.caption(
            "Flows show customers who go on to a further offer; every first offer is on the "
            "Overview page. Largest: " + " · ".join(c.summary for c in flows) + "."
        )
    # drawn: now the next step of the weight the user is moving, in the background
    ui.prepare_next_weights(s, FLOW_STEPS)


body()
