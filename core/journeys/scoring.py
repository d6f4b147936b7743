"""The reference definitions: what a journey is worth and whether it is allowed.

:func:`score` and :func:`step_components` define a journey's value (see
:mod:`core.journeys.problem`), :func:`step_parts` splits it by factor, :func:`candidates` and
:func:`is_feasible` apply the rules. The solvers' fast kernels (:mod:`core.journeys.kernels`)
are tested bit-identical to these.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.common.errors import OptionError
from core.journeys.problem import JourneyProblem, journey_lengths
from core.opportunity.components import NOT_CREDIBLE


def first_rows(problem: JourneyProblem) -> np.ndarray:
    """float64 ``[n, P]``: each customer's first-step values (held aggregation or start row)."""
    return _aggregate_held(
        problem.opportunity.astype(np.float64), problem.held, problem.aggregation
    )


def credible_first(problem: JourneyProblem) -> np.ndarray:
    """bool ``[n, P]``: the first step to ``j`` is not credibly harmful (not
    :data:`core.opportunity.NOT_CREDIBLE`, the do-no-harm rule's sentinel).

    Without held products the start row decides; with them, every held row the aggregation
    adds up must be credible (``sum``, ``mean``: one sentinel makes the aggregate hopeless), or
    one of them (``max``).
    """
    bad: np.ndarray = np.asarray(np.asarray(problem.opportunity) <= NOT_CREDIBLE, dtype=bool)
    held = np.asarray(problem.held, dtype=bool)
    rows = bad[:, 1:]  # [n, P(i), P(j)]
    if problem.aggregation == "max":
        agg = np.where(held[:, :, None], rows, True).all(axis=1)
    else:
        agg = np.where(held[:, :, None], rows, False).any(axis=1)
    none: np.ndarray = held.sum(axis=1) == 0
    return ~np.where(none[:, None], bad[:, 0], agg)


def _aggregate_held(values: np.ndarray, held: np.ndarray, aggregation: str) -> np.ndarray:
    """Aggregate rows ``values[c, 1 + i, ...]`` over held ``i`` (start row 0 when none held).

    ``values`` is ``[n, 1 + P, P, ...]``; the result is ``[n, P, ...]``. For ``max`` the row of
    the held product with the largest *opportunity* must be used for components, so this
    function is only called with ``max`` on the opportunity itself (see :func:`step_parts`).
    """
    rows = values[:, 1:]
    mask = held.reshape(held.shape + (1,) * (rows.ndim - 2))
    count = held.sum(axis=1)
    if aggregation == "max":
        agg = np.where(mask, rows, -np.inf).max(axis=1)
    else:
        agg = np.where(mask, rows, 0.0).sum(axis=1)
        if aggregation == "mean":
            agg = agg / np.maximum(count, 1).reshape((-1,) + (1,) * (agg.ndim - 1))
    none = (count == 0).reshape((-1,) + (1,) * (agg.ndim - 1))
    return np.where(none, values[:, 0], agg)


def step_components(problem: JourneyProblem, journeys: np.ndarray) -> np.ndarray:
    """Each step's discounted opportunity ``gamma**(t-1) * O[c, prev_t, j_t]``.

    Parameters
    ----------
    problem
        The problem.
    journeys
        int ``[n, width]`` padded with -1.

    Returns
    -------
    numpy.ndarray
        float64 ``[n, width]``, zero after each journey's end.
    """
    j = np.asarray(journeys).astype(np.int64)
    n, width = j.shape
    out = np.zeros((n, width))
    if width == 0:
        return out
    lengths = journey_lengths(j)
    rows = np.arange(n)
    first = first_rows(problem)
    opp = problem.opportunity
    gamma = problem.discount
    prev = -1 * np.ones(n, dtype=np.int64)
    for t in range(width):
        live = t < lengths
        cur = np.where(live, j[:, t], 0)
        if t == 0:
            val = first[rows, cur]
        else:
            val = opp[rows, 1 + np.maximum(prev, 0), cur].astype(np.float64)
        out[:, t] = np.where(live, gamma**t * val, 0.0)
        prev = cur
    return out


