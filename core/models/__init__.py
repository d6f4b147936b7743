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

Importing this package is cheap: the names below load their module (and scikit-learn) on first
use, so ``core.models.presets`` and the scenario settings validate without scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_EXPORTS: dict[str, str] = {
    "ALLOWED_INPUTS": "core.models.features",
    "AcceptanceModels": "core.models.acceptance",
    "CHURN_MODELS": "core.models.factory",
    "CLTV_MODELS": "core.models.factory",
    "CUSTOMER_BINARY": "core.models.features",
    "CUSTOMER_CATEGORICAL": "core.models.features",
    "CUSTOMER_NUMERIC": "core.models.features",
    "HISTORY": "core.models.features",
    "KeyFactorModels": "core.models.key_factors",
    "MONTHLY_CHARGE": "core.models.features",
    "OrdinalRegressor": "core.models.factory",
    "PortfolioFeatures": "core.models.features",
    "SATISFACTION": "core.models.features",
    "SATISFACTION_MODELS": "core.models.factory",
    "SERVICE_PREREQUISITE": "core.models.features",
    "SegmentInteraction": "core.models.factory",
    "USAGE": "core.models.features",
    "cross_validate_models": "core.models.validation",
    "satisfaction_label_evidence": "core.models.validation",
}

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


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
