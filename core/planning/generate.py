"""Seeded instances in the shape of the public customer-assignment benchmark.

The public instances (Bigler, Kammermann & Baumann, EJOR 2023) model a telecom's campaign period:
four channels (call center, direct mail, email, text message) with their costs per contact,
activities that promote one product (some also a product family, "11" or "12") on a day of a
period of about four months, customers who share one of a few hundred *eligibility patterns*
(which activities they may receive), and an expected profit and response probability per
customer and offer (equal across the activities of one offer). The constraints follow their
table3: minimum and maximum assignments per channel and window, a budget for the call center and
one for the other channels, minimum and maximum sales of the two families, at most three contacts
per customer; the conflicts follow their table4 (no two contacts of one channel within 80-90 days,
call center and direct mail 70-80 days apart, email and text message 70).

:func:`benchmark_instance` calibrates the bounds on the instance itself so that they bind and
hold together: a reference plan (half the customers at their best set for the minimum rows, the
others at their most profitable set) keeps every bound, minimums ask for most of what it
achieves beyond the profit-only plan, maximums allow less than the profit-only plan would use.
With ``infeasible=True`` one minimum asks for 4 % more than the per-customer rules allow at all
(like the benchmark's primed instances, infeasible when every constraint is hard).
"""

from __future__ import annotations

import numpy as np

from core.common.rng import as_generator, customer_keys, seed_of, uniform_draws
from core.planning._chunks import make_chunks, one_blas_thread, solve_chunk
from core.planning._patterns import families_of, patterns_of
from core.planning.problem import (
    BUDGET,
    MAX_ASSIGNMENT,
    MAX_CONTACT,
    MAX_SALES,
    MIN_ASSIGNMENT,
    MIN_SALES,
    Activities,
    Assignments,
    Conflicts,
    Constraints,
    PlanningProblem,
)

CHANNELS = ("call center", "direct mail", "email", "text message")
COST = np.array([6.89, 1.06, 0.0, 0.0265])
CHANNEL_SHARE = np.array([0.25, 0.3, 0.3, 0.15])
PRODUCTS = tuple(str(i) for i in range(1, 13))  # 1-10 products, 11 and 12 families
#: (channel 1, channel 2, lag) of the benchmark's conflict rules (both sides ALL products).
CONFLICT_RULES = (
    (0, 0, 90),
    (1, 1, 80),
    (3, 3, 90),
    (2, 2, 90),
    (0, 1, 70),
    (1, 0, 80),
    (2, 3, 70),
    (3, 2, 70),
)


def _activities(n: int, horizon: int, rng: np.random.Generator) -> tuple[Activities, np.ndarray]:
    """Activities in offers of 1-3 (same product and channel, different days); offer of each."""
    channel: list[int] = []
    product: list[int] = []
    family: list[int] = []
    offer: list[int] = []
    g = 0
    while len(channel) < n:
        size = min(int(rng.integers(1, 4)), n - len(channel))
        ch = int(rng.choice(4, p=CHANNEL_SHARE))
        pr = int(rng.integers(0, 10))
        fam = int(rng.choice([-1, 10, 11], p=[0.55, 0.25, 0.2]))
        channel += [ch] * size
        product += [pr] * size
        family += [fam] * size
        offer += [g] * size
        g += 1
    targets = np.zeros((n, len(PRODUCTS)), dtype=bool)
    targets[np.arange(n), product] = True
    fam_arr = np.array(family)
    targets[np.flatnonzero(fam_arr >= 0), fam_arr[fam_arr >= 0]] = True
    ch_arr = np.array(channel)
    acts = Activities(
        ids=np.array([str(i + 1) for i in range(n)]),
        day=rng.integers(1, horizon + 1, size=n),
        channel=ch_arr,
        cost=COST[ch_arr],
        targets=targets,
    )
    return acts, np.array(offer)


