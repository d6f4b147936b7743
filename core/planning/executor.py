"""Where the Lagrangian planner's per-customer subproblems run: the executor abstraction.

At every price update the planner solves every customer's subproblem
(:func:`core.planning._chunks.solve_chunk` over the chunks of patterns). An *executor* decides
where: :meth:`ChunkExecutor.bind` receives the chunks of one relaxation **once** and returns
:class:`BoundChunks`, whose :meth:`~BoundChunks.solve` is then called with only the prices, as
often as the dual and primal phases need. Results come back in chunk order, so the planner's
sums (and so its objective, bound and plan) do not depend on the executor.

:class:`SerialExecutor` (the default) loops over the chunks in this process. The Dask engine
lives above planning in the layers (:mod:`core.pipeline.batch.plan_engine`): it scatters the
chunks to the workers once and maps :func:`solve_chunk_alone` over them per price update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from core.planning._chunks import Chunk, ChunkSolution, one_blas_thread, solve_chunk


class BoundChunks(Protocol):
    """The chunks of one relaxation, placed where they are solved."""

    def solve(
        self, alpha: np.ndarray, beta: np.ndarray, *, top: int, plan: bool
    ) -> list[ChunkSolution]:
        """:func:`~core.planning._chunks.solve_chunk` of every chunk at these prices, in order."""
        ...  # pragma: no cover - protocol


class ChunkExecutor(Protocol):
    """Places chunks (:meth:`bind`) and names itself (``name``: ``"serial"``, ``"dask"``)."""

    name: str

    def bind(self, chunks: Sequence[Chunk]) -> BoundChunks:
        """Place ``chunks`` once; the result solves them at any prices."""
        ...  # pragma: no cover - protocol


def solve_chunk_alone(
    chunk: Chunk, alpha: np.ndarray, beta: np.ndarray, *, top: int = 1, plan: bool = True
) -> ChunkSolution:
    """:func:`~core.planning._chunks.solve_chunk` with BLAS on one thread (what a worker runs).

    Parameters
    ----------
    chunk, alpha, beta, top, plan
        As :func:`~core.planning._chunks.solve_chunk`.

    Returns
    -------
    ChunkSolution
    """
    with one_blas_thread():
        return solve_chunk(chunk, alpha, beta, top=top, plan=plan)


class _SerialChunks:
    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = tuple(chunks)

    def solve(
        self, alpha: np.ndarray, beta: np.ndarray, *, top: int, plan: bool
    ) -> list[ChunkSolution]:
        return [solve_chunk(ch, alpha, beta, top=top, plan=plan) for ch in self.chunks]


class SerialExecutor:
    """The chunks one after the other in this process (the caller limits BLAS threads)."""

    name = "serial"

    def bind(self, chunks: Sequence[Chunk]) -> BoundChunks:
        """Keep ``chunks`` here.

        Parameters
        ----------
        chunks
            The relaxation's chunks.

        Returns
        -------
        BoundChunks
        """
        return _SerialChunks(chunks)


#: The default executor.
SERIAL = SerialExecutor()
