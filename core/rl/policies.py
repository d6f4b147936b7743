"""Policies: anything that picks the next offer, and the fixed and model-based ones.

A policy is anything with ``act(env, batch, valid) -> int [m]`` (``P`` = stop): the learned
agents (:mod:`core.rl.agents`), the optimizer's journeys as :class:`SequencePolicy` (offer the
journey's products in order, skipping any that is no longer offerable because its prerequisite
was rejected), the expected-value greedy :class:`MyopicPolicy` and the exhaustive
:class:`ExpectimaxPolicy`, the optimal adaptive policy when the propensities are known.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from core.common.errors import OptionError
from core.journeys import score
from core.rl._base import _greedy_from_values
from core.rl.env import EnvBatch, JourneyEnv

WEIGHTED_EXACT = "exact-weighted"
SOLVERS: tuple[str, ...] = ("anneal", "exact", "greedy", WEIGHTED_EXACT)


class Policy(Protocol):
    """Anything with ``act(env, batch, valid) -> int [m]`` (``P`` = stop)."""

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class SequencePolicy:
    """Offer a fixed journey in order, skipping products no longer offerable; then stop.

    ``journeys`` is int ``[n, L]`` (padded -1) indexed by the environment's customer rows.
    """

    journeys: np.ndarray
    name: str = "journeys"

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray:
        j = np.asarray(self.journeys, dtype=np.int64)[batch.rows]
        m, p = batch.size, env.n_products
        out = np.full(m, p, dtype=np.int64)
        chosen = np.zeros(m, dtype=bool)
        rows = np.arange(m)
        for k in range(j.shape[1]):
            cand = j[:, k]
            ok = (cand >= 0) & ~chosen
            ok &= valid[rows, np.where(cand >= 0, cand, p)]
            out = np.where(ok, cand, out)
            chosen |= ok
        return out


@dataclass(frozen=True, eq=False)
class MyopicPolicy:
    """Offer the product with the largest expected immediate reward ``p * O_w``; stop at <= 0."""

    name: str = "expected-greedy"

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray:
        return _greedy_from_values(env.expected_rewards(batch), valid)


def expectimax_states(n_products: int, horizon: int) -> int:
    """Number of (accepted, offered, last accepted) states :class:`ExpectimaxPolicy` visits."""
    return sum(
        math.comb(n_products, k) * (2**k + k * 2 ** max(k - 1, 0)) for k in range(horizon + 1)
    )


class ExpectimaxPolicy:
    """The optimal adaptive policy when the propensities are known: exhaustive expectimax.

    ``V(s) = max(0, max_j p_j (discount**t O_w[prev, j] + V(s + j accepted))
    + (1 - p_j) V(s + j rejected))`` over every (accepted, offered, last accepted) state,
    vectorised over customers. It is the ceiling no policy can beat in expectation (a learned
    policy's Monte-Carlo value may exceed it only by noise). Exponential in the catalog size:
    refuse when ``states * P * n`` exceeds ``max_work``.

    Parameters
    ----------
    env : JourneyEnv
        The customers the policy will act on (values are computed for all of them).
    max_work : float
        Limit on ``expectimax_states * P * n``.

    Raises
    ------
    ValueError
        The problem is too large.
    """

    name = "oracle"

    def __init__(self, env: JourneyEnv, max_work: float = 5e8) -> None:
        n, p, h = env.n_customers, env.n_products, env.horizon
        work = expectimax_states(p, h) * p * max(n, 1)
        if work > max_work:
            raise OptionError(
                f"expectimax needs about {work:.1e} operations ({p} products, horizon {h}, "
                f"{n} customers), more than max_work={max_work:.0e}"
            )
        self._env = env
        self._v: dict[tuple[int, int, int], np.ndarray] = {}
        self._value(0, 0, -1)

    def _q(self, acc: int, off: int, prev: int) -> np.ndarray:
        env = self._env
        p, n = env.n_products, env.n_customers
        t = bin(off).count("1")
        q = np.full((n, p), -np.inf)
        if t >= env.horizon:
            return q
        have = env.held_bits | np.uint64(acc)
        gain = env.gains_after(prev)
        for j in range(p):
            bit = 1 << j
            if off & bit:
                continue
            ok = (have & env.product_bits[j]) == 0
            ok &= (env.requires_bits[j] & ~have) == 0
            ok &= (env.excludes_bits[j] & have) == 0
            if not ok.any():
                continue
            pj = env.propensity[:, j]
            yes = env.discounts[t] * gain[:, j] + self._value(acc | bit, off | bit, j)
            no = self._value(acc, off | bit, prev)
            q[:, j] = np.where(ok, pj * yes + (1 - pj) * no, -np.inf)
        return q

    def _value(self, acc: int, off: int, prev: int) -> np.ndarray:
        key = (acc, off, prev)
        v = self._v.get(key)
        if v is None:
            v = np.maximum(self._q(acc, off, prev).max(axis=1, initial=-np.inf), 0.0)
            self._v[key] = v
        return v

    def value(self) -> np.ndarray:
        """float64 ``[n]``: each customer's optimal expected return."""
        return self._v[(0, 0, -1)]

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray:
        """Optimal action (ties go to stop)."""
        if env is not self._env:
            raise OptionError("ExpectimaxPolicy acts only on the environment it was built for")
        acc = batch.have & ~env.held_bits[batch.rows]
        out = np.full(batch.size, env.stop, dtype=np.int64)
        keys = np.stack([acc.view(np.int64), batch.offered.view(np.int64), batch.prev], axis=1)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        for u, (a, o, pr) in enumerate(uniq.tolist()):
            sel = np.flatnonzero(inv.ravel() == u)
            q = self._q(int(a), int(o), int(pr))[batch.rows[sel]]
            out[sel] = _greedy_from_values(q, valid[sel])
        return out


def journey_policies(
    env: JourneyEnv, solvers: Sequence[str] = SOLVERS, *, seed: int = 0
) -> tuple[dict[str, SequencePolicy], dict[str, float], list[str]]:
    """Journeys of the optimizer's solvers for ``env``'s customers, as sequence policies.

    ``exact-weighted`` is the exact optimum of the *propensity-weighted* opportunity
    ``p[c, j] * O_w[c, i, j]`` (:func:`core.opportunity.combine` with ``propensity``): the
    optimizer's next-best-action arbitration, still a fixed journey. Its deterministic score
    (``scores``) is on that weighted scale; :func:`evaluate` scores every policy on ``O_w``.

    Returns
    -------
    (policies, deterministic scores (mean :func:`core.journeys.score`), notes)
        A solver that fails (e.g. ``exact`` on too many candidates) is left out with a note.
    """
    from core.solvers import solve

    out: dict[str, SequencePolicy] = {}
    scores: dict[str, float] = {}
    notes: list[str] = []
    for name in solvers:
        options: dict[str, Any] = {"rng": seed} if name == "anneal" else {}
        problem = env.problem
        solver = name
        if name == WEIGHTED_EXACT:
            solver = "exact"
            weighted = problem.opportunity * env.propensity[:, None, :].astype(np.float32)
            problem = replace(problem, opportunity=weighted)
        try:
            res = solve(problem, solver, **options)
        except ValueError as exc:
            notes.append(f"{name}: not evaluated ({exc})")
            continue
        out[name] = SequencePolicy(res.journeys, name=name)
        scores[name] = float(score(env.problem, res.journeys).mean()) if env.n_customers else 0.0
    return out, scores, notes
