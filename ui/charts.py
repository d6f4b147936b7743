"""Charts: the house colours and look, and the plotly figures the pages draw.

Every figure function takes the frames core computed (nothing is computed here beyond laying
them out) and returns a styled plotly figure for ``st.plotly_chart``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

#: One colour per product key, used by every chart (unknown keys fall back to GREYS).
PALETTE: dict[str, str] = {
    "offer": "#1f5fa8",
    "phone": "#e07b39",
    "internet": "#2a9d8f",
    "device_protection": "#8e5ea2",
    "tech_support": "#d1495b",
    "multiple_lines": "#f2b134",
    "online_security": "#4c956c",
    "online_backup": "#6c8ebf",
    "streaming_tv": "#b56576",
    "streaming_movies": "#7f5539",
    "streaming_music": "#5e548e",
    "unlimited_data": "#3d5a80",
}
GREYS = ("#7a8696", "#9aa5b1", "#5c6773")
FACTOR_COLOURS = {"cltv": "#1f5fa8", "churn": "#d1495b", "satisfaction": "#2a9d8f"}
FACTOR_LABELS = {"cltv": "CLTV", "churn": "Churn risk", "satisfaction": "Satisfaction"}
SEGMENT_PALETTE: tuple[str, ...] = (
    *("#1f5fa8", "#e07b39", "#2a9d8f", "#8e5ea2", "#d1495b", "#f2b134", "#4c956c"),
    *("#6c8ebf", "#b56576", "#7f5539", "#5e548e", "#3d5a80"),
)
NO_OFFER_COLOUR = "#c9d1db"
#: Colours of the RL lab's policy kinds.
POLICY_COLOURS = {
    "learned": "#d1495b",
    "journeys": "#1f5fa8",
    "baseline": "#7a8696",
    "ceiling": "#2a9d8f",
}


# --------------------------------------------------------------------------------------------
# colours and look
# --------------------------------------------------------------------------------------------


def product_colour(key: str, i: int = 0) -> str:
    """The colour of product ``key`` (the ``i``-th grey when it has none)."""
    return PALETTE.get(key, GREYS[i % len(GREYS)])


def colour_map(catalog: Any, by: str = "label") -> dict[str, str]:
    """{label or key: colour} for a catalog's products (plotly ``color_discrete_map``)."""
    names = catalog.labels if by == "label" else catalog.keys
    return {
        n: product_colour(k, i) for i, (n, k) in enumerate(zip(names, catalog.keys, strict=True))
    }


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


def _use_template() -> None:
    """plotly_white as plotly's default template, set once (passing it to every figure costs
    ~30 ms of validation each)."""
    import plotly.io as pio

    if pio.templates.default != "plotly_white":
        pio.templates.default = "plotly_white"


def style(fig: Any, height: int = 360) -> Any:
    """House look for plotly figures: white, compact margins, readable fonts."""
    _use_template()
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        font={"size": 13},
        legend={"title": None},
        title={"font": {"size": 15}},
    )
    return fig


# --------------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------------


def first_offer_bar(counts: pd.DataFrame, colours: Mapping[str, str]) -> Any:
    """Horizontal bars of customers per recommended first offer."""
    fig = px.bar(
        counts,
        x="customers",
        y="offer",
        orientation="h",
        color="offer",
        color_discrete_map=dict(colours),
        title="Recommended first offer",
    )
    fig.update_layout(showlegend=False, yaxis={"categoryorder": "total ascending", "title": None})
    return style(fig)


def opportunity_by_bar(frame: pd.DataFrame, column: str) -> Any:
    """Bars of the total journey opportunity per value of ``column``."""
    fig = px.bar(
        frame, x=column, y="opportunity", title=f"Journey opportunity by {column.lower()} type"
    )
    fig.update_traces(marker_color=PALETTE["offer"])
    fig.update_layout(yaxis_title="Total opportunity", xaxis_title=None)
    return style(fig)


def churn_histogram(proba: np.ndarray) -> Any:
    """Histogram of the predicted churn probability."""
    fig = px.histogram(
        pd.DataFrame({"churn probability": proba}),
        x="churn probability",
        nbins=40,
        title="Churn-risk distribution (predicted by the churn model)",
    )
    fig.update_traces(marker_color=FACTOR_COLOURS["churn"])
    fig.update_layout(yaxis_title="Customers", bargap=0.05)
    return style(fig, 300)


# --------------------------------------------------------------------------------------------
# Opportunity
# --------------------------------------------------------------------------------------------


def opportunity_box(first: pd.DataFrame) -> Any:
    """Box plot per product of its value as the next offer (precomputed percentiles)."""
    fig = go.Figure()
    for r in first.itertuples():
        fig.add_box(
            x=[r.product], q1=[r.q1], median=[r.median], q3=[r.q3], lowerfence=[r.p5],
            upperfence=[r.p95], mean=[r.mean], name=r.product, showlegend=False,
            marker_color=product_colour(str(r.key)),
        )  # fmt: skip
    fig.update_layout(
        title="Opportunity as the next offer (box: quartiles, whiskers: 5th-95th percentile)",
        yaxis_title="Opportunity",
    )
    return style(fig)


