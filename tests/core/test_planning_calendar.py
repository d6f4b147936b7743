"""Campaign calendars: parsing, the rules they expand to, and the problem built from arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.catalog import load_catalog
from core.planning import CalendarError, build_problem, check_plan, load_calendar, solve
from core.planning.calendar import parse_calendar, window_removals

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


# -- contact windows (issue 22, item 2): a product counts for an activity only inside the
# customer's window for it ------------------------------------------------------------------

TINY = {
    "calendar": {"name": "tiny", "horizon_days": 30},
    "channels": {"mail": {"cost": 1.0, "response": 0.5}},
    "activities": [
        {"id": "early", "day": 5, "channel": "mail", "products": ["a", "b"]},
        {"id": "late", "day": 20, "channel": "mail", "products": ["a"]},
    ],
}
TINY_VALUE = np.array([[10.0, 4.0], [6.0, 2.0]])
TINY_ACCEPT = np.array([[0.5, 0.2], [0.3, 0.1]])


def tiny(windows=None):
    cal = parse_calendar(TINY, products=["a", "b"])
    return cal, build_problem(cal, ["x", "y"], ["a", "b"], TINY_VALUE, TINY_ACCEPT, windows=windows)


def pairs(problem):
    asg = problem.assignments
    ids = problem.activities.ids
    return {
        (["x", "y"][int(c)], str(ids[a])): (float(v), float(p))
        for c, a, v, p in zip(asg.customer, asg.activity, asg.profit, asg.probability, strict=True)
    }


def test_windows_keep_only_in_window_products_as_computed_by_hand():
    # x may hear of a on days 1-10 and of b on days 15-30; y on any day
    windows = np.array([[[1, 10], [15, 30]], [[1, 30], [1, 30]]])
    cal, plain = tiny()
    _, windowed = tiny(windows)
    before, after = pairs(plain), pairs(windowed)
    # without windows, x's early mail counts a and b: 0.5 * (10 + 4) - 1, 1 - (1 - .25)(1 - .1)
    assert before[("x", "early")] == pytest.approx((6.0, 0.325))
    # day 5 is inside x's window for a only: 0.5 * 10 - 1 = 4, probability 0.5 * 0.5
    assert after[("x", "early")] == pytest.approx((4.0, 0.25))
    # day 20 is outside x's window for a, the late mail's only product: no assignment
    assert ("x", "late") in before and ("x", "late") not in after
    # y's windows hold every day: nothing changes for y
    assert after[("y", "early")] == pytest.approx(before[("y", "early")])
    assert after[("y", "late")] == pytest.approx((0.5 * 6.0 - 1.0, 0.15))
    assert window_removals(cal, ["a", "b"], windows) == 1
    assert window_removals(cal, ["a", "b"], np.tile([1, 30], (2, 2, 1))) == 0


def test_a_window_excluding_every_activity_day_removes_the_customer():
    windows = np.array([[[21, 30], [21, 30]], [[1, 30], [1, 30]]])
    _, problem = tiny(windows)
    assert {c for c, _ in pairs(problem)} == {"y"}


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        (np.ones((2, 2), dtype=int), r"windows must have shape \(2, 2, 2\)"),
        (np.ones((2, 2, 2)), "whole calendar days"),
        (np.array([[[1, 30], [9, 3]], [[1, 30], [1, 30]]]), "customer #1, product #2 has first"),
    ],
)
def test_malformed_windows_are_refused_with_the_fix(windows, message):
    with pytest.raises(CalendarError, match=message):
        tiny(windows)


def test_the_exact_planner_certifies_the_windowed_plan():
    data = {k: v for k, v in SMALL.items() if k != "constraints"}
    data["constraints"] = [SMALL["constraints"][0]]  # the hard budget only
    cal = parse_calendar(data, products=["a", "b", "c"])
    rng = np.random.default_rng(4)
    n = 40
    value, accept = rng.uniform(-2, 20, (n, 3)), rng.uniform(0.05, 0.6, (n, 3))
    start = rng.integers(1, 50, (n, 3))
    windows = np.stack([start, start + rng.integers(0, 25, (n, 3))], axis=-1)
    ids = [f"k{i}" for i in range(n)]
    problem = build_problem(cal, ids, ["a", "b", "c"], value, accept, windows=windows)
    plain = build_problem(cal, ids, ["a", "b", "c"], value, accept)
    removed = window_removals(cal, ["a", "b", "c"], windows)
    assert removed > 0 and problem.n_assignments == plain.n_assignments - removed
    result = solve(problem, "exact", time_limit=30)
    assert result.status == "optimal" and result.gap <= 1e-6
    check = check_plan(problem, result.chosen)
    assert check.feasible and check.violations == ()
    asg, acts = problem.assignments, problem.activities
    assert result.n_chosen > 0
    for k in result.chosen:
        c, a = int(asg.customer[k]), int(asg.activity[k])
        day, cols = acts.day[a], np.flatnonzero(acts.targets[a])
        assert ((windows[c, cols, 0] <= day) & (day <= windows[c, cols, 1])).any()
