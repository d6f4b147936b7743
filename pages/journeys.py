"""Journeys: which offers, in which order, and how good is the optimizer at finding them?"""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import ui

ui.intro(
    "Journeys",
    "The ordered offers recommended to every customer and how much they are worth. The "
    "**solver** searches each customer's best journey under the catalog's rules; *exact* "
    "enumerates them (optimal, fast on small catalogs), *anneal* is simulated annealing whose "
    "temperature schedule you tune here. Read the left plot as *how hot the search is* and the "
    "right one as *how good the journeys get per iteration*; the table below compares it with "
    "the exact optimum and with the study's simple strategies.",
)
ui.require_data()


@st.fragment
def body() -> None:
    s = ui.solver_controls()
    with st.expander("Weights", icon=":material/balance:"):
        s = ui.weight_sliders("j_w")
    ctx, _, _ = ui.context_and_components()
    out = ui.outcome(s)
    anneal = s.with_(solver="anneal")
    diag, rep = ui.outcome(anneal), ui.report(anneal)
    m = st.columns(5)
    m[0].metric(
        "Total opportunity",
        f"{out.result.scores.sum():,.2f}",
        border=True,
        help=f"Sum of the {s.solver} journeys' opportunity over all customers.",
    )
    m[1].metric(
        "Annealing optimal",
        f"{rep['share_optimal']:.2%}",
        border=True,
        help="Share of customers whose annealed journey scores as the exact optimum.",
    )
    m[2].metric(
        "Mean gap",
        f"{rep['mean_gap']:.4f}",
        border=True,
        help="Exact minus annealed score, averaged over customers.",
    )
    m[3].metric(
        "Worst gap",
        f"{rep['max_gap']:.3f}",
        border=True,
        help="The largest exact minus annealed score of any customer.",
    )
    m[4].metric(
        "Annealing time",
        f"{diag.result.seconds.get('total', 0):.2f} s",
        border=True,
        help=f"{anneal.iters} iterations x {anneal.restarts + 1} runs for all customers.",
    )
    tr = pd.DataFrame(diag.result.trace)
    left, right = st.columns(2)
    if len(tr):
        fig = go.Figure(
            go.Scatter(
                x=tr["iteration"],
                y=tr["temperature"],
                name="temperature",
                line={"color": ui.PALETTE["offer"]},
            )
        )
        fig.update_layout(
            title=f"Temperature schedule: {anneal.schedule}",
            xaxis_title="Iteration",
            yaxis_title="Mean temperature",
        )
        left.plotly_chart(ui.style(fig), width="stretch")
        fig = go.Figure()
        for col, colour in (("best_mean", "#1f5fa8"), ("current_mean", "#e07b39")):
            fig.add_scatter(
                x=tr["iteration"], y=tr[col], name=col.replace("_mean", ""), line={"color": colour}
            )
        fig.update_layout(
            title="Convergence: mean journey score",
            xaxis_title="Iteration",
            yaxis_title="Mean score",
            legend={"orientation": "h", "y": -0.2},
        )
        right.plotly_chart(ui.style(fig), width="stretch")
    base = pd.DataFrame(rep["baselines"]).T.reset_index(names="baseline")
    base = base.rename(
        columns={
            "share_better_or_equal": "annealing ≥ baseline",
            "share_better": "annealing better",
            "mean_uplift": "mean uplift",
        }
    )
    st.subheader("Against the study's strategies")
    st.dataframe(
        base,
        hide_index=True,
        width="stretch",
        column_config={
            "annealing ≥ baseline": st.column_config.ProgressColumn(format="percent"),
            "annealing better": st.column_config.ProgressColumn(format="percent"),
            "mean uplift": st.column_config.NumberColumn(format="%.4f"),
            "seconds": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.subheader("First → second → third offer")
    st.plotly_chart(ui.sankey(out, ctx.catalog), width="stretch")
    st.caption("Flows show customers who go on to a further offer; every first offer is on the "
               "Overview page.")  # fmt: skip
    st.subheader("Journey table")
    a, b = st.columns([3, 1])
    a.caption(f"{len(out.table):,} rows (one per customer and step) · solver {s.solver}")
    b.download_button(
        "Download CSV",
        ui.journeys_csv(s),
        "journeys.csv",
        "text/csv",
        icon=":material/download:",
        width="stretch",
    )
    st.dataframe(out.table, hide_index=True, width="stretch", height=360)


body()
