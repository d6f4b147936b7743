"""Chart functions of ui.charts on edge cases: every figure keeps its title, axis titles and
text alternative, and an all-empty matrix (a customer nothing can be offered) draws fine. The
Journeys page's Vega-Lite charts keep every number in their datasets (ui.charts_journeys)."""

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


def test_flow_charts_hold_every_flow_once_per_step_pair_and_no_figure_in_their_specs():
    flows = pd.DataFrame(
        [(1, "Phone", "Internet", 10), (1, "Internet", "TV", 3), (2, "Internet", "TV", 5)],
        columns=["step", "source", "target", "customers"],
    )
    charts = ui.flow_charts(flows, 3)
    assert [c.spec["title"] for c in charts] == ["First → second offer", "Second → third offer"]
    for chart, part in zip(charts, (flows[flows.step == 1], flows[flows.step == 2]), strict=True):
        cells = chart.datasets["flows"]
        got = {(r.source, r.target): r.customers for r in cells.itertuples()}
        assert got == {(r.source, r.target): r.customers for r in part.itertuples()}
        assert chart.spec["description"] and chart.spec["data"] == {"name": "flows"}
        enc = chart.spec["encoding"]
        assert enc["x"]["title"] and enc["y"]["title"]
    # busiest offers first on both axes: Internet (18 customers) before TV (8) and Phone (10)
    first = charts[0].datasets["flows"].set_index("source")
    assert first.loc["Internet", "source_rank"] < first.loc["Phone", "source_rank"]
    assert "Phone → Internet 10" in charts[0].summary
    # the numbers are in the datasets only: other flows, the same specifications
    other = ui.flow_charts(flows.assign(customers=flows["customers"] * 2 + 1), 3)
    assert [c.spec for c in other] == [c.spec for c in charts]
    empty = ui.flow_charts(flows.iloc[:0], 3)
    assert len(empty) == 2 and all(len(c.datasets["flows"]) == 0 for c in empty)
    assert "no customer goes on" in empty[1].summary
    assert [c.spec for c in empty] == [c.spec for c in charts]


def test_anneal_charts_are_two_line_charts_whose_specs_hold_no_figure():
    trace = {
        "iteration": [1, 2, 3],
        "temperature": [2.0, 1.0, 0.5],
        "best_mean": [0.1, 0.2, 0.25],
        "current_mean": [0.1, 0.15, 0.25],
    }
    temperature, scores = ui.anneal_charts(trace, "geometric")
    assert temperature.spec["title"] == "Annealing temperature: geometric"
    assert scores.spec["title"] == "Annealing convergence: mean journey score"
    assert list(temperature.datasets["temperature"]["temperature"]) == [2.0, 1.0, 0.5]
    got = scores.datasets["scores"].pivot(index="iteration", columns="series", values="score")
    assert list(got["best"]) == [0.1, 0.2, 0.25] and list(got["current"]) == [0.1, 0.15, 0.25]
    for chart in (temperature, scores):
        enc = chart.spec["encoding"]
        assert chart.spec["description"] and enc["x"]["title"] and enc["y"]["title"]
    assert "from 2 to 0.5" in temperature.summary and "ends at 0.250" in scores.summary
    later = ui.anneal_charts({**trace, "best_mean": [0.3, 0.4, 0.5]}, "geometric")
    assert [c.spec for c in later] == [temperature.spec, scores.spec]
    assert ui.anneal_charts({"iteration": []}, "geometric") is None


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


def test_the_plan_charts_mark_the_bound_and_keep_their_specification_across_plans():
    """The usage chart's dashed rule at 100 %, and every Plan chart's specification the same for
    two plans (only the datasets change: the browser swaps them into its views)."""

    def usage(used: list[float]) -> pd.DataFrame:
        bound = [10.0, 5.0]
        return pd.DataFrame(
            {
                "constraint": ["budget", "cap"],
                "type": ["Budget", "Maximum assignment"],
                "bound": bound,
                "used": used,
                "share": [u / b for u, b in zip(used, bound, strict=True)],
                "binding": [u == b for u, b in zip(used, bound, strict=True)],
                "broken": [u > b for u, b in zip(used, bound, strict=True)],
            }
        )

    a, b = ui.usage_chart(usage([10.0, 2.0])), ui.usage_chart(usage([4.0, 6.0]))
    assert a.spec == b.spec and a.spec["title"] and a.spec["description"]
    bars, rule = a.spec["layer"]
    assert rule["mark"]["type"] == "rule" and rule["mark"]["strokeDash"]
    assert rule["data"]["values"] == [{"at": 1.0}]
    assert bars["encoding"]["x"]["title"] and bars["encoding"]["y"]["title"]
    assert list(a.datasets["usage"]["status"]) == ["at its bound", "kept"]
    assert list(b.datasets["usage"]["status"]) == ["kept", "broken"]
    assert "budget 10.0 of 10.0" in a.summary and "(broken)" in b.summary

    channels = ["email", "phone"]
    by_channel = pd.DataFrame(
        {"channel": channels, "contacts": [3, 1], "cost": [0.3, 5.0],
         "expected_sales": [0.5, 0.2], "expected_value": [10.0, 4.0]}
    )  # fmt: skip
    by_day = pd.DataFrame(
        {"day": [1, 8], "channel": channels, "activity": ["e1", "p8"], "contacts": [3, 1]}
    )
    one = ui.channel_chart(by_channel, channels), ui.day_chart(by_day, channels, 14)
    two = ui.channel_chart(by_channel.iloc[::-1], channels), ui.day_chart(by_day[:1], channels, 14)
    for x, y in zip(one, two, strict=True):
        assert x.spec == y.spec and set(x.spec["data"]) == {"name"}  # the numbers are data
    colours = one[0].spec["encoding"]["color"]["scale"]
    assert colours["domain"] == channels
    assert colours["range"] == list(ui.channel_colours(channels).values())
    assert one[1].spec["encoding"]["x"]["scale"]["domain"] == list(range(1, 15))


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


