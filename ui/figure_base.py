"""Plotly figures without plotly's validators: plain trace dicts and the house template.

The live pages redraw their figures on every slider step; ``plotly.graph_objects`` validates
every property of every trace (tens of milliseconds a figure) and deep-copies the whole
template into each figure. Built from plain dicts with ``_validate=False`` and only the
template's parts the traces use, the same figure (same JSON but for the unused trace defaults)
costs a few milliseconds (:func:`ui.charts.figure` builds them). :mod:`ui.charts` re-exports
:func:`trace`.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd


def use_template() -> None:
    """plotly_white as plotly's default template, set once (passing it to every figure costs
    ~30 ms of validation each)."""
    import plotly.io as pio

    if pio.templates.default != "plotly_white":
        pio.templates.default = "plotly_white"


@functools.cache
def template_for(kinds: tuple[str, ...]) -> dict[str, Any]:
    """The house template (plotly_white) as plain JSON: its layout and the trace defaults of
    ``kinds`` (the others' defaults draw nothing in a figure without such traces)."""
    import plotly.io as pio

    full = pio.templates["plotly_white"].to_plotly_json()
    data = {k: v for k, v in full.get("data", {}).items() if k in kinds}
    return {"data": data, "layout": full["layout"]}


def trace(kind: str, **props: Any) -> dict[str, Any]:
    """A plain trace dict for :func:`ui.charts.figure`: ``kind`` (``"bar"``, ``"box"``, ...) and its
    properties; pandas columns become numpy arrays (what plotly's validators would make)."""
    out: dict[str, Any] = {"type": kind}
    for key, value in props.items():
        out[key] = value.to_numpy() if isinstance(value, (pd.Series, pd.Index)) else value
    return out
