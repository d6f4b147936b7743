"""The annealer's exact intensification: Held-Karp over small pools of products.

:func:`pool_search` finds each customer's best journey over a pool of products (its journey's
products plus the best-connected unused candidates, or a prerequisite unit: a base service and
its add-ons) with the DP kernel of :mod:`core.solvers._dp`; :func:`pool_phase` runs it at the
end of an annealing run.
"""

from __future__ import annotations

import numpy as np

from core.journeys import Prepared, decode, evaluate
from core.solvers._dp import chunks_by_size, local_bits, solve_chunk
from core.solvers.anneal.options import AnnealOptions
from core.solvers.anneal.starts import walk_start

_DP_BUDGET = 1 << 20  # DP values per pool-search chunk (memory stays cache-friendly)
_WALK_UNITS = 2  # unit rounds of the second pool search (from the walk start)


def pool_phase(
    prep: Prepared,
    opts: AnnealOptions,
    journeys: np.ndarray,
    threshold: np.ndarray,
    k_cand: np.ndarray,
    walk: tuple[np.ndarray, ...] | None,
) -> int:
    """Pool searches from the annealed journeys; ``journeys`` is improved in place.

    Every customer below its ``threshold`` (the walk bound: at it a journey is certified
    optimal) gets :func:`pool_search` with ``opts.pool`` products, ``opts.pool_rounds`` ranked
    rounds and ``opts.pool_units`` unit rounds; with ``opts.pool_walk`` the customers with more
    candidates than the pool that are still below it get a second search from the walk start
    (``walk``, computed when None) and keep the better journey.

    Returns
    -------
    int
        Journey evaluations.
    """
    pool = opts.pool or 0
    rows_all = np.arange(prep.n)
    nfev = 0
    o_len = (journeys >= 0).sum(axis=1)
    s_out = evaluate(prep, rows_all, journeys, o_len)
    todo = np.flatnonzero(s_out < threshold)  # certified optimal ones need no search
    if todo.size:
        seq_p, _, s_p, used = pool_search(
            prep,
            todo,
            journeys[todo],
            o_len[todo],
            s_out[todo],
            pool=pool,
            rounds=opts.pool_rounds,
            unit_rounds=opts.pool_units,
        )
        journeys[todo] = seq_p
        nfev += used
        # a second pool search from the walk start, for the customers the first could not
        # have solved exactly (more candidates than the pool) and not certified optimal
        walk_units = min(_WALK_UNITS, opts.pool_units)
        big = todo[(k_cand[todo] > pool) & (s_p < threshold[todo])] if opts.pool_walk else todo[:0]
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
                rounds=opts.pool_rounds,
                unit_rounds=walk_units,
            )
            nfev += used + big.size
            up = s_w > s_p[np.searchsorted(todo, big)]
            journeys[big[up]] = seq_w[up]
    return nfev


def _pool_dp(
    prep: Prepared, rows: np.ndarray, in_pool: np.ndarray, blk: np.ndarray
) -> tuple[np.ndarray, int]:
    """Best journeys over each row's pool (bool ``[m, P]``) by the Held-Karp DP
    (:mod:`core.solvers._dp`): int64 ``[m, length]`` (global products, padded -1) and evaluations.

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
    for k, layers, g in chunks_by_size(size, le, _DP_BUDGET):
        loc = np.sort(np.where(in_pool[g], ar[None, :], p), axis=1)[:, :k]
        pool_bits = np.left_shift(np.int64(1), loc).sum(axis=1)
        unmet = req[loc] & ~held[g][:, None]
        r_loc = local_bits(unmet, loc)
        outside = (unmet & ~pool_bits[:, None]) != 0
        r_loc |= np.where(outside, np.left_shift(np.int64(1), np.arange(k)), 0)
        seq, used = solve_chunk(
            layers,
            k,
            blk[g[:, None], 0, loc],
            blk[g[:, None, None], 1 + loc[:, :, None], loc[:, None, :]].reshape(g.size, k * k),
            r_loc,
            local_bits(excl[loc], loc),
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
    unmet prerequisite is outside the pool is not used) is found by the exact solver's DP
    (:mod:`core.solvers._dp`) restricted to the pool, and replaces the journey when it scores
    higher.
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
