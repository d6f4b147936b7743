"""The campaign log: who received which arm, with what probability, and what happened after.

One row per customer contact (or per customer of an experiment):

* an **arm** column: the offer, channel or message; one label marks the **control** group;
* one or more **outcome** columns: binary (0/1: accepted, visited, converted) or amounts
  (spend, revenue); the kind is read from the values;
* an optional **assignment probability** (propensity) of the arm received, in (0, 1]; absent, the
  arms are taken as randomized with the observed arm shares;
* an optional **customer id**; absent, the row number is the id;
* the **customer features**, in the same file or joined from a customer table by id.

:func:`read_log` reads CSV or Parquet (path or bytes, through :func:`core.data.io.read_table`)
and :func:`validate_log` checks a frame once, at the boundary: every problem is collected
(pandera, lazy) and raised as one :class:`~core.common.errors.DataValidationError` naming the
column, the first rows and the fix. Everything after works on the :class:`CampaignLog`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, OptionError, format_rows
from core.data import schema
from core.data.io import Limits, read_table

#: Fewest rows an arm (control included) needs for its mean to be worth an interval.
MIN_ROWS = 30
#: Outcome kinds: 0/1 values, or any other numbers.
KINDS = ("binary", "amount")


@dataclass(frozen=True, eq=False)
class CampaignLog:
    """A validated campaign log.

    Attributes
    ----------
    features : pandas.DataFrame
        The customer features, one row per log row (RangeIndex); raw values (text or numbers).
    arm : numpy.ndarray
        int ``[n]``: index into :attr:`arms` of the arm each row received (0 = control).
    arms : tuple of str
        Arm labels, the control first.
    outcomes : dict
        Outcome name -> float ``[n]``, in the order given.
    kinds : dict
        Outcome name -> ``"binary"`` or ``"amount"``.
    propensity : numpy.ndarray
        float ``[n]``: probability that the row received its arm, in (0, 1].
    ids : numpy.ndarray
        The customer id of each row (the row number when the log has none).
    arm_column, id_column, propensity_column : str or None
        Where these came from (``None``: absent from the log).
    name : str
        The log's name in messages.
    notes : tuple of str
        What the reader should know (e.g. propensities taken from the observed shares).
    """

    features: pd.DataFrame
    arm: np.ndarray
    arms: tuple[str, ...]
    outcomes: dict[str, np.ndarray]
    kinds: dict[str, str]
    propensity: np.ndarray
    ids: np.ndarray
    arm_column: str = "arm"
    id_column: str | None = None
    propensity_column: str | None = None
    name: str = "campaign log"
    notes: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.arm)

    @property
    def control(self) -> str:
        """The control group's label."""
        return self.arms[0]

    @property
    def n_arms(self) -> int:
        """Number of arms, control included."""
        return len(self.arms)

    @property
    def outcome_names(self) -> tuple[str, ...]:
        return tuple(self.outcomes)

    def labels(self) -> np.ndarray:
        """The arm label of each row (object array)."""
        return np.asarray(self.arms, dtype=object)[self.arm]

    def counts(self) -> dict[str, int]:
        """Rows per arm, in :attr:`arms` order."""
        c = np.bincount(self.arm, minlength=self.n_arms)
        return {a: int(k) for a, k in zip(self.arms, c, strict=True)}

    def y(self, outcome: str) -> np.ndarray:
        """The values of one outcome."""
        if outcome not in self.outcomes:
            raise OptionError(f"unknown outcome {outcome!r}; the log has {list(self.outcomes)}")
        return self.outcomes[outcome]

    def subset(self, idx: Any) -> CampaignLog:
        """The log restricted to some rows (index array or boolean mask)."""
        rows = np.arange(self.n)[idx]
        return CampaignLog(
            features=self.features.iloc[rows].reset_index(drop=True),
            arm=self.arm[rows],
            arms=self.arms,
            outcomes={k: v[rows] for k, v in self.outcomes.items()},
            kinds=dict(self.kinds),
            propensity=self.propensity[rows],
            ids=self.ids[rows],
            arm_column=self.arm_column,
            id_column=self.id_column,
            propensity_column=self.propensity_column,
            name=self.name,
            notes=self.notes,
        )


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def read_log(
    source: str | Path | bytes | pd.DataFrame,
    *,
    arm: str,
    control: str,
    outcomes: Sequence[str],
    propensity: str | None = None,
    id: str | None = None,
    customers: str | Path | bytes | pd.DataFrame | None = None,
    arms: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    min_rows: int = MIN_ROWS,
    name: str | None = None,
    limits: Limits | None = None,
) -> CampaignLog:
    """Read a campaign log (CSV or Parquet, path or bytes) and validate it.

    Parameters
    ----------
    source
        The log: a path, an upload's bytes or a DataFrame.
    customers
        Optional customer table (path, bytes or DataFrame) whose columns are joined by id.
    arm, control, outcomes, propensity, id, arms, features, min_rows
        See :func:`validate_log`.
    name
        Name used in messages (default: the file name).
    limits
        Size caps checked before parsing (:class:`core.data.io.Limits`).

    Returns
    -------
    CampaignLog

    Raises
    ------
    DataValidationError
        Unreadable files and every problem :func:`validate_log` finds.
    """
    if isinstance(source, pd.DataFrame):
        frame, label = source, name or "campaign log"
    else:
        frame, info = read_table(source, name=name, limits=limits)
        label = str(info["name"])
    table = None
    if customers is not None:
        if isinstance(customers, pd.DataFrame):
            table = customers
        else:
            table, _ = read_table(customers, limits=limits)
    return validate_log(
        frame,
        arm=arm,
        control=control,
        outcomes=outcomes,
        propensity=propensity,
        id=id,
        customers=table,
        arms=arms,
        features=features,
        min_rows=min_rows,
        name=label,
    )


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _failure(column: str, check: str, rows: Sequence[int], fix: str, values=()) -> dict[str, Any]:
    return {
        "column": column,
        "check": check,
        "rows": list(rows),
        "values": list(values),
        "fix": fix,
    }


