"""Campaign calendars (TOML) and the planning problem they make with our own customers.

A calendar lists the period's activities and the rules that bind them::

    [calendar]
    name = "Q3 retention"
    horizon_days = 90
    catalog = "full"                       # the products' catalog (a hint for the CLI)

    [channels]                             # cost per contact, response factor
    "call center" = { cost = 6.9, response = 1.0 }
    email = { cost = 0.02, response = 0.4 }

    [[activities]]
    id = "CC-01"                           # optional (A01, A02 ... by default)
    day = 5
    channel = "call center"
    products = ["internet"]                # catalog keys
    cost = 7.5                             # optional: overrides the channel's

    [[constraints]]                        # any of the six types
    type = "Budget"                        # Minimum/Maximum assignment, Budget,
    channels = ["call center"]             # Minimum/Maximum sales, Maximum contact
    products = "ALL"                       # default ALL (channels too)
    start_day = 1                          # default 1 .. horizon_days
    end_day = 90
    bound = 4000
    soft = true                            # optional: may be broken ...
    penalty = 2.5                          # ... at this much per unit

    [contact_policy]
    max_contacts = 3                       # at most 3 contacts ...
    window_days = 90                       # ... in any 90 days (rolling)
    refusal_cooldown_days = 30             # no offer of a product within 30 days of a
                                           # refusal of it: no two offers of it 30 days apart

    [[conflicts]]                          # general lag rules
    channel1 = "call center"
    products1 = "ALL"
    channel2 = "call center"
    products2 = "ALL"
    lag = 14

:func:`load_calendar` parses and checks it; :func:`build_problem` makes the
:class:`~core.planning.problem.PlanningProblem` from per-customer, per-product expected values
and acceptance probabilities (arrays ``[n_customers, n_products]`` as the opportunity package
produces them): a customer is eligible for an activity when one of its products may be offered to
them; the assignment's expected profit is ``response * sum(value) - cost`` and its response
probability ``1 - prod(1 - response * acceptance)`` over those products. It takes arrays, never
the pipeline.

Contact windows (``windows=``, int ``[n_customers, n_products, 2]`` of ``[first day, last
day]``, e.g. :func:`core.models.timing.contact_windows` of the journeys' suggested contact
dates) narrow this further: a product counts for an activity's assignment only when the
activity's day lies inside the customer's window for that product, so the assignment's value,
probability and eligibility use the in-window products only, and a customer with none gets no
assignment for that activity. :func:`window_removals` counts the assignments the windows remove.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.common.errors import CJOError
from core.planning.problem import (
    TYPES,
    Activities,
    Assignments,
    Conflicts,
    Constraints,
    PlanningProblem,
    type_code,
)


class CalendarError(CJOError):
    """A campaign calendar that is malformed or does not fit the products."""


@dataclass(frozen=True)
class CalendarActivity:
    """One activity of a calendar."""

    id: str
    day: int
    channel: str
    products: tuple[str, ...]
    cost: float
    response: float


@dataclass(frozen=True)
class CalendarRule:
    """One constraint of a calendar (``channels``/``products`` empty = ALL)."""

    type: str
    channels: tuple[str, ...]
    products: tuple[str, ...]
    start: int
    end: int
    bound: float
    soft: bool = False
    penalty: float = 0.0
    name: str = ""


@dataclass(frozen=True)
class CalendarConflict:
    """A lag rule between two sides (empty = ALL)."""

    channels1: tuple[str, ...]
    products1: tuple[str, ...]
    channels2: tuple[str, ...]
    products2: tuple[str, ...]
    lag: int
    name: str = ""


@dataclass(frozen=True)
class Calendar:
    """A parsed campaign calendar (see the module docstring)."""

    name: str
    horizon: int
    catalog: str | None
    channels: tuple[str, ...]
    activities: tuple[CalendarActivity, ...]
    rules: tuple[CalendarRule, ...]
    conflicts: tuple[CalendarConflict, ...]
    source: str = "calendar"

    @property
    def products(self) -> tuple[str, ...]:
        """Products the activities promote, in first-use order."""
        return tuple(dict.fromkeys(p for a in self.activities for p in a.products))


def _where(source: str, section: str, i: int | None = None, extra: str = "") -> str:
    at = f"{section} #{i + 1}" if i is not None else section
    return f"calendar {source}, {at}{extra}"


def _number(value: Any, where: str, key: str, *, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise CalendarError(f"{where}: {key} = {value!r} is not a number. Fix: write a number.")
    if low is not None and value < low:
        raise CalendarError(f"{where}: {key} = {value!r} is below {low:g}. Fix: use >= {low:g}.")
    return float(value)


def _day(value: Any, where: str, key: str, horizon: int) -> int:
    v = _number(value, where, key, low=1)
    if v != int(v) or v > horizon:
        raise CalendarError(
            f"{where}: {key} = {value!r} must be a whole day in 1..{horizon} (horizon_days)."
        )
    return int(v)


def _names(value: Any, where: str, key: str, known: Sequence[str], what: str) -> tuple[str, ...]:
    """``"ALL"`` or missing -> () (all); a name or list of names, each known."""
    if value is None or (isinstance(value, str) and value.strip().upper() == "ALL"):
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items) or not items:
        raise CalendarError(f'{where}: {key} must be "ALL" or a list of {what} names.')
    unknown = [x for x in items if x not in known]
    if unknown:
        raise CalendarError(
            f'{where}: unknown {what}(s) {unknown} in {key}. Fix: use "ALL" or one of '
            f"{list(known)}."
        )
    return tuple(items)


def _flag(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise CalendarError(f"{where}: {key} = {value!r} must be true or false.")
    return value


def parse_calendar(
    data: Mapping[str, Any], *, products: Sequence[str] | None = None, source: str = "calendar"
) -> Calendar:
    """Check a calendar's TOML data; ``products`` (catalog keys) are the products allowed."""
    head = data.get("calendar", {})
    if not isinstance(head, Mapping):
        raise CalendarError(f"calendar {source}: [calendar] must be a table.")
    horizon = int(
        _number(head.get("horizon_days", 90), _where(source, "[calendar]"), "horizon_days", low=1)
    )
    chan_tab = data.get("channels", {})
    if not isinstance(chan_tab, Mapping):
        raise CalendarError(f"calendar {source}: [channels] must be a table of channels.")
    channel_cost: dict[str, tuple[float | None, float]] = {}
    for ch, spec in chan_tab.items():
        where = _where(source, f"[channels] {ch!r}")
        spec = spec if isinstance(spec, Mapping) else {"cost": spec}
        cost = _number(spec["cost"], where, "cost", low=0) if "cost" in spec else None
        resp = _number(spec.get("response", 1.0), where, "response", low=0)
        channel_cost[str(ch)] = (cost, resp)
    raw_acts = data.get("activities")
    if not isinstance(raw_acts, list) or not raw_acts:
        raise CalendarError(
            f"calendar {source}: no [[activities]]. Fix: add at least one [[activities]] table "
            "with day, channel and products."
        )
    allowed = list(products) if products is not None else None
    acts: list[CalendarActivity] = []
    for i, a in enumerate(raw_acts):
        where = _where(source, "[[activities]]", i, f" (id {a.get('id')!r})" if "id" in a else "")
        for key in ("day", "channel", "products"):
            if key not in a:
                raise CalendarError(f"{where}: {key} is missing.")
        ch = str(a["channel"])
        if channel_cost and ch not in channel_cost:
            raise CalendarError(
                f"{where}: channel {ch!r} is not in [channels] {list(channel_cost)}. Fix: add "
                "it there or correct the name."
            )
        prods = a["products"] if isinstance(a["products"], list) else [a["products"]]
        if not prods or not all(isinstance(p, str) for p in prods):
            raise CalendarError(f"{where}: products must be a list of product keys.")
        if allowed is not None:
            unknown = [p for p in prods if p not in allowed]
            if unknown:
                raise CalendarError(
                    f"{where}: product(s) {unknown} not in the catalog. Fix: use catalog keys "
                    f"{allowed}."
                )
        base_cost, resp = channel_cost.get(ch, (None, 1.0))
        if "cost" in a:
            cost = _number(a["cost"], where, "cost", low=0)
        elif base_cost is not None:
            cost = base_cost
        else:
            raise CalendarError(f"{where}: no cost (give cost here or in [channels]).")
        resp = _number(a.get("response", resp), where, "response", low=0)
        acts.append(
            CalendarActivity(
                str(a.get("id", f"A{i + 1:02d}")),
                _day(a["day"], where, "day", horizon),
                ch,
                tuple(prods),
                cost,
                resp,
            )
        )
    ids = [a.id for a in acts]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise CalendarError(f"calendar {source}: activity id(s) {dup} used twice.")
    channels = tuple(dict.fromkeys([*channel_cost, *(a.channel for a in acts)]))
    prod_names = (
        tuple(allowed)
        if allowed is not None
        else tuple(dict.fromkeys(p for a in acts for p in a.products))
    )
    rules = _rules(data, source, horizon, channels, prod_names)
    conflicts = _conflicts(data, source, channels, prod_names)
    return Calendar(
        name=str(head.get("name", source)),
        horizon=horizon,
        catalog=str(head["catalog"]) if "catalog" in head else None,
        channels=channels,
        activities=tuple(acts),
        rules=rules,
        conflicts=conflicts,
        source=source,
    )


