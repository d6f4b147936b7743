"""Reading: bytes -> text (encoding) -> raw table (delimiter, caps, ragged rows).

:func:`read_table` takes a path or an upload's bytes, refuses over-size input before parsing
(:class:`Limits`), detects Parquet and Excel workbooks (.xlsx: the first worksheet, read as the
text a CSV export would hold), the text encoding (:func:`decode`) and the CSV delimiter
(:func:`sniff_delimiter`), and returns the raw table with what it learnt. Every problem raises a
:class:`~core.common.errors.DataValidationError` that names the fix.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, format_rows

DELIMITERS = (",", ";", "\t")
#: Signature of an OLE2 compound file (Excel 97-2003 .xls).
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class Limits:
    """Caps checked before parsing, so an over-size input is refused cheaply.

    The defaults suit the dashboard and single-file CLI use; batch runs raise them.
    """

    max_bytes: int = 512 * 1024 * 1024
    max_rows: int = 5_000_000
    max_columns: int = 500


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
            f"{name}: this is a ZIP archive, not an Excel workbook (.xlsx), a CSV or Parquet. "
            "Fix: unpack it and load the customer table inside.",
            column="(file)",
            check="format",
            fix="unpack the archive",
        )
    if head.startswith(_OLE2):
        raise _error(
            f"{name}: this is an Excel 97-2003 workbook (.xls), which is not read. Fix: open "
            "it and save it as an Excel workbook (.xlsx) or as CSV (UTF-8).",
            column="(file)",
            check="format",
            fix="save as .xlsx or CSV",
        )
    if head.startswith(b"\x1f\x8b"):
        raise _error(
            f"{name}: this is a gzip-compressed file. Fix: decompress it first.",
            column="(file)",
            check="format",
            fix="decompress",
        )
    if b"\x00" in head:
        text, enc = _utf16_without_bom(data)
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


def _utf16_without_bom(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of UTF-16 without a byte-order mark, told by where its NUL bytes sit.

    ``text`` is empty when the NUL bytes do not look like UTF-16 or the bytes do not decode.
    """
    head = data[:4096]
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        enc = "utf-16-le"
    elif even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        enc = "utf-16-be"
    else:
        return "", ""
    try:
        return data.decode(enc), enc
    except UnicodeDecodeError:
        return "", enc


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


def _refuse_wide(n_cols: int, name: str, limits: Limits) -> None:
    """One error when a table has more columns than :class:`Limits` allows."""
    if n_cols > limits.max_columns:
        raise _error(
            f"{name}: {n_cols} columns exceed the limit of {limits.max_columns}. Fix: "
            "export only the customer columns, or raise the column limit.",
            column="(file)",
            check="max_columns",
            fix="fewer columns",
        )


def _refuse_duplicates(header: list[str], name: str) -> None:
    """One error naming the header's duplicate column names ('' = a column without a header)."""
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise _error(
            f"{name}: duplicate column name(s) {dupes}"
            + (" ('' = no header)" if "" in dupes else "")
            + ". Fix: rename or drop the duplicates.",
            column=", ".join(dupes),
            check="duplicate columns",
            fix="rename the duplicates",
        )


def _allow_cells_of(n_chars: int) -> None:
    """Let the csv module read a cell as long as the whole text (its default stops at 131,072
    characters, e.g. a pasted e-mail in a notes column; the file itself is capped by
    :class:`Limits`). Only ever raised, so concurrent reads cannot lower each other's limit."""
    if n_chars > csv.field_size_limit():
        csv.field_size_limit(n_chars)


def _read_csv_text(text: str, name: str, limits: Limits) -> tuple[pd.DataFrame, str]:
    if not text.strip():
        raise _error(
            f"{name}: the file is empty. Fix: export the customer table with a header "
            "row and at least one customer.",
            column="(file)",
            check="empty",
            fix="export a non-empty table",
        )
    _allow_cells_of(len(text))
    delim = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        header = next(reader)
    except csv.Error as exc:  # pragma: no cover - csv rarely fails on the first record
        raise _error(f"{name}: the header cannot be parsed ({exc}).") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    n_cols = len(header)
    _refuse_wide(n_cols, name, limits)
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
    _refuse_duplicates(header, name)
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


