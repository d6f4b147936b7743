"""Charts of the Campaigns page: lift per arm, Qini curves, policy values (plotly).

Each function lays out a frame :mod:`core.insights.campaign_views` computed and returns a
styled figure with a title and axis labels; :func:`caption` gives the text alternative the page
prints under it. Arms that are products take the product colours (:func:`ui.charts.product_colour`,
the palette of :func:`ui.charts.colour_map`); the control group is grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ui.charts import GREYS, POLICY_COLOURS, product_colour, styled, trace
from ui.figure_base import label_margin

#: Bottom margin of a chart with an x-axis title under its tick labels (pixels).
BOTTOM = 70

#: Colours of the policy kinds of :func:`core.insights.campaign_views.policy_view`.
KIND_COLOURS = {
    "learned targeting": POLICY_COLOURS["learned"],
    "best single arm": POLICY_COLOURS["journeys"],
    "single arm": POLICY_COLOURS["baseline"],
    "control": GREYS[1],
}


def arm_colours(arms: Sequence[str], control: str | None = None) -> dict[str, str]:
    """{arm: colour}: product arms in their product colour, others grey, control light grey."""
    return {a: GREYS[1] if a == control else product_colour(a, i) for i, a in enumerate(arms)}


def _error_x(frame: pd.DataFrame, value: str = "estimate") -> dict[str, Any]:
    return {
        "type": "data",
        "array": (frame["ci_high"] - frame[value]).tolist(),
        "arrayminus": (frame[value] - frame["ci_low"]).tolist(),
        "thickness": 2,
    }


def lift_chart(lifts: pd.DataFrame, outcome: str, level: float = 0.95) -> Any:
    """Each arm's lift against control with its interval (a point-and-interval chart)."""
    colours = arm_colours(list(lifts["arm"]))
    points = [
        trace(
            "scatter",
            error_x=_error_x(lifts.iloc[[i]]),
            marker={"color": colours[str(arm)], "size": 11},
            mode="markers",
            name=str(arm),
            showlegend=False,
            x=lifts["estimate"].to_numpy()[i : i + 1],
            y=[arm],
        )
        for i, arm in enumerate(lifts["arm"])
    ]
    return styled(
        points,
        max(260, 40 * len(lifts) + 90),
        margin=_margins(lifts["arm"]),
        shapes=[_vline(0)],
        yaxis={
            "categoryorder": "array",
            "categoryarray": list(lifts["arm"])[::-1],
            "title": {"text": "Arm"},
        },
        title={"text": f"Lift against control: {outcome}"},
        xaxis={"title": {"text": f"Change in {outcome} against control ({level:.0%} interval)"}},
    )


def _margins(
    left: Sequence[Any], bottom: int = BOTTOM, legend: Sequence[Any] | None = None
) -> dict[str, int] | None:
    """Fixed margins for the tick labels ``left`` (and a legend of ``legend`` on the right), so
    plotly.js draws the chart once (:func:`ui.figure_base.styled`); None (automargin) when a
    label is too long to size them safely."""
    lm = label_margin(left)
    rm = 10 if legend is None else label_margin(legend, extra=48)
    return None if lm is None or rm is None else {"l": lm, "r": rm, "b": bottom}


def _vline(x: float) -> dict[str, Any]:
    """A dashed vertical line at ``x`` (what ``fig.add_vline`` adds)."""
    return {
        "line": {"color": GREYS[0], "dash": "dash"}, "type": "line", "x0": x, "x1": x,
        "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
    }  # fmt: skip