def sum_left_to_right(steps: np.ndarray) -> np.ndarray:
    total = np.zeros(steps.shape[0])
    for t in range(steps.shape[1]):
        total = total + steps[:, t]
    return total


def score(problem: JourneyProblem, journeys: np.ndarray) -> np.ndarray:
    """Score of each journey (float64 ``[n]``), summed left to right over the steps.

    Examples
    --------
    >>> import numpy as np
    >>> O = np.zeros((1, 3, 2), dtype=np.float32)
    >>> O[0, 0] = [1.0, 2.0]      # start -> product 0 / 1
    >>> O[0, 1, 1] = 5.0          # product 0 -> product 1
    >>> no = np.zeros((2, 2), dtype=bool)
    >>> pb = JourneyProblem(O, np.zeros((1, 2), bool), no, no, max_length=2, discount=0.5)
    >>> score(pb, np.array([[0, 1]])).tolist()
    [3.5]
    """
    return sum_left_to_right(step_components(problem, journeys))


def first_step_parts(
    components: np.ndarray, problem: JourneyProblem, weights: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Weighted first-step components ``[n, P, K]``: ``w_k * C[c, prev_1, j, k]``.

    ``prev_1`` aggregates the held products' rows like :func:`first_rows` (for ``max``: the
    held product whose *opportunity* row is largest for ``j``); the start row when none is held.
    """
    comp = _check_components(components, problem)
    w = _check_weights(weights, comp.shape[3])
    n, p = problem.n_customers, problem.n_products
    if problem.aggregation == "max":
        opp_rows = np.where(problem.held[:, :, None], problem.opportunity[:, 1:], -np.inf)
        best_held = opp_rows.argmax(axis=1)  # [n, P]: held row with largest O for target j
        any_held = np.asarray(problem.held.any(axis=1))
        idx = np.where(any_held[:, None], 1 + best_held, 0)  # [n, P]
        first = comp[np.arange(n)[:, None], idx, np.arange(p)[None, :]]  # [n, P, K]
    else:
        first = _aggregate_held(comp, problem.held, problem.aggregation)
    return first * w[None, None, :]


def _check_components(components: np.ndarray, problem: JourneyProblem) -> np.ndarray:
    comp = np.asarray(components, dtype=np.float64)
    n, p = problem.n_customers, problem.n_products
    if comp.ndim != 4 or comp.shape[:3] != (n, 1 + p, p):
        raise OptionError(f"components must have shape [{n}, {1 + p}, {p}, K], got {comp.shape}")
    return comp


def _check_weights(weights: Sequence[float] | np.ndarray, k: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (k,):
        raise OptionError(f"weights must have {k} entries, got shape {w.shape}")
    return w


def step_parts(
    components: np.ndarray,
    problem: JourneyProblem,
    journeys: np.ndarray,
    weights: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Each step's weighted contribution per factor, ``[n, width, K]``.

    Parameters
    ----------
    components
        ``[n, 1 + P, P, K]`` factor components, laid out like ``opportunity``.
    problem
        The problem (its held products, aggregation and discount are used).
    journeys
        int ``[n, width]`` padded with -1.
    weights
        ``K`` factor weights.

    Returns
    -------
    numpy.ndarray
        float64 ``[n, width, K]``: ``gamma**(t-1) * w_k * C[c, prev_t, j_t, k]``, with the same
        predecessor logic as :func:`score` (see :func:`first_step_parts` for the first step).
        When ``opportunity == sum_k w_k * C[..., k]`` the parts sum to :func:`step_components`
        (up to float32 rounding of the opportunity).
    """
    comp = np.asarray(components)  # gathered per step below, then float64 (no full copy)
    n, p = problem.n_customers, problem.n_products
    if comp.ndim != 4 or comp.shape[:3] != (n, 1 + p, p):
        raise OptionError(f"components must have shape [{n}, {1 + p}, {p}, K], got {comp.shape}")
    w = _check_weights(weights, comp.shape[3])
    j = np.asarray(journeys).astype(np.int64)
    width = j.shape[1]
    out = np.zeros((n, width, comp.shape[3]))
    if width == 0:
        return out
    lengths = journey_lengths(j)
    rows = np.arange(n)
    prev = np.zeros(n, dtype=np.int64)
    for t in range(width):
        live = t < lengths
        cur = np.where(live, j[:, t], 0)
        if t == 0:  # first_step_parts of the chosen product only
            val = _first_parts(comp, problem, cur) * w[None, :]
        else:
            val = w[None, :] * comp[rows, 1 + prev, cur].astype(np.float64)
        out[:, t] = np.where(live[:, None], problem.discount**t * val, 0.0)
        prev = cur
    return out


