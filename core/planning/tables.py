"""The four-table layout of the public customer-assignment benchmark, read and written.

Bigler, Kammermann & Baumann (EJOR 2023) published their instances (GitHub
``phil85/customer-assignment-instances``) as one folder per instance with ``table1.csv`` ..
``table4.csv`` (the large ones zipped)::

    table1.csv  Activity,Day,Channel,TargetProducts,Cost            products separated by ";"
    table2.csv  Customer,Activity,ExpectedProfit,ResponseProbability
    table3.csv  Index,Type,StartDay,EndDay,Channels,TargetProducts,Bound
    table4.csv  Index,Channel1,TargetProduct1,Channel2,TargetProduct2,Lag

Channels and TargetProducts of table3 and table4 are lists separated by ";" (spaces around the
names are ignored: ``direct mail; email``) or ``ALL``. Headers are matched ignoring case, spaces
and underscores (``Target products`` works too). table3 may carry two optional columns,
``Soft`` (true/false) and ``Penalty``. A folder, a ``.zip`` of one, or a folder holding a
``.zip`` is read; every problem raises :class:`~core.common.errors.DataValidationError` naming
the table, column, rows and the fix.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, format_rows
from core.planning.problem import (
    MAX_CONTACT,
    TYPES,
    Activities,
    Assignments,
    Conflicts,
    Constraints,
    PlanningProblem,
    type_code,
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "table1": ("Activity", "Day", "Channel", "TargetProducts", "Cost"),
    "table2": ("Customer", "Activity", "ExpectedProfit", "ResponseProbability"),
    "table3": ("Index", "Type", "StartDay", "EndDay", "Channels", "TargetProducts", "Bound"),
    "table4": ("Index", "Channel1", "TargetProduct1", "Channel2", "TargetProduct2", "Lag"),
}
WHAT = {
    "table1": "the activities",
    "table2": "the eligible assignments",
    "table3": "the constraints",
    "table4": "the conflict rules (a header line alone when there are none)",
}


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "", str(name)).lower()


def _error(table: str, column: str, rows: Any, problem: str, fix: str) -> DataValidationError:
    where = f"{table}.csv, column {column}" if column else f"{table}.csv"
    rows = list(rows)
    at = f", {format_rows([int(r) + 1 for r in rows])}" if rows else ""
    return DataValidationError(f"{where}{at}: {problem}. Fix: {fix}")


class _Source:
    """The four tables' bytes, from a folder, a zip, or a folder holding one zip."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.files: dict[str, Callable[[], bytes]] = {}
        if self.path.is_dir():
            for p in self.path.iterdir():
                self._add(p.name, p.read_bytes)
            zips = sorted(self.path.glob("*.zip"))
            if not all(t in self.files for t in COLUMNS) and len(zips) == 1:
                self._add_zip(zips[0])
        elif self.path.is_file() and self.path.suffix.lower() == ".zip":
            self._add_zip(self.path)
        elif self.path.is_file():
            raise DataValidationError(
                f"{path}: a file, not a folder of planning tables. Fix: give the folder with "
                "table1.csv .. table4.csv of one instance (or its .zip), or a campaign calendar "
                f".toml with the customers as --data (plan calendar.toml --data {self.path.name})."
            )
        else:
            raise DataValidationError(
                f"{path}: no such folder. Fix: give the folder with table1.csv .. table4.csv "
                "of one instance (or its .zip), or a campaign calendar .toml."
            )

    def _add(self, name: str, read: Callable[[], bytes]) -> None:
        m = re.fullmatch(r"(table[1-4])\.csv", Path(name).name.lower())
        if m and m.group(1) not in self.files:
            self.files[m.group(1)] = read

    def _add_zip(self, path: Path) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as err:
            raise DataValidationError(f"{path.name}: not a readable zip file ({err}).") from err
        for info in archive.infolist():
            if not info.is_dir():
                self._add(info.filename, functools.partial(archive.read, info))

    def frame(self, table: str, numeric: bool = False) -> pd.DataFrame:
        if table not in self.files:
            raise DataValidationError(
                f"{self.path}: {table}.csv is missing ({WHAT[table]}). Fix: add {table}.csv with "
                f"the columns {','.join(COLUMNS[table])}."
            )
        data = self.files[table]()
        try:
            if numeric:
                frame = pd.read_csv(io.BytesIO(data), engine="pyarrow")
            else:
                frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as err:
            raise DataValidationError(f"{table}.csv cannot be read as CSV: {err}") from err
        rename = {}
        for col in frame.columns:
            for want in COLUMNS[table]:
                if _key(col) == _key(want):
                    rename[col] = want
        frame = frame.rename(columns=rename)
        missing = [c for c in COLUMNS[table] if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"{table}.csv lacks column(s) {missing} (it has {list(frame.columns)}). Fix: "
                f"the header must be {','.join(COLUMNS[table])}."
            )
        return frame


