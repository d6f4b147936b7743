"""Decision quality against the truth: true value, truth-optimal journeys, do no harm, the dr
estimator and the opportunity-check report."""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cli.opportunity_check import add_cli
from core.common.errors import CJOError, OptionError
from core.data.catalog import load_catalog
from core.insights.decision import harm_frontier
from core.journeys import JourneyProblem
from core.opportunity import Components, build_components, combine, risk_z
from core.opportunity.truevalue import (
    PortfolioTable,
    decision_metrics,
    journey_true_values,
    portfolio_table,
    truth_optimal,
)
from core.pipeline import Settings, journeys_table, optimize, problem_for
from core.solvers import solve

# ---------------------------------------------------------------------------------------------
# a tiny population checked by hand
#
# Three products a (0), b (1), c (2); c requires a; b and c exclude each other. Customer 0
# holds nothing, customer 1 holds b. Values v(S) (one factor, cltv, already normalised):
#   customer 0: {} 0, {a} 2, {b} 1, {c} -, {a,b} 2.5, {a,c} 5, {b,c} -
#   customer 1: {} 0 (holds b), {a} -1, {c} -, {a,c} (excluded with b)
# ---------------------------------------------------------------------------------------------


def _tiny(discount: float = 0.5) -> PortfolioTable:
    masks = np.array([0, 1, 2, 4, 3, 5, 6], dtype=np.uint64)
    v = np.full((7, 2, 3), np.nan)
    v[:, :, 1:] = 0.0
    v[:, 0, 0] = [0.0, 2.0, 1.0, 0.7, 2.5, 5.0, np.nan]  # {c} alone is tabulated but unreachable
    v[:, 1, 0] = [0.0, -1.0, np.nan, np.nan, np.nan, np.nan, np.nan]
    v[:, 1, 1:] = np.where(np.isnan(v[:, 1, :1]), np.nan, 0.0)
    requires = np.zeros((3, 3), bool)
    requires[2, 0] = True
    excludes = np.zeros((3, 3), bool)
    excludes[1, 2] = excludes[2, 1] = True
    held = np.array([[False, False, False], [False, True, False]])
    return PortfolioTable(masks, v, held, requires, excludes, 2, discount, np.ones(3))


def test_true_value_of_a_journey_by_hand():
    table = _tiny(discount=0.5)
    journeys = np.array([[0, 2], [0, -1]])  # a then c; a alone
    tv = journey_true_values(table, (1, 0, 0), journeys)
    # customer 0: (2 - 0) + 0.5 * (5 - 2) = 3.5; customer 1: -1 - 0 = -1
    assert tv.tolist() == [3.5, -1.0]
    assert journey_true_values(table, (1, 0, 0), np.array([[-1, -1], [-1, -1]])).tolist() == [0, 0]


def test_truth_optimal_by_hand_respects_prerequisites_exclusions_and_discount():
    best, journeys = truth_optimal(_tiny(discount=0.5), (1, 0, 0))
    # customer 0: a -> c = 3.5 beats a -> b (2 + 0.5 * 0.5 = 2.25) and c first (needs a);
    # customer 1: every offer loses value, so nothing
    assert best.tolist() == [3.5, 0.0]
    assert journeys.tolist() == [[0, 2], [-1, -1]]
    m = decision_metrics(np.array([2.25, -1.0]), best)
    assert m["captured"] == pytest.approx(1.25 / 3.5)
    assert m["share_harmful"] == 0.5 and m["share_at_true_optimum"] == 0.0


@pytest.fixture(scope="module")
def population():
    from core.data import synthetic

    return synthetic.generate_frame(40, 5)


@pytest.mark.parametrize("catalog", ["seed", "full"])
def test_truth_optimal_equals_brute_force_on_synthetic_customers(population, catalog):
    customers, truth = population
    cat = load_catalog(catalog)
    table = portfolio_table(truth, customers, cat)
    w = (1.0, 1.0, 1.0)
    best, journeys = truth_optimal(table, w)
    assert np.allclose(journey_true_values(table, w, journeys), best)
    req, excl, p = cat.requires_matrix(), cat.excludes_matrix(), cat.n_products
    for c in range(12):
        held, top = table.held[c], 0.0
        for length in range(1, min(cat.max_length, 3) + 1):
            for perm in itertools.permutations(range(p), length):
                seen: set[int] = set()
                ok = True
                for q in perm:
                    if held[q] or any(req[q, r] and not (held[r] or r in seen) for r in range(p)):
                        ok = False
                    if any(excl[q, r] and (held[r] or r in seen) for r in range(p)):
                        ok = False
                    seen.add(q)
                if ok:
                    j = np.full((table.n_customers, cat.max_length), -1)
                    j[c, :length] = perm
                    top = max(top, float(journey_true_values(table, w, j)[c]))
        assert best[c] >= top - 1e-9  # the DP is at least as good as every journey up to 3 steps
    assert (best >= 0).all()


