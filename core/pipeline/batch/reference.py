"""The reference: the models fitted once, the normalisation scale fixed once.

:func:`reference_sample` draws a seeded sample of at most ``train_rows`` customers (all of them
when there are fewer, in input order; :func:`sample_rows` says which). :func:`fit_reference`
fits the models on it (or :func:`trusted_context` loads them from a trusted models folder) and
fixes the normalisation scale from the components of its first ``scale_rows`` customers
(:attr:`core.pipeline.Context.scale`), so every chunk is scored on the same footing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError
from core.data.catalog import resolve_catalog
from core.pipeline.batch.inputs import (
    Chunk,
    Plan,
    iter_chunks,
    load_chunk,
    prepare_chunk,
    read_raw,
)
from core.pipeline.batch.options import CHUNK_INDEPENDENT, BatchOptions
from core.pipeline.context import Context, components_for, fit_context
from core.pipeline.settings import Settings

if TYPE_CHECKING:
    from core.data.io import Prepared


def sample_rows(n_rows: int, train_rows: int, seed: int) -> np.ndarray:
    """Sorted global row numbers of the reference sample (all rows when ``n <= train_rows``)."""
    if n_rows <= train_rows:
        return np.arange(n_rows, dtype=np.int64)
    rng = np.random.default_rng([int(seed), 0x5EED_BA7C])
    return np.sort(rng.choice(n_rows, size=train_rows, replace=False)).astype(np.int64)


def _rows_in(rows: np.ndarray, chunk: Chunk) -> np.ndarray:
    """The sorted global ``rows`` that fall in ``chunk``, counted from the chunk's first row."""
    lo, hi = np.searchsorted(rows, [chunk.first_row, chunk.first_row + chunk.n_rows])
    return rows[lo:hi] - chunk.first_row


def reference_prepared(plan_: Plan, options: BatchOptions, seed: int) -> Prepared:
    """The reference customers as :func:`core.data.io.prepare` leaves them, with its notes.

    Parameters
    ----------
    plan_
        The planned input.
    options
        ``train_rows``, ``chunk_rows`` (the CSV stream), ``mapping`` and ``catalog``.
    seed
        The scenario's seed (:func:`sample_rows`).

    Returns
    -------
    core.data.io.Prepared
        Canonical customers in input order (``frame``); ``extras`` are the kinds every chunk's
        extra columns are then typed as (:attr:`BatchOptions.extra_kinds`), ``notes`` what the
        loader decided (columns left out, generated ids). A validation error names the input's
        own rows.
    """
    rows = sample_rows(plan_.n_rows, options.train_rows, seed)
    parts: list[pd.DataFrame] = []
    for c, raw in iter_chunks(plan_, options.chunk_rows):
        if raw is None:
            raw = read_raw(c)
        mine = _rows_in(rows, c)
        if mine.size:
            parts.append(raw.iloc[mine])
    raw_all = pd.concat(parts, ignore_index=True)
    ref = Chunk(-1, plan_.source, plan_.fmt, 0, len(raw_all), 0)
    name = f"{Path(plan_.source).name} (reference sample)"
    try:
        return prepare_chunk(
            raw_all,
            ref,
            mapping=options.mapping,
            name=name,
            catalog=options.catalog,
            row_numbers=rows,
        )
    except DataValidationError:
        # name the input's own rows: validate the chunks the sample came from, in order
        for c in plan_.chunks:
            if _rows_in(rows, c).size:
                load_chunk(c, plan_, options.mapping, options.catalog)
        raise


def reference_sample(plan_: Plan, options: BatchOptions, seed: int) -> pd.DataFrame:
    """The validated reference customers: a seeded sample of at most ``train_rows``.

    Canonical customers in input order (:func:`reference_prepared`'s ``frame``). A validation
    error names the input's own rows.
    """
    return reference_prepared(plan_, options, seed).frame


def fit_reference(
    reference: pd.DataFrame,
    settings: Settings,
    options: BatchOptions,
    *,
    context: Context | None = None,
    whole: bool = False,
) -> Context:
    """Fit the models on the reference (unless ``context``) and fix the normalisation scale.

    Parameters
    ----------
    reference
        The validated reference customers (:func:`reference_sample`).
    settings
        The scenario.
    options
        ``scale_rows``: the reference customers whose components fix the scale.
    context
        Already fitted models (e.g. :func:`trusted_context`); their scale is kept if set.
    whole
        The reference is the whole input, processed as one chunk, and no larger than
        ``scale_rows``; the chunk's own scale is then the reference's, so it is not computed
        twice.

    Returns
    -------
    Context
        With a scale for the chunk-independent estimators (not when ``whole``).
    """
    ctx = context or fit_context(reference, settings)
    if context is not None and settings.estimator == "campaign":  # the log is fitted once, here
        fitted = fit_context(reference, settings, models=ctx.models, with_acceptance=False)
        ctx = replace(ctx, models=fitted.models)
    if ctx.scale is None and settings.estimator in CHUNK_INDEPENDENT and not whole:
        head = reference.iloc[: options.scale_rows]
        ctx = replace(ctx, scale=dict(components_for(head, settings, ctx).scale))
    return ctx


def trusted_context(
    reference: pd.DataFrame,
    settings: Settings,
    plan_: Plan,
    options: BatchOptions,
    models_dir: str | os.PathLike[str],
) -> Context:
    """The context of models loaded from (or trained into) a trusted models folder.

    The models are keyed by the input's fingerprint, and by the sample when the reference is
    a sample of it, so a folder serves the same data again without training
    (:func:`core.models.train.load_or_train` on the reference).

    Parameters
    ----------
    reference
        The validated reference customers (:func:`reference_sample`).
    settings
        The scenario (its catalog, model preset and seed are used).
    plan_
        The planned input (its fingerprint and size).
    options
        The batch options (``train_rows``).
    models_dir
        The trusted models folder.

    Returns
    -------
    Context
        Key-factor and acceptance models, without a scale (:func:`fit_reference` fixes it).
    """
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
