"""The planning problem as plain arrays: activities, eligible assignments, constraints, conflicts.

One frozen :class:`PlanningProblem` is what every reader builds (the four benchmark tables, a
campaign calendar with our own data, the generator) and what every solver and the independent
checker read. Its parts are small frozen dataclasses of numpy arrays:

* :class:`Activities` ``[A]``: day, channel (index into ``channels``), cost per contact and the
  target products (bool ``[A, P]`` over ``products``).
* :class:`Assignments` ``[N]``: the eligible (customer, activity) pairs with expected profit and
  response probability, sorted by customer then activity.
* :class:`Constraints` ``[K]``: type (:data:`TYPES`), day window, channels, target products,
  bound, soft flag and penalty per unit of violation.
* :class:`Conflicts` ``[F]``: channel and product sides and the lag in days.

Semantics (those of the public customer-assignment benchmark): a constraint covers the
activities whose day is in ``[start, end]``, whose channel it lists and whose target products
meet the ones it lists. Assignment constraints bound the number of chosen assignments, Budget the
sum of their costs, sales constraints the sum of their response probabilities, and Maximum
contact each customer's number of chosen assignments. A conflict forbids a customer both ``a1``
(matching side 1) and ``a2`` (matching side 2), ``a1 != a2``, when
``0 <= day(a2) - day(a1) < lag``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from core.common.errors import OptionError

#: The six constraint types, in the spelling of the benchmark's table3.
TYPES: tuple[str, ...] = (
    "Minimum assignment",
    "Maximum assignment",
    "Budget",
    "Minimum sales",
    "Maximum sales",
    "Maximum contact",
)
MIN_ASSIGNMENT, MAX_ASSIGNMENT, BUDGET, MIN_SALES, MAX_SALES, MAX_CONTACT = range(6)
#: Per type: a lower bound (``>=``) rather than an upper bound.
IS_MIN = np.array([True, False, False, True, False, False])
#: Per type: what one chosen assignment adds (0 = one, 1 = its cost, 2 = its probability).
COEF_KIND = np.array([0, 0, 1, 2, 2, 0], dtype=np.int8)


def type_code(name: str) -> int:
    """Index in :data:`TYPES` of a type name (case and spacing ignored); -1 when unknown."""
    key = " ".join(str(name).split()).lower()
    for i, t in enumerate(TYPES):
        if t.lower() == key:
            return i
    return -1


def _bool2d(a: Any, rows: int, cols: int, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=bool)
    if arr.shape != (rows, cols):
        raise OptionError(f"{name} must be bool [{rows}, {cols}], got shape {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class Activities:
    """The campaign's activities (one contact each).

    Attributes
    ----------
    ids : numpy.ndarray
        ``[A]`` identifiers as the source spelt them (strings).
    day : numpy.ndarray
        int32 ``[A]`` day of the campaign period.
    channel : numpy.ndarray
        int32 ``[A]`` index into :attr:`PlanningProblem.channels`.
    cost : numpy.ndarray
        float64 ``[A]`` cost per assignment.
    targets : numpy.ndarray
        bool ``[A, P]``: the products the activity promotes.
    """

    ids: np.ndarray
    day: np.ndarray
    channel: np.ndarray
    cost: np.ndarray
    targets: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ids)
        object.__setattr__(self, "ids", np.asarray(self.ids).astype(str))
        for name, dtype in (("day", np.int32), ("channel", np.int32), ("cost", np.float64)):
            arr = np.asarray(getattr(self, name), dtype=dtype)
            if arr.shape != (n,):
                raise OptionError(f"activities.{name} must have {n} entries, got {arr.shape}")
            object.__setattr__(self, name, arr)
        t = np.asarray(self.targets, dtype=bool)
        if t.ndim != 2 or t.shape[0] != n:
            raise OptionError(f"activities.targets must be bool [{n}, P], got {t.shape}")
        object.__setattr__(self, "targets", t)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class Assignments:
    """Eligible (customer, activity) pairs, sorted by customer, then activity.

    Attributes
    ----------
    customer : numpy.ndarray
        int32 ``[N]`` index into ``customer_ids``.
    activity : numpy.ndarray
        int32 ``[N]`` index into the activities.
    profit : numpy.ndarray
        float64 ``[N]`` expected profit of the assignment.
    probability : numpy.ndarray
        float64 ``[N]`` response probability in [0, 1].
    customer_ids : numpy.ndarray
        ``[C]`` customer identifiers (customers without an eligible activity may appear).
    """

    customer: np.ndarray
    activity: np.ndarray
    profit: np.ndarray
    probability: np.ndarray
    customer_ids: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.customer)
        for name, dtype in (
            ("customer", np.int32),
            ("activity", np.int32),
            ("profit", np.float64),
            ("probability", np.float64),
        ):
            arr = np.asarray(getattr(self, name), dtype=dtype)
            if arr.shape != (n,):
                raise OptionError(f"assignments.{name} must have {n} entries, got {arr.shape}")
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "customer_ids", np.asarray(self.customer_ids))
        if n:
            c, a = self.customer, self.activity
            step = np.diff(c.astype(np.int64)) * (1 << 32) + np.diff(a.astype(np.int64))
            if (step <= 0).any() or c[0] < 0 or c[-1] >= len(self.customer_ids):
                raise OptionError(
                    "assignments must be sorted by (customer, activity) without repeats and "
                    "index customer_ids; build them with Assignments.from_pairs"
                )
            if not (np.isfinite(self.profit).all() and np.isfinite(self.probability).all()):
                raise OptionError("assignments.profit and probability must be finite")

    def __len__(self) -> int:
        return len(self.customer)

    @classmethod
    def from_pairs(
        cls,
        customer: Any,
        activity: Any,
        profit: Any,
        probability: Any,
        customer_ids: Any,
    ) -> Assignments:
        """Sort unsorted pairs by (customer, activity); repeated pairs raise OptionError."""
        c = np.asarray(customer, dtype=np.int64)
        a = np.asarray(activity, dtype=np.int64)
        order = np.lexsort((a, c))
        c, a = c[order], a[order]
        if len(c) > 1 and ((np.diff(c) == 0) & (np.diff(a) == 0)).any():
            raise OptionError("an assignment (customer, activity) is listed twice")
        return cls(
            c,
            a,
            np.asarray(profit, dtype=np.float64)[order],
            np.asarray(probability, dtype=np.float64)[order],
            customer_ids,
        )

    @cached_property
    def indptr(self) -> np.ndarray:
        """int64 ``[C + 1]``: customer ``c``'s assignments are ``indptr[c]:indptr[c + 1]``."""
        counts = np.bincount(self.customer, minlength=len(self.customer_ids))
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Constraints:
    """Business constraints and contact rules (the benchmark's table3).

    Attributes
    ----------
    kind : numpy.ndarray
        int8 ``[K]`` index into :data:`TYPES`.
    start, end : numpy.ndarray
        int32 ``[K]`` day window, both ends included.
    channels : numpy.ndarray
        bool ``[K, n_channels]``: the channels covered ("ALL" sets every one).
    products : numpy.ndarray
        bool ``[K, P]``: an activity is covered when it targets one of these.
    bound : numpy.ndarray
        float64 ``[K]``.
    soft : numpy.ndarray
        bool ``[K]``: may be violated at ``penalty`` per unit of violation.
    penalty : numpy.ndarray
        float64 ``[K]`` (used when soft).
    names : tuple of str
        The constraints' names (table3's Index).
    """

    kind: np.ndarray
    start: np.ndarray
    end: np.ndarray
    channels: np.ndarray
    products: np.ndarray
    bound: np.ndarray
    soft: np.ndarray
    penalty: np.ndarray
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        k = len(self.names)
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        for name, dtype in (
            ("kind", np.int8),
            ("start", np.int32),
            ("end", np.int32),
            ("bound", np.float64),
            ("soft", bool),
            ("penalty", np.float64),
        ):
            arr = np.asarray(getattr(self, name), dtype=dtype)
            if arr.shape != (k,):
                raise OptionError(f"constraints.{name} must have {k} entries, got {arr.shape}")
            object.__setattr__(self, name, arr)
        if k and ((self.kind < 0) | (self.kind >= len(TYPES))).any():
            raise OptionError(f"constraints.kind must index TYPES {TYPES}")
        if not np.isfinite(self.bound).all():
            raise OptionError("constraint bounds must be finite numbers")
        if (self.soft & ~(np.isfinite(self.penalty) & (self.penalty >= 0))).any():
            raise OptionError("a soft constraint needs a finite penalty >= 0")
        for name in ("channels", "products"):
            arr = np.asarray(getattr(self, name), dtype=bool)
            if arr.ndim != 2 or arr.shape[0] != k:
                raise OptionError(f"constraints.{name} must be bool [{k}, *], got {arr.shape}")
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def is_min(self) -> np.ndarray:
        """bool ``[K]``: lower bounds (``>=``)."""
        return IS_MIN[self.kind]

    @property
    def per_customer(self) -> np.ndarray:
        """bool ``[K]``: Maximum contact rows (one per customer) rather than coupling rows."""
        return self.kind == MAX_CONTACT

    def subset(self, keep: np.ndarray) -> Constraints:
        """The constraints where ``keep`` is True."""
        keep = np.asarray(keep, dtype=bool)
        return Constraints(
            self.kind[keep],
            self.start[keep],
            self.end[keep],
            self.channels[keep],
            self.products[keep],
            self.bound[keep],
            self.soft[keep],
            self.penalty[keep],
            tuple(n for n, k in zip(self.names, keep, strict=True) if k),
        )


