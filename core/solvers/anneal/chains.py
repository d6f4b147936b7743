"""The annealer's Markov chains: one per customer, advanced together, in column layout.

Randomness. Customer ``c`` draws one 64-bit number per iteration ``k``:
``mix64(key_c + k * 0x9E3779B97F4A7C15)`` (SplitMix64), with ``key_c`` derived from
(seed, customer id). The move type uses 8 bits (one of 256 equally likely slots,
:func:`type_slots`), the move within its type 16 bits (multiply-shift), the acceptance uniform
the top 32 bits. Temperatures, stall counters and restarts are per customer too, so a
customer's result depends only on the seed, its id and its own data, never on the batch it is
processed in.

Acceptance. Metropolis: accept when ``delta >= T * ln(u)``, ``u`` uniform in (0, 1) (equivalent
to ``u < exp(delta / T)``; improvements and ties are always accepted). With ``proposals=k``
each iteration draws ``k`` moves and submits the best to the test.

Temperature. ``t0="auto"`` calibrates each customer's initial temperature from 8 moves sampled
at the start (:func:`calibrate_t0`) so that an average worsening move is accepted with
probability ``t0_acceptance``: ``T0 = mean(-delta over worsening moves) / -ln(t0_acceptance)``.

Run length. A customer's run lasts ``min(iters, max(20, chain_factor * N))`` iterations, ``N``
the size of its largest move neighbourhood, or until it is frozen (``stall`` iterations without
an accepted move), or until its best reaches the walk bound (it is then optimal); it then
reheats to ``reheat * T0`` and restarts from its best while ``restarts`` remain
(:func:`run_chains`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np

from core.common.rng import mix64
from core.journeys import Prepared
from core.solvers._moves import MOVES, MoveTable
from core.solvers._scorer import Scorer
from core.solvers.anneal.options import AnnealOptions
from core.solvers.schedules import Schedule

_SLOTS = 256
_MIN_RUN = 20  # shortest run with chain_factor
_CALIBRATION_SAMPLES = 8  # moves sampled per customer for t0="auto"
_GOLDEN_INT = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(_GOLDEN_INT)
_CALIBRATION = np.uint64(1 << 40)  # counter offset of the calibration draws


def type_slots(table: MoveTable, weights: Mapping[str, float]) -> np.ndarray:
    """int64 ``[(P+1)*(length+1), 256]``: move type of each of 256 equally likely slots."""
    w = np.array([float(weights.get(m, 0.0)) for m in MOVES])
    avail = table.tcnt.reshape(-1, len(MOVES)) > 0
    ww = np.where(avail, w[None, :], 0.0)
    tot = ww.sum(axis=1, keepdims=True)
    cum = np.cumsum(ww, axis=1) / np.where(tot > 0, tot, 1.0)
    centers = (np.arange(_SLOTS) + 0.5) / _SLOTS
    slots = (centers[None, :, None] >= cum[:, None, :]).sum(axis=2)
    return np.minimum(slots, len(MOVES) - 1).astype(np.int64)


class Chains:
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
    """``ln(u)`` of the uniform in (0, 1) made of each word's top 32 bits."""
    u = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    return np.log(u)


def _counter(k: int) -> np.uint64:
    """The stream offset of draw ``k``: ``k * golden`` modulo 2**64."""
    return np.uint64((k * _GOLDEN_INT) & _MASK64)