def _rules(
    data: Mapping[str, Any],
    source: str,
    horizon: int,
    channels: tuple[str, ...],
    products: tuple[str, ...],
) -> tuple[CalendarRule, ...]:
    out: list[CalendarRule] = []
    budgets = [dict(b, type="Budget") for b in data.get("budgets", [])]
    for i, c in enumerate([*data.get("constraints", []), *budgets]):
        where = _where(source, "[[constraints]]", i)
        if "type" not in c or type_code(str(c["type"])) < 0:
            raise CalendarError(
                f"{where}: type = {c.get('type')!r} is not a constraint type. Fix: use one of "
                f"{', '.join(TYPES)}."
            )
        if "bound" not in c:
            raise CalendarError(f"{where}: bound is missing.")
        soft = _flag(c.get("soft", False), where, "soft")
        penalty = _number(c.get("penalty", 0.0), where, "penalty", low=0)
        if soft and penalty <= 0:
            raise CalendarError(f"{where}: soft = true needs a penalty > 0 per unit.")
        start = _day(c.get("start_day", 1), where, "start_day", horizon)
        end = _day(c.get("end_day", horizon), where, "end_day", horizon)
        if start > end:
            raise CalendarError(f"{where}: start_day {start} is after end_day {end}.")
        kind = TYPES[type_code(str(c["type"]))]
        bound = _number(c["bound"], where, "bound", low=0 if kind == "Maximum contact" else None)
        out.append(
            CalendarRule(
                kind,
                _names(c.get("channels"), where, "channels", channels, "channel"),
                _names(c.get("products"), where, "products", products, "product"),
                start,
                end,
                bound,
                soft,
                penalty,
                str(c.get("name", f"C{i + 1}")),
            )
        )
    policy = data.get("contact_policy")
    if policy is not None and "max_contacts" in policy:
        where = _where(source, "[contact_policy]")
        most = _number(policy["max_contacts"], where, "max_contacts", low=0)
        window = int(_number(policy.get("window_days", horizon), where, "window_days", low=1))
        soft = _flag(policy.get("soft", False), where, "soft")
        penalty = _number(policy.get("penalty", 0.0), where, "penalty", low=0)
        if soft and penalty <= 0:
            raise CalendarError(f"{where}: soft = true needs a penalty > 0 per contact.")
        chans = _names(policy.get("channels"), where, "channels", channels, "channel")
        for d in range(1, max(horizon - window + 1, 1) + 1):
            out.append(
                CalendarRule(
                    "Maximum contact",
                    chans,
                    (),
                    d,
                    min(d + window - 1, horizon),
                    most,
                    soft,
                    penalty,
                    f"contacts days {d}-{min(d + window - 1, horizon)}",
                )
            )
    return tuple(out)