@dataclass(frozen=True, eq=False)
class Conflicts:
    """Conflict rules (the benchmark's table4): no two matching contacts within ``lag`` days.

    Attributes
    ----------
    channels1, channels2 : numpy.ndarray
        bool ``[F, n_channels]``: channels of side 1 and side 2.
    products1, products2 : numpy.ndarray
        bool ``[F, P]``: target products of side 1 and side 2 (an activity matches when it
        targets one of them).
    lag : numpy.ndarray
        int32 ``[F]`` days; ``a1``, ``a2`` conflict when ``0 <= day(a2) - day(a1) < lag``.
    names : tuple of str
        The rules' names (table4's Index).
    """

    channels1: np.ndarray
    products1: np.ndarray
    channels2: np.ndarray
    products2: np.ndarray
    lag: np.ndarray
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        f = len(self.names)
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        lag = np.asarray(self.lag, dtype=np.int32)
        if lag.shape != (f,):
            raise OptionError(f"conflicts.lag must have {f} entries, got {lag.shape}")
        object.__setattr__(self, "lag", lag)
        for name in ("channels1", "products1", "channels2", "products2"):
            arr = np.asarray(getattr(self, name), dtype=bool)
            if arr.ndim != 2 or arr.shape[0] != f:
                raise OptionError(f"conflicts.{name} must be bool [{f}, *], got {arr.shape}")
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, keep: np.ndarray) -> Conflicts:
        """The rules where ``keep`` is True."""
        keep = np.asarray(keep, dtype=bool)
        return Conflicts(
            self.channels1[keep],
            self.products1[keep],
            self.channels2[keep],
            self.products2[keep],
            self.lag[keep],
            tuple(n for n, k in zip(self.names, keep, strict=True) if k),
        )

    @classmethod
    def empty(cls, n_channels: int, n_products: int) -> Conflicts:
        """No conflict rules."""
        z = np.zeros((0, n_channels), bool)
        p = np.zeros((0, n_products), bool)
        return cls(z, p, z, p, np.zeros(0, np.int32), ())