def _text(frame: pd.DataFrame, table: str, col: str) -> np.ndarray:
    vals = frame[col].astype(str).str.strip().to_numpy()
    bad = np.flatnonzero(vals == "")
    if len(bad):
        raise _error(table, col, bad, "empty cell", f"give every row a {col}")
    return vals


def _numbers(
    frame: pd.DataFrame, table: str, col: str, *, integer: bool = False, low: float | None = None
) -> np.ndarray:
    vals = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(vals))
    kind = "a whole number" if integer else "a number"
    if len(bad):
        shown = ", ".join(repr(str(v)) for v in frame[col].to_numpy()[bad[:3]])
        raise _error(table, col, bad, f"not {kind} ({shown})", f"write {col} as {kind}")
    if integer:
        bad = np.flatnonzero(vals != np.round(vals))
        if len(bad):
            raise _error(table, col, bad, "not a whole number", f"write {col} as a whole number")
    if low is not None:
        bad = np.flatnonzero(vals < low)
        if len(bad):
            raise _error(table, col, bad, f"below {low:g}", f"{col} must be at least {low:g}")
    return vals


def _split(cell: str) -> list[str]:
    return [p.strip() for p in str(cell).split(";") if p.strip()]


def _mask(cells: np.ndarray, names: tuple[str, ...], table: str, col: str, what: str) -> np.ndarray:
    out = np.zeros((len(cells), len(names)), dtype=bool)
    index = {n: i for i, n in enumerate(names)}
    for r, cell in enumerate(cells):
        items = _split(cell)
        if [i.upper() for i in items] == ["ALL"]:
            out[r] = True
            continue
        unknown = [i for i in items if i not in index]
        if unknown or not items:
            raise _error(
                table,
                col,
                [r],
                f"unknown {what} {unknown or [cell]}",
                f"use 'ALL' or {what}s of table1 separated by ';' ({', '.join(names[:8])}"
                + (" ..." if len(names) > 8 else "")
                + ")",
            )
        out[r, [index[i] for i in items]] = True
    return out


def _listed(src: _Source, table: str, col: str) -> set[str]:
    """Products a constraint or conflict table lists (a product no activity promotes is still
    a product: its constraints cover nothing)."""
    if table not in src.files:
        return set()
    frame = src.frame(table)
    return {p for cell in frame[col].astype(str) for p in _split(cell) if p.upper() != "ALL"}


def _natural(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda s: (0, int(s), s) if s.isdigit() else (1, 0, s)))


def read_instance(path: str | Path) -> PlanningProblem:
    """Read one instance in the benchmark's four-table layout.

    Parameters
    ----------
    path
        A folder with ``table1.csv`` .. ``table4.csv``, a ``.zip`` of them, or a folder holding
        that zip.

    Returns
    -------
    PlanningProblem
        Every constraint hard (mark some soft with :meth:`PlanningProblem.with_soft`) unless
        table3 has ``Soft``/``Penalty`` columns.

    Raises
    ------
    DataValidationError
        A missing table or column, a non-numeric day, cost, bound or lag, an unknown
        constraint type, channel or product, an activity of table2 that table1 lacks, a
        repeated assignment ... with the table, column, rows and the fix.
    """
    src = _Source(path)
    t1 = src.frame("table1")
    ids = _text(t1, "table1", "Activity")
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        raise _error(
            "table1",
            "Activity",
            np.flatnonzero(dup),
            "repeated activity id",
            "give every activity its own id",
        )
    day = _numbers(t1, "table1", "Day", integer=True)
    cost = _numbers(t1, "table1", "Cost", low=0.0)
    chan = _text(t1, "table1", "Channel")
    targets_txt = _text(t1, "table1", "TargetProducts")
    channels = tuple(dict.fromkeys(chan))
    products = _natural(
        {p for cell in targets_txt for p in _split(cell)}
        | _listed(src, "table3", "TargetProducts")
        | _listed(src, "table4", "TargetProduct1")
        | _listed(src, "table4", "TargetProduct2")
    )
    targets = _mask(targets_txt, products, "table1", "TargetProducts", "product")
    ch_index = {c: i for i, c in enumerate(channels)}
    activities = Activities(ids, day, np.array([ch_index[c] for c in chan]), cost, targets)

    assignments = _assignments(src.frame("table2", numeric=True), ids)
    constraints = _constraints(src.frame("table3"), channels, products)
    conflicts = _conflicts(src.frame("table4"), channels, products)
    return PlanningProblem(
        activities,
        assignments,
        constraints,
        conflicts,
        channels,
        products,
        name=src.path.name,
    )


