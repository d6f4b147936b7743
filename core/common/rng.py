"""Seeds and counter-based random streams.

Every random function of core takes ``rng: np.random.Generator | int | None`` (or a ``seed``);
nothing seeds globally. :func:`seed_of` turns any of them into one integer seed. The streams of
:func:`customer_keys` derive from (seed, customer id), so a customer's draws do not depend on
how customers are chunked or batched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.common.errors import OptionError

#: Largest seed (exclusive) scikit-learn accepts as ``random_state``.
SKLEARN_SEED_HIGH = 2**31 - 1
#: Largest seed (exclusive) of the counter-based streams.
STREAM_SEED_HIGH = 2**63 - 1

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MUL = np.uint64(0xD1B54A32D192ED03)


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself when it is a Generator, else a new Generator seeded with it."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def seed_of(rng: Any, *, high: int = STREAM_SEED_HIGH) -> int:
    """One integer seed in ``[0, high)`` from ``rng``.

    Parameters
    ----------
    rng
        An int seed (returned as is), a ``np.random.Generator`` (one draw from it) or None
        (fresh entropy from the operating system).
    high
        Exclusive upper bound of the drawn seeds (:data:`SKLEARN_SEED_HIGH` for
        scikit-learn's ``random_state``).

    Raises
    ------
    OptionError
        For a negative seed or a value that is none of the above.
    """
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, high))
    if rng is None:
        return int(np.random.default_rng().integers(0, high))
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        if rng < 0:
            raise OptionError(f"seed must be >= 0, got {rng}")
        return int(rng)
    raise OptionError(
        f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}"
    )


def mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer, vectorized over a uint64 array (wrap-around arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def id_hash(ids: np.ndarray) -> np.ndarray:
    """Stable uint64 hash of customer ids (int64 ids by value, strings by FNV-1a of code points)."""
    a = np.asarray(ids)
    if np.issubdtype(a.dtype, np.integer):
        return mix64(a.astype(np.int64).view(np.uint64) + _GOLDEN)
    u = a.astype(str)
    width = max(u.dtype.itemsize // 4, 1)
    codes = np.ascontiguousarray(u).view(np.uint32).reshape(len(u), -1)
    h = np.full(len(u), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for col in range(min(width, codes.shape[1])):
        h = (h ^ codes[:, col].astype(np.uint64)) * prime
    return mix64(h)


def customer_keys(ids: np.ndarray, seed: int) -> np.ndarray:
    """uint64 stream key of each customer, derived from (seed, customer id)."""
    s = mix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
    return mix64(id_hash(ids) ^ s)


def derive_seed(seed: int, domain: int) -> int:
    """A sub-seed for one purpose (training draws, splits...), independent of the others."""
    z = mix64(np.array([seed & 0x7FFFFFFFFFFFFFFF, domain], dtype=np.uint64))
    return int(mix64(z[:1] ^ z[1:])[0] >> np.uint64(2))


def _u64(x: Any) -> np.ndarray:
    return np.asarray(x).astype(np.int64).view(np.uint64)


def uniform_draws(keys: np.ndarray, domain: int, a: Any, b: Any) -> np.ndarray:
    """Uniforms in [0, 1) from (customer key, domain, counter a, counter b), all arrays."""
    h = mix64(keys + _u64(a) * _GOLDEN + np.full(keys.shape, domain, dtype=np.uint64) * _MUL)
    h = mix64(h ^ ((_u64(b) + np.uint64(1)) * _MUL))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
