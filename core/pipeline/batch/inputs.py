"""The batch input: files -> a :class:`Plan` of :class:`Chunk` s -> raw rows -> canonical frames.

:func:`plan` lists the input (a CSV file, a Parquet file, a directory of Parquet files or an
Excel workbook, whose first worksheet is read once per process and cut like the others),
fingerprints it and cuts it into chunks of at most ``chunk_rows`` customers, never spanning two
files. :func:`read_raw` reads one chunk (Parquet through its row groups), :func:`iter_csv_raw`
streams all the chunks of a CSV input in one pass (:func:`iter_chunks`: every chunk, with its
rows when they are CSV), and :func:`canonical_chunk` maps and
validates a chunk as :func:`core.data.io.load` does for a whole file, saying where the chunk
starts.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.common.errors import DataValidationError
from core.pipeline.batch._base import sha256_file

if TYPE_CHECKING:
    from core.data.io import Prepared


@dataclass(frozen=True)
class Chunk:
    """One chunk of the input: rows ``[start, stop)`` of one file (0-based, data rows).

    ``first_row`` is the chunk's first row over the whole input (for messages and order).
    """

    index: int
    path: str
    fmt: str  # "csv" | "parquet" | "xlsx"
    start: int
    stop: int
    first_row: int

    @property
    def n_rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Plan:
    """The planned input: its files, format, size, fingerprint and chunks."""

    source: str
    fmt: str
    files: tuple[str, ...]
    n_rows: int
    sha256: str
    chunks: tuple[Chunk, ...]
    csv: Mapping[str, Any] = field(default_factory=dict)  # encoding, delimiter (CSV only)


def _input_files(source: Path) -> tuple[str, list[Path]]:
    if not source.exists():
        raise DataValidationError(f"{source}: no such file or directory. Fix: check the path.")
    if source.is_dir():
        files = sorted(
            p
            for p in source.rglob("*.parquet")
            if p.is_file() and not any(part.startswith((".", "_")) for part in p.parts[-1:])
        )
        if not files:
            raise DataValidationError(
                f"{source}: the directory holds no *.parquet files. Fix: point DATA at a CSV or "
                "Parquet file, or at a directory of Parquet files (part-00000.parquet ...)."
            )
        return "parquet", files
    with source.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PK\x03\x04":
        from core.data.io.read import is_workbook

        if is_workbook(source):
            return "xlsx", [source]
    return ("parquet" if magic == b"PAR1" else "csv"), [source]


def _workbook(path: Path) -> pd.DataFrame:
    """The first worksheet of a workbook as raw text, read once per process and version of the
    file (told by its size and modification time: hashing it for every chunk would read the
    whole file again each time)."""
    st = path.stat()
    return _worksheet(str(path), st.st_size, st.st_mtime_ns)[0]


@functools.lru_cache(maxsize=2)
def _worksheet(path: str, size: int, mtime_ns: int) -> tuple[pd.DataFrame, tuple[str, ...]]:
    from core.data.io import Limits
    from core.data.io.read import read_table

    frame, info = read_table(path, limits=Limits(max_bytes=1 << 62, max_rows=1 << 62))
    return frame, tuple(info.get("notes", ()))


def read_notes(plan_: Plan) -> list[str]:
    """What reading the input decided that the user should know (a workbook: which worksheet)."""
    if plan_.fmt != "xlsx":
        return []
    path = Path(plan_.files[0])
    st = path.stat()
    return list(_worksheet(str(path), st.st_size, st.st_mtime_ns)[1])


def _csv_dialect(path: Path) -> dict[str, Any]:
    """Encoding and delimiter of a CSV file, from its first 64 KiB (as core.data.io detects them)."""
    from core.data.io import decode, sniff_delimiter

    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise DataValidationError(f"{path.name}: the file is empty. Fix: export the customers.")
    cut = head.rfind(b"\n")
    text, encoding = decode(head[: cut + 1] if 0 < cut < len(head) - 1 else head, path.name)
    if encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        raise DataValidationError(
            f"{path.name}: UTF-16 CSV cannot be read in chunks. Fix: re-save it as UTF-8 CSV "
            "or Parquet."
        )
    return {"encoding": encoding, "delimiter": sniff_delimiter(text)}


def _csv_reader(path: Path, dialect: Mapping[str, Any], chunk_rows: int, **kw: Any) -> Any:
    return pd.read_csv(
        path,
        sep=dialect["delimiter"],
        encoding=dialect["encoding"],
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=True,
        chunksize=chunk_rows,
        **kw,
    )


def _strip_names(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` with its column names stripped of blanks and a byte-order mark (in place)."""
    raw.columns = [str(c).strip().lstrip("\ufeff") for c in raw.columns]
    return raw