def _first_parts(comp: np.ndarray, problem: JourneyProblem, cur: np.ndarray) -> np.ndarray:
    """float64 ``[n, K]``: :func:`first_step_parts` (unweighted) of product ``cur[c]`` only."""
    n = problem.n_customers
    rows = np.arange(n)
    col = comp[rows, :, cur].astype(np.float64)  # [n, 1 + P, K]: every row, target cur
    if problem.aggregation == "max":  # the held row with the largest opportunity for cur
        opp = np.where(problem.held, problem.opportunity[rows, 1:, cur], -np.inf)
        any_held = np.asarray(problem.held.any(axis=1))
        idx = np.where(any_held, 1 + opp.argmax(axis=1), 0)
        return col[rows, idx]
    return _aggregate_held(col[:, :, None], problem.held, problem.aggregation)[:, 0]


def candidates(problem: JourneyProblem) -> np.ndarray:
    """bool ``[n, P]``: products that can appear in some feasible journey of each customer.

    A product is a candidate when it is not held, not excluded by a held product, and each of
    its prerequisites is held or itself a candidate (closure over prerequisite chains).
    """
    held = problem.held
    excluded = (held.astype(np.uint8) @ problem.excludes.astype(np.uint8)) > 0
    cand = ~held & ~excluded
    if problem.offerable is not None:
        cand &= problem.offerable
    req = problem.requires
    for _ in range(problem.n_products):
        available = held | cand
        # product j stays a candidate if every q with req[j, q] is available
        missing = (req[None, :, :] & ~available[:, None, :]).any(axis=2)
        new = cand & ~missing
        if np.array_equal(new, cand):
            break
        cand = new
    return cand


def is_feasible(problem: JourneyProblem, journeys: np.ndarray) -> np.ndarray:
    """bool ``[n]``: whether each journey satisfies every rule of :mod:`core.journeys.problem`."""
    j = np.asarray(journeys).astype(np.int64)
    n, p = problem.n_customers, problem.n_products
    if j.ndim != 2 or j.shape[0] != n:
        raise OptionError(f"journeys must have {n} rows, got shape {j.shape}")
    lengths = journey_lengths(j)
    ok = lengths <= problem.max_length
    rows = np.arange(n)
    offered = np.zeros((n, p), dtype=bool)
    excl = problem.excludes
    for t in range(j.shape[1]):
        live = t < lengths
        cur = np.where(live, j[:, t], 0)
        in_range = (cur >= 0) & (cur < p)
        ok &= ~live | in_range
        cur = np.where(in_range, cur, 0)
        have = problem.held | offered
        bad = have[rows, cur]  # held or repeated
        if problem.offerable is not None:
            bad |= ~problem.offerable[rows, cur]  # switched off
        bad |= (problem.requires[cur] & ~have).any(axis=1)  # prerequisite missing
        bad |= (excl[cur] & have).any(axis=1)  # excluded by held or offered
        ok &= ~(live & bad)
        offered[rows[live], cur[live]] = True
    return ok
