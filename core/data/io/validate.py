"""Validation: a frame with canonical column names -> the typed, validated canonical frame.

:func:`validate_canonical` normalises text to the canonical vocabularies, coerces numbers,
checks every column against :mod:`core.data.schema` (pandera, lazy) and the cross-column rules,
and raises one :class:`~core.common.errors.DataValidationError` listing every failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, format_rows
from core.data import schema

_FIXES = {
    "not_nullable": "fill the empty cells (or remove those customers)",
    "field_uniqueness": "make every customer id unique (remove duplicate rows)",
    "numeric": "use plain numbers (dot as decimal separator, no currency signs)",
}


def _normalise_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip whitespace and map vocabulary values case-insensitively to their canonical spelling.

    Yes/No columns also read the other yes/no spellings (True/False, Y/N, 1/0).
    """
    out = frame.copy()
    for col in out.columns:
        spec = schema.BY_NAME.get(col)
        if spec is None or spec.kind != "str":
            continue
        # normalise each distinct value once (a column has few), then map the codes back
        codes, uniques = pd.factorize(out[col], use_na_sentinel=True)
        lookup = {v.lower(): v for v in spec.values} if spec.values else None
        yes_no = spec.values == schema.YES_NO
        clean = []
        for v in uniques:
            t = str(v).strip()
            if lookup is not None:
                t = lookup.get(t.lower(), t)
            if yes_no and t not in schema.YES_NO:
                t = schema.boolean_token(t) or t
            clean.append(t if t else np.nan)
        table = np.array(clean + [np.nan], dtype=object)  # code -1 (missing) -> NaN
        out[col] = pd.Series(table[codes], index=out.index, dtype=object)
    return out


#: Largest whole number a column of whole numbers takes (beyond it floats lose whole numbers).
_LARGEST_WHOLE = 2.0**53


def _zero_one(value: Any) -> Any:
    """``"1"``/``"0"`` for a yes/no spelling, else ``value`` itself."""
    token = schema.boolean_token(value)
    return value if token is None else ("1" if token == "Yes" else "0")


