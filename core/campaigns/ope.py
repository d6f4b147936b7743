"""Off-policy evaluation: what a targeting policy would earn, from a log of randomized offers.

Open Bandit Pipeline-style estimators, one small class each, sharing one signature so a page
can list them side by side::

    estimate_policy_value(reward, action, action_dist, pscore, estimated_rewards=None) -> float
    estimate_interval(reward, action, action_dist, pscore, estimated_rewards=None, *,
                      level=0.95, n_bootstrap=0, rng=None) -> PolicyValue

``reward`` ``[n]``: the observed outcome; ``action`` ``[n]``: the arm index each row received;
``action_dist`` ``[n, K]``: the probability the evaluated policy gives each arm for each row
(one-hot for a deterministic policy); ``pscore`` ``[n]``: the probability of the received arm
under the logging design; ``estimated_rewards`` ``[n, K]``: an outcome model's prediction for
each arm (fitted on *other* rows than the evaluated ones).

``ipw``    inverse probability weighting: mean of ``w r`` with ``w = pi(a | x) / p``
``snipw``  self-normalised IPW: ``sum w r / sum w`` (bounded by the rewards; small bias)
``dr``     doubly robust: ``sum_a pi(a | x) q(x, a) + w (r - q(x, a))``; unbiased when the
           propensities are known (an experiment), and lower variance the better ``q`` is
``dm``     direct method: ``sum_a pi(a | x) q(x, a)`` (no reweighting; biased when ``q`` is)

Intervals: by default the normal approximation with the estimator's influence function (the
value is a mean of per-row terms; SNIPW by the delta method); ``n_bootstrap > 0`` gives
percentile bootstrap intervals as Open Bandit Pipeline does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.campaigns._base import LEVEL, check_level, z_value
from core.common.errors import OptionError
from core.common.rng import as_generator


@dataclass(frozen=True)
class PolicyValue:
    """An estimated policy value with its interval.

    ``value`` is the expected outcome per customer under the policy; ``[ci_low, ci_high]`` its
    interval at ``level`` (``interval``: ``"normal"`` or ``"bootstrap"``).
    """

    estimator: str
    value: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    n: int
    interval: str = "normal"


def _check(
    reward: Any, action: Any, action_dist: Any, pscore: Any, estimated_rewards: Any, need_q: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    r = np.asarray(reward, dtype=np.float64)
    a = np.asarray(action)
    pi = np.asarray(action_dist, dtype=np.float64)
    p = np.asarray(pscore, dtype=np.float64)
    n = len(r)
    if n == 0:
        raise OptionError("no rows to evaluate the policy on")
    if pi.ndim != 2 or pi.shape[0] != n:
        raise OptionError(f"action_dist must be [n, K] with n = {n}, got shape {pi.shape}")
    if a.shape != (n,) or p.shape != (n,):
        raise OptionError("reward, action and pscore must be 1-D arrays of the same length")
    if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= pi.shape[1]:
        raise OptionError(f"action must hold arm indices 0..{pi.shape[1] - 1}")
    if not np.all((p > 0) & (p <= 1)):
        raise OptionError("pscore must be in (0, 1]: the probability of the arm received")
    if np.any(pi < -1e-12) or not np.allclose(pi.sum(axis=1), 1.0, atol=1e-6):
        raise OptionError("each row of action_dist must be probabilities summing to 1")
    if not np.all(np.isfinite(r)):
        raise OptionError("reward must be finite")
    q = None
    if estimated_rewards is not None:
        q = np.asarray(estimated_rewards, dtype=np.float64)
        if q.shape != pi.shape:
            raise OptionError(f"estimated_rewards must have shape {pi.shape}, got {q.shape}")
    elif need_q:
        raise OptionError("this estimator needs estimated_rewards (an outcome model's predictions)")
    return r, a.astype(np.int64), pi, p, q


class OffPolicyEstimator:
    """Base class: subclasses give ``name`` and ``_terms`` (the value and its influence terms)."""

    name = ""
    needs_model = False

    def _terms(
        self, r: np.ndarray, a: np.ndarray, pi: np.ndarray, p: np.ndarray, q: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def estimate_policy_value(
        self,
        reward: Any,
        action: Any,
        action_dist: Any,
        pscore: Any,
        estimated_rewards: Any = None,
    ) -> float:
        """The estimated expected outcome per customer under the policy ``action_dist``."""
        args = _check(reward, action, action_dist, pscore, estimated_rewards, self.needs_model)
        return self._terms(*args)[0]

    def estimate_interval(
        self,
        reward: Any,
        action: Any,
        action_dist: Any,
        pscore: Any,
        estimated_rewards: Any = None,
        *,
        level: float = LEVEL,
        n_bootstrap: int = 0,
        rng: np.random.Generator | int | None = None,
    ) -> PolicyValue:
        """The estimate with its interval (normal, or percentile bootstrap when asked)."""
        level = check_level(level)
        r, a, pi, p, q = _check(
            reward, action, action_dist, pscore, estimated_rewards, self.needs_model
        )
        value, infl = self._terms(r, a, pi, p, q)
        n = len(r)
        se = float(infl.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        if n_bootstrap and n_bootstrap > 0:
            gen = as_generator(rng)
            boot = np.empty(int(n_bootstrap))
            for b in range(len(boot)):
                idx = gen.integers(0, n, n)
                boot[b] = self._terms(
                    r[idx], a[idx], pi[idx], p[idx], None if q is None else q[idx]
                )[0]
            lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
            return PolicyValue(self.name, value, se, float(lo), float(hi), level, n, "bootstrap")
        z = z_value(level)
        return PolicyValue(self.name, value, se, value - z * se, value + z * se, level, n)

    def estimate_difference(
        self,
        reward: Any,
        action: Any,
        action_dist: Any,
        baseline_dist: Any,
        pscore: Any,
        estimated_rewards: Any = None,
        *,
        level: float = LEVEL,
    ) -> PolicyValue:
        """Value of ``action_dist`` minus that of ``baseline_dist``, on the same rows.

        The interval is paired (the difference of the two estimators' per-row terms), so it is
        much narrower than comparing the two intervals: use it to say whether a targeting beats
        a single arm.
        """
        level = check_level(level)
        r, a, pi, p, q = _check(
            reward, action, action_dist, pscore, estimated_rewards, self.needs_model
        )
        base = _check(reward, action, baseline_dist, pscore, estimated_rewards, self.needs_model)
        v1, i1 = self._terms(r, a, pi, p, q)
        v0, i0 = self._terms(*base)
        n = len(r)
        se = float((i1 - i0).std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        z = z_value(level)
        d = v1 - v0
        return PolicyValue(f"{self.name} difference", d, se, d - z * se, d + z * se, level, n)


class IPW(OffPolicyEstimator):
    """Inverse probability weighting (see the module docstring)."""

    name = "ipw"

    def _terms(self, r, a, pi, p, q):
        w = pi[np.arange(len(a)), a] / p
        t = w * r
        v = float(t.mean())
        return v, t - v


class SNIPW(OffPolicyEstimator):
    """Self-normalised inverse probability weighting (see the module docstring)."""

    name = "snipw"

    def _terms(self, r, a, pi, p, q):
        w = pi[np.arange(len(a)), a] / p
        sw = w.sum()
        if sw <= 0:
            return float("nan"), np.full(len(r), np.nan)
        v = float((w * r).sum() / sw)
        return v, w * (r - v) / w.mean()


class DoublyRobust(OffPolicyEstimator):
    """Doubly robust estimation (see the module docstring)."""

    name = "dr"
    needs_model = True

    def _terms(self, r, a, pi, p, q):
        rows = np.arange(len(a))
        t = (pi * q).sum(axis=1) + pi[rows, a] / p * (r - q[rows, a])
        v = float(t.mean())
        return v, t - v


class DirectMethod(OffPolicyEstimator):
    """The outcome model's average prediction under the policy (see the module docstring)."""

    name = "dm"
    needs_model = True

    def _terms(self, r, a, pi, p, q):
        t = (pi * q).sum(axis=1)
        v = float(t.mean())
        return v, t - v


#: The estimators by name, in the order a page lists them.
OPE_ESTIMATORS: dict[str, type[OffPolicyEstimator]] = {
    "ipw": IPW,
    "snipw": SNIPW,
    "dr": DoublyRobust,
    "dm": DirectMethod,
}
