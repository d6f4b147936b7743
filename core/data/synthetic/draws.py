"""Randomness in fixed blocks: block ``b`` of :data:`BLOCK_SIZE` customers draws from
``np.random.default_rng([seed, b])``, so customer ``i`` depends only on ``(seed, i)`` and any
chunking yields identical rows."""

from __future__ import annotations

import numpy as np

BLOCK_SIZE = 1024
N_UNIFORM = 23  # uniform draws per customer (exactly as many as the simulation uses)
N_NORMAL = 29  # standard normal draws per customer


class Draws:
    """Hands out the columns of the per-customer uniform and normal draws in a fixed order."""

    def __init__(self, seed: int, start: int, stop: int) -> None:
        b0, b1 = start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1
        us, zs = [], []
        for b in range(b0, b1):
            rng = np.random.default_rng([seed, b])
            us.append(rng.random((BLOCK_SIZE, N_UNIFORM)))
            zs.append(rng.standard_normal((BLOCK_SIZE, N_NORMAL)))
        off = start - b0 * BLOCK_SIZE
        self._u = np.concatenate(us)[off : off + stop - start]
        self._z = np.concatenate(zs)[off : off + stop - start]
        self._iu = 0
        self._iz = 0

    def u(self) -> np.ndarray:
        """The next column of uniform draws on [0, 1), one per customer."""
        col = self._u[:, self._iu]
        self._iu += 1
        return col

    def z(self) -> np.ndarray:
        """The next column of standard normal draws, one per customer."""
        col = self._z[:, self._iz]
        self._iz += 1
        return col

    def check_used(self) -> None:
        """Fail unless exactly the budgeted number of draws was used (guards the streams)."""
        if (self._iu, self._iz) != (N_UNIFORM, N_NORMAL):
            raise RuntimeError(f"draw budget mismatch: used {self._iu}/{self._iz} draws")
