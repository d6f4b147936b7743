"""Chart functions of ui.charts on edge cases: every figure keeps its title, axis titles and
text alternative, and an all-empty matrix (a customer nothing can be offered) draws fine. The
Journeys page's Vega-Lite charts keep every number in their datasets (ui.charts_journeys)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import ui

LABELS = ["Phone", "Internet"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(np.full((2, 2), np.nan), index=LABELS, columns=LABELS)


def test_all_empty_matrices_still_draw_with_a_text_alternative():
    from ui.charts_opportunity import transition_heatmap

    for chart in (ui.customer_matrix(_empty()), transition_heatmap(_empty())):
        assert chart.spec["description"] and chart.spec["title"] and chart.summary
        x, y = chart.spec["encoding"]["x"], chart.spec["encoding"]["y"]
        assert x["title"] and y["title"]
        assert next(iter(chart.datasets.values())).empty


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
    from ui.charts_campaigns import KIND_COLOURS, lift_chart, policy_chart, qini_chart

    view = pd.DataFrame(
        {
            "policy": ["learned", "internet", "control"],
            "kind": ["learned targeting", "best single arm", "control"],
            "value": [1.0, 0.8, 0.2],
            "ci_low": [0.9, 0.6, 0.1],
            "ci_high": [1.2, 0.9, 0.3],
        }
    )
    pol = policy_chart(view, "accepted")
    points = pol.datasets["policies"]
    assert points["policy"].tolist() == ["learned", "internet", "control"]  # top to bottom
    assert points[["value", "ci_low", "ci_high"]].to_numpy().tolist() == [
        [1.0, 0.9, 1.2], [0.8, 0.6, 0.9], [0.2, 0.1, 0.3]
    ]  # fmt: skip
    rule = pol.spec["layer"][0]["encoding"]
    assert rule["y"]["title"] == "Policy" and rule["x"]["title"].startswith("Mean outcome")
    assert rule["color"]["scale"] == {
        "domain": list(KIND_COLOURS), "range": list(KIND_COLOURS.values())
    }  # fmt: skip
    assert "learned 1 (0.9 to 1.2)" in pol.summary and "accepted" in pol.summary
    lifts = view.rename(columns={"policy": "arm", "value": "estimate"}).assign(
        significant=[True, True, False]
    )
    lift = lift_chart(lifts, "revenue")
    zero = lift.spec["layer"][2]
    assert zero["data"]["values"] == [{"zero": 0}] and zero["mark"]["strokeDash"]
    assert lift.datasets["lifts"]["colour"].tolist() == list(ui.arm_colours(
        ["learned", "internet", "control"]).values())  # fmt: skip
    assert "2 of 3 intervals exclude zero" in lift.summary
    curve = pd.DataFrame(
        {"fraction": [0.0, 0.5, 1.0], "qini": [0.0, 0.1, 0.2], "random": [0.0, 0.05, 0.1],
         "ci_low": [0.0, 0.05, 0.1], "ci_high": [0.0, 0.15, 0.3]}
    )  # fmt: skip
    qini = qini_chart(curve, "phone", "accepted")
    lines = qini.datasets["lines"]
    assert lines.groupby("series")["value"].max().to_dict() == {
        "random targeting": 0.1, "targeting by predicted uplift": 0.2
    }  # fmt: skip
    assert qini.datasets["band"]["ci_high"].tolist() == [0.0, 0.15, 0.3]
    # another outcome or arm swaps the data only: the views the browser has are kept
    assert qini_chart(curve, "internet", "revenue").spec == qini.spec
    assert policy_chart(view.iloc[:2], "revenue").spec == pol.spec
    assert lift_chart(lifts.iloc[:1], "accepted").spec == lift.spec
    for chart in (pol, lift, qini):
        assert chart.spec["title"] and chart.spec["description"]
        assert "accepted" not in str(chart.spec) and "revenue" not in str(chart.spec)


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
    assert flat.datasets["parts"].equals(upright.datasets["parts"])
    up, side = upright.spec["encoding"], flat.spec["encoding"]
    same = ("field", "type", "title", "sort")
    assert all(side["y"][k] == up["x"][k] for k in same)  # the same axes, turned
    assert all(side["x"].get(k) == up["y"].get(k) for k in same)
    assert side["y"]["sort"] == {"field": "rank", "op": "min"}  # step 1 at the top
    assert side["x"]["title"] == "Opportunity" and side["y"]["title"] == "Step"
    assert flat.spec["height"] == {"step": 30}  # a row per step, however many steps
    assert flat.summary == upright.summary


def _segments_page(k: int):
    from core.data import synthetic
    from core.insights.segments import page_data

    customers, _ = synthetic.generate_frame(400, seed=1)
    return page_data(customers, k=k, min_share=0.0)


def _every_string(node) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_every_string(v) for v in node.values()), set(map(str, node)))
    if isinstance(node, list):
        return set().union(set(), *(_every_string(v) for v in node))
    return {node} if isinstance(node, str) else set()


def test_segment_charts_keep_their_specs_across_segmentations_and_hold_no_data_in_them():
    """The Segments page's charts are Vega-Lite views whose specifications are the same for
    any segments (a change of the segments only swaps their datasets): no segment name, colour
    or count in a specification, and titles, axis titles and text alternatives kept."""
    from ui.charts_segments import segment_charts

    three, two = _segments_page(3), _segments_page(2)
    a, b = segment_charts(three), segment_charts(two)
    assert a.crosstab is None  # no journeys: no first offers
    charts_a = [a.sizes, a.projection, *a.factors, _crosstab(["ab", "cd", "ef"], ["Phone", "TV"])]
    charts_b = [b.sizes, b.projection, *b.factors, _crosstab(["gh", "ij"], ["(none)", "Phone"])]
    assert [c.spec for c in charts_a] == [c.spec for c in charts_b]
    assert [list(c.datasets) for c in charts_a] == [list(c.datasets) for c in charts_b]
    names = {
        str(n)
        for n in [*three.sizes["segment"], *two.sizes["segment"], "ab", "cd", "ef", "gh", "ij"]
    }
    for chart in charts_a:
        strings = _every_string(chart.spec)
        assert not names & strings and not set(ui.segment_colours(sorted(names)).values()) & strings
        assert chart.spec["title"] and chart.spec["description"] and chart.summary
    assert a.sizes.spec["encoding"]["x"]["title"] == "Segment"
    assert a.sizes.spec["encoding"]["y"]["title"] == "Customers"
    assert a.projection.spec["encoding"]["x"]["title"] == "First component"
    assert a.projection.spec["encoding"]["y"]["title"] == "Second component"
    assert [c.spec["title"] for c in a.factors] == list(dict.fromkeys(three.distributions.factor))


def test_segment_chart_data_hold_every_segment_in_the_pages_order_and_colours():
    """Sizes, projection cells and key-factor boxes carry each segment's place in the page's
    order and its colour (the same in every chart); the legend's key sorts in that order."""
    from core.insights.segments import box_stats
    from ui.charts_segments import segment_charts

    page = _segments_page(3)
    charts = segment_charts(page)
    order = [str(n) for n in page.sizes["segment"]]
    palette = ui.segment_colours(order)
    sizes = charts.sizes.datasets["sizes"]
    assert list(sizes["segment"]) == order and list(sizes["rank"]) == [0, 1, 2]
    assert list(sizes["customers"]) == list(page.sizes["size"])
    cells = charts.projection.datasets["cells"]
    assert cells["customers"].sum() == page.sizes["size"].sum()
    assert sorted(cells["key"].unique()) == [f"{i:03d} {n}" for i, n in enumerate(order)]
    boxes = box_stats(page.distributions, "factor", "segment")
    for chart in (charts.sizes, charts.projection, *charts.factors):
        (data,) = chart.datasets.values()
        assert all(palette[n] == c for n, c in zip(data["segment"], data["colour"], strict=True))
        assert all(order[r] == n for n, r in zip(data["segment"], data["rank"], strict=True))
    for chart in charts.factors:
        data = chart.datasets["boxes"]
        mine = boxes[boxes["factor"] == chart.spec["title"]].set_index("segment").loc[order]
        assert list(data["segment"]) == order
        np.testing.assert_allclose(data["median"], mine["median"])
        np.testing.assert_allclose(data["p95"], mine["p95"])


