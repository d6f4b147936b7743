"""Exports of tables (journeys, segments, ...) as CSV, Parquet or Excel, safe in a spreadsheet.

CSV is what campaign tools and spreadsheets read, and a spreadsheet runs any cell that looks like
a formula. Following OWASP's CSV-injection guidance, every text cell *and* header that begins
with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a line feed is written with a
single quote in front, inside double quotes: ``=HYPERLINK(...)`` becomes ``"'=HYPERLINK(...)"``
and shows as text. Cells of numeric columns are numbers, not text, so they are written as they
are: ``-3.5`` stays ``-3.5`` and still sums in the spreadsheet.

A text cell that already begins with a single quote gets one more, so the encoding can be undone
exactly: :func:`unneutralise` strips one leading quote when it is followed by a character above
or by another quote.

An Excel workbook (``xlsx``) needs no quote: its text cells are stored as text, which Excel
never runs, so they keep their exact value; numbers and yes/no stay numbers and booleans.

The same functions serve the dashboard's download buttons and ``python -m core optimize --out``,
so both produce the same bytes for the same table. Output is deterministic (``\\n`` line ends,
UTF-8, optional BOM for Excel), which is what lets a saved run check its journeys by sha256.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.common.errors import CJOError

FORMATS = ("csv", "parquet", "xlsx")
MIME = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Most data rows and columns an Excel worksheet holds (below its header row).
XLSX_ROWS, XLSX_COLUMNS = 1_048_575, 16_384
#: The date every workbook we write says it was made (so the same table gives the same bytes).
_XLSX_DATE = (1980, 1, 1, 0, 0, 0)
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
BOM = b"\xef\xbb\xbf"
_ESCAPED = (*DANGEROUS_PREFIXES, "'")
_NEEDS_QUOTES = (",", '"', "\r", "\n")


def neutralise(text: str) -> str:
    """Prefix a single quote to ``text`` when a spreadsheet could read it as a formula.

    Also prefixes text that already starts with a quote, so :func:`unneutralise` is exact.

    Examples
    --------
    >>> neutralise("=1+1"), neutralise("-x"), neutralise("'a"), neutralise("plain")
    ("'=1+1", "'-x", "''a", 'plain')
    """
    return "'" + text if text.startswith(_ESCAPED) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` (for tools that read our CSV back)."""
    if len(text) >= 2 and text[0] == "'" and text[1] in _ESCAPED:
        return text[1:]
    return text


def _quote(text: str, force: bool) -> str:
    if force or any(ch in text for ch in _NEEDS_QUOTES):
        return '"' + text.replace('"', '""') + '"'
    return text


def _text_token(text: str) -> str:
    if text.startswith(_ESCAPED):
        return _quote("'" + text, force=True)
    return _quote(text, force=False)


def _number_token(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else repr(float(value))
    return str(int(value)) if isinstance(value, int | np.integer) else repr(value)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and np.isnan(value)


def _text_tokens(text: pd.Series) -> pd.Series:
    """Tokens of an all-``str`` object Series: neutralised and quoted, vectorised."""
    danger = text.str.startswith(_ESCAPED).astype(bool)
    body = text.where(~danger, "'" + text)
    need = danger | text.str.contains('[,"\r\n]', regex=True).astype(bool)
    quoted = '"' + body.str.replace('"', '""', regex=False) + '"'
    return body.where(~need, quoted)


def _column_tokens(col: pd.Series) -> pd.Series:
    """The CSV token of every cell of one column (already quoted/neutralised)."""
    dtype = col.dtype
    n = len(col)
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        # A numeric numpy column: its cells are numbers, never formulas. numpy's str() of a
        # float is the shortest repr that round-trips, as Python's repr.
        arr = col.to_numpy()
        if dtype.kind == "b":
            out = np.where(arr, "True", "False").astype(object)
        else:
            out = arr.astype(str).astype(object)
            if dtype.kind == "f":
                out[np.isnan(arr)] = ""
        return pd.Series(out, dtype=object)
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        # Nullable/extension numbers (Int64, Float64, boolean, ...); missing -> empty.
        values = col.to_numpy(dtype=object, na_value=None)
        return pd.Series(["" if _is_missing(v) else _number_token(v) for v in values], dtype=object)

    values = col.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    out = pd.Series([""] * n, dtype=object)
    present = values[~missing]
    if pd.api.types.infer_dtype(present, skipna=False) in ("string", "empty"):
        # The "str" dtype (pyarrow-backed when available) runs the string ops vectorised.
        tokens = _text_tokens(pd.Series(present, dtype="str"))
        out[~missing] = tokens.to_numpy(dtype=object)
        return out

    def cell(value: Any) -> str:
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool | np.bool_
        ):
            return _number_token(value)  # a number inside an object column stays a number
        return _text_token(str(value))

    out[~missing] = [cell(v) for v in present]
    return out