def _raise(failures: list[dict[str, Any]], name: str) -> None:
    if not failures:
        return
    lines = [f"{name}: {len(failures)} problem(s) found; nothing was loaded."]
    for f in failures:
        vals = f" (values: {', '.join(repr(v) for v in f['values'])})" if f["values"] else ""
        where = f" in {format_rows(f['rows'])}" if f["rows"] else ""
        lines.append(f"- column '{f['column']}': {f['check']}{where}{vals}. Fix: {f['fix']}.")
    table = pd.DataFrame(
        [
            {**f, "rows": format_rows(f["rows"]), "values": ", ".join(map(str, f["values"]))}
            for f in failures
        ]
    )
    raise DataValidationError("\n".join(lines), table)


def _check_names(
    frame: pd.DataFrame, arm: str, outcomes: Sequence[str], propensity: str | None, id: str | None
) -> tuple[str, ...]:
    outs = tuple(outcomes)
    if not outs:
        raise OptionError("give at least one outcome column (e.g. --outcome converted)")
    named = [arm, *outs] + [c for c in (propensity, id) if c is not None]
    dupes = sorted({c for c in named if named.count(c) > 1})
    if dupes:
        raise OptionError(
            f"column(s) {dupes} are named for more than one role (arm, outcome, propensity, id)"
        )
    missing = [c for c in named if c not in frame.columns]
    if missing:
        cols = [str(c) for c in frame.columns][:40]
        raise DataValidationError(
            f"campaign log: column(s) {missing} not found. The log has {cols}. Fix: name the "
            "log's columns exactly (they are case-sensitive), or rename them in the file.",
            pd.DataFrame([_failure(", ".join(missing), "present", [], "name existing columns")]),
        )
    return outs


def _as_numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float values, mask of cells that are not numbers); empty cells are NaN, not bad."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64").to_numpy(), np.zeros(len(col), dtype=bool)
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("float64").to_numpy(), np.zeros(len(col), dtype=bool)
    text = col.astype(object).where(col.notna(), None)
    text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    text = text.where(text != "", None)
    num = pd.to_numeric(text, errors="coerce")
    bad = (text.notna() & num.isna()).to_numpy()
    return num.to_numpy(dtype=np.float64), bad


