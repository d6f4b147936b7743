"""Campaign calendars: parsing, the rules they expand to, and the problem built from arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.catalog import load_catalog
from core.planning import CalendarError, build_problem, check_plan, load_calendar, solve
from core.planning.calendar import parse_calendar

ROOT = Path(__file__).resolve().parents[2]
QUARTER = ROOT / "data" / "calendars" / "quarter.toml"

SMALL = {
    "calendar": {"name": "test", "horizon_days": 60},
    "channels": {"call": {"cost": 5.0, "response": 1.0}, "mail": {"cost": 1.0, "response": 0.5}},
    "activities": [
        {"id": "c1", "day": 1, "channel": "call", "products": ["a"]},
        {"id": "m1", "day": 10, "channel": "mail", "products": ["a", "b"]},
        {"id": "c2", "day": 25, "channel": "call", "products": ["b"]},
        {"id": "m2", "day": 50, "channel": "mail", "products": ["a"], "cost": 2.0},
    ],
    "constraints": [
        {"type": "Budget", "channels": ["call"], "bound": 8.0},
        {"type": "Minimum sales", "products": ["b"], "bound": 0.2, "soft": True, "penalty": 9.0},
    ],
    "contact_policy": {"max_contacts": 2, "window_days": 30, "refusal_cooldown_days": 45},
}


def small_problem(n: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    cal = parse_calendar(SMALL, products=["a", "b", "c"])
    value = rng.uniform(-2, 20, (n, 3))
    accept = rng.uniform(0.05, 0.6, (n, 3))
    eligible = rng.random((n, 3)) < 0.7
    problem = build_problem(
        cal, [f"k{i}" for i in range(n)], ["a", "b", "c"], value, accept, eligible=eligible
    )
    return problem, value, accept, eligible


def test_eligibility_profit_and_probability_follow_the_formulas():
    problem, value, accept, eligible = small_problem()
    asg = problem.assignments
    for n in range(len(asg)):
        c, a = int(asg.customer[n]), problem.activities.ids[asg.activity[n]]
        spec = next(x for x in SMALL["activities"] if x["id"] == a)
        cols = [
            ["a", "b", "c"].index(p)
            for p in spec["products"]
            if eligible[c, ["a", "b", "c"].index(p)]
        ]
        assert cols  # an assignment only where one of its products may be offered
        resp = SMALL["channels"][spec["channel"]]["response"]
        cost = spec.get("cost", SMALL["channels"][spec["channel"]]["cost"])
        assert asg.profit[n] == pytest.approx(resp * value[c, cols].sum() - cost)
        assert asg.probability[n] == pytest.approx(1 - np.prod(1 - resp * accept[c, cols]))
    expected = sum(
        any(eligible[c, ["a", "b", "c"].index(p)] for p in spec["products"])
        for c in range(5)
        for spec in SMALL["activities"]
    )
    assert len(asg) == expected


def test_contact_policy_becomes_rolling_windows_and_cooldowns():
    problem, *_ = small_problem()
    cons = problem.constraints
    windows = sorted((int(cons.start[k]), int(cons.end[k])) for k in problem.contact)
    days = problem.activities.day
    covered = {tuple(np.flatnonzero((days >= s) & (days <= e))) for s, e in windows}
    # every 30-day span of activity days is held by some window, and no window is redundant
    for d in days:
        span = tuple(np.flatnonzero((days >= d) & (days <= d + 29)))
        assert any(set(span) <= set(c) for c in covered)
    assert len(covered) == len(windows)
    names = problem.conflicts.names
    assert {"cooldown a", "cooldown b", "cooldown c"} <= set(names)
    ids = list(problem.activities.ids)
    m = problem.conflict_matrix
    assert m[ids.index("c1"), ids.index("m1")]  # both promote a, 9 days apart
    assert not m[ids.index("c1"), ids.index("c2")]  # a then b: different products
    assert not m[ids.index("c1"), ids.index("m2")]  # a and a, 49 days apart >= 45


def test_plans_keep_the_calendar_rules():
    problem, *_ = small_problem(n=40, seed=3)
    exact = solve(problem, "exact", time_limit=30)
    lagr = solve(problem, "lagrangian", time_limit=30)
    assert exact.feasible and lagr.feasible
    assert lagr.objective == pytest.approx(exact.objective, rel=0.005)
    everything = check_plan(problem, np.arange(problem.n_assignments))
    assert {v.type for v in everything.violations} >= {"Maximum contact", "Conflict", "Budget"}


def test_the_shipped_calendar_fits_the_full_catalog():
    keys = load_catalog("full").keys
    cal = load_calendar(QUARTER, products=keys)
    assert len(cal.activities) == 30 and cal.horizon == 120 and cal.catalog == "full"
    assert {r.type for r in cal.rules} >= {
        "Budget",
        "Maximum assignment",
        "Minimum sales",
        "Minimum assignment",
        "Maximum sales",
        "Maximum contact",
    }
    assert any(r.soft and r.penalty > 0 for r in cal.rules)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["activities"][0].update(channel="phone"), r"#1 \(id 'c1'\): channel 'phone'"),
        (
            lambda d: d["activities"][1].update(products=["z"]),
            r"product\(s\) \['z'\] not in the catalog",
        ),
        (
            lambda d: d["constraints"][0].update(type="Budgets"),
            r"type = 'Budgets' is not a constraint type",
        ),
        (lambda d: d["constraints"][1].update(penalty=0), r"soft = true needs a penalty"),
        (lambda d: d["constraints"][0].update(bound="lots"), r"bound = 'lots' is not a number"),
        (lambda d: d["activities"][2].update(day=61), r"day = 61 must be a whole day in 1..60"),
        (lambda d: d.pop("activities"), r"no \[\[activities\]\]"),
    ],
)
def test_malformed_calendars_give_one_clear_error(change, expected):
    import copy

    data = copy.deepcopy(SMALL)
    change(data)
    with pytest.raises(CalendarError, match=expected):
        parse_calendar(data, products=["a", "b", "c"])


def test_arrays_of_the_wrong_shape_are_refused():
    cal = parse_calendar(SMALL, products=["a", "b", "c"])
    with pytest.raises(CalendarError, match="value must have shape"):
        build_problem(cal, ["x"], ["a", "b", "c"], np.zeros((2, 3)), np.zeros((1, 3)))
    with pytest.raises(CalendarError, match="no column"):
        build_problem(cal, ["x"], ["a", "c"], np.zeros((1, 2)), np.zeros((1, 2)))
