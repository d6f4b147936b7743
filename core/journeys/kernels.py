"""Vectorized scoring kernels the solvers share.

:func:`prepare` flattens a (batch of a) problem into :class:`Prepared` arrays; :func:`evaluate`
/ :func:`evaluate_cols` score *states* (a sequence of distinct candidates and a length) as the
journeys they decode to (:func:`decode`: the annealer's feasibility repair), bit-identical to
:func:`core.journeys.scoring.score`; :func:`greedy_batch` is step-by-step greedy on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.journeys.problem import JourneyProblem
from core.journeys.scoring import candidates, first_rows


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
    result is bit-identical to :func:`core.journeys.scoring.score` of the decoded journey and to the exact DP.
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