def _conflicts(
    data: Mapping[str, Any], source: str, channels: tuple[str, ...], products: tuple[str, ...]
) -> tuple[CalendarConflict, ...]:
    out: list[CalendarConflict] = []
    for i, c in enumerate(data.get("conflicts", [])):
        where = _where(source, "[[conflicts]]", i)
        if "lag" not in c:
            raise CalendarError(f"{where}: lag (days) is missing.")
        out.append(
            CalendarConflict(
                _names(
                    c.get("channel1", c.get("channels1")), where, "channel1", channels, "channel"
                ),
                _names(c.get("products1"), where, "products1", products, "product"),
                _names(
                    c.get("channel2", c.get("channels2")), where, "channel2", channels, "channel"
                ),
                _names(c.get("products2"), where, "products2", products, "product"),
                int(_number(c["lag"], where, "lag", low=0)),
                str(c.get("name", f"F{i + 1}")),
            )
        )
    policy = data.get("contact_policy") or {}
    if "refusal_cooldown_days" in policy:
        lag = int(
            _number(
                policy["refusal_cooldown_days"],
                _where(source, "[contact_policy]"),
                "refusal_cooldown_days",
                low=0,
            )
        )
        for p in products:
            out.append(CalendarConflict((), (p,), (), (p,), lag, f"cooldown {p}"))
    return tuple(out)


