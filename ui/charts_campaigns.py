"""Charts of the Campaigns page: lift per arm, Qini curves, policy values (keyed Vega-Lite).

Each function lays out a frame :mod:`core.insights.campaign_views` computed as a
:class:`ui.charts_journeys.VegaChart` whose specification holds no figure and names no outcome
or arm (the page's headings do): another outcome or Qini arm swaps the data into the views the
browser already has instead of re-creating three plotly charts (a plotly chart's element id
hashes its figure). :func:`lift_caption`, :func:`qini_caption` and :func:`policy_caption` give
the figures the page prints under each chart; the specification's description is the chart's
text alternative. Arms that are products take the product colours
(:func:`ui.charts.product_colour`, the palette of :func:`ui.charts.colour_map`); the control
group is grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ui.charts import GREYS, POLICY_COLOURS, product_colour
from ui.charts_journeys import VegaChart

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


def _level(level: float) -> str:
    return f"{level:.0%} interval"


def _point_interval(
    y: dict[str, Any], value: str, x_title: str, colour: dict[str, Any], tooltip: list[Any]
) -> list[dict[str, Any]]:
    """The two layers of a point-and-interval chart: the interval (``ci_low`` to ``ci_high``)
    as a rule and ``value`` as a filled point, per row of ``y``."""
    return [
        {
            "mark": {"type": "rule", "strokeWidth": 2},
            "encoding": {
                "y": y,
                "x": {"field": "ci_low", "type": "quantitative", "title": x_title},
                "x2": {"field": "ci_high"},
                "color": colour,
                "tooltip": tooltip,
            },
        },
        {
            "mark": {"type": "point", "filled": True, "size": 120, "opacity": 1},
            "encoding": {
                "y": y,
                "x": {"field": value, "type": "quantitative"},
                "color": colour,
                "tooltip": tooltip,
            },
        },
    ]


def lift_chart(lifts: pd.DataFrame, outcome: str, level: float = 0.95) -> VegaChart:
    """Each arm's lift against control with its interval (a point-and-interval chart, arms
    down the side in the frame's order, a dashed line at zero).

    The specification names no outcome and no arm (the page's heading names the outcome):
    another outcome swaps the data into the view the browser has."""
    colours = arm_colours([str(a) for a in lifts["arm"]])
    arms = [str(a) for a in lifts["arm"]]
    data = pd.DataFrame(
        {
            "arm": arms,
            "rank": list(range(len(arms))),
            "estimate": lifts["estimate"].astype(float).tolist(),
            "ci_low": lifts["ci_low"].astype(float).tolist(),
            "ci_high": lifts["ci_high"].astype(float).tolist(),
            "colour": [colours[a] for a in arms],
        },
        columns=["arm", "rank", "estimate", "ci_low", "ci_high", "colour"],
    )
    y = {
        "field": "arm", "type": "nominal", "title": "Arm",
        "sort": {"field": "rank", "op": "min"}, "axis": {"labelLimit": 220},
    }  # fmt: skip
    tooltip = [
        {"field": "arm", "type": "nominal", "title": "Arm"},
        {"field": "estimate", "type": "quantitative", "format": "+.4g", "title": "Lift"},
        {"field": "ci_low", "type": "quantitative", "format": ".4g", "title": "From"},
        {"field": "ci_high", "type": "quantitative", "format": ".4g", "title": "To"},
    ]
    colour = {"field": "colour", "type": "nominal", "scale": None}
    spec = {
        "title": "Lift against control",
        "description": "Point and interval chart of each arm's lift against the control group; "
        "an interval that crosses the dashed zero line is not proven.",
        "autosize": {"type": "fit-x", "contains": "padding"},
        "height": {"step": 40},
        "data": {"name": "lifts"},
        "layer": [
            *_point_interval(
                y, "estimate", f"Change against control ({_level(level)})", colour, tooltip
            ),
            {
                "data": {"values": [{"zero": 0}]},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": GREYS[0]},
                "encoding": {"x": {"field": "zero", "type": "quantitative"}},
            },
        ],
    }  # fmt: skip
    return VegaChart(spec, {"lifts": data}, lift_caption(lifts, outcome))


def qini_chart(curve: pd.DataFrame, arm: str, outcome: str, level: float = 0.95) -> VegaChart:
    """One arm's Qini curve (in the arm's colour) with its bootstrap band, against random
    targeting (dashed). The specification names no arm and no outcome: another arm or outcome
    swaps the data."""
    colour = product_colour(arm)
    n = len(curve)
    data = pd.DataFrame(
        {
            "fraction": np.concatenate([curve["fraction"].to_numpy(dtype=float)] * 2),
            "value": np.concatenate(
                [curve["qini"].to_numpy(dtype=float), curve["random"].to_numpy(dtype=float)]
            ),
            "series": ["targeting by predicted uplift"] * n + ["random targeting"] * n,
            "colour": [colour] * n + [GREYS[0]] * n,
        },
        columns=["fraction", "value", "series", "colour"],
    )
    band = pd.DataFrame(
        {
            "fraction": curve["fraction"].to_numpy(dtype=float),
            "ci_low": curve["ci_low"].to_numpy(dtype=float),
            "ci_high": curve["ci_high"].to_numpy(dtype=float),
            "colour": [colour] * n,
        },
        columns=["fraction", "ci_low", "ci_high", "colour"],
    )
    x = {
        "field": "fraction", "type": "quantitative", "axis": {"format": ".0%"},
        "title": "Share of customers targeted, highest predicted uplift first",
    }  # fmt: skip
    series = ["targeting by predicted uplift", "random targeting"]
    spec = {
        "title": "Qini curve against random targeting",
        "description": "Line chart of the incremental outcome per customer when targeting by "
        f"predicted uplift (with its {level:.0%} bootstrap band) and at random, by the share "
        "of customers targeted.",
        "height": 300,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "layer": [
            {
                "data": {"name": "band"},
                "mark": {"type": "area", "opacity": 0.18},
                "encoding": {
                    "x": x,
                    "y": {"field": "ci_low", "type": "quantitative"},
                    "y2": {"field": "ci_high"},
                    "color": {"field": "colour", "type": "nominal", "scale": None},
                },
            },
            {
                "data": {"name": "lines"},
                "mark": {"type": "line", "strokeWidth": 2},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "value", "type": "quantitative",
                        "title": "Incremental outcome per customer",
                    },
                    "color": {"field": "colour", "type": "nominal", "scale": None},
                    "strokeDash": {
                        "field": "series", "type": "nominal", "title": None,
                        "scale": {"domain": series, "range": [[1, 0], [5, 4]]},
                        "legend": {"orient": "bottom", "symbolStrokeColor": GREYS[2], "labelLimit": 260},
                    },
                    "tooltip": [
                        {"field": "series", "type": "nominal", "title": "Targeting"},
                        {"field": "fraction", "type": "quantitative", "format": ".0%",
                         "title": "Targeted"},
                        {"field": "value", "type": "quantitative", "format": ".4g"},
                    ],
                },
            },
        ],
    }  # fmt: skip
    summary = f"Qini curve of {arm} on {outcome}."
    return VegaChart(spec, {"band": band, "lines": data}, summary)


def policy_chart(view: pd.DataFrame, outcome: str, level: float = 0.95) -> VegaChart:
    """Value of the learned targeting, every single arm and control, with intervals, coloured
    by kind (:data:`KIND_COLOURS`, with its legend). No outcome in the specification."""
    policies = [str(p) for p in view["policy"]]
    data = pd.DataFrame(
        {
            "policy": policies,
            "rank": list(range(len(policies))),
            "kind": [str(k) for k in view["kind"]],
            "value": view["value"].astype(float).tolist(),
            "ci_low": view["ci_low"].astype(float).tolist(),
            "ci_high": view["ci_high"].astype(float).tolist(),
        },
        columns=["policy", "rank", "kind", "value", "ci_low", "ci_high"],
    )
    y = {
        "field": "policy", "type": "nominal", "title": "Policy",
        "sort": {"field": "rank", "op": "min"}, "axis": {"labelLimit": 220},
    }  # fmt: skip
    colour = {
        "field": "kind", "type": "nominal", "title": None,
        "scale": {"domain": list(KIND_COLOURS), "range": list(KIND_COLOURS.values())},
        "legend": {"orient": "bottom"},
    }  # fmt: skip
    tooltip = [
        {"field": "policy", "type": "nominal", "title": "Policy"},
        {"field": "kind", "type": "nominal", "title": "Kind"},
        {"field": "value", "type": "quantitative", "format": ".4g"},
        {"field": "ci_low", "type": "quantitative", "format": ".4g", "title": "From"},
        {"field": "ci_high", "type": "quantitative", "format": ".4g", "title": "To"},
    ]
    spec = {
        "title": "Value of each policy on the held-out customers",
        "description": "Point and interval chart of the mean outcome per held-out customer "
        "under the learned targeting, each single arm and control.",
        "autosize": {"type": "fit-x", "contains": "padding"},
        "height": {"step": 36},
        "data": {"name": "policies"},
        "layer": _point_interval(
            y,
            "value",
            f"Mean outcome per customer (doubly robust, {_level(level)})",
            colour,
            tooltip,
        ),
    }
    return VegaChart(spec, {"policies": data}, policy_caption(view, outcome))


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