def _pandera_failures(frame: pd.DataFrame, checks: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Run the per-cell checks (pandera, lazy) and turn its failure cases into failures."""
    import pandera.pandas as pa

    schema_ = pa.DataFrameSchema(
        {c: pa.Column(None, checks=[x[0] for x in cs], nullable=False) for c, cs in checks.items()},
        strict=False,
        coerce=False,
    )
    said = {(c, chk.name): (what, fix) for c, cs in checks.items() for chk, what, fix in cs}
    try:
        schema_.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        out = []
        fc = exc.failure_cases
        for (column, check), group in fc.groupby(["column", "check"], sort=False, dropna=False):
            idx = pd.to_numeric(group["index"], errors="coerce").dropna().astype(int)
            rows = sorted(set((idx + 1).tolist()))
            values = group["failure_case"].dropna().astype(str).unique()[:3].tolist()
            name = str(check)
            if name == "not_nullable":
                what, fix = "is empty", "fill the empty cells or drop those rows"
            else:
                key = next((k for k in said if k[0] == column and name.startswith(k[1])), None)
                what, fix = said[key] if key else (f"fails {name}", "correct the values")
            out.append(_failure(str(column), what, rows, fix, values))
        return out
    return []


def validate_log(
    frame: pd.DataFrame,
    *,
    arm: str,
    control: str,
    outcomes: Sequence[str],
    propensity: str | None = None,
    id: str | None = None,
    customers: pd.DataFrame | None = None,
    arms: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    min_rows: int = MIN_ROWS,
    name: str = "campaign log",
) -> CampaignLog:
    """Check a campaign log once and return it as a :class:`CampaignLog`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The raw log (text cells from CSV are fine).
    arm : str
        Column of the arm received.
    control : str
        The arm label of the control group.
    outcomes : sequence of str
        Outcome columns: numbers; 0/1 columns are binary, the others amounts.
    propensity : str, optional
        Column of the assignment probability of the arm received, in (0, 1]. Absent: the
        observed share of each arm (a completely randomized design).
    id : str, optional
        Customer id column; absent, the row number (1-based) is the id.
    customers : pandas.DataFrame, optional
        Customer table joined by id (its column ``id``, else ``Customer ID``); every id of the
        log must be in it exactly once. Log columns win over customer columns of the same name.
    arms : sequence of str, optional
        The arms the caller expects (control may be omitted); other labels are errors, and the
        arms keep this order.
    features : sequence of str, optional
        Feature columns; default every other column except canonical outcome columns
        (the leakage guard of :mod:`core.data.schema`) and constants.
    min_rows : int, default 30
        Fewest rows per arm.
    name : str
        The log's name in messages.

    Returns
    -------
    CampaignLog

    Raises
    ------
    DataValidationError
        Missing columns, empty or unknown arm labels, no control rows, an arm with fewer than
        ``min_rows`` rows, non-numeric or empty outcomes, propensities outside (0, 1], ids the
        customer table lacks; every problem at once, each with its rows and fix.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["a", "c", "a", "c"], "y": [1, 0, 1, 1], "x": [1, 2, 3, 4]})
    >>> log = validate_log(df, arm="arm", control="c", outcomes=["y"], min_rows=2)
    >>> log.arms, log.kinds, log.propensity.tolist()
    (('c', 'a'), {'y': 'binary'}, [0.5, 0.5, 0.5, 0.5])
    """
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise OptionError(f"min_rows must be a whole number >= 1, got {min_rows!r}")
    frame = frame.reset_index(drop=True)
    outs = _check_names(frame, arm, outcomes, propensity, id)
    control = str(control).strip()
    failures: list[dict[str, Any]] = []

    labels = frame[arm].astype(object).where(frame[arm].notna(), None)
    labels = labels.map(lambda v: str(v).strip() if v is not None else None)
    labels = labels.where(labels != "", None)
    expected = None
    if arms is not None:
        expected = [str(a).strip() for a in arms]
        if control not in expected:
            expected = [control, *expected]

    numeric: dict[str, np.ndarray] = {}
    for col in [*outs, *([propensity] if propensity else [])]:
        values, bad = _as_numbers(frame[col])
        if bad.any():
            rows = (np.flatnonzero(bad) + 1).tolist()
            vals = frame[col][bad].astype(str).unique()[:3].tolist()
            fix = (
                "use probabilities as plain numbers in (0, 1]"
                if col == propensity
                else "use numbers: 0/1 for yes/no outcomes, plain amounts (dot decimals, no "
                "currency signs) for amounts"
            )
            failures.append(_failure(col, "is not a number", rows, fix, vals))
        numeric[col] = values

    import pandera.pandas as pa

    checked = pd.DataFrame({arm: labels, **{c: numeric[c] for c in numeric}})
    checks: dict[str, list[Any]] = {arm: []}
    if expected is not None:
        checks[arm].append(
            (
                pa.Check.isin(expected),
                f"has labels other than the arms listed {expected}",
                "list every arm the log has, or drop the rows of the other arms",
            )
        )
    for col in outs:
        checks[col] = [(pa.Check(np.isfinite, name="finite"), "is infinite", "use finite numbers")]
    if propensity:
        checks[propensity] = [
            (
                pa.Check.in_range(0.0, 1.0, include_min=False, include_max=True),
                "is outside (0, 1]",
                "give each row the probability of the arm it received, in (0, 1] (0 means the "
                "arm could not have been assigned)",
            )
        ]
    if id is not None:
        checked[id] = frame[id].astype(object).where(frame[id].notna(), None)
        checks[id] = []
    bad_cells = {(f["column"], r) for f in failures for r in f["rows"]}
    for f in _pandera_failures(checked, checks):
        if f["check"] == "is empty":  # a cell that was not a number is reported once
            f["rows"] = [r for r in f["rows"] if (f["column"], r) not in bad_cells]
            if not f["rows"]:
                continue
        failures.append(f)

    present = [v for v in pd.unique(labels.dropna())]
    counts = labels.value_counts()
    if control not in present:
        failures.append(
            _failure(
                arm,
                f"has no control rows (no label {control!r}; labels found: {present[:10]})",
                [],
                "name the control group's label exactly (--control), or add the control group",
            )
        )
    order = expected if expected is not None else [control, *sorted(str(a) for a in present)]
    order = [a for a in dict.fromkeys(order)]
    for a in order:
        k = int(counts.get(a, 0))
        if (a in present or a == control) and 0 < k < min_rows:
            rows = (np.flatnonzero((labels == a).to_numpy()) + 1).tolist()
            failures.append(
                _failure(
                    arm,
                    f"arm {a!r} has {k} row(s), fewer than the {min_rows} needed",
                    rows,
                    "collect more rows for it, merge it with a similar arm, or drop it",
                )
            )
    joined, join_failures = _join_customers(frame, customers, id, name)
    failures.extend(join_failures)
    _raise(failures, name)

    arms_out = tuple(a for a in order if a in present or a == control)
    code = {a: i for i, a in enumerate(arms_out)}
    arm_idx = labels.map(code).to_numpy(dtype=np.int64)
    notes: list[str] = []
    if propensity:
        p = numeric[propensity]
    else:
        share = np.bincount(arm_idx, minlength=len(arms_out)) / len(arm_idx)
        p = share[arm_idx]
        notes.append("no propensity column: arms taken as randomized with the observed shares")
    kinds = {c: "binary" if np.isin(numeric[c], (0.0, 1.0)).all() else "amount" for c in outs}
    ids = frame[id].to_numpy(dtype=object) if id is not None else np.arange(1, len(frame) + 1)
    feats = _feature_columns(joined, (arm, *outs, propensity, id), features)
    return CampaignLog(
        features=joined[list(feats)].reset_index(drop=True),
        arm=arm_idx,
        arms=arms_out,
        outcomes={c: numeric[c] for c in outs},
        kinds=kinds,
        propensity=p,
        ids=ids,
        arm_column=arm,
        id_column=id,
        propensity_column=propensity,
        name=name,
        notes=tuple(notes),
    )


def _join_customers(
    frame: pd.DataFrame, customers: pd.DataFrame | None, id: str | None, name: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The log with the customer table's columns joined by id, and any join failures."""
    if customers is None:
        return frame, []
    if id is None:
        raise OptionError(
            "a customer table is joined by id: name the log's customer id column (--id)"
        )
    key = id if id in customers.columns else schema.ID
    if key not in customers.columns:
        return frame, [
            _failure(
                id,
                f"the customer table has neither '{id}' nor '{schema.ID}'",
                [],
                "give the customer table the same id column as the log",
            )
        ]
    table = customers.reset_index(drop=True)
    cid = table[key].astype(str).str.strip()
    dup = cid.duplicated(keep=False).to_numpy()
    if dup.any():
        return frame, [
            _failure(
                key,
                "is not unique in the customer table",
                (np.flatnonzero(dup) + 1).tolist(),
                "keep one row per customer in the customer table",
                cid[dup].unique()[:3].tolist(),
            )
        ]
    lid = frame[id].astype(str).str.strip()
    lacking = ~lid.isin(set(cid)).to_numpy()
    if lacking.any():
        return frame, [
            _failure(
                id,
                "has ids that the customer table lacks",
                (np.flatnonzero(lacking) + 1).tolist(),
                "join the right customer table, or drop the log rows of unknown customers",
                lid[lacking].unique()[:3].tolist(),
            )
        ]
    extra = table.drop(columns=[c for c in table.columns if c in frame.columns or c == key])
    pos = pd.Index(cid).get_indexer(lid)
    joined = pd.concat([frame, extra.iloc[pos].reset_index(drop=True)], axis=1)
    return joined, []


def _feature_columns(
    frame: pd.DataFrame, roles: Sequence[str | None], features: Sequence[str] | None
) -> tuple[str, ...]:
    taken = {c for c in roles if c is not None}
    if features is not None:
        feats = tuple(features)
        missing = [c for c in feats if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"campaign log: feature column(s) {missing} not found in the log or the customer "
                "table. Fix: name existing columns.",
                pd.DataFrame(
                    [_failure(", ".join(missing), "present", [], "name existing columns")]
                ),
            )
        clash = sorted(taken & set(feats))
        if clash:
            raise OptionError(f"column(s) {clash} are arm, outcome, propensity or id, not features")
        return feats
    guard = {c.name for c in schema.COLUMNS if c.role in ("outcome", "id", "constant")}
    return tuple(str(c) for c in frame.columns if c not in taken and c not in guard)