def _crosstab(rows: list[str], offers: list[str]):
    from ui.charts_segments import _crosstab as chart

    counts = np.arange(len(rows) * len(offers)).reshape(len(rows), len(offers))
    return chart(pd.DataFrame(counts, index=rows, columns=offers))


def test_segment_x_first_offer_cells_hold_every_count_in_the_crosstabs_order():
    chart = _crosstab(["x", "y", "z"], ["Phone", "TV"])
    cells = chart.datasets["crosstab"]
    assert list(cells["customers"]) == [0, 1, 2, 3, 4, 5]  # row by row
    assert list(cells["segment"]) == ["x", "x", "y", "y", "z", "z"]
    assert list(cells["segment_rank"]) == [0, 0, 1, 1, 2, 2]
    assert list(cells["offer"]) == ["Phone", "TV"] * 3 and list(cells["offer_rank"]) == [0, 1] * 3
    assert list(cells["dark"]) == [False, False, False, True, True, True]  # above half of 5
    assert "z × TV 5" in chart.summary


def test_repeated_segment_colours_stay_one_colour_per_segment():
    """Past the palette's length a colour repeats; each segment still has a value of its own
    (the legend's scale reads one colour per distinct value), of the same colour."""
    from ui.charts_segments import _unique

    drawn = _unique(["#0072B2", "#E69F00", "#0072B2", "#0072B2"])
    assert drawn == ["#0072B2", "#E69F00", "#0072B2fe", "#0072B2fd"]
    assert len(set(drawn)) == 4