def _patterns(
    offer: np.ndarray, eligibility: float, n_patterns: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Eligibility patterns: whole offers in random order until a size drawn around the target.

    Sizes are ``eligibility * A * U(0.4, 1.6)`` (at least one activity), so every pattern, and
    so the population whatever its spread over patterns, is eligible for about ``eligibility``
    of the activities.
    """
    n_offers = int(offer.max()) + 1
    sizes = np.bincount(offer)
    out = []
    for _ in range(n_patterns):
        target = max(1.0, eligibility * len(offer) * rng.uniform(0.4, 1.6))
        order = rng.permutation(n_offers)
        total = np.cumsum(sizes[order])
        stop = int(np.searchsorted(total, target - 0.5)) + 1
        picked = np.zeros(n_offers, dtype=bool)
        picked[order[:stop]] = True
        out.append(np.flatnonzero(picked[offer]))
    return out


def benchmark_instance(
    n_customers: int = 10_000,
    n_activities: int = 50,
    eligibility: float = 0.05,
    n_patterns: int = 50,
    *,
    horizon: int = 120,
    rng: np.random.Generator | int | None = 0,
    infeasible: bool = False,
    name: str | None = None,
) -> PlanningProblem:
    """A seeded instance shaped like the public benchmark's.

    Parameters
    ----------
    n_customers, n_activities
        Sizes (the benchmark: 10k-20k x 50-75, 100k-200k x 100-125, 500k-1M x 150-175).
    eligibility
        Share of the activities a customer may receive, on average (0.05 or 0.15 there).
    n_patterns
        Number of eligibility patterns (50-100 small, 300-1000 larger instances).
    horizon
        Days of the campaign period.
    rng
        Seed or generator; the same seed gives the same instance.
    infeasible
        Ask one minimum for more than the per-customer rules allow.
    name
        Label (default from the sizes).

    Returns
    -------
    PlanningProblem
    """
    gen = as_generator(rng)
    seed = seed_of(gen)
    acts, offer = _activities(n_activities, horizon, gen)
    pats = _patterns(offer, eligibility, n_patterns, gen)
    weights = gen.dirichlet(np.full(n_patterns, 0.7))
    cust_pat = np.sort(gen.choice(n_patterns, size=n_customers, p=weights))
    lens = np.array([len(p) for p in pats])[cust_pat]
    padded = np.full((n_patterns, max(len(p) for p in pats)), -1, dtype=np.int64)
    for i, p in enumerate(pats):
        padded[i, : len(p)] = p
    customer = np.repeat(np.arange(n_customers, dtype=np.int64), lens)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    slot = np.arange(int(lens.sum())) - np.repeat(starts, lens)
    activity = padded[cust_pat[customer], slot]
    ids = np.arange(1, n_customers + 1)
    keys = customer_keys(ids, seed)[customer]
    grp = offer[activity]
    u1 = uniform_draws(keys, 1, grp, 0)
    u2 = uniform_draws(keys, 2, grp, 0)
    u3 = uniform_draws(keys, 3, grp, 0)
    hot = u3 < 0.03
    prob = np.where(hot, 0.45 + 0.4 * u1, 0.012 + 0.05 * u1**1.5)
    product = acts.targets[:, :10].argmax(axis=1)[activity]
    level = 220.0 * (0.6 + 0.08 * product)
    value = level * np.exp(0.6 * (u2 - 0.5) * 2.0)
    profit = prob * value - acts.cost[activity]
    del keys, u1, u2, u3, hot, grp, slot
    assignments = Assignments(customer, activity, profit, prob, ids)
    base = _constraints(horizon, np.zeros(8))
    conflicts = _conflicts()
    problem = PlanningProblem(
        acts,
        assignments,
        base,
        conflicts,
        CHANNELS,
        PRODUCTS,
        name=name or f"G{n_customers}x{n_activities}@{eligibility:g}",
    )
    with one_blas_thread():
        bounds = _calibrate(problem, gen, infeasible)
    return problem.with_bounds({str(k + 1): b for k, b in enumerate(bounds)})


def _window(horizon: int, a: float, b: float) -> tuple[int, int]:
    return max(1, int(round(horizon * a)) + 1), int(round(horizon * b))


def _constraints(horizon: int, bounds: np.ndarray) -> Constraints:
    all_ch = np.ones(4, bool)
    all_pr = np.ones(len(PRODUCTS), bool)

    def ch(*idx: int) -> np.ndarray:
        m = np.zeros(4, bool)
        m[list(idx)] = True
        return m

    def pr(i: int) -> np.ndarray:
        m = np.zeros(len(PRODUCTS), bool)
        m[i] = True
        return m

    rows = [
        (MIN_ASSIGNMENT, _window(horizon, 0.25, 0.5), ch(1), all_pr),
        (MIN_ASSIGNMENT, _window(horizon, 0.0, 0.25), ch(2), all_pr),
        (MAX_ASSIGNMENT, _window(horizon, 0.5, 0.75), ch(0), all_pr),
        (MAX_ASSIGNMENT, _window(horizon, 0.75, 1.0), ch(3), all_pr),
        (BUDGET, (1, horizon), ch(0), all_pr),
        (BUDGET, (1, horizon), ch(1, 2, 3), all_pr),
        (MIN_SALES, (1, horizon), all_ch, pr(10)),
        (MAX_SALES, (1, horizon), all_ch, pr(11)),
        (MAX_CONTACT, (1, horizon), all_ch, all_pr),
    ]
    bound = np.concatenate([bounds, [3.0]])
    return Constraints(
        kind=np.array([r[0] for r in rows]),
        start=np.array([r[1][0] for r in rows]),
        end=np.array([r[1][1] for r in rows]),
        channels=np.array([r[2] for r in rows]),
        products=np.array([r[3] for r in rows]),
        bound=bound,
        soft=np.zeros(len(rows), bool),
        penalty=np.zeros(len(rows)),
        names=tuple(str(i + 1) for i in range(len(rows))),
    )


def _conflicts() -> Conflicts:
    n = len(CONFLICT_RULES)
    c1 = np.zeros((n, 4), bool)
    c2 = np.zeros((n, 4), bool)
    for i, (a, b, _) in enumerate(CONFLICT_RULES):
        c1[i, a] = c2[i, b] = True
    allp = np.ones((n, len(PRODUCTS)), bool)
    lag = np.array([r[2] for r in CONFLICT_RULES])
    return Conflicts(c1, allp, c2, allp.copy(), lag, tuple(str(i + 1) for i in range(n)))


def _best_plan(problem: PlanningProblem, weights: np.ndarray) -> np.ndarray:
    """bool ``[N]``: every customer's best feasible set for item ``weights`` (no coupling)."""
    pats = patterns_of(problem)
    fams = families_of(problem)
    act = problem.assignments.activity[pats.perm]
    chunks = make_chunks(pats, fams, act, weights[pats.perm], np.zeros(len(act)))
    zero = np.zeros(problem.n_activities)
    chosen_p = np.concatenate([solve_chunk(ch, zero, zero).chosen for ch in chunks])
    out = np.zeros(problem.n_assignments, dtype=bool)
    out[pats.perm[chosen_p]] = True
    return out


def _row(problem: PlanningProblem, k: int, items: np.ndarray | None = None) -> np.ndarray:
    """What each assignment (or ``items``) adds to coupling row ``k``."""
    idx = np.arange(problem.n_assignments) if items is None else items
    return problem.coefficients(np.array([k]), idx)[0]


def _calibrate(problem: PlanningProblem, gen: np.random.Generator, infeasible: bool) -> np.ndarray:
    """Bounds that bind and that a known reference plan keeps (unless ``infeasible``).

    The reference plan gives half the customers (at random) their best set when every unit of
    a minimum row earns, and every unit of a maximum row costs, 0.7 typical profits, and the
    others their most profitable set; minimums ask for 90 % of the way from the profit-only
    plan's use to the reference's, maximums allow the reference's use plus 30 % of what the
    profit-only plan would use beyond it.
    """
    rows = problem.coupling
    is_min = problem.constraints.is_min[rows]
    profit = problem.assignments.profit
    free = _best_plan(problem, profit)
    used = np.array([_row(problem, k, np.flatnonzero(free)).sum() for k in rows])
    typical = float(np.median(profit[profit > 0])) if (profit > 0).any() else 1.0
    push = profit.copy()
    for i, k in enumerate(rows):
        coef = _row(problem, k)
        mean = coef[coef > 0].mean() if (coef > 0).any() else 1.0
        push += (1.0 if is_min[i] else -1.0) * 0.7 * typical * coef / mean
    joint = _best_plan(problem, push)
    half = gen.random(problem.n_customers) < 0.5
    ref = np.where(half[problem.assignments.customer], joint, free)
    ref_use = np.array([_row(problem, k, np.flatnonzero(ref)).sum() for k in rows])
    bounds = np.where(
        is_min,
        used + 0.9 * (ref_use - used),
        ref_use + 0.3 * np.maximum(used - ref_use, 0.0),
    )
    bounds = np.where(is_min, np.minimum(bounds, ref_use), np.maximum(bounds, ref_use))
    if infeasible:
        i = int(np.flatnonzero(is_min)[0 if is_min.sum() < 2 else 1])
        most = _row(problem, rows[i], np.flatnonzero(_best_plan(problem, _row(problem, rows[i]))))
        bounds[i] = float(most.sum()) * 1.04 + 1.0
    kind = problem.constraints.kind[rows]
    whole = (kind == MIN_ASSIGNMENT) | (kind == MAX_ASSIGNMENT)
    bounds[whole & is_min] = np.floor(bounds[whole & is_min])
    bounds[whole & ~is_min] = np.ceil(bounds[whole & ~is_min])
    lo = np.floor(bounds * 1e4) / 1e4
    hi = np.ceil(bounds * 1e4) / 1e4
    return np.where(is_min, lo, hi)
