"""The search state of the local-search solvers and its move neighbourhood.

State. A customer's state is a permutation of its products, candidates first
(:func:`initial_perm`), and a length ``l``: the journey is the first ``l`` entries, the rest is
the pool of unused candidates (then the products that are not candidates). Every move is a
fixed rearrangement of positions, so all moves of all customers are applied with one gather
from a precomputed :class:`MoveTable`.

Moves (:data:`MOVES`):

* ``swap``     exchange two offers of the journey,
* ``insert``   move one offer to another position of the journey,
* ``reverse``  reverse a segment (>= 3 offers) of the journey,
* ``replace``  replace an offer by an unused candidate,
* ``extend``   insert an unused candidate at any position (when ``l < max_length``),
* ``shorten``  drop an offer (when ``l > 0``).

Used by the annealer (:mod:`core.solvers.anneal`) and by the local search
(:mod:`core.solvers._local_search`) of the ``greedy+ls`` baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.journeys import Prepared

MOVES: tuple[str, ...] = ("swap", "insert", "reverse", "replace", "extend", "shorten")


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


def initial_perm(prep: Prepared, seqs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """int64 ``[n, P]``: the journey first, then unused candidates, then the other products."""
    n, p = prep.n, prep.p
    key = np.where(prep.cand, p + np.arange(p)[None, :], 3 * p + np.arange(p)[None, :])
    rows = np.arange(n)
    for t in range(seqs.shape[1]):
        live = t < lengths
        key[rows[live], seqs[live, t]] = t
    return np.argsort(key, axis=1, kind="stable").astype(np.int64)
