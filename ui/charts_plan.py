"""Charts of the Plan page: the plan's contacts per channel and per day, constraint usage.

Each function lays out a frame :mod:`core.insights.plan_views` computed and returns a styled
plotly figure with a title and axis labels; the ``*_caption`` functions give the text
alternative the page prints under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ui.charts import GREYS, SEGMENT_PALETTE, figure, trace


def channel_colours(channels: Sequence[str]) -> dict[str, str]:
    """One colour per channel, in the calendar's order (the house palette)."""
    return {c: SEGMENT_PALETTE[i % len(SEGMENT_PALETTE)] for i, c in enumerate(channels)}


def channel_chart(by_channel: pd.DataFrame) -> Any:
    """Contacts per channel, with their cost in the hover."""
    colours = channel_colours(list(by_channel["channel"]))
    bar = trace(
        "bar",
        x=by_channel["contacts"],
        y=by_channel["channel"],
        orientation="h",
        marker={"color": [colours[c] for c in by_channel["channel"]]},
        customdata=by_channel[["cost", "expected_sales", "expected_value"]].to_numpy(),
        hovertemplate="%{y}: %{x:,} contacts<br>cost %{customdata[0]:,.2f}<br>expected sales "
        "%{customdata[1]:,.1f}<br>expected value %{customdata[2]:,.0f}<extra></extra>",
    )
    return figure(
        [bar],
        "Contacts per channel",
        "Contacts in the plan",
        "Channel",
        channel_caption(by_channel),
        height=300,
        yaxis={"autorange": "reversed"},  # the calendar's first channel on top
    )


def day_chart(by_day: pd.DataFrame, channels: Sequence[str], horizon: int) -> Any:
    """Contacts per activity day, coloured by channel."""
    colours = channel_colours(channels)
    bars = []
    for channel in channels:
        part = by_day[by_day["channel"] == channel]
        bars.append(
            trace(
                "bar",
                x=part["day"],
                y=part["contacts"],
                name=str(channel),
                marker={"color": colours[channel]},
                customdata=part[["activity"]].to_numpy(),
                hovertemplate="day %{x}: %{y:,} contacts (%{customdata[0]})<extra>"
                + str(channel)
                + "</extra>",
            )
        )
    return figure(
        bars,
        "Contacts per day of the campaign",
        "Day of the campaign",
        "Contacts",
        day_caption(by_day),
        height=320,
        legend=True,
        bargap=0.1,
        barmode="relative",
        xaxis={"range": [0, horizon + 1]},
    )


def usage_chart(usage: pd.DataFrame) -> Any:
    """Share of each budget, cap and target the plan uses (100% = at its bound)."""
    status = (
        usage["broken"]
        .map({True: "broken", False: "kept"})
        .where(~(usage["binding"] & ~usage["broken"]), "at its bound")
    )
    colours = {"kept": GREYS[1], "at its bound": "#0072B2", "broken": "#D55E00"}
    bars = []
    for name in ("kept", "at its bound", "broken"):
        part = usage[status == name]
        if part.empty:
            continue
        bars.append(
            trace(
                "bar",
                x=part["share"],
                y=part["constraint"],
                orientation="h",
                name=name,
                marker={"color": colours[name]},
                customdata=part[["used", "bound", "type"]].to_numpy(dtype=object),
                hovertemplate="%{y}: %{x:.0%} of the bound<br>used %{customdata[0]:,.1f} of "
                "%{customdata[1]:,.1f} (%{customdata[2]})<extra></extra>",
            )
        )
    return figure(
        bars,
        "What the plan uses of each budget, cap and target",
        "Used / bound",
        "Constraint",
        usage_caption(usage),
        height=max(260, 34 * len(usage) + 100),
        legend=True,
        xaxis={"tickformat": ".0%"},
        yaxis={"categoryorder": "array", "categoryarray": list(usage["constraint"])[::-1]},
        shapes=[_at_bound()],
    )


def _at_bound() -> dict[str, Any]:
    """The dashed line at 100 % of the bound (what ``fig.add_vline(x=1)`` adds, without its
    ~20 ms of subplot bookkeeping)."""
    return {
        "type": "line", "x0": 1.0, "x1": 1.0, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
        "line": {"color": GREYS[0], "dash": "dash"},
    }  # fmt: skip


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
