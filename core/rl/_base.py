"""Helpers shared by the lab's modules: random-stream domains and the greedy action rule."""

from __future__ import annotations

import numpy as np

# domains of the counter-based random streams (core.common.rng.uniform_draws / derive_seed)
_ACCEPT, _EXPLORE, _PICK, _TRAIN, _SPLIT = 1, 2, 3, 4, 5


def _greedy_from_values(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """argmax over valid products of ``values`` ``[m, P]``; stop when none is > 0 (ties: stop)."""
    p = values.shape[1]
    v = np.where(valid[:, :p], values, -np.inf)
    best = v.argmax(axis=1) if p else np.zeros(valid.shape[0], dtype=np.int64)
    top = v[np.arange(v.shape[0]), best] if p else np.full(valid.shape[0], -np.inf)
    return np.where(top > 0, best, p).astype(np.int64)
