"""Journey optimization problem, result type, scoring and the solver dispatcher.

A *journey* for customer ``c`` is an ordered sequence ``(j_1, ..., j_L)`` of distinct products
(indices into the catalog) that

* are not held by ``c``,
* are not excluded by a held product or by another product of the journey,
* have every prerequisite held or offered earlier in the journey,
* number at most ``max_length``; shorter journeys (even the empty one) are allowed, because
  the optimizer maximizes the score and a product with negative opportunity need not be offered.

Its score is ``sum_t gamma**(t-1) * O[c, prev_t, j_t]`` with ``prev_t = 1 + j_(t-1)`` for
``t > 1``. The first step's predecessor is the start node (row 0) when ``c`` holds nothing, and
otherwise the aggregation (``sum`` | ``mean`` | ``max``, elementwise over the target product) of
the held products' rows ``O[c, 1 + i, :]``.

Journeys are int arrays ``[n, width]`` padded with ``-1``; a journey's length is the number of
entries before the first ``-1``.

Solvers (all return :class:`JourneyResult`): :func:`core.solvers.anneal.anneal`,
:func:`core.solvers.exact.exact`, and the baselines of :mod:`core.solvers.baselines`; :func:`solve` dispatches by
name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.common.errors import OptionError

AGGREGATIONS = ("sum", "mean", "max")
OPTIMAL_TOL = 1e-6
MAX_PRODUCTS = 63  # product sets are uint64 bitmasks


# --------------------------------------------------------------------------------------------
# problem
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class JourneyProblem:
    """The journeys to optimize for ``n`` customers over a catalog of ``P`` products.

    Parameters
    ----------
    opportunity
        float32 ``[n, 1 + P, P]``: ``O[c, 0, j]`` is the value of offering product ``j`` first to a
        customer who holds nothing; ``O[c, 1 + i, j]`` the value of offering ``j`` right after
        ``i`` (or, for the first step, of ``j`` given that ``i`` is held).
    held
        bool ``[n, P]``: products each customer already holds.
    requires
        bool ``[P, P]``: ``requires[j, q]`` is True when ``j`` needs ``q`` held or offered earlier.
    excludes
        bool ``[P, P]``, symmetric: products that cannot both be held/offered.
    max_length
        Maximum number of offers per journey (>= 1).
    discount
        gamma in (0, 1]: step ``t`` is weighted ``gamma**(t-1)``.
    aggregation
        How held products' rows combine into the first step's predecessor: ``sum``, ``mean`` or
        ``max``.
    customer_ids
        int64 or str ids, one per customer; each customer's random stream derives from (seed, id)
        so results do not depend on batching. Default ``arange(n)``. Kept by :meth:`subset`.
    product_keys
        Names of the ``P`` products (default ``p0, p1, ...``).
    offerable
        Optional bool ``[P]`` or ``[n, P]``: products that may be offered (default all). A
        product switched off here never appears in a journey, and a product that requires it
        can then only be offered to customers who already hold it.

    Raises
    ------
    ValueError
        A shape, dtype or value that does not fit (the message names the field and the fix).
    """

    opportunity: np.ndarray
    held: np.ndarray
    requires: np.ndarray
    excludes: np.ndarray
    max_length: int
    discount: float
    aggregation: str = "sum"
    customer_ids: np.ndarray | None = None
    product_keys: tuple[str, ...] = field(default=())
    offerable: np.ndarray | None = None

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        opp = np.asarray(self.opportunity)
        if opp.ndim != 3 or opp.shape[1] != opp.shape[2] + 1:
            raise OptionError(
                f"opportunity must have shape [n, 1 + P, P] (row 0 = start node), got {opp.shape}"
            )
        n, _, p = opp.shape
        if p < 1:
            raise OptionError("opportunity must cover at least one product (P >= 1)")
        if p > MAX_PRODUCTS:
            raise OptionError(f"at most {MAX_PRODUCTS} products are supported, got P={p}")
        if not np.issubdtype(opp.dtype, np.floating):
            raise OptionError(f"opportunity must be a float array, got dtype {opp.dtype}")
        if opp.dtype != np.float32:
            opp = opp.astype(np.float32)
        if not np.all(np.isfinite(opp)):
            bad = np.unique(np.nonzero(~np.isfinite(opp))[0])[:5]
            raise OptionError(f"opportunity has NaN or infinite values (customers {bad.tolist()})")
        setattr_(self, "opportunity", opp)
        held = np.asarray(self.held)
        if held.shape != (n, p) or held.dtype != np.bool_:
            raise OptionError(
                f"held must be a bool array of shape {(n, p)}, got {held.dtype} {held.shape}"
            )
        setattr_(self, "held", held)
        for name in ("requires", "excludes"):
            mat = np.asarray(getattr(self, name))
            if mat.shape != (p, p) or mat.dtype != np.bool_:
                raise OptionError(
                    f"{name} must be a bool array of shape {(p, p)}, got {mat.dtype} {mat.shape}"
                )
            if mat.diagonal().any():
                raise OptionError(
                    f"{name} must have a False diagonal (a product cannot {name[:-1]} itself)"
                )
            setattr_(self, name, mat)
        if not np.array_equal(self.excludes, self.excludes.T):
            raise OptionError("excludes must be symmetric (excludes[i, j] == excludes[j, i])")
        if (self.requires & self.excludes).any():
            j, q = np.argwhere(self.requires & self.excludes)[0]
            raise OptionError(f"product {j} both requires and excludes product {q}")
        if int(self.max_length) != self.max_length or int(self.max_length) < 1:
            raise OptionError(f"max_length must be an integer >= 1, got {self.max_length}")
        setattr_(self, "max_length", int(self.max_length))
        if not 0.0 < float(self.discount) <= 1.0:
            raise OptionError(f"discount must be in (0, 1], got {self.discount}")
        setattr_(self, "discount", float(self.discount))
        if self.aggregation not in AGGREGATIONS:
            raise OptionError(
                f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}"
            )
        ids = (
            np.arange(n, dtype=np.int64)
            if self.customer_ids is None
            else np.asarray(self.customer_ids)
        )
        if ids.shape != (n,):
            raise OptionError(f"customer_ids must have shape ({n},), got {ids.shape}")
        if not (np.issubdtype(ids.dtype, np.integer) or ids.dtype.kind in "US"):
            raise OptionError(f"customer_ids must be integers or strings, got dtype {ids.dtype}")
        if np.issubdtype(ids.dtype, np.integer):
            ids = ids.astype(np.int64)
        setattr_(self, "customer_ids", ids)
        keys = tuple(self.product_keys) or tuple(f"p{j}" for j in range(p))
        if len(keys) != p:
            raise OptionError(f"product_keys must name {p} products, got {len(keys)}")
        setattr_(self, "product_keys", keys)
        if self.offerable is not None:
            off = np.asarray(self.offerable)
            if off.dtype != np.bool_ or off.shape not in ((p,), (n, p)):
                raise OptionError(
                    f"offerable must be a bool array of shape ({p},) or {(n, p)}, "
                    f"got {off.dtype} {off.shape}"
                )
            setattr_(self, "offerable", np.broadcast_to(off, (n, p)))

    @property
    def n_customers(self) -> int:
        """Number of customers ``n``."""
        return int(self.opportunity.shape[0])

    @property
    def n_products(self) -> int:
        """Number of products ``P``."""
        return int(self.opportunity.shape[2])

    @property
    def ids(self) -> np.ndarray:
        """Customer ids (never None after validation)."""
        assert self.customer_ids is not None
        return self.customer_ids

    def subset(self, idx: Any) -> JourneyProblem:
        """The same problem for the customers ``idx`` (index array, slice or bool mask)."""
        return JourneyProblem(
            opportunity=self.opportunity[idx],
            held=self.held[idx],
            requires=self.requires,
            excludes=self.excludes,
            max_length=self.max_length,
            discount=self.discount,
            aggregation=self.aggregation,
            customer_ids=self.ids[idx],
            product_keys=self.product_keys,
            offerable=None if self.offerable is None else self.offerable[idx],
        )


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class JourneyResult:
    """Journeys found by one solver for every customer of a problem.

    Attributes
    ----------
    journeys
        int16 ``[n, max_length]``, product indices padded with -1.
    scores
        float64 ``[n]``, the score of each journey (:func:`score`).
    step_scores
        float64 ``[n, max_length]``, each step's discounted opportunity (0 after the end).
    solver
        Solver name.
    params
        The options the solver ran with (after defaults).
    nit
        Iterations (annealing iterations of the longest batch, DP layers, greedy steps...).
    nfev
        Journey evaluations (proposals scored, DP transitions, ...), summed over customers.
    trace
        Convergence trace, a dict of equal-length arrays (``iteration``, ``best_mean``,
        ``current_mean``, ``temperature``, ``acceptance_rate``, ``active``); empty when the solver
        has none.
    seed
        The integer seed the random streams derived from (None for deterministic solvers).
    seconds
        Timings in seconds, at least ``{"total": ...}``.
    message
        Human-readable termination message.
    """

    journeys: np.ndarray
    scores: np.ndarray
    step_scores: np.ndarray
    solver: str
    params: dict[str, Any]
    nit: int
    nfev: int
    trace: dict[str, np.ndarray]
    seed: int | None
    seconds: dict[str, float]
    message: str

    @property
    def lengths(self) -> np.ndarray:
        """Number of offers in each journey."""
        return journey_lengths(self.journeys)


def make_result(
    problem: JourneyProblem,
    journeys: np.ndarray,
    *,
    solver: str,
    params: Mapping[str, Any],
    nit: int,
    nfev: int,
    seconds: Mapping[str, float],
    message: str,
    trace: Mapping[str, np.ndarray] | None = None,
    seed: int | None = None,
) -> JourneyResult:
    """Build a :class:`JourneyResult`, recomputing scores from the journeys (one definition)."""
    j = normalize_journeys(problem, journeys)
    steps = step_components(problem, j)
    return JourneyResult(
        journeys=j,
        scores=_sum_left_to_right(steps),
        step_scores=steps,
        solver=solver,
        params=dict(params),
        nit=int(nit),
        nfev=int(nfev),
        trace={k: np.asarray(v) for k, v in (trace or {}).items()},
        seed=seed,
        seconds=dict(seconds),
        message=message,
    )


# --------------------------------------------------------------------------------------------
# scoring and feasibility
# --------------------------------------------------------------------------------------------


def journey_lengths(journeys: np.ndarray) -> np.ndarray:
    """Length of each journey: the number of entries before the first -1."""
    j = np.asarray(journeys)
    if j.shape[1] == 0:
        return np.zeros(j.shape[0], dtype=np.int64)
    neg = j < 0
    return np.where(neg.any(axis=1), neg.argmax(axis=1), j.shape[1]).astype(np.int64)


def normalize_journeys(problem: JourneyProblem, journeys: np.ndarray) -> np.ndarray:
    """Return journeys as int16 ``[n, max_length]``, -1 after each journey's end.

    Raises
    ------
    ValueError
        Wrong number of rows, a journey longer than ``max_length`` or a product index out of range.
    """
    j = np.asarray(journeys)
    n, p, width = problem.n_customers, problem.n_products, problem.max_length
    if j.ndim != 2 or j.shape[0] != n or not np.issubdtype(j.dtype, np.integer):
        raise OptionError(f"journeys must be an int array with {n} rows, got {j.dtype} {j.shape}")
    lengths = journey_lengths(j)
    if lengths.size and lengths.max() > width:
        raise OptionError(f"a journey has {lengths.max()} offers, more than max_length={width}")
    out = np.full((n, width), -1, dtype=np.int16)
    w = min(width, j.shape[1])
    live = np.arange(w)[None, :] < lengths[:, None]
    block = j[:, :w]
    if (live & ((block < 0) | (block >= p))).any():
        raise OptionError(f"journeys contain product indices outside 0..{p - 1}")
    out[:, :w] = np.where(live, block, -1)
    return out


def first_rows(problem: JourneyProblem) -> np.ndarray:
    """float64 ``[n, P]``: each customer's first-step values (held aggregation or start row)."""
    return _aggregate_held(
        problem.opportunity.astype(np.float64), problem.held, problem.aggregation
    )


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


