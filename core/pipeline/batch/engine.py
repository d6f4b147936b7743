"""The batch run: plan, reference, chunks on an engine, sink, report.

:func:`run_batch` plans the input, fits the reference once, runs every chunk on the ``local``
engine (one after the other in this process) or on Dask (:mod:`core.pipeline.batch.dask`),
writes the tables in input order through a sink, checks that no customer id repeats across the
chunks, and returns the aggregated report with the batch figures (engine, chunks, throughput,
peak memory). A failed or stopped run removes the temporary output and raises
:class:`~core.pipeline.batch.BatchError`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.common.errors import DataValidationError
from core.common.progress import Progress
from core.ops.export import ExportResult
from core.pipeline.batch._base import BatchError, peak_rss_mb
from core.pipeline.batch.chunks import ChunkResult, figures_only, process_chunk
from core.pipeline.batch.dask import run_dask
from core.pipeline.batch.inputs import Plan, iter_chunks, plan, read_notes
from core.pipeline.batch.options import BatchOptions, check_estimator
from core.pipeline.batch.reference import fit_reference, reference_prepared, trusted_context
from core.pipeline.batch.reports import aggregate, unfit_notes
from core.pipeline.batch.sinks import open_sink
from core.pipeline.context import Context
from core.pipeline.settings import Settings


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
        prepared = reference_prepared(plan_, opts, settings.seed)
        reference = prepared.frame
        # every chunk's extra columns typed as the reference's (not judged chunk by chunk)
        opts = replace(opts, extra_kinds=dict(prepared.extras))
        data_notes = [*read_notes(plan_), *prepared.notes]
        seconds["reference"] = time.perf_counter() - t
        t = time.perf_counter()
        if context is None and models_dir is not None:
            context = trusted_context(reference, settings, plan_, opts, models_dir)
        whole = len(plan_.chunks) == 1 and plan_.n_rows <= min(opts.train_rows, opts.scale_rows)
        ctx = fit_reference(reference, settings, opts, context=context, whole=whole)
        seconds["fit"] = time.perf_counter() - t
        del reference, prepared
        if opts.engine == "local":
            _run_local(plan_, settings, ctx, opts, accept)
        else:
            workers.update(run_dask(plan_, settings, ctx, opts, accept))
        all_ids = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        if np.unique(all_ids).size != all_ids.size:
            raise DataValidationError(
                f"{Path(plan_.source).name}: {all_ids.size - np.unique(all_ids).size:,} "
                "customer id(s) appear in more than one row across the chunks. Fix: make every "
                "Customer ID unique (remove duplicate rows); nothing was written."
            )
        rep = aggregate(results)
        data_notes += unfit_notes(results, opts.extra_kinds or {})
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
        # what the fitted estimator says about the data (e.g. the extra columns dr adjusted for)
        estimator_notes=list(getattr(ctx.models, "notes_", ()) or ()),
        # what the loader decided on the reference sample (columns left out, the worksheet read)
        data_notes=data_notes,
    )
    rep["out"] = {
        "path": str(written.path),
        "format": written.format,
        "sha256": written.sha256,
        "parts": written.parts,
    }
    return BatchOutcome(written, rep, ctx, plan_)


def _run_local(
    plan_: Plan,
    settings: Settings,
    ctx: Context,
    opts: BatchOptions,
    accept: Callable[[ChunkResult], None],
) -> None:
    for chunk, raw in iter_chunks(plan_, opts.chunk_rows):
        accept(process_chunk(chunk, plan_, settings, ctx, opts, raw=raw))
