"""The Held-Karp kernel: dynamic programming over (subset, last product), vectorized.

Shared by the exact solver (:mod:`core.solvers.exact`, over each customer's candidates) and the
annealer's pool search (:mod:`core.solvers.anneal.pool`, over a small pool of products). Both
map each customer's products to local indices ``0..K-1``, express the rules as bitmasks over
those local indices (:func:`local_bits`) and call :func:`solve_chunk` on a chunk of customers
with the same ``K`` (:func:`chunks_by_size` forms the chunks); the state enumeration (:func:`state_layers`) depends only on ``K`` and the
maximum length and is cached.

The recursion, with ``w_m = gamma**(m-1)``:

    V(S, j) = max over i in S \\ {j} of V(S \\ {j}, i) + w_|S| * O[c, 1 + i, j]
    V({j}, j) = first[c, j]

A state is feasible when ``j``'s prerequisites are held or in ``S \\ {j}`` and ``j`` excludes
nothing in ``S \\ {j}``; infeasible states are -inf. Ties are broken deterministically (shorter
journeys first, then the order of the state enumeration).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True, eq=False)
class Layer:
    """The DP states with ``m`` products: one entry per (subset of size ``m``, last product)."""

    masks: np.ndarray  # int64 [C]: subsets of size m, ascending
    last: np.ndarray  # int64 [M]: local product j of each state (subset, j), ordered (mask, j)
    pred_mask: np.ndarray  # int64 [M]: subset without j
    pred: np.ndarray  # int64 [M, m-1]: index in layer m-1 of (pred_mask, i), i ascending
    trans: np.ndarray  # int64 [M, m-1]: i * K + j


@lru_cache(maxsize=8)
def state_layers(k: int, length: int) -> tuple[Layer, ...]:
    """The state layers ``m = 1 .. min(k, length)`` for ``k`` local products (cached)."""
    layers: list[Layer] = []
    prev_masks = np.zeros(1, dtype=np.int64)
    for m in range(1, min(k, length) + 1):
        combos = np.array(list(itertools.combinations(range(k), m)), dtype=np.int64)
        masks = np.left_shift(np.int64(1), combos).sum(axis=1)
        order = np.argsort(masks, kind="stable")
        combos, masks = combos[order], masks[order]
        last = combos.reshape(-1)
        pred_mask = np.repeat(masks, m) - np.left_shift(np.int64(1), last)
        if m == 1:
            pred = np.zeros((last.size, 0), dtype=np.int64)
            trans = np.zeros((last.size, 0), dtype=np.int64)
        else:
            # for each (subset, position p): the other members, ascending
            keep = ~np.eye(m, dtype=bool)  # [p, q]: q != p
            wide = np.broadcast_to(combos[:, None, :], (combos.shape[0], m, m))
            others = wide[:, keep].reshape(-1, m - 1)
            pos = np.searchsorted(prev_masks, pred_mask)
            pred = pos[:, None] * (m - 1) + np.arange(m - 1)[None, :]
            trans = others * k + last[:, None]
        layers.append(Layer(masks, last, pred_mask, pred, trans))
        prev_masks = masks
    return tuple(layers)


def chunks_by_size(
    sizes: np.ndarray, length: int, budget: int, chunk: int | None = None
) -> Iterator[tuple[int, tuple[Layer, ...], np.ndarray]]:
    """The customers with the same number ``k >= 1`` of local products, in chunks.

    Yields ``(k, state_layers(k, length), rows)`` for each ``k`` in ascending order; ``rows`` are
    indices into ``sizes``, at most ``chunk`` of them or, without ``chunk``, as many as keep one
    layer of DP values under about ``budget``. Customers with ``k = 0`` are skipped.
    """
    for k in np.unique(sizes):
        k = int(k)
        if k == 0:
            continue
        layers = state_layers(k, length)
        step = chunk or max(1, budget // max(lay.last.size for lay in layers))
        members = np.flatnonzero(sizes == k)
        for lo in range(0, members.size, step):
            yield k, layers, members[lo : lo + step]


def n_states(k: int, length: int) -> int:
    """Number of DP states ``(S, j)`` for ``k`` candidates and journeys up to ``length``."""
    return sum(math.comb(k, m) * m for m in range(1, min(k, length) + 1))


def int_bits(matrix: np.ndarray) -> np.ndarray:
    """int64 bitmask of each row of a bool ``[..., P]`` array (``P <= 63``)."""
    m = np.asarray(matrix, dtype=bool)
    w = np.left_shift(np.int64(1), np.arange(m.shape[-1], dtype=np.int64))
    return np.where(m, w, 0).sum(axis=-1).astype(np.int64)


def local_bits(global_bits: np.ndarray, loc: np.ndarray) -> np.ndarray:
    """Map global product bitmasks ``[m, K]`` to bitmasks over each customer's local indices."""
    k = loc.shape[1]
    hit = (global_bits[:, :, None] >> loc[:, None, :]) & 1  # [m, a, b]
    return (hit << np.arange(k, dtype=np.int64)[None, None, :]).sum(axis=2)


