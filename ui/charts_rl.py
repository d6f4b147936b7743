"""Figures of the RL lab's discount section: the bandit's learning curve and the levels chosen.

Each takes the frames of :class:`core.rl.discount_bandit.DiscountLab` and lays them out in the
house figure (:func:`ui.charts.figure`).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ui.charts import GREYS, POLICY_COLOURS, figure

#: Colour of each policy of the discount section.
LEVEL_COLOURS = {
    "bandit": POLICY_COLOURS["learned"],
    "offline": POLICY_COLOURS["journeys"],
    "optimal": POLICY_COLOURS["ceiling"],
}
LEVEL_NAMES = {
    "bandit": "Contextual bandit",
    "offline": "Offline model",
    "optimal": "Truth-optimal",
}


def bandit_curve_chart(curve: pd.DataFrame, table: pd.DataFrame) -> go.Figure:
    """Captured share of the bandit's greedy policy against the training customers offered,
    beside the offline model and list price (dashed lines, from ``table``)."""
    by = table.set_index("policy")["captured"]
    traces = [
        go.Scatter(
            x=curve["customers"].tolist(), y=curve["captured"].tolist(), mode="lines+markers",
            name="Contextual bandit", line={"color": LEVEL_COLOURS["bandit"]},
        )
    ]  # fmt: skip
    x = [0, int(curve["customers"].max())]
    for policy, colour in (
        ("Offline model (campaign log)", LEVEL_COLOURS["offline"]),
        ("Always list price", GREYS[0]),
    ):
        traces.append(
            go.Scatter(
                x=x, y=[float(by[policy])] * 2, mode="lines", name=policy,
                line={"color": colour, "dash": "dash"},
            )
        )  # fmt: skip
    end = curve.iloc[-1]
    alt = (
        f"Line chart of the bandit's captured share against training customers offered: from "
        f"{curve['captured'].iloc[0]:.1%} at 0 to {end['captured']:.1%} after "
        f"{int(end['customers']):,}; offline model {by['Offline model (campaign log)']:.1%}, "
        f"list price {by['Always list price']:.1%}"
    )
    return figure(
        traces, "Learning curve", "Training customers offered", "Captured value (share)",
        alt, height=340, legend=True, yaxis={"tickformat": ".0%"},
    )  # fmt: skip


def level_shares_chart(levels: pd.DataFrame) -> go.Figure:
    """Share of the judged offers at each discount level: bandit, offline model, truth-optimal."""
    names = [f"{d:.0%}" for d in levels["level"]]
    traces = [
        go.Bar(
            x=names, y=levels[k].tolist(), name=LEVEL_NAMES[k], marker={"color": LEVEL_COLOURS[k]}
        )
        for k in ("bandit", "offline", "optimal")
    ]
    alt = "Grouped bars of the share of customers at each discount level: " + "; ".join(
        f"{LEVEL_NAMES[k]} "
        + ", ".join(f"{n} {v:.0%}" for n, v in zip(names, levels[k], strict=True))
        for k in ("bandit", "offline", "optimal")
    )
    return figure(
        traces, "Customers per discount level", "Discount level", "Share of customers", alt,
        height=340, legend=True, barmode="group", yaxis={"tickformat": ".0%"},
    )  # fmt: skip