def calibrate_t0(
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
    chains = Chains(prep, table, slots, rows[rep], perm[rep], lengths[rep], scores[rep], keys[rep])
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


def run_chains(
    prep: Prepared,
    opts: AnnealOptions,
    table: MoveTable,
    slots: np.ndarray,
    keys: np.ndarray,
    *,
    perm: np.ndarray,
    lengths: np.ndarray,
    scores: np.ndarray,
    threshold: np.ndarray,
    best_perm: np.ndarray,
    best_len: np.ndarray,
    trace: dict[str, np.ndarray],
    timing: dict[str, float],
    progress: dict[str, int],
) -> tuple[int, int, bool]:
    """Anneal every customer of a batch from its start state; keep each one's best.

    Parameters
    ----------
    prep
        The prepared batch.
    opts
        Resolved options (:meth:`AnnealOptions.resolved`).
    table, slots
        The move table and its move-type slots (:func:`type_slots`).
    keys
        uint64 ``[n]``: the customers' random-stream keys.
    perm, lengths, scores
        Start states (``[n, width]`` permutations), their lengths and scores.
    threshold
        float64 ``[n]``: a customer whose best reaches it is optimal and stops.
    best_perm, best_len
        Best states so far, updated in place.
    trace
        Per-iteration sums (``best``, ``current``, ``temp``, ``active``, ``accepted``), added to.
    timing
        Seconds, added to (``calibrate``, ``anneal``).
    progress
        ``batch``, ``n_batches``, ``done`` (customers before this batch) and ``n`` for the
        callback.

    Returns
    -------
    (journey evaluations, iterations run, stopped by the callback)
    """
    n, le = prep.n, prep.length
    k_cand = prep.cand.sum(axis=1).astype(np.int64)
    iters, restarts, proposals = opts.iters, opts.restarts, opts.proposals
    callback, callback_every = opts.callback, max(1, opts.callback_every)
    nfev = 0
    nit = 0
    stopped = False
    total_iters = iters * (1 + restarts)
    if total_iters <= 0 or n <= 0:
        return nfev, nit, stopped
    # customers with moves; with polish, not those whose start reaches every journey in one
    # move (polish examines that whole neighbourhood, so it finds their optimum)
    kl0 = k_cand * (le + 1) + lengths
    anneal_ok = table.total[kl0] > 0
    if opts.polish:
        anneal_ok &= ~table.complete[kl0]
    anneal_ok &= scores < threshold
    act = np.flatnonzero(anneal_ok)
    t = time.perf_counter()
    if isinstance(opts.t0, str):  # "auto" (the only string the options allow)
        w_t0, used = calibrate_t0(
            prep,
            table,
            slots,
            keys[act],
            act,
            perm[act],
            lengths[act],
            scores[act],
            _CALIBRATION_SAMPLES,
            opts.t0_acceptance,
        )
        nfev += used
    else:
        w_t0 = np.full(act.size, float(opts.t0))
    timing["calibrate"] += time.perf_counter() - t

    t = time.perf_counter()
    ch = Chains(prep, table, slots, act, perm[act], lengths[act], scores[act], keys[act])
    w_best = scores[act].copy()
    w_last = np.zeros(act.size, dtype=np.int64)
    w_left = np.full(act.size, restarts, dtype=np.int64)
    w_alive = np.ones(act.size, dtype=bool)
    w_thr = threshold[act]
    chain_factor = opts.chain_factor
    assert not isinstance(chain_factor, str), "resolve the options first"
    if chain_factor is None:
        run = np.full(n, iters, dtype=np.int64)
    else:
        n_moves = np.zeros(prep.p + 1, dtype=np.int64)
        for k in range(prep.p + 1):
            n_moves[k] = table.total[k * (le + 1) : k * (le + 1) + min(k, le) + 1].max()
        run = np.ceil(chain_factor * n_moves[k_cand]).astype(np.int64)
        run = np.clip(run, min(iters, _MIN_RUN), iters)
    w_run = run[act]
    params = dict(opts.schedule_params or {})
    params.setdefault("steps", w_run)
    sched = Schedule(opts.schedule, w_t0, **params)
    frozen_best_sum = float(scores.sum() - w_best.sum())  # customers without moves
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
        if opts.stall is not None:
            done |= (it - w_last) >= opts.stall
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
                sched.restart(re, opts.reheat * w_t0[r_idx])
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
    return nfev, nit, stopped