def _assignments(t2: pd.DataFrame, act_ids: np.ndarray) -> Assignments:
    table = "table2"
    act_raw = t2["Activity"]
    if pd.api.types.is_integer_dtype(act_raw) and all(a.lstrip("-").isdigit() for a in act_ids):
        ints = act_ids.astype(np.int64)
        order = np.argsort(ints)
        where = np.searchsorted(ints[order], act_raw.to_numpy())
        where = np.minimum(where, len(ints) - 1)
        act = order[where]
        unknown = np.flatnonzero(ints[act] != act_raw.to_numpy())
    else:
        act = pd.Index(act_ids).get_indexer(act_raw.astype(str).str.strip())
        unknown = np.flatnonzero(act < 0)
    if len(unknown):
        shown = ", ".join(str(v) for v in act_raw.to_numpy()[unknown[:3]])
        raise _error(
            table,
            "Activity",
            unknown,
            f"activity id(s) {shown} not in table1",
            "list only activities of table1 (or add them there)",
        )
    profit = _numbers(t2, table, "ExpectedProfit")
    prob = _numbers(t2, table, "ResponseProbability", low=0.0)
    over = np.flatnonzero(prob > 1.0)
    if len(over):
        raise _error(table, "ResponseProbability", over, "above 1", "give probabilities in [0, 1]")
    cust_raw = t2["Customer"]
    if cust_raw.isna().any():
        raise _error(
            table,
            "Customer",
            np.flatnonzero(cust_raw.isna()),
            "empty cell",
            "give every row a Customer",
        )
    codes, uniques = pd.factorize(cust_raw, sort=True)
    cust = codes.astype(np.int64)
    order = np.lexsort((act, cust))
    c_s, a_s = cust[order], act[order]
    rep = np.flatnonzero((np.diff(c_s) == 0) & (np.diff(a_s) == 0))
    if len(rep):
        raise _error(
            table,
            "Customer",
            np.sort(order[rep + 1]),
            "the same (Customer, Activity) pair is listed twice",
            "keep one row per customer and activity",
        )
    return Assignments(c_s, a_s, profit[order], prob[order], np.asarray(uniques))


def _constraints(
    t3: pd.DataFrame, channels: tuple[str, ...], products: tuple[str, ...]
) -> Constraints:
    table = "table3"
    types = _text(t3, table, "Type") if len(t3) else np.zeros(0, str)
    kind = np.array([type_code(t) for t in types], dtype=np.int64)
    bad = np.flatnonzero(kind < 0)
    if len(bad):
        raise _error(
            table,
            "Type",
            bad,
            f"unknown constraint type {types[bad[0]]!r}",
            f"use one of {', '.join(TYPES)}",
        )
    start = _numbers(t3, table, "StartDay", integer=True)
    end = _numbers(t3, table, "EndDay", integer=True)
    bad = np.flatnonzero(start > end)
    if len(bad):
        raise _error(table, "StartDay", bad, "StartDay after EndDay", "swap or fix the days")
    bound = _numbers(t3, table, "Bound")
    bad = np.flatnonzero((kind == MAX_CONTACT) & (bound < 0))
    if len(bad):
        raise _error(
            table, "Bound", bad, "a negative Maximum contact", "give a number of contacts >= 0"
        )
    ch = _mask(_text(t3, table, "Channels"), channels, table, "Channels", "channel")
    pr = _mask(_text(t3, table, "TargetProducts"), products, table, "TargetProducts", "product")
    soft = np.zeros(len(t3), bool)
    penalty = np.zeros(len(t3))
    cols = {_key(c): c for c in t3.columns}
    if "soft" in cols:
        txt = t3[cols["soft"]].astype(str).str.strip().str.lower()
        ok = txt.isin(["true", "false", "1", "0", "yes", "no", ""])
        if not ok.all():
            raise _error(
                table,
                "Soft",
                np.flatnonzero(~ok.to_numpy()),
                "not true/false",
                "write true or false",
            )
        soft = txt.isin(["true", "1", "yes"]).to_numpy()
    if "penalty" in cols:
        sub = t3[cols["penalty"]].astype(str).str.strip()
        pen = pd.to_numeric(sub.where(sub != "", "0"), errors="coerce").to_numpy(np.float64)
        bad = np.flatnonzero(~np.isfinite(pen) | (pen < 0))
        if len(bad):
            raise _error(table, "Penalty", bad, "not a number >= 0", "write a penalty >= 0")
        penalty = pen
    bad = np.flatnonzero(soft & ~(penalty > 0))
    if len(bad):
        raise _error(
            table,
            "Penalty",
            bad,
            "a soft constraint without a penalty",
            "give soft constraints a Penalty > 0 per unit of violation",
        )
    names = tuple(_text(t3, table, "Index")) if len(t3) else ()
    return Constraints(kind, start, end, ch, pr, bound, soft, penalty, names)


