"""Journeys for millions of customers: the pipeline chunk by chunk, locally or on Dask.

``python -m core optimize`` runs here (:func:`run_batch`). The work is the same as
:func:`core.pipeline.run`'s, done per chunk of customers so that memory stays bounded by the
chunk size:

1. :mod:`~core.pipeline.batch.inputs`: :func:`plan` lists the input (a CSV file, a Parquet file
   or a directory of Parquet files) and cuts it into :class:`Chunk` s of at most ``chunk_rows``
   customers; :func:`read_raw`, :func:`iter_csv_raw`, :func:`prepare_chunk` and
   :func:`canonical_chunk` read, map and validate them.
2. :mod:`~core.pipeline.batch.reference`: :func:`reference_prepared` (its frame:
   :func:`reference_sample`) draws a seeded sample of at most ``train_rows`` customers and
   decides what the file's extra columns are (:attr:`BatchOptions.extra_kinds`: every chunk's
   are then typed so, not judged again); :func:`fit_reference` fits the models on it **once**
   and fixes the normalisation scale from the components of its first ``scale_rows``
   customers (:attr:`core.pipeline.Context.scale`), so every chunk is scored on the same
   footing.
3. :mod:`~core.pipeline.batch.chunks`: :func:`process_chunk` reads, maps and validates one
   chunk and runs :func:`core.pipeline.run` and :func:`core.pipeline.report` on it: the very
   functions the dashboard uses.
4. :mod:`~core.pipeline.batch.sinks`: a sink writes the tables in input order to a temporary
   sibling of the output and renames it into place only when every chunk is done
   (:class:`CsvSink`, :class:`ParquetFileSink`, :class:`XlsxSink`, :class:`ParquetDirSink`,
   the last with a ``_manifest.json`` and a ``_SUCCESS`` marker). An interrupted or failed run
   removes the temporary output; ``OUT`` is never half written.
5. :mod:`~core.pipeline.batch.reports`: :func:`aggregate` merges the chunks' reports
   (customer-weighted means, ``max_gap`` the max, seconds summed); :func:`run_batch`
   (:mod:`~core.pipeline.batch.engine`) adds the batch figures (engine, chunks, throughput,
   peak memory).

Chunk independence. The ``counterfactual`` estimator is an S-learner: a customer's components
are two predictions of the fitted models for that customer alone, and each customer's annealing
stream derives from (seed, customer id). With the models and the scale fixed by the reference,
and the extra columns typed as the reference's, a customer's journey therefore does not depend
on the chunk it is processed in, nor on the engine: the output is identical for any
``chunk_rows``, partitioning or number of workers.
``peer-bayes`` and ``neighbours`` compare each customer with the rest of the population given
to them, and their code takes no separate reference population, so they are not chunk
independent: they run only when the whole input is one chunk on the local engine (the
dashboard's case), and otherwise fail with a message saying so (:func:`check_estimator`).

Engines (:class:`BatchOptions`). ``local`` processes the chunks one after the other in this
process. ``dask`` (:mod:`~core.pipeline.batch.dask`) submits one task per chunk to a
``distributed`` scheduler (a :class:`distributed.LocalCluster` of ``workers`` single-threaded
processes, or an existing cluster at ``scheduler``); the fitted :class:`~core.pipeline.Context`
is scattered to the workers once. Workers read Parquet chunks themselves (the input path must be
readable by them: same machine or a shared file system); CSV chunks are read here and shipped.
Results come back here and are written in order, with at most ``2 * workers + 1`` chunks in
flight. ``dask`` is imported only by this engine.

The campaign planner's per-customer subproblems run on the same clusters through
:mod:`~core.pipeline.batch.plan_engine` (:class:`DaskChunkExecutor`, :func:`dask_planner`).
"""

from core.pipeline.batch._base import BatchError, peak_rss_mb
from core.pipeline.batch.chunks import ChunkResult, figures_only, process_chunk, process_frame
from core.pipeline.batch.dask import dask_client, run_dask
from core.pipeline.batch.engine import BatchOutcome, run_batch
from core.pipeline.batch.inputs import (
    Chunk,
    Plan,
    canonical_chunk,
    iter_chunks,
    iter_csv_raw,
    load_chunk,
    plan,
    prepare_chunk,
    read_notes,
    read_raw,
)
from core.pipeline.batch.options import (
    CHUNK_INDEPENDENT,
    ENGINES,
    BatchOptions,
    check_estimator,
)
from core.pipeline.batch.plan_engine import DaskChunkExecutor, dask_planner
from core.pipeline.batch.reference import (
    fit_reference,
    reference_prepared,
    reference_sample,
    sample_rows,
    trusted_context,
)
from core.pipeline.batch.reports import aggregate
from core.pipeline.batch.sinks import (
    MANIFEST,
    SUCCESS,
    CsvSink,
    ParquetDirSink,
    ParquetFileSink,
    XlsxSink,
    open_sink,
    output_kind,
    read_output,
)

__all__ = [
    "CHUNK_INDEPENDENT",
    "ENGINES",
    "MANIFEST",
    "SUCCESS",
    "BatchError",
    "BatchOptions",
    "BatchOutcome",
    "Chunk",
    "ChunkResult",
    "CsvSink",
    "DaskChunkExecutor",
    "ParquetDirSink",
    "ParquetFileSink",
    "XlsxSink",
    "Plan",
    "aggregate",
    "canonical_chunk",
    "check_estimator",
    "dask_client",
    "dask_planner",
    "figures_only",
    "fit_reference",
    "iter_chunks",
    "iter_csv_raw",
    "load_chunk",
    "open_sink",
    "output_kind",
    "peak_rss_mb",
    "plan",
    "prepare_chunk",
    "process_chunk",
    "process_frame",
    "read_output",
    "read_notes",
    "read_raw",
    "reference_prepared",
    "reference_sample",
    "run_batch",
    "run_dask",
    "sample_rows",
    "trusted_context",
]