def _sum_left_to_right(steps: np.ndarray) -> np.ndarray:
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
    return _sum_left_to_right(step_components(problem, journeys))


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
    comp = _check_components(components, problem)
    w = _check_weights(weights, comp.shape[3])
    n = problem.n_customers
    j = np.asarray(journeys).astype(np.int64)
    width = j.shape[1]
    out = np.zeros((n, width, comp.shape[3]))
    if width == 0:
        return out
    first = first_step_parts(comp, problem, w)
    lengths = journey_lengths(j)
    rows = np.arange(n)
    prev = np.zeros(n, dtype=np.int64)
    for t in range(width):
        live = t < lengths
        cur = np.where(live, j[:, t], 0)
        val = first[rows, cur] if t == 0 else w[None, :] * comp[rows, 1 + prev, cur]
        out[:, t] = np.where(live[:, None], problem.discount**t * val, 0.0)
        prev = cur
    return out


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
    """bool ``[n]``: whether each journey satisfies every rule of the module docstring."""
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


# --------------------------------------------------------------------------------------------
# vectorized internals shared by the solvers
# --------------------------------------------------------------------------------------------


def bitmasks(matrix: np.ndarray) -> np.ndarray:
    """uint64 ``[..., ]`` bitmask of each row of a bool ``[..., P]`` array."""
    m = np.asarray(matrix, dtype=bool)
    weights = np.left_shift(np.uint64(1), np.arange(m.shape[-1], dtype=np.uint64))
    return np.bitwise_or.reduce(np.where(m, weights, np.uint64(0)), axis=-1).astype(np.uint64)


