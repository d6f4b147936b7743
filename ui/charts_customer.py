"""The Customer page's per-customer charts as Vega-Lite views whose specification a new
customer keeps.

The page's stacked factor bars and O(i -> j) heatmap (they were plotly figures), drawn the way
the Journeys page draws its live charts (:mod:`ui.charts_journeys`): every number and label is in the datasets, so entering
another customer id swaps the data into the views the browser already has instead of
re-creating three plotly charts (a plotly chart's element id hashes its figure). The text
alternative is the specification's ``description``; the figures are in
:attr:`VegaChart.summary`, which the page writes under each chart.
"""

from __future__ import annotations

import pandas as pd

from ui.charts import factor_colours
from ui.charts_journeys import VegaChart
from ui.charts_opportunity import matrix_heatmap

#: Height of one bar's row in the horizontal factor bars, and the vertical bars' plot height.
STEP_PX = 30
BARS_PX = 220


def factor_bars(
    long: pd.DataFrame,
    x: str,
    title: str,
    value_title: str,
    height: int = BARS_PX,
    *,
    horizontal: bool = False,
) -> VegaChart:
    """Stacked bars of labelled factor parts (``long``: ``x``, ``factor``, ``value``), positive
    parts stacked up from zero and negative ones down, in the factors' colours.

    ``horizontal`` lays the bars along the value axis with the ``x`` labels down the side, in
    their order from the top (a journey's numbered steps stay readable in a narrow column).
    """
    colours = factor_colours()
    labels = [str(v) for v in long[x]]
    order: dict[str, int] = {}
    for label in labels:
        order.setdefault(label, len(order))
    factors = list(colours)
    names = [str(f) for f in long["factor"]]
    data = pd.DataFrame(
        {
            "label": labels,
            "rank": [order[label] for label in labels],
            "factor": names,
            # stacked in the factors' legend order
            "factor_order": [factors.index(f) if f in factors else len(factors) for f in names],
            "value": long["value"].astype(float).tolist(),
        },
        columns=["label", "rank", "factor", "factor_order", "value"],
    )
    name = "Step" if x == "step" else "Product" if x == "product" else x
    category = {
        "field": "label", "type": "nominal", "title": name,
        "sort": {"field": "rank", "op": "min"},
        "axis": {"labelLimit": 220} if horizontal else
        {"labelAngle": -30, "labelLimit": 160, "labelOverlap": False},
    }  # fmt: skip
    value = {"field": "value", "type": "quantitative", "title": value_title, "stack": "zero"}
    spec = {
        "title": title,
        "description": f"Stacked bars of {title.lower()}, one colour per factor.",
        # the width fits the column; the height is the bars' own (a step per row across,
        # ``height`` pixels down), axes, legend and title added to it: with Streamlit's
        # default ("fit" both ways) the rotated labels and the legend squeezed the bars
        "autosize": {"type": "fit-x", "contains": "padding"},
        "height": {"step": STEP_PX} if horizontal else height,
        "data": {"name": "parts"},
        "mark": {"type": "bar"},
        "encoding": {
            ("y" if horizontal else "x"): category,
            ("x" if horizontal else "y"): value,
            "color": {
                "field": "factor", "type": "nominal", "title": None,
                "scale": {"domain": list(colours), "range": list(colours.values())},
                # one factor per line under the narrow column's bars, in a row under wide ones
                "legend": {"orient": "bottom", "direction": "vertical" if horizontal else
                           "horizontal", "columnPadding": 12, "labelLimit": 120},
            },
            "order": {"field": "factor_order", "type": "quantitative"},
            "tooltip": [
                {"field": "label", "type": "nominal", "title": name},
                {"field": "factor", "type": "nominal", "title": "Factor"},
                {"field": "value", "type": "quantitative", "format": "+.3f"},
            ],
        },
    }  # fmt: skip
    totals = data.groupby("label", sort=False)["value"].sum()
    best = sorted(totals.items(), key=lambda p: -p[1])[:5]
    summary = f"{title}, totals: " + (
        "; ".join(f"{n} {v:+.2f}" for n, v in best) or "nothing to show"
    )
    return VegaChart(spec, {"parts": data}, summary + ".")


def customer_matrix(matrix: pd.DataFrame) -> VegaChart:
    """Heatmap of one customer's O(i -> j) (rows: after offer i; columns: next offer j), red
    below zero and blue above, the value in each cell; the diagonal (NaN) is left empty."""
    spec, data, best = matrix_heatmap(
        matrix,
        title="This customer's O(i → j)",
        description="Heatmap of this customer's opportunity of each next offer (columns) "
        "after each other offer (rows): red below zero, blue above, the value in each cell.",
        x_title="Next offer j",
        y_title="After i",
        colour_title="O(i→j)",
        diverging=True,
    )
    if best:
        i, j, v = best
        summary = f"Best after another offer: {j} after {i} ({v:.2f})."
    else:
        summary = "No offer can follow another for this customer."
    return VegaChart(spec, {"cells": data}, summary)