def load_calendar(path: str | Path, *, products: Sequence[str] | None = None) -> Calendar:
    """Read and check a calendar TOML file (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise CalendarError(f"calendar {path}: no such file.")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CalendarError(f"calendar {p.name}: not valid TOML ({err}).") from err
    return parse_calendar(data, products=products, source=p.name)


def _mask(names: tuple[str, ...], universe: tuple[str, ...]) -> np.ndarray:
    if not names:
        return np.ones(len(universe), dtype=bool)
    return np.isin(np.array(universe, dtype=object), np.array(names, dtype=object))


def _contact_windows(rules: list[CalendarRule], days: np.ndarray) -> list[CalendarRule]:
    """Drop Maximum contact windows whose activities another window of the same rule holds."""
    covers = [
        frozenset(np.flatnonzero((days >= r.start) & (days <= r.end)).tolist()) for r in rules
    ]
    keys = [(r.channels, r.products, r.bound, r.soft, r.penalty) for r in rules]
    keep = []
    for i, r in enumerate(rules):
        dominated = any(
            j != i
            and keys[j] == keys[i]
            and covers[i] <= covers[j]
            and (covers[i] != covers[j] or j < i)
            for j in range(len(rules))
        )
        if covers[i] and not dominated:
            keep.append(r)
    return keep


def _check_windows(windows: Any, n: int, n_products: int) -> np.ndarray:
    """The windows as int64 ``[n, P, 2]``, or a CalendarError naming the fix."""
    arr = np.asarray(windows)
    if arr.shape != (n, n_products, 2):
        raise CalendarError(
            f"windows must have shape {(n, n_products, 2)} ([first day, last day] per customer "
            f"and product), got {arr.shape}. Fix: one row per customer, one column per product "
            "key, in the order of customer_ids and product_keys."
        )
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise CalendarError(
            f"windows must hold whole calendar days (integers), got dtype {arr.dtype}. Fix: "
            "give day numbers (day 1 = the calendar's first day)."
        )
    arr = arr.astype(np.int64)
    bad = np.argwhere(arr[..., 0] > arr[..., 1])
    if len(bad):
        c, p = (int(x) for x in bad[0])
        raise CalendarError(
            f"windows: customer #{c + 1}, product #{p + 1} has first day {arr[c, p, 0]} after "
            f"last day {arr[c, p, 1]} ({len(bad)} such window(s)). Fix: give [first, last] "
            "with first <= last."
        )
    return arr


def _offerable(
    calendar: Calendar, keys: tuple[str, ...], elig: np.ndarray, windows: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per activity: its product columns and bool ``[n, len(cols)]`` offerable (eligible and,
    with windows, inside the customer's window on the activity's day)."""
    out = []
    for a in calendar.activities:
        cols = np.array([j for j, k in enumerate(keys) if k in a.products], dtype=np.int64)
        ok = elig[:, cols]
        if windows is not None:
            w = windows[:, cols]
            ok = ok & (w[..., 0] <= a.day) & (a.day <= w[..., 1])
        out.append((cols, ok))
    return out


def window_removals(
    calendar: Calendar,
    product_keys: Sequence[str],
    windows: np.ndarray,
    *,
    eligible: np.ndarray | None = None,
) -> int:
    """Assignments (customer, activity) the ``windows`` remove from :func:`build_problem`'s
    problem: eligible without them, with no in-window product with them."""
    keys = tuple(str(k) for k in product_keys)
    win = np.asarray(windows)
    n = win.shape[0] if win.ndim == 3 else 0
    elig = np.ones((n, len(keys)), bool) if eligible is None else np.asarray(eligible, bool)
    win = _check_windows(win, elig.shape[0], len(keys))
    plain = _offerable(calendar, keys, elig, None)
    kept = _offerable(calendar, keys, elig, win)
    return int(
        sum(
            int(a.any(axis=1).sum()) - int(b.any(axis=1).sum())
            for (_, a), (_, b) in zip(plain, kept, strict=True)
        )
    )


