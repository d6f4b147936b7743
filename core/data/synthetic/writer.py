"""Writing a population: CSV or Parquet plus its truth (and optionally its past campaign),
streamed chunk by chunk, atomically."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from core.common.errors import OptionError
from core.data.synthetic.campaigns import campaign_frame
from core.data.synthetic.feedback import feedback_frame
from core.data.synthetic.simulate import check_counts, generate


def truth_path(path: str | os.PathLike[str]) -> Path:
    """Sibling file holding the truth of a population file: ``<stem>.truth.parquet``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.truth.parquet")


def campaigns_path(path: str | os.PathLike[str]) -> Path:
    """Sibling file holding the past campaign's log: ``<stem>.campaigns.parquet``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.campaigns.parquet")


def feedback_path(path: str | os.PathLike[str]) -> Path:
    """Sibling file holding the customers' feedback texts: ``<stem>.feedback.parquet``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.feedback.parquet")


def write(
    path: str | os.PathLike[str],
    n_rows: int,
    seed: int = 0,
    chunk_size: int = 100_000,
    progress: Callable[[int, int], object] | None = None,
    *,
    campaigns: bool = False,
    feedback: bool = False,
) -> tuple[Path, Path]:
    """Write a population to CSV or Parquet (by suffix) and its truth to ``<stem>.truth.parquet``.

    Chunks are streamed to temporary files that are renamed into place only when complete, so
    an interrupted run never leaves a file that looks finished.

    Parameters
    ----------
    path : path-like
        Target ending in ``.csv`` or ``.parquet``.
    n_rows, seed, chunk_size
        As in :func:`generate`; ``n_rows`` must be >= 1.
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk.
    campaigns : bool, default False
        Also write the past campaign's log (:func:`~core.data.synthetic.campaigns.campaign_frame`,
        same seed) to :func:`campaigns_path`.
    feedback : bool, default False
        Also write the customers' feedback texts
        (:func:`~core.data.synthetic.feedback.feedback_frame`, same seed) to
        :func:`feedback_path`.

    Returns
    -------
    (customers_path, truth_path)
    """
    check_counts(n_rows, seed, chunk_size, 0)
    if n_rows < 1:
        raise OptionError("n_rows must be >= 1")
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise OptionError(f"unsupported output suffix {out.suffix!r}; use .csv or .parquet")
    tpath = truth_path(out)
    tag = f".tmp-{os.getpid()}"
    tmp_out = out.with_name(f".{out.name}{tag}")
    tmp_truth = tpath.with_name(f".{tpath.name}{tag}")
    sinks = {
        "customers": _TableSink(tmp_out, suffix[1:]),
        "truth": _TableSink(tmp_truth, "truth"),
    }
    cpath = campaigns_path(out)
    tmp_camp = cpath.with_name(f".{cpath.name}{tag}")
    if campaigns:
        sinks["campaigns"] = _TableSink(tmp_camp, "parquet")
    fpath = feedback_path(out)
    tmp_fb = fpath.with_name(f".{fpath.name}{tag}")
    if feedback:
        sinks["feedback"] = _TableSink(tmp_fb, "parquet")
    done = 0
    try:
        for customers, truth in generate(n_rows, seed, chunk_size=chunk_size):
            sinks["customers"].append(customers)
            sinks["truth"].append(truth)
            if campaigns:
                sinks["campaigns"].append(campaign_frame(customers, truth, seed))
            if feedback:
                sinks["feedback"].append(feedback_frame(customers, truth, seed))
            done += len(customers)
            if progress is not None:
                progress(done, n_rows)
        for sink in sinks.values():
            sink.close()
        os.replace(tmp_truth, tpath)  # truth first: a finished population implies its truth
        if campaigns:
            os.replace(tmp_camp, cpath)
        if feedback:
            os.replace(tmp_fb, fpath)
        os.replace(tmp_out, out)
    finally:
        for sink in sinks.values():
            sink.close()
        for tmp in (tmp_out, tmp_truth, tmp_camp, tmp_fb):
            tmp.unlink(missing_ok=True)
    return out, tpath


class _TableSink:
    """Streams DataFrame chunks to one file: ``fmt`` is "csv" (IBM-like: unquoted, empty for
    missing), "parquet", or "truth" (Parquet without dictionary encoding)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._writer: pq.ParquetWriter | pcsv.CSVWriter | None = None
        self._schema: pa.Schema | None = None

    def append(self, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df, preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            if self.fmt == "csv":
                options = pcsv.WriteOptions(quoting_style="none", quoting_header="none")
                self._writer = pcsv.CSVWriter(self.path, table.schema, write_options=options)
            else:
                # Truth columns are unique floats: dictionary encoding only costs time there.
                self._writer = pq.ParquetWriter(
                    self.path,
                    table.schema,
                    compression="zstd",
                    use_dictionary=self.fmt != "truth",
                )
        self._writer.write_table(table.cast(self._schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
