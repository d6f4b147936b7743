"""Tabular Q-learning over (segment, portfolio, offered, last accepted) states."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.common.errors import OptionError
from core.common.progress import Progress
from core.common.rng import derive_seed, seed_of
from core.rl._base import _TRAIN, _greedy_from_values
from core.rl.agents._base import _check_env, _curve, _explore, _Schedule
from core.rl.env import EnvBatch, JourneyEnv

MAX_TABULAR_PRODUCTS = 20


@dataclass(kw_only=True, eq=False)
class QLearningAgent:
    """Tabular Q-learning over ``(segment, portfolio, offered, last accepted)`` states.

    Parameters
    ----------
    episodes : int
        Training episodes (one customer journey each; customers are cycled in seeded order).
    batch_size : int
        Episodes simulated side by side; Q is updated after each batch in reverse time order.
    epsilon : (float, float)
        Exploration rate, decayed linearly from the first to the second value over
        ``explore_fraction`` of the episodes.
    explore_fraction : float
        Share of the episodes over which epsilon decays.
    lr_power : float
        Learning rate of a state-action pair visited ``N`` times before: ``1 / (1 + N) ** lr_power``.
    window : int
        Episodes in the moving average of the training curve.
    random_state : int, Generator or None
        Seed of the training draws (acceptance, exploration, customer order).

    Attributes
    ----------
    q_ : numpy.ndarray
        float64 ``[n_states, P]`` action values of the visited states (``Q(s, stop) = 0``).
    visits_ : numpy.ndarray
        int64 ``[n_states, P]`` update counts.
    curve_ : dict
        ``{"episode", "return_ma"}``: moving-average training return.
    seed_ : int
        The seed used.
    """

    name = "qlearning"

    episodes: int = 40_000
    batch_size: int = 256
    epsilon: tuple[float, float] = (1.0, 0.02)
    explore_fraction: float = 0.8
    lr_power: float = 0.6
    window: int = 1000
    random_state: np.random.Generator | int | None = 0
    # fitted attributes (set by fit)
    q_: np.ndarray = field(init=False, repr=False)
    visits_: np.ndarray = field(init=False, repr=False)

    # state keys: ((segment * 2**P + have) * 2**P + offered) * 64 + prev + 1
    def _keys(self, env: JourneyEnv, batch: EnvBatch) -> np.ndarray:
        assert env.segments is not None
        p = np.uint64(env.n_products)
        seg = env.segments[batch.rows].astype(np.uint64)
        k = (seg << p) | batch.have
        k = (k << p) | batch.offered
        return (k << np.uint64(6)) | (batch.prev + 1).astype(np.uint64)

    def _lookup(self, keys: np.ndarray, add: bool) -> np.ndarray:
        uniq, inv = np.unique(keys, return_inverse=True)
        ids = np.empty(uniq.size, dtype=np.int64)
        table = self._index
        for i, k in enumerate(uniq.tolist()):
            s = table.get(k)
            if s is None:
                if not add:
                    s = -1
                else:
                    s = len(table)
                    table[k] = s
            ids[i] = s
        if add and len(table) > self.q_.shape[0]:
            grow = max(len(table), 2 * self.q_.shape[0])
            p = self.q_.shape[1]
            self.q_ = np.concatenate([self.q_, np.zeros((grow - self.q_.shape[0], p))])
            self.visits_ = np.concatenate(
                [self.visits_, np.zeros((grow - self.visits_.shape[0], p), np.int64)]
            )
        return ids[inv.ravel()]

    def fit(self, env: JourneyEnv, *, progress: Progress | None = None) -> QLearningAgent:
        """Learn Q by simulating ``episodes`` journeys of the customers of ``env``; returns self."""
        _check_env(env)
        if env.n_products > MAX_TABULAR_PRODUCTS:
            raise OptionError(
                f"tabular Q-learning supports at most {MAX_TABULAR_PRODUCTS} products, "
                f"got {env.n_products}; use the fqi agent"
            )
        if env.n_segments >= 2**16:
            raise OptionError("tabular Q-learning supports at most 65,536 segments")
        self.seed_ = seed_of(self.random_state)
        train_seed = derive_seed(self.seed_, _TRAIN)
        p = env.n_products
        self._index: dict[int, int] = {}
        self.q_ = np.zeros((1024, p))
        self.visits_ = np.zeros((1024, p), dtype=np.int64)
        self.n_products_ = p
        eps0, eps1 = self.epsilon
        decay = max(1.0, self.explore_fraction * self.episodes)
        returns: list[np.ndarray] = []
        done = 0
        for rows, ep in _Schedule(env.n_customers, self.episodes, self.batch_size, self.seed_):
            eps = eps1 + (eps0 - eps1) * max(0.0, 1.0 - done / decay)
            b = env.reset(rows, ep, seed=train_seed)
            steps: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
            for t in range(env.horizon + 1):
                if b.done.all():
                    break
                live = ~b.done
                valid = env.valid_actions(b)
                s = self._lookup(self._keys(env, b), add=True)
                greedy = _greedy_from_values(self.q_[s], valid)
                a = _explore(env, b, valid, greedy, eps, np.full(b.size, t))
                a = np.where(live, a, env.stop)
                r = env.step(b, a)
                nxt = self._lookup(self._keys(env, b), add=True)
                nvalid = env.valid_actions(b)[:, :p]
                sel = live & (a < p)
                steps.append((s[sel], a[sel], r[sel], nxt[sel], nvalid[sel]))
            for s, a, r, nxt, nvalid in reversed(steps):
                boot = np.where(nvalid, self.q_[nxt], -np.inf).max(axis=1, initial=-np.inf)
                target = r + np.maximum(boot, 0.0)  # Q(s', stop) = 0; done rows: no valid action
                self._update(s, a, target)
            returns.append(b.ret.copy())
            done += rows.size
            if progress is not None:
                progress(done, self.episodes)
        self.q_ = self.q_[: len(self._index)].copy()
        self.visits_ = self.visits_[: len(self._index)].copy()
        rets = np.concatenate(returns) if returns else np.zeros(0)
        self.curve_ = _curve(rets, self.window)
        self.n_states_ = len(self._index)
        return self

    def _update(self, s: np.ndarray, a: np.ndarray, target: np.ndarray) -> None:
        if s.size == 0:
            return
        p = self.q_.shape[1]
        flat = s * p + a
        uniq, inv, cnt = np.unique(flat, return_inverse=True, return_counts=True)
        mean_t = np.bincount(inv.ravel(), weights=target, minlength=uniq.size) / cnt
        qs, qa = uniq // p, uniq % p
        n_before = self.visits_[qs, qa]
        alpha = 1.0 / (1.0 + n_before) ** self.lr_power
        step = 1.0 - (1.0 - alpha) ** cnt
        self.q_[qs, qa] += step * (mean_t - self.q_[qs, qa])
        self.visits_[qs, qa] = n_before + cnt

    def q_values(self, env: JourneyEnv, batch: EnvBatch) -> np.ndarray:
        """float64 ``[m, P]`` learned values; -inf for pairs never updated in training."""
        if not hasattr(self, "q_"):
            raise OptionError("QLearningAgent is not fitted: call fit(env) first")
        s = self._lookup(self._keys(env, batch), add=False)
        known = s >= 0
        q = np.full((batch.size, env.n_products), -np.inf)
        q[known] = np.where(self.visits_[s[known]] > 0, self.q_[s[known]], -np.inf)
        return q

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray:
        """Greedy action (stop in unseen states or when no learned value is positive)."""
        return _greedy_from_values(self.q_values(env, batch), valid)

    def coverage(self, env: JourneyEnv, batch: EnvBatch) -> np.ndarray:
        """bool ``[m]``: whether each state was visited in training."""
        return self._lookup(self._keys(env, batch), add=False) >= 0
