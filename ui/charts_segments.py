"""Charts of the Segments page as keyed Vega-Lite views whose specification the segments keep.

Sizes, the projection counted per grid cell, the key factors' box plots per segment, the
segment x first-offer crosstab and the sentiment / P(alive) boxes. A plotly chart's element id
hashes its figure, so every minimum share that chose other segments made the browser throw all
of the page's charts away and draw new ones (~0.5 s). Here, as on the Journeys page
(:mod:`ui.charts_journeys`), every number, segment name and colour is in the datasets of a
:class:`~ui.charts_journeys.VegaChart`, and the specifications are constants: drawn under a fixed
key (:func:`ui.charts_journeys.show`), another segmentation only swaps the data into the views
the browser already has.

Colours: each row carries its segment's colour (:func:`ui.charts.segment_colours` over the
page's order, ``page.sizes``), drawn as is (``scale: null``) or, where a legend names them, as
the range of the colour scale read from the data (``range: {"field": "colour"}``) over the
domain of ``key``: the segment's place in the page's order and its name, which sorts in that
order (the legend shows the name, :data:`_LEGEND_LABEL`). So a segment has the same colour and
place in every chart of the page. Text alternatives: the specification's ``description``
(constant) and the figures in :attr:`~ui.charts_journeys.VegaChart.summary`, which the page
writes under the charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ui.charts import segment_colours
from ui.charts_journeys import VegaChart

#: Height of the sizes and projection charts, of one key-factor panel and of the sentiment /
#: P(alive) boxes (pixels, titles and axes included).
CHART_PX = 360
FACTOR_PX = 300
CROSSTAB_PX = 320
#: Digits of the segment's place in :func:`_keys` (``"03 name"``), and the legend's label
#: without them.
_PLACE = 3
_LEGEND_LABEL = f"slice(datum.label, {_PLACE + 1})"
#: A nominal axis of names: every name shown (slanted), none dropped for overlapping.
_NAMES = {"labelAngle": -30, "labelLimit": 160, "labelOverlap": False}


@dataclass(frozen=True)
class SegmentCharts:
    """The Segments page's charts of one segmentation (:func:`segment_charts`).

    ``factors``: one box-plot panel per key factor, in the page's order; ``crosstab``: None
    without recommended first offers."""

    sizes: VegaChart
    projection: VegaChart
    factors: tuple[VegaChart, ...]
    crosstab: VegaChart | None


def _unique(colours: Sequence[str]) -> list[str]:
    """``colours`` with every repeat made a distinct string of the same colour (an alpha of
    254, 253 ...): the colour scale reads one colour per distinct value of the data."""
    seen: dict[str, int] = {}
    out = []
    for c in colours:
        n = seen.get(c, 0)
        seen[c] = n + 1
        out.append(c if n == 0 else f"{c}{255 - n:02x}")
    return out


def _keys(order: Sequence[str]) -> dict[str, str]:
    """{segment name: key}: the name's place in the page's order, then the name."""
    return {name: f"{i:0{_PLACE}d} {name}" for i, name in enumerate(order)}


def _segment_columns(segments: Sequence[str], order: Sequence[str]) -> dict[str, list[Any]]:
    """Columns ``segment``, ``key``, ``rank`` and ``colour`` of rows whose segment names are
    ``segments``, coloured and ranked by their place in ``order`` (the page's)."""
    colours = dict(zip(order, _unique(list(segment_colours(list(order)).values())), strict=True))
    keys, rank = _keys(order), {n: i for i, n in enumerate(order)}
    names = [str(s) for s in segments]
    return {
        "segment": names,
        "key": [keys[n] for n in names],
        "rank": [rank[n] for n in names],
        "colour": [colours[n] for n in names],
    }


def _colour(legend: bool) -> dict[str, Any]:
    """The colour encoding of a segment chart: the rows' own colours; with a legend, the range
    of a scale over ``key`` read from the data (the legend then shows the names)."""
    if not legend:
        return {"field": "colour", "type": "nominal", "scale": None, "legend": None}
    return {
        "field": "key", "type": "nominal", "title": None,
        "scale": {"range": {"field": "colour"}},
        "legend": {"orient": "bottom", "columns": 2, "labelExpr": _LEGEND_LABEL,
                   "labelLimit": 220, "symbolOpacity": 1},
    }  # fmt: skip


def _num(v: float) -> str:
    """A figure of a summary: thousands whole (``5,214``), smaller ones to 3 digits."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _top(names: Sequence[Any], values: Sequence[Any], k: int = 5) -> str:
    """``name figure; ...`` of the ``k`` largest ``values``."""
    pairs = sorted(zip(names, values, strict=True), key=lambda p: -float(p[1]))[:k]
    return "; ".join(f"{n} {_num(float(v))}" for n, v in pairs)


def _sizes(page: Any, order: list[str]) -> VegaChart:
    sizes = page.sizes
    data = pd.DataFrame(
        {**_segment_columns(list(sizes["segment"]), order),
         "customers": sizes["size"].astype(int).to_numpy()}
    )  # fmt: skip
    segment = {"field": "segment", "type": "nominal", "title": "Segment"}
    spec = {
        "title": "Customers per segment",
        "description": "Bar chart of customers per segment, in the page's order of segments.",
        "height": CHART_PX,
        "data": {"name": "sizes"},
        "encoding": {
            "x": {**segment, "sort": {"field": "rank", "op": "min"},
                  "axis": _NAMES},
            "y": {"field": "customers", "type": "quantitative", "title": "Customers"},
        },
        "layer": [
            {"mark": {"type": "bar"},
             "encoding": {"color": _colour(False),
                          "tooltip": [segment, {"field": "customers", "type": "quantitative",
                                                "title": "Customers", "format": ","}]}},
            {"mark": {"type": "text", "baseline": "bottom", "dy": -3},
             "encoding": {"text": {"field": "customers", "type": "quantitative", "format": ","}}},
        ],
    }  # fmt: skip
    summary = "Customers per segment: " + _top(sizes["segment"], sizes["size"]) + "."
    return VegaChart(spec, {"sizes": data}, summary)


def _projection(page: Any, order: list[str]) -> VegaChart:
    cells = page.projection  # customers counted per grid cell (core projection_cells)
    data = pd.DataFrame(
        {**_segment_columns(list(cells["segment"]), order),
         "x": cells["x"].to_numpy(dtype=float), "y": cells["y"].to_numpy(dtype=float),
         "customers": cells["customers"].astype(int).to_numpy()}
    )  # fmt: skip
    spec = {
        "title": "2-D projection (PCA)",
        "description": "Scatter plot of every customer on the first two principal components, "
        "one dot per segment and cell of a grid (area: customers), coloured by segment.",
        "height": CHART_PX,
        "data": {"name": "cells"},
        "mark": {"type": "circle", "opacity": 0.6},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "title": "First component",
                  "scale": {"zero": False}},
            "y": {"field": "y", "type": "quantitative", "title": "Second component",
                  "scale": {"zero": False}},
            # dot area proportional to the customers of its cell: 3 to 14 pixels across
            "size": {"field": "customers", "type": "quantitative", "legend": None,
                     "scale": {"range": [9, 196]}},
            "color": _colour(True),
            "tooltip": [{"field": "segment", "type": "nominal", "title": "Segment"},
                        {"field": "customers", "type": "quantitative", "title": "Customers",
                         "format": ","}],
        },
    }  # fmt: skip
    total = int(cells["customers"].sum()) if len(cells) else 0
    summary = (
        f"All {total:,} customers, one dot per segment and cell of a grid "
        f"({len(cells):,} dots); a dot's area is its number of customers."
    )
    return VegaChart(spec, {"cells": data}, summary)


def _box_layers(
    lo: str, hi: str, title: str | None, tooltip: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Whisker (``lo`` to ``hi``), box (``q1`` to ``q3``) and median (white) of rows per
    segment, in the rows' colours, on a y axis titled ``title``."""
    colour = _colour(False)

    def y(field: str) -> dict[str, Any]:
        return {"field": field, "type": "quantitative", "title": title}

    return [
        {"mark": {"type": "rule"},
         "encoding": {"y": y(lo), "y2": {"field": hi}, "color": colour, "tooltip": tooltip}},
        {"mark": {"type": "bar", "width": {"band": 0.6}},
         "encoding": {"y": y("q1"), "y2": {"field": "q3"}, "color": colour, "tooltip": tooltip}},
        {"mark": {"type": "tick", "color": "white", "thickness": 2},
         "encoding": {"y": y("median"), "tooltip": tooltip}},
    ]  # fmt: skip


def _number(field: str, title: str, fmt: str = ",.3~g") -> dict[str, Any]:
    return {"field": field, "type": "quantitative", "title": title, "format": fmt}


def _factors(boxes: pd.DataFrame, order: list[str]) -> tuple[VegaChart, ...]:
    """One box-plot panel per key factor (percentiles: whiskers 5th-95th), segments in the
    page's order and colours."""
    out = []
    for factor in dict.fromkeys(boxes["factor"]):
        part = boxes[boxes["factor"] == factor].assign(segment=lambda f: f["segment"].astype(str))
        part = part.set_index("segment").reindex(order).dropna().reset_index()
        data = pd.DataFrame(
            {**_segment_columns(list(part["segment"]), order),
             **{c: part[c].to_numpy(dtype=float) for c in ("p5", "q1", "median", "q3", "p95")},
             "n": part["n"].astype(int).to_numpy()}
        )  # fmt: skip
        tooltip = [
            {"field": "segment", "type": "nominal", "title": "Segment"},
            *(_number(c, t) for c, t in (("p95", "95th percentile"), ("q3", "Upper quartile"),
                                         ("median", "Median"), ("q1", "Lower quartile"),
                                         ("p5", "5th percentile"))),
            _number("n", "Customers", ","),
        ]  # fmt: skip
        spec = {
            "title": str(factor),
            "description": "Box plots of a key factor per segment (box: quartiles, whiskers: "
            "5th to 95th percentile, white line: median), segments in the page's order.",
            "height": FACTOR_PX,
            "data": {"name": "boxes"},
            "encoding": {
                "x": {"field": "segment", "type": "nominal", "title": "Segment (colour)",
                      "sort": {"field": "rank", "op": "min"}, "axis": {"labels": False}},
            },
            # every panel titles its y axis: each is a chart of its own, read on its own
            "layer": _box_layers("p5", "p95", "Value", tooltip),
        }  # fmt: skip
        medians = _top(part["segment"], part["median"], k=12)
        out.append(VegaChart(spec, {"boxes": data}, f"{factor}: medians {medians}."))
    return tuple(out)


def _crosstab(crosstab: pd.DataFrame) -> VegaChart:
    """Heatmap of customers per segment (rows, in the crosstab's order) and first offer."""
    rows = [str(i) for i in crosstab.index]
    cols = [str(c) for c in crosstab.columns]
    z = crosstab.to_numpy(dtype=float)
    top = float(z.max()) if z.size else 0.0
    data = pd.DataFrame(
        {"segment": np.repeat(rows, len(cols)).tolist(), "offer": cols * len(rows),
         "customers": z.ravel().astype(int), "segment_rank": np.repeat(range(len(rows)),
                                                                        len(cols)),
         "offer_rank": list(range(len(cols))) * len(rows), "dark": (z > top / 2).ravel()}
    )  # fmt: skip
    spec = {
        "title": "Segment x recommended first offer",
        "description": "Heatmap of customers per segment (rows) and recommended first offer "
        "(columns), with the counts in the cells.",
        "height": CROSSTAB_PX,
        "data": {"name": "crosstab"},
        "encoding": {
            "x": {"field": "offer", "type": "nominal", "title": "First offer",
                  "sort": {"field": "offer_rank", "op": "min"},
                  "axis": _NAMES},
            "y": {"field": "segment", "type": "nominal", "title": "Segment",
                  "sort": {"field": "segment_rank", "op": "min"}, "axis": {"labelLimit": 240}},
        },
        "layer": [
            {"mark": {"type": "rect"},
             "encoding": {
                 "color": {"field": "customers", "type": "quantitative", "title": "Customers",
                           "scale": {"scheme": "blues"}},
                 "tooltip": [{"field": "segment", "type": "nominal", "title": "Segment"},
                             {"field": "offer", "type": "nominal", "title": "First offer"},
                             {"field": "customers", "type": "quantitative", "format": ","}]}},
            {"mark": {"type": "text"},
             "encoding": {
                 "text": {"field": "customers", "type": "quantitative", "format": ","},
                 "color": {"condition": {"test": "datum.dark", "value": "white"},
                           "value": "black"}}},
        ],
    }  # fmt: skip
    biggest = sorted(
        (
            (r, c, int(v))
            for r, row in zip(rows, z, strict=True)
            for c, v in zip(cols, row, strict=True)
        ),
        key=lambda t: -t[2],
    )[:3]
    summary = (
        "Largest segment x first offer: "
        + "; ".join(f"{r} × {c} {n:,}" for r, c, n in biggest)
        + "."
    )
    return VegaChart(spec, {"crosstab": data}, summary)


def segment_charts(page: Any, boxes: pd.DataFrame | None = None) -> SegmentCharts:
    """The charts of a segments page (:class:`SegmentCharts`), in the order of ``page.sizes``.

    ``boxes``: percentiles per segment and factor
    (:func:`core.insights.segments.box_stats` of ``page.distributions``); without it they are
    computed from the page's sample.
    """
    from core.insights.segments import box_stats

    order = [str(s) for s in page.sizes["segment"]]
    if boxes is None:
        boxes = box_stats(page.distributions, "factor", "segment")
    crosstab = page.insights.get("crosstab")
    return SegmentCharts(
        sizes=_sizes(page, order),
        projection=_projection(page, order),
        factors=_factors(boxes, order),
        crosstab=None if crosstab is None else _crosstab(crosstab),
    )


def tukey_boxes(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Box plot of ``column`` per ``segment`` as plotly draws one from the points: quartiles
    (linear interpolation), whiskers to the furthest point within 1.5 IQR of the box, the
    points beyond them as outliers. Returns (one row per segment: ``segment, n, q1, median,
    q3, lo, hi``; one row per outlier: ``segment, value``), segments as they first come."""
    rows, outliers = [], []
    for name, part in frame.groupby(frame["segment"].astype(str), sort=False):
        v = part[column].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        reach = 1.5 * (q3 - q1)
        inside = v[(v >= q1 - reach) & (v <= q3 + reach)]
        lo, hi = float(inside.min()), float(inside.max())
        rows.append({"segment": name, "n": int(v.size), "q1": float(q1), "median": float(med),
                     "q3": float(q3), "lo": lo, "hi": hi})  # fmt: skip
        outliers += [{"segment": name, "value": float(x)} for x in v[(v < lo) | (v > hi)]]
    return (
        pd.DataFrame(rows, columns=["segment", "n", "q1", "median", "q3", "lo", "hi"]),
        pd.DataFrame(outliers, columns=["segment", "value"]),
    )


def signal_boxes(frame: pd.DataFrame, column: str, title: str, order: Sequence[str]) -> VegaChart:
    """Box plot of ``column`` per segment (:func:`tukey_boxes`: outliers as dots), segments in
    the page's ``order`` and colours (segments absent from ``frame`` keep theirs), the boxes
    plotly's box plot drew."""
    order = [str(n) for n in order]
    order += [n for n in dict.fromkeys(frame["segment"].astype(str)) if n not in order]
    stats, outliers = tukey_boxes(frame, column)
    boxes = pd.DataFrame(
        {**_segment_columns(list(stats["segment"]), order),
         **{c: stats[c].to_numpy() for c in ("n", "q1", "median", "q3", "lo", "hi")}}
    )  # fmt: skip
    dots = pd.DataFrame(
        {**_segment_columns(list(outliers["segment"]), order),
         "value": outliers["value"].to_numpy(dtype=float)}
    )  # fmt: skip
    segment = {"field": "segment", "type": "nominal", "title": "Segment"}
    tooltip = [
        segment, _number("hi", "Upper whisker"), _number("q3", "Upper quartile"),
        _number("median", "Median"), _number("q1", "Lower quartile"),
        _number("lo", "Lower whisker"), _number("n", "Customers", ","),
    ]  # fmt: skip
    layers = _box_layers("lo", "hi", column, tooltip)
    for layer in layers:
        layer["data"] = {"name": "boxes"}
    layers.append(
        {"data": {"name": "outliers"}, "mark": {"type": "circle", "size": 16, "opacity": 0.7},
         "encoding": {"y": {"field": "value", "type": "quantitative", "title": column},
                      "color": _colour(False),
                      "tooltip": [segment, _number("value", column)]}}
    )  # fmt: skip
    spec = {
        "title": title,
        "description": f"Box plots of {column} per segment (box: quartiles, whiskers: the "
        "furthest values within 1.5 times the box's height, dots: values beyond), segments in "
        "the page's order and colours.",
        "height": CHART_PX,
        "encoding": {
            "x": {**segment, "sort": {"field": "rank", "op": "min"},
                  "axis": _NAMES},
        },
        "layer": layers,
    }  # fmt: skip
    summary = f"{title}: medians " + _top(stats["segment"], stats["median"], k=12) + "."
    return VegaChart(spec, {"boxes": boxes, "outliers": dots}, summary)
