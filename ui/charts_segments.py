"""Figures of the Segments page: sizes, the projection counted per grid cell, the key factors'
box plots per segment and the segment x first-offer crosstab.

Each lays its data out in the house figure (:func:`ui.charts.figure`) or, for the box plots'
grid of panels, in a layout built without ``make_subplots``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ui.charts import BLUES, GREYS, _top, figure, segment_colours
from ui.figure_base import use_template

#: Left margin (pixels) of the figures whose numeric axes are not laid out automatically
#: (``automargin``): room for tick labels such as ``6000`` or ``-2`` and the axis title.
FIXED_LEFT = 64


def segment_charts(page: Any, boxes: pd.DataFrame | None = None) -> tuple[Any, Any, Any]:
    """(customers per segment, 2-D projection, key factors by segment) of a segments page.

    ``boxes``: percentiles per segment and factor
    (:func:`core.insights.segments.box_stats` of ``page.distributions``); without it they are
    computed from the page's sample.
    """
    from core.insights.segments import box_stats

    order = list(page.sizes["segment"])
    colours = segment_colours(order)
    sizes = figure(
        [
            go.Bar(
                x=page.sizes["segment"], y=page.sizes["size"], text=page.sizes["size"],
                marker_color=[colours[s] for s in page.sizes["segment"]],
            )
        ],
        "Customers per segment",
        "Segment",
        "Customers",
        "Bar chart of customers per segment: " + _top(page.sizes["segment"], page.sizes["size"]),
    )  # fmt: skip
    cells = page.projection  # customers counted per grid cell (core projection_cells)
    biggest = float(cells["customers"].max()) if len(cells) else 1.0
    points = [
        go.Scatter(
            x=part["x"], y=part["y"], mode="markers", name=str(name), opacity=0.6,
            customdata=part["customers"],
            hovertemplate=f"{name}: %{{customdata:,}} customers<extra></extra>",
            marker={"size": part["customers"], "sizemode": "area", "sizemin": 3,
                    "sizeref": biggest / 14**2, "color": colours.get(str(name), GREYS[0])},
        )
        for name, part in cells.groupby("segment", sort=False)
    ]  # fmt: skip
    total = int(cells["customers"].sum()) if len(cells) else 0
    projection = figure(
        points,
        "2-D projection (PCA)",
        "First component",
        "Second component",
        f"Scatter plot of all {total:,} customers on the first two principal components, "
        f"one marker per cell of a grid ({len(cells):,} cells, area = customers), coloured by "
        f"segment ({len(order)} segments)",
        legend=True,
    )
    projection.layout.legend.itemsizing = "constant"  # legend dots of one size
    # fixed margins for the numeric axes: plotly lays the figure out once instead of measuring
    # its tick labels and drawing it again (automargin)
    projection.update_layout(
        xaxis={"automargin": False, "title": {"standoff": 8}},
        yaxis={"automargin": False, "title": {"standoff": 8}},
        margin={"l": FIXED_LEFT, "b": 52},
    )
    if boxes is None:
        boxes = box_stats(page.distributions, "factor", "segment")
    return sizes, projection, _distributions(boxes, order, colours)


def _grid(titles: list[str], cols: int = 3, hgap: float = 0.2 / 3, vgap: float = 0.16) -> dict:
    """Layout of a grid of panels titled ``titles`` (row by row): what ``make_subplots`` lays
    out, without its cost (~70 ms a figure); only the panels used get axes."""
    rows = max(1, -(-len(titles) // cols))
    width = (1 - hgap * (cols - 1)) / cols
    height = (1 - vgap * (rows - 1)) / rows
    layout: dict[str, Any] = {"annotations": []}
    for k, title in enumerate(titles):
        r, c = divmod(k, cols)
        x0 = c * (width + hgap)
        y1 = 1 - r * (height + vgap)
        n = "" if k == 0 else str(k + 1)
        layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [round(x0, 9), round(x0 + width, 9)]}
        layout[f"yaxis{n}"] = {
            "anchor": f"x{n}",
            "domain": [round(max(y1 - height, 0.0), 9), round(y1, 9)],
        }
        layout["annotations"].append(
            {"text": title, "x": x0 + width / 2, "y": y1, "xref": "paper", "yref": "paper",
             "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 16}}
        )  # fmt: skip
    return layout


def _distributions(boxes: pd.DataFrame, order: list[str], colours: dict[str, str]) -> Any:
    """Box plots of the key factors per segment, one panel per factor, from percentiles."""
    use_template()
    factors = list(dict.fromkeys(boxes["factor"]))
    cols = 3
    rows = max(1, -(-len(factors) // cols))
    layout = _grid(factors, cols)
    traces = []
    for k, factor in enumerate(factors):
        n = "" if k == 0 else str(k + 1)
        layout[f"xaxis{n}"] |= {
            "showticklabels": False,
            "automargin": False,
            "title": {"text": "Segment (colour)", "standoff": 8},
        }
        layout[f"yaxis{n}"] |= {"automargin": False}
        if k % cols == 0:
            layout[f"yaxis{n}"] |= {"title": {"text": "Value", "standoff": 8}}
        part = boxes[boxes["factor"] == factor].set_index("segment").reindex(order).dropna()
        for r in part.reset_index().itertuples(index=False):
            traces.append(
                go.Box(
                    x=[r.segment], q1=[r.q1], median=[r.median], q3=[r.q3], lowerfence=[r.p5],
                    upperfence=[r.p95], name=str(r.segment), showlegend=k == 0,
                    legendgroup=str(r.segment), marker_color=colours.get(str(r.segment), GREYS[0]),
                    xaxis=f"x{n}", yaxis=f"y{n}",
                )
            )  # fmt: skip
    layout |= {
        "height": 300 * rows + 40,
        "title": {"text": "Key factors by segment", "font": {"size": 15}},
        "margin": {"l": FIXED_LEFT, "r": 10, "t": 64, "b": 40},
        "font": {"size": 13},
        "showlegend": True,
        "legend": {"title": None, "orientation": "h", "y": -0.08},
        "meta": {
            "alt": "Box plots of " + ", ".join(factors) + " per segment (box: quartiles, "
            "whiskers: 5th-95th percentile); segments in the order " + ", ".join(order)
        },
    }
    return go.Figure(data=traces, layout=layout)


def crosstab_heatmap(crosstab: pd.DataFrame) -> Any:
    """Heatmap of customers per segment and recommended first offer."""
    heat = go.Heatmap(
        z=crosstab.to_numpy(), x=[str(c) for c in crosstab.columns],
        y=[str(i) for i in crosstab.index], colorscale=BLUES, texttemplate="%{z:,}",
        colorbar={"title": {"text": "Customers"}},
    )  # fmt: skip
    return figure(
        [heat],
        "Segment x recommended first offer",
        "First offer",
        "Segment",
        "Heatmap of customers per segment and recommended first offer",
        height=320,
        yaxis={"autorange": "reversed"},
    )
