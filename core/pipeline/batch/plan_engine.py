"""The campaign planner's per-customer subproblems on a Dask cluster.

:class:`DaskChunkExecutor` is a :class:`core.planning.executor.ChunkExecutor`: it scatters a
relaxation's chunks of patterns to the workers **once** (``client.scatter``, spread over the
workers) and, at every price update, maps
:func:`~core.planning.executor.solve_chunk_alone` over the scattered chunks with only the
prices as arguments (two float64 vectors of one value per activity). Each task returns its
chunk's best sets and per-activity counts; they come back in chunk order, so the plan, the
objective and the bound are those of the serial executor. The dual, repair and improvement
phases stay in this process.

:func:`dask_planner` opens a client on ``scheduler`` (or a LocalCluster of ``workers``
single-threaded processes, as :func:`~core.pipeline.batch.dask.dask_client`) and closes it.
Workers of an existing cluster need this package importable (same code, same environment).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from core.pipeline.batch._base import BatchError, peak_rss_mb
from core.pipeline.batch.dask import dask_client
from core.planning._chunks import Chunk, ChunkSolution
from core.planning.executor import BoundChunks, solve_chunk_alone


class _ScatteredChunks:
    """Futures of one relaxation's chunks on the workers (released with this object)."""

    def __init__(self, client: Any, futures: list[Any]) -> None:
        self.client = client
        self.futures = futures

    def solve(
        self, alpha: np.ndarray, beta: np.ndarray, *, top: int, plan: bool
    ) -> list[ChunkSolution]:
        if not self.futures:
            return []
        tasks = self.client.map(
            solve_chunk_alone,
            self.futures,
            alpha=alpha,
            beta=beta,
            top=top,
            plan=plan,
            pure=False,
        )
        out: list[ChunkSolution] = self.client.gather(tasks)
        return out


class DaskChunkExecutor:
    """Per-customer subproblems on the workers of a ``distributed.Client``.

    Parameters
    ----------
    client
        A connected ``distributed.Client`` (the caller closes it).

    Examples
    --------
    >>> from distributed import Client  # doctest: +SKIP
    >>> from core.planning import benchmark_instance, solve  # doctest: +SKIP
    >>> with Client(processes=False) as client:  # doctest: +SKIP
    ...     res = solve(benchmark_instance(300, 20, 0.1, 10, rng=1), "lagrangian",
    ...                 executor=DaskChunkExecutor(client))
    """

    name = "dask"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.bound = 0  # relaxations bound so far (each scattered its chunks once)

    def bind(self, chunks: Sequence[Chunk]) -> BoundChunks:
        """Scatter ``chunks`` to the workers once.

        Parameters
        ----------
        chunks
            The relaxation's chunks.

        Returns
        -------
        BoundChunks
            Solves them on the workers at any prices, results in chunk order.
        """
        self.bound += 1
        futures = self.client.scatter(list(chunks), hash=False) if chunks else []
        return _ScatteredChunks(self.client, list(futures))

    @property
    def n_workers(self) -> int:
        """Workers the scheduler knows now (at least 1)."""
        return max(len(self.client.scheduler_info().get("workers", {})), 1)

    def worker_peak_mb(self) -> dict[str, float]:
        """Peak resident memory of each worker so far, in MiB, by address."""
        try:
            peaks = self.client.run(peak_rss_mb)
        except Exception:  # pragma: no cover - informative figure only
            return {}
        return {str(k): float(v) for k, v in peaks.items()}


@contextlib.contextmanager
def dask_planner(
    scheduler: str | None, workers: int, wait: float = 20.0
) -> Iterator[DaskChunkExecutor]:
    """A :class:`DaskChunkExecutor` on ``scheduler`` or a new LocalCluster, closed on exit.

    Parameters
    ----------
    scheduler
        Address of an existing scheduler (``tcp://host:8786``); None starts a LocalCluster.
    workers
        Worker processes of the LocalCluster (one thread each).
    wait
        Seconds to wait for the scheduler to answer, and then for a worker to join it.

    Yields
    ------
    DaskChunkExecutor

    Raises
    ------
    BatchError
        The scheduler cannot be reached, or no worker joins it (the message names the address
        and the fix).
    """
    client, cluster = dask_client(scheduler, workers, timeout=wait)
    try:
        if scheduler:
            try:
                client.wait_for_workers(1, timeout=wait)
            except TimeoutError:
                raise BatchError(
                    f"--scheduler {scheduler}: no worker joined within {wait:g} s. Fix: start "
                    f"workers with `dask worker {scheduler} --nthreads 1` (same code and "
                    "environment as here)."
                ) from None
        yield DaskChunkExecutor(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