def _names(mask: np.ndarray, labels: tuple[str, ...]) -> str:
    if mask.all():
        return "ALL"
    return "; ".join(lab for lab, m in zip(labels, mask, strict=True) if m) or "none"


@dataclass(frozen=True, eq=False)
class PlanningProblem:
    """A campaign planning instance: choose assignments to maximise expected profit.

    Attributes
    ----------
    activities, assignments, constraints, conflicts
        The four parts (see the module docstring).
    channels : tuple of str
        Channel names; ``activities.channel`` indexes them.
    products : tuple of str
        Product names; the ``[*, P]`` masks index them.
    name : str
        Where it came from (shown in reports).

    Notes
    -----
    Derived arrays (``covers``, ``conflict_matrix``) and the solvers' per-pattern structure are
    computed once and cached on the object; :meth:`with_bounds` keeps what still holds.
    """

    activities: Activities
    assignments: Assignments
    constraints: Constraints
    conflicts: Conflicts
    channels: tuple[str, ...]
    products: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(str(c) for c in self.channels))
        object.__setattr__(self, "products", tuple(str(p) for p in self.products))
        a, n_ch, n_p = len(self.activities), len(self.channels), len(self.products)
        if self.activities.targets.shape[1] != n_p:
            raise OptionError(f"activities.targets must have {n_p} product columns")
        ch = self.activities.channel
        if a and (ch.min() < 0 or ch.max() >= n_ch):
            raise OptionError("activities.channel must index channels")
        act = self.assignments.activity
        if len(act) and (act.min() < 0 or act.max() >= a):
            raise OptionError("assignments.activity must index the activities")
        _bool2d(self.constraints.channels, len(self.constraints), n_ch, "constraints.channels")
        _bool2d(self.constraints.products, len(self.constraints), n_p, "constraints.products")
        f = len(self.conflicts)
        for side in ("1", "2"):
            _bool2d(getattr(self.conflicts, "channels" + side), f, n_ch, "conflicts.channels")
            _bool2d(getattr(self.conflicts, "products" + side), f, n_p, "conflicts.products")

    # ---------------------------------------------------------------- sizes
    @property
    def n_customers(self) -> int:
        return len(self.assignments.customer_ids)

    @property
    def n_activities(self) -> int:
        return len(self.activities)

    @property
    def n_assignments(self) -> int:
        return len(self.assignments)

    @property
    def coupling(self) -> np.ndarray:
        """int64 indices of the coupling constraints (all but Maximum contact)."""
        return np.flatnonzero(~self.constraints.per_customer)

    @property
    def contact(self) -> np.ndarray:
        """int64 indices of the Maximum contact constraints (one row per customer each)."""
        return np.flatnonzero(self.constraints.per_customer)

    # ---------------------------------------------------------------- derived
    def matches(self, channels: np.ndarray, products: np.ndarray) -> np.ndarray:
        """bool ``[R, A]``: activities on one of the channels and targeting one of the products."""
        act = self.activities
        ch = np.asarray(channels, bool)[:, act.channel]
        pr = (np.asarray(products, bool).astype(np.int32) @ act.targets.T.astype(np.int32)) > 0
        return ch & pr

    @cached_property
    def covers(self) -> np.ndarray:
        """bool ``[K, A]``: the activities each constraint covers."""
        c = self.constraints
        day = self.activities.day
        window = (day[None, :] >= c.start[:, None]) & (day[None, :] <= c.end[:, None])
        return window & self.matches(c.channels, c.products)

    @cached_property
    def conflict_matrix(self) -> np.ndarray:
        """bool ``[A, A]`` symmetric: activities a customer may not both receive."""
        cf, day = self.conflicts, self.activities.day.astype(np.int64)
        a = len(day)
        out = np.zeros((a, a), dtype=bool)
        if not len(cf):
            return out
        side1 = self.matches(cf.channels1, cf.products1)
        side2 = self.matches(cf.channels2, cf.products2)
        diff = day[None, :] - day[:, None]  # [a1, a2] = day(a2) - day(a1)
        for f in range(len(cf)):
            near = (diff >= 0) & (diff < int(cf.lag[f]))
            out |= side1[f][:, None] & side2[f][None, :] & near
        np.fill_diagonal(out, False)
        return out | out.T

    def coefficients(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """float64 ``[len(rows), len(items)]``: what each assignment adds to each constraint."""
        rows = np.asarray(rows, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        act = self.assignments.activity[items]
        cov = self.covers[rows][:, act].astype(np.float64)
        kind = COEF_KIND[self.constraints.kind[rows]]
        base = np.ones((len(rows), len(items)))
        base[kind == 1] = self.activities.cost[act]
        base[kind == 2] = self.assignments.probability[items]
        return cov * base

    def activity_prices(
        self, rows: np.ndarray, prices: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per activity ``(alpha, beta)``: ``sum_k price_k * coef_k(n) = alpha[a] + beta[a] p_n``.

        ``rows`` are coupling constraints and ``prices`` their signed multipliers.
        """
        rows = np.asarray(rows, dtype=np.int64)
        prices = np.asarray(prices, dtype=np.float64)
        cov = self.covers[rows].astype(np.float64)  # [R, A]
        kind = COEF_KIND[self.constraints.kind[rows]]
        alpha = (prices * (kind == 0)) @ cov + ((prices * (kind == 1)) @ cov) * self.activities.cost
        beta = (prices * (kind == 2)) @ cov
        return alpha, beta

    # ---------------------------------------------------------------- labels
    def label(self, k: int) -> str:
        """``"3: Maximum assignment (call center; ALL products; days 57-87) <= 105.47"``."""
        c = self.constraints
        sense = ">=" if IS_MIN[c.kind[k]] else "<="
        chans = "ALL channels" if c.channels[k].all() else _names(c.channels[k], self.channels)
        prods = (
            "ALL products"
            if c.products[k].all()
            else "products " + _names(c.products[k], self.products)
        )
        where = f"{chans}; {prods}"
        per = " per customer" if c.kind[k] == MAX_CONTACT else ""
        soft = f", soft at {c.penalty[k]:g}/unit" if c.soft[k] else ""
        return (
            f"{c.names[k]}: {TYPES[c.kind[k]]} ({where}; days {c.start[k]}-{c.end[k]}) "
            f"{sense} {c.bound[k]:g}{per}{soft}"
        )

    def conflict_label(self, f: int) -> str:
        """``"conflict 4: email/ALL then email/ALL within 90 days"``."""
        cf = self.conflicts
        one = f"{_names(cf.channels1[f], self.channels)}/{_names(cf.products1[f], self.products)}"
        two = f"{_names(cf.channels2[f], self.channels)}/{_names(cf.products2[f], self.products)}"
        return f"conflict {cf.names[f]}: {one} then {two} within {cf.lag[f]} days"

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.label(k) for k in range(len(self.constraints)))

    def find_constraint(self, key: int | str) -> int:
        """Position of a constraint: a string is its name (table3's Index), an int its position."""
        names = self.constraints.names
        if isinstance(key, str) and key in names:
            return names.index(key)
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            if 0 <= int(key) < len(names):
                return int(key)
        raise OptionError(
            f"no constraint {key!r}: give a name of {list(names)} or a position 0..{len(names) - 1}"
        )

    # ---------------------------------------------------------------- variants
    def variant(self, keep: Iterable[str] = (), **parts: Any) -> PlanningProblem:
        """A copy with ``parts`` replaced that keeps the cached values named in ``keep``."""
        new = dataclasses.replace(self, **parts)
        for key in ("patterns", *keep):  # patterns depend on the assignments alone
            if key in self.__dict__:
                new.__dict__[key] = self.__dict__[key]
        return new

    def with_bounds(self, changes: Mapping[int | str, float]) -> PlanningProblem:
        """The same problem with some constraints' bounds changed (by name, or int position).

        Cached structure is kept unless a Maximum contact bound changes.
        """
        bound = self.constraints.bound.copy()
        for key, value in changes.items():
            k = self.find_constraint(key)
            v = float(value)
            if not np.isfinite(v):
                raise OptionError(f"bound of constraint {self.constraints.names[k]}: {value!r}")
            bound[k] = v
        cons = dataclasses.replace(self.constraints, bound=bound)
        same_rules = np.array_equal(bound[self.contact], self.constraints.bound[self.contact])
        keep = (
            "covers",
            "conflict_matrix",
            "big_penalties",  # per unit of each row's coefficients: the bounds do not enter
            *(("families", "hosting", "plus_one", "relaxation") if same_rules else ()),
        )
        return self.variant(keep, constraints=cons)

    def with_soft(self, penalties: Mapping[str, float], *, by: str = "type") -> PlanningProblem:
        """Mark constraints soft with a penalty per unit of violation.

        Parameters
        ----------
        penalties
            ``{type name: penalty}`` (``by="type"``, e.g. ``{"Minimum sales": 50}``) or
            ``{constraint name: penalty}`` (``by="name"``).
        by
            ``"type"`` or ``"name"``.
        """
        c = self.constraints
        soft, pen = c.soft.copy(), c.penalty.copy()
        for key, value in penalties.items():
            p = float(value)
            if not (np.isfinite(p) and p >= 0):
                raise OptionError(f"penalty for {key!r} must be a number >= 0, got {value!r}")
            if by == "type":
                code = type_code(key)
                if code < 0:
                    raise OptionError(f"unknown constraint type {key!r}; choose one of {TYPES}")
                mask = c.kind == code
            else:
                mask = np.zeros(len(c), bool)
                mask[self.find_constraint(key)] = True
            soft[mask], pen[mask] = True, p
        cons = dataclasses.replace(c, soft=soft, penalty=pen)
        same = np.array_equal(soft[self.contact], c.soft[self.contact]) and np.array_equal(
            pen[self.contact], c.penalty[self.contact]
        )
        keep = ("covers", "conflict_matrix", *(("families", "hosting", "plus_one") if same else ()))
        return self.variant(keep, constraints=cons)

    def without(
        self, constraints: Iterable[int] = (), conflicts: Iterable[int] = ()
    ) -> PlanningProblem:
        """The problem without some constraints and conflict rules (by position)."""
        keep_c = np.ones(len(self.constraints), bool)
        keep_c[list(constraints)] = False
        keep_f = np.ones(len(self.conflicts), bool)
        keep_f[list(conflicts)] = False
        rules_same = bool(keep_f.all() and keep_c[self.contact].all())
        keep = ("conflict_matrix", "families", "hosting") if rules_same else ()
        if keep_f.all():
            keep = ("conflict_matrix", *keep)
        return self.variant(
            keep,
            constraints=self.constraints.subset(keep_c),
            conflicts=self.conflicts.subset(keep_f),
        )

    def summary(self) -> dict[str, Any]:
        """Sizes, for reports."""
        return {
            "name": self.name,
            "customers": self.n_customers,
            "activities": self.n_activities,
            "assignments": self.n_assignments,
            "constraints": len(self.constraints),
            "conflicts": len(self.conflicts),
            "eligibility": self.n_assignments / max(self.n_customers * self.n_activities, 1),
        }