def build_problem(
    calendar: Calendar,
    customer_ids: Sequence[Any] | np.ndarray,
    product_keys: Sequence[str],
    value: np.ndarray,
    acceptance: np.ndarray,
    *,
    eligible: np.ndarray | None = None,
    windows: np.ndarray | None = None,
) -> PlanningProblem:
    """The planning problem of ``calendar`` for customers with per-product figures.

    Parameters
    ----------
    calendar
        A parsed calendar.
    customer_ids
        ``[n]`` ids.
    product_keys
        ``[P]`` the columns' products (catalog keys).
    value
        float ``[n, P]`` expected value of offering the product (in expectation: already
        weighted by the acceptance).
    acceptance
        float ``[n, P]`` acceptance probability in [0, 1].
    eligible
        bool ``[n, P]`` products that may be offered to the customer (default: all).
    windows
        int ``[n, P, 2]`` ``[first day, last day]`` (inclusive, day 1 = the calendar's first
        day) in which the product may be offered to the customer (default: any day). A product
        counts for an activity only when the activity's day lies in its window; see the module
        docstring.

    Returns
    -------
    PlanningProblem
    """
    keys = tuple(str(k) for k in product_keys)
    n = len(customer_ids)
    value = np.asarray(value, dtype=np.float64)
    acc = np.asarray(acceptance, dtype=np.float64)
    elig = np.ones((n, len(keys)), bool) if eligible is None else np.asarray(eligible, bool)
    for name, arr in (("value", value), ("acceptance", acc), ("eligible", elig)):
        if arr.shape != (n, len(keys)):
            raise CalendarError(f"{name} must have shape {(n, len(keys))}, got {arr.shape}.")
    if not (np.isfinite(value).all() and np.isfinite(acc).all()):
        raise CalendarError("value and acceptance must be finite numbers.")
    if acc.min(initial=0) < 0 or acc.max(initial=0) > 1:
        raise CalendarError("acceptance must hold probabilities in [0, 1].")
    win = None if windows is None else _check_windows(windows, n, len(keys))
    missing = [p for p in calendar.products if p not in keys]
    if missing:
        raise CalendarError(
            f"calendar {calendar.source}: product(s) {missing} have no column in the data's "
            f"catalog {list(keys)}. Fix: use those keys or another catalog."
        )
    chans = calendar.channels
    acts = calendar.activities
    targets = np.array([[k in a.products for k in keys] for a in acts], dtype=bool)
    cust_parts, act_parts, profit_parts, prob_parts = [], [], [], []
    offerable = _offerable(calendar, keys, elig, win)
    for i, (a, (cols, ok)) in enumerate(zip(acts, offerable, strict=True)):
        who = np.flatnonzero(ok.any(axis=1))
        v = (value[np.ix_(who, cols)] * ok[who]).sum(axis=1) * a.response - a.cost
        miss = np.prod(1.0 - np.clip(a.response * acc[np.ix_(who, cols)], 0, 1) * ok[who], axis=1)
        cust_parts.append(who)
        act_parts.append(np.full(len(who), i))
        profit_parts.append(v)
        prob_parts.append(1.0 - miss)
    assignments = Assignments.from_pairs(
        np.concatenate(cust_parts),
        np.concatenate(act_parts),
        np.concatenate(profit_parts),
        np.concatenate(prob_parts),
        np.asarray(customer_ids),
    )
    days = np.array([a.day for a in acts])
    contact = [r for r in calendar.rules if r.type == "Maximum contact"]
    rules = [r for r in calendar.rules if r.type != "Maximum contact"]
    rules += _contact_windows(contact, days)
    constraints = Constraints(
        kind=np.array([type_code(r.type) for r in rules], dtype=np.int64),
        start=np.array([r.start for r in rules], dtype=np.int64),
        end=np.array([r.end for r in rules], dtype=np.int64),
        channels=np.array([_mask(r.channels, chans) for r in rules]).reshape(-1, len(chans)),
        products=np.array([_mask(r.products, keys) for r in rules]).reshape(-1, len(keys)),
        bound=np.array([r.bound for r in rules], dtype=np.float64),
        soft=np.array([r.soft for r in rules], dtype=bool),
        penalty=np.array([r.penalty for r in rules], dtype=np.float64),
        names=tuple(r.name for r in rules),
    )
    cf = calendar.conflicts
    conflicts = Conflicts(
        np.array([_mask(c.channels1, chans) for c in cf]).reshape(-1, len(chans)),
        np.array([_mask(c.products1, keys) for c in cf]).reshape(-1, len(keys)),
        np.array([_mask(c.channels2, chans) for c in cf]).reshape(-1, len(chans)),
        np.array([_mask(c.products2, keys) for c in cf]).reshape(-1, len(keys)),
        np.array([c.lag for c in cf], dtype=np.int64),
        tuple(c.name for c in cf),
    )
    activities = Activities(
        ids=np.array([a.id for a in acts]),
        day=days,
        channel=np.array([chans.index(a.channel) for a in acts]),
        cost=np.array([a.cost for a in acts]),
        targets=targets,
    )
    return PlanningProblem(
        activities, assignments, constraints, conflicts, chans, keys, name=calendar.name
    )