@dataclass(frozen=True, eq=False)
class Prepared:
    """Flat float64 arrays of a (batch of a) problem for fast vectorized evaluation."""

    n: int
    p: int
    length: int  # effective max length: min(max_length, P)
    gamma: float
    values: np.ndarray  # float64 [n * (1 + P) * P]: row 0 first-step values, row 1 + i from i
    cand: np.ndarray  # bool [n, P]
    held_bits: np.ndarray  # uint64 [n]
    req_bits: np.ndarray  # uint64 [P]
    excl_bits: np.ndarray  # uint64 [P]
    constrained: bool
    needs_check: np.ndarray  # bool [n]: some rule can bind among the customer's candidates
    powers: np.ndarray  # float64 [length + 1]: gamma**t (Python pow, as in score() and exact)


def prepare(problem: JourneyProblem) -> Prepared:
    """Precompute the flat arrays every vectorized solver uses."""
    n, p = problem.n_customers, problem.n_products
    length = min(problem.max_length, p)
    gamma = problem.discount
    cand = candidates(problem)
    unmet = problem.requires[None, :, :] & ~problem.held[:, None, :]  # [n, j, q]
    needs = (cand & unmet.any(axis=2)).any(axis=1)
    if problem.excludes.any():
        c8 = cand.astype(np.uint8)
        needs |= ((c8 @ problem.excludes.astype(np.uint8)) * c8).any(axis=1)
    return Prepared(
        n=n,
        p=p,
        length=length,
        gamma=gamma,
        values=_values(problem),
        cand=cand,
        held_bits=bitmasks(problem.held),
        req_bits=bitmasks(problem.requires),
        excl_bits=bitmasks(problem.excludes),
        constrained=bool(needs.any()),
        needs_check=needs,
        powers=np.array([gamma**t for t in range(length + 1)]),
    )


