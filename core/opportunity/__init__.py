"""Opportunity components of every offer, the estimators that produce them and the ground-truth checks."""

from core.opportunity.components import (  # noqa: F401
    ESTIMATORS,
    SCALE_QUANTILE,
    Components,
    build_components,
    combine,
    customer_ids,
    eligibility,
    normalise,
    offerable_now,
    parse_levers,
    parse_weights,
    robust_scale,
)