# ---------------------------------------------------------------------------------------------
# do no harm
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.6, 0.8, 0.9, 0.95]))
def test_no_recommended_step_has_an_upper_bound_below_zero(seed, level):
    rng = np.random.default_rng(seed)
    n, p = 30, 4
    values = rng.normal(0, 1, (n, 1 + p, p, 3)).astype(np.float32)
    std = rng.uniform(0, 1.5, (n, 1 + p, p, 3)).astype(np.float32)
    held = rng.random((n, p)) < 0.2
    comp = Components(values, ~held, held, np.arange(n), tuple("abcd"), std=std)
    z = risk_z(level)
    w = (1.0, 0.5, 2.0)
    opp = combine(comp, w, risk=z)
    requires = np.zeros((p, p), bool)
    requires[3, 0] = True  # d needs a: a harmful a must not be offered to unlock d
    problem = JourneyProblem(opp, held, requires, np.zeros((p, p), bool), 3, 0.9, "mean")
    res = solve(problem, "exact")
    upper = ((values + z * std) @ np.array(w, np.float32)).astype(np.float64)
    j = np.asarray(res.journeys)
    for c in range(n):
        prev = -1
        for t in range(j.shape[1]):
            q = j[c, t]
            if q < 0:
                break
            row = 0 if prev < 0 else 1 + prev
            if t == 0:  # first step: the mean of the held rows, or the start row
                rows = [1 + i for i in np.nonzero(held[c])[0]] or [0]
                assert np.mean([upper[c, r, q] for r in rows]) >= 0
            else:
                assert upper[c, row, q] >= 0
            prev = q


def test_risk_needs_standard_errors_and_a_valid_level():
    comp = Components(
        np.ones((2, 3, 2, 3), np.float32),
        np.ones((2, 2), bool),
        np.zeros((2, 2), bool),
        np.arange(2),
        ("a", "b"),
    )
    assert np.array_equal(combine(comp, (1, 1, 1), risk=1.28), combine(comp, (1, 1, 1)))
    with pytest.raises(OptionError):
        risk_z(1.0)
    with pytest.raises(CJOError):
        Settings(risk="maybe")
    assert Settings(risk="lcb", risk_level=0.9).risk_z == pytest.approx(1.2816, abs=1e-3)
    default = Settings()
    assert (default.estimator, default.risk, default.risk_level) == ("dr", "lcb", 0.9)
    assert Settings(risk="none").risk_z == 0.0


# ---------------------------------------------------------------------------------------------
# the dr estimator
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dr_population(synthetic_frame):
    return synthetic_frame(1500, 3)


def test_dr_gives_standard_errors_and_the_sign_of_strong_effects(dr_population):
    cat = load_catalog("seed")
    comp = build_components(dr_population, cat, "dr", random_state=0)
    assert comp.std is not None and comp.std.shape == comp.values.shape
    first = comp.std[:, 0][comp.eligible]  # [m, 3] standard errors of eligible first offers
    assert (first >= 0).all() and (first[:, 0] > 0).mean() > 0.9
    assert comp.uncertainty
    internet = cat.index("internet")
    ok = comp.eligible[:, internet] & ~comp.held[:, internet]
    assert comp.values[ok, 0, internet, 0].mean() > 0  # internet raises CLTV (its price)
    again = build_components(dr_population, cat, "dr", random_state=0)
    assert np.array_equal(comp.values, again.values) and np.array_equal(comp.std, again.std)