def transition_heatmap(matrix: pd.DataFrame) -> Any:
    """Heatmap of the mean opportunity of offer j right after offer i."""
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(), x=list(matrix.columns), y=list(matrix.index),
            colorscale="Blues", texttemplate="%{z:.2f}", colorbar={"title": "mean O(i→j)"},
            hovertemplate="after %{y}, offer %{x}: %{z:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title="Mean opportunity of offer j right after offer i",
        xaxis_title="then offer j",
        yaxis={"title": "after offer i", "autorange": "reversed"},
    )
    return style(fig)


def best_offer_bar(best: pd.DataFrame, colours: Mapping[str, str]) -> Any:
    """Bars of the customers for whom each offer is the best next step."""
    fig = go.Figure(
        go.Bar(
            x=best["product"],
            y=best["customers"],
            marker_color=[colours[p] for p in best["product"]],
        )
    )
    fig.update_layout(
        title="Customers for whom each offer is the best next step", yaxis_title="Customers"
    )
    return style(fig, 320)


# --------------------------------------------------------------------------------------------
# Journeys
# --------------------------------------------------------------------------------------------


def anneal_charts(trace: Mapping[str, Any], schedule: str) -> tuple[Any, Any] | None:
    """(temperature schedule, convergence) of an annealing trace; None without a trace."""
    tr = pd.DataFrame(dict(trace))
    if not len(tr):
        return None
    temp = go.Figure(
        go.Scatter(
            x=tr["iteration"],
            y=tr["temperature"],
            name="temperature",
            line={"color": PALETTE["offer"]},
        )
    )
    temp.update_layout(
        title=f"Temperature schedule: {schedule}",
        xaxis_title="Iteration",
        yaxis_title="Mean temperature",
    )
    conv = go.Figure()
    for col, colour in (("best_mean", "#1f5fa8"), ("current_mean", "#e07b39")):
        conv.add_scatter(
            x=tr["iteration"], y=tr[col], name=col.replace("_mean", ""), line={"color": colour}
        )
    conv.update_layout(
        title="Convergence: mean journey score",
        xaxis_title="Iteration",
        yaxis_title="Mean score",
        legend={"orientation": "h", "y": -0.2},
    )
    return style(temp), style(conv)


def sankey(flows: pd.DataFrame, colours: Mapping[str, str]) -> Any:
    """Plotly Sankey of the offers at step 1 -> step 2 -> step 3 (one colour per product).

    ``flows`` is :func:`core.insights.journey_flows`: only customers who go on to a next offer
    flow on; the rest end at their last offer.
    """
    nodes: list[tuple[int, str]] = []
    index: dict[tuple[int, str], int] = {}
    src, dst, val = [], [], []
    for r in flows.itertuples(index=False):
        t = int(r.step) - 1
        for node in ((t, str(r.source)), (t + 1, str(r.target))):
            if node not in index:
                index[node] = len(nodes)
                nodes.append(node)
        src.append(index[(t, str(r.source))])
        dst.append(index[(t + 1, str(r.target))])
        val.append(int(r.customers))
    palette = {**colours, "No offer": NO_OFFER_COLOUR}
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": [f"{lab} (step {t + 1})" for t, lab in nodes],
                "color": [palette.get(lab, GREYS[0]) for _, lab in nodes],
                "pad": 14,
            },
            link={"source": src, "target": dst, "value": val, "color": "rgba(120,130,150,0.25)"},
        )
    )
    return style(fig, 420)


# --------------------------------------------------------------------------------------------
# Customer
# --------------------------------------------------------------------------------------------


def factor_bars(long: pd.DataFrame, x: str, title: str, y_title: str, height: int = 320) -> Any:
    """Stacked bars of labelled factor parts (``x``, ``factor``, ``value``)."""
    fig = px.bar(
        long,
        x=x,
        y="value",
        color="factor",
        barmode="relative",
        color_discrete_map=factor_colours(),
        title=title,
    )
    fig.update_layout(xaxis_title=None, yaxis_title=y_title)
    return style(fig, height)


def customer_matrix(matrix: pd.DataFrame) -> Any:
    """Heatmap of one customer's O(i -> j)."""
    fig = px.imshow(
        matrix,
        text_auto=".2f",
        color_continuous_scale="RdBu",
        aspect="auto",
        color_continuous_midpoint=0.0,
        labels={"x": "next offer j", "y": "after i", "color": "O(i→j)"},
    )
    return style(fig, 360)


def importance_bar(
    frame: pd.DataFrame, factor_label: str, height: int = 320, titled: bool = True
) -> Any:
    """Horizontal bars of features by importance, in the colour of the factor (its label)."""
    colour = factor_colours().get(factor_label, GREYS[0])
    title = factor_label if titled else None
    fig = px.bar(frame, x="importance", y="feature", orientation="h", title=title)
    fig.update_traces(marker_color=colour)
    fig.update_layout(yaxis={"categoryorder": "total ascending", "title": None})
    return style(fig, height)


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------