def test_signal_boxes_are_plotlys_box_plots_in_the_pages_order_and_colours():
    """The sentiment / P(alive) boxes: quartiles, whiskers to the furthest value within 1.5
    IQR, the values beyond as outliers; segments in the page's order and colours whatever
    order the writers come in, with a specification that holds no segment."""
    from ui.charts_segments import signal_boxes, tukey_boxes

    values = [0.0, 1.0, 2.0, 3.0, 4.0, 100.0]
    frame = pd.DataFrame({"segment": ["b"] * 6 + ["a", "a"], "s": [*values, 0.5, 0.7]})
    stats, outliers = tukey_boxes(frame, "s")
    row = stats.set_index("segment").loc["b"]
    assert (row.q1, row["median"], row.q3) == (1.25, 2.5, 3.75)
    assert (row.lo, row.hi, row.n) == (0.0, 4.0, 6)  # 100 is beyond 3.75 + 1.5 * 2.5
    assert list(outliers.itertuples(index=False)) == [("b", 100.0)]
    order = ["c", "a", "b"]  # "c" wrote nothing: "a" and "b" keep their colours
    chart = signal_boxes(frame, "s", "Sentiment", order)
    palette = ui.segment_colours(order)
    boxes = chart.datasets["boxes"]
    assert sorted(zip(boxes["rank"], boxes["segment"], strict=True)) == [(1, "a"), (2, "b")]
    assert {n: c for n, c in zip(boxes["segment"], boxes["colour"], strict=True)} == {
        "a": palette["a"],
        "b": palette["b"],
    }
    assert list(chart.datasets["outliers"]["colour"]) == [palette["b"]]
    other = signal_boxes(frame.assign(segment=frame["segment"].map({"a": "x", "b": "y"})),
                         "s", "Sentiment", ["y", "x"])  # fmt: skip
    assert other.spec == chart.spec and not {"a", "b", "c"} & _every_string(chart.spec)
    assert chart.spec["encoding"]["x"]["title"] == "Segment"
    assert "medians b 2.5; a 0.6" in chart.summary


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


