"""Steepest-ascent local search over the move neighbourhood, vectorized across customers.

The annealer's polish (:mod:`core.solvers.anneal`) and the ``greedy+ls`` baseline
(:mod:`core.solvers.baselines`) both run it.
"""

from __future__ import annotations

import numpy as np

from core.journeys import Prepared
from core.solvers._moves import MoveTable
from core.solvers._scorer import Scorer


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
