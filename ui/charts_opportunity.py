"""The Opportunity page's live charts as Vega-Lite views whose specification a weight change keeps.

The page's three charts (they were plotly figures), drawn the way the Journeys page draws its
live charts (:mod:`ui.charts_journeys`): every number, product name and product colour is in
the datasets, so a weight or lever change swaps the data into the views the browser already has
instead of re-creating three plotly charts (a plotly chart's element id hashes its figure). The
text alternative is the specification's ``description``; the figures a screen reader would want
are in :attr:`VegaChart.summary`, which the page writes under the charts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ui.charts import GREYS, product_colour
from ui.charts_journeys import VegaChart

#: Heights in pixels, axes and title included (the plotly figures' defaults).
BOX_PX = 380
HEAT_PX = 380
BAR_PX = 320


def _top(names: list[str], values: list[float], fmt: str, k: int = 5) -> str:
    pairs = sorted(zip(names, values, strict=True), key=lambda p: -p[1])[:k]
    return "; ".join(f"{n} {fmt.format(v)}" for n, v in pairs)


def short_value(v: float) -> str:
    """A cell's value in at most ~6 characters (the heatmap's cells are narrow)."""
    if abs(v) >= 10_000:
        return f"{v / 1000:.0f}k"
    if abs(v) >= 1_000:
        return f"{v / 1000:.1f}k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}"


def _colour(product: str, key: object, colours: Mapping[str, str] | None) -> str:
    return (colours or {}).get(product) or product_colour(str(key))


def opportunity_box(first: pd.DataFrame, colours: Mapping[str, str] | None = None) -> VegaChart:
    """Box per product of its value as the next offer: quartiles as the box, the 5th-95th
    percentile as whiskers, the median as a line across the box (``first``: the ``first`` view of
    :func:`core.insights.opportunity_views`). A product credibly harmful to every eligible
    customer has no box; the summary counts, per product, the customers it is never offered to
    because it would credibly harm them."""
    harmful = first[first["not_credible"] > 0] if "not_credible" in first else first.iloc[:0]
    first = first[first["customers"] > 0]
    data = pd.DataFrame(
        {
            "product": first["product"].astype(str).tolist(),
            "colour": [
                _colour(str(p), k, colours)
                for p, k in zip(first["product"], first["key"], strict=True)
            ],
            **{c: first[c].astype(float).tolist() for c in ("p5", "q1", "median", "q3", "p95")},
            "mean": first["mean"].astype(float).tolist(),
        },
        columns=["product", "colour", "p5", "q1", "median", "q3", "p95", "mean"],
    )
    x = {
        "field": "product",
        "type": "nominal",
        "title": "Product",
        "sort": None,
        "axis": {"labelAngle": -40, "labelLimit": 140, "labelOverlap": False},
    }
    tooltip = [
        {"field": "product", "type": "nominal", "title": "Product"},
        {"field": "median", "type": "quantitative", "format": ".3f"},
        {"field": "q1", "type": "quantitative", "format": ".3f", "title": "25th percentile"},
        {"field": "q3", "type": "quantitative", "format": ".3f", "title": "75th percentile"},
        {"field": "p5", "type": "quantitative", "format": ".3f", "title": "5th percentile"},
        {"field": "p95", "type": "quantitative", "format": ".3f", "title": "95th percentile"},
        {"field": "mean", "type": "quantitative", "format": ".3f"},
    ]
    spec = {
        "title": {
            "text": "Value as the next offer",
            "subtitle": "box: quartiles; whiskers: 5th-95th percentile",
            "subtitleColor": GREYS[2],
        },
        "description": "Box plot of each offer's value as the next offer: quartiles as the box, "
        "5th to 95th percentile as whiskers, the median as a line across the box.",
        "height": BOX_PX,
        "data": {"name": "boxes"},
        "encoding": {"x": x},
        "layer": [
            {
                "mark": {"type": "rule"},
                "encoding": {
                    "y": {"field": "p5", "type": "quantitative", "title": "Opportunity"},
                    "y2": {"field": "p95"},
                    "color": {"field": "colour", "type": "nominal", "scale": None},
                    "tooltip": tooltip,
                },
            },
            {
                "mark": {"type": "bar", "size": 28, "fillOpacity": 0.45, "strokeWidth": 1.5},
                "encoding": {
                    "y": {"field": "q1", "type": "quantitative"},
                    "y2": {"field": "q3"},
                    "fill": {"field": "colour", "type": "nominal", "scale": None},
                    "stroke": {"field": "colour", "type": "nominal", "scale": None},
                    "tooltip": tooltip,
                },
            },
            {
                "mark": {"type": "tick", "size": 28, "thickness": 2.5},
                "encoding": {
                    "y": {"field": "median", "type": "quantitative"},
                    "color": {"field": "colour", "type": "nominal", "scale": None},
                    "tooltip": tooltip,
                },
            },
        ],
    }  # fmt: skip
    summary = "Medians: " + (
        _top(data["product"].tolist(), data["median"].tolist(), "{:.2f}", k=12) or "no offer"
    )
    if len(harmful):
        counts = sorted(
            zip(harmful["not_credible"].astype(int), harmful["product"].astype(str), strict=True),
            reverse=True,
        )
        summary += ". Credibly harmful, so never offered: " + "; ".join(
            f"{p} to {n:,} customers" for n, p in counts
        )
    return VegaChart(spec, {"boxes": data}, summary + ".")


def matrix_heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    description: str,
    x_title: str,
    y_title: str,
    colour_title: str,
    diverging: bool,
) -> tuple[dict[str, Any], pd.DataFrame, tuple[str, str, float] | None]:
    """The specification and cells of an O(i -> j) heatmap (rows: after offer i; columns:
    offer j; the value in each cell, the NaN diagonal left empty) and its highest cell
    ``(i, j, value)``. ``diverging``: red below zero and blue above (the dark cells are the
    outer 40% of the largest magnitude), else blues (the upper 40% of the range is dark)."""
    rows = list(matrix.index.astype(str))
    cols = list(matrix.columns.astype(str))
    values = matrix.to_numpy(dtype=float)
    cells = [
        (rows[a], cols[b], float(values[a, b]), a, b)
        for a in range(len(rows))
        for b in range(len(cols))
        if values[a, b] == values[a, b]  # not NaN
    ]
    vals = [c[2] for c in cells]
    if diverging:
        top = max((abs(v) for v in vals), default=0.0)
        dark = [abs(v) > 0.6 * top for v in vals]
        scale: dict[str, Any] = {"scheme": "redblue", "domainMid": 0}
    else:
        lo, hi = min(vals, default=0.0), max(vals, default=0.0)
        dark = [(v - lo) / (hi - lo or 1.0) > 0.6 for v in vals]
        scale = {"scheme": "blues"}
    data = pd.DataFrame(
        {
            "after": [c[0] for c in cells],
            "offer": [c[1] for c in cells],
            "value": vals,
            "label": [short_value(v) for v in vals],
            "after_rank": [c[3] for c in cells],
            "offer_rank": [c[4] for c in cells],
            "dark": dark,  # the value in white
        },
        columns=["after", "offer", "value", "label", "after_rank", "offer_rank", "dark"],
    )
    spec = {
        "title": title,
        "description": description,
        "height": HEAT_PX,
        "data": {"name": "cells"},
        "encoding": {
            "x": {
                "field": "offer", "type": "nominal", "title": x_title,
                "sort": {"field": "offer_rank", "op": "min"},
                "axis": {"labelAngle": -40, "labelLimit": 140, "labelOverlap": False},
            },
            "y": {
                "field": "after", "type": "nominal", "title": y_title,
                "sort": {"field": "after_rank", "op": "min"},
                "axis": {"labelLimit": 160},
            },
        },
        "layer": [
            {
                "mark": {"type": "rect"},
                "encoding": {
                    "color": {
                        "field": "value", "type": "quantitative", "title": colour_title,
                        "scale": scale,
                    },
                    "tooltip": [
                        {"field": "after", "type": "nominal", "title": "After"},
                        {"field": "offer", "type": "nominal", "title": "Offer"},
                        {"field": "value", "type": "quantitative", "format": ".3f"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "fontSize": 10},
                "encoding": {
                    "text": {"field": "label", "type": "nominal"},
                    "color": {
                        "condition": {"test": "datum.dark", "value": "white"},
                        "value": "black",
                    },
                },
            },
        ],
    }  # fmt: skip
    best = max(cells, key=lambda c: c[2]) if cells else None
    return spec, data, (best[0], best[1], best[2]) if best else None


def transition_heatmap(matrix: pd.DataFrame) -> VegaChart:
    """Heatmap of the mean opportunity of offer j (columns) right after offer i (rows), the
    value in each cell; the diagonal (NaN) is left empty."""
    spec, data, best = matrix_heatmap(
        matrix,
        title="Offer j right after offer i",
        description="Heatmap of the mean opportunity of each offer (columns) right after "
        "another offer (rows), with the value in each cell.",
        x_title="Then offer j",
        y_title="After offer i",
        colour_title="mean O(i→j)",
        diverging=False,
    )
    if best:
        i, j, v = best
        summary = f"Highest after another offer: {j} after {i} ({v:.2f})."
    else:
        summary = "No offer can follow another here."
    return VegaChart(spec, {"cells": data}, summary)


def best_offer_bar(best: pd.DataFrame, colours: Mapping[str, str]) -> VegaChart:
    """Bars of the customers for whom each offer is the best next step."""
    products = best["product"].astype(str).tolist()
    data = pd.DataFrame(
        {
            "product": products,
            "customers": best["customers"].astype(int).tolist(),
            "colour": [colours.get(p, GREYS[0]) for p in products],
        },
        columns=["product", "customers", "colour"],
    )
    spec = {
        "title": "Best next offer",
        "description": "Bar chart of the customers for whom each offer is the best next step.",
        "height": BAR_PX,
        "data": {"name": "best"},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "product", "type": "nominal", "title": "Product", "sort": None,
                "axis": {"labelAngle": -30, "labelLimit": 160, "labelOverlap": False},
            },
            "y": {"field": "customers", "type": "quantitative", "title": "Customers"},
            "color": {"field": "colour", "type": "nominal", "scale": None},
            "tooltip": [
                {"field": "product", "type": "nominal", "title": "Product"},
                {"field": "customers", "type": "quantitative", "format": ","},
            ],
        },
    }  # fmt: skip
    summary = "Best next offer for: " + (
        _top(products, [float(c) for c in data["customers"]], "{:,.0f}") or "no customer"
    )
    return VegaChart(spec, {"best": data}, summary + ".")


def opportunity_charts(
    views: object, colours: Mapping[str, str]
) -> tuple[VegaChart, VegaChart, VegaChart]:
    """The page's three charts of :func:`core.insights.opportunity_views`' ``views``: value as
    the next offer, offer j right after offer i, best next offer."""
    return (
        opportunity_box(views.first, colours),  # type: ignore[attr-defined]
        transition_heatmap(views.matrix),  # type: ignore[attr-defined]
        best_offer_bar(views.best, colours),  # type: ignore[attr-defined]
    )


#: Height of the do-no-harm trade-off chart, in pixels.
TRADEOFF_PX = 340


def _setting_label(risk: str, level: float, confounding: float) -> str:
    if risk != "lcb":
        return "no risk control"
    allow = f", allowance {confounding:g}" if confounding > 0 else ""
    return f"level {level:g}{allow}"


def tradeoff_chart(
    frame: pd.DataFrame,
    *,
    risk: str,
    risk_level: float,
    confounding: float,
    harm_limit: float = 0.05,
) -> VegaChart:
    """Captured value against the share made worse off at every do-no-harm setting
    (:func:`core.insights.decision.harm_tradeoff`): one line per allowance for unrecorded
    confounding through the confidence levels, the point without risk control, the accepted
    harm as a dashed rule and the scenario's own setting ringed."""
    lcb = frame["risk"] == "lcb"
    series = [
        "no risk control" if not on else (f"allowance {k:g}" if k > 0 else "no allowance")
        for on, k in zip(lcb, frame["confounding"], strict=True)
    ]
    current = [
        (r == risk == "none")
        or (r == risk == "lcb" and abs(lv - risk_level) < 1e-9 and abs(k - confounding) < 1e-9)
        for r, lv, k in zip(frame["risk"], frame["risk_level"], frame["confounding"], strict=True)
    ]
    data = pd.DataFrame(
        {
            "series": series,
            "setting": [
                _setting_label(r, lv, k)
                for r, lv, k in zip(
                    frame["risk"], frame["risk_level"], frame["confounding"], strict=True
                )
            ],
            "level": [
                f"{lv:g}" if on else "" for on, lv in zip(lcb, frame["risk_level"], strict=True)
            ],
            "harmed": (100 * frame["share_harmful"]).round(2).tolist(),
            "captured": (100 * frame["captured"]).round(2).tolist(),
            "offered": (100 * frame["share_with_offer"]).round(1).tolist(),
            "current": current,
        }
    )
    limit = pd.DataFrame({"harmed": [100 * harm_limit]})
    # explicit domains with room beyond the outermost points (the ring stays whole), from 0
    # harmed and from 0 captured unless a setting loses value
    x_max = max(float(data["harmed"].max()), 100 * harm_limit) * 1.08 + 0.5
    y_lo = min(float(data["captured"].min()), 0.0)
    y_hi = max(float(data["captured"].max()), 0.0)
    y_pad = 0.08 * (y_hi - y_lo) + 1.0
    x = {
        "field": "harmed",
        "type": "quantitative",
        "title": "Customers made worse off (%)",
        "scale": {"domain": [0, round(x_max, 1)], "nice": False},
    }
    y = {
        "field": "captured",
        "type": "quantitative",
        "title": "Value captured (%)",
        "scale": {"domain": [round(y_lo - (y_pad if y_lo < 0 else 0), 1), round(y_hi + y_pad, 1)]},
    }
    colour = {
        "field": "series",
        "type": "nominal",
        "title": None,
        "scale": {"range": ["#0072B2", "#E69F00", "#009E73", "#CC79A7", GREYS[2]]},
        "legend": {"orient": "bottom"},
    }
    tooltip = [
        {"field": "setting", "type": "nominal", "title": "Setting"},
        {"field": "captured", "type": "quantitative", "title": "Value captured (%)"},
        {"field": "harmed", "type": "quantitative", "title": "Made worse off (%)"},
        {"field": "offered", "type": "quantitative", "title": "Customers offered (%)"},
    ]
    spec = {
        "title": {
            "text": "Value against harm, every do-no-harm setting",
            "subtitle": "lines: confidence levels 0.6 to 0.95; ring: this scenario's setting",
            "subtitleColor": GREYS[2],
        },
        "description": "Scatter of the share of the truly achievable value captured against the "
        "share of customers made worse off, for each confidence level and allowance for "
        "unrecorded confounding, with a dashed line at the accepted harm.",
        "height": TRADEOFF_PX,
        "layer": [
            {
                "data": {"name": "limit"},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": GREYS[2]},
                "encoding": {"x": {"field": "harmed", "type": "quantitative"}},
            },
            {
                "data": {"name": "points"},
                "mark": {"type": "line", "point": True, "strokeWidth": 1.5},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": colour,
                    "order": {"field": "level", "type": "ordinal"},
                    "tooltip": tooltip,
                },
            },
            {
                "data": {"name": "points"},
                "transform": [{"filter": "datum.current"}],
                "mark": {"type": "point", "size": 260, "strokeWidth": 2.5, "color": "#000000"},
                "encoding": {"x": x, "y": y, "tooltip": tooltip},
            },
        ],
    }  # fmt: skip
    ok = data[data["harmed"] <= 100 * harm_limit + 1e-9]
    summary = ""
    if len(ok):
        best = ok.loc[ok["captured"].idxmax()]
        summary = (
            f"Within {harm_limit:.0%} made worse off the most value is {best['captured']:.1f}% "
            f"captured ({best['setting']}, {best['harmed']:.1f}% worse off)"
        )
    else:
        summary = f"No setting keeps the share made worse off within {harm_limit:.0%}"
    mine = data[data["current"]]
    if len(mine):
        m = mine.iloc[0]
        summary += (
            f"; this scenario ({m['setting']}): {m['captured']:.1f}% captured, "
            f"{m['harmed']:.1f}% worse off"
        )
    return VegaChart(spec, {"points": data, "limit": limit}, summary + ".")