def _views(scale: float) -> object:
    from core.insights.opportunity_views import OpportunityViews

    first = pd.DataFrame(
        {
            "product": ["Phone", "Internet"], "key": ["phone", "internet"],
            "customers": [10, 8], "mean": [0.2 * scale, 0.5 * scale],
            "p5": [-0.1, 0.0], "q1": [0.1, 0.2], "median": [0.2 * scale, 0.4],
            "q3": [0.3, 0.6], "p95": [0.5, 0.9],
        }
    )  # fmt: skip
    matrix = _empty()
    matrix.loc["Phone", "Internet"] = 0.7 * scale
    matrix.loc["Internet", "Phone"] = -0.2
    best = pd.DataFrame({"product": ["Internet", "Phone"], "customers": [12, int(3 * scale)]})
    return OpportunityViews(first=first, matrix=matrix, best=best)


def test_opportunity_charts_hold_every_figure_in_their_data_and_keep_their_specs():
    colours = {"Phone": "#111111", "Internet": "#222222"}
    box, heat, best = ui.opportunity_charts(_views(1.0), colours)
    assert [c.spec["title"] if isinstance(c.spec["title"], str) else c.spec["title"]["text"]
            for c in (box, heat, best)] == [
        "Value as the next offer", "Offer j right after offer i", "Best next offer",
    ]  # fmt: skip
    boxes = box.datasets["boxes"]
    assert boxes["product"].tolist() == ["Phone", "Internet"]
    assert boxes["colour"].tolist() == ["#111111", "#222222"]  # the page's product colours
    assert boxes["median"].tolist() == [0.2, 0.4] and boxes["p95"].tolist() == [0.5, 0.9]
    cells = heat.datasets["cells"]
    assert sorted(zip(cells["after"], cells["offer"], cells["value"], strict=True)) == [
        ("Internet", "Phone", -0.2),
        ("Phone", "Internet", 0.7),
    ]  # the NaN diagonal is no cell
    assert "Internet after Phone (0.70)" in heat.summary
    assert best.datasets["best"]["customers"].tolist() == [12, 3]
    assert best.datasets["best"]["colour"].tolist() == ["#222222", "#111111"]
    assert "Internet 12" in best.summary
    # another weight setting changes the data only: the views the browser has are kept
    again = ui.opportunity_charts(_views(2.0), colours)
    for a, b in zip((box, heat, best), again, strict=True):
        assert a.spec == b.spec and a.spec.get("description")
        assert not any(isinstance(v, pd.DataFrame) for v in a.spec.values())
    assert again[1].datasets["cells"]["value"].max() == 1.4
    assert again[2].datasets["best"]["customers"].tolist() == [12, 6]


def test_opportunity_charts_of_an_empty_population_still_draw():
    from core.insights.opportunity_views import OpportunityViews

    empty = OpportunityViews(
        first=_views(1.0).first.iloc[:0],  # type: ignore[attr-defined]
        matrix=_empty(),
        best=pd.DataFrame({"product": [], "customers": []}),
    )
    box, heat, best = ui.opportunity_charts(empty, {})
    assert box.datasets["boxes"].empty and heat.datasets["cells"].empty
    assert "no offer" in box.summary and "No offer" in heat.summary
    assert "no customer" in best.summary


