"""Chart functions of ui.charts on edge cases: every figure keeps its title, axis titles and
text alternative, and an all-empty matrix (a customer nothing can be offered) draws fine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ui

LABELS = ["Phone", "Internet"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(np.full((2, 2), np.nan), index=LABELS, columns=LABELS)


def test_all_empty_matrices_still_draw_with_a_text_alternative():
    for fig in (ui.customer_matrix(_empty()), ui.transition_heatmap(_empty())):
        assert ui.alt_text(fig) and fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_the_highest_cell_is_named_in_the_text_alternative():
    m = _empty()
    m.loc["Phone", "Internet"] = 0.7
    assert "Internet after Phone (0.70)" in ui.alt_text(ui.transition_heatmap(m))


def test_flow_matrices_hold_every_flow_once_per_step_pair():
    flows = pd.DataFrame(
        [(1, "Phone", "Internet", 10), (1, "Internet", "TV", 3), (2, "Internet", "TV", 5)],
        columns=["step", "source", "target", "customers"],
    )
    fig = ui.flow_matrices(flows)
    assert [(t.xaxis, t.yaxis) for t in fig.data] == [("x", "y"), ("x2", "y2")]
    for t, part in zip(fig.data, (flows[flows.step == 1], flows[flows.step == 2]), strict=True):
        rows = zip(t.y, t.z, strict=True)
        cells = {(y, x): v for y, row in rows for x, v in zip(t.x, row, strict=True) if v}
        assert cells == {(r.source, r.target): r.customers for r in part.itertuples()}
    assert fig.layout.xaxis2.title.text == "Third offer" and fig.layout.yaxis.title.text
    # stacked panels: the second lies wholly below the first (no labels run into it)
    assert fig.layout.yaxis2.domain[1] < fig.layout.yaxis.domain[0]
    # fixed margins, wide enough for the longest offer name: plotly lays it out once
    assert not any(fig.layout[a].automargin for a in ("xaxis", "yaxis", "xaxis2", "yaxis2"))
    assert fig.layout.margin.autoexpand is False and fig.layout.margin.l >= 7 * len("Internet")
    assert "Phone to Internet (step 2) 10" in ui.alt_text(fig)
    empty = ui.flow_matrices(flows.iloc[:0])
    assert "no customer goes on" in ui.alt_text(empty) and empty.layout.title.text


def test_anneal_chart_is_one_figure_of_two_panels_without_automargin():
    trace = {
        "iteration": [1, 2, 3],
        "temperature": [2.0, 1.0, 0.5],
        "best_mean": [0.1, 0.2, 0.25],
        "current_mean": [0.1, 0.15, 0.25],
    }
    fig = ui.anneal_chart(trace, "geometric")
    assert [(t.xaxis, t.yaxis) for t in fig.data] == [("x", "y"), ("x2", "y2"), ("x2", "y2")]
    assert fig.layout.xaxis.domain[1] < fig.layout.xaxis2.domain[0]  # side by side
    for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        assert fig.layout[axis].title.text and not fig.layout[axis].automargin
    assert {a.text for a in fig.layout.annotations} == {
        "Temperature: geometric",
        "Convergence: mean journey score",
    }
    assert "from 2 to 0.5" in ui.alt_text(fig) and "ends at 0.250" in ui.alt_text(fig)
    assert ui.anneal_chart({"iteration": []}, "geometric") is None


def test_unvalidated_trace_dicts_serialize_as_the_validated_traces():
    """The live pages' figures skip plotly's validators: same data, same house layout."""
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    x, y = pd.Series([3, 1, 2]), pd.Series(["a", "b", "c"])
    checked = ui.charts.figure(
        [go.Bar(x=x, y=y, orientation="h", marker_color=["#000000"] * 3)], "T", "X", "Y", "alt"
    )
    fast = ui.charts.figure(
        [ui.charts.trace("bar", x=x, y=y, orientation="h", marker={"color": ["#000000"] * 3})],
        "T",
        "X",
        "Y",
        "alt",
    )
    a, b = (json.loads(pio.to_json(f, validate=False)) for f in (checked, fast))
    assert a["data"] == b["data"]
    assert {k: v for k, v in a["layout"].items() if k != "template"} == {
        k: v for k, v in b["layout"].items() if k != "template"
    }
    assert a["layout"]["template"]["layout"] == b["layout"]["template"]["layout"]
    assert list(b["layout"]["template"]["data"]) == ["bar"]  # the defaults of its traces only
    assert ui.alt_text(fast) == "alt"


def test_the_usage_chart_marks_the_bound_with_a_dashed_line():
    usage = pd.DataFrame(
        {
            "constraint": ["budget", "cap"],
            "type": ["Budget", "Maximum assignment"],
            "bound": [10.0, 5.0],
            "used": [10.0, 2.0],
            "share": [1.0, 0.4],
            "binding": [True, False],
            "broken": [False, False],
        }
    )
    fig = ui.usage_chart(usage)
    (line,) = fig.layout.shapes
    assert (line.x0, line.x1, line.yref, line.line.dash) == (1.0, 1.0, "y domain", "dash")
    assert [t.name for t in fig.data] == ["kept", "at its bound"]
    assert fig.layout.title.text and fig.layout.xaxis.title.text and ui.alt_text(fig)


def test_campaign_charts_keep_their_titles_colours_and_intervals():
    from ui.charts_campaigns import KIND_COLOURS, lift_chart, policy_chart

    view = pd.DataFrame(
        {
            "policy": ["learned", "internet", "control"],
            "kind": ["learned targeting", "best single arm", "control"],
            "value": [1.0, 0.8, 0.2],
            "ci_low": [0.9, 0.6, 0.1],
            "ci_high": [1.2, 0.9, 0.3],
        }
    )
    fig = policy_chart(view, "accepted")
    assert fig.layout.title.text.endswith("accepted") and fig.layout.yaxis.title.text == "Policy"
    assert [t.name for t in fig.data] == list(view["kind"])
    assert [t.marker.color for t in fig.data] == [KIND_COLOURS[k] for k in view["kind"]]
    assert [t.error_x.array[0] for t in fig.data] == pytest.approx([0.2, 0.1, 0.1])
    assert fig.layout.font.size == 13 and fig.layout.height == 280
    lifts = view.rename(columns={"policy": "arm", "value": "estimate"})
    fig = lift_chart(lifts, "revenue")
    (line,) = fig.layout.shapes  # the zero line
    assert line.x0 == 0 and line.line.dash == "dash"
    assert list(fig.layout.yaxis.categoryarray) == ["control", "internet", "learned"]


def test_campaign_charts_have_fixed_margins_sized_from_their_labels():
    # Fixed margins and no automargin: plotly.js draws each chart once on an outcome change
    # instead of drawing, measuring its labels and drawing again.
    from ui.charts_campaigns import lift_chart, policy_chart, qini_chart
    from ui.figure_base import CHAR_PX

    short = pd.DataFrame(
        {"arm": ["phone", "device_protection"], "estimate": [0.1, 0.2], "ci_low": [0.0, 0.1],
         "ci_high": [0.2, 0.3], "significant": [False, True]}
    )  # fmt: skip
    fig = lift_chart(short, "accepted")
    assert not fig.layout.margin.autoexpand
    assert fig.layout.xaxis.automargin is False and fig.layout.yaxis.automargin is False
    wider = lift_chart(short.assign(arm=["phone", "device_protection_premium"]), "accepted")
    assert wider.layout.margin.l - fig.layout.margin.l == CHAR_PX * len("_premium")
    view = pd.DataFrame(
        {"policy": ["learned targeting", "everyone: phone"], "kind": ["learned targeting",
         "single arm"], "value": [1.0, 0.8], "ci_low": [0.9, 0.6], "ci_high": [1.2, 0.9]}
    )  # fmt: skip
    pol = policy_chart(view, "accepted")
    assert pol.layout.margin.r > 10 and not pol.layout.margin.autoexpand  # the legend's room
    curve = pd.DataFrame(
        {"fraction": [0.0, 0.5, 1.0], "qini": [0.0, 0.1, 0.2], "random": [0.0, 0.1, 0.2],
         "ci_low": [0.0, 0.05, 0.1], "ci_high": [0.0, 0.15, 0.3]}
    )  # fmt: skip
    qini = qini_chart(curve, "phone", "accepted")
    assert qini.layout.margin.b > pol.layout.margin.b  # the legend under the x-axis title
    assert qini.layout.yaxis.automargin is False


def test_a_campaign_chart_with_a_very_long_label_keeps_automargin():
    from ui.charts_campaigns import lift_chart
    from ui.figure_base import MAX_FIXED_LABEL

    lifts = pd.DataFrame(
        {"arm": ["x" * (MAX_FIXED_LABEL + 1)], "estimate": [0.1], "ci_low": [0.0],
         "ci_high": [0.2], "significant": [False]}
    )  # fmt: skip
    fig = lift_chart(lifts, "accepted")
    assert fig.layout.margin.autoexpand is None and fig.layout.yaxis.automargin is None