def _conflicts(t4: pd.DataFrame, channels: tuple[str, ...], products: tuple[str, ...]) -> Conflicts:
    table = "table4"
    if not len(t4):
        return Conflicts.empty(len(channels), len(products))
    lag = _numbers(t4, table, "Lag", integer=True, low=0.0)
    return Conflicts(
        _mask(_text(t4, table, "Channel1"), channels, table, "Channel1", "channel"),
        _mask(_text(t4, table, "TargetProduct1"), products, table, "TargetProduct1", "product"),
        _mask(_text(t4, table, "Channel2"), channels, table, "Channel2", "channel"),
        _mask(_text(t4, table, "TargetProduct2"), products, table, "TargetProduct2", "product"),
        lag,
        tuple(_text(t4, table, "Index")),
    )


def _join(mask: np.ndarray, names: tuple[str, ...], sep: str = "; ") -> str:
    return "ALL" if mask.all() else sep.join(n for n, m in zip(names, mask, strict=True) if m)


def write_instance(problem: PlanningProblem, folder: str | Path) -> Path:
    """Write ``problem`` as ``table1.csv`` .. ``table4.csv`` in ``folder`` (created)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    act, asg = problem.activities, problem.assignments
    pd.DataFrame(
        {
            "Activity": act.ids,
            "Day": act.day,
            "Channel": [problem.channels[c] for c in act.channel],
            "TargetProducts": [_join(t, problem.products, ";") for t in act.targets],
            "Cost": act.cost,
        }
    ).to_csv(out / "table1.csv", index=False)
    pd.DataFrame(
        {
            "Customer": np.asarray(asg.customer_ids)[asg.customer],
            "Activity": act.ids[asg.activity],
            "ExpectedProfit": asg.profit,
            "ResponseProbability": asg.probability,
        }
    ).to_csv(out / "table2.csv", index=False)
    c = problem.constraints
    t3 = pd.DataFrame(
        {
            "Index": c.names,
            "Type": [TYPES[k] for k in c.kind],
            "StartDay": c.start,
            "EndDay": c.end,
            "Channels": [_join(m, problem.channels) for m in c.channels],
            "TargetProducts": [_join(m, problem.products) for m in c.products],
            "Bound": c.bound,
        }
    )
    if c.soft.any():
        t3["Soft"] = np.where(c.soft, "true", "false")
        t3["Penalty"] = c.penalty
    t3.to_csv(out / "table3.csv", index=False)
    f = problem.conflicts
    pd.DataFrame(
        {
            "Index": f.names,
            "Channel1": [_join(m, problem.channels) for m in f.channels1],
            "TargetProduct1": [_join(m, problem.products) for m in f.products1],
            "Channel2": [_join(m, problem.channels) for m in f.channels2],
            "TargetProduct2": [_join(m, problem.products) for m in f.products2],
            "Lag": f.lag,
        },
        columns=list(COLUMNS["table4"]),
    ).to_csv(out / "table4.csv", index=False)
    return out