def segment_charts(page: Any) -> tuple[Any, Any, Any]:
    """(customers per segment, 2-D projection, key factors by segment) of a segments page."""
    order = list(page.sizes["segment"])
    look: dict[str, Any] = {"color": "segment", "color_discrete_map": segment_colours(order)}
    look["category_orders"] = {"segment": order}
    sizes = px.bar(
        page.sizes, x="segment", y="size", text_auto=True, title="Customers per segment", **look
    )
    projection = px.scatter(
        page.projection, x="x", y="y", opacity=0.6, title="2-D projection (PCA)", **look
    )
    dist = px.box(
        page.distributions,
        x="segment",
        y="value",
        facet_col="factor",
        facet_col_wrap=3,
        title="Key factors by segment",
        **look,
    )
    dist.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    dist.update_yaxes(matches=None, showticklabels=True, title=None).update_xaxes(title=None)
    return (
        style(sizes.update_layout(showlegend=False)),
        style(projection.update_traces(marker_size=4)),
        style(dist.update_layout(showlegend=False), 560),
    )


def crosstab_heatmap(crosstab: pd.DataFrame) -> Any:
    """Heatmap of customers per segment and recommended first offer."""
    fig = px.imshow(crosstab, text_auto=True, aspect="auto", color_continuous_scale="Blues")
    return style(fig, 320)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def reliability_chart(rel: pd.DataFrame) -> Any:
    """Reliability (calibration) curve of the churn model, with the diagonal."""
    fig = px.line(rel, x="mean_predicted", y="observed_rate", markers=True, hover_data=["count"])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line_dash="dot"))
    fig.update_layout(title="Reliability (calibration)", xaxis_title="predicted churn")
    return style(fig)


def roc_chart(curves: Any) -> Any:
    """ROC curve of out-of-fold churn predictions (:func:`core.models.report.churn_curves`)."""
    fig = px.area(curves.roc, x="fpr", y="tpr", title=f"ROC (AUC {curves.roc_auc:.3f})")
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line_dash="dot"))
    fig.update_layout(xaxis_title="false positive rate", yaxis_title="true positive rate")
    return style(fig)


def pr_chart(curves: Any) -> Any:
    """Precision-recall curve with the churn rate as the chance line."""
    fig = px.line(
        curves.pr, x="recall", y="precision", title=f"Precision-recall (AP {curves.pr_auc:.3f})"
    )
    fig.add_hline(y=curves.base_rate, line_dash="dot", annotation_text="churn rate")
    return style(fig)


# --------------------------------------------------------------------------------------------
# RL lab
# --------------------------------------------------------------------------------------------


def policy_values_chart(table: pd.DataFrame) -> Any:
    """Expected value per customer of each policy with its 95% confidence interval."""
    fig = px.scatter(
        table,
        x="value",
        y="label",
        color="kind",
        color_discrete_map=POLICY_COLOURS,
        title="Expected value per customer",
    )
    fig.update_traces(marker_size=11).update_yaxes(categoryorder="total ascending")
    fig.update_layout(xaxis_title="expected weighted opportunity (95% CI)", yaxis_title=None)
    for trace in fig.data:  # one trace per kind: each gets its own error bars
        rows = table[table["kind"] == trace.name]
        trace.error_x = {
            "array": (rows["ci_high"] - rows["value"]).tolist(),
            "arrayminus": (rows["value"] - rows["ci_low"]).tolist(),
        }
    return style(fig, 380)


def training_curves_chart(curves: Mapping[str, pd.DataFrame], labels: Mapping[str, str]) -> Any:
    """Moving-average training return of each agent (None without curves)."""
    parts: Sequence[pd.DataFrame] = [df.assign(agent=labels.get(a, a)) for a, df in curves.items()]
    if not parts:
        return None
    fig = px.line(pd.concat(parts), x="episode", y="return_ma", color="agent")
    fig.update_layout(yaxis_title="moving-average return")
    return style(fig, 320)


def box_by_segment(frame: pd.DataFrame, column: str, title: str) -> Any:
    """Box plot of ``column`` per ``segment`` (segment colours), with the count in the legend."""
    names = list(dict.fromkeys(frame["segment"].astype(str)))
    colours = segment_colours(names)
    fig = px.box(
        frame.assign(segment=frame["segment"].astype(str)),
        x="segment",
        y=column,
        color="segment",
        color_discrete_map=colours,
        category_orders={"segment": names},
    )
    fig.update_layout(title=title, showlegend=False, xaxis_title="", yaxis_title=column)
    return style(fig)


def discount_curves(curves: pd.DataFrame) -> Any:
    """Acceptance rate by discount level per product, one panel per segment, 95% intervals."""
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
    fig.update_layout(title="Acceptance by discount level (95% Wilson intervals)")
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return style(fig, height=420)
