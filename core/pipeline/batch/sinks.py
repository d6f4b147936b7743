"""Output sinks: the journeys tables of the chunks, in order, written atomically.

A sink writes to a temporary sibling of the output and renames it into place only when every
chunk is done (:class:`CsvSink`, :class:`ParquetFileSink`, :class:`XlsxSink`,
:class:`ParquetDirSink`, the last with a :data:`MANIFEST` and a :data:`SUCCESS` marker);
:meth:`abort` removes the temporary output, so ``OUT`` is never half written.
:func:`open_sink` picks the sink for an output name (:func:`output_kind`) and
:func:`read_output` reads any output back.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.ops.export import ExportResult
from core.pipeline.batch._base import sha256_file
from core.pipeline.run import TABLE_COLUMNS

#: The manifest of a partitioned Parquet output (its parts, rows and sha256).
MANIFEST = "_manifest.json"
#: The marker of a complete partitioned Parquet output.
SUCCESS = "_SUCCESS"


def output_kind(out: str | os.PathLike[str]) -> str:
    """``"csv"``, ``"parquet"`` (one file), ``"xlsx"`` (an Excel workbook) or ``"parquet-dir"``
    (no suffix or a trailing '/')."""
    text = os.fspath(out)
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.suffix == "":
        return "parquet-dir"
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("csv", "parquet", "xlsx"):
        raise CJOError(
            f"--out {text}: use a .csv, .parquet or .xlsx file name, or a directory name "
            "without suffix (partitioned Parquet: part-00000.parquet ...)."
        )
    return kind


def _empty_table() -> pd.DataFrame:
    """A journeys table without rows, with the column types of a written one."""
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=object),
            "step": pd.Series([], dtype=np.int64),
            "product": pd.Series([], dtype=object),
            "product_label": pd.Series([], dtype=object),
            **{c: pd.Series([], dtype=np.float64) for c in TABLE_COLUMNS[4:]},
        }
    )


class _Sink:
    """A temporary sibling of ``dest``: :meth:`write` chunks, then :meth:`commit` or :meth:`abort`."""

    kind = ""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.rows = 0
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")

    def write(self, index: int, table: pd.DataFrame) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def commit(self, manifest: Mapping[str, Any]) -> ExportResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def abort(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


class CsvSink(_Sink):
    """One CSV file, chunks appended in order; the same bytes as one :func:`to_csv_bytes`."""

    kind = "csv"

    def __init__(self, dest: Path, bom: bool = False) -> None:
        super().__init__(dest)
        self.bom = bom
        self.hash = hashlib.sha256()
        self.fh: Any = self.tmp.open("wb")
        self._header = False

    def _put(self, data: bytes) -> None:
        self.fh.write(data)
        self.hash.update(data)

    def write(self, index: int, table: pd.DataFrame) -> None:
        from core.ops.export import to_csv_bytes

        data = to_csv_bytes(table, bom=self.bom and not self._header)
        if self._header:
            data = data[data.index(b"\n") + 1 :]
        self._header = True
        self._put(data)
        self.rows += len(table)

    def commit(self, manifest: Mapping[str, Any]) -> ExportResult:
        if not self._header:
            self.write(0, _empty_table())
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.dest)
        return ExportResult(
            "csv", self.rows, self.hash.hexdigest(), self.dest.stat().st_size, path=self.dest
        )

    def abort(self) -> None:
        self.fh.close()
        super().abort()


class ParquetFileSink(_Sink):
    """One Parquet file, one row group per chunk (zstd)."""

    kind = "parquet"

    def __init__(self, dest: Path) -> None:
        super().__init__(dest)
        self.writer: Any = None
        self.schema: Any = None

    def write(self, index: int, table: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        t = pa.Table.from_pandas(table, preserve_index=False)
        if self.writer is None:
            self.schema = t.schema
            self.writer = pq.ParquetWriter(self.tmp, t.schema, compression="zstd")
        self.writer.write_table(t.cast(self.schema))
        self.rows += len(table)

    def commit(self, manifest: Mapping[str, Any]) -> ExportResult:
        if self.writer is None:
            self.write(0, _empty_table())
        self.writer.close()
        os.replace(self.tmp, self.dest)
        return ExportResult(
            "parquet",
            self.rows,
            sha256_file(self.dest),
            self.dest.stat().st_size,
            path=self.dest,
        )

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        super().abort()


class XlsxSink(_Sink):
    """One Excel workbook: the chunks' tables kept in order, written at the commit (a workbook
    cannot be appended to); the same bytes as one :func:`~core.ops.export.to_xlsx_bytes`. A run
    whose journeys outgrow a worksheet stops at the chunk that does, with nothing written."""

    kind = "xlsx"

    def __init__(self, dest: Path) -> None:
        super().__init__(dest)
        self.tables: list[pd.DataFrame] = []

    def write(self, index: int, table: pd.DataFrame) -> None:
        from core.ops.export import XLSX_ROWS

        self.rows += len(table)
        if self.rows > XLSX_ROWS:
            raise CJOError(
                f"--out {self.dest.name}: the journeys pass {XLSX_ROWS:,} rows, more than an "
                "Excel worksheet holds. Fix: write .csv or .parquet instead."
            )
        self.tables.append(table)

    def commit(self, manifest: Mapping[str, Any]) -> ExportResult:
        from core.ops.export import write_export

        table = pd.concat(self.tables, ignore_index=True) if self.tables else _empty_table()
        written = write_export(table, self.dest, "xlsx")
        return ExportResult("xlsx", self.rows, written.sha256, written.n_bytes, path=self.dest)


class ParquetDirSink(_Sink):
    """A directory of ``part-00000.parquet ...`` (one per chunk), ``_manifest.json``, ``_SUCCESS``.

    Written as ``.NAME.partial-PID/`` beside the destination and renamed when complete; an
    existing destination is replaced only if it is empty or a previous output of this command
    (it has a manifest), never an unrelated directory.
    """

    kind = "parquet-dir"

    def __init__(self, dest: Path) -> None:
        super().__init__(dest)
        if dest.exists() and not (
            dest.is_dir() and ((dest / MANIFEST).exists() or not any(dest.iterdir()))
        ):
            raise CJOError(
                f"--out {dest}: exists and is not an output of this command (no {MANIFEST}); "
                "it is left untouched. Fix: choose a new directory name or remove it."
            )
        self.tmp.mkdir()
        self.parts: list[dict[str, Any]] = []

    def write(self, index: int, table: pd.DataFrame) -> None:
        from core.ops.export import to_parquet_bytes

        data = to_parquet_bytes(table)
        name = f"part-{index:05d}.parquet"
        (self.tmp / name).write_bytes(data)
        self.parts.append(
            {"file": name, "rows": len(table), "sha256": hashlib.sha256(data).hexdigest()}
        )
        self.rows += len(table)

    def commit(self, manifest: Mapping[str, Any]) -> ExportResult:
        if not self.parts:
            self.write(0, _empty_table())
        digest = hashlib.sha256(
            "".join(f"{p['file']}:{p['sha256']}\n" for p in self.parts).encode()
        ).hexdigest()
        body = {**manifest, "rows": self.rows, "sha256": digest, "parts": self.parts}
        (self.tmp / MANIFEST).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        (self.tmp / SUCCESS).write_text("", encoding="utf-8")
        old = None
        if self.dest.exists():
            old = self.dest.with_name(f".{self.dest.name}.old-{os.getpid()}")
            os.replace(self.dest, old)
        os.replace(self.tmp, self.dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        size = sum(f.stat().st_size for f in self.dest.iterdir() if f.is_file())
        return ExportResult(
            "parquet", self.rows, digest, size, path=self.dest, parts=len(self.parts)
        )


def open_sink(out: str | os.PathLike[str], bom: bool = False) -> _Sink:
    """The sink for ``out`` (see :func:`output_kind`)."""
    kind = output_kind(out)
    dest = Path(os.fspath(out).rstrip("/" + os.sep) or ".")
    if kind == "csv":
        return CsvSink(dest, bom=bom)
    if kind == "parquet":
        return ParquetFileSink(dest)
    if kind == "xlsx":
        return XlsxSink(dest)
    return ParquetDirSink(dest)


def read_output(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a journeys output back (CSV, Parquet file, Excel workbook or complete Parquet
    directory)."""
    p = Path(path)
    if p.is_dir():
        if not (p / SUCCESS).exists():
            raise CJOError(f"{p}: no {SUCCESS} marker, so the output is incomplete.")
        files = sorted(p.glob("part-*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if p.suffix.lower() == ".csv":
        return pd.read_csv(p, keep_default_na=False, na_values=[""])
    if p.suffix.lower() == ".xlsx":
        return pd.read_excel(p, dtype={"customer_id": str})
    return pd.read_parquet(p)
