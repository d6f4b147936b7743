"""Journeys for millions of customers: the pipeline chunk by chunk, locally or on Dask.

``python -m core optimize`` runs here. The work is the same as :func:`core.pipeline.run`'s, done
per chunk of customers so that memory stays bounded by the chunk size:

1. :func:`plan` lists the input (a CSV file, a Parquet file or a directory of Parquet files)
   and cuts it into :class:`Chunk` s of at most ``chunk_rows`` customers.
2. :func:`reference_sample` draws a seeded sample of at most ``train_rows`` customers (all of
   them when there are fewer, in input order). :func:`fit_reference` fits the models on it
   **once** and fixes the normalisation scale from the components of its first ``scale_rows``
   customers (:attr:`core.pipeline.Context.scale`), so every chunk is scored on the same
   footing.
3. :func:`process_chunk` reads, maps and validates one chunk and runs
   :func:`~core.pipeline.components_for`, :func:`~core.pipeline.problem_for`,
   :func:`~core.pipeline.optimize`, :func:`~core.pipeline.journeys_table` and
   :func:`~core.pipeline.report` on it: the very functions the dashboard uses.
4. A sink writes the tables in input order to a temporary sibling of the output and renames
   it into place only when every chunk is done (:class:`CsvSink`, :class:`ParquetFileSink`,
   :class:`ParquetDirSink`, the last with a ``_manifest.json`` and a ``_SUCCESS`` marker).
   An interrupted or failed run removes the temporary output; ``OUT`` is never half written.
5. :func:`aggregate` merges the chunks' reports (customer-weighted means, ``max_gap`` the max,
   seconds summed) and adds the batch figures (engine, chunks, throughput, peak memory).

Chunk independence. The ``counterfactual`` estimator is an S-learner: a customer's components
are two predictions of the fitted models for that customer alone, and each customer's annealing
stream derives from (seed, customer id). With the models and the scale fixed by the reference,
a customer's journey therefore does not depend on the chunk it is processed in, nor on the
engine: the output is identical for any ``chunk_rows``, partitioning or number of workers.
``peer-bayes`` and ``neighbours`` compare each customer with the rest of the population given
to them, and their code takes no separate reference population, so they are not chunk
independent: they run only when the whole input is one chunk on the local engine (the
dashboard's case), and otherwise fail with a message saying so.

Engines. ``local`` processes the chunks one after the other in this process. ``dask`` submits
one task per chunk to a ``distributed`` scheduler (a :class:`distributed.LocalCluster` of
``workers`` single-threaded processes, or an existing cluster at ``scheduler``); the fitted
:class:`~core.pipeline.Context` is scattered to the workers once. Workers read Parquet chunks
themselves (the input path must be readable by them: same machine or a shared file system);
CSV chunks are read here and shipped. Results come back here and are written in order, with
at most ``2 * workers + 1`` chunks in flight. ``dask`` is imported only by this engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError, DataValidationError
from core.common.progress import Progress
from core.data.catalog import resolve_catalog
from core.ops.export import ExportResult
from core.pipeline.run import (
    DEFAULT_BASELINES,
    TABLE_COLUMNS,
    Context,
    Settings,
    components_for,
    fit_context,
    journeys_table,
    optimize,
    problem_for,
    propensity_for,
    report,
)

ENGINES = ("local", "dask")
#: Estimators whose components of a customer depend on that customer (and the fitted models)
#: only, so they can be computed chunk by chunk.
CHUNK_INDEPENDENT = ("counterfactual",)
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"


class BatchError(CJOError):
    """A batch run that failed or was stopped; its message says what happened to the output.

    ``interrupted`` is True when it was stopped (KeyboardInterrupt) rather than failed.
    """

    def __init__(self, message: str, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


@dataclass(frozen=True)
class BatchOptions:
    """How a batch run is cut up and where it runs (the scenario itself is a Settings).

    Attributes
    ----------
    chunk_rows
        Customers per chunk (memory is bounded by it).
    train_rows
        Size of the seeded reference sample the models are fitted on.
    scale_rows
        Customers of the reference whose components fix the normalisation scale.
    engine
        ``"local"`` or ``"dask"``.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``); None starts a LocalCluster.
    workers
        Worker processes of the LocalCluster (one thread each).
    verify
        ``"exact"`` to compare every chunk with the exact optimum.
    baselines
        Baselines to compare with, per chunk.
    bom
        UTF-8 byte-order mark in a CSV output.
    mapping
        Optional user column mapping (as :func:`core.data.io.load` takes it).
    """

    chunk_rows: int = 100_000
    train_rows: int = 50_000
    scale_rows: int = 10_000
    engine: str = "local"
    scheduler: str | None = None
    workers: int = 2
    verify: str | None = None
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    bom: bool = False
    mapping: Any = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise CJOError(f"--engine {self.engine}: choose one of {list(ENGINES)}.")
        for name in ("chunk_rows", "train_rows", "scale_rows", "workers"):
            if int(getattr(self, name)) < 1:
                raise CJOError(f"{name.replace('_', '-')} must be >= 1.")
        if self.train_rows < 20:
            raise CJOError("--train-rows must be >= 20 (the models need at least 20 customers).")
        if self.verify not in (None, "exact"):
            raise CJOError(f"--verify {self.verify}: only 'exact' is supported.")
        object.__setattr__(self, "baselines", tuple(self.baselines))


# --------------------------------------------------------------------------------------------
# input: files -> chunks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """One chunk of the input: rows ``[start, stop)`` of one file (0-based, data rows).

    ``first_row`` is the chunk's first row over the whole input (for messages and order).
    """

    index: int
    path: str
    fmt: str  # "csv" | "parquet"
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


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    return ("parquet" if magic == b"PAR1" else "csv"), [source]


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


def _csv_rows(path: Path, dialect: Mapping[str, Any]) -> int:
    n = 0
    try:
        for part in _csv_reader(path, dialect, 200_000, usecols=[0]):
            n += len(part)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataValidationError(
            f"{path.name}: cannot be read as CSV ({exc}). Fix: check the quoting and the "
            "number of fields of the rows named, or export Parquet."
        ) from None
    return n


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
    digest = hashlib.sha256()
    for path in files:
        if fmt == "parquet":
            try:
                n = pq.ParquetFile(path).metadata.num_rows
            except Exception as exc:  # pyarrow raises several types for corrupt files
                raise DataValidationError(
                    f"{path.name}: not a readable Parquet file ({type(exc).__name__}: {exc}). "
                    "Fix: re-export it."
                ) from None
        else:
            dialect = _csv_dialect(path)
            n = _csv_rows(path, dialect)
        sha = _sha256_file(path)
        digest.update(f"{path.relative_to(src) if src.is_dir() else path.name}:{sha}\n".encode())
        for lo in range(0, n, chunk_rows):
            hi = min(lo + chunk_rows, n)
            chunks.append(Chunk(len(chunks), str(path), fmt, lo, hi, total + lo))
        total += n
    if total == 0:
        raise DataValidationError(
            f"{src.name}: has no customer rows. Fix: export the customers, not only the header."
        )
    sha256 = _sha256_file(files[0]) if len(files) == 1 and not src.is_dir() else digest.hexdigest()
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
    else:
        if dialect is None:
            dialect = _csv_dialect(path)
        reader = _csv_reader(
            path, dialect, chunk.n_rows, skiprows=range(1, chunk.start + 1), nrows=chunk.n_rows
        )
        frame = next(iter(reader))
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    return frame


def iter_csv_raw(plan_: Plan, chunk_rows: int) -> Iterator[tuple[Chunk, pd.DataFrame]]:
    """Stream the raw chunks of a CSV input in one pass (cheaper than :func:`read_raw` each)."""
    by_file: dict[str, list[Chunk]] = {}
    for c in plan_.chunks:
        by_file.setdefault(c.path, []).append(c)
    for path, chunks in by_file.items():
        reader = _csv_reader(Path(path), plan_.csv, chunk_rows)
        for c, raw in zip(chunks, reader, strict=True):
            raw.columns = [str(x).strip().lstrip("\ufeff") for x in raw.columns]
            yield c, raw


def canonical_chunk(
    raw: pd.DataFrame, chunk: Chunk, *, mapping: Any = None, name: str | None = None
) -> pd.DataFrame:
    """Map and validate one raw chunk (as :func:`core.data.io.load` does for a whole file).

    A validation error's row numbers count within the chunk; the message says where the chunk
    starts in the input.
    """
    from core.data.io import validate_canonical
    from core.data.mapping import ColumnMapping, detect_layout, to_canonical

    label = name or Path(chunk.path).name
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = ColumnMapping.load(mapping)
    layout = "mapped" if mapping is not None else detect_layout(raw.columns)
    try:
        canonical, _, _ = to_canonical(raw, layout, mapping, name=label)
        frame = validate_canonical(canonical, label)
    except DataValidationError as exc:
        if chunk.start == 0 and chunk.first_row == 0:
            raise
        where = (
            f"in the chunk of data rows {chunk.start + 1:,}-{chunk.stop:,} of {label} "
            f"(row numbers below count from that chunk's first row, data row {chunk.start + 1:,})"
        )
        raise type(exc)(f"{where}: {exc}", getattr(exc, "failures", None)) from None
    return frame


def load_chunk(chunk: Chunk, plan_: Plan, mapping: Any = None) -> pd.DataFrame:
    """Read, map and validate one chunk."""
    return canonical_chunk(read_raw(chunk, plan_.csv or None), chunk, mapping=mapping)


# --------------------------------------------------------------------------------------------
# the reference: models fitted once, scale fixed once
# --------------------------------------------------------------------------------------------


def sample_rows(n_rows: int, train_rows: int, seed: int) -> np.ndarray:
    """Sorted global row numbers of the reference sample (all rows when ``n <= train_rows``)."""
    if n_rows <= train_rows:
        return np.arange(n_rows, dtype=np.int64)
    rng = np.random.default_rng([int(seed), 0x5EED_BA7C])
    return np.sort(rng.choice(n_rows, size=train_rows, replace=False)).astype(np.int64)


def reference_sample(plan_: Plan, options: BatchOptions, seed: int) -> pd.DataFrame:
    """The validated reference customers: a seeded sample of at most ``train_rows``."""
    rows = sample_rows(plan_.n_rows, options.train_rows, seed)
    parts: list[pd.DataFrame] = []
    chunks: Sequence[Chunk] = plan_.chunks
    if plan_.fmt == "csv":
        pairs: Iterator[tuple[Chunk, pd.DataFrame]] = iter_csv_raw(plan_, options.chunk_rows)
    else:
        pairs = ((c, read_raw(c)) for c in chunks)
    for c, raw in pairs:
        lo, hi = np.searchsorted(rows, [c.first_row, c.first_row + c.n_rows])
        if hi > lo:
            parts.append(raw.iloc[rows[lo:hi] - c.first_row])
    raw_all = pd.concat(parts, ignore_index=True)
    ref = Chunk(-1, plan_.source, plan_.fmt, 0, len(raw_all), 0)
    name = f"{Path(plan_.source).name} (reference sample)"
    try:
        return canonical_chunk(raw_all, ref, mapping=options.mapping, name=name)
    except DataValidationError:
        # name the input's own rows: validate the chunks the sample came from, in order
        for c in chunks:
            lo, hi = np.searchsorted(rows, [c.first_row, c.first_row + c.n_rows])
            if hi > lo:
                load_chunk(c, plan_, options.mapping)
        raise


def check_estimator(settings: Settings, plan_: Plan, options: BatchOptions) -> None:
    """Refuse population-relative estimators unless the whole input is one local chunk."""
    if settings.estimator in CHUNK_INDEPENDENT:
        return
    if options.engine == "local" and len(plan_.chunks) == 1:
        return
    raise BatchError(
        f"estimator '{settings.estimator}' compares each customer with the rest of the "
        "population it is given, so its journeys would change with the chunking: it cannot run "
        f"chunk by chunk or on Dask ({plan_.n_rows:,} customers in {len(plan_.chunks)} chunk(s), "
        f"engine {options.engine}). Fix: use --estimator counterfactual (a per-customer model, "
        "chunk independent), or run the local engine with --chunk-rows of at least "
        f"{plan_.n_rows:,} so the whole population is one chunk."
    )


def fit_reference(
    reference: pd.DataFrame,
    settings: Settings,
    options: BatchOptions,
    *,
    context: Context | None = None,
    whole: bool = False,
) -> Context:
    """Fit the models on the reference (unless ``context``) and fix the normalisation scale.

    ``whole``: the reference is the whole input, processed as one chunk, and no larger than
    ``scale_rows``; the chunk's own scale is then the reference's, so it is not computed twice.
    """
    ctx = context or fit_context(reference, settings)
    if ctx.scale is None and settings.estimator in CHUNK_INDEPENDENT and not whole:
        head = reference.iloc[: options.scale_rows]
        ctx = replace(ctx, scale=dict(components_for(head, settings, ctx).scale))
    return ctx


# --------------------------------------------------------------------------------------------
# one chunk
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """What one chunk produced: its journeys table, its report and its timings."""

    index: int
    n_customers: int
    table: pd.DataFrame
    report: dict[str, Any]
    seconds: dict[str, float]
    id_hashes: np.ndarray
    peak_rss_mb: float
    worker: str = ""


def figures_only(res: ChunkResult) -> ChunkResult:
    """``res`` without its rows, for the client to keep until the run ends.

    ``table.iloc[:0]`` would not do: its columns are views that keep the whole chunk's arrays
    alive, so the client's memory grew with every chunk (0.57 GB at 1M, 1.29 GB at 5M customers).
    """
    return replace(res, table=res.table.iloc[:0].copy(deep=True))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(rss) / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def process_frame(
    frame: pd.DataFrame,
    settings: Settings,
    context: Context,
    options: BatchOptions,
    index: int = 0,
    seconds_read: float = 0.0,
) -> ChunkResult:
    """Journeys, table and report of one validated block of customers (the core functions)."""
    seconds = {"read": seconds_read}
    t = time.perf_counter()
    comps = components_for(frame, settings, context)
    seconds["components"] = time.perf_counter() - t
    prop = propensity_for(frame, context) if settings.propensity else None
    problem = problem_for(comps, context.catalog, settings, prop)
    result = optimize(problem, settings, components=comps)
    seconds["optimize"] = float(result.seconds.get("total", 0.0))
    t = time.perf_counter()
    table = journeys_table(result, problem, comps, settings, context.catalog, prop)
    rep = report(
        result,
        problem,
        settings,
        components=comps,
        verify=options.verify,
        baselines=options.baselines,
    )
    seconds["report"] = time.perf_counter() - t
    ids = np.asarray(comps.customer_ids)
    hashes = pd.util.hash_array(ids.astype(str) if ids.dtype == object else ids)
    return ChunkResult(
        index=index,
        n_customers=int(problem.n_customers),
        table=table,
        report=rep,
        seconds=seconds,
        id_hashes=np.asarray(hashes, dtype=np.uint64),
        peak_rss_mb=peak_rss_mb(),
    )


def process_chunk(
    chunk: Chunk,
    plan_: Plan,
    settings: Settings,
    context: Context,
    options: BatchOptions,
    raw: pd.DataFrame | None = None,
) -> ChunkResult:
    """Read (unless ``raw`` is given), validate and process one chunk (a Dask task)."""
    t = time.perf_counter()
    if raw is None:
        raw = read_raw(chunk, plan_.csv or None)
    frame = canonical_chunk(raw, chunk, mapping=options.mapping)
    res = process_frame(frame, settings, context, options, chunk.index, time.perf_counter() - t)
    if "distributed" not in sys.modules:  # the local engine never imports dask
        return res
    from distributed import get_worker

    try:
        return replace(res, worker=str(get_worker().address))
    except ValueError:  # not inside a worker
        return res


# --------------------------------------------------------------------------------------------
# output sinks: temporary sibling, renamed when complete
# --------------------------------------------------------------------------------------------


def output_kind(out: str | os.PathLike[str]) -> str:
    """``"csv"``, ``"parquet"`` (one file) or ``"parquet-dir"`` (no suffix or a trailing '/')."""
    text = os.fspath(out)
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.suffix == "":
        return "parquet-dir"
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("csv", "parquet"):
        raise CJOError(
            f"--out {text}: use a .csv or .parquet file name, or a directory name without "
            "suffix (partitioned Parquet: part-00000.parquet ...)."
        )
    return kind


class _Sink:
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
            self.write(0, pd.DataFrame(columns=list(TABLE_COLUMNS)))
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
            _sha256_file(self.dest),
            self.dest.stat().st_size,
            path=self.dest,
        )

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        super().abort()


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


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=object),
            "step": pd.Series([], dtype=np.int64),
            "product": pd.Series([], dtype=object),
            "product_label": pd.Series([], dtype=object),
            **{c: pd.Series([], dtype=np.float64) for c in TABLE_COLUMNS[4:]},
        }
    )


def open_sink(out: str | os.PathLike[str], bom: bool = False) -> _Sink:
    """The sink for ``out`` (see :func:`output_kind`)."""
    kind = output_kind(out)
    dest = Path(os.fspath(out).rstrip("/" + os.sep) or ".")
    if kind == "csv":
        return CsvSink(dest, bom=bom)
    if kind == "parquet":
        return ParquetFileSink(dest)
    return ParquetDirSink(dest)


def read_output(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a journeys output back (CSV, Parquet file or complete Parquet directory)."""
    p = Path(path)
    if p.is_dir():
        if not (p / SUCCESS).exists():
            raise CJOError(f"{p}: no {SUCCESS} marker, so the output is incomplete.")
        files = sorted(p.glob("part-*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if p.suffix.lower() == ".csv":
        return pd.read_csv(p, keep_default_na=False, na_values=[""])
    return pd.read_parquet(p)


# --------------------------------------------------------------------------------------------
# aggregation of the chunks' reports
# --------------------------------------------------------------------------------------------

_WEIGHTED = ("share_", "mean_")


def _merge(items: Sequence[tuple[int, Mapping[str, Any]]]) -> dict[str, Any]:
    """Merge flat numeric dicts: share_/mean_ customer-weighted, max_ max, seconds summed."""
    total = sum(n for n, _ in items)
    out: dict[str, Any] = {}
    keys = [k for _, d in items for k in d]
    for key in dict.fromkeys(keys):
        vals = [(n, d[key]) for n, d in items if key in d]
        if key.startswith(_WEIGHTED):
            out[key] = float(sum(n * v for n, v in vals) / total) if total else 0.0
        elif key.startswith("max_"):
            out[key] = float(max(v for _, v in vals))
        elif key.startswith("seconds") or key in ("total_opportunity", "n"):
            out[key] = type(vals[0][1])(sum(v for _, v in vals))
        else:
            out[key] = vals[0][1]
    return out


def aggregate(results: Sequence[ChunkResult]) -> dict[str, Any]:
    """One report from the chunks' reports (see the module docstring)."""
    if not results:
        return {}
    items = [(r.n_customers, r.report) for r in results]
    flat = [(n, {k: v for k, v in d.items() if not isinstance(v, dict)}) for n, d in items]
    out = _merge(flat)
    out["n_customers"] = int(sum(r.n_customers for r in results))
    out["iterations"] = int(max(int(d.get("iterations", 0)) for _, d in items))
    messages = sorted({str(d.get("message")) for _, d in items})
    out["message"] = messages[0] if len(messages) == 1 else "; ".join(messages)
    out["settings"] = items[0][1].get("settings")
    names = dict.fromkeys(k for _, d in items for k in d.get("baselines", {}))
    out["baselines"] = {
        b: _merge([(n, d["baselines"][b]) for n, d in items if b in d.get("baselines", {})])
        for b in names
    }
    return out


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BatchOutcome:
    """A finished batch run: what was written and its report."""

    written: ExportResult
    report: dict[str, Any]
    context: Context
    plan: Plan


def run_batch(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    settings: Settings,
    options: BatchOptions | None = None,
    *,
    context: Context | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    on_chunk: Callable[[ChunkResult], None] | None = None,
) -> BatchOutcome:
    """Optimize every customer of ``data`` chunk by chunk and write the journeys to ``out``.

    Parameters
    ----------
    data
        CSV file, Parquet file or directory of Parquet files.
    out
        ``.csv``, ``.parquet`` or a directory name (partitioned Parquet).
    settings
        The scenario.
    options
        Chunking and engine (:class:`BatchOptions`).
    context
        Already fitted models (their scale is fixed from the reference when None).
    models_dir
        Trusted models folder (:func:`core.models.train.load_or_train` on the reference sample).
    progress
        ``progress(customers_done, customers_total)``; it may raise to stop the run.
    on_chunk
        Called with each :class:`ChunkResult` before it is written; it may raise to stop.

    Returns
    -------
    BatchOutcome

    Raises
    ------
    BatchError
        A chunk failed or the run was stopped: the temporary output is removed and ``out`` is
        not touched. Data errors (:class:`~core.common.errors.DataValidationError`) pass unchanged.
    """
    opts = options or BatchOptions()
    start = time.perf_counter()
    plan_ = plan(data, opts.chunk_rows)
    check_estimator(settings, plan_, opts)
    sink = open_sink(out, bom=opts.bom)
    results: list[ChunkResult] = []
    hashes: list[np.ndarray] = []
    seconds: dict[str, float] = {}
    workers: dict[str, float] = {}
    done_rows = 0

    def accept(res: ChunkResult) -> None:
        nonlocal done_rows
        if on_chunk is not None:
            on_chunk(res)
        t = time.perf_counter()
        sink.write(res.index, res.table)
        seconds["write"] = seconds.get("write", 0.0) + time.perf_counter() - t
        hashes.append(res.id_hashes)
        if res.worker:
            workers[res.worker] = max(workers.get(res.worker, 0.0), res.peak_rss_mb)
        results.append(figures_only(res))
        done_rows += res.n_customers
        if progress is not None:
            progress(done_rows, plan_.n_rows)

    try:
        if progress is not None:
            progress(0, plan_.n_rows)
        t = time.perf_counter()
        reference = reference_sample(plan_, opts, settings.seed)
        seconds["reference"] = time.perf_counter() - t
        t = time.perf_counter()
        if context is None and models_dir is not None:
            context = _trusted_context(reference, settings, plan_, opts, models_dir)
        whole = len(plan_.chunks) == 1 and plan_.n_rows <= min(opts.train_rows, opts.scale_rows)
        ctx = fit_reference(reference, settings, opts, context=context, whole=whole)
        seconds["fit"] = time.perf_counter() - t
        del reference
        if opts.engine == "local":
            _run_local(plan_, settings, ctx, opts, accept)
        else:
            workers.update(_run_dask(plan_, settings, ctx, opts, accept))
        all_ids = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        if np.unique(all_ids).size != all_ids.size:
            raise DataValidationError(
                f"{Path(plan_.source).name}: {all_ids.size - np.unique(all_ids).size:,} "
                "customer id(s) appear in more than one row across the chunks. Fix: make every "
                "Customer ID unique (remove duplicate rows); nothing was written."
            )
        rep = aggregate(results)
        rep.update(
            engine=opts.engine,
            n_chunks=len(plan_.chunks),
            chunk_rows=opts.chunk_rows,
            train_rows=int(min(opts.train_rows, plan_.n_rows)),
            scale_rows=int(min(opts.scale_rows, opts.train_rows, plan_.n_rows)),
            scale=dict(ctx.scale or {}),
            rows=int(sink.rows),
        )
        written = sink.commit(
            {"settings": settings.to_dict(), "data_sha256": plan_.sha256, "engine": opts.engine}
        )
    except (KeyboardInterrupt, Exception) as exc:
        sink.abort()
        if isinstance(exc, DataValidationError | BatchError):
            raise
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        msg = (
            f"the batch run {what} after {len(results)} of {len(plan_.chunks)} chunk(s) "
            f"({done_rows:,} of {plan_.n_rows:,} customers) on the {opts.engine} engine"
            + ("" if what == "interrupted" else f": {type(exc).__name__}: {exc}")
            + f". Nothing was written to {out}: the partial output was removed."
        )
        raise BatchError(msg, interrupted=what == "interrupted") from exc
    total = time.perf_counter() - start
    sums = {
        f"seconds_{k}": float(sum(r.seconds.get(k, 0.0) for r in results))
        for k in ("read", "components", "report")
    }
    rep.update(sums)
    rep.update(
        seconds_reference=seconds.get("reference", 0.0),
        seconds_fit=seconds.get("fit", 0.0),
        seconds_write=seconds.get("write", 0.0),
        seconds_total=total,
        customers_per_second=float(plan_.n_rows / total) if total > 0 else 0.0,
        peak_memory_mb={"client": peak_rss_mb(), "workers": dict(sorted(workers.items()))},
        data=str(data),
        data_sha256=plan_.sha256,
        estimator=settings.estimator,
        catalog=ctx.catalog.name,
    )
    rep["out"] = {
        "path": str(written.path),
        "format": written.format,
        "sha256": written.sha256,
        "parts": written.parts,
    }
    return BatchOutcome(written, rep, ctx, plan_)


def _trusted_context(
    reference: pd.DataFrame,
    settings: Settings,
    plan_: Plan,
    options: BatchOptions,
    models_dir: str | os.PathLike[str],
) -> Context:
    from core.models.train import load_or_train

    cat = resolve_catalog(settings.catalog, list(reference.columns))
    key = plan_.sha256
    if plan_.n_rows > options.train_rows:  # trained on a sample: say which
        tag = f"{key}:sample:{options.train_rows}:{settings.seed}"
        key = hashlib.sha256(tag.encode()).hexdigest()
    trained = load_or_train(
        reference,
        Path(models_dir),
        key,
        cat,
        preset=settings.model_preset,
        random_state=settings.seed,
    )
    return Context(cat, trained.key_factors, trained.acceptance)


def _run_local(
    plan_: Plan,
    settings: Settings,
    ctx: Context,
    opts: BatchOptions,
    accept: Callable[[ChunkResult], None],
) -> None:
    if plan_.fmt == "csv":
        for chunk, raw in iter_csv_raw(plan_, opts.chunk_rows):
            accept(process_chunk(chunk, plan_, settings, ctx, opts, raw=raw))
        return
    for chunk in plan_.chunks:
        accept(process_chunk(chunk, plan_, settings, ctx, opts))


def dask_client(scheduler: str | None, workers: int) -> tuple[Any, Any]:
    """A ``distributed.Client`` on ``scheduler``, or on a new LocalCluster (returned too)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is in requirements.txt
        raise CJOError(f"--engine dask needs dask and distributed ({exc}).") from None
    import logging

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise BatchError(
                f"--scheduler {scheduler}: cannot connect ({exc}). Fix: check the address "
                "(tcp://host:8786) and that `dask scheduler` runs there."
            ) from None
    import dask

    # Dask's nannies export MALLOC_TRIM_THRESHOLD_=65536 to the workers; setting it at all turns
    # off glibc's dynamic mmap threshold, so every large numpy temporary is mmap'ed and unmapped
    # again: the annealing and the scoring ran 2x slower in a worker than in a plain process
    # (measured). None unsets it for the workers this cluster spawns.
    with dask.config.set({f"{_PRE_SPAWN}.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster), cluster


_PRE_SPAWN = "distributed.nanny.pre-spawn-environ"


def _run_dask(
    plan_: Plan,
    settings: Settings,
    ctx: Context,
    opts: BatchOptions,
    accept: Callable[[ChunkResult], None],
) -> dict[str, float]:
    """Submit one task per chunk; write the results in chunk order. Returns workers' peak MiB."""
    from distributed import as_completed

    client, cluster = dask_client(opts.scheduler, opts.workers)
    futures: list[Any] = []
    try:
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        window = 2 * n_workers + 1
        ctx_f = client.scatter(ctx, broadcast=True)
        plan_f = client.scatter(replace(plan_, chunks=()), broadcast=True)
        raws = iter_csv_raw(plan_, opts.chunk_rows) if plan_.fmt == "csv" else None

        def submit(chunk: Chunk) -> Any:
            raw = None
            if raws is not None:
                c, raw = next(raws)
                assert c.index == chunk.index
            return client.submit(
                process_chunk,
                chunk,
                plan_f,
                settings,
                ctx_f,
                opts,
                raw,
                key=f"cjo-chunk-{chunk.index:05d}-{plan_.sha256[:12]}-{os.getpid()}",
                pure=False,
                retries=0,
            )

        pending = iter(plan_.chunks)
        ready: dict[int, ChunkResult] = {}
        next_index = 0
        queue = as_completed()
        for chunk in plan_.chunks[:window]:
            futures.append(submit(chunk))
            queue.add(futures[-1])
        for _ in range(window):
            next(pending, None)
        for fut in queue:
            res: ChunkResult = fut.result()  # re-raises a worker's exception here
            fut.release()
            ready[res.index] = res
            while next_index in ready:
                accept(ready.pop(next_index))
                next_index += 1
                nxt = next(pending, None)
                if nxt is not None:
                    futures.append(submit(nxt))
                    queue.add(futures[-1])
        try:
            peaks = client.run(peak_rss_mb)
        except Exception:  # pragma: no cover - informative figure only
            peaks = {}
        return {str(k): float(v) for k, v in peaks.items()}
    finally:
        for f in futures:
            f.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
