"""Purchase histories at the data boundary: a file of customer id, date and amount, validated.

:func:`read_purchases` reads a CSV or Parquet purchase log (or takes a DataFrame) and returns a
:class:`PurchaseLog` with the canonical columns ``id``, ``date`` (datetime64, day), ``amount``
and ``quantity`` (when given). One :class:`~core.common.errors.DataValidationError` names the
column, the first rows and the fix for: a missing column, rows without an id, dates that do not
parse, amounts that are not numbers, and **negative amounts without a returns rule**. A return
is a negative amount; say what it means with ``returns``:

``"drop"``
    returns are left out (a purchase stays a purchase even if part of it came back);
``"net"``
    amounts of a customer's day are summed, and a day whose net amount is not positive is not a
    purchase (a full return cancels the purchase).

:func:`check_period` refuses a calibration end outside the data (before the first purchase or
on/after the last) and a holdout end not after the calibration end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, OptionError, format_rows
from core.data.feedback.read import parse_dates
from core.data.io.read import Limits, read_table

#: The returns rules (None: negative amounts are an error).
RETURNS_RULES: tuple[str, ...] = ("drop", "net")


@dataclass(frozen=True)
class PurchaseLog:
    """Validated purchases.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``id`` (str), ``date`` (datetime64[ns], normalised to the day), ``amount`` (float, NaN
        without an amount column), ``quantity`` (float, NaN without one); one row per purchase
        line, in the file's order.
    columns : dict
        Source column of each field.
    returns : str or None
        The returns rule.
    notes : tuple of str
    """

    frame: pd.DataFrame
    columns: dict[str, str | None]
    returns: str | None
    notes: tuple[str, ...]

    @property
    def first(self) -> pd.Timestamp:
        return pd.Timestamp(self.frame["date"].min())

    @property
    def last(self) -> pd.Timestamp:
        return pd.Timestamp(self.frame["date"].max())


def _fail(name: str, column: str, check: str, rows: list[int], values: list, msg: str, fix: str):
    table = pd.DataFrame(
        [
            {
                "column": column,
                "check": check,
                "rows": format_rows(rows),
                "values": values,
                "fix": fix,
            }
        ]
    )
    shown = ", ".join(repr(str(v)[:30]) for v in values[:3])
    where = f" in {format_rows(rows)}" if rows else ""
    vals = f" (values: {shown})" if shown else ""
    return DataValidationError(f"{name}: column '{column}' {msg}{where}{vals}. Fix: {fix}", table)


def _numbers(frame: pd.DataFrame, col: str, name: str, what: str) -> np.ndarray:
    s = frame[col]
    num = pd.to_numeric(s.astype(object).where(pd.notna(s), None), errors="coerce")
    bad = (pd.notna(s).to_numpy() & num.isna().to_numpy()) | (~pd.notna(s).to_numpy())
    if bad.any():
        rows = (np.flatnonzero(bad) + 1).tolist()
        raise _fail(
            name,
            col,
            what,
            rows,
            list(s.to_numpy(dtype=object)[bad][:3]),
            f"has {what}s that are missing or not numbers",
            f"give every row a numeric {what} (a dot as the decimal separator).",
        )
    return num.to_numpy(dtype=np.float64)


def read_purchases(
    source: str | Path | bytes | pd.DataFrame,
    *,
    id: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
    quantity: str | None = None,
    returns: str | None = None,
    name: str | None = None,
    limits: Limits | None = None,
) -> PurchaseLog:
    """Read and validate a purchase log (see the module docstring).

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": ["2024-01-02", "2024-02-10", "2024-01-05"],
    ...                    "amount": [20.0, 35.5, 12.0]})
    >>> log = read_purchases(df)
    >>> len(log.frame), str(log.last.date())
    (3, '2024-02-10')
    """
    if returns is not None and returns not in RETURNS_RULES:
        raise OptionError(f"returns={returns!r}: choose one of {list(RETURNS_RULES)} or none.")
    if isinstance(source, pd.DataFrame):
        frame, label = source, name or "purchases"
    else:
        frame, info = read_table(source, name=name, limits=limits)
        label = info["name"]
    for role, col in (("id", id), ("date", date), ("amount", amount), ("quantity", quantity)):
        if col is not None and col not in frame.columns:
            shown = ", ".join(repr(c) for c in list(frame.columns)[:12])
            raise _fail(
                label,
                col,
                "missing",
                [],
                [],
                "is not in the file",
                f"name the {role} column (--{role} COLUMN); the file has {shown}.",
            )
    if len(frame) == 0:
        raise DataValidationError(f"{label}: no purchases. Fix: export the purchase lines.")
    ids = frame[id].astype(object)
    no_id = ids.isna().to_numpy() | ids.astype(str).str.strip().eq("").to_numpy()
    if no_id.any():
        rows = (np.flatnonzero(no_id) + 1).tolist()
        raise _fail(
            label,
            id,
            "id",
            rows,
            [],
            "has purchases without a customer id",
            "give every purchase its customer's id.",
        )
    dates = parse_dates(frame[date], date, label)
    undated = dates.isna().to_numpy()
    if undated.any():
        rows = (np.flatnonzero(undated) + 1).tolist()
        raise _fail(
            label,
            date,
            "date",
            rows,
            [],
            "has purchases without a date",
            "give every purchase its date (YYYY-MM-DD).",
        )
    notes: list[str] = []
    amt = (
        _numbers(frame, amount, label, "amount")
        if amount is not None
        else np.full(len(frame), np.nan)
    )
    qty = (
        _numbers(frame, quantity, label, "quantity")
        if quantity is not None
        else np.full(len(frame), np.nan)
    )
    out = pd.DataFrame(
        {
            "id": ids.astype(str).str.strip().to_numpy(dtype=object),
            "date": dates.dt.normalize().to_numpy(dtype="datetime64[ns]"),
            "amount": amt,
            "quantity": qty,
        }
    )
    negative = np.nan_to_num(amt) < 0
    if negative.any():
        rows = (np.flatnonzero(negative) + 1).tolist()
        if returns is None:
            raise _fail(
                label,
                str(amount),
                "negative amount",
                rows,
                list(amt[negative][:3]),
                "has negative amounts (returns) and no returns rule says what they mean",
                "pass --returns drop (leave returns out) or --returns net (net them against "
                "the same day's purchases), or remove them.",
            )
        if returns == "drop":
            out = out.loc[~negative].reset_index(drop=True)
            notes.append(f"{int(negative.sum())} return line(s) (negative amounts) left out.")
        else:
            notes.append(
                f"{int(negative.sum())} return line(s) netted against the same day's purchases."
            )
    return PurchaseLog(
        frame=out,
        columns={"id": id, "date": date, "amount": amount, "quantity": quantity},
        returns=returns,
        notes=tuple(notes),
    )


def check_period(
    log: PurchaseLog,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """The calibration and holdout ends as timestamps, refused when outside the data.

    Raises
    ------
    DataValidationError
        A date that does not parse, a calibration end before the first purchase or on/after
        the last one, or a holdout end not after the calibration end.
    """

    def parse(value: str | pd.Timestamp, what: str) -> pd.Timestamp:
        try:
            return pd.Timestamp(value).normalize()
        except (ValueError, TypeError):
            raise DataValidationError(
                f"{what} {value!r} is not a date. Fix: write it as YYYY-MM-DD."
            ) from None

    cal = parse(calibration_end, "calibration end")
    first, last = log.first, log.last
    if cal < first or cal >= last:
        raise DataValidationError(
            f"calibration end {cal.date()} is outside the data: purchases run from "
            f"{first.date()} to {last.date()}. Fix: choose a calibration end on or after the "
            "first purchase and before the last one."
        )
    hold = None
    if holdout_end is not None:
        hold = parse(holdout_end, "holdout end")
        if hold <= cal:
            raise DataValidationError(
                f"holdout end {hold.date()} is not after the calibration end {cal.date()}. "
                "Fix: give a later holdout end."
            )
    return cal, hold
