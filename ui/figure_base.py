"""Plotly figures without plotly's validators: plain trace dicts and the house template.

The live pages redraw their figures on every slider step; ``plotly.graph_objects`` validates
every property of every trace (tens of milliseconds a figure) and deep-copies the whole
template into each figure. Built from plain dicts with ``_validate=False`` and only the
template's parts the traces use, the same figure (same JSON but for the unused trace defaults)
costs a few milliseconds. :mod:`ui.charts` re-exports :func:`trace` and :func:`styled`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go


def use_template() -> None:
    """plotly_white as plotly's default template, set once (passing it to every figure costs
    ~30 ms of validation each)."""
    import plotly.io as pio

    if pio.templates.default != "plotly_white":
        pio.templates.default = "plotly_white"


def styled(
    traces: Sequence[dict[str, Any]],
    height: int = 360,
    *,
    margin: dict[str, int] | None = None,
    **layout: Any,
) -> go.Figure:
    """:func:`ui.charts.style`'s house look for plain trace dicts (:func:`trace`), without plotly's
    validators: the same figure as ``style(go.Figure(...), height)``, built in a fraction of
    the time. ``layout``: the figure's own layout (title text, axes, legend).

    ``margin`` (pixels, e.g. from :func:`label_margin`) fixes the margins and turns automargin
    off on both axes: with automargin, plotly.js draws the figure, measures its labels and
    draws it again with the margins they need (about half of its drawing time in the
    browser); with margins that already fit, it draws once.
    """
    use_template()
    base: dict[str, Any] = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
        "font": {"size": 13},
        "legend": {"title": {}},
        "title": {"font": {"size": 15}},
    }
    for key, value in layout.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**value, **base[key]}
        else:
            base[key] = value
    if margin is not None:
        base["margin"] = {**base["margin"], **margin, "autoexpand": False}
        for axis in ("xaxis", "yaxis"):
            base[axis] = {**base.get(axis, {}), "automargin": False}
    base["template"] = template_for(tuple(sorted({str(t["type"]) for t in traces})))
    return go.Figure(data=list(traces), layout=base, _validate=False)


@functools.cache
def template_for(kinds: tuple[str, ...]) -> dict[str, Any]:
    """The house template (plotly_white) as plain JSON: its layout and the trace defaults of
    ``kinds`` (the others' defaults draw nothing in a figure without such traces)."""
    import plotly.io as pio

    full = pio.templates["plotly_white"].to_plotly_json()
    data = {k: v for k, v in full.get("data", {}).items() if k in kinds}
    return {"data": data, "layout": full["layout"]}


def trace(kind: str, **props: Any) -> dict[str, Any]:
    """A plain trace dict for :func:`figure`: ``kind`` (``"bar"``, ``"box"``, ...) and its
    properties; pandas columns become numpy arrays (what plotly's validators would make)."""
    out: dict[str, Any] = {"type": kind}
    for key, value in props.items():
        out[key] = value.to_numpy() if isinstance(value, (pd.Series, pd.Index)) else value
    return out
