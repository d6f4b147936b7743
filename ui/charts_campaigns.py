"""Charts of the Campaigns page: lift per arm, Qini curves, policy values (plotly).

Each function lays out a frame :mod:`core.insights.campaign_views` computed and returns a
styled figure with a title and axis labels; :func:`caption` gives the text alternative the page
prints under it. Arms that are products take the product colours (:func:`ui.charts.product_colour`,
the palette of :func:`ui.charts.colour_map`); the control group is grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ui.charts import GREYS, POLICY_COLOURS, product_colour, style

#: Colours of the policy kinds of :func:`core.insights.campaign_views.policy_view`.
KIND_COLOURS = {
    "learned targeting": POLICY_COLOURS["learned"],
    "best single arm": POLICY_COLOURS["journeys"],
    "single arm": POLICY_COLOURS["baseline"],
    "control": GREYS[1],
}


def arm_colours(arms: Sequence[str], control: str | None = None) -> dict[str, str]:
    """{arm: colour}: product arms in their product colour, others grey, control light grey."""
    return {a: GREYS[1] if a == control else product_colour(a, i) for i, a in enumerate(arms)}


def _error_x(frame: pd.DataFrame, value: str = "estimate") -> dict[str, Any]:
    return {
        "type": "data",
        "array": (frame["ci_high"] - frame[value]).tolist(),
        "arrayminus": (frame[value] - frame["ci_low"]).tolist(),
        "thickness": 2,
    }


def lift_chart(lifts: pd.DataFrame, outcome: str, level: float = 0.95) -> Any:
    """Each arm's lift against control with its interval (a point-and-interval chart)."""
    colours = arm_colours(list(lifts["arm"]))
    fig = go.Figure()
    for _, row in lifts.iterrows():
        one = pd.DataFrame([row])
        fig.add_trace(
            go.Scatter(
                x=one["estimate"],
                y=one["arm"],
                mode="markers",
                name=str(row["arm"]),
                marker={"size": 11, "color": colours[str(row["arm"])]},
                error_x=_error_x(one),
                showlegend=False,
            )
        )
    fig.add_vline(x=0, line_dash="dash", line_color=GREYS[0])
    fig.update_yaxes(categoryorder="array", categoryarray=list(lifts["arm"])[::-1])
    fig.update_layout(
        title=f"Lift against control: {outcome}",
        xaxis_title=f"Change in {outcome} against control ({level:.0%} interval)",
        yaxis_title="Arm",
    )
    return style(fig, max(260, 40 * len(lifts) + 90))


def qini_chart(curve: pd.DataFrame, arm: str, outcome: str, level: float = 0.95) -> Any:
    """One arm's Qini curve with its bootstrap band, against random targeting."""
    colour = product_colour(arm)
    x = curve["fraction"]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=pd.concat([x, x[::-1]]),
            y=pd.concat([curve["ci_high"], curve["ci_low"][::-1]]),
            fill="toself",
            fillcolor=colour,
            opacity=0.18,
            line={"width": 0},
            hoverinfo="skip",
            name=f"{level:.0%} bootstrap band",
        )
    )
    fig.add_trace(
        go.Scatter(x=x, y=curve["qini"], name="targeting by predicted uplift", line_color=colour)
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=curve["random"],
            name="random targeting",
            line={"dash": "dash", "color": GREYS[0]},
        )
    )
    fig.update_layout(
        title=f"Qini curve: {arm} on {outcome}",
        xaxis_title="Share of customers targeted, highest predicted uplift first",
        yaxis_title=f"Incremental {outcome} per customer",
        legend={"orientation": "h", "y": -0.25},
    )
    fig.update_xaxes(tickformat=".0%")
    return style(fig, 380)


def policy_chart(view: pd.DataFrame, outcome: str, level: float = 0.95) -> Any:
    """Value of the learned targeting, every single arm and control, with intervals."""
    fig = px.scatter(
        view,
        x="value",
        y="policy",
        color="kind",
        color_discrete_map=KIND_COLOURS,
        title=f"Value of each policy on the held-out customers: {outcome}",
    )
    fig.update_traces(marker_size=11)
    for trace in fig.data:
        rows = view[view["kind"] == trace.name]
        trace.error_x = _error_x(rows, "value")
    fig.update_yaxes(categoryorder="array", categoryarray=list(view["policy"])[::-1])
    fig.update_layout(
        xaxis_title=f"Mean {outcome} per customer (doubly robust, {level:.0%} interval)",
        yaxis_title="Policy",
    )
    return style(fig, max(280, 36 * len(view) + 110))


def lift_caption(lifts: pd.DataFrame, outcome: str) -> str:
    """Text alternative of :func:`lift_chart`."""
    parts = [
        f"{r.arm} {r.estimate:+.4g} ({r.ci_low:.4g} to {r.ci_high:.4g})" for r in lifts.itertuples()
    ]
    sig = int(lifts["significant"].sum())
    return (
        f"Lift of each arm on {outcome} against control, with its interval: "
        + "; ".join(parts)
        + f". {sig} of {len(lifts)} intervals exclude zero."
    )


def qini_caption(table: pd.DataFrame, outcome: str) -> str:
    """Text alternative of the Qini curves: every arm's coefficient and interval."""
    parts = [
        f"{r.arm} {r.coefficient:.3g} ({r.ci_low:.3g} to {r.ci_high:.3g})"
        for r in table.itertuples()
    ]
    return (
        f"Qini coefficients on {outcome} (height above random targeting; 0 = no better than "
        "chance): " + "; ".join(parts) + "."
    )


def policy_caption(view: pd.DataFrame, outcome: str) -> str:
    """Text alternative of :func:`policy_chart`."""
    parts = [
        f"{r.policy} {r.value:.4g} ({r.ci_low:.4g} to {r.ci_high:.4g})" for r in view.itertuples()
    ]
    return f"Mean {outcome} per held-out customer under each policy: " + "; ".join(parts) + "."
