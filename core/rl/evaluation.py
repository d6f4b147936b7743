"""Monte-Carlo evaluation of policies on held-out customers, with common random numbers.

Each policy runs ``episodes`` episodes per held-out customer. The value is the mean return; its
95% confidence interval is ``value +/- 1.96 * se`` with ``se = sqrt(sum_c s_c**2 / E) / n`` (``s_c``
the standard deviation of customer ``c``'s returns over its ``E`` episodes): the uncertainty of
the Monte-Carlo estimate of the expected value *for these customers* (the acceptance draws are
the only randomness). Paired differences against a reference policy use the same formula on
per-episode differences (common random numbers make them precise). Fixed journeys (annealed,
exact, greedy) are sequence policies: offer the journey's products in order, skipping any that
is no longer offerable (its prerequisite was rejected). They optimise the *deterministic* score
(every offer accepted), reported alongside as ``deterministic``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.common.jsonutil import to_jsonable
from core.common.progress import Progress
from core.common.rng import customer_keys, derive_seed
from core.rl._base import _SPLIT
from core.rl.env import JourneyEnv
from core.rl.policies import Policy

Z95 = 1.959963984540054


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x.astype(np.uint64)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Rollout:
    """Returns and first actions of a policy, ``[n_customers, n_episodes]``."""

    returns: np.ndarray
    first_actions: np.ndarray
    lengths: np.ndarray
    accepted: np.ndarray


def rollout(
    env: JourneyEnv,
    policy: Policy,
    *,
    episodes: int = 1,
    seed: int = 0,
    rows: np.ndarray | None = None,
    accept_all: bool = False,
) -> Rollout:
    """Run ``episodes`` episodes of ``policy`` for each customer (all at once, vectorised).

    Episode ``e`` of customer ``c`` uses the acceptance draws of (seed, id of ``c``, ``e``), so
    two policies rolled out with the same seed face the same draws.
    """
    r = np.arange(env.n_customers) if rows is None else np.asarray(rows, dtype=np.int64)
    n = r.shape[0]
    b = env.reset(
        np.repeat(r, episodes), np.tile(np.arange(episodes), n), seed=seed, accept_all=accept_all
    )
    accepted = np.zeros(b.size, dtype=np.int64)
    for _ in range(env.horizon + 1):
        if b.done.all():
            break
        valid = env.valid_actions(b)
        a = np.where(b.done, env.stop, policy.act(env, b, valid))
        accepted += env.step(b, a) != 0
    first = np.where(b.first_action < 0, env.stop, b.first_action)
    return Rollout(
        returns=b.ret.reshape(n, episodes),
        first_actions=first.reshape(n, episodes),
        lengths=b.t.reshape(n, episodes),
        accepted=_popcount(b.have & ~env.held_bits[b.rows]).reshape(n, episodes),
    )


@dataclass(frozen=True)
class PolicyValue:
    """Monte-Carlo value of one policy on a set of customers.

    ``value`` is the mean return per customer; ``ci_low``/``ci_high`` its 95% interval;
    ``diff``/``diff_low``/``diff_high`` the paired difference to the reference policy (None for
    the reference itself); ``deterministic`` the mean return when every offer is accepted.
    """

    name: str
    kind: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    episodes: int
    deterministic: float
    mean_offers: float
    mean_accepted: float
    diff: float | None = None
    diff_low: float | None = None
    diff_high: float | None = None


@dataclass(frozen=True, eq=False)
class Comparison:
    """Policies evaluated on the same customers with the same draws."""

    values: dict[str, PolicyValue]
    reference: str | None
    seed: int
    episodes: int
    rollouts: dict[str, Rollout] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per policy, best value first."""
        rows = [v.__dict__ for v in self.values.values()]
        df = pd.DataFrame(rows)
        return df.sort_values("value", ascending=False, kind="stable").reset_index(drop=True)

    def report(self) -> dict[str, Any]:
        """JSON-friendly ``{"policies": {name: {...}}, "reference", "seed", "episodes"}``."""
        return {
            "policies": {k: to_jsonable(v.__dict__, digits=6) for k, v in self.values.items()},
            "reference": self.reference,
            "seed": self.seed,
            "episodes": self.episodes,
        }