def qini_chart(curve: pd.DataFrame, arm: str, outcome: str, level: float = 0.95) -> Any:
    """One arm's Qini curve with its bootstrap band, against random targeting."""
    colour = product_colour(arm)
    x = curve["fraction"].to_numpy()
    band = trace(
        "scatter",
        fill="toself",
        fillcolor=colour,
        hoverinfo="skip",
        line={"width": 0},
        name=f"{level:.0%} bootstrap band",
        opacity=0.18,
        x=np.concatenate([x, x[::-1]]),
        y=np.concatenate([curve["ci_high"].to_numpy(), curve["ci_low"].to_numpy()[::-1]]),
    )
    qini = trace(
        "scatter", line={"color": colour}, name="targeting by predicted uplift", x=x,
        y=curve["qini"],
    )  # fmt: skip
    random = trace(
        "scatter", line={"color": GREYS[0], "dash": "dash"}, name="random targeting", x=x,
        y=curve["random"],
    )  # fmt: skip
    ys = curve[["qini", "random", "ci_low", "ci_high"]].to_numpy()
    ticks = [f"{v:.3g}" for v in (np.nanmin(ys), np.nanmax(ys))] if ys.size else []
    return styled(
        [band, qini, random],
        380,
        margin=_margins(ticks, bottom=BOTTOM + 40),  # the legend under the x-axis title
        legend={"orientation": "h", "y": -0.25},
        title={"text": f"Qini curve: {arm} on {outcome}"},
        xaxis={
            "title": {"text": "Share of customers targeted, highest predicted uplift first"},
            "tickformat": ".0%",
        },
        yaxis={"title": {"text": f"Incremental {outcome} per customer"}},
    )


def policy_chart(view: pd.DataFrame, outcome: str, level: float = 0.95) -> Any:
    """Value of the learned targeting, every single arm and control, with intervals."""
    points = []
    for kind in pd.unique(view["kind"]):
        rows = view[view["kind"] == kind]
        points.append(
            trace(
                "scatter",
                hovertemplate=f"kind={kind}<br>value=%{{x}}<br>policy=%{{y}}<extra></extra>",
                legendgroup=kind,
                marker={"color": KIND_COLOURS[kind], "symbol": "circle", "size": 11},
                mode="markers",
                name=kind,
                orientation="h",
                showlegend=True,
                x=rows["value"],
                xaxis="x",
                y=rows["policy"].to_numpy(dtype=object),
                yaxis="y",
                error_x=_error_x(rows, "value"),
            )
        )
    return styled(
        points,
        max(280, 36 * len(view) + 110),
        margin=_margins(view["policy"], legend=pd.unique(view["kind"])),
        xaxis={
            "anchor": "y",
            "domain": [0.0, 1.0],
            "title": {"text": f"Mean {outcome} per customer (doubly robust, {level:.0%} interval)"},
        },
        yaxis={
            "anchor": "x",
            "domain": [0.0, 1.0],
            "title": {"text": "Policy"},
            "categoryorder": "array",
            "categoryarray": list(view["policy"])[::-1],
        },
        legend={"tracegroupgap": 0},
        title={"text": f"Value of each policy on the held-out customers: {outcome}"},
    )


def lift_caption(lifts: pd.DataFrame, outcome: str) -> str:
    """Text alternative of :func:`lift_chart`."""
    parts = [
        f"{r.arm} {r.estimate:+.4g} ({r.ci_low:.4g} to {r.ci_high:.4g})" for r in lifts.itertuples()
    ]
    sig = int(lifts["significant"].sum())
    return (
        f"Lift of each arm on {outcome} against control, with its interval: "
        + "; ".join(parts)
        + f". {sig} of {len(lifts)} intervals exclude zero."
    )


def qini_caption(table: pd.DataFrame, outcome: str) -> str:
    """Text alternative of the Qini curves: every arm's coefficient and interval."""
    parts = [
        f"{r.arm} {r.coefficient:.3g} ({r.ci_low:.3g} to {r.ci_high:.3g})"
        for r in table.itertuples()
    ]
    return (
        f"Qini coefficients on {outcome} (height above random targeting; 0 = no better than "
        "chance): " + "; ".join(parts) + "."
    )


def policy_caption(view: pd.DataFrame, outcome: str) -> str:
    """Text alternative of :func:`policy_chart`."""
    parts = [
        f"{r.policy} {r.value:.4g} ({r.ci_low:.4g} to {r.ci_high:.4g})" for r in view.itertuples()
    ]
    return f"Mean {outcome} per held-out customer under each policy: " + "; ".join(parts) + "."