def _csv_rows(path: Path, dialect: Mapping[str, Any]) -> int:
    n = 0
    try:
        with _csv_reader(path, dialect, 200_000, usecols=[0]) as reader:
            for part in reader:
                n += len(part)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataValidationError(
            f"{path.name}: cannot be read as CSV ({exc}). Fix: check the quoting and the "
            "number of fields of the rows named, or export Parquet."
        ) from None
    return n


def _parquet_columns(pf: Any) -> list[str]:
    """The column names a Parquet file reads into (pandas' stored index left out)."""
    meta = pf.schema_arrow.pandas_metadata or {}
    index = {c for c in meta.get("index_columns", ()) if isinstance(c, str)}
    return [str(c).strip() for c in pf.schema_arrow.names if c not in index]


def _same_columns(columns: Mapping[Path, list[str]], src: Path) -> None:
    """Refuse a directory of Parquet parts whose columns differ: a part without a column the
    others have would give its customers other features (or fail late, on a chunk)."""
    if len(columns) < 2:
        return
    (first, names), *rest = columns.items()
    for path, other in rest:
        more = [c for c in other if c not in set(names)]
        fewer = [c for c in names if c not in set(other)]
        if more or fewer:
            what = " and ".join(
                f"{label} {_listed(cols)}, which {first.relative_to(src)} {whose}"
                for label, cols, whose in (("has", more, "lacks"), ("lacks", fewer, "has"))
                if cols
            )
            raise DataValidationError(
                f"{src.name}: the Parquet parts do not have the same columns: "
                f"{path.relative_to(src)} {what}. Fix: write every part with the same columns "
                "(add a missing column empty), or point DATA at the parts that share them."
            )


def _listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(repr(c) for c in names[:most])
    return shown + (f" (and {len(names) - most} more)" if len(names) > most else "")


def plan(source: str | os.PathLike[str], chunk_rows: int) -> Plan:
    """List the input and cut it into chunks of at most ``chunk_rows`` customers.

    A chunk never spans two files. Parquet sizes come from the file metadata; a CSV is counted
    in one streaming pass.
    """
    import pyarrow.parquet as pq

    src = Path(source)
    fmt, files = _input_files(src)
    chunks: list[Chunk] = []
    total = 0
    dialect: dict[str, Any] = {}
    columns: dict[Path, list[str]] = {}
    digest = hashlib.sha256()
    for path in files:
        if fmt == "parquet":
            try:
                pf = pq.ParquetFile(path)
                n = pf.metadata.num_rows
            except Exception as exc:  # pyarrow raises several types for corrupt files
                raise DataValidationError(
                    f"{path.name}: not a readable Parquet file ({type(exc).__name__}: {exc}). "
                    "Fix: re-export it."
                ) from None
            columns[path] = _parquet_columns(pf)
        elif fmt == "xlsx":
            n = len(_workbook(path))
        else:
            dialect = _csv_dialect(path)
            n = _csv_rows(path, dialect)
        sha = sha256_file(path)
        digest.update(f"{path.relative_to(src) if src.is_dir() else path.name}:{sha}\n".encode())
        for lo in range(0, n, chunk_rows):
            hi = min(lo + chunk_rows, n)
            chunks.append(Chunk(len(chunks), str(path), fmt, lo, hi, total + lo))
        total += n
    _same_columns(columns, src)
    if total == 0:
        raise DataValidationError(
            f"{src.name}: has no customer rows. Fix: export the customers, not only the header."
        )
    sha256 = sha256_file(files[0]) if len(files) == 1 and not src.is_dir() else digest.hexdigest()
    return Plan(str(src), fmt, tuple(map(str, files)), total, sha256, tuple(chunks), dialect)


