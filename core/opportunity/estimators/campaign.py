"""Campaign estimator ("campaign"): components learnt from randomized offers, not from holdings.

The other estimators infer an offer's effect from who holds what today, which is confounded.
This one reads what a randomized campaign taught (:mod:`core.campaigns.response`): for every
customer and every catalog product that was an arm of the campaign,

* the acceptance probability ``p[c, j] = P(accepts j | offered)``;
* the effect of the offer on each campaign outcome mapped to a key factor (by default
  ``revenue`` -> ``cltv`` and ``churned`` -> ``churn``), divided by ``max(p, min_propensity)``:
  the effect *if the offer is taken*, which is what a component means (:func:`combine` with
  ``propensity=p`` multiplies it back into the expected effect of making the offer).

Signs: an outcome mapped to ``churn`` counts churn (higher is worse) and enters negated, so
components stay "positive = good"; ``cltv`` and ``satisfaction`` outcomes enter as they are.
Units are the campaign's (e.g. revenue over its horizon, not lifetime value); ``units`` says so.

What it cannot know, it leaves at zero and says in ``notes``: products that were not arms of the
campaign, factors without a mapped outcome, and the order of offers (a single-offer campaign
only measures first offers, so every predecessor row repeats the first-step effect).
``info["propensity"]`` holds ``p`` (``[n, P]``, 0 where unknown) for the journeys' expected
value; :func:`campaign_propensity` gives it with a chosen fill.

Usage: ``build_components(frame, catalog, "campaign", campaign=fit_offer_response(log))`` (or
``campaign=log``, fitted here with ``random_state``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress
from core.data.catalog import Catalog
from core.data.schema import FACTORS
from core.opportunity.estimators._common import EstimatorResult

if TYPE_CHECKING:  # core.campaigns (and scikit-learn) load when a campaign is used
    from core.campaigns import OfferResponse

#: Default campaign outcome of each key factor.
FACTOR_OUTCOMES: dict[str, str] = {"cltv": "revenue", "churn": "churned"}
_SIGN = {"cltv": 1.0, "churn": -1.0, "satisfaction": 1.0}


def _response(campaign: Any, random_state: Any) -> OfferResponse:
    from core.campaigns import CampaignLog, OfferResponse, fit_offer_response

    if isinstance(campaign, OfferResponse):
        return campaign
    if isinstance(campaign, CampaignLog):
        return fit_offer_response(campaign, seed=random_state)
    raise CJOError(
        "the campaign estimator learns from a randomized campaign: pass campaign= a "
        "CampaignLog (core.campaigns.read_log) or an OfferResponse "
        "(core.campaigns.fit_offer_response). Fix: load a campaign log first, e.g. the demo's "
        "<stem>.campaigns.parquet, or choose another estimator."
    )


def campaign_propensity(
    frame: pd.DataFrame, catalog: Catalog, response: OfferResponse, *, fill: float = 1.0
) -> np.ndarray:
    """``P(accepts j | offered)`` ``[n, P]`` in catalog order; ``fill`` for products not tried.

    ``fill = 1`` leaves those products' opportunity unchanged in :func:`combine`.
    """
    out = np.full((len(frame), catalog.n_products), float(fill))
    covered = [j for j, k in enumerate(catalog.keys) if k in response.products]
    if covered:
        p = response.propensity(frame)
        cols = [response.products.index(catalog.keys[j]) for j in covered]
        out[:, covered] = p[:, cols]
    return out


def estimate(
    frame: pd.DataFrame,
    catalog: Catalog,
    held: np.ndarray,
    *,
    models: Any = None,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    campaign: Any = None,
    factors: Mapping[str, str] | None = None,
    min_propensity: float | None = None,
) -> EstimatorResult:
    """Raw components from a campaign (see the module docstring).

    Parameters
    ----------
    frame, catalog, held
        Customers, catalog and holdings (as every estimator).
    models
        Unused (the campaign brings its own models).
    random_state
        Seed of the models when ``campaign`` is a log.
    progress
        ``progress(done, total)``.
    campaign : CampaignLog or OfferResponse
        The campaign to learn from (its treatment arms are product keys).
    factors : mapping, optional
        Key factor -> campaign outcome (default :data:`FACTOR_OUTCOMES`, for the outcomes the
        campaign has).
    min_propensity : float, optional
        Floor of the acceptance probability the effects are divided by (default
        :data:`core.campaigns.response.MIN_PROPENSITY`).

    Returns
    -------
    EstimatorResult
    """
    response = _response(campaign, random_state)
    if min_propensity is None:
        from core.campaigns.response import MIN_PROPENSITY

        min_propensity = MIN_PROPENSITY
    if progress is not None:
        progress(0, 2)
    unknown = sorted(set(factors or {}) - set(FACTORS))
    if unknown:
        raise CJOError(f"factors names unknown key factor(s) {unknown}; use {list(FACTORS)}.")
    mapping = (
        dict(factors)
        if factors is not None
        else {f: o for f, o in FACTOR_OUTCOMES.items() if o in response.models}
    )
    missing = sorted(o for o in mapping.values() if o not in response.models)
    if missing:
        raise CJOError(
            f"the campaign has no outcome(s) {missing}; it has {sorted(response.models)}."
        )
    n, p_count = len(frame), catalog.n_products
    raw = np.zeros((n, 1 + p_count, p_count, len(FACTORS)))
    covered = [j for j, k in enumerate(catalog.keys) if k in response.products]
    cols = [response.products.index(catalog.keys[j]) for j in covered]
    notes: list[str] = []
    prop = np.zeros((n, p_count))
    if covered and response.accept is not None:
        prop[:, covered] = response.propensity(frame)[:, cols]
    for k, factor in enumerate(FACTORS):
        outcome = mapping.get(factor)
        if outcome is None:
            notes.append(f"{factor}: no campaign outcome measures it; its components are 0.")
            continue
        if not covered:
            continue
        if response.accept is not None:
            eff = response.effect_if_accepted(frame, outcome, min_propensity=min_propensity)
        else:
            eff = response.uplift(frame, outcome)
            notes.append(f"{factor}: no acceptance outcome; components are effects of the offer.")
        raw[:, :, covered, k] = (_SIGN[factor] * eff[:, cols])[:, None, :]
    if progress is not None:
        progress(1, 2)
    untried = [k for k in catalog.keys if k not in response.products]
    if untried:
        notes.append(
            f"products {untried} were not offered in the campaign; their components are 0."
        )
    notes.append("a single-offer campaign measures first offers only; later steps repeat them.")
    units = {
        f: f"{mapping[f]} per accepted offer (campaign outcome)" if f in mapping else "unavailable"
        for f in FACTORS
    }
    if progress is not None:
        progress(2, 2)
    return EstimatorResult(
        raw=raw,
        units=units,
        notes=tuple(notes),
        info={"propensity": prop, "covered": tuple(catalog.keys[j] for j in covered)},
    )
