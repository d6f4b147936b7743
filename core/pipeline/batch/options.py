"""How a batch run is cut up and where it runs: :class:`BatchOptions` and the estimator check.

The scenario itself is a :class:`~core.pipeline.Settings`; the options say how many customers
a chunk holds, how large the reference sample is, which engine runs the chunks and what the
report compares. :func:`check_estimator` refuses the estimators whose journeys would change
with the chunking (:data:`CHUNK_INDEPENDENT` lists those that do not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.common.errors import CJOError
from core.pipeline.batch._base import BatchError
from core.pipeline.batch.inputs import Plan
from core.pipeline.run import DEFAULT_BASELINES
from core.pipeline.settings import Settings

#: The engines that run the chunks: ``local`` (this process) and ``dask``.
ENGINES = ("local", "dask")
#: Estimators whose components of a customer depend on that customer (and the fitted models)
#: only, so they can be computed chunk by chunk (``campaign``: its log is fitted once, on the
#: reference, like the others' models).
CHUNK_INDEPENDENT = ("counterfactual", "dr", "campaign")


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
    catalog
        The catalog the user chose (name or TOML path), or None: with it the input needs only
        the catalog's columns and an id (as :func:`core.data.io.load` with ``catalog``).
    extra_kinds
        ``{extra column: kind}`` every chunk's extra columns are typed as (the other extra
        columns left out). :func:`~core.pipeline.batch.run_batch` sets it from the reference
        sample (:func:`~core.pipeline.batch.reference_prepared`), so a chunk whose values look
        otherwise (a count holding only 0 and 1) gives the models the same features as the rest;
        None judges each chunk's columns on their own.
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
    catalog: Any = None
    extra_kinds: Mapping[str, str] | None = None

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


def check_estimator(settings: Settings, plan_: Plan, options: BatchOptions) -> None:
    """Refuse population-relative estimators unless the whole input is one local chunk.

    Parameters
    ----------
    settings
        The scenario (its estimator).
    plan_
        The planned input (its chunks).
    options
        The batch options (the engine).

    Raises
    ------
    BatchError
        The estimator is not in :data:`CHUNK_INDEPENDENT` and the run is chunked or on Dask.
    """
    if settings.estimator in CHUNK_INDEPENDENT:
        return
    if options.engine == "local" and len(plan_.chunks) == 1:
        return
    raise BatchError(
        f"estimator '{settings.estimator}' compares each customer with the rest of the "
        "population it is given, so its journeys would change with the chunking: it cannot run "
        f"chunk by chunk or on Dask ({plan_.n_rows:,} customers in {len(plan_.chunks)} chunk(s), "
        f"engine {options.engine}). Fix: use --estimator counterfactual or --estimator dr "
        "(per-customer models, chunk independent), or run the local engine with --chunk-rows of at least "
        f"{plan_.n_rows:,} so the whole population is one chunk."
    )
