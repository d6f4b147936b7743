"""Reinforcement-learning next-best-action agents, judged against the optimizer's journeys.

The question managers ask: *which offer should come next for this customer, and does a policy
learned by trial and error beat the optimizer's journeys?* This module answers it on one
yardstick: the expected value of a policy when every offer is accepted only with the
customer's acceptance propensity, estimated by Monte-Carlo on the same held-out customers with
the same random draws for every policy.

Environment (:class:`JourneyEnv`)
---------------------------------
Built from a :class:`core.journeys.JourneyProblem` (the weighted opportunity ``O_w[c, i, j]``
*without* propensity, holdings, prerequisites, exclusions, ``max_length``, ``discount``,
``aggregation``) and acceptance propensities ``p[c, j]``.

* **State** of customer ``c``: the products it has (held or accepted), the products offered in
  this episode, the last accepted product ``prev`` (or none yet) and the step ``t`` (= number of
  offers made), plus a customer summary (segment id and/or feature vector).
* **Actions**: every product that is not had, not offered before in the episode, not excluded by
  a product had, and whose prerequisites are all had (held or *accepted*: a rejected
  prerequisite blocks its add-ons); plus ``stop`` (index ``P``).
* **Transition**: an offer of ``j`` is accepted with probability ``p[c, j]``. The uniform draw
  is a counter-based hash of (seed, customer id, episode, product), so a customer "would accept
  ``j`` in episode ``e``" is fixed whatever the policy and whenever ``j`` is offered: all policies
  face the same customers with the same draws (common random numbers), and results do not
  depend on batching.
* **Reward**: ``discount**t * O_w[c, prev, j]`` when the offer at step ``t`` (0-based) is
  accepted, with ``prev`` the last accepted product, or the first-step row of
  :func:`core.journeys.first_rows` (held aggregation, or the start node for customers holding
  nothing) before any acceptance; ``0`` when rejected. **A rejected offer still consumes a step**
  (the contact was made) and does not move ``prev``. With every propensity 1 an episode's return
  equals :func:`core.journeys.score` of the offered sequence.
* **End**: after ``min(max_length, P)`` offers, on ``stop``, or when no product is offerable.

Agents (no deep-learning dependency)
------------------------------------
* :class:`QLearningAgent`: tabular Q-learning over ``(segment, portfolio, offered, prev)``
  states (the step is the number of offered products), epsilon-greedy exploration decaying
  linearly, learning rate ``1 / (1 + visits) ** lr_power``, updates in reverse time order over
  each batch of episodes. Generalises across customers only through the segment.
* :class:`FQIAgent`: fitted Q-iteration with a tree ensemble on (customer features, segment,
  portfolio, offered, prev, step, action one-hot, action context) from exploratory episodes,
  ``max_length + 1`` backups per round, several rounds of epsilon-greedy data collection.
* :class:`BanditAgent`: a contextual bandit (LinUCB, one ridge regression per product) for the
  *next* offer: myopic by design, it learns the immediate expected reward and stops when no
  offer is expected to pay.

``Q(s, stop) = 0`` for every agent; the greedy policies stop when no product has a positive value
(ties go to stop), and the tabular agent stops in a state it never visited in training.

Evaluation (:func:`evaluate`, :func:`compare`)
----------------------------------------------
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
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from core.common.errors import CJOError, OptionError
from core.common.jsonutil import to_jsonable
from core.common.progress import Progress
from core.common.rng import customer_keys, derive_seed, seed_of, uniform_draws
from core.journeys import (
    JourneyProblem,
    first_rows,
    score,
)

AGENTS: tuple[str, ...] = ("qlearning", "fqi", "bandit")
WEIGHTED_EXACT = "exact-weighted"
SOLVERS: tuple[str, ...] = ("anneal", "exact", "greedy", WEIGHTED_EXACT)
STOP_LABEL = "stop"
Z95 = 1.959963984540054
MAX_TABULAR_PRODUCTS = 20


# domains of the counter-based random streams
_ACCEPT, _EXPLORE, _PICK, _TRAIN, _SPLIT = 1, 2, 3, 4, 5


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x.astype(np.uint64)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class EnvBatch:
    """The mutable state of a batch of episodes (one row per customer-episode).

    Attributes
    ----------
    rows : int64 ``[m]``
        Customer rows of the environment.
    episode : int64 ``[m]``
        Episode index (a counter of the acceptance stream).
    keys : uint64 ``[m]``
        Random-stream key of each customer, from (seed, customer id).
    have : uint64 ``[m]``
        Bitmask of products held or accepted.
    offered : uint64 ``[m]``
        Bitmask of products offered in this episode (accepted or not).
    prev : int64 ``[m]``
        Last accepted product, -1 before any acceptance.
    t : int64 ``[m]``
        Offers made so far.
    done : bool ``[m]``
        Episode over.
    ret : float64 ``[m]``
        Return so far.
    first_action : int64 ``[m]``
        First action taken (``P`` = stop, -1 = none yet).
    accept_all : bool
        Every offer is accepted (the deterministic world the optimizer scores).
    """

    rows: np.ndarray
    episode: np.ndarray
    keys: np.ndarray
    have: np.ndarray
    offered: np.ndarray
    prev: np.ndarray
    t: np.ndarray
    done: np.ndarray
    ret: np.ndarray
    first_action: np.ndarray
    accept_all: bool = False

    def copy(self) -> EnvBatch:
        """An independent copy."""
        parts: dict[str, Any] = {
            k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()
        }
        return EnvBatch(**parts)

    @property
    def size(self) -> int:
        return int(self.rows.shape[0])


@dataclass(frozen=True, eq=False)
class JourneyEnv:
    """Offer-by-offer journey environment (see the module docstring for the dynamics).

    Parameters
    ----------
    problem : JourneyProblem
        Opportunity ``O_w`` (weighted factor changes, *not* multiplied by propensity), holdings,
        rules, ``max_length``, ``discount``, ``aggregation``, customer ids and product keys.
    propensity : numpy.ndarray
        ``[n, P]`` probability that customer ``c`` accepts product ``j`` when offered (given its
        prerequisites are met), in [0, 1].
    segments : numpy.ndarray, optional
        int ``[n]`` segment id per customer, ``>= 0`` (default: one segment, 0).
    segment_names : mapping, optional
        Segment id -> name.
    features : numpy.ndarray, optional
        float ``[n, F]`` customer summary for the function-approximation agents (default: none).
    feature_names : sequence of str, optional
        Names of the ``F`` features.
    product_labels : sequence of str, optional
        Display names of the products (default: the product keys).

    Raises
    ------
    ValueError
        A shape or value that does not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from core.journeys import JourneyProblem
    >>> O = np.zeros((1, 3, 2), np.float32); O[0, 0] = [1.0, 2.0]
    >>> no = np.zeros((2, 2), bool)
    >>> env = JourneyEnv(JourneyProblem(O, np.zeros((1, 2), bool), no, no, 2, 1.0),
    ...                  np.ones((1, 2)))
    >>> b = env.reset(np.array([0]), seed=0)
    >>> env.valid_actions(b).tolist()
    [[True, True, True]]
    >>> env.step(b, np.array([1])).tolist()
    [2.0]
    """

    problem: JourneyProblem
    propensity: np.ndarray
    segments: np.ndarray | None = None
    segment_names: Mapping[int, str] | None = None
    features: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    product_labels: tuple[str, ...] = ()
    _bits: np.ndarray = field(init=False, repr=False)
    _req: np.ndarray = field(init=False, repr=False)
    _excl: np.ndarray = field(init=False, repr=False)
    _held: np.ndarray = field(init=False, repr=False)
    _first: np.ndarray = field(init=False, repr=False)
    _values: np.ndarray = field(init=False, repr=False)
    _powers: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        pb = self.problem
        if not isinstance(pb, JourneyProblem):
            raise OptionError("problem must be a core.journeys.JourneyProblem")
        n, p = pb.n_customers, pb.n_products
        prop = np.asarray(self.propensity, dtype=np.float64)
        if prop.shape != (n, p):
            raise OptionError(f"propensity must have shape {(n, p)}, got {prop.shape}")
        if not np.all(np.isfinite(prop)) or prop.min(initial=0.0) < 0 or prop.max(initial=0) > 1:
            raise OptionError("propensity must hold probabilities in [0, 1]")
        set_(self, "propensity", prop)
        seg = np.zeros(n, dtype=np.int64) if self.segments is None else np.asarray(self.segments)
        if seg.shape != (n,) or not np.issubdtype(seg.dtype, np.integer) or seg.min(initial=0) < 0:
            raise OptionError(f"segments must be non-negative ints of shape ({n},)")
        set_(self, "segments", seg.astype(np.int64))
        names = dict(self.segment_names or {})
        for s in np.unique(seg):
            names.setdefault(int(s), f"segment {int(s)}")
        set_(self, "segment_names", names)
        if self.features is None:
            feats = np.zeros((n, 0))
        else:
            feats = np.asarray(self.features, dtype=np.float64)
            if feats.ndim != 2 or feats.shape[0] != n or not np.all(np.isfinite(feats)):
                raise OptionError(f"features must be a finite float array with {n} rows")
        set_(self, "features", feats)
        fnames = tuple(self.feature_names) or tuple(f"x{i}" for i in range(feats.shape[1]))
        if len(fnames) != feats.shape[1]:
            raise OptionError(f"feature_names must name {feats.shape[1]} features")
        set_(self, "feature_names", fnames)
        labels = tuple(self.product_labels) or pb.product_keys
        if len(labels) != p:
            raise OptionError(f"product_labels must name {p} products")
        set_(self, "product_labels", labels)
        bits = np.left_shift(np.uint64(1), np.arange(p, dtype=np.uint64))
        set_(self, "_bits", bits)
        set_(self, "_req", np.bitwise_or.reduce(np.where(pb.requires, bits, 0), axis=1))
        set_(self, "_excl", np.bitwise_or.reduce(np.where(pb.excludes, bits, 0), axis=1))
        set_(self, "_held", np.bitwise_or.reduce(np.where(pb.held, bits, 0), axis=1))
        set_(self, "_first", first_rows(pb))
        set_(self, "_values", pb.opportunity.astype(np.float64))
        set_(self, "_powers", np.array([pb.discount**t for t in range(p + 1)]))

    # ---- shape ------------------------------------------------------------------------------

    @property
    def n_customers(self) -> int:
        return self.problem.n_customers

    @property
    def n_products(self) -> int:
        return self.problem.n_products

    @property
    def stop(self) -> int:
        """Index of the stop action (``P``)."""
        return self.problem.n_products

    @property
    def horizon(self) -> int:
        """Maximum number of offers per episode: ``min(max_length, P)``."""
        return min(self.problem.max_length, self.problem.n_products)

    @property
    def product_keys(self) -> tuple[str, ...]:
        return self.problem.product_keys

    @property
    def n_segments(self) -> int:
        assert self.segments is not None
        return int(self.segments.max(initial=0)) + 1

    def action_label(self, a: int) -> str:
        """Display name of action ``a`` (``stop`` for ``P``)."""
        return STOP_LABEL if a == self.stop else self.product_labels[a]

    def subset(self, idx: Any) -> JourneyEnv:
        """The environment of the customers ``idx`` (ids kept, so random draws are the same)."""
        assert self.segments is not None and self.features is not None
        return JourneyEnv(
            problem=self.problem.subset(idx),
            propensity=self.propensity[idx],
            segments=self.segments[idx],
            segment_names=self.segment_names,
            features=self.features[idx],
            feature_names=self.feature_names,
            product_labels=self.product_labels,
        )

    # ---- dynamics ---------------------------------------------------------------------------

    def reset(
        self,
        rows: np.ndarray,
        episodes: np.ndarray | int = 0,
        *,
        seed: int = 0,
        accept_all: bool = False,
    ) -> EnvBatch:
        """Start one episode per entry of ``rows`` (customer rows) with episode indices ``episodes``.

        ``seed`` and the customer id fix the acceptance draws; ``accept_all`` makes every offer
        accepted (the deterministic world of the optimizer's score).
        """
        r = np.asarray(rows, dtype=np.int64)
        if r.ndim != 1 or (r.size and (r.min() < 0 or r.max() >= self.n_customers)):
            raise OptionError(f"rows must be customer rows in 0..{self.n_customers - 1}")
        m = r.shape[0]
        ep = np.broadcast_to(np.asarray(episodes, dtype=np.int64), (m,)).copy()
        keys = customer_keys(self.problem.ids, int(seed))[r] if m else np.zeros(0, np.uint64)
        held = self._held[r]
        b = EnvBatch(
            rows=r,
            episode=ep,
            keys=keys,
            have=held.copy(),
            offered=np.zeros(m, dtype=np.uint64),
            prev=np.full(m, -1, dtype=np.int64),
            t=np.zeros(m, dtype=np.int64),
            done=np.zeros(m, dtype=bool),
            ret=np.zeros(m),
            first_action=np.full(m, -1, dtype=np.int64),
            accept_all=bool(accept_all),
        )
        b.done = np.asarray(~self.valid_actions(b)[:, : self.stop].any(axis=1))
        return b

    def valid_actions(self, batch: EnvBatch) -> np.ndarray:
        """bool ``[m, P + 1]``: offerable products and ``stop`` (all False once done)."""
        bits = self._bits
        have = batch.have[:, None]
        ok = ((have | batch.offered[:, None]) & bits[None, :]) == 0
        ok &= (self._req[None, :] & ~have) == 0
        ok &= (self._excl[None, :] & have) == 0
        live = ~batch.done & (batch.t < self.horizon)
        ok &= live[:, None]
        return np.concatenate([ok, ~batch.done[:, None]], axis=1)

    def gains(self, batch: EnvBatch) -> np.ndarray:
        """float64 ``[m, P]``: ``O_w[c, prev, j]``, the (undiscounted) reward if ``j`` is accepted now."""
        first = self._first[batch.rows]
        after = self._values[batch.rows, 1 + np.maximum(batch.prev, 0)]
        return np.where((batch.prev < 0)[:, None], first, after)

    def expected_rewards(self, batch: EnvBatch) -> np.ndarray:
        """float64 ``[m, P]``: ``discount**t * p[c, j] * O_w[c, prev, j]`` (the myopic value)."""
        powers = self._powers[np.minimum(batch.t, self.n_products)]
        return powers[:, None] * self.propensity[batch.rows] * self.gains(batch)

    def step(self, batch: EnvBatch, actions: np.ndarray) -> np.ndarray:
        """Apply ``actions`` (int ``[m]``, ``P`` = stop) in place; return the rewards ``[m]``.

        Rows already done ignore their action (reward 0).

        Raises
        ------
        ValueError
            An action that is not valid for a live row.
        """
        a = np.asarray(actions, dtype=np.int64)
        m, p = batch.size, self.n_products
        if a.shape != (m,):
            raise OptionError(f"actions must have shape ({m},), got {a.shape}")
        live = ~batch.done
        valid = self.valid_actions(batch)
        a_safe = np.clip(a, 0, p)
        if (live & ~valid[np.arange(m), a_safe]).any() or (live & ((a < 0) | (a > p))).any():
            bad = np.flatnonzero(live & ~valid[np.arange(m), a_safe])[:3]
            raise OptionError(f"invalid action for batch rows {bad.tolist()}")
        batch.first_action = np.where(batch.first_action < 0, a_safe, batch.first_action)
        stop = live & (a_safe == p)
        offer = live & ~stop
        j = np.minimum(a_safe, p - 1)
        if batch.accept_all:
            acc = offer.copy()
        else:
            u = uniform_draws(batch.keys, _ACCEPT, batch.episode, j)
            acc = offer & (u < self.propensity[batch.rows, j])
        gain = self.gains(batch)[np.arange(m), j]
        powers = self._powers[np.minimum(batch.t, p)]
        reward = np.where(acc, powers * gain, 0.0)
        bit = self._bits[j]
        batch.have = np.where(acc, batch.have | bit, batch.have)
        batch.offered = np.where(offer, batch.offered | bit, batch.offered)
        batch.prev = np.where(acc, j, batch.prev)
        batch.t = batch.t + offer
        batch.ret = batch.ret + reward
        batch.done = batch.done | stop
        batch.done = batch.done | ~self.valid_actions(batch)[:, :p].any(axis=1)
        return reward

    # ---- construction -----------------------------------------------------------------------

    @classmethod
    def from_components(
        cls,
        components: Any,
        weights: Mapping[str, float] | Sequence[float],
        propensity: np.ndarray,
        catalog: Any,
        *,
        levers: Mapping[str, float] | None = None,
        aggregation: str = "sum",
        **kwargs: Any,
    ) -> JourneyEnv:
        """Environment from :class:`core.opportunity.Components` and factor weights.

        ``O_w = combine(components, weights, levers)`` (without propensity: acceptance is
        simulated, so multiplying by it too would count it twice). ``kwargs`` go to the
        constructor (segments, features, ...).
        """
        from core.opportunity import combine

        opp = combine(components, weights, levers)
        problem = JourneyProblem(
            opportunity=opp,
            held=components.held,
            requires=catalog.requires_matrix(),
            excludes=catalog.excludes_matrix(),
            max_length=catalog.max_length,
            discount=catalog.discount,
            aggregation=aggregation,
            customer_ids=_int_or_str_ids(components.customer_ids),
            product_keys=tuple(components.product_keys),
        )
        kwargs.setdefault("product_labels", tuple(getattr(catalog, "labels", ())))
        return cls(problem, propensity, **kwargs)


def _int_or_str_ids(ids: Any) -> np.ndarray:
    a = np.asarray(ids)
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int64)
    return a.astype(str)


# --------------------------------------------------------------------------------------------
# policies and rollouts
# --------------------------------------------------------------------------------------------


class Policy(Protocol):
    """Anything with ``act(env, batch, valid) -> int [m]`` (``P`` = stop)."""

    def act(self, env: JourneyEnv, batch: EnvBatch, valid: np.ndarray) -> np.ndarray: ...


def _greedy_from_values(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """argmax over valid products of ``values`` ``[m, P]``; stop when none is > 0 (ties: stop)."""
    p = values.shape[1]
    v = np.where(valid[:, :p], values, -np.inf)
    best = v.argmax(axis=1) if p else np.zeros(valid.shape[0], dtype=np.int64)
    top = v[np.arange(v.shape[0]), best] if p else np.full(valid.shape[0], -np.inf)
    return np.where(top > 0, best, p).astype(np.int64)


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
        have = env._held | np.uint64(acc)
        gain = env._first if prev < 0 else env._values[:, 1 + prev]
        for j in range(p):
            bit = 1 << j
            if off & bit:
                continue
            ok = (have & env._bits[j]) == 0
            ok &= (env._req[j] & ~have) == 0
            ok &= (env._excl[j] & have) == 0
            if not ok.any():
                continue
            pj = env.propensity[:, j]
            yes = env._powers[t] * gain[:, j] + self._value(acc | bit, off | bit, j)
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
        acc = batch.have & ~env._held[batch.rows]
        out = np.full(batch.size, env.stop, dtype=np.int64)
        keys = np.stack([acc.view(np.int64), batch.offered.view(np.int64), batch.prev], axis=1)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        for u, (a, o, pr) in enumerate(uniq.tolist()):
            sel = np.flatnonzero(inv.ravel() == u)
            q = self._q(int(a), int(o), int(pr))[batch.rows[sel]]
            out[sel] = _greedy_from_values(q, valid[sel])
        return out


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
        accepted=_popcount(b.have & ~env._held[b.rows]).reshape(n, episodes),
    )


# --------------------------------------------------------------------------------------------
# agents
# --------------------------------------------------------------------------------------------


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
    q_: np.ndarray
    visits_: np.ndarray

    def __init__(
        self,
        *,
        episodes: int = 40_000,
        batch_size: int = 256,
        epsilon: tuple[float, float] = (1.0, 0.02),
        explore_fraction: float = 0.8,
        lr_power: float = 0.6,
        window: int = 1000,
        random_state: np.random.Generator | int | None = 0,
    ) -> None:
        self.episodes = episodes
        self.batch_size = batch_size
        self.epsilon = epsilon
        self.explore_fraction = explore_fraction
        self.lr_power = lr_power
        self.window = window
        self.random_state = random_state

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


def _state_features(env: JourneyEnv, batch: EnvBatch, scale: np.ndarray) -> np.ndarray:
    """Customer features (scaled), segment one-hot, portfolio, offered, prev one-hot, step."""
    assert env.features is not None and env.segments is not None
    p = env.n_products
    bits = env._bits
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

    def __init__(
        self,
        *,
        episodes: int = 8_000,
        rounds: int = 3,
        iterations: int | None = None,
        regressor: str = "extra-trees",
        n_estimators: int = 40,
        min_samples_leaf: int = 3,
        epsilon: float = 0.3,
        stop_rate: float = 0.1,
        eval_customers: int = 1000,
        window: int = 1000,
        random_state: np.random.Generator | int | None = 0,
    ) -> None:
        self.episodes = episodes
        self.rounds = rounds
        self.iterations = iterations
        self.regressor = regressor
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.epsilon = epsilon
        self.stop_rate = stop_rate
        self.eval_customers = eval_customers
        self.window = window
        self.random_state = random_state

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

    def __init__(
        self,
        *,
        episodes: int = 20_000,
        batch_size: int = 256,
        alpha: float = 0.5,
        ridge: float = 1.0,
        window: int = 1000,
        random_state: np.random.Generator | int | None = 0,
    ) -> None:
        self.episodes = episodes
        self.batch_size = batch_size
        self.alpha = alpha
        self.ridge = ridge
        self.window = window
        self.random_state = random_state

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


Agent = QLearningAgent | FQIAgent | BanditAgent


def make_agent(
    name: str, *, episodes: int | None = None, random_state: Any = 0, **params: Any
) -> Agent:
    """An unfitted agent by name (``qlearning``, ``fqi``, ``bandit``)."""
    if episodes is not None:
        params["episodes"] = int(episodes)
    if name == "qlearning":
        return QLearningAgent(random_state=random_state, **params)
    if name == "fqi":
        return FQIAgent(random_state=random_state, **params)
    if name == "bandit":
        return BanditAgent(random_state=random_state, **params)
    raise CJOError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}.")


def train(
    env: JourneyEnv,
    agent: str = "qlearning",
    *,
    episodes: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    **params: Any,
) -> Agent:
    """Train one agent on ``env`` (the training customers); ``progress(done, total)``.

    Examples
    --------
    >>> import numpy as np
    >>> from core.journeys import JourneyProblem
    >>> O = np.zeros((1, 3, 2), np.float32); O[0, 0] = [1.0, -1.0]
    >>> no = np.zeros((2, 2), bool)
    >>> env = JourneyEnv(JourneyProblem(O, np.zeros((1, 2), bool), no, no, 2, 1.0),
    ...                  np.ones((1, 2)))
    >>> ag = train(env, "qlearning", episodes=200, batch_size=8)
    >>> rollout(env, ag).returns.tolist()
    [[1.0]]
    """
    return make_agent(agent, episodes=episodes, random_state=seed, **params).fit(
        env, progress=progress
    )


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# best actions per segment
# --------------------------------------------------------------------------------------------


def best_actions(env: JourneyEnv, roll: Rollout, *, policy: str = "policy") -> pd.DataFrame:
    """Which first action a policy picks in each segment, how often, and what it is worth.

    Parameters
    ----------
    env : JourneyEnv
        The customers the rollout ran on.
    roll : Rollout
        The policy's rollout (:func:`rollout` or ``Comparison.rollouts[name]``).
    policy : str
        Policy name used in the explanations.

    Returns
    -------
    pandas.DataFrame
        One row per (segment, first action), most frequent first within each segment:
        ``segment_id``, ``segment``, ``customers``, ``rank``, ``action``, ``label``, ``share``
        (of the segment's customers), ``value`` (mean journey return of those customers),
        ``propensity`` (their mean acceptance of that product), ``gain`` (weighted value if
        accepted as first offer) and ``explanation`` (one sentence, on the top row of each
        segment; empty on the others).
    """
    assert env.segments is not None and env.segment_names is not None
    first = roll.first_actions[:, 0] if roll.first_actions.size else np.zeros(0, np.int64)
    value = roll.returns.mean(axis=1) if roll.returns.size else np.zeros(0)
    firstrow = env._first
    rows: list[dict[str, Any]] = []
    for s in sorted(np.unique(env.segments).tolist()):
        who = env.segments == s
        n_s = int(who.sum())
        acts, counts = np.unique(first[who], return_counts=True)
        order = np.lexsort((acts, -counts))
        for rank, k in enumerate(order, start=1):
            a = int(acts[k])
            sel = who & (first == a)
            prop = float(env.propensity[sel, a].mean()) if a < env.stop else float("nan")
            gain = float(firstrow[sel, a].mean()) if a < env.stop else float("nan")
            row = {
                "segment_id": s,
                "segment": env.segment_names[s],
                "customers": n_s,
                "rank": rank,
                "action": env.product_keys[a] if a < env.stop else STOP_LABEL,
                "label": env.action_label(a),
                "share": counts[k] / n_s,
                "value": float(value[sel].mean()),
                "propensity": prop,
                "gain": gain,
                "explanation": "",
            }
            if rank == 1:
                row["explanation"] = _explain(row, policy)
            rows.append(row)
    return pd.DataFrame(rows)


def _explain(row: Mapping[str, Any], policy: str) -> str:
    seg, share = row["segment"], row["share"]
    if row["action"] == STOP_LABEL:
        return (
            f"In '{seg}' the {policy} policy makes no offer to {share:.0%} of customers: no "
            "offerable product is expected to add value for them."
        )
    return (
        f"In '{seg}' the {policy} policy opens with {row['label']} for {share:.0%} of customers: "
        f"they accept it {row['propensity']:.0%} of the time and it adds {row['gain']:+.2f} "
        f"(weighted opportunity) when taken, for an expected journey value of {row['value']:.2f}."
    )


# --------------------------------------------------------------------------------------------
# the lab: everything the RL page needs
# --------------------------------------------------------------------------------------------


def build_env(
    frame: pd.DataFrame,
    catalog: Any = "seed",
    *,
    weights: Mapping[str, float] | Sequence[float] = (1.0, 1.0, 1.0),
    levers: Mapping[str, float] | None = None,
    estimator: str = "peer-bayes",
    segmentation: Any = "auto",
    aggregation: str = "sum",
    random_state: int = 0,
    components: Any = None,
    propensity: Any = None,
    progress: Progress | None = None,
) -> JourneyEnv:
    """Environment for a customer table: components, weights, acceptance models, segments.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical customer data (:func:`core.data.io.load`).
    catalog : Catalog or str
        Catalog or its name (restricted to the data's columns).
    weights, levers
        Factor weights and product levers of :func:`core.opportunity.combine`.
    estimator : str
        Opportunity estimator (:func:`core.opportunity.build_components`).
    segmentation : "auto", Segmentation or None
        Segments of the tabular agent and of the best-actions table: ``"auto"`` runs
        :func:`core.insights.segments.segment`; None puts everyone in one segment.
    aggregation : str
        First-step aggregation of held products (:class:`core.journeys.JourneyProblem`).
    random_state : int
        Seed of every model fit.
    components : Components, optional
        Opportunity components of ``frame`` already estimated (e.g. the dashboard's cached
        ones, so the environment scores offers exactly as the journeys do); ``estimator`` is
        then not used. They must list the catalog's products, one row per customer of ``frame``.
    propensity : array-like ``[n, P]``, optional
        Acceptance propensities already predicted (e.g. by trained
        :class:`core.models.AcceptanceModels`); fitted on ``frame`` when omitted.
    progress : callable, optional
        ``progress(done, total)`` over the four stages.

    Returns
    -------
    JourneyEnv
        Customer features: each product's first-step opportunity and acceptance propensity.
    """
    from core.data.catalog import Catalog, load_catalog
    from core.models import AcceptanceModels
    from core.opportunity import build_components

    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    cat = cat.restrict_to(list(frame.columns))

    def tick(k: int) -> None:
        if progress is not None:
            progress(k, 4)

    if components is None:
        comps = build_components(frame, cat, estimator, random_state=random_state)
    else:
        comps = components
        if tuple(comps.product_keys) != tuple(cat.keys) or comps.n_customers != len(frame):
            raise CJOError(
                f"components list {list(comps.product_keys)} for {comps.n_customers} customers; "
                f"the catalog has {list(cat.keys)} and the frame {len(frame)} rows. Rebuild them."
            )
    tick(1)
    if propensity is None:
        propensity = (
            AcceptanceModels(cat, random_state=random_state).fit(frame).predict_proba(frame)
        )
    prop = np.clip(np.asarray(propensity, dtype=np.float64), 0.0, 1.0)
    if prop.shape != (len(frame), cat.n_products):
        raise CJOError(
            f"propensity has shape {prop.shape}; expected {(len(frame), cat.n_products)} "
            "(customers x catalog products)."
        )
    tick(2)
    seg_labels: np.ndarray | None = None
    names: dict[int, str] | None = None
    if isinstance(segmentation, str) and segmentation == "auto":
        from core.insights.segments import segment

        segmentation = segment(frame, random_state=random_state, n_stability=0)
    if segmentation is not None:
        labels = np.asarray(segmentation.labels, dtype=np.int64)
        noise = labels < 0
        names = {int(k): str(v) for k, v in segmentation.names.items() if int(k) >= 0}
        if noise.any():
            labels = np.where(noise, max(names, default=-1) + 1, labels)
            names[int(labels[noise][0])] = str(segmentation.names.get(-1, "noise"))
        seg_labels = labels
    tick(3)
    base = JourneyEnv.from_components(
        comps, weights, prop, cat, levers=levers, aggregation=aggregation
    )
    firstrow = base._first
    keys = cat.keys
    env = JourneyEnv(
        problem=base.problem,
        propensity=prop,
        segments=seg_labels,
        segment_names=names,
        features=np.concatenate([firstrow, prop], axis=1),
        feature_names=tuple(f"gain_{k}" for k in keys) + tuple(f"propensity_{k}" for k in keys),
        product_labels=cat.labels,
    )
    tick(4)
    return env


DEFAULT_EPISODES: dict[str, int] = {"qlearning": 40_000, "fqi": 8_000, "bandit": 20_000}


@dataclass(frozen=True, eq=False)
class LabResult:
    """Everything the RL lab page shows.

    Attributes
    ----------
    comparison : Comparison
        Values with confidence intervals of every policy on the held-out customers.
    table : pandas.DataFrame
        ``comparison.table()`` with a ``label`` column for charts.
    curves : dict[str, pandas.DataFrame]
        Agent -> training curve (``episode``, ``return_ma``).
    best_actions : dict[str, pandas.DataFrame]
        Agent -> :func:`best_actions` on the held-out customers.
    agents : dict
        Agent name -> fitted agent.
    train_rows, test_rows : numpy.ndarray
        Customer rows used for training and evaluation.
    notes : tuple of str
        Caveats (solvers left out, state coverage of the tabular agent, ...).
    params : dict
        Options as run.
    seconds : dict
        Wall time per stage.
    """

    comparison: Comparison
    table: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    best_actions: dict[str, pd.DataFrame]
    agents: dict[str, Any]
    train_rows: np.ndarray
    test_rows: np.ndarray
    notes: tuple[str, ...]
    params: dict[str, Any]
    seconds: dict[str, float]

    def report(self) -> dict[str, Any]:
        """JSON-friendly summary (the CLI's ``--report``)."""
        out = self.comparison.report()
        out["eval_seed"] = out["seed"]
        out["seed"] = self.params["seed"]
        out["agents"] = list(self.agents)
        out["params"] = self.params
        out["notes"] = list(self.notes)
        out["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        out["best_actions"] = {
            name: [
                to_jsonable(r, digits=6)
                for r in df[df["rank"] == 1].drop(columns=["rank"]).to_dict(orient="records")
            ]
            for name, df in self.best_actions.items()
        }
        return out


POLICY_LABELS: dict[str, str] = {
    "qlearning": "Q-learning (tabular)",
    "fqi": "Fitted Q-iteration",
    "bandit": "Contextual bandit",
    "anneal": "Annealed journeys",
    "exact": "Exact optimum journeys",
    "greedy": "Greedy journeys",
    WEIGHTED_EXACT: "Exact journeys on p x O",
    "expected-greedy": "Expected-value greedy",
    "oracle": "Optimal adaptive (knows p)",
}


def lab_data(
    env: JourneyEnv,
    *,
    agents: Sequence[str] = AGENTS,
    episodes: int | Mapping[str, int] | None = None,
    seed: int = 0,
    test_size: float = 0.3,
    eval_episodes: int = 20,
    solvers: Sequence[str] = SOLVERS,
    myopic: bool = True,
    oracle: bool = True,
    progress: Progress | None = None,
) -> LabResult:
    """Train the agents on part of the customers and compare every policy on the rest.

    Parameters
    ----------
    env : JourneyEnv
        All customers (:func:`build_env`).
    agents : sequence of str
        Agents to train (``qlearning``, ``fqi``, ``bandit``).
    episodes : int, mapping or None
        Training episodes (one number for all, per agent, or :data:`DEFAULT_EPISODES`).
    seed : int
        Seed of the split, the training and the evaluation draws.
    test_size : float
        Share of customers held out for the evaluation.
    eval_episodes : int
        Monte-Carlo episodes per held-out customer.
    solvers : sequence of str
        Optimizer journeys to compare (:func:`core.solvers.solve` names).
    myopic : bool
        Also evaluate the expected-value greedy policy (offer the largest ``p * O_w``).
    oracle : bool
        Also evaluate the optimal adaptive policy (:class:`ExpectimaxPolicy`) when the catalog
        is small enough; otherwise a note says why not.
    progress : callable, optional
        ``progress(done, total)`` over training and evaluation.

    Returns
    -------
    LabResult
    """
    for a in agents:
        if a not in AGENTS:
            raise CJOError(f"unknown agent {a!r}; choose from {', '.join(AGENTS)}.")
    if isinstance(episodes, Mapping):
        eps = {a: int(episodes.get(a, DEFAULT_EPISODES[a])) for a in agents}
    else:
        eps = {a: int(episodes) if episodes is not None else DEFAULT_EPISODES[a] for a in agents}
    if any(v < 1 for v in eps.values()):
        raise CJOError(f"episodes must be >= 1, got {eps}.")
    timings: dict[str, float] = {}
    train_rows, test_rows = split_customers(env, test_size, seed=seed)
    train_env, test_env = env.subset(train_rows), env.subset(test_rows)
    eval_weight = max(1, sum(eps.values()) // 10)
    total = float(sum(eps.values()) + eval_weight)
    offset = 0.0

    def sub(k: float) -> Progress | None:
        if progress is None:
            return None
        return lambda d, t: progress(offset + k * (d / t if t else 1.0), total)

    fitted: dict[str, Any] = {}
    for a in agents:
        t0 = time.perf_counter()
        fitted[a] = train(train_env, a, episodes=eps[a], seed=seed, progress=sub(eps[a]))
        timings[f"train_{a}"] = time.perf_counter() - t0
        offset += eps[a]
    t0 = time.perf_counter()
    seqs, _, notes = journey_policies(test_env, solvers, seed=seed)
    timings["journeys"] = time.perf_counter() - t0
    policies: dict[str, Policy] = {**fitted, **seqs}
    kinds = {**dict.fromkeys(fitted, "learned"), **dict.fromkeys(seqs, "journeys")}
    if myopic:
        policies["expected-greedy"] = MyopicPolicy()
        kinds["expected-greedy"] = "baseline"
    if oracle:
        try:
            policies["oracle"] = ExpectimaxPolicy(test_env)
            kinds["oracle"] = "ceiling"
        except ValueError as exc:
            notes.append(f"oracle: not evaluated ({exc})")
    reference = "anneal" if "anneal" in seqs else None
    t0 = time.perf_counter()
    comp = evaluate(
        test_env,
        policies,
        episodes=eval_episodes,
        seed=derive_seed(seed, _ACCEPT),
        reference=reference,
        kinds=kinds,
        progress=sub(eval_weight),
    )
    timings["evaluate"] = time.perf_counter() - t0
    table = comp.table()
    table.insert(1, "label", [POLICY_LABELS.get(n, n) for n in table["name"]])
    curves = {a: pd.DataFrame(fitted[a].curve_) for a in fitted}
    best = {a: best_actions(test_env, comp.rollouts[a], policy=POLICY_LABELS[a]) for a in fitted}
    notes = list(notes)
    if "qlearning" in fitted:
        b = test_env.reset(np.arange(test_env.n_customers), seed=0)
        cov = float(fitted["qlearning"].coverage(test_env, b).mean()) if b.size else 1.0
        notes.append(
            f"qlearning: {cov:.0%} of held-out customers start in a state seen in training "
            f"({fitted['qlearning'].n_states_:,} states learned); unseen states stop."
        )
    if progress is not None:
        progress(total, total)
    params = {
        "agents": list(agents),
        "episodes": eps,
        "seed": seed,
        "test_size": test_size,
        "eval_episodes": eval_episodes,
        "solvers": list(solvers),
        "n_train": int(train_rows.size),
        "n_test": int(test_rows.size),
    }
    return LabResult(
        comparison=comp,
        table=table,
        curves=curves,
        best_actions=best,
        agents=fitted,
        train_rows=train_rows,
        test_rows=test_rows,
        notes=tuple(notes),
        params=params,
        seconds=timings,
    )


def markdown_table(result: LabResult) -> str:
    """The comparison as a Markdown table (README / CLI output)."""
    ref = result.comparison.reference
    head = "| policy | value (95% CI) | if all accepted | offers | accepted |"
    sep = "|---|---|---|---|---|"
    if ref:
        head += f" vs {ref} (95% CI) |"
        sep += "---|"
    lines = [head, sep]
    for _, r in result.table.iterrows():
        line = (
            f"| {r['label']} | {r['value']:.3f} ({r['ci_low']:.3f} to {r['ci_high']:.3f}) "
            f"| {r['deterministic']:.3f} | {r['mean_offers']:.2f} | {r['mean_accepted']:.2f} |"
        )
        if ref:
            line += (
                " reference |"
                if r["name"] == ref
                else f" {r['diff']:+.3f} ({r['diff_low']:+.3f} to {r['diff_high']:+.3f}) |"
            )
        lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
