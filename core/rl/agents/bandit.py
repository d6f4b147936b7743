"""Contextual bandit (LinUCB) for the next offer: myopic by design."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common.errors import OptionError
from core.common.progress import Progress
from core.common.rng import derive_seed, seed_of
from core.rl._base import _TRAIN, _greedy_from_values
from core.rl.agents._base import (
    _action_context,
    _check_env,
    _curve,
    _feature_scale,
    _Schedule,
    _state_features,
)
from core.rl.env import EnvBatch, JourneyEnv


@dataclass(kw_only=True, eq=False)
class BanditAgent:
    """Contextual bandit for the next offer: LinUCB, one ridge regression per product.

    Context of (state, product): 1, the state features of :class:`FQIAgent` and the product's
    context (propensity, gain if accepted now, expected immediate reward). The bandit learns the
    *immediate* reward of each offer and picks ``argmax theta_a . x + alpha * sqrt(x' A_a^-1 x)``
    while training, the plain estimate afterwards, stopping when no offer is expected to pay.
    Myopic by design: it cannot learn that a low-value offer opens a valuable next one.

    Parameters
    ----------
    episodes, batch_size : int
        Training episodes and episodes simulated side by side (updates after every step).
    alpha : float
        Width of the upper confidence bonus.
    ridge : float
        Ridge penalty (the prior precision of every ``theta_a``).
    window : int
        Moving-average window of the training curve.
    random_state : int, Generator or None
        Seed.

    Attributes
    ----------
    theta_ : numpy.ndarray
        ``[P, D]`` ridge coefficients.
    curve_ : dict
        ``{"episode", "return_ma"}``.
    """

    name = "bandit"

    episodes: int = 20_000
    batch_size: int = 256
    alpha: float = 0.5
    ridge: float = 1.0
    window: int = 1000
    random_state: np.random.Generator | int | None = 0

    def _context(self, env: JourneyEnv, batch: EnvBatch) -> np.ndarray:
        st = _state_features(env, batch, self.scale_)
        ctx = _action_context(env, batch)
        m, p = batch.size, env.n_products
        sb = np.broadcast_to(st[:, None, :], (m, p, st.shape[1]))
        return np.concatenate([np.ones((m, p, 1)), sb, ctx], axis=2)

    def _scores(self, x: np.ndarray, bonus: bool) -> np.ndarray:
        est = np.einsum("mpd,pd->mp", x, self.theta_)
        if not bonus:
            return est
        var = np.einsum("mpd,pde,mpe->mp", x, self.a_inv_, x)
        return est + self.alpha * np.sqrt(np.maximum(var, 0.0))

    def fit(self, env: JourneyEnv, *, progress: Progress | None = None) -> BanditAgent:
        """Learn the per-product reward models online; returns self."""
        _check_env(env)
        self.seed_ = seed_of(self.random_state)
        train_seed = derive_seed(self.seed_, _TRAIN)
        self.scale_ = _feature_scale(env)
        p = env.n_products
        b0 = env.reset(np.zeros(1, np.int64), seed=0)
        d = self._context(env, b0).shape[2]
        a_mat = np.broadcast_to(np.eye(d) * self.ridge, (p, d, d)).copy()
        bvec = np.zeros((p, d))
        self.a_inv_ = np.linalg.inv(a_mat)
        self.theta_ = np.zeros((p, d))
        returns: list[np.ndarray] = []
        done = 0
        for rows, ep in _Schedule(env.n_customers, self.episodes, self.batch_size, self.seed_):
            b = env.reset(rows, ep, seed=train_seed)
            for _ in range(env.horizon + 1):
                if b.done.all():
                    break
                live = ~b.done
                valid = env.valid_actions(b)
                x = self._context(env, b)
                a = _greedy_from_values(self._scores(x, bonus=True), valid)
                a = np.where(live, a, p)
                r = env.step(b, a)
                sel = np.flatnonzero(live & (a < p))
                xs = x[sel, a[sel]]
                for j in np.unique(a[sel]).tolist():
                    k = a[sel] == j
                    a_mat[j] += xs[k].T @ xs[k]
                    bvec[j] += xs[k].T @ r[sel][k]
                    self.a_inv_[j] = np.linalg.inv(a_mat[j])
                    self.theta_[j] = self.a_inv_[j] @ bvec[j]
            returns.append(b.ret.copy())
            done += rows.size
            if progress is not None:
                progress(done, self.episodes)
        self.curve_ = _curve(np.concatenate(returns) if returns else np.zeros(0), self.window)
        return self

    def q_values(self, env: JourneyEnv, batch: EnvBatch) -> np.ndarray:
        """float64 ``[m, P]`` estimated immediate reward of each offer."""
        if not hasattr(self, "theta_"):
            raise OptionError("BanditAgent is not fitted: call fit(env) first")
        return self._scores(self._context(env, batch), bonus=False)

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray:
        """Greedy next offer (stop when none is expected to pay)."""
        return _greedy_from_values(self.q_values(env, batch), valid)