def is_workbook(source: bytes | str | Path) -> bool:
    """True when ``source`` (bytes or a file's path) is an Excel workbook (.xlsx / .xlsm: a ZIP
    holding ``xl/``); a path is read only as far as the archive's directory."""
    import zipfile

    if isinstance(source, bytes):
        if not source.startswith(b"PK\x03\x04"):
            return False
        archive_of: Any = io.BytesIO(source)
    else:
        archive_of = source
    try:
        with zipfile.ZipFile(archive_of) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _cell_text(value: Any) -> Any:
    """A worksheet cell as the text a CSV export would hold (None stays missing)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _read_workbook(data: bytes, name: str, limits: Limits) -> tuple[pd.DataFrame, list[str]]:
    """The first worksheet of an Excel workbook as a raw table of text, and notes.

    The first non-empty row is the header; formulas give their last computed values; empty
    trailing rows and columns (formatted but blank cells) are dropped; numbers, dates and
    TRUE/FALSE become the text a CSV export would hold.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for damaged workbooks
        raise _error(
            f"{name}: not a readable Excel workbook ({type(exc).__name__}: {exc}). Fix: open "
            "it in Excel and save it again, or save it as CSV (UTF-8).",
            column="(file)",
            check="xlsx",
            fix="re-save or save as CSV",
        ) from None
    notes: list[str] = []
    try:
        sheets = book.sheetnames
        sheet = book[sheets[0]]
        if len(sheets) > 1:
            notes.append(
                f"read the first worksheet '{sheets[0]}' of {len(sheets)} ({sheets[1:]} not "
                "read). Fix, if the customers are on another one: move it first, or save it "
                "as CSV."
            )
        rows = sheet.iter_rows(values_only=True)
        header: list[Any] | None = None
        for row in rows:
            if any(v is not None and str(v).strip() for v in row):
                header = list(row)
                break
        if header is None:
            raise _error(
                f"{name}: the first worksheet '{sheets[0]}' is empty. Fix: put the customer "
                "table (a header row, then one row per customer) on the first worksheet.",
                column="(file)",
                check="empty",
                fix="fill the first worksheet",
            )
        body: list[list[Any]] = []
        for row in rows:
            if not any(v is not None and (not isinstance(v, str) or v.strip()) for v in row):
                continue  # a blank (perhaps formatted) row
            body.append([_cell_text(v) for v in row])
            if len(body) > limits.max_rows:
                raise _error(
                    f"{name}: more than {limits.max_rows:,} rows exceed the row limit. Fix: "
                    "split the file, or raise the limit.",
                    column="(file)",
                    check="max_rows",
                    fix="split or raise the limit",
                )
    finally:
        book.close()
    width = max([len(header)] + [len(r) for r in body])
    names = [("" if h is None else str(_cell_text(h))).strip() for h in header]
    names += [""] * (width - len(names))
    body = [r + [None] * (width - len(r)) for r in body]
    used = [j for j in range(width) if names[j] or any(r[j] is not None for r in body)]
    names = [names[j] for j in used]
    _refuse_wide(len(names), name, limits)
    if not body:
        raise _error(
            f"{name}: the first worksheet has a header but no data rows. Fix: put the customers "
            "under the header row.",
            column="(file)",
            check="header only",
            fix="include data rows",
        )
    _refuse_duplicates(names, name)
    frame = pd.DataFrame([[r[j] for j in used] for r in body], columns=names, dtype=object)
    frame = frame.map(lambda v: None if isinstance(v, str) and not v.strip() else v)
    return frame.astype(object).where(frame.notna(), np.nan), notes


def read_table(
    source: str | Path | bytes, *, name: str | None = None, limits: Limits | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CSV, Parquet or Excel (.xlsx, first worksheet) file (path or bytes) into a raw
    DataFrame, checking the caps first.

    Returns the raw table (CSV and worksheet values as strings) and ``info`` with ``format``
    (``csv``, ``parquet`` or ``xlsx``), ``encoding``, ``delimiter``, ``sha256``, ``name`` and
    ``notes`` (what the reading decided, e.g. which worksheet it read).
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
    info: dict[str, Any] = {
        "name": label,
        "sha256": hashlib.sha256(data).hexdigest(),
        "notes": [],
    }
    if data[:4] == b"PAR1":
        info.update(format="parquet", encoding=None, delimiter=None)
        return _read_parquet(data, label, limits), info
    if is_workbook(data):
        frame, notes = _read_workbook(data, label, limits)
        info.update(format="xlsx", encoding=None, delimiter=None, notes=notes)
        return frame, info
    text, encoding = decode(data, label)
    frame, delim = _read_csv_text(text, label, limits)
    info.update(format="csv", encoding=encoding, delimiter=delim)
    return frame, info