def test_dr_is_chunk_independent_once_fitted(dr_population):
    from core.opportunity.estimators.doubly_robust import DoublyRobustEffects

    cat = load_catalog("seed")
    model = DoublyRobustEffects(cat, random_state=1).fit(dr_population)
    held = cat.holdings(dr_population)
    whole = model.predict(dr_population, held)
    parts = [
        model.predict(dr_population.iloc[a : a + 400], held[a : a + 400])
        for a in range(0, len(dr_population), 400)
    ]
    assert np.allclose(whole[0], np.concatenate([p[0] for p in parts]), atol=1e-5)
    assert np.allclose(whole[1], np.concatenate([p[1] for p in parts]), atol=1e-5)


def test_lcb_journeys_table_reports_the_estimate_and_its_interval(dr_population):
    s = Settings(estimator="dr", risk="lcb", risk_level=0.8, solver="exact")
    cat = load_catalog("seed")
    comp = build_components(dr_population, cat, "dr", random_state=0)
    problem = problem_for(comp, cat, s)
    table = journeys_table(optimize(problem, s), problem, comp, s, cat)
    assert {"opportunity_low", "opportunity_high"} <= set(table.columns)
    parts = table[["cltv", "churn", "satisfaction"]].sum(axis=1)
    assert np.allclose(table["opportunity"], parts, atol=1e-5)
    assert (table["opportunity_low"] <= table["opportunity"] + 1e-6).all()
    assert (table["opportunity_high"] >= table["opportunity"] - 1e-6).all()
    assert (table["opportunity_low"] > 0).any()
    plain = Settings(estimator="dr", risk="none", solver="exact")
    p2 = problem_for(comp, cat, plain)
    wider = journeys_table(optimize(p2, plain), p2, comp, plain, cat)
    assert len(wider) >= len(table)  # the bound abstains more


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------


