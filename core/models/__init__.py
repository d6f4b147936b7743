"""Key-factor and acceptance models: features, fitting, validation, training, reports, artifacts.

The family, one concept per module:

* :mod:`~core.models.features`: the allow-listed canonical columns and
  :class:`PortfolioFeatures`, the leakage-guarded model matrix with the portfolio as features;
* :mod:`~core.models.factory`: the estimators of each model choice and preset
  (:data:`CLTV_MODELS`, :data:`SATISFACTION_MODELS`, :data:`CHURN_MODELS`,
  :class:`OrdinalRegressor`, :class:`SegmentInteraction`);
* :mod:`~core.models.scoring`: scoring many portfolios at once on encoded matrices;
* :mod:`~core.models.key_factors`: :class:`KeyFactorModels` (churn, CLTV, satisfaction);
* :mod:`~core.models.acceptance`: :class:`AcceptanceModels` (offer-acceptance propensity);
* :mod:`~core.models.importance`: batched permutation importance;
* :mod:`~core.models.validation`: :func:`cross_validate_models` and
  :func:`satisfaction_label_evidence`;
* :mod:`~core.models.presets` (model presets), :mod:`~core.models.train` (cross-validated
  training, artifacts, model cards), :mod:`~core.models.report` (what the Models page shows) and
  :mod:`~core.models.persist` (trusted joblib artifacts).
"""

from core.models.acceptance import AcceptanceModels
from core.models.factory import (
    CHURN_MODELS,
    CLTV_MODELS,
    SATISFACTION_MODELS,
    OrdinalRegressor,
    SegmentInteraction,
)
from core.models.features import (
    ALLOWED_INPUTS,
    CUSTOMER_BINARY,
    CUSTOMER_CATEGORICAL,
    CUSTOMER_NUMERIC,
    HISTORY,
    MONTHLY_CHARGE,
    SATISFACTION,
    SERVICE_PREREQUISITE,
    USAGE,
    PortfolioFeatures,
)
from core.models.key_factors import KeyFactorModels
from core.models.validation import cross_validate_models, satisfaction_label_evidence

__all__ = [
    "ALLOWED_INPUTS",
    "CHURN_MODELS",
    "CLTV_MODELS",
    "CUSTOMER_BINARY",
    "CUSTOMER_CATEGORICAL",
    "CUSTOMER_NUMERIC",
    "HISTORY",
    "MONTHLY_CHARGE",
    "SATISFACTION",
    "SATISFACTION_MODELS",
    "SERVICE_PREREQUISITE",
    "USAGE",
    "AcceptanceModels",
    "KeyFactorModels",
    "OrdinalRegressor",
    "PortfolioFeatures",
    "SegmentInteraction",
    "cross_validate_models",
    "satisfaction_label_evidence",
]
