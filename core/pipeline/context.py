"""What is fitted once per population and reused for every block of customers.

:func:`fit_context` trains (or receives) the key-factor models of the ``counterfactual``
estimator (the effect models of ``dr``) and, when the propensity is used, the acceptance
models; the resulting
:class:`Context` also carries the normalisation scales and is small enough to ship to workers.
:func:`components_for` estimates the opportunity components of a block of customers with it
(the expensive step; the dashboard caches it) and :func:`propensity_for` their acceptance
propensity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress
from core.data.catalog import Catalog, resolve_catalog
from core.opportunity import Components, build_components
from core.pipeline.settings import Settings


@dataclass(frozen=True, eq=False)
class Context:
    """What is fitted once and reused for every block of customers (and shipped to workers).

    Attributes
    ----------
    catalog
        The catalog restricted to the data's columns.
    models
        Fitted :class:`core.models.KeyFactorModels` (``counterfactual``), the fitted
        :class:`core.opportunity.estimators.doubly_robust.DoublyRobustEffects` (``dr``), else None.
    acceptance
        Fitted :class:`core.models.AcceptanceModels` (always fitted: propensity and the
        Customer page's "how likely to accept"), or None when not requested.
    scale
        Normalisation scales of the reference population, or None (each block its own).
    """

    catalog: Catalog
    models: Any = None
    acceptance: Any = None
    scale: Mapping[str, float] | None = None


def fit_context(
    frame: pd.DataFrame,
    settings: Settings,
    *,
    models: Any = None,
    acceptance: Any = None,
    with_acceptance: bool | None = None,
    progress: Progress | None = None,
) -> Context:
    """Fit what :func:`components_for` needs, unless it is passed in.

    Parameters
    ----------
    frame
        Canonical customer data (the training population).
    settings
        The scenario (its catalog, estimator and seed are used).
    models, acceptance
        Already fitted models (e.g. from :func:`core.models.train.load_or_train`); fitted here when
        needed and not given.
    with_acceptance
        Fit the acceptance models (default: when ``settings.propensity``).
    progress
        ``progress(done, total)``.

    Returns
    -------
    Context
        The catalog restricted to ``frame``'s columns and the fitted models (no scale).
    """
    from core.models import AcceptanceModels, KeyFactorModels

    cat = resolve_catalog(settings.catalog, list(frame.columns))
    need_acc = settings.propensity if with_acceptance is None else with_acceptance
    steps = 2
    if progress:
        progress(0, steps)
    if settings.estimator == "counterfactual" and models is None:
        models = KeyFactorModels(cat, preset=settings.model_preset, random_state=settings.seed).fit(
            frame
        )
    elif settings.estimator == "dr":
        from core.opportunity.estimators.doubly_robust import DoublyRobustEffects

        if not isinstance(models, DoublyRobustEffects):
            models = DoublyRobustEffects(cat, random_state=settings.seed).fit(frame)
    if progress:
        progress(1, steps)
    if need_acc and acceptance is None:
        acceptance = AcceptanceModels(cat, random_state=settings.seed).fit(frame)
    if progress:
        progress(2, steps)
    return Context(catalog=cat, models=models, acceptance=acceptance)


def components_for(
    frame: pd.DataFrame, settings: Settings, context: Context, *, progress: Progress | None = None
) -> Components:
    """Opportunity components of the customers of ``frame`` (see :mod:`core.opportunity`).

    Parameters
    ----------
    frame
        Canonical customer data (the block to estimate).
    settings
        The scenario (its estimator and seed are used).
    context
        The fitted models, the catalog and the scale (:func:`fit_context`).
    progress
        ``progress(done, total)``.

    Returns
    -------
    Components
        ``[n, 1 + P, P, 3]`` factor components of every (predecessor, product) pair.
    """
    return build_components(
        frame,
        context.catalog,
        settings.estimator,
        models=context.models,
        random_state=settings.seed,
        progress=progress,
        scale=context.scale,
    )


def propensity_for(frame: pd.DataFrame, context: Context) -> np.ndarray:
    """Acceptance propensity ``[n, P]`` in [0, 1] (the context must hold acceptance models)."""
    if context.acceptance is None:
        raise CJOError("the propensity needs fitted acceptance models (fit_context).")
    prop = np.asarray(context.acceptance.predict_proba(frame), dtype=np.float32)
    return np.clip(prop, 0.0, 1.0)
