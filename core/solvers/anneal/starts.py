"""Start journeys of the annealer: greedy rollouts, the walk relaxation, a beam search.

The default start (``init="lookahead"``, :func:`start_journeys`) is the best of greedy
(:func:`core.journeys.greedy_batch`), greedy rollouts from every first offer cut at their best
prefix (:func:`lookahead_start`), the best walk of a dynamic program that lets products repeat,
repaired (:func:`walk_start`, whose value also bounds every journey's score from above), and,
for customers with more candidates than the pool search covers exactly, a beam search over all
their candidates (:func:`beam_start`).
"""

from __future__ import annotations

import numpy as np

from core.common.errors import OptionError
from core.journeys import Prepared, decode, evaluate, greedy_batch
from core.solvers._moves import initial_perm
from core.solvers.anneal.options import AnnealOptions

_WALK_MAX_BASES = 3  # the walk remembers which prerequisite products it used when <= this many
_BEAM_BUDGET = 1 << 20  # beam children per chunk of customers


def start_journeys(
    prep: Prepared, opts: AnnealOptions, init: np.ndarray | None, k_cand: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...] | None]:
    """Every customer's start journey, as ``opts.init`` asks.

    Parameters
    ----------
    prep
        The prepared batch.
    opts
        Resolved options (:meth:`AnnealOptions.resolved`): ``init``, and for ``"lookahead"``
        ``beam`` and what decides whether the pool search covers a customer (``pool``,
        ``pool_rounds``, ``iters``, ``polish``).
    init
        The batch's rows of a journeys array given as ``init`` (None for a named start).
    k_cand
        int64 ``[n]``: candidates per customer.

    Returns
    -------
    (journeys int64 [n, >= length] padded -1, lengths int64 [n], the :func:`walk_start` of
    the lookahead start or None)
    """
    n, le = prep.n, prep.length
    rows_all = np.arange(n)
    walk: tuple[np.ndarray, ...] | None = None
    if init is None:
        if opts.init == "lookahead":
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
            pool = opts.pool or 0
            runs = pool > 0 and opts.pool_rounds > 0 and (opts.iters > 0 or opts.polish)
            covered = pool if runs else 0
            b_rows = np.flatnonzero(k_cand > max(covered, 1))
            if opts.beam > 0 and b_rows.size:
                b_seqs, b_len, _ = beam_start(prep, b_rows, opts.beam)
                s_b = evaluate(prep, b_rows, b_seqs, b_len)
                up = s_b > s_best[b_rows]
                u = b_rows[up]
                seqs[u], lengths[u], s_best[u] = b_seqs[up], b_len[up], s_b[up]
        elif opts.init == "greedy":
            seqs, lengths = greedy_batch(prep)
        else:
            seqs = np.full((n, le), -1, dtype=np.int64)
            lengths = np.zeros(n, dtype=np.int64)
    else:
        seqs = init.astype(np.int64)
        lengths = (seqs >= 0).cumprod(axis=1).sum(axis=1)
        if lengths.size and lengths.max() > le:
            raise OptionError("init journeys are longer than the number of products")
    return seqs, lengths, walk


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
