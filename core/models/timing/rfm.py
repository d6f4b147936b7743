"""From a purchase log to each customer's calibration summary: frequency, recency, T, spend.

:func:`rfm_summary` follows the conventions of the "buy till you die" literature (and of the
CDNOW analyses): time in weeks; purchases of a customer on the same day are one transaction;
the first purchase starts the customer's clock and is not a *repeat* purchase; customers whose
first purchase falls after the calibration end are not in the cohort.

Columns (one row per customer, index the id):

``frequency``  repeat purchase days in the calibration period (x)
``recency``    weeks from the first to the last calibration purchase (t_x; 0 when x = 0)
``T``          weeks from the first purchase to the end of the calibration end's day
``monetary``   mean amount of the repeat transactions (NaN when x = 0 or no amounts)
``first``      date of the first purchase
``holdout_frequency``, ``holdout_amount``  purchase days and amount after the calibration end,
               up to the holdout end (with a holdout end)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.purchases import PurchaseLog, check_period

WEEK = pd.Timedelta(days=7)


def daily(log: PurchaseLog) -> pd.DataFrame:
    """One row per customer and purchase day (``id, date, amount``); with the ``net`` returns
    rule, days whose net amount is not positive are dropped."""
    f = log.frame
    day = f.groupby(["id", "date"], sort=True, as_index=False).agg(
        amount=("amount", "sum"), lines=("amount", "size")
    )
    if log.frame["amount"].isna().all():
        day["amount"] = np.nan
    if log.returns == "net":
        day = day.loc[~(day["amount"] <= 0)].reset_index(drop=True)
    return day


def rfm_summary(
    log: PurchaseLog,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The calibration summary of every customer of the cohort (see the module docstring).

    Examples
    --------
    >>> from core.data.purchases import read_purchases
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "date": ["2024-01-01", "2024-01-15", "2024-03-01", "2024-01-08"],
    ...     "amount": [10.0, 20.0, 30.0, 5.0]})
    >>> rfm = rfm_summary(read_purchases(df), "2024-01-31", "2024-03-31")
    >>> rfm.loc["a", ["frequency", "recency", "holdout_frequency"]].tolist()
    [1.0, 2.0, 1.0]
    """
    cal, hold = check_period(log, calibration_end, holdout_end)
    day = daily(log)
    end = cal + pd.Timedelta(days=1)
    first = day.groupby("id", sort=True)["date"].min()
    cohort = first.index[first <= cal]
    d = day.loc[day["id"].isin(cohort)]
    in_cal = d["date"] <= cal
    c = d.loc[in_cal]
    g = c.groupby("id", sort=True)
    n_days = g.size()
    last = g["date"].max()
    f0 = first.loc[n_days.index]
    x = (n_days - 1).astype(np.float64)
    out = pd.DataFrame(
        {
            "frequency": x,
            "recency": ((last - f0) / WEEK).astype(np.float64),
            "T": ((end - f0) / WEEK).astype(np.float64),
        }
    )
    first_amount = c.sort_values(["id", "date"]).groupby("id")["amount"].first()
    total = g["amount"].sum(min_count=1)
    repeat_total = total - first_amount
    out["monetary"] = np.where(x > 0, repeat_total / x.where(x > 0), np.nan)
    out["first"] = f0
    out["calibration_amount"] = total
    if hold is not None:
        h = d.loc[(d["date"] > cal) & (d["date"] <= hold)].groupby("id")
        out["holdout_frequency"] = h.size().reindex(out.index, fill_value=0).astype(np.float64)
        out["holdout_amount"] = h["amount"].sum().reindex(out.index, fill_value=0.0)
    out.index.name = "id"
    out.attrs.update(
        calibration_end=str(cal.date()),
        holdout_end=None if hold is None else str(hold.date()),
        holdout_weeks=None if hold is None else float((hold - cal) / WEEK),
    )
    return out
