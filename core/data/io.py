"""Reading customer files: bytes -> text -> table -> canonical, validated DataFrame.

The one entry point is :func:`load`. It accepts a path or raw bytes (an upload), in CSV (comma,
semicolon or tab; UTF-8, UTF-8 with BOM, UTF-16 or cp1252) or Parquet, maps known exports (the IBM
11.1.3+ layout, the classic Kaggle "WA_Fn-UseC_-Telco-Customer-Churn" layout, or a user mapping) to
the canonical schema of :mod:`core.data.schema`, validates everything at once (pandera, lazy) and either
returns a :class:`LoadedData` or raises one :class:`~core.common.errors.DataValidationError` whose message
names each problem's column, first rows and fix.

Row numbers in messages are 1-based data rows: row 1 is the first line after the header.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping as TMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, format_rows
from core.data import schema
from core.data.mapping import ColumnMapping, detect_layout, to_canonical

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class Limits:
    """Caps checked before parsing, so an over-size input is refused cheaply.

    The defaults suit the dashboard and single-file CLI use; batch runs raise them.
    """

    max_bytes: int = 512 * 1024 * 1024
    max_rows: int = 5_000_000
    max_columns: int = 500


@dataclass(frozen=True)
class LoadedData:
    """A validated customer table in the canonical schema, with what was learnt reading it."""

    frame: pd.DataFrame
    source: str
    layout: str  # "ibm" | "classic" | "mapped"
    file_format: str  # "csv" | "parquet"
    encoding: str | None
    delimiter: str | None
    sha256: str
    unavailable_columns: tuple[str, ...]
    unavailable_factors: tuple[str, ...]
    leakage_excluded: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary (what ``python -m core validate`` prints)."""
        churn = None
        if "Churn Value" in self.frame:
            churn = round(float(self.frame["Churn Value"].mean()), 6)
        return {
            "source": self.source,
            "layout": self.layout,
            "format": self.file_format,
            "encoding": self.encoding,
            "delimiter": DELIMITER_NAMES.get(self.delimiter or "", self.delimiter),
            "rows": self.n_rows,
            "columns": len(self.frame.columns),
            "churn_rate": churn,
            "sha256": self.sha256,
            "unavailable_factors": list(self.unavailable_factors),
            "unavailable_columns": list(self.unavailable_columns),
            "leakage_excluded": list(self.leakage_excluded),
            "ignored_columns": list(self.ignored_columns),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------
# bytes -> text


def _error(message: str, **failure: Any) -> DataValidationError:
    table = pd.DataFrame([failure]) if failure else None
    return DataValidationError(message, table)


def decode(data: bytes, name: str = "input") -> tuple[str, str]:
    """Decode ``data`` to text, detecting UTF-8 (with or without BOM), UTF-16 and cp1252.

    Returns ``(text, encoding)``; raises :class:`DataValidationError` for binary or undecodable
    input with the fix in the message.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _error(
                f"{name}: starts with a UTF-16 byte-order mark but is not valid UTF-16 "
                f"({exc.reason} at byte {exc.start}). Fix: re-save the file as UTF-8 CSV.",
                column="(file)",
                check="encoding",
                fix="re-save as UTF-8 CSV",
            ) from None
    head = data[:4096]
    if head.startswith(b"PK\x03\x04"):
        raise _error(
            f"{name}: this is a ZIP or Excel workbook, not a CSV. Fix: open it and save "
            "as CSV (UTF-8), or export Parquet.",
            column="(file)",
            check="format",
            fix="save as CSV or Parquet",
        )
    if head.startswith(b"\x1f\x8b"):
        raise _error(
            f"{name}: this is a gzip-compressed file. Fix: decompress it first.",
            column="(file)",
            check="format",
            fix="decompress",
        )
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
            enc = "utf-16-le"
        elif even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
            enc = "utf-16-be"
        else:
            raise _error(
                f"{name}: contains binary data (NUL bytes), so it is not a text CSV. "
                "Fix: export the table as CSV (UTF-8) or Parquet.",
                column="(file)",
                check="encoding",
                fix="export as CSV or Parquet",
            )
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            text = ""
        if not _looks_like_text(text):
            raise _error(
                f"{name}: contains binary data (NUL bytes), so it is not a text CSV. "
                "Fix: export the table as CSV (UTF-8) or Parquet.",
                column="(file)",
                check="encoding",
                fix="export as CSV or Parquet",
            )
        return text, enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise _error(
            f"{name}: cannot be decoded as UTF-8, UTF-16 or cp1252 (byte "
            f"0x{data[exc.start]:02x} at offset {exc.start}). Fix: re-save the file as "
            "UTF-8 CSV.",
            column="(file)",
            check="encoding",
            fix="re-save as UTF-8",
        ) from None


def _looks_like_text(text: str) -> bool:
    """True when nearly every character of the sample is printable or white space."""
    sample = text[:4096]
    if not sample:
        return False
    odd = sum(1 for ch in sample if not (ch.isprintable() or ch in "\r\n\t"))
    return odd <= 0.02 * len(sample)


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter (comma, semicolon or tab) that splits the first lines most consistently."""
    lines = text.splitlines()[:50]
    sample = "\n".join(lines)
    best, best_key = ",", (-1.0, -1)
    for delim in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delim) if r]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        key = (consistent, counts[0])
        if key > best_key:
            best, best_key = delim, key
    return best


