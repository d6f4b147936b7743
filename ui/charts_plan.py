"""Charts of the Plan page: the plan's contacts per channel and per day, constraint usage.

Each function lays out a frame :mod:`core.insights.plan_views` computed as a Vega-Lite chart
(:class:`ui.charts_journeys.VegaChart`) with a title and axis labels whose specification holds
no figure: a slider step swaps the datasets into the views the browser already has
(``ui.show_vega``, keyed), where a plotly figure was a new element each step (issue 19). The
``*_caption`` functions give the text alternative the page prints under each chart.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ui.charts import GREYS, SEGMENT_PALETTE
from ui.charts_journeys import VegaChart


def channel_colours(channels: Sequence[str]) -> dict[str, str]:
    """One colour per channel, in the calendar's order (the house palette)."""
    return {c: SEGMENT_PALETTE[i % len(SEGMENT_PALETTE)] for i, c in enumerate(channels)}


# Heights are of the whole view (titles, axes and legend included: Streamlit fits a stretched
# Vega-Lite view into them), as the plotly figures' were.

#: Status of a constraint in the usage chart, and its colour (the same three always, so the
#: chart's specification and legend do not change with the plan).
USAGE_STATUS: tuple[str, ...] = ("kept", "at its bound", "broken")
USAGE_COLOURS: tuple[str, ...] = (GREYS[1], "#0072B2", "#D55E00")


def channel_chart(by_channel: pd.DataFrame, channels: Sequence[str]) -> VegaChart:
    """Contacts per channel (the calendar's first on top), with cost, expected sales and value
    in the tooltip. The specification depends on ``channels`` only; the figures are data."""
    colours = channel_colours(channels)
    spec = {
        "title": "Contacts per channel",
        "description": "Horizontal bar chart of the plan's contacts per channel.",
        "height": 300,
        "data": {"name": "channels"},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "channel", "type": "nominal", "title": "Channel",
                  "sort": list(channels)},
            "x": {"field": "contacts", "type": "quantitative", "title": "Contacts in the plan"},
            "color": {"field": "channel", "type": "nominal", "legend": None,
                      "scale": {"domain": list(channels), "range": list(colours.values())}},
            "tooltip": [
                {"field": "channel", "type": "nominal", "title": "Channel"},
                {"field": "contacts", "type": "quantitative", "format": ",", "title": "Contacts"},
                {"field": "cost", "type": "quantitative", "format": ",.2f", "title": "Cost"},
                {"field": "expected_sales", "type": "quantitative", "format": ",.1f",
                 "title": "Expected sales"},
                {"field": "expected_value", "type": "quantitative", "format": ",.0f",
                 "title": "Expected value"},
            ],
        },
    }  # fmt: skip
    data = by_channel[["channel", "contacts", "cost", "expected_sales", "expected_value"]]
    return VegaChart(spec, {"channels": data}, channel_caption(by_channel))


def day_chart(by_day: pd.DataFrame, channels: Sequence[str], horizon: int) -> VegaChart:
    """Contacts per activity day, stacked and coloured by channel, every day of the calendar on
    the axis. The specification depends on ``channels`` and ``horizon`` only."""
    colours = channel_colours(channels)
    days = list(range(1, int(horizon) + 1))
    spec = {
        "title": "Contacts per day of the campaign",
        "description": "Stacked bar chart of the plan's contacts per day of the campaign, "
        "coloured by channel.",
        "height": 320,
        "data": {"name": "days"},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "day", "type": "ordinal", "title": "Day of the campaign",
                  "scale": {"domain": days, "paddingInner": 0.1},
                  "axis": {"values": [d for d in days if d % 7 == 0 or d == 1],
                           "labelAngle": 0}},
            "y": {"field": "contacts", "type": "quantitative", "title": "Contacts",
                  "stack": "zero"},
            "color": {"field": "channel", "type": "nominal", "title": "Channel",
                      "scale": {"domain": list(channels), "range": list(colours.values())},
                      "legend": {"orient": "bottom"}},
            "order": {"field": "channel_rank", "type": "quantitative"},
            "tooltip": [
                {"field": "day", "type": "ordinal", "title": "Day"},
                {"field": "channel", "type": "nominal", "title": "Channel"},
                {"field": "activity", "type": "nominal", "title": "Activity"},
                {"field": "contacts", "type": "quantitative", "format": ",", "title": "Contacts"},
            ],
        },
    }  # fmt: skip
    rank = {c: i for i, c in enumerate(channels)}
    data = by_day[["day", "channel", "activity", "contacts"]].assign(
        channel_rank=[rank.get(c, len(rank)) for c in by_day["channel"]]
    )
    return VegaChart(spec, {"days": data}, day_caption(by_day))


def usage_chart(usage: pd.DataFrame) -> VegaChart:
    """Share of each budget, cap and target the plan uses (100 % = at its bound, a dashed rule),
    coloured kept / at its bound / broken. The specification depends on the constraints' names
    only (one bar each, in the calendar's order)."""
    status = (
        usage["broken"]
        .map({True: "broken", False: "kept"})
        .where(~(usage["binding"] & ~usage["broken"]), "at its bound")
    )
    names = [str(n) for n in usage["constraint"]]
    spec = {
        "title": "What the plan uses of each budget, cap and target",
        "description": "Horizontal bar chart of the share of each budget, cap and target the "
        "plan uses; a dashed line marks 100 % of the bound.",
        "height": max(260, 34 * len(usage) + 100),
        "layer": [
            {
                "data": {"name": "usage"},
                "mark": {"type": "bar"},
                "encoding": {
                    "y": {"field": "constraint", "type": "nominal", "title": "Constraint",
                          "sort": names, "axis": {"labelLimit": 240}},
                    "x": {"field": "share", "type": "quantitative", "title": "Used / bound",
                          "axis": {"format": ".0%"}},
                    "color": {"field": "status", "type": "nominal", "title": None,
                              "scale": {"domain": list(USAGE_STATUS),
                                        "range": list(USAGE_COLOURS)},
                              "legend": {"orient": "bottom"}},
                    "tooltip": [
                        {"field": "constraint", "type": "nominal", "title": "Constraint"},
                        {"field": "share", "type": "quantitative", "format": ".0%",
                         "title": "Of the bound"},
                        {"field": "used", "type": "quantitative", "format": ",.1f",
                         "title": "Used"},
                        {"field": "bound", "type": "quantitative", "format": ",.1f",
                         "title": "Bound"},
                        {"field": "type", "type": "nominal", "title": "Type"},
                    ],
                },
            },
            {
                "data": {"values": [{"at": 1.0}]},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": GREYS[0]},
                "encoding": {"x": {"field": "at", "type": "quantitative"}},
            },
        ],
    }  # fmt: skip
    data = usage[["constraint", "type", "bound", "used", "share"]].assign(status=status.values)
    return VegaChart(spec, {"usage": data}, usage_caption(usage))


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
