"""Key-factor and acceptance models: features, fitting, cross-validation, training, reports, persistence."""

from core.models.key_factors import (  # noqa: F401
    ALLOWED_INPUTS,
    CHURN_MODELS,
    CLTV_MODELS,
    CUSTOMER_BINARY,
    CUSTOMER_CATEGORICAL,
    CUSTOMER_NUMERIC,
    HISTORY,
    MONTHLY_CHARGE,
    SATISFACTION,
    SATISFACTION_MODELS,
    SERVICE_PREREQUISITE,
    USAGE,
    AcceptanceModels,
    KeyFactorModels,
    OrdinalRegressor,
    PortfolioFeatures,
    SegmentInteraction,
    cross_validate_models,
    satisfaction_label_evidence,
)
