"""One chunk: validated customers -> journeys table, report and timings (a Dask task).

:func:`process_frame` runs the dashboard's own :func:`core.pipeline.run` and
:func:`core.pipeline.report` on one block of customers; :func:`process_chunk` reads and
validates the chunk first. The :class:`ChunkResult` carries the table to the sink and the
figures to :func:`~core.pipeline.batch.aggregate`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.pipeline.batch._base import peak_rss_mb
from core.pipeline.batch.inputs import Chunk, Plan, prepare_chunk, read_raw
from core.pipeline.batch.options import BatchOptions
from core.pipeline.context import Context
from core.pipeline.run import report, run
from core.pipeline.settings import Settings


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
    #: ``{extra column: count}`` of the chunk's values read as missing because they do not fit
    #: the kind its reference decided (:attr:`core.data.io.Prepared.unfit`).
    unfit: Mapping[str, int] = field(default_factory=dict)


def figures_only(res: ChunkResult) -> ChunkResult:
    """``res`` without its rows, for the client to keep until the run ends.

    ``table.iloc[:0]`` would not do: its columns are views that keep the whole chunk's arrays
    alive, so the client's memory grew with every chunk (0.57 GB at 1M, 1.29 GB at 5M customers).
    """
    return replace(res, table=res.table.iloc[:0].copy(deep=True))


def process_frame(
    frame: pd.DataFrame,
    settings: Settings,
    context: Context,
    options: BatchOptions,
    index: int = 0,
    seconds_read: float = 0.0,
) -> ChunkResult:
    """Journeys, table and report of one validated block of customers.

    The journeys are :func:`core.pipeline.run`'s with the reference ``context`` (the
    dashboard's path); the report is :func:`core.pipeline.report`'s with the options'
    ``verify`` and ``baselines``.

    Parameters
    ----------
    frame
        Canonical customer data of the chunk.
    settings
        The scenario.
    context
        The reference's fitted models and scale.
    options
        The batch options (``verify``, ``baselines``).
    index
        The chunk's index (the order the sink writes in).
    seconds_read
        Seconds spent reading and validating the chunk (kept in the timings).

    Returns
    -------
    ChunkResult
    """
    out = run(frame, settings, context=context)
    t = time.perf_counter()
    rep = report(
        out.result,
        out.problem,
        settings,
        components=out.components,
        verify=options.verify,
        baselines=options.baselines,
    )
    seconds = {
        "read": seconds_read,
        "components": out.seconds["components"],
        "optimize": out.seconds["optimize"],
        "report": out.seconds["table"] + time.perf_counter() - t,
    }
    hashes = pd.util.hash_array(np.asarray(out.problem.ids))
    return ChunkResult(
        index=index,
        n_customers=int(out.problem.n_customers),
        table=out.table,
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
    """Read (unless ``raw`` is given), validate and process one chunk (a Dask task).

    Parameters
    ----------
    chunk
        The chunk.
    plan_
        The planned input (its CSV dialect).
    settings, context, options
        As :func:`process_frame` takes them; ``options.mapping`` maps the raw columns and
        ``options.catalog`` (when given) says which columns are required;
        ``options.extra_kinds`` types the extra columns as the reference's.
    raw
        The chunk's raw rows when they were read already (a CSV input, streamed).

    Returns
    -------
    ChunkResult
        With the worker's address when it ran on a Dask worker.
    """
    t = time.perf_counter()
    if raw is None:
        raw = read_raw(chunk, plan_.csv or None)
    prepared = prepare_chunk(
        raw,
        chunk,
        mapping=options.mapping,
        catalog=options.catalog,
        extras=options.extra_kinds,
    )
    res = process_frame(
        prepared.frame, settings, context, options, chunk.index, time.perf_counter() - t
    )
    if prepared.unfit:
        res = replace(res, unfit=dict(prepared.unfit))
    if "distributed" not in sys.modules:  # the local engine never imports dask
        return res
    from distributed import get_worker

    try:
        return replace(res, worker=str(get_worker().address))
    except ValueError:  # not inside a worker
        return res