def test_horizontal_factor_bars_list_the_steps_down_the_side_in_order():
    long = pd.DataFrame(
        {
            "step": ["1. Premium Tech Support"] * 2 + ["2. Device Protection Plan"] * 2,
            "factor": ["CLTV", "Churn risk"] * 2,
            "value": [1.0, 0.5, -0.2, 0.3],
        }
    )
    upright = ui.factor_bars(long, "step", "Each step", "Opportunity")
    flat = ui.factor_bars(long, "step", "Each step", "Opportunity", horizontal=True)
    assert all(t.orientation == "h" for t in flat.data)
    assert [list(t.y) for t in flat.data] == [list(t.x) for t in upright.data]
    assert [list(t.x) for t in flat.data] == [list(t.y) for t in upright.data]
    assert flat.layout.yaxis.autorange == "reversed"  # step 1 at the top
    assert flat.layout.xaxis.title.text == "Opportunity" and flat.layout.yaxis.title.text == "Step"
    assert ui.alt_text(flat) == ui.alt_text(upright)


def test_segment_projection_and_key_factors_have_fixed_margins_and_keep_their_titles():
    """The two largest Segments figures are laid out once (no automargin pass) with room for
    their tick labels and axis titles."""
    from core.data import synthetic
    from core.insights.segments import page_data
    from ui.charts_segments import FIXED_LEFT, segment_charts

    customers, _ = synthetic.generate_frame(400, seed=1)
    page = page_data(customers, k=3, min_share=0.0)
    _, projection, boxes = segment_charts(page)
    for fig in (projection, boxes):
        axes = [a for a in fig.to_plotly_json()["layout"] if a.startswith(("xaxis", "yaxis"))]
        assert axes and all(fig.layout[a].automargin is False for a in axes)
        assert fig.layout.margin.l == FIXED_LEFT and ui.alt_text(fig)
    assert projection.layout.xaxis.title.text and projection.layout.yaxis.title.text
    assert boxes.layout.yaxis.title.text == "Value" and len(boxes.data) == 3 * len(
        {a["text"] for a in boxes.layout.annotations}
    )


def test_ranked_segments_table_is_static_formatted_and_in_the_rankings_order():
    """The ranked segments are a static table (``st.table``): every segment in the ranking's
    order, named columns, shares as percentages and no segment id."""
    from core.data import synthetic
    from core.insights.segments import page_data

    customers, _ = synthetic.generate_frame(400, seed=1)
    page = page_data(customers, k=3, min_share=0.0)
    styled = ui.ranked_table(page)
    assert list(styled.data.index) == list(page.insights["segment_ranking"])
    assert "segment_id" not in styled.data.columns and styled.data.index.name == "segment"
    assert {"customers", "share", "churn rate", "top first offer"} <= set(styled.data.columns)
    html = styled.to_html()
    share = float(styled.data["share"].iloc[0])
    assert f"{share:.1%}" in html and f"{int(styled.data['customers'].iloc[0]):,}" in html


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


def test_static_table_formats_each_kind_of_column_and_hides_the_index():
    frame = pd.DataFrame(
        {
            "arm": ["internet", "offer"],
            "estimate": [0.012345678, 1234.5678],
            "n_treated": [665, 1845],
            "significant": [True, False],
            "ci_low": [np.nan, -0.5],
        }
    )
    html = ui.static_table(frame).to_html()
    for shown in ("0.01235", "1,235", "1,845", "yes", "no", "-0.5"):
        assert f">{shown}<" in html, shown
    assert "nan" not in html.lower()
    assert ui.static_table(frame).data is frame  # the values stay as they were


def test_box_by_segment_keeps_the_pages_segment_order_and_colours():
    """The sentiment boxes colour and place each segment as the page's other segment charts do,
    whatever order the writers come in."""
    order = ["new and at risk", "loyal", "budget", "referrers"]
    frame = pd.DataFrame(
        {"segment": ["referrers", "budget", "budget", "new and at risk"], "s": [0.1, 0.2, 0.3, 0.4]}
    )
    fig = ui.box_by_segment(frame, "s", "Sentiment", order)
    palette = ui.segment_colours(order)
    drawn = {t.name: t.marker.color for t in fig.data}
    assert drawn == {n: palette[n] for n in ("new and at risk", "budget", "referrers")}
    assert list(fig.layout.xaxis.categoryarray) == ["new and at risk", "budget", "referrers"]
    plain = ui.box_by_segment(frame, "s", "Sentiment")  # without an order: as they come
    assert [t.name for t in plain.data] == ["referrers", "budget", "new and at risk"]