def _values(problem: JourneyProblem) -> np.ndarray:
    n, p = problem.n_customers, problem.n_products
    values = np.empty((n, 1 + p, p))
    values[:, 0] = first_rows(problem)
    values[:, 1:] = problem.opportunity[:, 1:]
    return values.ravel()


def evaluate(prep: Prepared, rows: np.ndarray, seqs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Scores of the decoded journeys ``seqs`` (int64 ``[m, >= length]``) of customers ``rows``.

    See :func:`evaluate_cols`; this is the row-major convenience form.
    """
    cols = np.ascontiguousarray(seqs[:, : prep.length].T)
    return evaluate_cols(prep, rows, cols, lengths)


def evaluate_cols(
    prep: Prepared, rows: np.ndarray, cols: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """Scores of decoded journeys given column-wise: ``cols[t, i]`` is entry ``t`` of journey ``i``.

    A *state* is a sequence of distinct candidates and a length; it decodes to the journey of its
    first ``length`` entries minus those that are not feasible when reached (a prerequisite
    neither held nor kept earlier, or excluded by a held or kept product). Decoding is the
    annealer's feasibility repair: every state scores as a feasible journey. For states that
    are already feasible the decoded journey is the state itself. Sums run left to right, so the
    result is bit-identical to :func:`score` of the decoded journey and to the exact DP.
    """
    le, p = prep.length, prep.p
    m = rows.shape[0]
    if le == 0 or m == 0:
        return np.zeros(m)
    live = np.arange(le)[:, None] < lengths[None, :]
    prev_row = np.empty_like(cols)
    prev_row[0] = 0
    prev_row[1:] = cols[:-1] + 1
    prev_row *= p
    prev_row += cols
    prev_row += (rows * ((1 + p) * p))[None, :]
    steps = np.take(prep.values, prev_row)
    steps *= live * prep.powers[:le, None]  # gamma**(t-1) before the end, 0 after
    total = steps[0]
    for t in range(1, le):
        total = total + steps[t]
    if prep.constrained:
        chk = prep.needs_check[rows]
        if chk.any():
            sub = np.flatnonzero(chk)
            total[sub] = _decoded_scores(prep, rows[sub], cols[:, sub], lengths[sub])[0]
    return total


def _decoded_scores(
    prep: Prepared, rows: np.ndarray, cols: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Decode states column by column; return (scores, kept mask ``[length, m]``)."""
    p = prep.p
    m = rows.shape[0]
    have = prep.held_bits[rows].copy()
    prev = np.zeros(m, dtype=np.int64)  # row of the predecessor: 0 start, 1 + i product i
    pos = np.zeros(m, dtype=np.int64)
    total = np.zeros(m)
    kept = np.zeros(cols.shape, dtype=bool)
    base = rows * ((1 + p) * p)
    bits = np.left_shift(np.uint64(1), cols.astype(np.uint64))
    req, excl = np.take(prep.req_bits, cols), np.take(prep.excl_bits, cols)
    for t in range(cols.shape[0]):
        j = cols[t]
        ok = (t < lengths) & (((req[t] & ~have) | (excl[t] & have)) == 0)
        val = np.take(prep.values, base + prev * p + j)
        val *= np.take(prep.powers, pos) * ok
        total = total + val
        prev = np.where(ok, j + 1, prev)
        have |= bits[t] * ok
        pos += ok
        kept[t] = ok
    return total, kept


def decode(prep: Prepared, rows: np.ndarray, seqs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Decoded journeys (int64 ``[m, length]`` padded -1) of states ``seqs`` (row-major)."""
    le = prep.length
    m = rows.shape[0]
    cols = np.ascontiguousarray(seqs[:, :le].T)
    kept = np.arange(le)[:, None] < lengths[None, :]
    if prep.constrained:
        chk = prep.needs_check[rows]
        if chk.any():
            sub = np.flatnonzero(chk)
            kept[:, sub] = _decoded_scores(prep, rows[sub], cols[:, sub], lengths[sub])[1]
    out = np.full((m, le), -1, dtype=np.int64)
    pos = np.zeros(m, dtype=np.int64)
    for t in range(le):
        k = kept[t]
        out[np.flatnonzero(k), pos[k]] = cols[t, k]
        pos += k
    return out


def greedy_batch(
    prep: Prepared, first_fixed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Step-by-step greedy: add the feasible product with the largest immediate value.

    Stops when no feasible product adds a positive value. With ``first_fixed`` (int ``[n]``,
    -1 = empty journey) the first product is forced and greedy continues from it.

    Returns
    -------
    (journeys int64 [n, length] padded -1, lengths int64 [n])
    """
    n, p, length = prep.n, prep.p, prep.length
    seq = np.full((n, max(length, 1)), -1, dtype=np.int64)
    lengths = np.zeros(n, dtype=np.int64)
    if length == 0 or n == 0:
        return seq[:, :length], lengths
    used = np.zeros(n, dtype=np.uint64)
    active = np.ones(n, dtype=bool)
    cols = np.arange(p)
    rows = np.arange(n)
    pbits = np.left_shift(np.uint64(1), cols.astype(np.uint64))
    table = prep.values.reshape(n, 1 + p, p)
    vals = table[:, 0]
    trans = table[:, 1:]
    for t in range(length):
        have = prep.held_bits | used
        ok = prep.cand & ((used[:, None] & pbits[None, :]) == 0)
        ok &= (prep.req_bits[None, :] & ~have[:, None]) == 0
        ok &= (prep.excl_bits[None, :] & used[:, None]) == 0
        gain = np.where(ok, vals, -np.inf)
        best = gain.argmax(axis=1)
        go = active & (gain[rows, best] > 0)
        if t == 0 and first_fixed is not None:
            best = np.where(first_fixed >= 0, first_fixed, 0)
            go = first_fixed >= 0
        if not go.any():
            break
        seq[go, t] = best[go]
        lengths[go] += 1
        used[go] |= pbits[best[go]]
        active &= go
        vals = trans[rows, best]
    return seq[:, :length], lengths


# --------------------------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------------------------


def compare_to_exact(result: JourneyResult, exact_result: JourneyResult) -> dict[str, float]:
    """How far ``result`` is from the exact optimum.

    Returns
    -------
    dict
        ``share_optimal``: share of customers with ``exact - score <= 1e-6`` (absolute);
        ``mean_gap`` / ``max_gap``: absolute gap ``exact - score`` (>= 0 up to rounding);
        ``mean_rel_gap`` / ``max_rel_gap``: gap divided by ``max(|exact|, 1e-9)``;
        ``n``: number of customers.
    """
    if result.scores.shape != exact_result.scores.shape:
        raise OptionError("results cover different numbers of customers")
    gap = exact_result.scores - result.scores
    rel = gap / np.maximum(np.abs(exact_result.scores), 1e-9)
    n = gap.size
    return {
        "n": n,
        "share_optimal": float(np.mean(gap <= OPTIMAL_TOL)) if n else 1.0,
        "mean_gap": float(gap.mean()) if n else 0.0,
        "max_gap": float(gap.max()) if n else 0.0,
        "mean_rel_gap": float(rel.mean()) if n else 0.0,
        "max_rel_gap": float(rel.max()) if n else 0.0,
    }


def compare_baselines(
    result: JourneyResult, baseline_results: Mapping[str, JourneyResult]
) -> dict[str, dict[str, float]]:
    """Share of customers where ``result`` is at least as good as each baseline, and uplift.

    ``share_better_or_equal`` counts ``score >= baseline - 1e-6``; ``share_better`` counts
    ``score > baseline + 1e-6``; ``mean_uplift`` is the mean of ``score - baseline``.
    """
    out: dict[str, dict[str, float]] = {}
    for name, base in baseline_results.items():
        if base.scores.shape != result.scores.shape:
            raise OptionError(f"baseline {name!r} covers a different number of customers")
        diff = result.scores - base.scores
        n = diff.size
        out[name] = {
            "share_better_or_equal": float(np.mean(diff >= -OPTIMAL_TOL)) if n else 1.0,
            "share_better": float(np.mean(diff > OPTIMAL_TOL)) if n else 0.0,
            "mean_uplift": float(diff.mean()) if n else 0.0,
        }
    return out


# --------------------------------------------------------------------------------------------
# structured random instances (tests and benchmarks)
# --------------------------------------------------------------------------------------------


def catalog_structure(catalog: str | int) -> dict[str, Any]:
    """Products, prerequisites, exclusions and journey policy of a synthetic catalog.

    ``"seed"``: offer, phone, internet, device_protection, tech_support (the last two require
    internet), max_length 5, discount 1.0. ``"full"``: the 11 services (multiple_lines requires
    phone, eight add-ons require internet), max_length 5, discount 0.9. An int ``P``: families of
    one base service followed by four add-ons that require it (last family may be shorter), the
    last add-ons of families 2f and 2f+1 exclude each other, max_length 6, discount 0.9.
    """
    if catalog in ("seed", "full"):
        from core.data.catalog import load_catalog

        cat = load_catalog(str(catalog))  # the shipped catalog's products, rules and policy
        keys: tuple[str, ...] = cat.keys
        max_length, discount = cat.max_length, cat.discount
        if catalog == "seed":
            hold = {"offer": 0.45, "phone": 0.9, "internet": 0.78}
        else:
            hold = {"phone": 0.9, "internet": 0.78}
        addon_hold = 0.42
        return _structure(
            keys,
            cat.requires_matrix(),
            cat.excludes_matrix(),
            max_length,
            discount,
            hold,
            addon_hold,
        )
    elif isinstance(catalog, (int, np.integer)) and catalog >= 1:
        p = int(catalog)
        keys = tuple(f"p{j}" for j in range(p))
        roots = list(range(0, p, 5))
        req = {keys[a]: [keys[r]] for r in roots for a in range(r + 1, min(r + 5, p))}
        last = [min(r + 4, p - 1) for r in roots]
        excl = [
            (keys[last[f]], keys[last[f + 1]])
            for f in range(0, len(roots) - 1, 2)
            if last[f] != roots[f] and last[f + 1] != roots[f + 1]
        ]
        max_length, discount = 6, 0.9
        hold = {keys[r]: 0.6 for r in roots}
        addon_hold = 0.45
    else:
        raise OptionError(f"catalog must be 'seed', 'full' or an int >= 1, got {catalog!r}")
    index = {k: i for i, k in enumerate(keys)}
    requires = np.zeros((p, p), dtype=bool)
    for k, qs in req.items():
        for q in qs:
            requires[index[k], index[q]] = True
    excludes = np.zeros((p, p), dtype=bool)
    for a, b in excl:
        excludes[index[a], index[b]] = excludes[index[b], index[a]] = True
    return _structure(keys, requires, excludes, max_length, discount, hold, addon_hold)


def _structure(
    keys: tuple[str, ...],
    requires: np.ndarray,
    excludes: np.ndarray,
    max_length: int,
    discount: float,
    hold: dict[str, float],
    addon_hold: float,
) -> dict[str, Any]:
    return {
        "keys": keys,
        "requires": requires,
        "excludes": excludes,
        "max_length": max_length,
        "discount": discount,
        "hold": np.array([hold.get(k, addon_hold) for k in keys]),
    }


def structured_instance(
    n: int,
    catalog: str | int = "seed",
    *,
    rng: np.random.Generator | int | None = 0,
    max_length: int | None = None,
    discount: float | None = None,
    aggregation: str = "sum",
    scale: float = 100.0,
) -> JourneyProblem:
    """A random problem with catalog structure and structured opportunities.

    ``O[c, prev, j] = scale * (value_j + affinity[c, j] + synergy[prev, j] + noise)``: a product
    value shared by everyone, a customer affinity, a global transition synergy (offering an add-on
    right after its base service is worth more, other pairs random, some negative) and per-customer
    transition noise. Values have both signs, so optimal journeys vary in length. Holdings respect
    prerequisites and exclusions.

    Parameters
    ----------
    n
        Number of customers.
    catalog
        ``"seed"``, ``"full"`` or an int number of products (see :func:`catalog_structure`).
    rng
        Seed or generator.
    max_length, discount
        Override the catalog's journey policy.
    aggregation
        First-step aggregation of held rows.
    scale
        Multiplies every opportunity (think dollars).
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    s = catalog_structure(catalog)
    keys, requires, excludes = s["keys"], s["requires"], s["excludes"]
    p = len(keys)
    value = gen.normal(-0.2, 0.6, p)
    synergy = gen.normal(-0.1, 0.5, (p, p))
    synergy[requires.T] += 1.0  # add-on right after its base service
    np.fill_diagonal(synergy, 0.0)
    held = np.zeros((n, p), dtype=bool)
    order = np.argsort(requires.sum(axis=1), kind="stable")  # base services first
    for j in order:
        ok = np.all(held[:, requires[j]], axis=1) & ~np.any(held[:, excludes[j]], axis=1)
        held[:, j] = ok & (gen.random(n) < s["hold"][j])
    opp = np.empty((n, 1 + p, p), dtype=np.float32)
    chunk = 65536
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        affinity = gen.normal(0.0, 0.6, (m, 1, p))
        noise = gen.normal(0.0, 0.35, (m, 1 + p, p))
        block = value[None, None, :] + affinity + noise
        block[:, 1:] += synergy[None]
        opp[lo : lo + m] = (scale * block).astype(np.float32)
    return JourneyProblem(
        opportunity=opp,
        held=held,
        requires=requires,
        excludes=excludes,
        max_length=s["max_length"] if max_length is None else max_length,
        discount=s["discount"] if discount is None else discount,
        aggregation=aggregation,
        product_keys=keys,
    )


def random_problem(
    n: int,
    p: int,
    *,
    rng: np.random.Generator | int | None = 0,
    max_length: int | None = None,
    discount: float | None = None,
    aggregation: str | None = None,
    p_requires: float = 0.3,
    p_excludes: float = 0.15,
    p_held: float = 0.3,
) -> JourneyProblem:
    """An unstructured random problem for property tests: acyclic random prerequisites (a
    product may require lower-indexed ones), random symmetric exclusions, random holdings (not
    necessarily consistent with the rules) and standard-normal opportunities times 10. Unset
    policy values are drawn at random."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    requires = np.tril(gen.random((p, p)) < p_requires, k=-1)
    upper = np.triu(gen.random((p, p)) < p_excludes, k=1)
    excludes = (upper | upper.T) & ~requires & ~requires.T
    return JourneyProblem(
        opportunity=(10 * gen.standard_normal((n, 1 + p, p))).astype(np.float32),
        held=gen.random((n, p)) < p_held,
        requires=requires,
        excludes=excludes,
        max_length=int(gen.integers(1, p + 2)) if max_length is None else max_length,
        discount=float(gen.choice([1.0, 0.9, 0.5])) if discount is None else discount,
        aggregation=str(gen.choice(AGGREGATIONS)) if aggregation is None else aggregation,
    )