def read_raw(chunk: Chunk, dialect: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The raw rows of one chunk (column names stripped; CSV values as text)."""
    path = Path(chunk.path)
    if chunk.fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        groups, offset, lo = [], 0, None
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if offset + n > chunk.start and offset < chunk.stop:
                groups.append(g)
                lo = offset if lo is None else lo
            offset += n
        table = pf.read_row_groups(groups).slice(chunk.start - (lo or 0), chunk.n_rows)
        frame = table.to_pandas()
    elif chunk.fmt == "xlsx":
        rows = _workbook(path).iloc[chunk.start : chunk.stop]
        frame = rows.reset_index(drop=True)
    else:
        if dialect is None:
            dialect = _csv_dialect(path)
        with _csv_reader(
            path, dialect, chunk.n_rows, skiprows=range(1, chunk.start + 1), nrows=chunk.n_rows
        ) as reader:
            frame = next(iter(reader))
    return _strip_names(frame)


def iter_csv_raw(plan_: Plan, chunk_rows: int) -> Iterator[tuple[Chunk, pd.DataFrame]]:
    """Stream the raw chunks of a CSV input in one pass (cheaper than :func:`read_raw` each)."""
    by_file: dict[str, list[Chunk]] = {}
    for c in plan_.chunks:
        by_file.setdefault(c.path, []).append(c)
    for path, chunks in by_file.items():
        with _csv_reader(Path(path), plan_.csv, chunk_rows) as reader:
            for c, raw in zip(chunks, reader, strict=True):
                yield c, _strip_names(raw)


def iter_chunks(plan_: Plan, chunk_rows: int) -> Iterator[tuple[Chunk, pd.DataFrame | None]]:
    """Every chunk in input order, with its raw rows for a CSV input, else None.

    A CSV input is read here in one streaming pass (:func:`iter_csv_raw`); a Parquet chunk is
    left for whoever processes it to read (:func:`read_raw`), e.g. a Dask worker.
    """
    if plan_.fmt == "csv":
        yield from iter_csv_raw(plan_, chunk_rows)
    else:
        for chunk in plan_.chunks:
            yield chunk, None


def prepare_chunk(
    raw: pd.DataFrame,
    chunk: Chunk,
    *,
    mapping: Any = None,
    name: str | None = None,
    catalog: Any = None,
    row_numbers: Any = None,
    extras: Mapping[str, str] | None = None,
) -> Prepared:
    """Map and validate one raw chunk (as :func:`core.data.io.load` does for a whole file).

    ``catalog`` (optional) makes only its columns and an id required
    (:func:`core.data.io.prepare`); a generated id is the row number over the whole input
    (``row_numbers``, default the chunk's rows); ``extras`` (the reference's
    :attr:`~core.data.io.Prepared.extras`) types the extra columns as the reference was typed
    instead of judging the chunk's values. A validation error's row numbers count within the
    chunk; the message says where the chunk starts in the input.
    """
    import numpy as np

    from core.data.io import prepare

    label = name or Path(chunk.path).name
    if row_numbers is None:
        row_numbers = chunk.first_row + np.arange(len(raw))
    try:
        return prepare(
            raw,
            mapping=mapping,
            catalog=catalog,
            name=label,
            row_numbers=row_numbers,
            extras=extras,
        )
    except DataValidationError as exc:
        if chunk.start == 0 and chunk.first_row == 0:
            raise
        where = (
            f"in the chunk of data rows {chunk.start + 1:,}-{chunk.stop:,} of {label} "
            f"(row numbers below count from that chunk's first row, data row {chunk.start + 1:,})"
        )
        raise type(exc)(f"{where}: {exc}", getattr(exc, "failures", None)) from None


def canonical_chunk(raw: pd.DataFrame, chunk: Chunk, **options: Any) -> pd.DataFrame:
    """The validated canonical frame of one raw chunk: :func:`prepare_chunk`'s ``frame``, with
    the same keywords (``mapping``, ``name``, ``catalog``, ``row_numbers``, ``extras``)."""
    return prepare_chunk(raw, chunk, **options).frame


def load_chunk(chunk: Chunk, plan_: Plan, mapping: Any = None, catalog: Any = None) -> pd.DataFrame:
    """Read, map and validate one chunk."""
    return canonical_chunk(
        read_raw(chunk, plan_.csv or None), chunk, mapping=mapping, catalog=catalog
    )
