"""What is fitted once per population and reused for every block of customers.

:func:`fit_context` trains (or receives) the key-factor models of the ``counterfactual``
estimator (the effect models of ``dr``, the campaign's offer responses of ``campaign``:
:func:`campaign_response`) and, when the propensity is used, the acceptance models; the
resulting
:class:`Context` also carries the normalisation scales and is small enough to ship to workers.
:func:`components_for` estimates the opportunity components of a block of customers with it
(the expensive step; the dashboard caches it) and :func:`propensity_for` their acceptance
propensity.
"""

from __future__ import annotations

import sys
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
        :class:`core.opportunity.estimators.doubly_robust.DoublyRobustEffects` (``dr``), the
        fitted :class:`core.campaigns.OfferResponse` (``campaign``), else None.
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
    campaign: Any = None,
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
    campaign
        ``campaign`` estimator only: the campaign log already read (a
        :class:`core.campaigns.CampaignLog`, e.g. validated by a dashboard) or its fitted
        :class:`core.campaigns.OfferResponse`; default: ``settings.campaign`` is read and fitted
        here (:func:`campaign_response`).
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
    elif settings.estimator == "campaign":
        models = campaign_response(
            frame, settings, campaign=campaign if campaign is not None else models
        )
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
    options: dict[str, Any] = {}
    models = context.models
    if settings.estimator == "campaign":
        options["campaign"], models = _response_of(context), None
        if options["campaign"] is None:
            raise CJOError(
                "the campaign estimator needs the campaign's fitted responses in the context: "
                "build it with fit_context (which reads settings.campaign)."
            )
    return build_components(
        frame,
        context.catalog,
        settings.estimator,
        models=models,
        random_state=settings.seed,
        progress=progress,
        scale=context.scale,
        **options,
    )


def propensity_for(frame: pd.DataFrame, context: Context) -> np.ndarray:
    """Acceptance propensity ``[n, P]`` in [0, 1].

    With the ``campaign`` estimator the products that were arms of the campaign take the
    acceptance the campaign measured (randomized, so unconfounded); the others take the
    acceptance models' (or 1 without them). Otherwise the context must hold acceptance models.
    """
    response = _response_of(context)
    if context.acceptance is None and response is None:
        raise CJOError("the propensity needs fitted acceptance models (fit_context).")
    if context.acceptance is not None:
        prop = np.asarray(context.acceptance.predict_proba(frame), dtype=np.float64)
    else:
        prop = np.ones((len(frame), context.catalog.n_products))
    if response is not None:
        from core.opportunity.estimators.campaign import campaign_propensity

        tried = campaign_propensity(frame, context.catalog, response, fill=np.nan)
        prop = np.where(np.isnan(tried), prop, tried)
    return np.clip(prop, 0.0, 1.0).astype(np.float32)


def _response_of(context: Context) -> Any:
    """The context's fitted campaign responses, or None (loads core.campaigns only if used)."""
    if context.models is None or "core.campaigns" not in sys.modules:
        return None
    from core.campaigns import OfferResponse

    return context.models if isinstance(context.models, OfferResponse) else None


def campaign_response(frame: pd.DataFrame, settings: Settings, *, campaign: Any = None) -> Any:
    """The ``campaign`` estimator's fitted :class:`core.campaigns.OfferResponse`.

    Parameters
    ----------
    frame
        Canonical customer data: the customers the models are fitted on; the log's customer
        features are joined from it by id (the log need not repeat them).
    settings
        The scenario: ``settings.campaign`` names the log (CSV or Parquet in the layout
        :func:`core.campaigns.read_offer_log` reads); ``settings.seed`` seeds the models.
    campaign
        The log already read (:class:`core.campaigns.CampaignLog`) or its fitted responses
        (returned as they are); default: ``settings.campaign`` is read.

    Returns
    -------
    core.campaigns.OfferResponse

    Raises
    ------
    CJOError
        No log named, a malformed log (``DataValidationError`` with the failures table), or
        log customers missing from ``frame``.
    """
    from core.campaigns import (
        OFFER_LOG,
        CampaignLog,
        OfferResponse,
        fit_offer_response,
        read_offer_log,
    )
    from core.data import schema
    from core.data.io import read_table

    if isinstance(campaign, OfferResponse):
        return campaign
    if isinstance(campaign, CampaignLog):
        return fit_offer_response(campaign, seed=settings.seed)
    if not settings.campaign:
        raise CJOError(
            "the campaign estimator learns from a campaign log: set Settings.campaign "
            "(--campaign LOG), e.g. data/demo/customers.campaigns.parquet."
        )
    raw, info = read_table(settings.campaign)
    key = OFFER_LOG["id"]
    if key in raw.columns and schema.ID in frame.columns:
        have = set(frame[schema.ID].astype(str).str.strip())
        lacking = ~raw[key].astype(str).str.strip().isin(have)
        if lacking.any():
            raise CJOError(
                f"{info['name']}: {int(lacking.sum()):,} of its {len(raw):,} rows are customers "
                f"that are not among the {len(frame):,} customers the models are fitted on. "
                "Fix: use the log of this population; with the batch engine, give --train-rows "
                "at least the number of customers so that the reference holds all of them."
            )
    log = read_offer_log(raw, frame, name=str(info["name"]))
    return fit_offer_response(log, seed=settings.seed)
