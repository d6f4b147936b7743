"""The page views of core.insights: the numbers the dashboard draws, on a small population.

Each view is checked against a plain loop over customers (or an independent formula), so a
change in how the dashboard computes a figure cannot go unnoticed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core import insights, pipeline
from core.data.catalog import load_catalog
from core.data.schema import FACTORS
from core.insights import model_views
from core.opportunity import NOT_CREDIBLE, Components, eligibility
from core.pipeline import Settings

SETTINGS = Settings(estimator="peer-bayes", solver="exact", seed=2)


@pytest.fixture(scope="module")
def frame(synthetic_frame) -> pd.DataFrame:
    return synthetic_frame(300, 5)


@pytest.fixture(scope="module")
def out(frame) -> pipeline.Outcome:
    return pipeline.run(frame, SETTINGS)


@pytest.fixture(scope="module")
def greedy(out) -> pipeline.JourneyResult:
    return pipeline.optimize(out.problem, SETTINGS, solver="greedy", components=out.components)


def _first_values(out) -> np.ndarray:
    """First-step value per customer and product, aggregated over held products by hand."""
    opp = out.problem.opportunity.astype(np.float64)
    first = np.empty((out.problem.n_customers, out.problem.n_products))
    for c in range(len(first)):
        held = np.flatnonzero(out.problem.held[c])
        first[c] = opp[c, 0] if not held.size else opp[c, 1 + held].sum(axis=0)  # "sum"
    return first


# -- Opportunity ------------------------------------------------------------------------------


def test_first_offer_percentiles_are_those_of_the_eligible_customers(out):
    views = insights.opportunity_views(out.problem, out.components, out.context.catalog)
    first, elig = _first_values(out), out.components.eligible
    assert list(views.first["key"]) == [
        k for j, k in enumerate(out.context.catalog.keys) if elig[:, j].any()
    ]
    for r in views.first.itertuples():
        j = out.context.catalog.index(r.key)
        v = first[elig[:, j], j]
        assert r.customers == v.size
        assert r.mean == pytest.approx(v.mean(), rel=1e-6)
        p5, q1, med, q3, p95 = np.percentile(v, [5, 25, 50, 75, 95])
        assert (r.p5, r.q1, r.median, r.q3, r.p95) == pytest.approx(
            (p5, q1, med, q3, p95), rel=1e-6, abs=1e-9
        )
        assert r.p5 <= r.q1 <= r.median <= r.q3 <= r.p95


def test_transition_matrix_is_the_mean_over_customers_eligible_for_the_next_offer(out):
    views = insights.opportunity_views(out.problem, out.components, out.context.catalog)
    m = views.matrix.to_numpy()
    opp, elig = out.problem.opportunity.astype(np.float64), out.components.eligible
    p = out.problem.n_products
    assert m.shape == (p, p) and list(views.matrix.index) == list(out.context.catalog.labels)
    for i in range(p):
        for j in range(p):
            if i == j or not elig[:, j].any():
                assert np.isnan(m[i, j])
            else:
                assert m[i, j] == pytest.approx(opp[elig[:, j], 1 + i, j].mean(), abs=1e-6)


def test_best_next_offer_counts_only_offers_valid_now(out):
    cat = out.context.catalog
    views = insights.opportunity_views(out.problem, out.components, cat)
    first, held = _first_values(out), out.components.held
    req = cat.requires_matrix()
    expected = np.zeros(cat.n_products, dtype=int)
    for c in range(len(first)):
        valid = [
            j
            for j in range(cat.n_products)
            if out.components.eligible[c, j] and all(held[c, q] for q in np.flatnonzero(req[j]))
        ]
        if valid and max(first[c, j] for j in valid) > 0:
            expected[max(valid, key=lambda j: (first[c, j], -j))] += 1
    assert views.best["customers"].tolist() == expected.tolist()
    assert req.any(), "the seed catalog has prerequisites, so the rule is exercised"


def test_a_product_whose_prerequisite_is_not_held_is_never_the_best_next_offer():
    cat = load_catalog("seed")
    p, dp, internet = cat.n_products, cat.index("device_protection"), cat.index("internet")
    held = np.zeros((2, p), dtype=bool)
    held[1, internet] = True  # customer 1 has internet, customer 0 has nothing
    values = np.zeros((2, 1 + p, p, 3), dtype=np.float32)
    values[:, 0, :, 0] = 0.1
    values[:, 0, dp, 0] = 5.0  # device protection looks best to both
    values[1, 1 + internet, :, 0] = values[1, 0, :, 0]
    elig = eligibility(cat, held)
    values *= elig[:, None, :, None]
    comps = Components(values, elig, held, np.array(["a", "b"]), cat.keys)
    problem = pipeline.problem_for(comps, cat, Settings(estimator="peer-bayes"))
    best = insights.opportunity_views(problem, comps, cat).best.set_index("product")["customers"]
    assert best["Device Protection Plan"] == 1  # only customer 1, who holds internet
    assert best.sum() == 2


def _noisy_components(seed: int, held_share: float, n: int = 300):
    """Seed-catalog components of ``n`` random customers with standard errors of 0.2: under do
    no harm at 0.9 many steps are credibly harmful. Returns the catalog, the components and the
    generator (for further draws)."""
    cat = load_catalog("seed")
    p = cat.n_products
    rng = np.random.default_rng(seed)
    held = rng.random((n, p)) < held_share
    elig = eligibility(cat, held)
    values = (rng.normal(0, 1, (n, 1 + p, p, 3)) * elig[:, None, :, None]).astype(np.float32)
    std = (np.full(values.shape, 0.2) * elig[:, None, :, None]).astype(np.float32)
    return cat, Components(values, elig, held, np.arange(n), cat.keys, std=std), rng


@pytest.mark.parametrize("aggregation", ["sum", "max"])
def test_credibly_harmful_steps_are_counted_and_never_drawn_as_values(aggregation):
    """Under do no harm a credibly harmful step holds the sentinel NOT_CREDIBLE: the views leave
    it out of every percentile and mean and count it per product (checked by a plain loop)."""
    cat, comps, _ = _noisy_components(seed=4, held_share=0.25)
    p, held, elig = cat.n_products, comps.held, comps.eligible
    s = Settings(estimator="dr", risk="lcb", risk_level=0.9, aggregation=aggregation)
    problem = pipeline.problem_for(comps, cat, s)
    opp = problem.opportunity.astype(np.float64)
    assert (opp == NOT_CREDIBLE).any()
    views = insights.opportunity_views(problem, comps, cat)
    for r in views.first.itertuples():
        j = cat.index(r.key)
        kept = []
        for c in np.flatnonzero(elig[:, j]):
            rows = [opp[c, 1 + i, j] for i in np.flatnonzero(held[c])] or [opp[c, 0, j]]
            bad = [v <= NOT_CREDIBLE for v in rows]
            if aggregation == "sum" and not any(bad):
                kept.append(sum(rows))
            elif aggregation == "max" and not all(bad):
                kept.append(max(rows))
        assert r.customers == len(kept) and r.not_credible == elig[:, j].sum() - len(kept)
        if kept:
            assert r.median == pytest.approx(np.median(kept), abs=1e-6)
            assert r.p5 == pytest.approx(np.percentile(kept, 5), abs=1e-6)
    assert views.first["not_credible"].sum() > 0
    m = views.matrix.to_numpy()
    for i in range(p):
        for j in range(p):
            use = elig[:, j] & (opp[:, 1 + i, j] > NOT_CREDIBLE)
            if i == j or not use.any():
                assert np.isnan(m[i, j])
            else:
                assert m[i, j] == pytest.approx(opp[use, 1 + i, j].mean(), abs=1e-6)
    assert np.nanmin(m) > NOT_CREDIBLE / 2


@pytest.mark.parametrize("aggregation", ["sum", "mean", "max"])
def test_the_plan_offers_only_first_steps_the_journeys_would(aggregation):
    """The Plan's eligible offers are the valid first offers that are not credibly harmful by
    the journeys' own rule (``credible_first``): with the ``mean`` of several held rows, one
    credibly harmful row keeps the offer out even when the average is far above the sentinel
    (a plain loop over the held rows checks it)."""
    from core.insights.plan_views import plan_inputs
    from core.opportunity import offerable_now

    cat, comps, rng = _noisy_components(seed=5, held_share=0.4)
    (n, p), held = comps.held.shape, comps.held
    s = Settings(estimator="dr", risk="lcb", risk_level=0.9, aggregation=aggregation)
    accept = rng.uniform(0.05, 0.6, (n, p))
    inputs = plan_inputs(comps, cat, s, accept)
    opp = pipeline.problem_for(comps, cat, s.with_(propensity=True), accept).opportunity
    now = offerable_now(cat, held)
    mixed = 0
    for c in range(n):
        for j in range(p):
            rows = [opp[c, 1 + i, j] for i in np.flatnonzero(held[c])] or [opp[c, 0, j]]
            bad = [v <= NOT_CREDIBLE for v in rows]
            credible = not all(bad) if aggregation == "max" else not any(bad)
            assert inputs.eligible[c, j] == (now[c, j] and credible), (c, j)
            mixed += now[c, j] and any(bad) and not all(bad)
    assert mixed > 0  # customers with harmful and harmless held rows: where the rules differ
    assert (inputs.value[~inputs.eligible] == 0).all()


# -- Journeys ---------------------------------------------------------------------------------


def test_journey_summary_and_its_delta_against_a_baseline(out, greedy):
    s = insights.journey_summary(out.result, greedy)
    scores, lengths = out.result.scores, out.result.lengths
    assert s.n_customers == 300
    assert s.total_opportunity == pytest.approx(scores.sum())
    assert s.share_with_offer == pytest.approx((lengths > 0).mean())
    assert s.mean_length == pytest.approx(lengths.mean())
    assert s.delta == pytest.approx(scores.sum() - greedy.scores.sum())
    assert s.delta >= -1e-9, "exact journeys are at least as good as greedy ones"
    assert insights.journey_summary(out.result).delta is None


def test_journey_steps_first_offers_and_flows_agree_with_the_table(out):
    labels = out.context.catalog.labels
    steps = insights.journey_steps(out.problem, out.result, labels, 3)
    table = out.table
    first = table[table["step"] == 1].set_index("customer_id")["product_label"]
    for cid, label in zip(steps["customer_id"], steps["step 1"], strict=True):
        assert label == first.get(cid, insights.NO_OFFER)
    offers = insights.first_offer_labels(out.result, labels)
    assert [None if x == insights.NO_OFFER else x for x in steps["step 1"]] == list(offers)

    flows = insights.journey_flows(out.problem, out.result, labels, 3)
    lengths = out.result.lengths
    for t in (1, 2):
        assert flows.loc[flows["step"] == t, "customers"].sum() == (lengths > t).sum()
    going_on = steps[
        (steps["step 1"] != insights.NO_OFFER) & (steps["step 2"] != insights.NO_OFFER)
    ]
    pairs = going_on.groupby(["step 1", "step 2"]).size()
    step1 = flows[flows["step"] == 1].set_index(["source", "target"])["customers"]
    assert step1.sort_index().tolist() == pairs.sort_index().tolist()
    # the same rows, in the same order, as grouping the step labels (what flows counted before)
    want = [
        {"step": t, "source": a, "target": b, "customers": int(n)}
        for t in (1, 2)
        for (a, b), n in steps[
            (steps[f"step {t}"] != insights.NO_OFFER)
            & (steps[f"step {t + 1}"] != insights.NO_OFFER)
        ]
        .groupby([f"step {t}", f"step {t + 1}"])
        .size()
        .items()
    ]
    assert flows.to_dict("records") == want


def test_first_offer_counts_and_segment_rows(out):
    counts = insights.first_offer_counts(out.table)
    assert counts["customers"].sum() == (out.result.lengths > 0).sum()
    assert counts["customers"].is_monotonic_decreasing

    ids = out.problem.ids
    seg = SimpleNamespace(
        customer_ids=ids, label_names=lambda: np.where(np.arange(len(ids)) % 3 == 0, "A", "B")
    )
    part = insights.segment_journeys(out.table, seg, "A")
    wanted = set(ids[::3].astype(str))
    assert set(part["customer_id"].astype(str)) <= wanted
    whole = out.table[out.table["customer_id"].astype(str).isin(wanted)]
    assert len(part) == len(whole) and part.index.tolist() == list(range(len(part)))
    assert insights.segment_journeys(out.table, seg, None) is out.table


def test_baseline_table_has_one_row_per_baseline(out):
    rep = pipeline.report(out.result, out.problem, SETTINGS, components=out.components)
    table = insights.baseline_table(rep)
    assert set(table["baseline"]) == set(rep["baselines"])
    assert {"annealing ≥ baseline", "annealing better", "mean uplift"} <= set(table.columns)
    row = table.set_index("baseline").loc["greedy"]
    assert row["mean uplift"] == pytest.approx(rep["baselines"]["greedy"]["mean_uplift"])


# -- Overview ---------------------------------------------------------------------------------


def test_overview_kpis_deltas_are_against_the_baseline(frame, out, greedy):
    proba = np.linspace(0.0, 1.0, len(frame))
    cards = {
        k.key: k
        for k in insights.overview_kpis(
            frame, out.result, greedy, "greedy", churn_proba=proba, horizon_months=6
        )
    }
    total = cards["total_opportunity"]
    assert total.label == "Journey opportunity"
    assert total.value == pytest.approx(out.result.scores.sum())
    assert total.delta == pytest.approx(out.result.scores.sum() - greedy.scores.sum())
    share = cards["share_with_offer"]
    base_share = (greedy.lengths > 0).mean()
    assert share.delta == pytest.approx((out.result.lengths > 0).mean() - base_share)
    assert "greedy" in share.help
    risk = (proba * frame["Monthly Charge"].to_numpy()).sum() * 6
    assert cards["revenue_at_risk"].value == pytest.approx(risk)
    assert cards["customers"].value == len(frame)


def test_opportunity_by_contract_and_high_risk_share(frame, out):
    by = insights.opportunity_by(frame, out.result.scores, "Contract")
    assert by["opportunity"].sum() == pytest.approx(out.result.scores.sum())
    assert set(by["Contract"]) == set(frame["Contract"])
    assert insights.opportunity_by(frame, out.result.scores, "No such column") is None
    assert insights.high_risk_share(np.array([0.1, 0.5, 0.9, 0.2])) == 0.5
    assert insights.high_risk_share(np.array([])) == 0.0


# -- Customer ---------------------------------------------------------------------------------


def test_customer_view_parts_add_up_to_the_opportunity(frame, out):
    ids = insights.example_customers(out.problem, out.result, 5)
    longest = out.result.lengths.max()
    idx = insights.customer_index(out.problem.ids, f" {ids[0]} ")
    assert idx is not None and out.result.lengths[idx] == longest
    assert insights.customer_index(out.problem.ids, "no such id") is None
    v = insights.customer_view(
        idx,
        frame=frame,
        catalog=out.context.catalog,
        components=out.components,
        problem=out.problem,
        result=out.result,
        table=out.table,
        settings=SETTINGS,
    )
    cat, elig = out.context.catalog, out.components.eligible[idx]
    assert v.id == out.problem.ids[idx] and v.factors is None  # peer-bayes: no models
    first = _first_values(out)[idx]
    parts = v.first_parts.groupby("product", sort=False)["value"].sum()
    assert list(parts.index) == [lab for j, lab in enumerate(cat.labels) if elig[j]]
    assert set(v.first_parts["factor"]) == set(FACTORS)
    for j, lab in enumerate(cat.labels):
        if elig[j]:
            assert parts[lab] == pytest.approx(first[j], abs=1e-4)
            assert v.matrix.loc["(current portfolio)", lab] == pytest.approx(
                out.problem.opportunity[idx, 0, j]
            )
        else:
            assert v.matrix[lab].isna().all()
        assert np.isnan(v.matrix.loc[lab, lab])
    steps = v.journey_parts.groupby("step", sort=False)["value"].sum()
    assert steps.to_numpy() == pytest.approx(v.journey["opportunity"].to_numpy(), abs=1e-4)
    assert len(v.journey) == longest
    assert v.held == [lab for j, lab in enumerate(cat.labels) if out.components.held[idx, j]]
    assert set(v.numbers) == set(insights.PROFILE_NUMBERS)
    assert v.numbers["Monthly Charge"] == pytest.approx(frame["Monthly Charge"].iloc[idx])


def test_customer_matrix_leaves_credibly_harmful_steps_blank():
    from core.insights.customer import START, _matrix

    cat = load_catalog("seed")
    p, n = cat.n_products, 50
    rng = np.random.default_rng(9)
    held = np.zeros((n, p), dtype=bool)
    elig = eligibility(cat, held)
    values = (rng.normal(0, 1, (n, 1 + p, p, 3)) * elig[:, None, :, None]).astype(np.float32)
    std = (np.full(values.shape, 0.2) * elig[:, None, :, None]).astype(np.float32)
    comps = Components(values, elig, held, np.arange(n), cat.keys, std=std)
    problem = pipeline.problem_for(comps, cat, Settings(estimator="dr", risk="lcb"))
    opp = problem.opportunity
    c = int(np.argmax((opp == NOT_CREDIBLE).reshape(n, -1).sum(axis=1)))
    m = _matrix(problem, comps, c, list(cat.labels)).to_numpy()
    bad = opp[c] == NOT_CREDIBLE
    assert bad.any() and np.isnan(m[bad]).all()
    ok = ~bad & ~np.isnan(m)
    assert ok.any() and np.allclose(m[ok], opp[c][ok])
    assert np.nanmin(m) > NOT_CREDIBLE / 2 and START == "(current portfolio)"


def test_drivers_keep_the_top_features_of_each_factor():
    metrics = {
        "permutation_importance": {
            "churn": [{"feature": f"f{i}", "importance": float(i)} for i in range(10)],
            "cltv": [{"feature": "a", "importance": 0.5}],
        }
    }
    d = insights.drivers(metrics, top=3)
    churn = d[d["factor"] == "churn"]
    assert churn["feature"].tolist() == ["f9", "f8", "f7"]
    assert d[d["factor"] == "cltv"]["importance"].tolist() == [0.5]
    assert insights.drivers({}) is None


# -- Models -----------------------------------------------------------------------------------


def test_metric_cards_delta_against_the_baseline():
    table = pd.DataFrame(
        {
            "factor": ["churn", "churn", "cltv"],
            "key": ["churn.roc_auc", "churn.brier", "cltv.r2"],
            "metric": ["ROC AUC", "Brier score", "CLTV R2"],
            "value": [0.8, 0.1, np.nan],
            "baseline": [0.5, 0.2, np.nan],
            "better": [True, True, None],
            "available": [True, True, False],
            "help": ["", "", ""],
        }
    )
    cards = model_views.metric_cards(table)
    assert cards["delta"].tolist()[:2] == pytest.approx([0.3, -0.1])
    assert cards["delta"].iloc[2] is None and cards["shown"].iloc[2] is None
    assert cards["lower_is_better"].tolist() == [False, True, False]