def solve_chunk(
    layers: tuple[Layer, ...],
    k: int,
    first: np.ndarray,
    trans: np.ndarray,
    req: np.ndarray,
    excl: np.ndarray,
    weights: list[float],
    forced: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    """Best journeys of a chunk of customers with ``k`` local products each.

    Parameters
    ----------
    layers
        :func:`state_layers` ``(k, length)``.
    k
        Local products per customer.
    first
        float64 ``[mc, k]``: first-step values.
    trans
        float64 ``[mc, k * k]``: ``trans[c, i * k + j]`` the value of ``j`` right after ``i``.
    req, excl
        int64 ``[mc, k]``: local bitmasks of the unmet prerequisites and of the exclusions.
    weights
        ``gamma**t`` for ``t = 0 .. length - 1``.
    forced
        Optional int ``[mc]``: the local product every journey must start with (-1: none can,
        the journey is empty).

    Returns
    -------
    (journeys int64 [mc, len(layers)] of local indices padded -1, DP transitions evaluated)
    """
    mc = first.shape[0]
    rows = np.arange(mc)
    lay0 = layers[0]
    v = np.where(req[:, lay0.last] == 0, first[:, lay0.last], -np.inf)
    if forced is not None:
        v = np.where(lay0.last[None, :] == forced[:, None], v, -np.inf)
        best_val = np.full(mc, -np.inf)
    else:
        best_val = np.zeros(mc)
    best_layer = np.zeros(mc, dtype=np.int64)
    best_state = np.zeros(mc, dtype=np.int64)
    args: list[np.ndarray] = [np.zeros((mc, 0), dtype=np.int8)]
    nfev = mc * lay0.last.size

    def take_best(vals: np.ndarray, m: int) -> None:
        s = vals.argmax(axis=1)
        top = vals[rows, s]
        better = top > best_val
        best_val[better] = top[better]
        best_layer[better] = m
        best_state[better] = s[better]

    take_best(v, 1)
    for m, lay in enumerate(layers[1:], start=2):
        w = weights[m - 1]
        vm = np.full((mc, lay.last.size), -np.inf)
        arg = np.zeros((mc, lay.last.size), dtype=np.int8)
        for r in range(m - 1):
            cand = v[:, lay.pred[:, r]] + w * trans[:, lay.trans[:, r]]
            better = cand > vm
            vm = np.where(better, cand, vm)
            arg[better] = r
        jj = lay.last
        ok = (req[:, jj] & ~lay.pred_mask[None, :]) == 0
        ok &= (excl[:, jj] & lay.pred_mask[None, :]) == 0
        vm[~ok] = -np.inf
        nfev += mc * lay.pred.size
        take_best(vm, m)
        args.append(arg)
        v = vm
    # backtrack
    seq = np.full((mc, len(layers)), -1, dtype=np.int64)
    state = best_state.copy()
    for m in range(len(layers), 0, -1):
        on = best_layer >= m
        if not on.any():
            continue
        lay = layers[m - 1]
        seq[on, m - 1] = lay.last[state[on]]
        if m > 1:
            choice = args[m - 1][rows[on], state[on]].astype(np.int64)
            state[on] = lay.pred[state[on], choice]
    return seq, nfev