def _coerce_numeric(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    out = frame.copy()
    failures: list[dict[str, Any]] = []
    for col in out.columns:
        spec = schema.BY_NAME.get(col)
        if spec is None or spec.kind == "str":
            continue
        raw = out[col]
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            num = raw.astype("float64")
        else:
            text = raw.astype(object).where(raw.notna(), None)
            text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
            text = text.where(text != "", None)
            if spec.min == 0 and spec.max == 1:  # a 0/1 column (Churn Value) reads yes/no too
                text = text.map(_zero_one)
            num = pd.to_numeric(text, errors="coerce")
            bad = text.notna() & num.isna()
            if bad.any():
                rows = (np.flatnonzero(bad.to_numpy()) + 1).tolist()
                vals = text[bad].astype(str).unique()[:3].tolist()
                failures.append(
                    {
                        "column": col,
                        "check": f"is {spec.kind}",
                        "rows": rows,
                        "values": vals,
                        "fix": _FIXES["numeric"],
                    }
                )
        huge = num.notna() & ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
        if spec.kind == "int":
            huge |= num.abs() > _LARGEST_WHOLE
        if huge.any():
            failures.append(
                {
                    "column": col,
                    "check": "is a finite number" if spec.kind != "int" else "is a usable number",
                    "rows": (np.flatnonzero(huge.to_numpy()) + 1).tolist(),
                    "values": num[huge].astype(str).unique()[:3].tolist(),
                    "fix": "replace infinite or overflowing values (inf, 1e400, ...) by a number, "
                    "or leave the cell empty",
                }
            )
            num = num.where(~huge)
        if spec.kind == "int":
            finite = num.dropna()
            frac = finite[(finite % 1) != 0]
            if len(frac):
                pos = np.flatnonzero(num.index.isin(frac.index)) + 1
                failures.append(
                    {
                        "column": col,
                        "check": "is a whole number",
                        "rows": pos.tolist(),
                        "values": frac.unique()[:3].tolist(),
                        "fix": "use whole numbers",
                    }
                )
                num = num.where(~num.index.isin(frac.index))  # reported; cast the rest
            out[col] = num.astype("Int64") if num.isna().any() else num.astype("int64")
        else:
            out[col] = num.astype("float64")
    return out, failures


def _pandera_schema(columns: list[str]) -> Any:
    import pandera.pandas as pa

    cols = {}
    for name in columns:
        spec = schema.BY_NAME[name]
        checks = []
        if spec.values:
            checks.append(pa.Check.isin(list(spec.values)))
        if spec.min is not None and spec.max is not None:
            checks.append(pa.Check.in_range(spec.min, spec.max))
        elif spec.min is not None:
            checks.append(pa.Check.ge(spec.min))
        elif spec.max is not None:
            checks.append(pa.Check.le(spec.max))
        cols[name] = pa.Column(
            None, checks=checks, nullable=spec.nullable, unique=(name == schema.ID)
        )
    return pa.DataFrameSchema(cols, strict=False, coerce=False)


def _consistency_failures(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Cross-column rules the catalog's prerequisites rely on."""
    failures: list[dict[str, Any]] = []

    def rule(mask: pd.Series, column: str, check: str, fix: str) -> None:
        m = mask.fillna(False).to_numpy(dtype=bool)
        if m.any():
            failures.append(
                {
                    "column": column,
                    "check": check,
                    "rows": (np.flatnonzero(m) + 1).tolist(),
                    "values": [],
                    "fix": fix,
                }
            )

    if {"Multiple Lines", "Phone Service"} <= set(frame.columns):
        rule(
            (frame["Multiple Lines"] == "Yes") & (frame["Phone Service"] == "No"),
            "Multiple Lines",
            "Yes needs Phone Service = Yes",
            "set Multiple Lines to No for customers without phone service",
        )
    if "Internet Service" in frame.columns:
        no_net = frame["Internet Service"] == "No"
        for col in (
            "Online Security",
            "Online Backup",
            "Device Protection Plan",
            "Premium Tech Support",
            "Streaming TV",
            "Streaming Movies",
            "Streaming Music",
            "Unlimited Data",
        ):
            if col in frame.columns:
                rule(
                    (frame[col] == "Yes") & no_net,
                    col,
                    "Yes needs Internet Service = Yes",
                    f"set {col} to No for customers without internet service",
                )
        if "Internet Type" in frame.columns:
            rule(
                no_net & frame["Internet Type"].ne("None"),
                "Internet Type",
                '"None" when Internet Service = No',
                'set Internet Type to "None"',
            )
    if {"Churn Label", "Churn Value"} <= set(frame.columns):
        rule(
            (frame["Churn Label"] == "Yes") != (frame["Churn Value"] == 1),
            "Churn Value",
            "agrees with Churn Label",
            "make Churn Value 1 exactly where Churn Label is Yes",
        )
    return failures


def _failures_from_pandera(exc: Any) -> list[dict[str, Any]]:
    fc = exc.failure_cases
    failures: list[dict[str, Any]] = []
    for (column, check), group in fc.groupby(["column", "check"], sort=False, dropna=False):
        idx = pd.to_numeric(group["index"], errors="coerce").dropna().astype(int)
        rows = sorted(set((idx + 1).tolist()))
        values = group["failure_case"].dropna().astype(str).unique()[:3].tolist()
        check = str(check)
        if check.startswith("isin"):
            allowed = schema.BY_NAME[str(column)].values or ()
            fix = f"use one of {list(allowed)}"
        elif check.startswith(("in_range", "greater_than", "less_than")):
            fix = "correct the out-of-range values"
        else:
            fix = _FIXES.get(check, "correct the values")
        failures.append(
            {"column": column, "check": check, "rows": rows, "values": values, "fix": fix}
        )
    return failures


def _raise_if(failures: list[dict[str, Any]], name: str) -> None:
    if not failures:
        return
    lines = [f"{name}: {len(failures)} problem(s) found; nothing was loaded."]
    for f in failures:
        vals = f" (values: {', '.join(repr(v) for v in f['values'])})" if f["values"] else ""
        lines.append(
            f"- column '{f['column']}': {f['check']} fails in "
            f"{format_rows(f['rows'])}{vals}. Fix: {f['fix']}."
        )
    table = pd.DataFrame(
        [
            {**f, "rows": format_rows(f["rows"]), "values": ", ".join(map(str, f["values"]))}
            for f in failures
        ]
    )
    raise DataValidationError("\n".join(lines), table)


def validate_canonical(
    frame: pd.DataFrame, name: str = "input", *, required: Sequence[str] | None = None
) -> pd.DataFrame:
    """Normalise, coerce and validate a frame whose columns are already canonical names.

    Columns the schema does not know (extra columns, typed by :mod:`core.data.extras`) pass
    through unchecked. ``required`` are the columns that must be present (default
    :data:`core.data.schema.REQUIRED`, the telecom ones). Returns the typed frame; raises
    :class:`DataValidationError` listing every failure.
    """
    import pandera.pandas as pa

    required = schema.REQUIRED if required is None else tuple(required)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{name}: required column(s) missing: {missing}. Found: {list(frame.columns)[:60]}. "
            "Fix: add them, or supply a column mapping (--mapping FILE) that maps your columns to "
            "these names.",
            pd.DataFrame(
                [
                    {
                        "column": ", ".join(missing),
                        "check": "required",
                        "rows": "",
                        "values": "",
                        "fix": "add the column or map it",
                    }
                ]
            ),
        )
    frame = frame.reset_index(drop=True)
    frame = _normalise_strings(frame)
    frame, failures = _coerce_numeric(frame)
    try:
        known = [c for c in frame.columns if c in schema.BY_NAME]
        _pandera_schema(known).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        # a cell that failed numeric coercion is already reported; do not report it as empty too
        bad_cells = {(f["column"], r) for f in failures for r in f["rows"]}
        for f in _failures_from_pandera(exc):
            if f["check"] == "not_nullable":
                f["rows"] = [r for r in f["rows"] if (f["column"], r) not in bad_cells]
                if not f["rows"]:
                    continue
            failures.append(f)
    failures.extend(_consistency_failures(frame))
    _raise_if(failures, name)
    for col in frame.columns:
        spec = schema.BY_NAME.get(col)
        if spec is not None and spec.kind == "str":
            frame[col] = frame[col].astype(object)
    return frame