def _check_frame(df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise CJOError(f"Only tables can be exported, got {type(df).__name__}.")
    if isinstance(df.columns, pd.MultiIndex):
        raise CJOError("Flatten the table's column index before exporting it.")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise CJOError(f"Duplicate column names cannot be exported: {dupes}.")


def to_csv_bytes(df: pd.DataFrame, *, bom: bool = False) -> bytes:
    """Encode ``df`` (without its index) as CSV bytes with formula-like text neutralised.

    Parameters
    ----------
    df
        The table. Numeric and boolean columns are written as numbers; every other cell and
        every header is text and goes through :func:`neutralise`.
    bom
        Start with a UTF-8 byte-order mark so Excel detects UTF-8.

    Returns
    -------
    bytes
        UTF-8 CSV, comma-separated, ``\\n`` line ends, RFC 4180 quoting.

    Examples
    --------
    >>> to_csv_bytes(pd.DataFrame({"name": ["=cmd|' /C calc'!A0"], "x": [-3.5]}))
    b'name,x\\n"\\'=cmd|\\' /C calc\\'!A0",-3.5\\n'
    """
    _check_frame(df)
    try:
        header = ",".join(_text_token(str(c)) for c in df.columns)
        if df.shape[1] == 0:
            lines: list[str] = [header] + [""] * len(df)
        else:
            tokens = [_column_tokens(df.iloc[:, j]) for j in range(df.shape[1])]
            rows = tokens[0].str.cat(tokens[1:], sep=",") if len(tokens) > 1 else tokens[0]
            lines = [header, *rows.tolist()]
        body = ("\n".join(lines) + "\n").encode("utf-8")
    except UnicodeEncodeError as err:
        raise CJOError(
            f"The table holds text that is not valid Unicode ({err.reason}: "
            f"{err.object[err.start : err.end]!r}); clean the source data before exporting."
        ) from err
    return BOM + body if bom else body


def to_parquet_bytes(df: pd.DataFrame) -> bytes:
    """Encode ``df`` (without its index) as Parquet bytes (pyarrow, zstd).

    Parquet keeps types, so no cell needs neutralising; it is deterministic for the same table
    and library versions.
    """
    _check_frame(df)
    buf = io.BytesIO()
    try:
        df.to_parquet(buf, engine="pyarrow", index=False, compression="zstd")
    except (pa.ArrowException, TypeError, ValueError) as err:
        raise CJOError(
            f"The table cannot be written as Parquet ({err}); give each column one type "
            "or export CSV instead."
        ) from err
    return buf.getvalue()


def to_xlsx_bytes(df: pd.DataFrame) -> bytes:
    """Encode ``df`` (without its index) as an Excel workbook of one worksheet, ``journeys``.

    Headers and the cells of text columns are stored as text (``=1+1`` stays the text ``=1+1``:
    Excel never runs a text cell); numeric columns as numbers, booleans as TRUE/FALSE, missing
    values as empty cells. The same table gives the same bytes (the workbook's dates and its
    archive's are fixed), as CSV and Parquet do.

    Raises
    ------
    CJOError
        When the table does not fit a worksheet (1,048,575 data rows, 16,384 columns) or holds
        control characters a workbook cannot store.
    """
    import zipfile

    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils.exceptions import IllegalCharacterError
    from openpyxl.writer.excel import ExcelWriter

    _check_frame(df)
    if len(df) > XLSX_ROWS or df.shape[1] > XLSX_COLUMNS:
        raise CJOError(
            f"The table ({len(df):,} rows, {df.shape[1]:,} columns) does not fit an Excel "
            f"worksheet ({XLSX_ROWS:,} rows, {XLSX_COLUMNS:,} columns). Fix: export CSV or "
            "Parquet, or one segment at a time."
        )
    book = openpyxl.Workbook(write_only=True)
    made = datetime.datetime(*_XLSX_DATE)
    book.properties.created = book.properties.modified = made
    sheet = book.create_sheet("journeys")

    def text(value: str) -> Any:
        value.encode("utf-8")  # a lone surrogate would be written as XML no reader accepts
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # never a formula
        return cell

    try:
        columns: list[list[Any]] = []
        for j in range(df.shape[1]):
            col = df.iloc[:, j]
            if pd.api.types.is_bool_dtype(col):
                columns.append([None if _is_missing(v) else bool(v) for v in col.tolist()])
            elif pd.api.types.is_numeric_dtype(col):
                values = col.to_numpy(dtype=np.float64, na_value=np.nan)
                whole = pd.api.types.is_integer_dtype(col)
                columns.append(
                    [
                        None if not np.isfinite(v) else (int(v) if whole else float(v))
                        for v in values
                    ]
                )
            else:
                columns.append([None if _is_missing(v) else text(str(v)) for v in col.tolist()])
        sheet.append([text(str(c)) for c in df.columns])
        for row in zip(*columns, strict=True):
            sheet.append(list(row))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            ExcelWriter(book, archive).save()
    except (IllegalCharacterError, UnicodeEncodeError) as err:
        raise CJOError(
            "The table holds characters that an Excel workbook cannot store (control "
            f"characters or invalid Unicode: {err}). Fix: export CSV or Parquet, or clean the "
            "source data."
        ) from err
    # the archive's member dates are the time of writing: fix them in a second pass (openpyxl
    # also adds worksheets from temporary files, so overriding writestr would not catch all)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_XLSX_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


@dataclass(frozen=True)
class ExportResult:
    """An encoded export: what the store records (format, row count, sha256) and the bytes.

    ``data`` holds the bytes for downloads (``render``); ``path`` is set by ``write_export`` and
    by the batch engine's sinks, whose partitioned Parquet output has ``parts`` files (its
    ``sha256`` then hashes the parts' names and digests).
    """

    format: str
    row_count: int
    sha256: str
    n_bytes: int
    data: bytes | None = None
    path: Path | None = None
    parts: int = 1

    @property
    def mime(self) -> str:
        return MIME[self.format]


def _format(format: str | None, path: Path | None = None) -> str:
    if format is None and path is not None:
        format = path.suffix.lower().lstrip(".")
    fmt = (format or "").lower()
    if fmt not in FORMATS:
        where = f" (from {path.name})" if path is not None and format else ""
        raise CJOError(f"Unknown export format {format!r}{where}: use 'csv', 'parquet' or 'xlsx'.")
    return fmt


def render(df: pd.DataFrame, format: str, *, bom: bool = False) -> ExportResult:
    """Encode ``df`` as ``format`` (``"csv"``, ``"parquet"`` or ``"xlsx"``); the bytes are in
    ``.data``.

    ``bom`` applies to CSV only.
    """
    fmt = _format(format)
    if fmt == "csv":
        data = to_csv_bytes(df, bom=bom)
    elif fmt == "xlsx":
        data = to_xlsx_bytes(df)
    else:
        data = to_parquet_bytes(df)
    return ExportResult(
        format=fmt,
        row_count=len(df),
        sha256=hashlib.sha256(data).hexdigest(),
        n_bytes=len(data),
        data=data,
    )


def write_export(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    bom: bool = False,
) -> ExportResult:
    """Write ``df`` to ``path`` atomically and return what was written.

    Parameters
    ----------
    df
        The table.
    path
        Destination; its directory is created. The file is written to a temporary name in the
        same directory, flushed to disk and renamed, so readers never see half a file.
    format
        ``"csv"``, ``"parquet"`` or ``"xlsx"``; default from the file suffix.
    bom
        UTF-8 byte-order mark (CSV only).

    Returns
    -------
    ExportResult
        With ``path`` set and ``data`` left empty (the bytes are in the file).
    """
    dest = Path(path)
    result = render(df, _format(format, dest), bom=bom)
    assert result.data is not None
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(result.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ExportResult(result.format, result.row_count, result.sha256, result.n_bytes, None, dest)
