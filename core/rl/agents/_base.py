"""Helpers shared by the agents: training order, exploration, features, training curves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.common.rng import uniform_draws
from core.rl._base import _EXPLORE, _PICK
from core.rl.env import EnvBatch, JourneyEnv


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
    if x.size == 0:
        return x.astype(np.float64)
    c = np.cumsum(np.insert(x.astype(np.float64), 0, 0.0))
    w = np.minimum(np.arange(1, x.size + 1), window)
    return (c[1:] - c[np.arange(1, x.size + 1) - w]) / w


def _curve(returns: np.ndarray, window: int, points: int = 200) -> dict[str, np.ndarray]:
    ma = _moving_average(returns, window)
    if ma.size == 0:
        return {"episode": np.zeros(0, np.int64), "return_ma": ma}
    idx = np.unique(np.linspace(0, ma.size - 1, min(points, ma.size)).round().astype(np.int64))
    return {"episode": idx + 1, "return_ma": ma[idx]}


def _explore(
    env: JourneyEnv,
    batch: EnvBatch,
    valid: np.ndarray,
    greedy: np.ndarray,
    eps: float,
    counter: np.ndarray,
) -> np.ndarray:
    """Epsilon-greedy: with probability ``eps`` a uniformly drawn valid action."""
    u = uniform_draws(batch.keys, _EXPLORE, batch.episode, counter)
    v = uniform_draws(batch.keys, _PICK, batch.episode, counter)
    k = valid.sum(axis=1)
    pick = np.minimum((v * k).astype(np.int64), np.maximum(k - 1, 0))
    order = np.cumsum(valid, axis=1) - 1
    rnd = np.argmax(valid & (order == pick[:, None]), axis=1)
    return np.where((u < eps) & (k > 0), rnd, greedy).astype(np.int64)


class _Schedule:
    """Training order: passes over the training customers, each in a seeded permutation."""

    def __init__(self, n: int, episodes: int, batch_size: int, seed: int) -> None:
        self.n, self.episodes, self.batch_size, self.seed = n, episodes, batch_size, seed

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        done, passes = 0, 0
        while done < self.episodes:
            order = np.random.default_rng([self.seed, passes]).permutation(self.n)
            for lo in range(0, self.n, self.batch_size):
                rows = order[lo : lo + min(self.batch_size, self.episodes - done)]
                if rows.size == 0:
                    break
                yield rows, passes
                done += rows.size
                if done >= self.episodes:
                    return
            passes += 1


def _check_env(env: Any) -> None:
    if not isinstance(env, JourneyEnv):
        raise OptionError("fit(env) needs a JourneyEnv")
    if env.n_customers == 0:
        raise OptionError("the environment has no customers")


def _state_features(env: JourneyEnv, batch: EnvBatch, scale: np.ndarray) -> np.ndarray:
    """Customer features (scaled), segment one-hot, portfolio, offered, prev one-hot, step."""
    assert env.features is not None and env.segments is not None
    p = env.n_products
    bits = env.product_bits
    have = ((batch.have[:, None] & bits[None, :]) != 0).astype(np.float64)
    offered = ((batch.offered[:, None] & bits[None, :]) != 0).astype(np.float64)
    prev = np.zeros((batch.size, p + 1))
    prev[np.arange(batch.size), batch.prev + 1] = 1.0
    seg = np.zeros((batch.size, len(scale[2])))
    s = env.segments[batch.rows]
    inside = s < seg.shape[1]
    seg[np.flatnonzero(inside), s[inside]] = 1.0
    x = (env.features[batch.rows] - scale[0]) / scale[1]
    return np.concatenate([x, seg, have, offered, prev, batch.t[:, None] / env.horizon], axis=1)


def _action_context(env: JourneyEnv, batch: EnvBatch) -> np.ndarray:
    """float64 ``[m, P, 3]``: propensity, gain if accepted now, expected immediate reward."""
    gains = env.gains(batch)
    prop = env.propensity[batch.rows]
    exp = env.expected_rewards(batch)
    return np.stack([prop, gains, exp], axis=2)


def _feature_scale(env: JourneyEnv) -> np.ndarray:
    assert env.features is not None
    mu = env.features.mean(axis=0) if env.n_customers else np.zeros(env.features.shape[1])
    sd = env.features.std(axis=0) if env.n_customers else np.ones(env.features.shape[1])
    out = np.empty(3, dtype=object)
    out[0], out[1], out[2] = mu, np.where(sd > 0, sd, 1.0), np.zeros(env.n_segments)
    return out
