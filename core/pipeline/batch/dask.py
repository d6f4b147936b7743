"""The Dask engine: one task per chunk on a ``distributed`` cluster.

:func:`run_dask` submits one :func:`~core.pipeline.batch.process_chunk` task per chunk to a
:class:`distributed.LocalCluster` of ``workers`` single-threaded processes, or to an existing
cluster at ``scheduler`` (:func:`dask_client`); the fitted :class:`~core.pipeline.Context` is
scattered to the workers once. Workers read Parquet chunks themselves (the input path must be
readable by them: same machine or a shared file system); CSV chunks are read here and shipped.
Results come back here and are handed on in chunk order, with at most ``2 * workers + 1``
chunks in flight. ``dask`` is imported only by this engine, when it runs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd

from core.common.errors import CJOError
from core.pipeline.batch._base import BatchError, peak_rss_mb
from core.pipeline.batch.chunks import ChunkResult, process_chunk
from core.pipeline.batch.inputs import Chunk, Plan, iter_chunks
from core.pipeline.batch.options import BatchOptions
from core.pipeline.context import Context
from core.pipeline.settings import Settings

#: Dask's setting of the environment its nannies give the worker processes they spawn.
_PRE_SPAWN = "distributed.nanny.pre-spawn-environ"


def check_scheduler_address(scheduler: str) -> None:
    """Refuse an address Dask cannot parse (no port, unknown protocol) before connecting.

    Raises
    ------
    BatchError
        Naming the address and the expected form.
    """
    from distributed.comm import parse_address, parse_host_port, registry

    try:
        proto, loc = parse_address(scheduler)
        if proto not in registry.backends:
            raise ValueError(f"unknown protocol {proto!r}")
        if proto != "inproc":
            parse_host_port(loc)
    except (ValueError, TypeError) as exc:
        raise BatchError(
            f"--scheduler {scheduler}: not a scheduler address ({exc}). Fix: give "
            "tcp://host:port, e.g. tcp://10.0.0.5:8786 (what `dask scheduler` prints)."
        ) from None


def dask_client(scheduler: str | None, workers: int, timeout: float = 20.0) -> tuple[Any, Any]:
    """A ``distributed.Client`` on ``scheduler``, or on a new LocalCluster (returned too).

    ``timeout`` is the seconds to wait for ``scheduler``; an address that is malformed or not
    reachable in that time raises :class:`BatchError` naming it and the fix.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is in requirements.txt
        raise CJOError(f"--engine dask needs dask and distributed ({exc}).") from None
    import logging

    if scheduler:
        check_scheduler_address(scheduler)
        try:
            return Client(scheduler, timeout=f"{timeout:g}s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise BatchError(
                f"--scheduler {scheduler}: cannot connect ({exc}). Fix: check the address "
                "(tcp://host:8786) and that `dask scheduler` runs there."
            ) from None
    import dask

    # Dask's nannies export MALLOC_TRIM_THRESHOLD_=65536 to the workers; setting it at all turns
    # off glibc's dynamic mmap threshold, so every large numpy temporary is mmap'ed and unmapped
    # again: the annealing and the scoring ran 2x slower in a worker than in a plain process
    # (measured). None unsets it for the workers this cluster spawns.
    # dashboard on a free local port: the default 8787 may be held by another run's cluster
    # (Dask then warns, and leaks the socket it tried), and nobody watches this one's dashboard.
    with dask.config.set({f"{_PRE_SPAWN}.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
    return Client(cluster), cluster


def run_dask(
    plan_: Plan,
    settings: Settings,
    ctx: Context,
    opts: BatchOptions,
    accept: Callable[[ChunkResult], None],
) -> dict[str, float]:
    """Submit one task per chunk and hand the results to ``accept`` in chunk order.

    Parameters
    ----------
    plan_
        The planned input.
    settings
        The scenario.
    ctx
        The reference's fitted models and scale (scattered to the workers once).
    opts
        The batch options (``scheduler``, ``workers``, ``chunk_rows`` ...).
    accept
        Called with each :class:`~core.pipeline.batch.ChunkResult`, in chunk order; it may
        raise to stop the run (the pending tasks are cancelled).

    Returns
    -------
    dict
        Peak resident memory of each worker, in MiB, by worker address.
    """
    from distributed import as_completed

    client, cluster = dask_client(opts.scheduler, opts.workers)
    futures: list[Any] = []
    try:
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        window = 2 * n_workers + 1
        ctx_f = client.scatter(ctx, broadcast=True)
        plan_f = client.scatter(replace(plan_, chunks=()), broadcast=True)

        def submit(chunk: Chunk, raw: pd.DataFrame | None) -> Any:
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

        pending = iter_chunks(plan_, opts.chunk_rows)
        ready: dict[int, ChunkResult] = {}
        next_index = 0
        queue = as_completed()
        for chunk, raw in itertools.islice(pending, window):
            futures.append(submit(chunk, raw))
            queue.add(futures[-1])
        for fut in queue:
            res: ChunkResult = fut.result()  # re-raises a worker's exception here
            fut.release()
            ready[res.index] = res
            while next_index in ready:
                accept(ready.pop(next_index))
                next_index += 1
                nxt = next(pending, None)
                if nxt is not None:
                    futures.append(submit(*nxt))
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
