"""Fitted Q-iteration with a tree ensemble on state-action features."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.common.progress import Progress
from core.common.rng import derive_seed, seed_of, uniform_draws
from core.rl._base import _EXPLORE, _SPLIT, _TRAIN, _greedy_from_values
from core.rl.agents._base import (
    _action_context,
    _check_env,
    _curve,
    _explore,
    _feature_scale,
    _Schedule,
    _state_features,
)
from core.rl.env import EnvBatch, JourneyEnv
from core.rl.evaluation import rollout


@dataclass(kw_only=True, eq=False)
class FQIAgent:
    """Fitted Q-iteration with a tree ensemble on state-action features.

    Features of ``(s, a)``: the customer's features (standardised), segment one-hot, portfolio
    bits, offered bits, last-accepted one-hot, step, the action's one-hot, and its context
    (propensity, gain if accepted now, expected immediate reward). ``Q(s, stop) = 0``.

    Parameters
    ----------
    episodes : int
        Training episodes over all rounds. Round 1 explores uniformly over offerable products
        (stopping early with probability ``stop_rate``); later rounds are epsilon-greedy with
        ``epsilon`` around the current Q.
    rounds : int
        Data-collection rounds; after each, ``iterations`` backups on all data so far.
    iterations : int, optional
        Bellman backups per round (default ``horizon + 1``, exact for the finite horizon).
    regressor : {"extra-trees", "hgb"}
        ``ExtraTreesRegressor`` or ``HistGradientBoostingRegressor``.
    n_estimators, min_samples_leaf : int
        Tree-ensemble size and leaf size (``hgb``: boosting iterations and leaf size).
    epsilon, stop_rate : float
        Exploration of the later rounds; early-stop probability of the exploratory round.
    eval_customers : int
        Training customers on which each round's greedy policy is scored for the curve.
    random_state : int, Generator or None
        Seed.

    Attributes
    ----------
    model_ : regressor
        The last fitted Q model.
    curve_ : dict
        ``{"episode", "return_ma"}``: greedy-policy return (one episode per evaluation customer,
        common draws) after each round, against the episodes collected so far.
    behaviour_curve_ : dict
        Moving-average return of the exploratory episodes.
    n_transitions_ : int
        Transitions in the final data set.
    """

    name = "fqi"

    episodes: int = 8_000
    rounds: int = 3
    iterations: int | None = None
    regressor: str = "extra-trees"
    n_estimators: int = 40
    min_samples_leaf: int = 3
    epsilon: float = 0.3
    stop_rate: float = 0.1
    eval_customers: int = 1000
    window: int = 1000
    random_state: np.random.Generator | int | None = 0

    def _make_model(self, seed: int) -> Any:
        if self.regressor == "extra-trees":
            from sklearn.ensemble import ExtraTreesRegressor

            return ExtraTreesRegressor(
                n_estimators=self.n_estimators,
                min_samples_leaf=self.min_samples_leaf,
                max_features=0.5,
                random_state=seed,
                n_jobs=1,
            )
        if self.regressor == "hgb":
            from sklearn.ensemble import HistGradientBoostingRegressor

            return HistGradientBoostingRegressor(
                max_iter=self.n_estimators * 5,
                min_samples_leaf=self.min_samples_leaf,
                early_stopping=False,
                random_state=seed,
            )
        raise OptionError(f"regressor must be 'extra-trees' or 'hgb', got {self.regressor!r}")

    def _sa_features(self, env: JourneyEnv, batch: EnvBatch) -> np.ndarray:
        """float32 ``[m, P, D]`` features of every (state, product) pair."""
        st = _state_features(env, batch, self.scale_)
        ctx = _action_context(env, batch)
        m, p = batch.size, env.n_products
        eye = np.broadcast_to(np.eye(p), (m, p, p))
        sb = np.broadcast_to(st[:, None, :], (m, p, st.shape[1]))
        return np.concatenate([sb, eye, ctx], axis=2).astype(np.float32)

    def q_values(self, env: JourneyEnv, batch: EnvBatch, chunk: int = 20_000) -> np.ndarray:
        """float64 ``[m, P]`` predicted action values (0 before the first fit)."""
        m, p = batch.size, env.n_products
        if getattr(self, "model_", None) is None:
            return np.zeros((m, p))
        out = np.empty((m, p))
        for lo in range(0, m, chunk):
            sub = _take(batch, slice(lo, lo + chunk))
            x = self._sa_features(env, sub)
            out[lo : lo + chunk] = self.model_.predict(x.reshape(-1, x.shape[2])).reshape(-1, p)
        return out

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray:
        """Greedy action (stop when no product has a positive predicted value)."""
        return _greedy_from_values(self.q_values(env, batch), valid)

    def fit(self, env: JourneyEnv, *, progress: Progress | None = None) -> FQIAgent:
        """Collect episodes, run fitted Q-iteration; returns self."""
        _check_env(env)
        self.seed_ = seed_of(self.random_state)
        train_seed = derive_seed(self.seed_, _TRAIN)
        self.scale_ = _feature_scale(env)
        self.model_: Any = None
        p = env.n_products
        iters = self.iterations or env.horizon + 1
        rounds = max(1, int(self.rounds))
        per_round = [self.episodes // rounds + (r < self.episodes % rounds) for r in range(rounds)]
        total_work = self.episodes + rounds * iters * max(1, self.episodes // 10)
        work = 0
        eval_rows = np.sort(
            np.random.default_rng([self.seed_, 99]).permutation(env.n_customers)[
                : self.eval_customers
            ]
        )
        data: list[tuple[np.ndarray, ...]] = []
        behaviour: list[np.ndarray] = []
        points_x: list[int] = []
        points_y: list[float] = []
        collected = 0
        for rnd, n_ep in enumerate(per_round):
            sched = _Schedule(env.n_customers, n_ep, 2048, derive_seed(self.seed_, rnd))
            for rows, ep in sched:
                b = env.reset(rows, ep + 1000 * rnd, seed=train_seed)
                for t in range(env.horizon + 1):
                    if b.done.all():
                        break
                    live = ~b.done
                    valid = env.valid_actions(b)
                    if rnd == 0:
                        prods = valid.copy()
                        prods[:, p] = ~prods[:, :p].any(axis=1) & live
                        a = _explore(env, b, prods, np.full(b.size, p), 1.0, np.full(b.size, t))
                        u = uniform_draws(b.keys, _EXPLORE, b.episode, np.full(b.size, 100 + t))
                        a = np.where(u < self.stop_rate, p, a)
                    else:
                        greedy = self.act(env, b, valid)
                        a = _explore(env, b, valid, greedy, self.epsilon, np.full(b.size, t))
                    a = np.where(live, a, p)
                    x = self._sa_features(env, b)
                    sel = live & (a < p)
                    xa = x[np.arange(b.size), np.minimum(a, p - 1)][sel]
                    r = env.step(b, a)
                    nvalid = env.valid_actions(b)[:, :p]
                    nx = self._sa_features(env, b)
                    data.append((xa, r[sel], nx[sel], nvalid[sel]))
                behaviour.append(b.ret.copy())
                collected += rows.size
                work += rows.size
                if progress is not None:
                    progress(work, total_work)
            xs = np.concatenate([d[0] for d in data])
            rs = np.concatenate([d[1] for d in data])
            nxs = np.concatenate([d[2] for d in data])
            nvs = np.concatenate([d[3] for d in data])
            nflat = nxs.reshape(-1, nxs.shape[2])
            boot = np.zeros(rs.shape[0])
            for it in range(iters):
                model = self._make_model(self.seed_ + 7919 * rnd + it)
                model.fit(xs, rs + boot)
                self.model_ = model
                qn = _predict_chunked(model, nflat).reshape(nvs.shape)
                boot = np.maximum(np.where(nvs, qn, -np.inf).max(axis=1, initial=-np.inf), 0.0)
                work += max(1, self.episodes // 10)
                if progress is not None:
                    progress(work, total_work)
            ro = rollout(
                env, self, episodes=1, seed=derive_seed(self.seed_, _SPLIT), rows=eval_rows
            )
            points_x.append(collected)
            points_y.append(float(ro.returns.mean()))
        self.n_transitions_ = int(sum(d[1].shape[0] for d in data))
        self.curve_ = {"episode": np.array(points_x), "return_ma": np.array(points_y)}
        beh = np.concatenate(behaviour) if behaviour else np.zeros(0)
        self.behaviour_curve_ = _curve(beh, self.window)
        if progress is not None:
            progress(total_work, total_work)
        return self


def _predict_chunked(model: Any, x: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    out = np.empty(x.shape[0])
    for lo in range(0, x.shape[0], chunk):
        out[lo : lo + chunk] = model.predict(x[lo : lo + chunk])
    return out


def _take(batch: EnvBatch, idx: Any) -> EnvBatch:
    parts: dict[str, Any] = {
        k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in batch.__dict__.items()
    }
    return EnvBatch(**parts)