def test_customer_charts_keep_their_specs_and_hold_every_part_in_their_data():
    parts = pd.DataFrame(
        {
            "step": ["1. Internet", "1. Internet", "2. TV", "2. TV"],
            "factor": ["CLTV", "Churn risk", "CLTV", "Satisfaction"],
            "value": [0.5, -0.2, 0.1, 0.3],
        }
    )
    steps = ui.factor_bars(parts, "step", "Each step", "Opportunity", horizontal=True)
    data = steps.datasets["parts"]
    assert data["label"].tolist() == parts["step"].tolist()
    assert data["rank"].tolist() == [0, 0, 1, 1]  # steps in journey order from the top
    assert data["value"].tolist() == parts["value"].tolist()
    assert steps.spec["encoding"]["y"]["field"] == "label"  # steps down the side
    assert steps.spec["encoding"]["color"]["scale"]["domain"] == ["CLTV", "Churn risk",
                                                                  "Satisfaction"]  # fmt: skip
    assert "1. Internet +0.30" in steps.summary and "2. TV +0.40" in steps.summary
    other = ui.factor_bars(parts.assign(value=-parts["value"]), "step", "Each step",
                                 "Opportunity", horizontal=True)  # fmt: skip
    assert other.spec == steps.spec  # another customer: the view is kept, its data swapped

    m = _empty()
    m.loc["Phone", "Internet"] = 0.7
    m.loc["Internet", "Phone"] = -1234.5
    matrix = ui.customer_matrix(m)
    cells = matrix.datasets["cells"]
    assert sorted(cells["label"]) == ["-1.2k", "0.70"]
    assert matrix.spec["layer"][0]["encoding"]["color"]["scale"]["domainMid"] == 0
    assert "Internet after Phone (0.70)" in matrix.summary
    assert ui.customer_matrix(_empty()).spec == matrix.spec
    assert "No offer" in ui.customer_matrix(_empty()).summary


def test_the_box_plot_draws_credible_values_only_and_says_what_is_never_offered():
    first = pd.DataFrame(
        {
            "product": ["Phone Service", "Internet Service", "Offer"],
            "key": ["phone", "internet", "offer"],
            "customers": [0, 120, 300],
            "not_credible": [400, 1234, 0],
            "mean": [np.nan, 0.5, 0.2],
            **{c: [np.nan, 0.1, 0.0] for c in ("p5", "q1", "median", "q3", "p95")},
        }
    )
    box = ui.charts_opportunity.opportunity_box(first)
    data = box.datasets["boxes"]
    assert data["product"].tolist() == ["Internet Service", "Offer"]  # no box without a value
    assert data[["p5", "p95"]].notna().all().all()
    assert box.summary.endswith(
        "Credibly harmful, so never offered: Internet Service to 1,234 customers; "
        "Phone Service to 400 customers."
    )


def test_the_tradeoff_chart_rings_the_scenarios_setting_and_names_the_best_within_the_limit():
    frame = pd.DataFrame(
        {
            "risk": ["none", "lcb", "lcb", "lcb", "lcb"],
            "risk_level": [np.nan, 0.8, 0.9, 0.8, 0.9],
            "confounding": [0.0, 0.0, 0.0, 0.5, 0.5],
            "captured": [0.6, 0.45, 0.3, 0.2, 0.1],
            "share_harmful": [0.2, 0.08, 0.045, 0.03, 0.01],
            "share_with_offer": [0.9, 0.6, 0.4, 0.3, 0.2],
        }
    )
    chart = ui.charts_opportunity.tradeoff_chart(frame, risk="lcb", risk_level=0.9, confounding=0.5)
    points = chart.datasets["points"]
    assert points["current"].tolist() == [False, False, False, False, True]
    assert points["series"].tolist()[:2] == ["no risk control", "no allowance"]
    assert chart.datasets["limit"]["harmed"].tolist() == [5.0]
    encoding = chart.spec["layer"][1]["encoding"]
    x_lo, x_hi = encoding["x"]["scale"]["domain"]
    y_lo, y_hi = encoding["y"]["scale"]["domain"]
    assert x_lo == 0 and x_hi > 20.0 and y_lo == 0 and y_hi > 60.0  # every point inside
    assert chart.summary == (
        "Within 5% made worse off the most value is 30.0% captured (level 0.9, 4.5% worse off); "
        "this scenario (level 0.9, allowance 0.5): 10.0% captured, 1.0% worse off."
    )
    off = ui.charts_opportunity.tradeoff_chart(frame, risk="none", risk_level=0.9, confounding=0)
    assert off.datasets["points"]["current"].tolist() == [True, False, False, False, False]