def _read_csv_text(text: str, name: str, limits: Limits) -> tuple[pd.DataFrame, str]:
    if not text.strip():
        raise _error(
            f"{name}: the file is empty. Fix: export the customer table with a header "
            "row and at least one customer.",
            column="(file)",
            check="empty",
            fix="export a non-empty table",
        )
    delim = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        header = next(reader)
    except csv.Error as exc:  # pragma: no cover - csv rarely fails on the first record
        raise _error(f"{name}: the header cannot be parsed ({exc}).") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    n_cols = len(header)
    if n_cols > limits.max_columns:
        raise _error(
            f"{name}: {n_cols} columns exceed the limit of {limits.max_columns}. Fix: "
            "export only the customer columns, or raise the column limit.",
            column="(file)",
            check="max_columns",
            fix="fewer columns",
        )
    ragged: list[int] = []
    ragged_counts: list[int] = []
    n_rows = 0
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            n_rows += 1
            if len(row) != n_cols:
                ragged.append(n_rows)
                ragged_counts.append(len(row))
            if n_rows > limits.max_rows:
                raise _error(
                    f"{name}: more than {limits.max_rows:,} rows exceed the row limit. "
                    "Fix: split the file, use the batch command, or raise the limit.",
                    column="(file)",
                    check="max_rows",
                    fix="split or raise the limit",
                )
    except csv.Error as exc:
        raise _error(
            f"{name}: malformed CSV after data row {n_rows} ({exc}). Fix: check the "
            "quoting around that row.",
            column="(file)",
            check="csv syntax",
            rows=str(n_rows + 1),
            fix="fix the quoting",
        ) from None
    if n_rows == 0:
        raise _error(
            f"{name}: has a header but no data rows. Fix: export the customers too, not "
            "only the column names.",
            column="(file)",
            check="header only",
            fix="include data rows",
        )
    if ragged:
        raise _error(
            f"{name}: {len(ragged)} row(s) have a different number of fields than the "
            f"header ({n_cols}): {format_rows(ragged)} have {ragged_counts[0]}"
            f"{' and others' if len(set(ragged_counts)) > 1 else ''}. Fix: check for "
            f"unquoted {DELIMITER_NAMES[delim]}s inside values or truncated lines.",
            column="(file)",
            check="ragged rows",
            rows=format_rows(ragged),
            fix="quote values containing the delimiter",
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise _error(
            f"{name}: duplicate column name(s) {dupes}. Fix: rename or drop the duplicates.",
            column=", ".join(dupes),
            check="duplicate columns",
            fix="rename the duplicates",
        )
    frame = pd.read_csv(
        io.StringIO(text),
        sep=delim,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=True,
    )
    frame.columns = header
    return frame, delim


def _read_parquet(data: bytes, name: str, limits: Limits) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise _error(
            f"{name}: not a readable Parquet file ({type(exc).__name__}: {exc}). Fix: "
            "re-export it, or export CSV.",
            column="(file)",
            check="parquet",
            fix="re-export",
        ) from None
    n_rows, n_cols = pf.metadata.num_rows, pf.metadata.num_columns
    if n_cols > limits.max_columns:
        raise _error(
            f"{name}: {n_cols} columns exceed the limit of {limits.max_columns}.",
            column="(file)",
            check="max_columns",
            fix="fewer columns",
        )
    if n_rows > limits.max_rows:
        raise _error(
            f"{name}: {n_rows:,} rows exceed the row limit of {limits.max_rows:,}. Fix: "
            "use the batch command, or raise the limit.",
            column="(file)",
            check="max_rows",
            fix="batch or raise the limit",
        )
    if n_rows == 0:
        raise _error(
            f"{name}: the Parquet file has columns but no rows. Fix: export the customers too.",
            column="(file)",
            check="header only",
            fix="include data rows",
        )
    frame = pf.read().to_pandas()
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_table(
    source: str | Path | bytes, *, name: str | None = None, limits: Limits | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CSV or Parquet file (path or bytes) into a raw DataFrame, checking the caps first.

    Returns the raw table (CSV values as strings) and ``info`` with ``format``, ``encoding``,
    ``delimiter``, ``sha256`` and ``name``.
    """
    limits = limits or Limits()
    if isinstance(source, bytes):
        data, label = source, name or "upload"
    else:
        path = Path(source)
        label = name or path.name
        if not path.exists():
            raise _error(
                f"{label}: no such file ({path}). Fix: check the path.",
                column="(file)",
                check="exists",
                fix="check the path",
            )
        if path.is_dir():
            raise _error(
                f"{label}: is a directory, not a file. Fix: name the CSV or Parquet file.",
                column="(file)",
                check="exists",
                fix="name a file",
            )
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise _error(
                f"{label}: {size:,} bytes exceed the size limit of {limits.max_bytes:,}. "
                "Fix: use the batch command, or raise the limit.",
                column="(file)",
                check="max_bytes",
                fix="batch or raise the limit",
            )
        data = path.read_bytes()
    if len(data) > limits.max_bytes:
        raise _error(
            f"{label}: {len(data):,} bytes exceed the size limit of {limits.max_bytes:,}.",
            column="(file)",
            check="max_bytes",
            fix="raise the limit",
        )
    info: dict[str, Any] = {"name": label, "sha256": hashlib.sha256(data).hexdigest()}
    if data[:4] == b"PAR1":
        info.update(format="parquet", encoding=None, delimiter=None)
        return _read_parquet(data, label, limits), info
    text, encoding = decode(data, label)
    frame, delim = _read_csv_text(text, label, limits)
    info.update(format="csv", encoding=encoding, delimiter=delim)
    return frame, info


# --------------------------------------------------------------------------------------------
# raw -> canonical -> validated


_FIXES = {
    "not_nullable": "fill the empty cells (or remove those customers)",
    "field_uniqueness": "make every customer id unique (remove duplicate rows)",
    "numeric": "use plain numbers (dot as decimal separator, no currency signs)",
}


def _normalise_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip whitespace and map vocabulary values case-insensitively to their canonical spelling."""
    out = frame.copy()
    for col in out.columns:
        spec = schema.BY_NAME.get(col)
        if spec is None or spec.kind != "str":
            continue
        # normalise each distinct value once (a column has few), then map the codes back
        codes, uniques = pd.factorize(out[col], use_na_sentinel=True)
        lookup = {v.lower(): v for v in spec.values} if spec.values else None
        clean = []
        for v in uniques:
            t = str(v).strip()
            if lookup is not None:
                t = lookup.get(t.lower(), t)
            clean.append(t if t else np.nan)
        table = np.array(clean + [np.nan], dtype=object)  # code -1 (missing) -> NaN
        out[col] = pd.Series(table[codes], index=out.index, dtype=object)
    return out


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


def validate_canonical(frame: pd.DataFrame, name: str = "input") -> pd.DataFrame:
    """Normalise, coerce and validate a frame whose columns are already canonical names.

    Returns the typed frame; raises :class:`DataValidationError` listing every failure.
    """
    import pandera.pandas as pa

    missing = [c for c in schema.REQUIRED if c not in frame.columns]
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
        _pandera_schema(list(frame.columns)).validate(frame, lazy=True)
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
        if schema.BY_NAME[col].kind == "str":
            frame[col] = frame[col].astype(object)
    return frame


def load(
    source: str | Path | bytes,
    *,
    mapping: ColumnMapping | TMapping[str, Any] | str | Path | None = None,
    name: str | None = None,
    limits: Limits | None = None,
) -> LoadedData:
    """Load, map and validate a customer file.

    Parameters
    ----------
    source
        Path to a CSV/Parquet file, or its bytes (an upload).
    mapping
        Optional user column mapping (a :class:`~core.data.mapping.ColumnMapping`, a dict, or a TOML
        file path). Without it the layout is detected (IBM 11.1.3+ or the classic Kaggle export).
    name
        Name used in messages (defaults to the file name).
    limits
        Caps on bytes, rows and columns, checked before parsing.

    Raises
    ------
    DataValidationError
        For any problem with the input, with every failure listed (column, rows, fix).

    Examples
    --------
    >>> from core.data.io import load
    >>> data = load("customers.csv")  # doctest: +SKIP
    >>> data.frame["Churn Value"].mean()  # doctest: +SKIP
    """
    raw, info = read_table(source, name=name, limits=limits)
    label = info["name"]
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = ColumnMapping.load(mapping)
    layout = "mapped" if mapping is not None else detect_layout(raw.columns)
    canonical, ignored, notes = to_canonical(raw, layout, mapping, name=label)
    frame = validate_canonical(canonical, label)
    cols = list(frame.columns)
    return LoadedData(
        frame=frame,
        source=label,
        layout=layout,
        file_format=info["format"],
        encoding=info["encoding"],
        delimiter=info["delimiter"],
        sha256=info["sha256"],
        unavailable_columns=tuple(schema.unavailable(cols)),
        unavailable_factors=tuple(schema.unavailable_factors(cols)),
        leakage_excluded=tuple(schema.leakage_excluded(cols)),
        ignored_columns=tuple(ignored),
        notes=tuple(notes),
    )


def read_ibm_csv(path: str | Path) -> pd.DataFrame:
    """Read an IBM-layout CSV the documented way (``"None"`` is a value, only ``""`` is missing)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])
