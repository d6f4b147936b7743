"""Opportunity: what offering each product is worth to each customer, and how sure we are.

* :mod:`~core.opportunity.components`: :class:`Components` ``[n, 1 + P, P, 3]`` (and their
  standard errors), normalisation, eligibility, :func:`combine` (weights, levers, propensity,
  risk) -> the opportunity ``O_w``; :func:`build_components` runs an estimator.
* :mod:`~core.opportunity.estimators`: ``peer-bayes`` (the study), ``counterfactual``
  (S-learner), ``neighbours`` (collaborative filtering), ``dr`` (doubly robust, with standard
  errors), ``campaign`` (what a randomized campaign taught).
* :mod:`~core.opportunity.acceptance`: :func:`prerequisite_propensity`, acceptance in
  expectation where a refused base service blocks its add-ons.
* :mod:`~core.opportunity.groundtruth`: the estimates against the synthetic truth.
* :mod:`~core.opportunity.truevalue`: the true value of a journey and the truth-optimal journey.
"""

from core.opportunity.acceptance import prerequisite_propensity
from core.opportunity.components import (
    DATA_ESTIMATORS,
    ESTIMATORS,
    NOT_CREDIBLE,
    SCALE_QUANTILE,
    Components,
    build_components,
    check_confounding,
    combine,
    customer_ids,
    eligibility,
    normalise,
    offerable_now,
    parse_levers,
    parse_weights,
    risk_z,
    robust_scale,
    shifted,
    spread,
)

__all__ = [
    "DATA_ESTIMATORS",
    "ESTIMATORS",
    "NOT_CREDIBLE",
    "SCALE_QUANTILE",
    "Components",
    "build_components",
    "check_confounding",
    "combine",
    "customer_ids",
    "eligibility",
    "normalise",
    "offerable_now",
    "parse_levers",
    "parse_weights",
    "prerequisite_propensity",
    "risk_z",
    "robust_scale",
    "shifted",
    "spread",
]
