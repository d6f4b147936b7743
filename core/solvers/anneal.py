"""Simulated annealing of journeys, vectorized across customers.

State. Each customer's state is a permutation of its candidate products (:func:`candidates`)
and a length ``l``: the journey is the first ``l`` entries, the rest is the pool of unused
candidates. Every move is a fixed rearrangement of positions, so all moves of all customers are
applied with one gather from a precomputed move table.

Moves (one per customer per iteration, type drawn with the weights ``moves``):

* ``swap``     exchange two offers of the journey,
* ``insert``   move one offer to another position of the journey,
* ``reverse``  reverse a segment (>= 3 offers) of the journey,
* ``replace``  replace an offer by an unused candidate,
* ``extend``   insert an unused candidate at any position (when ``l < max_length``),
* ``shorten``  drop an offer (when ``l > 0``).

Feasibility repair by decoding. A state decodes to the journey of its first ``l`` entries minus
the entries that are infeasible when reached (a prerequisite neither held nor kept earlier, or
excluded by a held or kept product); the score is the decoded journey's score
(:func:`core.journeys.evaluate_cols`). So every proposal is feasible, nothing is rejected, and a
product whose prerequisite is missing can wait in the journey (worth nothing) until the
prerequisite is inserted before it. Every feasible journey is a state that decodes to itself.

Acceptance. Metropolis: accept when ``delta >= T * ln(u)``, ``u`` uniform in (0, 1) (equivalent to
``u < exp(delta / T)``; improvements and ties are always accepted).

Randomness. Customer ``c`` draws one 64-bit number per iteration ``k``:
``mix64(key_c + k * 0x9E3779B97F4A7C15)`` (SplitMix64), with ``key_c`` derived from
(seed, customer id). The move type uses 8 bits, the move within its type 16 bits (multiply-shift),
the acceptance uniform the top 32 bits. Temperatures, stall counters and restarts are per
customer too, so a customer's result depends only on the seed, its id and its own data, never on
the batch it is processed in.

Procedure. Start from a feasible journey and keep the best-so-far, so the result is never worse
than the start. The default start (``init="lookahead"``) is the best of greedy, greedy rollouts
from every first offer cut at their best prefix (:func:`lookahead_start`), the best walk of a
dynamic program that lets products repeat, repaired (:func:`walk_start`), and, for customers
with more candidates than the pool search covers exactly, a beam search over all their
candidates (:func:`beam_start`, ``beam`` partial journeys per step). Customers whose start
reaches every journey of their candidates in one move are not annealed when ``polish`` is on
(the polish examines that whole neighbourhood, so it finds their optimum), and with ``bound`` a
customer stops once its best reaches the walk's value, an upper bound (it is then optimal).
``t0="auto"`` calibrates each customer's initial temperature from 8 moves sampled at the start
so that an average worsening move is accepted with probability ``t0_acceptance`` (0.9):
``T0 = mean(-delta over worsening moves) / -ln(0.9)``.
A customer's run lasts ``min(iters, max(20, chain_factor * N))`` iterations, ``N`` the size of
its largest move neighbourhood (customers with few candidates finish early), or until it is
frozen (``stall`` iterations without an accepted move, off by default); it then reheats to
``reheat * T0`` and restarts from its best while ``restarts`` remain. With ``proposals=k`` each
iteration draws ``k`` moves and submits the best to the Metropolis test. Then ``polish`` runs
steepest-ascent local search over the full move neighbourhood (not for customers with at most
``pool`` candidates, whose first pool search covers every journey), and the pool search
(:func:`pool_search`, ``pool`` products, default the maximum length plus 4) intensifies exactly:
the best journey over the best journey's products plus the best-connected unused candidates, by
the Held-Karp DP of :mod:`core.solvers.exact` restricted to that pool (a customer with at most ``pool``
candidates is thereby solved exactly), then ``pool_units`` prerequisite-unit rounds whose pools
are seeded with a base service other candidates require, so that a base and its add-ons enter
together; with ``pool_walk`` (off by default since the beam start) the customers with more
candidates get a second pool search from the walk start and keep the better journey.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.common.rng import customer_keys, mix64, seed_of
from core.journeys import (
    JourneyProblem,
    JourneyResult,
    Prepared,
    decode,
    evaluate,
    greedy_batch,
    is_feasible,
    make_result,
    normalize_journeys,
    prepare,
)
from core.solvers import schedules
from core.solvers.exact import _layers, _local_bits, _solve_chunk

MOVES: tuple[str, ...] = ("swap", "insert", "reverse", "replace", "extend", "shorten")
DEFAULT_MOVES: dict[str, float] = {
    "swap": 1.0,
    "insert": 1.0,
    "reverse": 0.5,
    "replace": 1.5,
    "extend": 1.0,
    "shorten": 1.0,
}
INITS: tuple[str, ...] = ("lookahead", "greedy", "empty")
_SLOTS = 256
_MIN_RUN = 20  # shortest run with chain_factor
_POOL_EXTRA = 4  # default pool: the maximum journey length plus this many products
_DP_BUDGET = 1 << 20  # DP values per pool-search chunk (memory stays cache-friendly)
_CALIBRATION_SAMPLES = 8  # moves sampled per customer for t0="auto"
_GOLDEN_INT = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(_GOLDEN_INT)
_CALIBRATION = np.uint64(1 << 40)  # counter offset of the calibration draws


# --------------------------------------------------------------------------------------------
# move tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MoveTable:
    """All moves for every (number of candidates K, journey length l), as gather rows."""

    p: int
    length: int
    rows: np.ndarray  # int64 [R, P]: new[t] = old[rows[r, t]]
    dlen: np.ndarray  # int64 [R]: change of the journey length
    kind: np.ndarray  # int64 [R]: index into MOVES
    rows_t: np.ndarray  # int64 [P, R]: rows transposed (column-wise gathers)
    start: np.ndarray  # int64 [(P+1)*(length+1)]: first row of (K, l)
    total: np.ndarray  # int64 [(P+1)*(length+1)]: number of rows of (K, l)
    toff: np.ndarray  # int64 [(P+1)*(length+1)*6]: first row of (K, l, kind)
    tcnt: np.ndarray  # int64 [(P+1)*(length+1)*6]: rows of (K, l, kind)
    complete: np.ndarray  # bool [(P+1)*(length+1)]: one move reaches every journey of K


def _relocate(p: int, src: int, dst: int) -> np.ndarray:
    idx = np.arange(p)
    if src < dst:
        idx[src:dst] = np.arange(src + 1, dst + 1)
    elif src > dst:
        idx[dst + 1 : src + 1] = np.arange(dst, src)
    idx[dst] = src
    return idx


def _swap(p: int, a: int, b: int) -> np.ndarray:
    idx = np.arange(p)
    idx[a], idx[b] = b, a
    return idx


def _reverse(p: int, a: int, b: int) -> np.ndarray:
    idx = np.arange(p)
    idx[a : b + 1] = np.arange(b, a - 1, -1)
    return idx


@lru_cache(maxsize=32)
def move_table(p: int, length: int) -> MoveTable:
    """Build (and cache) the move table for ``p`` products and journeys up to ``length``."""
    rows: list[np.ndarray] = []
    dlen: list[int] = []
    kind: list[int] = []
    n_kl = (p + 1) * (length + 1)
    start = np.zeros(n_kl, dtype=np.int64)
    total = np.zeros(n_kl, dtype=np.int64)
    toff = np.zeros(n_kl * len(MOVES), dtype=np.int64)
    tcnt = np.zeros(n_kl * len(MOVES), dtype=np.int64)
    complete = np.zeros(n_kl, dtype=bool)
    for k in range(p + 1):
        for ell in range(min(k, length) + 1):
            kl = k * (length + 1) + ell
            start[kl] = len(rows)
            per_kind: list[list[tuple[np.ndarray, int]]] = [[] for _ in MOVES]
            for a in range(ell):
                for b in range(a + 1, ell):
                    per_kind[0].append((_swap(p, a, b), 0))
                    if b - a >= 2:
                        per_kind[2].append((_reverse(p, a, b), 0))
                for b in range(ell):
                    if a != b:
                        per_kind[1].append((_relocate(p, a, b), 0))
                for b in range(ell, k):
                    per_kind[3].append((_swap(p, a, b), 0))
                per_kind[5].append((_relocate(p, a, ell - 1), -1))
            if ell < length:
                for b in range(ell, k):
                    for a in range(ell + 1):
                        per_kind[4].append((_relocate(p, b, a), 1))
            for t, entries in enumerate(per_kind):
                toff[kl * len(MOVES) + t] = len(rows)
                tcnt[kl * len(MOVES) + t] = len(entries)
                for r, d in entries:
                    rows.append(r)
                    dlen.append(d)
                    kind.append(t)
            total[kl] = len(rows) - start[kl]
            reach = {tuple(range(ell))}
            new_rows = zip(rows[start[kl] :], dlen[start[kl] :], strict=True)
            reach.update(tuple(r[: ell + d]) for r, d in new_rows)
            complete[kl] = len(reach) == sum(math.perm(k, m) for m in range(min(k, length) + 1))
    table_rows = np.array(rows, dtype=np.int64).reshape(-1, p)
    return MoveTable(
        p=p,
        length=length,
        rows=table_rows,
        rows_t=np.ascontiguousarray(table_rows.T),
        dlen=np.array(dlen, dtype=np.int64),
        kind=np.array(kind, dtype=np.int64),
        start=start,
        total=total,
        toff=toff,
        tcnt=tcnt,
        complete=complete,
    )


def _type_slots(table: MoveTable, weights: Mapping[str, float]) -> np.ndarray:
    """int64 ``[(P+1)*(length+1), 256]``: move type of each of 256 equally likely slots."""
    w = np.array([float(weights.get(m, 0.0)) for m in MOVES])
    avail = table.tcnt.reshape(-1, len(MOVES)) > 0
    ww = np.where(avail, w[None, :], 0.0)
    tot = ww.sum(axis=1, keepdims=True)
    cum = np.cumsum(ww, axis=1) / np.where(tot > 0, tot, 1.0)
    centers = (np.arange(_SLOTS) + 0.5) / _SLOTS
    slots = (centers[None, :, None] >= cum[:, None, :]).sum(axis=2)
    return np.minimum(slots, len(MOVES) - 1).astype(np.int64)


def _check_moves(moves: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(DEFAULT_MOVES if moves is None else moves)
    unknown = set(out) - set(MOVES)
    if unknown:
        raise OptionError(f"unknown moves {sorted(unknown)}; choose from {', '.join(MOVES)}")
    if any(v < 0 for v in out.values()) or not any(v > 0 for v in out.values()):
        raise OptionError("move weights must be >= 0 and not all zero")
    if out.get("extend", 0.0) <= 0 and out.get("replace", 0.0) <= 0:
        raise OptionError("give 'extend' or 'replace' a positive weight, or no journey can grow")
    return {m: float(out.get(m, 0.0)) for m in MOVES}


# --------------------------------------------------------------------------------------------
# fast scoring (the hot loop's form of core.journeys.evaluate_cols)
# --------------------------------------------------------------------------------------------


class Scorer:
    """Scores of decoded states, bit-identical to :func:`core.journeys.evaluate_cols`.

    The same arithmetic with fewer, larger numpy calls: each chain carries its flat offset
    into ``prep.values`` (``base``), the discount-and-end mask is one table lookup, and the
    feasibility repair (decoding) works on all positions at once by fixed-point iteration
    instead of column by column. Decoding position ``t`` depends only on the positions before
    it, so iterating ``kept <- f(kept)`` from ``kept = live`` is exact after at most ``length``
    rounds and stops at the first fixed point (one round when no product excludes another and
    no prerequisite has prerequisites of its own, as in the shipped catalogs).
    """

    def __init__(self, prep: Prepared) -> None:
        le, p = prep.length, prep.p
        self.prep, self.le, self.p = prep, le, p
        self.stride = (1 + p) * p
        ell = np.arange(le + 1)
        t = np.arange(le)[:, None]
        self.live = t < ell[None, :]  # [le, le + 1]: position t is inside a journey of length l
        self.livepow = np.where(self.live, prep.powers[:le, None], 0.0)
        self.bit = np.left_shift(np.uint64(1), np.arange(p, dtype=np.uint64))
        self.tpos = np.broadcast_to(np.arange(le)[:, None], (le, 1))
        req = ((prep.req_bits[:, None] >> np.arange(p, dtype=np.uint64)) & np.uint64(1)) > 0
        nested = bool((req.astype(np.int64) @ req.astype(np.int64)).any())
        self.exclusive = bool(prep.excl_bits.any())
        self.rounds = le if nested or self.exclusive else 1
        self.powkept = np.stack([prep.powers * 0.0, prep.powers], axis=1).ravel()

    def bases(self, rows: np.ndarray) -> np.ndarray:
        """Flat offset of each customer's block of ``prep.values``."""
        return rows.astype(np.int64) * self.stride

    def checked(self, rows: np.ndarray) -> np.ndarray:
        """Indices (into ``rows``) of the states that need decoding."""
        if not self.prep.constrained:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(self.prep.needs_check[rows])

    def __call__(
        self,
        base: np.ndarray,
        chk: np.ndarray,
        held: np.ndarray,
        cols: np.ndarray,
        lengths: np.ndarray,
    ) -> np.ndarray:
        """Scores of states ``cols`` (``[length, m]``, column per state) of lengths ``lengths``.

        ``base`` are the states' :meth:`bases`, ``chk`` their :meth:`checked` indices and
        ``held`` (uint64, aligned with ``chk``) the held-product bits of those states.
        """
        le, p = self.le, self.p
        m = cols.shape[1]
        if le == 0 or m == 0:
            return np.zeros(m)
        idx = np.empty((le, m), dtype=np.int64)
        idx[0] = cols[0]
        if le > 1:
            np.multiply(cols[:-1] + 1, p, out=idx[1:])
            idx[1:] += cols[1:]
        idx += base
        steps = np.take(self.prep.values, idx)
        steps *= self.livepow[:, lengths]
        total = steps[0]
        for t in range(1, le):
            total = total + steps[t]
        if chk.size:
            total[chk] = self.decoded(base[chk], held, cols[:, chk], lengths[chk])[0]
        return total

    def kept(self, held: np.ndarray, cols: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """bool ``[length, m]``: entries kept by decoding (see :func:`core.journeys.decode`)."""
        live = self.live[:, lengths]
        prep = self.prep
        bits = np.take(self.bit, cols)
        req = np.take(prep.req_bits, cols)
        excl = np.take(prep.excl_bits, cols) if self.exclusive else None
        kept = live
        have = np.empty_like(bits)
        have[0] = held
        for _ in range(self.rounds):
            if self.le > 1:
                acc = np.bitwise_or.accumulate(np.where(kept, bits, np.uint64(0)), axis=0)
                np.bitwise_or(acc[:-1], held, out=have[1:])
            bad = req & ~have
            if excl is not None:
                bad |= excl & have
            new = live & (bad == 0)
            if self.rounds > 1 and np.array_equal(new, kept):
                break
            kept = new
        return kept

    def decoded(
        self, base: np.ndarray, held: np.ndarray, cols: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, kept mask) of states that need decoding."""
        le, p = self.le, self.p
        kept = self.kept(held, cols, lengths)
        # predecessor: the last kept entry before t (row 0, the start, when there is none)
        last = np.maximum.accumulate(np.where(kept, self.tpos, -1), axis=0)
        prev_row = np.zeros_like(cols)
        if le > 1:
            prev_pos = last[:-1]
            flat = np.maximum(prev_pos, 0) * cols.shape[1] + np.arange(cols.shape[1])
            prev_col = np.take(cols, flat)
            prev_row[1:] = np.where(prev_pos >= 0, prev_col + 1, 0)
        # gamma**pos where kept, 0 elsewhere: one lookup of (pos, kept)
        code = np.cumsum(kept, axis=0)
        code -= kept
        code *= 2
        code += kept
        val = np.take(self.prep.values, base + prev_row * p + cols)
        val *= np.take(self.powkept, code)
        total = val[0]
        for t in range(1, le):
            total = total + val[t]
        return total, kept


# --------------------------------------------------------------------------------------------
# state helpers
# --------------------------------------------------------------------------------------------


def initial_perm(prep: Prepared, seqs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """int64 ``[n, P]``: the journey first, then unused candidates, then the other products."""
    n, p = prep.n, prep.p
    key = np.where(prep.cand, p + np.arange(p)[None, :], 3 * p + np.arange(p)[None, :])
    rows = np.arange(n)
    for t in range(seqs.shape[1]):
        live = t < lengths
        key[rows[live], seqs[live, t]] = t
    return np.argsort(key, axis=1, kind="stable").astype(np.int64)


def lookahead_start(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Rollouts: for each possible first offer, greedy continued to the maximum length, cut
    at its best prefix; the best of them.

    From each feasible first product the feasible product with the largest immediate value is
    added step by step even when that value is negative (plain greedy stops there); each path is
    cut after the step where its running score peaks (empty when no prefix is positive), and the
    best cut path over the first products is returned. Greedy's journey is a prefix of the path
    that starts with greedy's first offer, so this start is at least as good as greedy's; it also
    reaches journeys whose first offer loses value but opens a valuable sequence (a base service
    before its add-ons). Cost: ``P`` greedy passes.

    Returns
    -------
    (journeys int64 [n, length] padded -1, lengths int64 [n])
    """
    n, length = prep.n, prep.length
    seq = np.full((n, length), -1, dtype=np.int64)
    best = np.zeros(n)
    best_len = np.zeros(n, dtype=np.int64)
    if length == 0 or n == 0:
        return seq, best_len
    first_ok = prep.cand & ((prep.req_bits[None, :] & ~prep.held_bits[:, None]) == 0)
    for f in np.flatnonzero(first_ok.any(axis=0)):
        who = np.flatnonzero(first_ok[:, f])
        path, run_best, run_len = _rollout(prep, who, int(f))
        up = run_best > best[who]
        sel = who[up]
        best[sel], best_len[sel], seq[sel] = run_best[up], run_len[up], path[up]
    seq[np.arange(length)[None, :] >= best_len[:, None]] = -1
    return seq, best_len


_WALK_UNITS = 2  # unit rounds of the second pool search (from the walk start)
_WALK_MAX_BASES = 3  # the walk remembers which prerequisite products it used when <= this many


def walk_start(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best *walk* of up to ``length`` offers by dynamic programming, made a journey, and
    its value: an upper bound of every journey's score.

    The walk relaxation drops the rule that products are distinct: its state is (step, last
    product, which *base* products, those some product requires, were offered), so it costs
    ``length * 2**B * P**2`` per customer (``B`` bases; when ``B`` exceeds 3 bases are not
    remembered and prerequisites are ignored). A product is entered only when its prerequisites
    are held or offered earlier and a base is never offered twice. Its best walk is then cut to a
    journey by dropping repeated products (first occurrence kept), and decoding drops what the
    exclusions forbid. When the walk repeats nothing and breaks no exclusion it is the optimum;
    otherwise it is a start. Every journey is such a walk, so the walk's value bounds the
    optimum from above (the annealer stops a customer whose best reaches it).

    Returns
    -------
    (journeys int64 [n, length] padded -1, lengths int64 [n], bound float64 [n])
    """
    n, p, length = prep.n, prep.p, prep.length
    seq = np.full((n, length), -1, dtype=np.int64)
    if length == 0 or n == 0:
        return seq, np.zeros(n, dtype=np.int64), np.zeros(n)
    rows = np.arange(n)
    table = prep.values.reshape(n, 1 + p, p)
    bases_bits = int(np.bitwise_or.reduce(prep.req_bits)) if p else 0
    bases = [j for j in range(p) if bases_bits >> j & 1]
    if len(bases) > _WALK_MAX_BASES:
        bases = []
    n_masks = 1 << len(bases)
    # walk-mask bit of each product (0 unless a base) and each customer's unmet prerequisites
    own = np.zeros(p, dtype=np.int64)
    unmet = np.zeros((n, p), dtype=np.int64)
    for b, j in enumerate(bases):
        own[j] = 1 << b
        needs_j = ((prep.req_bits >> np.uint64(j)) & np.uint64(1)).astype(bool)  # [P]
        not_held = ((prep.held_bits >> np.uint64(j)) & np.uint64(1)) == 0  # [n]
        unmet |= np.where(not_held[:, None] & needs_j[None, :], 1 << b, 0)
    cand = prep.cand
    if not bases:  # prerequisites are not tracked: only the first step must meet them
        first_ok = cand & ((prep.req_bits[None, :] & ~prep.held_bits[:, None]) == 0)
    else:
        first_ok = cand & (unmet == 0)
    ninf = -np.inf
    v = np.full((n, n_masks, p), ninf)
    v[rows[:, None], own[None, :], np.arange(p)[None, :]] = np.where(first_ok, table[:, 0], ninf)
    idt = np.int8 if p < 128 else np.int64
    back_i = np.zeros((length, n, n_masks, p), dtype=idt)
    back_m = np.zeros((length, n, n_masks, p), dtype=np.int8)
    best = np.zeros(n)
    best_at = np.full((n, 3), -1, dtype=np.int64)  # (step, mask, last)

    def keep_best(t: int, vals: np.ndarray) -> None:
        flat = vals.reshape(n, -1)
        k = flat.argmax(axis=1)
        top = flat[rows, k]
        up = top > best
        best[up] = top[up]
        best_at[up] = np.stack([np.full(int(up.sum()), t), k[up] // p, k[up] % p], axis=1)

    keep_best(0, v)
    diag = np.eye(p, dtype=bool)
    trans = table[:, 1:]
    jj = np.arange(p)
    for t in range(1, length):
        nv = np.full((n, n_masks, p), ninf)
        for m in range(n_masks):
            if not np.isfinite(v[:, m]).any():
                continue
            step = v[:, m, :, None] + prep.powers[t] * trans  # [n, i, j]
            step[:, diag] = ninf
            arg = step.argmax(axis=1)  # [n, j]
            val = np.take_along_axis(step, arg[:, None, :], axis=1)[:, 0]
            ok = cand & ((unmet & ~m) == 0) & ((own & m) == 0)[None, :]
            val = np.where(ok, val, ninf)
            dest = m | own  # [P]
            cur = nv[:, dest, jj]
            up = val > cur
            nv[:, dest, jj] = np.where(up, val, cur)
            bi, bm = back_i[t][:, dest, jj], back_m[t][:, dest, jj]
            back_i[t][:, dest, jj] = np.where(up, arg, bi)
            back_m[t][:, dest, jj] = np.where(up, m, bm)
        v = nv
        keep_best(t, v)
    walk = np.full((n, length), -1, dtype=np.int64)
    t_end, m_cur, j_cur = best_at[:, 0], best_at[:, 1].copy(), best_at[:, 2].copy()
    for t in range(length - 1, -1, -1):
        on = t_end >= t
        walk[on, t] = j_cur[on]
        if t > 0:
            sel = rows[on]
            prev_i = back_i[t][sel, m_cur[on], j_cur[on]].astype(np.int64)
            prev_m = back_m[t][sel, m_cur[on], j_cur[on]].astype(np.int64)
            j_cur[on], m_cur[on] = prev_i, prev_m
    seen = np.zeros((n, p), dtype=bool)
    lengths = np.zeros(n, dtype=np.int64)
    for t in range(length):
        wj = walk[:, t]
        ok = (wj >= 0) & ~seen[rows, np.maximum(wj, 0)]
        seq[rows[ok], lengths[ok]] = wj[ok]
        seen[rows[ok], wj[ok]] = True
        lengths += ok
    return seq, lengths, best


_BEAM_BUDGET = 1 << 20  # beam children per chunk of customers


def beam_start(
    prep: Prepared, rows: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beam search over every candidate: the best journey found, step by step.

    Journeys grow one offer per step; each step extends every kept partial journey by every
    feasible candidate (not offered yet, prerequisites held or offered, nothing excluded),
    drops duplicates of the same (set offered, last product) keeping the better one (the
    dominance of the Held-Karp DP of :mod:`core.solvers.exact`: the same set and last product have the
    same futures), and keeps the ``width`` children with the largest *optimistic* value: the
    value so far plus an admissible bound of the best continuation after the last product,
    ``H[t, j] = max(0, max_k gamma**(t+1) O[j, k] + H[t+1, k])`` (a walk that may repeat
    products and ignores the rules, so it never underestimates). Every partial journey is a
    journey, so the best one seen is returned. Cost per customer about ``width * K * length``
    children (``K`` candidates); each customer's result depends only on its own data (stable
    sorts per row).

    Returns
    -------
    (journeys int64 [m, length] padded -1, lengths int64 [m], scores float64 [m])
    """
    le, p = prep.length, prep.p
    m = rows.size
    out = np.full((m, le), -1, dtype=np.int64)
    best = np.zeros(m)
    if m == 0 or le == 0 or width < 1:
        return out, np.zeros(m, dtype=np.int64), best
    step = max(1, _BEAM_BUDGET // (width * p))
    for lo in range(0, m, step):
        sl = slice(lo, min(m, lo + step))
        out[sl], best[sl] = _beam_chunk(prep, rows[sl], int(width))
    return out, (out >= 0).sum(axis=1), best


def _beam_chunk(prep: Prepared, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    le, p = prep.length, prep.p
    m = rows.size
    ar = np.arange(m)
    table = prep.values.reshape(prep.n, 1 + p, p)[rows]
    cand = prep.cand[rows]
    held = prep.held_bits[rows]
    bit = np.left_shift(np.uint64(1), np.arange(p, dtype=np.uint64))
    # admissible completion bound after product j at position t
    trans = np.where(cand[:, None, :], table[:, 1:], -np.inf)
    trans[:, np.arange(p), np.arange(p)] = -np.inf
    bound = np.zeros((le, m, p))
    for t in range(le - 2, -1, -1):
        nxt = prep.powers[t + 1] * trans + bound[t + 1][:, None, :]
        bound[t] = np.maximum(nxt.max(axis=2), 0.0)
    ok0 = cand & ((prep.req_bits[None, :] & ~held[:, None]) == 0)
    ok0 &= (prep.excl_bits[None, :] & held[:, None]) == 0
    g0 = np.where(ok0, table[:, 0], -np.inf)
    order = np.argsort(-(g0 + bound[0]), axis=1, kind="stable")[:, :width]
    g = np.take_along_axis(g0, order, axis=1)
    last, mask = order, bit[order]
    seq = np.full((m, g.shape[1], le), -1, dtype=np.int64)
    seq[:, :, 0] = order
    best = np.zeros(m)
    best_seq = np.full((m, le), -1, dtype=np.int64)

    def keep_best() -> None:
        top = g.max(axis=1)
        up = top > best
        if up.any():
            best[up] = top[up]
            best_seq[up] = seq[ar[up], g[up].argmax(axis=1)]

    keep_best()
    for t in range(1, le):
        have = mask | held[:, None]
        ok = cand[:, None, :] & ((mask[:, :, None] & bit[None, None, :]) == 0)
        ok &= (prep.req_bits[None, None, :] & ~have[:, :, None]) == 0
        ok &= (prep.excl_bits[None, None, :] & have[:, :, None]) == 0
        ok &= np.isfinite(g)[:, :, None]
        g_child = np.where(
            ok, g[:, :, None] + prep.powers[t] * table[ar[:, None], 1 + last], -np.inf
        )
        f_child = (g_child + bound[t][:, None, :]).reshape(m, -1)
        # the 2 * width most promising children (in child order), then one per (set, last
        # product): the best of them (sorted by set, last, then value)
        cap = min(2 * width, f_child.shape[1])
        if cap < f_child.shape[1]:
            top = np.sort(np.argpartition(-f_child, cap - 1, axis=1)[:, :cap], axis=1)
        else:
            top = np.broadcast_to(np.arange(cap), (m, cap))
        f_top = np.take_along_axis(f_child, top, axis=1)
        t_last = top % p
        t_mask = np.take_along_axis(mask, top // p, axis=1) | bit[t_last]
        o = np.lexsort((-f_top, t_last, t_mask), axis=-1)
        sm, sk = np.take_along_axis(t_mask, o, 1), np.take_along_axis(t_last, o, 1)
        f_sorted = np.take_along_axis(f_top, o, 1)
        f_sorted[:, 1:][(sm[:, 1:] == sm[:, :-1]) & (sk[:, 1:] == sk[:, :-1])] = -np.inf
        o2 = np.argsort(-f_sorted, axis=1, kind="stable")[:, :width]
        pick = np.take_along_axis(o, o2, axis=1)
        sel = np.take_along_axis(top, pick, axis=1)  # flat child index: parent * P + product
        alive = np.take_along_axis(f_sorted, o2, axis=1) > -np.inf
        g = np.where(alive, g_child.reshape(m, -1)[ar[:, None], sel], -np.inf)
        mask = np.take_along_axis(t_mask, pick, axis=1)
        last = sel % p
        seq = seq[ar[:, None], sel // p]
        seq[:, :, t] = last
        keep_best()
    return best_seq, best


def _rollout(prep: Prepared, who: np.ndarray, first: int) -> tuple[np.ndarray, ...]:
    """Greedy paths of customers ``who`` that start with ``first``: (path, best prefix score,
    best prefix length)."""
    p, length = prep.p, prep.length
    m = who.size
    pbits = np.left_shift(np.uint64(1), np.arange(p, dtype=np.uint64))
    table = prep.values.reshape(prep.n, 1 + p, p)[who]
    rows = np.arange(m)
    seq = np.full((m, length), -1, dtype=np.int64)
    held = prep.held_bits[who]
    cand = prep.cand[who]
    seq[:, 0] = first
    used = np.full(m, pbits[first])
    run = prep.powers[0] * table[:, 0, first]
    best = np.maximum(run, 0.0)
    best_len = (run > 0).astype(np.int64)
    vals = table[:, 1 + first]
    alive = np.ones(m, dtype=bool)
    for t in range(1, length):
        have = held | used
        ok = cand & ((used[:, None] & pbits[None, :]) == 0)
        ok &= (prep.req_bits[None, :] & ~have[:, None]) == 0
        ok &= (prep.excl_bits[None, :] & used[:, None]) == 0
        gain = np.where(ok, vals, -np.inf)
        pick = gain.argmax(axis=1)
        alive &= ok[rows, pick]
        if not alive.any():
            break
        seq[alive, t] = pick[alive]
        used[alive] |= pbits[pick[alive]]
        run = np.where(alive, run + prep.powers[t] * gain[rows, pick], run)
        up = alive & (run > best)
        best[up], best_len[up] = run[up], t + 1
        vals = table[rows, 1 + pick]
    return seq, best, best_len


def _pool_dp(
    prep: Prepared, rows: np.ndarray, in_pool: np.ndarray, blk: np.ndarray
) -> tuple[np.ndarray, int]:
    """Best journeys over each row's pool (bool ``[m, P]``) by the Held-Karp DP of
    :mod:`core.solvers.exact`: int64 ``[m, length]`` (global products, padded -1) and evaluations.

    A pool product whose unmet prerequisite is outside the pool is not used. Customers with
    pools of the same size are solved together, in chunks of about ``_DP_BUDGET`` DP values."""
    le, p = prep.length, prep.p
    req = prep.req_bits.astype(np.int64)
    excl = prep.excl_bits.astype(np.int64)
    held = prep.held_bits[rows].astype(np.int64)
    weights = [float(w) for w in prep.powers[:le]]
    ar = np.arange(p)
    size = in_pool.sum(1)
    out = np.full((rows.size, le), -1, dtype=np.int64)
    nfev = 0
    for k in np.unique(size):
        k = int(k)
        if k == 0:
            continue
        layers = _layers(k, le)
        members = np.flatnonzero(size == k)
        step = max(1, _DP_BUDGET // max(lay.last.size for lay in layers))
        for lo in range(0, members.size, step):
            g = members[lo : lo + step]
            loc = np.sort(np.where(in_pool[g], ar[None, :], p), axis=1)[:, :k]
            pool_bits = np.left_shift(np.int64(1), loc).sum(axis=1)
            unmet = req[loc] & ~held[g][:, None]
            r_loc = _local_bits(unmet, loc)
            outside = (unmet & ~pool_bits[:, None]) != 0
            r_loc |= np.where(outside, np.left_shift(np.int64(1), np.arange(k)), 0)
            seq, used = _solve_chunk(
                layers,
                k,
                blk[g[:, None], 0, loc],
                blk[g[:, None, None], 1 + loc[:, :, None], loc[:, None, :]].reshape(g.size, k * k),
                r_loc,
                _local_bits(excl[loc], loc),
                weights,
                None,
            )
            nfev += used
            glob = np.where(seq >= 0, np.take_along_axis(loc, np.maximum(seq, 0), axis=1), -1)
            out[g, : glob.shape[1]] = glob
    return out, nfev


def _rank(blk: np.ndarray, in_j: np.ndarray, unused: np.ndarray) -> np.ndarray:
    """Connection value of each unused candidate to the products ``in_j`` (-inf elsewhere):
    the best value in from the start or an ``in_j`` product plus the best value out to one."""
    src = np.concatenate([np.ones((in_j.shape[0], 1), dtype=bool), in_j], axis=1)
    inbound = np.where(src[:, :, None], blk, -np.inf).max(axis=1)
    outbound = np.where(in_j[:, None, :], blk[:, 1:, :], -np.inf).max(axis=2)
    rank_val = inbound + np.where(np.isfinite(outbound), outbound, 0.0)
    return np.where(unused, rank_val, -np.inf)


def _members(seqs: np.ndarray, p: int) -> np.ndarray:
    in_j = np.zeros((seqs.shape[0], p), dtype=bool)
    live = seqs >= 0
    in_j[np.repeat(np.arange(seqs.shape[0]), live.sum(1)), seqs[live]] = True
    return in_j


def _top(rank_val: np.ndarray, count: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """bool mask of ranks ``[skip, skip + count)`` of each row's descending ``rank_val``."""
    order = np.argsort(-rank_val, axis=1, kind="stable")
    lo = np.zeros_like(count) if skip is None else skip
    pos = np.arange(rank_val.shape[1])[None, :] - lo[:, None]
    pick = (pos >= 0) & (pos < count[:, None])
    chosen = np.zeros(rank_val.shape, dtype=bool)
    chosen[np.repeat(np.arange(rank_val.shape[0]), pick.sum(1)), order[pick]] = True
    return chosen


def pool_search(
    prep: Prepared,
    rows: np.ndarray,
    seqs: np.ndarray,
    lengths: np.ndarray,
    scores: np.ndarray,
    *,
    pool: int,
    rounds: int,
    prefer: np.ndarray | None = None,
    unit_rounds: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Exact intensification: the best journey over a small pool of products, by Held-Karp.

    A customer's pool is its journey's products plus up to ``pool - l`` unused candidates
    ranked by how well they connect to the journey (the best value of offering them after the
    start or a journey product, plus the best value of a journey product after them). The best
    journey using only pool products (any subset, any order, the rules checked: a product whose
    unmet prerequisite is outside the pool is not used) is found by the exact DP of
    :mod:`core.solvers.exact` restricted to the pool, and replaces the journey when it scores higher.
    Each round a customer whose journey improved re-ranks from its new journey; one that did
    not moves on to the next ``pool - l`` ranked candidates; customers stop once the ranking is
    exhausted. A customer with at most ``pool`` candidates is solved exactly in one round.

    Then up to ``unit_rounds`` *prerequisite-unit* rounds: a ranked window cannot bring in a
    base service together with the add-ons that need it unless all of them rank high, so each
    unit round seeds the pool with one *base* ``b``, a candidate that other candidates of the
    customer require (best ``first-step value of b + best value after b`` first). A base not
    offered yet is added to the pool, which is filled with the candidates that connect best to
    the journey plus ``b`` (``b``'s dependents connect strongly to it); bases not offered yet
    are tried before offered ones. An offered base whose dependents are not all offered fills
    the pool with those dependents first (best value after ``b`` first). A customer whose
    journey improves goes back to ranked windows (while ``rounds`` allow) and may try every
    unit again; one stops when every unit was tried or ``unit_rounds`` are used.

    Parameters
    ----------
    rows
        Customer indices into ``prep``.
    seqs, lengths, scores
        Decoded journeys (int64 ``[m, >= length]`` padded -1), lengths and scores.
    pool
        Products per DP (cost per customer about ``sum_k C(pool, k) k (k - 1)``, ``k <=
        length``).
    rounds
        Maximum ranked-window DP rounds per customer.
    prefer
        Optional bool ``[m, P]``: candidates ranked before all others in the windows.
    unit_rounds
        Maximum prerequisite-unit DP rounds per customer (0: none).

    Returns
    -------
    (journeys int64 [m, length], lengths, scores, evaluations)
    """
    le, p = prep.length, prep.p
    m = rows.size
    seqs = np.ascontiguousarray(seqs[:, :le]).copy()
    lengths, scores = lengths.copy(), scores.copy()
    nfev = 0
    if m == 0 or le == 0 or pool < 1:
        return seqs, lengths, scores, nfev
    table = prep.values.reshape(prep.n, 1 + p, p)
    cand = prep.cand[rows]
    n_cand = cand.sum(1)
    # bases: candidates that another candidate of the customer requires (and is not held)
    req_c = ((prep.req_bits[:, None] >> np.arange(p, dtype=np.uint64)) & np.uint64(1)) > 0
    base = cand & (cand[:, :, None] & req_c[None, :, :]).any(axis=1)
    use_units = unit_rounds > 0 and pool >= 2
    window = np.zeros(m, dtype=np.int64)  # rank offset of the next window
    windows = np.zeros(m, dtype=np.int64)  # ranked rounds used
    units = np.zeros(m, dtype=np.int64)  # unit rounds used
    tried = np.zeros((m, p), dtype=bool)  # bases tried since the last improvement
    done = np.zeros(m, dtype=bool)

    def adopt(act: np.ndarray, new_seqs: np.ndarray) -> np.ndarray:
        nonlocal nfev
        r_act = rows[act]
        new_len = (new_seqs >= 0).sum(1)
        dec = decode(prep, r_act, new_seqs, new_len)
        d_len = (dec >= 0).sum(1)
        s_new = evaluate(prep, r_act, dec, d_len)
        nfev += act.size
        better = s_new > scores[act] + 1e-12 * (1.0 + np.abs(scores[act]))
        up = act[better]
        seqs[up], lengths[up], scores[up] = dec[better], d_len[better], s_new[better]
        return better

    while True:
        live = np.flatnonzero(~done)
        if live.size == 0:
            break
        in_j_all = _members(seqs[live], p)
        n_unused = n_cand[live] - lengths[live]
        # the first round always runs (its DP may reorder the journey's own products)
        rank_ok = (windows[live] < rounds) & ((window[live] < n_unused) | (windows[live] == 0))
        # units: bases not offered yet, and offered bases with add-ons not offered yet
        needs_b = (req_c[None, :, :] & (cand[live] & ~in_j_all)[:, :, None]).any(axis=1)
        open_b = base[live] & ~tried[live] & (~in_j_all | needs_b)
        unit_ok = ~rank_ok & use_units & (units[live] < unit_rounds) & open_b.any(axis=1)
        unit_ok &= n_cand[live] > pool  # a pool that holds every candidate is exact already
        stop = ~rank_ok & ~unit_ok
        done[live[stop]] = True
        go = ~stop
        act, in_j = live[go], in_j_all[go]
        if act.size == 0:
            break
        is_rank, is_unit, open_b = rank_ok[go], unit_ok[go], open_b[go]
        blk = table[rows[act]]  # [a, 1 + P, P]
        seed = in_j.copy()
        if is_unit.any():
            u = np.flatnonzero(is_unit)
            dep = req_c[None, :, :] & cand[act[u]][:, :, None]  # [a, j, b]: j requires b
            after = np.where(dep.transpose(0, 2, 1), blk[u, 1:, :], -np.inf).max(axis=2)
            unit_val = blk[u, 0, :] + np.where(np.isfinite(after), after, 0.0)
            fresh = open_b[u] & ~in_j[u]  # bases not offered yet come first
            pick = np.where(fresh.any(axis=1)[:, None], fresh, open_b[u])
            b = np.where(pick, unit_val, -np.inf).argmax(axis=1)
            tried[act[u], b] = True
            units[act[u]] += 1
            offered = in_j[u, b]
            seed[u, b] = True
        unused = cand[act] & ~seed
        rank_val = _rank(blk, seed, unused)
        if is_unit.any():
            # an offered base: its add-ons first, best value after the base first
            o = u[offered]
            if o.size:
                bo = b[offered]
                dep_o = req_c[:, bo].T & unused[o]  # [o, j]: j requires b
                val_o = blk[o, 1 + bo, :] + 1e300
                rank_val[o] = np.where(dep_o, val_o, rank_val[o])
        if prefer is not None:
            rank_val = np.where(prefer[act] & unused, rank_val + 1e300, rank_val)
        skip = np.where(is_rank, window[act], 0)
        extra = np.clip(np.minimum(pool - seed.sum(1), unused.sum(1) - skip), 0, None)
        in_pool = seed | _top(rank_val, extra, skip)
        new_seqs, used = _pool_dp(prep, rows[act], in_pool, blk)
        nfev += used
        better = adopt(act, new_seqs)
        up, stay = act[better], act[~better]
        window[up], tried[up] = 0, False
        r_stay = stay[is_rank[~better]]
        # the first window held every candidate: that DP was exact, the journey is optimal
        exact_pool = is_rank & ~better & (skip == 0) & (extra >= unused.sum(1))
        done[act[exact_pool]] = True
        window[r_stay] += np.maximum(pool - lengths[r_stay], 1)
        windows[r_stay] += 1
    return seqs, lengths, scores, nfev


def local_search(
    prep: Prepared,
    table: MoveTable,
    rows: np.ndarray,
    perm: np.ndarray,
    lengths: np.ndarray,
    scores: np.ndarray,
    *,
    max_passes: int = 50,
    chunk: int = 1 << 21,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Steepest-ascent hill climbing over the full move neighbourhood (vectorized).

    Each pass evaluates every move of every still-improving customer and applies the best one if
    it improves the score by more than ``1e-12 * (1 + |score|)``. Ties keep the first move of the
    table, so the outcome is deterministic per customer.

    Parameters
    ----------
    prep, table
        Prepared problem and move table.
    rows
        Customer indices into ``prep`` of the states.
    perm, lengths, scores
        States (row-major ``[m, width]``), their lengths and scores.

    Returns
    -------
    (perm, lengths, scores, evaluations)
    """
    perm, lengths, scores = perm.copy(), lengths.copy(), scores.copy()
    scorer = Scorer(prep)
    k = prep.cand[rows].sum(axis=1)
    stride = table.length + 1
    act = np.flatnonzero(table.total[k * stride + lengths] > 0)
    nfev = 0
    width, le = perm.shape[1], prep.length
    for _ in range(max_passes):
        if act.size == 0:
            break
        improved_all: list[np.ndarray] = []
        kl_all = k[act] * stride + lengths[act]
        r_max = int(table.total[kl_all].max())
        step = max(1, chunk // max(r_max * le, 1))
        for lo in range(0, act.size, step):
            sub = act[lo : lo + step]
            kl = kl_all[lo : lo + step]
            tot = table.total[kl]
            offs = np.arange(r_max)[None, :]
            valid = offs < tot[:, None]
            rid = np.where(valid, table.start[kl][:, None] + offs, table.start[kl][:, None])
            # column-wise journeys of every neighbour: cols[t, i * r_max + r]
            src = table.rows_t[:le][:, rid.ravel()]
            owner = np.repeat(np.arange(sub.size), r_max)
            cols = np.take(perm[sub].ravel(), owner[None, :] * width + src)
            new_len = (lengths[sub][:, None] + table.dlen[rid]).ravel()
            who_rows = rows[sub][owner]
            chk = scorer.checked(who_rows)
            held = prep.held_bits[who_rows[chk]]
            s = scorer(scorer.bases(who_rows), chk, held, cols, new_len).reshape(sub.size, r_max)
            nfev += int(tot.sum())
            s[~valid] = -np.inf
            b = s.argmax(axis=1)
            sb = s[np.arange(sub.size), b]
            cur = scores[sub]
            better = sb > cur + 1e-12 * (1.0 + np.abs(cur))
            if better.any():
                pick = np.flatnonzero(better)
                who = sub[pick]
                rb = rid[pick, b[pick]]
                perm[who] = np.take_along_axis(perm[who], table.rows[rb, :width], axis=1)
                lengths[who] += table.dlen[rb]
                scores[who] = sb[pick]
                improved_all.append(who)
        act = np.concatenate(improved_all) if improved_all else np.empty(0, dtype=np.int64)
    return perm, lengths, scores, nfev


class _Chains:
    """Working set of Markov chains in column layout: ``pt[t, i]`` is position ``t`` of chain i."""

    def __init__(
        self,
        prep: Prepared,
        table: MoveTable,
        slots: np.ndarray,
        rows: np.ndarray,
        perm: np.ndarray,
        lengths: np.ndarray,
        scores: np.ndarray,
        keys: np.ndarray,
        scorer: Scorer | None = None,
    ) -> None:
        self.prep, self.table = prep, table
        self.scorer = scorer or Scorer(prep)
        # per (K, l, slot): first row and row count of the slot's move type
        kt = np.arange(slots.shape[0])[:, None] * len(MOVES) + slots
        self.slot_off = table.toff[kt].ravel()
        self.slot_cnt = table.tcnt[kt].ravel()
        self.src_t = table.rows_t[: prep.length]
        self.rows = rows
        self.pt = np.ascontiguousarray(perm.T)
        self.len = lengths.copy()
        self.cur = scores.copy()
        self.key = keys
        k = prep.cand[rows].sum(axis=1).astype(np.int64)
        self.kbase = k * (table.length + 1)
        self._index()

    def _index(self) -> None:
        self.base = self.scorer.bases(self.rows)
        self.chk = self.scorer.checked(self.rows)
        self.held = self.prep.held_bits[self.rows[self.chk]]
        self.owner = np.arange(self.size)

    @property
    def size(self) -> int:
        return int(self.rows.shape[0])

    def propose(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Moves from the random words ``h`` (``[m]`` or ``[k, m]``, one move per word).

        With ``k`` words per chain the best of the ``k`` proposals is returned (ties: first).

        Returns
        -------
        (row ids ``[m]``, new lengths ``[m]``, new scores ``[m]``)
        """
        table, m = self.table, self.size
        hh = h.reshape(-1, m)
        k = hh.shape[0]
        if k == 1:
            state, lens, base, chk, held, owner = (
                self.kbase + self.len,
                self.len,
                self.base,
                self.chk,
                self.held,
                self.owner,
            )
        else:
            lens, base = np.tile(self.len, k), np.tile(self.base, k)
            state = np.tile(self.kbase, k) + lens
            chk = (self.chk[None, :] + m * np.arange(k)[:, None]).ravel()
            held, owner = np.tile(self.held, k), np.tile(self.owner, k)
        hf = hh.ravel()
        state *= _SLOTS
        ks = state + (hf & np.uint64(_SLOTS - 1)).astype(np.intp)
        r16 = ((hf >> np.uint64(8)) & np.uint64(0xFFFF)).astype(np.int64)
        row = np.take(self.slot_off, ks) + ((r16 * np.take(self.slot_cnt, ks)) >> 16)
        new_len = lens + np.take(table.dlen, row)
        src = np.take(self.src_t, row, axis=1)
        src *= m
        src += owner
        cols = np.take(self.pt, src)
        s = self.scorer(base, chk, held, cols, new_len)
        if k == 1:
            return row, new_len, s
        pick = s.reshape(k, m).argmax(axis=0) * m + self.owner
        return row[pick], new_len[pick], s[pick]

    def apply(self, who: np.ndarray, row: np.ndarray, new_len: np.ndarray, s: np.ndarray) -> None:
        """Move chains ``who`` by their table rows ``row`` (already restricted to ``who``)."""
        width, m = self.pt.shape
        src = np.take(self.table.rows_t[:width], row, axis=1)
        src *= m
        src += who
        self.pt[:, who] = np.take(self.pt, src)
        self.len[who] = new_len
        self.cur[who] = s

    def set_state(
        self, who: np.ndarray, perm: np.ndarray, lengths: np.ndarray, s: np.ndarray
    ) -> None:
        self.pt[:, who] = perm.T
        self.len[who] = lengths
        self.cur[who] = s

    def take(self, keep: np.ndarray) -> None:
        self.rows, self.key, self.kbase = self.rows[keep], self.key[keep], self.kbase[keep]
        self.pt = np.ascontiguousarray(self.pt[:, keep])
        self.len, self.cur = self.len[keep], self.cur[keep]
        self._index()


def _log_uniform(h: np.ndarray) -> np.ndarray:
    u = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    return np.log(u)


def _counter(k: int) -> np.uint64:
    return np.uint64((k * _GOLDEN_INT) & _MASK64)


# --------------------------------------------------------------------------------------------
# the annealer
# --------------------------------------------------------------------------------------------


def _calibrate_t0(
    prep: Prepared,
    table: MoveTable,
    slots: np.ndarray,
    keys: np.ndarray,
    rows: np.ndarray,
    perm: np.ndarray,
    lengths: np.ndarray,
    scores: np.ndarray,
    samples: int,
    acceptance: float,
) -> tuple[np.ndarray, int]:
    """Per-customer T0 from ``samples`` moves proposed from the start states of ``rows``."""
    n = perm.shape[0]
    if n == 0:
        return np.zeros(0), 0
    rep = np.repeat(np.arange(n), samples)
    ctr = _CALIBRATION + np.tile(np.arange(samples, dtype=np.uint64), n)
    chains = _Chains(prep, table, slots, rows[rep], perm[rep], lengths[rep], scores[rep], keys[rep])
    _, _, s = chains.propose(mix64(keys[rep] + ctr * _GOLDEN))
    d = s - scores[rep]
    worse = d < 0
    sums = np.bincount(rep, weights=np.where(worse, -d, 0.0), minlength=n)
    counts = np.bincount(rep, weights=worse.astype(np.float64), minlength=n)
    mean_bad = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # fallback: a tenth of the customer's typical |first-step value| over its candidates
    first = np.abs(prep.values.reshape(prep.n, 1 + prep.p, prep.p)[rows, 0])
    cand = prep.cand[rows]
    typical = np.where(cand, first, 0.0).sum(1) / np.maximum(cand.sum(1), 1)
    fallback = np.where(typical > 0, 0.1 * typical, 1.0)
    t0 = np.where(np.isfinite(mean_bad), mean_bad, fallback) / -math.log(acceptance)
    return t0, rep.size


def anneal(
    problem: JourneyProblem,
    *,
    schedule: str = "geometric",
    schedule_params: Mapping[str, Any] | None = None,
    t0: float | str = "auto",
    t0_acceptance: float = 0.9,
    iters: int = 500,
    chain_factor: float | str | None = "auto",
    proposals: int = 1,
    restarts: int = 1,
    stall: int | None = None,
    reheat: float = 1.0,
    moves: Mapping[str, float] | None = None,
    init: str | np.ndarray = "lookahead",
    polish: bool = True,
    pool: int | None = None,
    pool_rounds: int = 8,
    pool_walk: bool = False,
    pool_units: int = 8,
    beam: int = 32,
    bound: bool = True,
    rng: np.random.Generator | int | None = None,
    batch_size: int = 65536,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    callback_every: int = 10,
) -> JourneyResult:
    """Optimize every customer's journey by simulated annealing.

    Parameters
    ----------
    problem
        The problem.
    schedule
        Temperature schedule name (:data:`core.solvers.schedules.SCHEDULES`).
    schedule_params
        Its parameters. ``steps`` defaults to each customer's run length, so ``geometric``
        (``alpha = final_ratio ** (1 / steps)``), ``linear``, ``lundy-mees`` and ``adaptive``
        span one run whatever its length.
    t0
        Initial temperature (opportunity units), or ``"auto"``: per customer, so that an average
        worsening move from the start is accepted with probability ``t0_acceptance``.
    t0_acceptance
        Target acceptance of the average worsening move for ``t0="auto"``.
    iters
        Maximum iterations per run.
    chain_factor
        Chain length proportional to the neighbourhood: a customer's run lasts
        ``min(iters, max(20, ceil(chain_factor * N)))`` iterations, ``N`` the largest number of
        moves of any state of that customer (few candidates, short runs). None: ``iters`` for all.
        ``"auto"`` (default): 1 when the exact pool search follows (it, not the chain, settles
        the last details), 2 without it (``pool=0`` or ``pool_rounds=0``: the schedule alone).
        Measured on 7,043 full-catalog customers: 1 instead of 2 saves a quarter of the time at
        the same 100% optimum with the pool search; alone the chains reach 73% vs 77%.
    proposals
        Moves proposed per chain and iteration; the best of them faces the Metropolis test
        (1: classic simulated annealing).
    restarts
        Reheats after the first run (each restarts from the customer's best at ``reheat * T0``).
    stall
        End a customer's run once it is frozen: this many consecutive iterations without an
        accepted move (None: never; runs then last ``iters``).
    reheat
        Temperature factor of the restarts, relative to ``T0``.
    moves
        Weights of the move types (:data:`MOVES`); unavailable moves are skipped.
    init
        ``"lookahead"`` (default: the best of greedy, :func:`lookahead_start`,
        :func:`walk_start` and, with ``beam``, :func:`beam_start`), ``"greedy"``, ``"empty"`` or
        a feasible journeys array ``[n, width]``.
    polish
        Finish with steepest-ascent local search from the best journey (skipped for the
        customers the pool search covers completely: at most ``pool`` candidates).
    pool
        Products in the exact pool search that ends the run (:func:`pool_search`): the best
        journey's products plus the best-connected unused candidates, optimized by Held-Karp over
        that pool. None (default): the maximum journey length plus 4 (9 for the seed and full
        catalogs, 10 for journeys of 6). 0 turns it off. A customer with at most ``pool``
        candidates is solved exactly. Runs when ``iters > 0`` or ``polish``.
    pool_rounds
        Maximum ranked-window pool-search rounds per customer (each with a new pool).
    pool_units
        Maximum prerequisite-unit rounds per customer in each pool search: pools seeded with an
        unused candidate that other candidates require (a base service) plus the candidates
        that connect best to the journey and it (its add-ons), which ranked windows rarely
        hold together (:func:`pool_search`). 0 turns them off.
    pool_walk
        Also run the pool search from the walk start (:func:`walk_start`) for the customers with
        more than ``pool`` candidates that are not certified optimal, and keep the better journey
        (a second, differently placed pool: diversification at the cost of a second search).
        Default False: with the beam start it adds nothing measurable (it was True before).
    beam
        Width of the beam search start (:func:`beam_start`) of ``init="lookahead"``: partial
        journeys kept per step, ranked by value so far plus an admissible bound of the rest, one
        per (set offered, last product). It runs only for customers with more candidates than
        the pool search solves exactly (more than ``pool``, or every customer with at least two
        candidates when the pool search is off), at about ``beam * K * length`` children per
        customer. 0 turns it off.
    bound
        Stop annealing (and polishing) a customer once its best journey reaches the upper bound
        of :func:`walk_start`: it is then provably optimal. Customers whose start reaches it are
        not annealed at all.
    rng
        Seed (int), Generator (an int seed is drawn from it) or None (fresh entropy). The seed used
        is stored in the result.
    batch_size
        Customers per batch (memory only: results do not depend on it).
    callback
        Called every ``callback_every`` iterations with a dict (``batch``, ``n_batches``,
        ``iteration``, ``iterations``, ``customers_done``, ``n_customers``, ``best_mean``,
        ``current_mean``, ``temperature``, ``acceptance_rate``, ``active``; means over the
        current batch); returning True stops annealing (the customers not annealed yet keep their
        polished start journey).
    callback_every
        Iterations between callback calls.

    Returns
    -------
    JourneyResult
        ``trace`` holds per-iteration population means.

    Examples
    --------
    >>> from core.journeys import structured_instance
    >>> pb = structured_instance(50, "seed", rng=1)
    >>> res = anneal(pb, rng=0)
    >>> res.journeys.shape
    (50, 5)
    """
    t_total = time.perf_counter()
    if not 0.0 < t0_acceptance < 1.0:
        raise OptionError(f"t0_acceptance must be in (0, 1), got {t0_acceptance}")
    if int(iters) < 0 or int(restarts) < 0:
        raise OptionError("iters and restarts must be >= 0")
    if stall is not None and int(stall) < 1:
        raise OptionError(f"stall must be >= 1 or None, got {stall}")
    if int(batch_size) < 1:
        raise OptionError(f"batch_size must be >= 1, got {batch_size}")
    if not reheat > 0:
        raise OptionError(f"reheat must be > 0, got {reheat}")
    if isinstance(t0, str):
        if t0 != "auto":
            raise OptionError(f"t0 must be a number >= 0 or 'auto', got {t0!r}")
    elif not (np.isfinite(t0) and t0 >= 0):
        raise OptionError(f"t0 must be a finite number >= 0 or 'auto', got {t0}")
    if (pool is not None and int(pool) < 0) or int(pool_rounds) < 0:
        raise OptionError(f"pool and pool_rounds must be >= 0, got {pool}, {pool_rounds}")
    if int(beam) < 0:
        raise OptionError(f"beam must be >= 0, got {beam}")
    if int(proposals) < 1:
        raise OptionError(f"proposals must be >= 1, got {proposals}")
    if isinstance(chain_factor, str):
        if chain_factor != "auto":
            raise OptionError(f"chain_factor must be > 0, 'auto' or None, got {chain_factor!r}")
    elif chain_factor is not None and not chain_factor > 0:
        raise OptionError(f"chain_factor must be > 0, 'auto' or None, got {chain_factor}")
    sparams = dict(schedule_params or {})
    schedules.check_params(schedule, {"steps": max(int(iters), 1), **sparams})  # fail early
    weights = _check_moves(moves)
    if isinstance(init, str) and init not in INITS:
        raise OptionError(
            f"init must be one of {', '.join(INITS)} or a journeys array, got {init!r}"
        )
    init_arr = None if isinstance(init, str) else normalize_journeys(problem, init)
    if init_arr is not None and not is_feasible(problem, init_arr).all():
        bad = np.flatnonzero(~is_feasible(problem, init_arr))[:5]
        raise OptionError(f"init journeys are infeasible for customers at rows {bad.tolist()}")
    seed = seed_of(rng)
    n = problem.n_customers
    length = min(problem.max_length, problem.n_products)
    pool_size = length + _POOL_EXTRA if pool is None else int(pool)
    chain: float | None
    if isinstance(chain_factor, str):  # "auto"
        chain = 1.0 if pool_size > 0 and int(pool_rounds) > 0 else 2.0
    else:
        chain = chain_factor
    table = move_table(problem.n_products, length)
    slots = _type_slots(table, weights)
    total_iters = int(iters) * (1 + int(restarts))
    tr = {key: np.zeros(total_iters) for key in ("best", "current", "temp", "active", "accepted")}
    journeys = np.full((n, problem.max_length), -1, dtype=np.int16)
    timing = {
        "prepare": 0.0,
        "start": 0.0,
        "calibrate": 0.0,
        "anneal": 0.0,
        "polish": 0.0,
        "pool": 0.0,
    }
    nfev = 0
    nit = 0
    stopped = False
    n_batches = max(1, -(-n // int(batch_size)))
    for b, lo in enumerate(range(0, n, int(batch_size))):
        idx = slice(lo, min(n, lo + int(batch_size)))
        out = _anneal_batch(
            problem.subset(idx),
            table=table,
            slots=slots,
            seed=seed,
            schedule=schedule,
            sparams=sparams,
            t0=t0,
            t0_acceptance=t0_acceptance,
            iters=0 if stopped else int(iters),
            chain_factor=chain,
            proposals=int(proposals),
            restarts=int(restarts),
            stall=stall,
            reheat=reheat,
            init=init_arr[idx] if init_arr is not None else str(init),
            polish=polish,
            pool=pool_size,
            pool_rounds=int(pool_rounds),
            pool_walk=bool(pool_walk),
            pool_units=int(pool_units),
            beam=int(beam),
            bound=bound,
            trace=tr,
            timing=timing,
            callback=callback,
            callback_every=max(1, int(callback_every)),
            progress={"batch": b, "n_batches": n_batches, "done": lo, "n": n},
        )
        journeys[idx, : out["journeys"].shape[1]] = out["journeys"]
        nfev += out["nfev"]
        nit = max(nit, out["nit"])
        stopped = stopped or out["stopped"]
    trace: dict[str, np.ndarray] = {}
    if nit > 0 and n > 0:
        k = nit
        trace = {
            "iteration": np.arange(1, k + 1),
            "best_mean": tr["best"][:k] / n,
            "current_mean": tr["current"][:k] / n,
            "temperature": tr["temp"][:k] / np.maximum(tr["active"][:k], 1),
            "acceptance_rate": tr["accepted"][:k] / np.maximum(tr["active"][:k], 1),
            "active": tr["active"][:k] / n,
        }
    timing["total"] = time.perf_counter() - t_total
    params = {
        "schedule": schedule,
        "schedule_params": sparams,
        "t0": t0,
        "t0_acceptance": t0_acceptance,
        "iters": int(iters),
        "chain_factor": chain,
        "proposals": int(proposals),
        "restarts": int(restarts),
        "stall": stall,
        "reheat": reheat,
        "moves": weights,
        "init": init if isinstance(init, str) else "array",
        "polish": polish,
        "pool": pool_size,
        "pool_rounds": int(pool_rounds),
        "pool_walk": bool(pool_walk),
        "pool_units": int(pool_units),
        "beam": int(beam),
        "bound": bound,
        "batch_size": int(batch_size),
    }
    message = "stopped by callback" if stopped else "annealing finished"
    return make_result(
        problem,
        journeys,
        solver="anneal",
        params=params,
        nit=nit,
        nfev=nfev,
        seconds=timing,
        message=message,
        trace=trace,
        seed=seed,
    )


def _anneal_batch(
    pb: JourneyProblem,
    *,
    table: MoveTable,
    slots: np.ndarray,
    seed: int,
    schedule: str,
    sparams: dict[str, Any],
    t0: float | str,
    t0_acceptance: float,
    iters: int,
    chain_factor: float | None,
    proposals: int,
    restarts: int,
    stall: int | None,
    reheat: float,
    init: str | np.ndarray,
    polish: bool,
    pool: int,
    pool_rounds: int,
    pool_walk: bool,
    pool_units: int,
    beam: int,
    bound: bool,
    trace: dict[str, np.ndarray],
    timing: dict[str, float],
    callback: Callable[[dict[str, Any]], bool | None] | None,
    callback_every: int,
    progress: dict[str, int],
) -> dict[str, Any]:
    t = time.perf_counter()
    prep = prepare(pb)
    n, le = prep.n, prep.length
    k_cand = prep.cand.sum(axis=1).astype(np.int64)
    width = min(int(max(k_cand.max(initial=0), le, 1)), prep.p)
    keys = customer_keys(pb.ids, seed)
    timing["prepare"] += time.perf_counter() - t

    t = time.perf_counter()
    rows_all = np.arange(n)
    walk: tuple[np.ndarray, ...] | None = None
    if isinstance(init, str):
        if init == "lookahead":
            seqs, lengths = greedy_batch(prep)
            s_best = evaluate(prep, rows_all, seqs, lengths)
            walk = walk_start(prep)
            for other in (lookahead_start(prep), walk[:2]):
                o_perm = initial_perm(prep, *other)
                o_len = other[1]
                # the decoded walk (the rules may drop entries) is the start
                o_seqs = decode(prep, rows_all, o_perm, o_len)
                o_len = (o_seqs >= 0).sum(axis=1)
                s_o = evaluate(prep, rows_all, o_seqs, o_len)
                up = s_o > s_best
                seqs[up], lengths[up], s_best[up] = o_seqs[up], o_len[up], s_o[up]
            # the beam, for the customers the pool search would not solve exactly anyway
            covered = pool if pool > 0 and pool_rounds > 0 and (iters > 0 or polish) else 0
            b_rows = np.flatnonzero(k_cand > max(covered, 1))
            if beam > 0 and b_rows.size:
                b_seqs, b_len, _ = beam_start(prep, b_rows, beam)
                s_b = evaluate(prep, b_rows, b_seqs, b_len)
                up = s_b > s_best[b_rows]
                u = b_rows[up]
                seqs[u], lengths[u], s_best[u] = b_seqs[up], b_len[up], s_b[up]
        elif init == "greedy":
            seqs, lengths = greedy_batch(prep)
        else:
            seqs = np.full((n, le), -1, dtype=np.int64)
            lengths = np.zeros(n, dtype=np.int64)
    else:
        seqs = init.astype(np.int64)
        lengths = (seqs >= 0).cumprod(axis=1).sum(axis=1)
        if lengths.size and lengths.max() > le:
            raise OptionError("init journeys are longer than the number of products")
    perm = initial_perm(prep, seqs, lengths)[:, :width]
    best_perm, best_len = perm.copy(), lengths.copy()
    best = evaluate(prep, rows_all, perm, lengths)
    nfev = n
    # certified optimal once the best reaches the walk bound (rounding slack 1e-9 relative)
    threshold = np.full(n, np.inf)
    if bound and (iters > 0 or polish):
        ub = (walk or walk_start(prep))[2]
        threshold = ub - 1e-9 * (1.0 + np.abs(ub))
    timing["start"] += time.perf_counter() - t

    nit = 0
    stopped = False
    total_iters = iters * (1 + restarts)
    if total_iters > 0 and n > 0:
        # customers with moves; with polish, not those whose start reaches every journey in one
        # move (polish examines that whole neighbourhood, so it finds their optimum)
        kl0 = k_cand * (le + 1) + lengths
        anneal_ok = table.total[kl0] > 0
        if polish:
            anneal_ok &= ~table.complete[kl0]
        anneal_ok &= best < threshold
        act = np.flatnonzero(anneal_ok)
        t = time.perf_counter()
        if t0 == "auto":
            w_t0, used = _calibrate_t0(
                prep,
                table,
                slots,
                keys[act],
                act,
                perm[act],
                lengths[act],
                best[act],
                _CALIBRATION_SAMPLES,
                t0_acceptance,
            )
            nfev += used
        else:
            w_t0 = np.full(act.size, float(t0))
        timing["calibrate"] += time.perf_counter() - t

        t = time.perf_counter()
        ch = _Chains(prep, table, slots, act, perm[act], lengths[act], best[act], keys[act])
        w_best = best[act].copy()
        w_last = np.zeros(act.size, dtype=np.int64)
        w_left = np.full(act.size, restarts, dtype=np.int64)
        w_alive = np.ones(act.size, dtype=bool)
        w_thr = threshold[act]
        if chain_factor is None:
            run = np.full(n, iters, dtype=np.int64)
        else:
            n_moves = np.zeros(prep.p + 1, dtype=np.int64)
            for k in range(prep.p + 1):
                n_moves[k] = table.total[k * (le + 1) : k * (le + 1) + min(k, le) + 1].max()
            run = np.ceil(chain_factor * n_moves[k_cand]).astype(np.int64)
            run = np.clip(run, min(iters, _MIN_RUN), iters)
        w_run = run[act]
        params = dict(sparams)
        params.setdefault("steps", w_run)
        sched = schedules.Schedule(schedule, w_t0, **params)
        frozen_best_sum = float(best.sum() - w_best.sum())  # customers without moves
        ctrs = [
            np.array([_counter(proposals * it + r + 1) for r in range(proposals)])[:, None]
            for it in range(total_iters)
        ]
        for it in range(total_iters):
            if ch.size == 0:
                break
            h = mix64(ch.key[None, :] + ctrs[it])
            row, new_len, s = ch.propose(h)
            h = h[0]
            acc = (s - ch.cur >= sched.t * _log_uniform(h)) & w_alive
            n_alive = int(w_alive.sum())
            temp_sum = float(np.where(w_alive, sched.t, 0.0).sum())  # T used this iteration
            who = np.flatnonzero(acc)
            if who.size:
                ch.apply(who, row[who], new_len[who], s[who])
                w_last[who] = it
            sched.step(acc)
            nfev += n_alive
            imp = np.flatnonzero(ch.cur > w_best)
            if imp.size:
                w_best[imp] = ch.cur[imp]
                best_perm[ch.rows[imp]] = ch.pt[:, imp].T
                best_len[ch.rows[imp]] = ch.len[imp]
            done = sched.k >= w_run
            if stall is not None:
                done |= (it - w_last) >= stall
            if imp.size:
                solved = imp[w_best[imp] >= w_thr[imp]]
                done[solved] = True
                w_left[solved] = 0
            done &= w_alive
            if done.any():
                re = done & (w_left > 0)
                if re.any():
                    r_idx = np.flatnonzero(re)
                    src = ch.rows[r_idx]
                    ch.set_state(r_idx, best_perm[src], best_len[src], w_best[r_idx])
                    w_left[r_idx] -= 1
                    w_last[r_idx] = it
                    sched.restart(re, reheat * w_t0[r_idx])
                w_alive &= ~(done & ~re)
            nit = it + 1
            alive_cur = float(np.where(w_alive, ch.cur, w_best).sum())
            trace["best"][it] += frozen_best_sum + float(w_best.sum())
            trace["current"][it] += frozen_best_sum + alive_cur
            trace["temp"][it] += temp_sum
            trace["active"][it] += n_alive
            trace["accepted"][it] += who.size
            if callback is not None and (it + 1) % callback_every == 0:
                info = {
                    "batch": progress["batch"],
                    "n_batches": progress["n_batches"],
                    "iteration": it + 1,
                    "iterations": total_iters,
                    "customers_done": progress["done"],
                    "n_customers": progress["n"],
                    "best_mean": (frozen_best_sum + float(w_best.sum())) / n,
                    "current_mean": (frozen_best_sum + alive_cur) / n,
                    "temperature": temp_sum / max(n_alive, 1),
                    "acceptance_rate": who.size / max(n_alive, 1),
                    "active": n_alive / n,
                }
                if callback(info):
                    stopped = True
                    break
            # compact the working set once a quarter of it is frozen
            n_dead = w_alive.size - int(w_alive.sum())
            if n_dead and n_dead * 4 >= w_alive.size:
                keep = np.flatnonzero(w_alive)
                frozen_best_sum += float(w_best[~w_alive].sum())
                ch.take(keep)
                w_best, w_last, w_left = w_best[keep], w_last[keep], w_left[keep]
                w_t0, w_alive, w_run = w_t0[keep], w_alive[keep], w_run[keep]
                w_thr = w_thr[keep]
                sched.take(keep)
        if nit < total_iters:  # customers frozen early carry their final values forward
            final = frozen_best_sum + float(w_best.sum())
            trace["best"][nit:] += final
            trace["current"][nit:] += final
        timing["anneal"] += time.perf_counter() - t

    if polish and n > 0:
        t = time.perf_counter()
        best = evaluate(prep, rows_all, best_perm, best_len)  # the annealed bests' scores
        skip = best >= threshold  # certified optimal ones need no polish
        if pool > 0 and pool_rounds > 0:
            # nor those whose candidates all fit the pool: its first DP covers every journey
            skip |= k_cand <= pool
        todo = np.flatnonzero(~skip)
        if todo.size:
            perm_p, len_p, _, used = local_search(
                prep, table, todo, best_perm[todo], best_len[todo], best[todo]
            )
            best_perm[todo], best_len[todo] = perm_p, len_p
            nfev += used
        timing["polish"] += time.perf_counter() - t
    out = decode(prep, rows_all, best_perm, best_len)
    if pool > 0 and pool_rounds > 0 and n > 0 and (iters > 0 or polish):
        t = time.perf_counter()
        o_len = (out >= 0).sum(axis=1)
        s_out = evaluate(prep, rows_all, out, o_len)
        todo = np.flatnonzero(s_out < threshold)  # certified optimal ones need no search
        if todo.size:
            seq_p, _, s_p, used = pool_search(
                prep,
                todo,
                out[todo],
                o_len[todo],
                s_out[todo],
                pool=pool,
                rounds=pool_rounds,
                unit_rounds=pool_units,
            )
            out[todo] = seq_p
            nfev += used
            # a second pool search from the walk start, for the customers the first could not
            # have solved exactly (more candidates than the pool) and not certified optimal
            walk_units = min(_WALK_UNITS, pool_units)
            big = todo[(k_cand[todo] > pool) & (s_p < threshold[todo])] if pool_walk else todo[:0]
            if big.size:
                walk = walk or walk_start(prep)
                w_seq = decode(prep, big, walk[0][big], walk[1][big])
                w_len = (w_seq >= 0).sum(axis=1)
                w_s = evaluate(prep, big, w_seq, w_len)
                seq_w, _, s_w, used = pool_search(
                    prep,
                    big,
                    w_seq,
                    w_len,
                    w_s,
                    pool=pool,
                    rounds=pool_rounds,
                    unit_rounds=walk_units,
                )
                nfev += used + big.size
                up = s_w > s_p[np.searchsorted(todo, big)]
                out[big[up]] = seq_w[up]
        timing["pool"] += time.perf_counter() - t
    return {"journeys": out, "nfev": nfev, "nit": nit, "stopped": stopped}
