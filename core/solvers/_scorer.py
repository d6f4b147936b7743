"""Fast scoring of search states: the hot loop's form of :func:`core.journeys.evaluate_cols`."""

from __future__ import annotations

import numpy as np

from core.journeys import Prepared


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
