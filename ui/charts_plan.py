"""Charts of the Plan page: the plan's contacts per channel and per day, constraint usage.

Each function lays out a frame :mod:`core.insights.plan_views` computed and returns a styled
plotly figure with a title and axis labels; the ``*_caption`` functions give the text
alternative the page prints under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.express as px

from ui.charts import GREYS, SEGMENT_PALETTE, style


def channel_colours(channels: Sequence[str]) -> dict[str, str]:
    """One colour per channel, in the calendar's order (the house palette)."""
    return {c: SEGMENT_PALETTE[i % len(SEGMENT_PALETTE)] for i, c in enumerate(channels)}


def channel_chart(by_channel: pd.DataFrame) -> Any:
    """Contacts per channel, with their cost in the hover."""
    colours = channel_colours(list(by_channel["channel"]))
    fig = px.bar(
        by_channel,
        x="contacts",
        y="channel",
        orientation="h",
        color="channel",
        color_discrete_map=colours,
        hover_data={"cost": ":,.2f", "expected_sales": ":,.1f", "expected_value": ":,.0f"},
        title="Contacts per channel",
    )
    fig.update_layout(showlegend=False, xaxis_title="Contacts in the plan", yaxis_title="Channel")
    return style(fig, 300)


def day_chart(by_day: pd.DataFrame, channels: Sequence[str], horizon: int) -> Any:
    """Contacts per activity day, coloured by channel."""
    fig = px.bar(
        by_day,
        x="day",
        y="contacts",
        color="channel",
        color_discrete_map=channel_colours(channels),
        category_orders={"channel": list(channels)},
        hover_data={"activity": True},
        title="Contacts per day of the campaign",
    )
    fig.update_layout(xaxis_title="Day of the campaign", yaxis_title="Contacts", bargap=0.1)
    fig.update_xaxes(range=[0, horizon + 1])
    return style(fig, 320)


def usage_chart(usage: pd.DataFrame) -> Any:
    """Share of each budget, cap and target the plan uses (100% = at its bound)."""
    frame = usage.assign(
        status=usage["broken"]
        .map({True: "broken", False: "kept"})
        .where(~(usage["binding"] & ~usage["broken"]), "at its bound")
    )
    fig = px.bar(
        frame,
        x="share",
        y="constraint",
        orientation="h",
        color="status",
        color_discrete_map={"kept": GREYS[1], "at its bound": "#0072B2", "broken": "#D55E00"},
        hover_data={"used": ":,.1f", "bound": ":,.1f", "type": True},
        title="What the plan uses of each budget, cap and target",
    )
    fig.add_vline(x=1.0, line_dash="dash", line_color=GREYS[0])
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(categoryorder="array", categoryarray=list(frame["constraint"])[::-1])
    fig.update_layout(xaxis_title="Used / bound", yaxis_title="Constraint")
    return style(fig, max(260, 34 * len(frame) + 100))


def channel_caption(by_channel: pd.DataFrame) -> str:
    """Text alternative of :func:`channel_chart`."""
    parts = [f"{r.channel} {r.contacts:,} (cost {r.cost:,.2f})" for r in by_channel.itertuples()]
    return "Contacts per channel: " + "; ".join(parts) + "."


def day_caption(by_day: pd.DataFrame) -> str:
    """Text alternative of :func:`day_chart`."""
    parts = [f"day {r.day} {r.activity} {r.contacts:,}" for r in by_day.itertuples()]
    return "Contacts per activity, by day: " + "; ".join(parts) + "."


def usage_caption(usage: pd.DataFrame) -> str:
    """Text alternative of :func:`usage_chart`."""
    parts = [
        f"{r.constraint} {r.used:,.1f} of {r.bound:,.1f}{' (broken)' if r.broken else ''}"
        for r in usage.itertuples()
    ]
    return "Used of each constraint: " + "; ".join(parts) + "."
