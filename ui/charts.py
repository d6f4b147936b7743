"""Charts: the house colours and look, and the plotly figures the pages draw.

Every figure function takes the frames core computed (nothing is computed here beyond laying
them out) and returns a plotly figure built from ``plotly.graph_objects`` (plotly express
validates its template on every call: ~60 ms a figure, against ~3 ms here). Each figure has a
title short enough for half a page at 1280 px, a title on both axes and a text alternative
(:func:`alt_text`, given to ``st.plotly_chart(alt=...)`` by :func:`plot`).

Colours: one per product on every page and in the executive report (:func:`colour_map`, from
:mod:`core.insights.colours`: the Okabe-Ito palette and Paul Tol's colour-blind safe colours;
every pair of a shipped catalog's products stays apart for protan, deutan and tritan vision).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from core.insights.colours import (
    FACTOR_COLOURS,
    GREYS,
    NO_OFFER_COLOUR,
    PRODUCT_COLOURS,
    product_colour,
)
from core.insights.colours import colour_map as colour_map  # re-exported: ui.colour_map
from ui.figure_base import template_for, use_template
from ui.figure_base import trace as trace  # re-exported

#: One colour per product key, used by every chart and the executive report
#: (:mod:`core.insights.colours`); unknown keys fall back to GREYS.
PALETTE: dict[str, str] = PRODUCT_COLOURS
FACTOR_LABELS = {"cltv": "CLTV", "churn": "Churn risk", "satisfaction": "Satisfaction"}
SEGMENT_PALETTE: tuple[str, ...] = (
    *("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"),
    *("#332288", "#882255", "#F0E442", "#661100", "#117733", "#000000"),
)
#: Colours of the RL lab's policy kinds.
POLICY_COLOURS = {
    "learned": "#D55E00",
    "journeys": "#0072B2",
    "baseline": "#7a8696",
    "ceiling": "#009E73",
}
#: Sequential colour scale of the heatmaps (light to dark blue: readable in every vision).
BLUES = "Blues"
#: The same scale spelled out, for unvalidated trace dicts (plotly.js's own "Blues" differs).
BLUES_SCALE = [[float(x), str(c)] for x, c in plotly.colors.get_colorscale(BLUES)]
#: plotly's own options of every chart: no logo, no editing links.
PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


# --------------------------------------------------------------------------------------------
# colours, look, drawing
# --------------------------------------------------------------------------------------------


def label_of(catalog: Any) -> dict[str, str]:
    """{product key: label} of a catalog."""
    return dict(zip(catalog.keys, catalog.labels, strict=True))


def factor_colours() -> dict[str, str]:
    """{factor label: colour} for charts of labelled factors."""
    return {FACTOR_LABELS[k]: c for k, c in FACTOR_COLOURS.items()}


def segment_colours(names: list[str]) -> dict[str, str]:
    """One colour per segment name, in display order (noise grey), for every segment chart."""
    from core.insights.segments import NOISE_NAME

    return {
        n: GREYS[0] if n == NOISE_NAME else SEGMENT_PALETTE[i % len(SEGMENT_PALETTE)]
        for i, n in enumerate(names)
    }


def style(fig: Any, height: int = 360) -> Any:
    """House look for plotly figures: white, compact margins, readable fonts."""
    use_template()
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 48, "b": 10},
        font={"size": 13},
        legend={"title": None},
        title={"font": {"size": 15}},
    )
    return fig


def figure(
    traces: Sequence[Any],
    title: str | None,
    x: str | None,
    y: str | None,
    alt: str,
    *,
    height: int = 360,
    legend: bool = False,
    **layout: Any,
) -> go.Figure:
    """A figure in the house look with its title, axis titles and text alternative.

    ``traces`` are ``plotly.graph_objects`` traces or plain trace dicts (``{"type": "bar",
    ...}``, :func:`trace`). When every one is a dict, plotly's validators are skipped (the
    figure serializes the same; building it costs about a third): the live pages, whose figures
    are redrawn on every slider step, build theirs this way.
    """
    use_template()
    base: dict[str, Any] = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 48 if title else 16, "b": 10},
        "font": {"size": 13},
        "title": {"text": title, "font": {"size": 15}} if title else None,
        "showlegend": legend,
        "legend": {"orientation": "h", "y": -0.22} if legend else None,
        "xaxis": {"title": {"text": x}, "automargin": True},
        "yaxis": {"title": {"text": y}, "automargin": True},
        "meta": {"alt": alt},
    }
    for key, value in layout.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    trusted = bool(traces) and all(isinstance(t, dict) for t in traces)
    if trusted:  # the template's parts these traces use: copying all of it costs ~25 ms
        base["template"] = template_for(tuple(sorted({str(t["type"]) for t in traces})))
    return go.Figure(
        data=list(traces),
        layout={k: v for k, v in base.items() if v is not None},
        _validate=not trusted,
    )


def alt_text(fig: Any) -> str | None:
    """The text alternative a figure of this module carries (``layout.meta["alt"]``)."""
    meta = getattr(getattr(fig, "layout", None), "meta", None)
    return meta.get("alt") if isinstance(meta, dict) else None


def plot(fig: Any, where: Any = None, *, alt: str | None = None, **kwargs: Any) -> Any:
    """Draw ``fig`` full width in ``where`` (a column, a tab; default the page) with its text
    alternative for screen readers (``alt``, else the one the figure carries)."""
    import streamlit as st

    target = where if where is not None else st
    return target.plotly_chart(
        fig, width="stretch", alt=alt or alt_text(fig), config=PLOT_CONFIG, **kwargs
    )


def _top(names: Sequence[Any], values: Sequence[Any], fmt: str = "{:,.0f}", k: int = 5) -> str:
    pairs = sorted(zip(names, values, strict=True), key=lambda p: -float(p[1]))[:k]
    return "; ".join(f"{n} {fmt.format(v)}" for n, v in pairs)


# --------------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------------


def first_offer_bar(counts: pd.DataFrame, colours: Mapping[str, str]) -> Any:
    """Horizontal bars of customers per recommended first offer."""
    ordered = counts.sort_values("customers")
    bar = go.Bar(
        x=ordered["customers"],
        y=ordered["offer"],
        orientation="h",
        marker_color=[colours.get(o, NO_OFFER_COLOUR) for o in ordered["offer"]],
        hovertemplate="%{y}: %{x:,} customers<extra></extra>",
    )
    alt = "Bar chart of customers per recommended first offer: " + _top(
        counts["offer"], counts["customers"]
    )
    return figure([bar], "Recommended first offer", "Customers", "First offer", alt)


def opportunity_by_bar(frame: pd.DataFrame, column: str) -> Any:
    """Bars of the total journey opportunity per value of ``column``."""
    bar = go.Bar(
        x=frame[column],
        y=frame["opportunity"],
        marker_color=PALETTE["offer"],
        hovertemplate="%{x}: %{y:,.1f}<extra></extra>",
    )
    alt = f"Bar chart of total journey opportunity by {column.lower()}: " + _top(
        frame[column], frame["opportunity"], "{:,.1f}"
    )
    return figure([bar], f"Opportunity by {column.lower()}", column, "Total opportunity", alt)


def churn_histogram(bins: pd.DataFrame) -> Any:
    """Bars of customers per predicted-churn band (:func:`core.insights.histogram`)."""
    mid = (bins["left"] + bins["right"]) / 2
    bar = go.Bar(
        x=mid,
        y=bins["customers"],
        width=(bins["right"] - bins["left"]) * 0.95,
        marker_color=FACTOR_COLOURS["churn"],
        customdata=bins[["left", "right"]].to_numpy(),
        hovertemplate="%{customdata[0]:.0%}-%{customdata[1]:.0%}: %{y:,}<extra></extra>",
    )
    peak = bins.loc[bins["customers"].idxmax()] if len(bins) else None
    alt = "Histogram of the predicted churn probability"
    if peak is not None:
        alt += f"; most customers between {peak['left']:.0%} and {peak['right']:.0%}"
    return figure(
        [bar],
        "Predicted churn risk",
        "Churn probability",
        "Customers",
        alt,
        height=300,
        xaxis={"tickformat": ".0%", "range": [0, 1]},
    )


# --------------------------------------------------------------------------------------------
# Customer (the Opportunity page's charts and the Customer page's per-customer ones are
# Vega-Lite views: ui.charts_opportunity, ui.charts_customer)
# --------------------------------------------------------------------------------------------


def importance_bar(
    frame: pd.DataFrame, factor_label: str, height: int = 320, titled: bool = True
) -> Any:
    """Horizontal bars of features by importance, in the colour of the factor (its label)."""
    colour = factor_colours().get(factor_label, GREYS[0])
    ordered = frame.sort_values("importance")
    bar = go.Bar(
        x=ordered["importance"], y=ordered["feature"], orientation="h", marker_color=colour,
        hovertemplate="%{y}: %{x:.4f}<extra></extra>",
    )  # fmt: skip
    alt = f"Bar chart of what drives the {factor_label} model most: " + _top(
        frame["feature"], frame["importance"], "{:.3f}", k=3
    )
    title = factor_label if titled else None
    return figure([bar], title, "Importance", "Feature", alt, height=height)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def _diagonal(name: str) -> Any:
    return go.Scatter(
        x=[0, 1], y=[0, 1], mode="lines", name=name, line={"dash": "dot", "color": GREYS[0]}
    )


def reliability_chart(rel: pd.DataFrame) -> Any:
    """Reliability (calibration) curve of the churn model, with the diagonal."""
    line = go.Scatter(
        x=rel["mean_predicted"], y=rel["observed_rate"], mode="lines+markers", name="model",
        line={"color": FACTOR_COLOURS["churn"]}, customdata=rel[["count"]].to_numpy(),
        hovertemplate="predicted %{x:.2f}, observed %{y:.2f} (%{customdata[0]:,})<extra></extra>",
    )  # fmt: skip
    return figure(
        [line, _diagonal("perfect")],
        "Reliability (calibration)",
        "Predicted churn",
        "Observed churn rate",
        "Line chart of the observed churn rate against the predicted probability, beside the "
        "diagonal of a perfectly calibrated model",
        legend=True,
    )


def roc_chart(curves: Any) -> Any:
    """ROC curve of out-of-fold churn predictions (:func:`core.models.report.churn_curves`)."""
    line = go.Scatter(
        x=curves.roc["fpr"], y=curves.roc["tpr"], mode="lines", fill="tozeroy", name="model",
        line={"color": FACTOR_COLOURS["cltv"]},
    )  # fmt: skip
    return figure(
        [line, _diagonal("chance")],
        f"ROC (AUC {curves.roc_auc:.3f})",
        "False positive rate",
        "True positive rate",
        f"ROC curve of the churn model, area under the curve {curves.roc_auc:.3f}",
        legend=True,
    )


def pr_chart(curves: Any) -> Any:
    """Precision-recall curve with the churn rate as the chance line."""
    line = go.Scatter(
        x=curves.pr["recall"], y=curves.pr["precision"], mode="lines", name="model",
        line={"color": FACTOR_COLOURS["cltv"]},
    )  # fmt: skip
    fig = figure(
        [line],
        f"Precision-recall (AP {curves.pr_auc:.3f})",
        "Recall",
        "Precision",
        f"Precision-recall curve of the churn model, average precision {curves.pr_auc:.3f}; "
        f"chance level (the churn rate) {curves.base_rate:.2f}",
    )
    fig.add_hline(y=curves.base_rate, line_dash="dot", annotation_text="churn rate")
    return fig


# --------------------------------------------------------------------------------------------
# RL lab
# --------------------------------------------------------------------------------------------


def policy_values_chart(table: pd.DataFrame) -> Any:
    """Expected value per customer of each policy with its 95% confidence interval."""
    ordered = table.sort_values("value")
    traces = [
        go.Scatter(
            x=rows["value"], y=rows["label"], mode="markers", name=str(kind),
            marker={"size": 11, "color": POLICY_COLOURS.get(str(kind), GREYS[0])},
            error_x={
                "type": "data", "array": (rows["ci_high"] - rows["value"]).tolist(),
                "arrayminus": (rows["value"] - rows["ci_low"]).tolist(),
            },
        )
        for kind, rows in ordered.groupby("kind", sort=False)
    ]  # fmt: skip
    alt = "Dot plot of each policy's expected value per customer with 95% intervals: " + _top(
        table["label"], table["value"], "{:.3f}"
    )
    return figure(
        traces,
        "Expected value per customer",
        "Expected weighted opportunity (95% CI)",
        "Policy",
        alt,
        height=380,
        legend=True,
        yaxis={"categoryorder": "array", "categoryarray": list(ordered["label"])},
    )


def training_curves_chart(curves: Mapping[str, pd.DataFrame], labels: Mapping[str, str]) -> Any:
    """Moving-average training return of each agent (None without curves)."""
    if not curves:
        return None
    lines = [
        go.Scatter(x=df["episode"], y=df["return_ma"], mode="lines", name=labels.get(a, a))
        for a, df in curves.items()
    ]
    return figure(
        lines,
        "Training curves",
        "Episode",
        "Moving-average return",
        "Line chart of each agent's moving-average return per training episode: "
        + ", ".join(labels.get(a, a) for a in curves),
        height=320,
        legend=True,
    )


def discount_curves(curves: pd.DataFrame) -> Any:
    """Acceptance rate by discount level per product, one panel per segment, 95% intervals."""
    import plotly.express as px

    frame = curves.assign(
        err_hi=curves["high"] - curves["rate"], err_lo=curves["rate"] - curves["low"]
    )
    fig = px.line(
        frame,
        x="discount",
        y="rate",
        color="product",
        facet_col="segment",
        facet_col_wrap=3,
        error_y="err_hi",
        error_y_minus="err_lo",
        markers=True,
        color_discrete_map={
            str(k): product_colour(str(k), i) for i, k in enumerate(frame["product"].unique())
        },
    )
    alt = (
        "Line charts of the acceptance rate by discount level, one panel per segment, one line "
        "per product (" + ", ".join(str(p) for p in frame["product"].unique()) + ")"
    )
    fig.update_layout(title="Acceptance by discount level", meta={"alt": alt})
    fig.update_xaxes(title={"text": "Discount"})
    fig.update_yaxes(title={"text": "Acceptance"})
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return style(fig, height=420)