def mc_interval(returns: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% interval of ``returns`` ``[n_customers, n_episodes]``.

    The standard error is ``sqrt(sum_c var_c / E) / n`` with ``var_c`` the sample variance of
    customer ``c`` over its ``E`` episodes (the draws are the randomness, the customers fixed);
    with one episode per customer it falls back to ``std(returns) / sqrt(n)``.
    """
    r = np.asarray(returns, dtype=np.float64)
    n, e = r.shape
    if n == 0 or e == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(r.mean())
    if e >= 2:
        se = math.sqrt(float(r.var(axis=1, ddof=1).sum()) / e) / n
    else:
        se = float(r[:, 0].std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return mean, mean - Z95 * se, mean + Z95 * se


def evaluate(
    env: JourneyEnv,
    policies: Mapping[str, Policy],
    *,
    episodes: int = 20,
    seed: int = 0,
    reference: str | None = None,
    kinds: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Monte-Carlo value of each policy on every customer of ``env``, common random numbers.

    Parameters
    ----------
    env : JourneyEnv
        The (held-out) customers.
    policies : mapping
        Name -> policy (an agent, :class:`SequencePolicy`, :class:`MyopicPolicy`, ...).
    episodes : int
        Episodes per customer (>= 2 for the within-customer interval).
    seed : int
        Seed of the acceptance draws (the same for every policy).
    reference : str, optional
        Policy to report paired differences against.
    kinds : mapping, optional
        Name -> kind label (``learned``, ``journeys``, ``baseline``).
    progress : callable, optional
        ``progress(done, total)`` over policies.

    Returns
    -------
    Comparison
    """
    if episodes < 1:
        raise OptionError(f"episodes must be >= 1, got {episodes}")
    if reference is not None and reference not in policies:
        raise OptionError(f"reference {reference!r} is not one of the policies")
    rolls: dict[str, Rollout] = {}
    dets: dict[str, float] = {}
    total = len(policies)
    for i, (name, pol) in enumerate(policies.items()):
        rolls[name] = rollout(env, pol, episodes=episodes, seed=seed)
        det = rollout(env, pol, episodes=1, seed=seed, accept_all=True)
        dets[name] = float(det.returns.mean()) if env.n_customers else float("nan")
        if progress is not None:
            progress(i + 1, total)
    values: dict[str, PolicyValue] = {}
    for name, ro in rolls.items():
        v, lo, hi = mc_interval(ro.returns)
        diff = dlo = dhi = None
        if reference is not None and name != reference:
            diff, dlo, dhi = mc_interval(ro.returns - rolls[reference].returns)
        values[name] = PolicyValue(
            name=name,
            kind=(kinds or {}).get(name, ""),
            value=v,
            ci_low=lo,
            ci_high=hi,
            n=env.n_customers,
            episodes=episodes,
            deterministic=dets[name],
            mean_offers=float(ro.lengths.mean()) if ro.lengths.size else 0.0,
            mean_accepted=float(ro.accepted.mean()) if ro.accepted.size else 0.0,
            diff=diff,
            diff_low=dlo,
            diff_high=dhi,
        )
    return Comparison(
        values=values, reference=reference, seed=seed, episodes=episodes, rollouts=rolls
    )


def split_customers(
    env: JourneyEnv, test_size: float = 0.3, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out customer rows, by a seeded hash of the customer ids (sorted rows)."""
    if not 0 < test_size < 1:
        raise OptionError(f"test_size must be in (0, 1), got {test_size}")
    n = env.n_customers
    keys = customer_keys(env.problem.ids, derive_seed(seed, _SPLIT))
    order = np.argsort(keys, kind="stable")
    n_test = min(max(1, round(test_size * n)), n - 1) if n >= 2 else 0
    return np.sort(order[n_test:]), np.sort(order[:n_test])
