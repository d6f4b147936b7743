"""The Journeys page's live charts as Vega-Lite views whose specification a weight change keeps.

A plotly chart's element id hashes its figure, so every weight change made the browser throw
the chart away and draw a new one (``Plotly.newPlot``, ~0.1-0.2 s per chart). A keyed
Vega-Lite chart keeps its element id (:func:`show`: ``key`` is its identity) and, while its
specification stays the same, the browser only swaps the named datasets into the view it
already has. So the specifications here hold no figure: every number is in the datasets
(:class:`VegaChart`), and the specification changes only with what the user set beside the
weights (the annealing schedule's name). The text alternative is the specification's
``description`` (the chart's ``aria-label``): Streamlit's ``alt`` argument, even unchanged,
makes the browser build the view anew on every rerun; the figures it gave are in
:attr:`VegaChart.summary`, which the page writes under the charts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ui.charts import PALETTE

#: Height of one flow panel (offers of step t down, offers of step t + 1 across) and of the
#: annealing charts, axes and title included, in pixels.
FLOW_PANEL_PX = 380
ANNEAL_PX = 340
_ORDINALS = ("First", "Second", "Third", "Fourth", "Fifth", "Sixth")


@dataclass(frozen=True)
class VegaChart:
    """A Vega-Lite specification (its ``description`` is the chart's text alternative), the
    datasets it names (``{"data": {"name": ...}}``) and a one-line summary of the figures. Only
    the datasets carry numbers."""

    spec: dict[str, Any]
    datasets: dict[str, pd.DataFrame]
    summary: str


def _ordinal(step: int) -> str:
    return _ORDINALS[step - 1] if 0 < step <= len(_ORDINALS) else f"Step {step}"


def show(chart: VegaChart, key: str, where: Any = None) -> Any:
    """Draw ``chart`` full width under ``key`` (its identity: with the same specification, a
    rerun only swaps the data into the view the browser already has). No ``alt``: the
    specification's ``description`` is the text alternative (see the module docstring)."""
    import streamlit as st

    target = where if where is not None else st
    return target.vega_lite_chart(
        {**chart.spec, "datasets": chart.datasets}, key=key, width="stretch"
    )


def anneal_charts(trace: Mapping[str, Any], schedule: str) -> tuple[VegaChart, VegaChart] | None:
    """The annealing trace as two charts: the schedule's mean temperature (left) and the best and
    current mean journey score (right) per iteration; None without a trace."""
    it = np.asarray(trace.get("iteration", ()), dtype=float)
    if not it.size:
        return None
    temp, best, current = (
        np.asarray(trace[k], dtype=float) for k in ("temperature", "best_mean", "current_mean")
    )
    temps = pd.DataFrame({"iteration": it, "temperature": temp})
    scores = pd.DataFrame(
        {
            "iteration": np.concatenate([it, it]),
            "series": np.repeat(np.array(["best", "current"], dtype=object), it.size),
            "score": np.concatenate([best, current]),
        }
    )
    x = {"field": "iteration", "type": "quantitative", "title": "Iteration"}
    temperature = {
        "title": f"Annealing temperature: {schedule}",
        "description": f"Line chart of the {schedule} schedule's mean temperature per iteration.",
        "height": ANNEAL_PX,
        "data": {"name": "temperature"},
        "mark": {"type": "line", "color": PALETTE["offer"]},
        "encoding": {
            "x": x,
            "y": {"field": "temperature", "type": "quantitative", "title": "Mean temperature"},
            "tooltip": [
                {"field": "iteration", "type": "quantitative", "title": "Iteration"},
                {"field": "temperature", "type": "quantitative", "format": ".4g"},
            ],
        },
    }
    series = {"domain": ["best", "current"]}
    convergence = {
        "title": "Annealing convergence: mean journey score",
        "description": "Line chart of the best and current mean journey score per iteration.",
        "height": ANNEAL_PX,
        "data": {"name": "scores"},
        "mark": {"type": "line"},
        "encoding": {
            "x": x,
            "y": {
                "field": "score", "type": "quantitative", "title": "Mean score",
                "scale": {"zero": False},
            },
            "color": {
                "field": "series", "type": "nominal", "title": None,
                "scale": {**series, "range": [PALETTE["offer"], PALETTE["phone"]]},
                "legend": {"orient": "bottom"},
            },
            "strokeDash": {
                "field": "series", "type": "nominal", "legend": None,
                "scale": {**series, "range": [[1, 0], [2, 3]]},
            },
            "tooltip": [
                {"field": "iteration", "type": "quantitative", "title": "Iteration"},
                {"field": "series", "type": "nominal"},
                {"field": "score", "type": "quantitative", "format": ".4f"},
            ],
        },
    }  # fmt: skip
    alt_t = (
        f"The mean temperature goes from {temp[0]:.3g} to {temp[-1]:.3g} over "
        f"{int(it[-1])} iterations."
    )
    alt_s = f"The best mean journey score ends at {best[-1]:.3f}."
    return (
        VegaChart(temperature, {"temperature": temps}, alt_t),
        VegaChart(convergence, {"scores": scores}, alt_s),
    )


def flow_charts(flows: pd.DataFrame, steps: int = 3) -> list[VegaChart]:
    """One heatmap per pair of steps (t, t + 1), t < ``steps``: customers going from each offer
    of step t (rows) to each offer of step t + 1 (columns), with the counts in the cells.

    ``flows`` is :func:`core.insights.journey_flows`: only customers who go on to a next offer
    flow on. Offers are ordered busiest first (then by name) on both axes of every panel; a
    pair without customers is an empty panel (the page keeps its place).
    """
    rows = list(zip(flows["step"].tolist(), flows["source"].tolist(), flows["target"].tolist(),
                    flows["customers"].tolist(), strict=True))  # fmt: skip
    total: dict[str, float] = {}
    for _, a, b, n in rows:
        total[str(a)] = total.get(str(a), 0) + n
        total[str(b)] = total.get(str(b), 0) + n
    rank = {o: i for i, o in enumerate(sorted(total, key=lambda o: (-total[o], o)))}
    out = []
    for t in range(1, steps):
        part = [(str(a), str(b), int(n)) for step, a, b, n in rows if step == t]
        top = max((n for *_, n in part), default=0)
        # a few dozen cells: plain lists (pandas' per-column work costs more than the data)
        cells = pd.DataFrame(
            {
                "source": [a for a, _, _ in part],
                "target": [b for _, b, _ in part],
                "customers": [n for *_, n in part],
                "source_rank": [rank[a] for a, _, _ in part],
                "target_rank": [rank[b] for _, b, _ in part],
                # cells above half the panel's largest count are dark: their count in white
                "dark": [n > top / 2 for *_, n in part],
            },
            columns=["source", "target", "customers", "source_rank", "target_rank", "dark"],
        )
        here, then = _ordinal(t), _ordinal(t + 1)
        spec = {
            "title": f"{here} → {then.lower()} offer",
            "description": f"Heatmap of customers going from each {here.lower()} offer (rows) "
            f"to each {then.lower()} offer (columns), with the counts in the cells.",
            "height": FLOW_PANEL_PX,
            "data": {"name": "flows"},
            "encoding": {
                "x": {
                    "field": "target", "type": "nominal", "title": f"{then} offer",
                    "sort": {"field": "target_rank", "op": "min"},
                    "axis": {"labelAngle": -30, "labelLimit": 160},
                },
                "y": {
                    "field": "source", "type": "nominal", "title": f"{here} offer",
                    "sort": {"field": "source_rank", "op": "min"},
                    "axis": {"labelLimit": 220},
                },
            },
            "layer": [
                {
                    "mark": {"type": "rect"},
                    "encoding": {
                        "color": {
                            "field": "customers", "type": "quantitative", "title": "Customers",
                            "scale": {"scheme": "blues"},
                        },
                        "tooltip": [
                            {"field": "source", "type": "nominal", "title": f"{here} offer"},
                            {"field": "target", "type": "nominal", "title": f"{then} offer"},
                            {"field": "customers", "type": "quantitative", "format": ","},
                        ],
                    },
                },
                {
                    "mark": {"type": "text"},
                    "encoding": {
                        "text": {"field": "customers", "type": "quantitative", "format": ","},
                        "color": {
                            "condition": {"test": "datum.dark", "value": "white"},
                            "value": "black",
                        },
                    },
                },
            ],
        }  # fmt: skip
        biggest = sorted(part, key=lambda r: -r[2])[:3]
        summary = f"{here} → {then.lower()}: " + (
            "; ".join(f"{a} → {b} {n:,}" for a, b, n in biggest)
            or f"no customer goes on to a {then.lower()} offer"
        )
        out.append(VegaChart(spec, {"flows": cells}, summary))
    return out