def test_opportunity_check_reports_decisions_beside_the_ceiling_and_no_action(tmp_path):
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    out = tmp_path / "check.json"
    args = parser.parse_args(
        [
            "opportunity-check",
            "--rows",
            "400",
            "--seed",
            "2",
            "--report",
            str(out),
            "--estimators",
            "peer-bayes,dr",
            "--risk-levels",
            "0.9",
            "--confounding-levels",
            "0.5",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    report = json.loads(out.read_text())
    assert {"peer-bayes", "dr", "decision"} <= set(report)
    decision = report["decision"]
    assert set(decision) == {"seed", "full"}
    for row in decision["seed"].values():
        assert {
            "no_action",
            "ceiling",
            "ceiling/lcb=0.9",
            "peer-bayes",
            "dr",
            "dr/risk=none",
            "dr/lcb=0.9",
        } <= set(row)
        # abstaining on the residual error: a customer offered something under the bound is
        # offered something without it
        assert row["ceiling/lcb=0.9"]["share_with_offer"] <= row["ceiling"]["share_with_offer"]
        # the allowance for unrecorded confounding widens the bound: never more offers
        conf = row["dr/conf=0.5,lcb=0.9"]
        assert conf["confounding"] == 0.5 and row["dr/lcb=0.9"]["confounding"] == 0.0
        assert conf["share_with_offer"] <= row["dr/lcb=0.9"]["share_with_offer"]
        assert row["no_action"]["captured"] == 0 and row["no_action"]["share_harmful"] == 0
        for r in row.values():
            assert {"captured", "share_harmful", "share_at_true_optimum"} <= set(r)
            assert 0 <= r["share_harmful"] <= 1 and 0 <= r["share_at_true_optimum"] <= 1
    # the bound never harms more customers than the plain estimate at 1/1/1 here
    row = decision["seed"]["1/1/1"]
    assert row["dr/lcb=0.9"]["share_harmful"] <= row["dr/risk=none"]["share_harmful"] + 0.02
    again = tmp_path / "again.json"
    args.report = str(again)
    assert args.func(args) == 0

    def figures(d):  # everything but the wall-clock seconds
        return {
            c: {
                w: {k: {m: v for m, v in r.items() if m != "seconds"} for k, r in row.items()}
                for w, row in byw.items()
            }
            for c, byw in d.items()
        }

    assert figures(json.loads(again.read_text())["decision"]) == figures(decision)  # per seed
    frontier = report["frontier"]
    for cat, by_w in decision.items():
        for w, row in by_w.items():
            for family, best in frontier[cat][w].items():
                members = {k: r for k, r in row.items() if k.split("/")[0] == family}
                ok = {k: r for k, r in members.items() if r["share_harmful"] <= 0.05}
                if not ok:
                    assert best is None
                    continue
                assert best["policy"] in ok
                assert best["captured"] == max(r["captured"] for r in ok.values())


def test_harm_frontier_picks_the_best_policy_within_the_harm_limit():
    decision = {
        "seed": {
            "1/1/1": {
                "no_action": {"captured": 0.0, "share_harmful": 0.0},
                "dr/risk=none": {"captured": 0.6, "share_harmful": 0.2},
                "dr/lcb=0.8": {"captured": 0.4, "share_harmful": 0.05},
                "dr/lcb=0.9": {"captured": 0.3, "share_harmful": 0.01},
                "ceiling": {"captured": 0.8, "share_harmful": 0.08},
                "peer-bayes": {"captured": 0.7, "share_harmful": 0.25},
            }
        }
    }
    f = harm_frontier(decision, 0.05)["seed"]["1/1/1"]
    assert f["dr"] == {"policy": "dr/lcb=0.8", "captured": 0.4, "share_harmful": 0.05}
    assert f["ceiling"] is None and f["peer-bayes"] is None
    assert "no_action" not in f
    assert harm_frontier(decision, 0.1)["seed"]["1/1/1"]["ceiling"]["policy"] == "ceiling"


def test_interval_columns_are_the_parts_of_the_shifted_components():
    """journeys_table's bounds (one step_parts pass: parts are linear in the components) are the
    steps' parts of the components moved by -z / +z standard errors, levers included."""
    from dataclasses import replace

    from core.journeys import step_parts
    from core.opportunity import parse_weights, shifted
    from core.pipeline import effective_components

    cat = load_catalog("seed")
    n, p = 60, cat.n_products
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1, (n, 1 + p, p, 3)).astype(np.float32)
    std = rng.uniform(0, 0.5, (n, 1 + p, p, 3)).astype(np.float32)
    held = rng.random((n, p)) < 0.2
    comp = Components(values, ~held, held, np.arange(n), tuple(cat.keys), std=std)
    s = Settings(risk="lcb", risk_level=0.8, solver="exact", levers={cat.keys[1]: 1.5})
    problem = problem_for(comp, cat, s)
    result = optimize(problem, s)
    table = journeys_table(result, problem, comp, s, cat)
    j = np.asarray(result.journeys)
    rows, steps = np.nonzero(j >= 0)
    w = parse_weights(s.weights)
    for name, sign in (("opportunity_low", -1.0), ("opportunity_high", 1.0)):
        moved = replace(comp, values=shifted(comp, sign * risk_z(0.8)), std=None)
        eff = effective_components(moved, s.levers)
        want = step_parts(eff, problem, j, w)[rows, steps].sum(axis=1).round(6)
        np.testing.assert_allclose(table[name], want, atol=2e-6)
    assert (table["opportunity_low"] < table["opportunity_high"]).all()


def test_judging_the_journeys_already_solved_gives_the_same_figures(population):
    """A dashboard passes the journeys it drew: the figures are those of solving them again."""
    from core.insights.decision import judge, scenario_quality

    customers, truth = population
    cat = load_catalog("seed")
    table = portfolio_table(truth, customers, cat)
    rng = np.random.default_rng(3)
    n, p = len(customers), cat.n_products
    held = table.held
    values = rng.normal(0, 1, (n, 1 + p, p, 3)).astype(np.float32)
    comp = Components(values, ~held, held, np.arange(n), tuple(cat.keys))
    w = (1.0, 0.5, 0.2)
    optimal, _ = truth_optimal(table, w)
    s = Settings(catalog=cat.name, weights={"cltv": 1.0, "churn": 0.5, "satisfaction": 0.2})
    solved = optimize(problem_for(comp, cat, s), s, components=comp).journeys
    again = judge(comp, cat, table, w, optimal, settings=s)
    given_ = judge(comp, cat, table, w, optimal, settings=s, journeys=solved)
    assert given_ == again
    quality = scenario_quality(comp, cat, s, table, optimal, journeys=solved)
    assert quality.captured == again["captured"]
    other = np.full_like(np.asarray(solved), -1)  # other journeys: other figures
    assert judge(comp, cat, table, w, optimal, settings=s, journeys=other) != again
    with pytest.raises(CJOError, match="journeys for 3 customers"):
        judge(comp, cat, table, w, optimal, settings=s, journeys=np.asarray(solved)[:3])
