"""Suggested contact dates for journey steps, and the windows a campaign calendar can use.

A journey says *what* to offer and in which order; purchase timing says *when*. Each step gets a
date:

* **cross-sell** steps (any product not listed as retention): ``lead_days`` before the
  customer's expected next purchase (``next_purchase_date``), so the offer arrives while they
  are about to buy;
* **retention** steps (``retention`` products, e.g. a loyalty discount): ``lead_days`` before
  P(alive) would fall below the threshold (``alive_until_date``), or the next purchase date when
  it never does;
* every later step at least ``gap_days`` after the step before; never before ``as_of``.

Customers without a purchase history get ``as_of`` plus the gaps (reason ``"no history"``).
:func:`contact_windows` turns the dates into the ``[first day, last day]`` window of each
(customer, product) on a campaign calendar, which
:func:`core.planning.calendar.build_problem` takes as ``windows=``: an activity may then offer a
customer a product only on a day inside that window. :func:`read_contact_plan` checks a contact
plan read from a file (``customer_id, product, date``: what ``python -m core timing --journeys
... --contacts FILE`` writes) for ``python -m core plan ... --windows FILE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, OptionError

#: Columns of :attr:`ContactPlan.table`.
PLAN_COLUMNS: tuple[str, ...] = ("customer_id", "step", "product", "date", "reason")


@dataclass(frozen=True, eq=False)
class ContactPlan:
    """Suggested contact dates, one row per journey step (:data:`PLAN_COLUMNS`)."""

    table: pd.DataFrame
    as_of: pd.Timestamp
    lead_days: int
    gap_days: int


def contact_schedule(
    journeys: pd.DataFrame,
    timing: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    retention: Iterable[str] = ("offer",),
    lead_days: int = 7,
    gap_days: int = 14,
) -> ContactPlan:
    """A date for every step of every journey (see the module docstring).

    Parameters
    ----------
    journeys
        One row per step: ``customer_id``, ``step`` (1, 2, ...), ``product``.
    timing
        :attr:`core.models.timing.TimingResult.customers` (index the customer id) with
        ``next_purchase_date`` and ``alive_until_date``.
    as_of
        No contact before this date.
    retention
        Products whose steps are retention offers.
    lead_days, gap_days
        Days before the due date, and the least days between two steps of a customer.

    Examples
    --------
    >>> j = pd.DataFrame({"customer_id": ["a", "a"], "step": [1, 2],
    ...                   "product": ["tech_support", "offer"]})
    >>> t = pd.DataFrame({"next_purchase_date": pd.to_datetime(["2024-03-20"]),
    ...                   "alive_until_date": pd.to_datetime(["2024-06-01"])}, index=["a"])
    >>> contact_schedule(j, t, as_of="2024-03-01").table["date"].dt.strftime("%m-%d").tolist()
    ['03-13', '05-25']
    """
    if lead_days < 0 or gap_days < 0:
        raise OptionError("lead_days and gap_days must be >= 0.")
    missing = [c for c in ("customer_id", "step", "product") if c not in journeys.columns]
    if missing:
        raise OptionError(f"journeys lack column(s) {missing}.")
    start = pd.Timestamp(as_of).normalize()
    keep = set(retention)
    j = journeys.sort_values(["customer_id", "step"], kind="stable").reset_index(drop=True)
    ids = j["customer_id"].astype(str)
    t = timing.copy()
    t.index = t.index.astype(str)
    nxt = t["next_purchase_date"].reindex(ids).to_numpy(dtype="datetime64[ns]")
    alive = t["alive_until_date"].reindex(ids).to_numpy(dtype="datetime64[ns]")
    is_ret = j["product"].astype(str).isin(keep).to_numpy()
    lead = np.timedelta64(int(lead_days), "D")
    due = np.where(is_ret & ~np.isnat(alive), alive, nxt)
    reason = np.where(
        np.isnat(due),
        "no history",
        np.where(is_ret & ~np.isnat(alive), "before P(alive) falls", "before the next purchase"),
    )
    base = np.datetime64(start, "ns")
    want = np.where(np.isnat(due), base, due - lead)
    want = np.maximum(want, base)
    dates = want.copy()
    gap = np.timedelta64(int(gap_days), "D")
    same = np.r_[False, ids.to_numpy()[1:] == ids.to_numpy()[:-1]]
    for i in np.flatnonzero(same):  # later steps wait at least gap_days after the one before
        dates[i] = max(dates[i], dates[i - 1] + gap)
    table = pd.DataFrame(
        {
            "customer_id": j["customer_id"].to_numpy(),
            "step": j["step"].to_numpy(),
            "product": j["product"].to_numpy(),
            "date": dates,
            "reason": reason,
        }
    )
    return ContactPlan(table, start, int(lead_days), int(gap_days))


#: Columns a contact plan read from a file needs (:func:`read_contact_plan`).
WINDOW_COLUMNS: tuple[str, ...] = ("customer_id", "product", "date")


def read_contact_plan(
    table: pd.DataFrame, *, products: Sequence[str] | None = None, name: str = "contact plan"
) -> pd.DataFrame:
    """A contact plan read from a file, checked: ``customer_id, product, date`` as strings and
    dates (other columns kept).

    Parameters
    ----------
    table
        The raw table (e.g. :func:`core.data.io.read_table` of a CSV: strings).
    products
        Product keys allowed (default: any).
    name
        The file's name, for the messages.

    Raises
    ------
    DataValidationError
        A missing column, an empty table, a date that does not parse (naming the first row) or
        a product outside ``products``.
    """
    missing = [c for c in WINDOW_COLUMNS if c not in table.columns]
    if missing:
        raise DataValidationError(
            f"{name}: column(s) {missing} missing (has {list(table.columns)}). Fix: give a "
            "contact plan with columns customer_id, product, date (what `python -m core timing "
            "--journeys FILE --contacts FILE` writes)."
        )
    if table.empty:
        raise DataValidationError(f"{name}: no rows. Fix: give at least one contact date.")
    out = table.copy()
    out["customer_id"] = out["customer_id"].astype(str)
    out["product"] = out["product"].astype(str)
    raw = out["date"]
    dates = pd.to_datetime(raw, errors="coerce", format="mixed")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise DataValidationError(
            f"{name}: date {raw.iloc[i]!r} in row {i + 1} does not parse ({len(bad)} such "
            "row(s)). Fix: write dates as YYYY-MM-DD."
        )
    out["date"] = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates
    if products is not None:
        known = set(products)
        unknown = sorted(set(out["product"]) - known)
        if unknown:
            row = int(np.flatnonzero(~out["product"].isin(known).to_numpy())[0])
            raise DataValidationError(
                f"{name}: product(s) {unknown[:5]} (first in row {row + 1}) are not catalog "
                f"keys. Fix: use the catalog's keys {list(products)}, or another --catalog."
            )
    return out


def contact_windows(
    plan: ContactPlan | pd.DataFrame,
    customer_ids: Sequence[object] | np.ndarray,
    product_keys: Sequence[str],
    *,
    calendar_start: str | pd.Timestamp,
    before_days: int = 7,
    after_days: int = 21,
    horizon_days: int = 3650,
) -> np.ndarray:
    """int ``[n, P, 2]``: each customer's window of calendar days for each product.

    Day 1 is ``calendar_start``. A product of the customer's journey may be offered from
    ``before_days`` before its suggested date to ``after_days`` after it; a product outside the
    journey keeps the whole horizon ``[1, horizon_days]``. ``plan`` is a
    :class:`ContactPlan` or its table (``customer_id, product, date``, e.g. from
    :func:`read_contact_plan`); a customer with two dates for one product gets the span from the first
    window's first day to the last window's last day. Rows of customers or products not listed are ignored.
    """
    if before_days < 0 or after_days < 0:
        raise OptionError("before_days and after_days must be >= 0.")
    ids = pd.Index(pd.Series(np.asarray(customer_ids, dtype=object)).astype(str))
    keys = {k: i for i, k in enumerate(product_keys)}
    out = np.empty((len(ids), len(keys), 2), dtype=np.int64)
    out[..., 0], out[..., 1] = 1, horizon_days
    t = plan.table if isinstance(plan, ContactPlan) else plan
    rows = ids.get_indexer(t["customer_id"].astype(str))
    cols = t["product"].astype(str).map(keys).to_numpy()
    ok = (rows >= 0) & pd.notna(cols)
    origin = pd.Timestamp(calendar_start).normalize()
    day = ((pd.to_datetime(t["date"]) - origin).dt.days + 1).to_numpy()
    r, c, d = rows[ok], cols[ok].astype(np.int64), day[ok].astype(np.int64)
    listed = np.zeros(out.shape[:2], dtype=bool)
    listed[r, c] = True
    first = np.full(out.shape[:2], np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(out.shape[:2], np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, (r, c), np.maximum(d - before_days, 1))
    np.maximum.at(last, (r, c), np.maximum(d + after_days, 1))
    out[listed, 0], out[listed, 1] = first[listed], last[listed]
    return out
