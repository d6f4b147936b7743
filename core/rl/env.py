"""The offer-by-offer journey environment: one customer journey per episode.

:class:`JourneyEnv` is built from a :class:`core.journeys.JourneyProblem` (the weighted opportunity ``O_w[c, i, j]``
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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError, OptionError
from core.common.progress import Progress
from core.common.rng import customer_keys, uniform_draws
from core.journeys import JourneyProblem, first_rows
from core.rl._base import _ACCEPT

STOP_LABEL = "stop"


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

    # ---- rules and rewards as arrays (read-only; for policies and features) -----------------

    @property
    def product_bits(self) -> np.ndarray:
        """uint64 ``[P]``: the bit of each product in the portfolio bitmasks (``1 << j``)."""
        return self._bits

    @property
    def held_bits(self) -> np.ndarray:
        """uint64 ``[n]``: bitmask of the products each customer held before the episode."""
        return self._held

    @property
    def requires_bits(self) -> np.ndarray:
        """uint64 ``[P]``: bitmask of the prerequisites of each product."""
        return self._req

    @property
    def excludes_bits(self) -> np.ndarray:
        """uint64 ``[P]``: bitmask of the products each product excludes."""
        return self._excl

    @property
    def first_gains(self) -> np.ndarray:
        """float64 ``[n, P]``: reward of each product accepted before any other
        (:func:`core.journeys.first_rows`)."""
        return self._first

    @property
    def discounts(self) -> np.ndarray:
        """float64 ``[P + 1]``: ``discount**t`` for ``t = 0..P``."""
        return self._powers

    def gains_after(self, prev: int) -> np.ndarray:
        """float64 ``[n, P]``: every customer's (undiscounted) reward of each product when the
        last accepted product is ``prev`` (-1: none yet, :attr:`first_gains`)."""
        return self._first if prev < 0 else self._values[:, 1 + prev]

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
        problem = JourneyProblem.from_catalog(
            catalog,
            opportunity=opp,
            held=components.held,
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
    firstrow = base.first_gains
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
