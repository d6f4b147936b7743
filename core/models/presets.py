"""Model presets of the key-factor models (no scikit-learn import: the CLI and Settings use it).

``accurate`` is the dashboard's; ``fast`` evaluates ~7x fewer trees per prediction for batch
scoring of millions of customers (``docs/models.md``). :class:`core.models.KeyFactorModels`
applies them.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Preset:
    """Defaults of a model preset (see :class:`core.models.KeyFactorModels` ``preset``).

    ``rounds`` and ``learning_rate`` are those of every histogram gradient boosting model;
    ``native_categorical`` lets them split on category sets (otherwise on the ordinal codes);
    ``churn_model`` and ``satisfaction_model`` are the defaults of those parameters.
    ``churn_model_generic`` is the churn default for data without the telecom ``Contract``
    column (other businesses' files): the blend's logistic half is built around the
    month-to-month contract, and on such data exact-split gradient boosting ranks churners
    better (``benchmarks/churn_export.py``).
    """

    rounds: int
    learning_rate: float
    native_categorical: bool
    churn_model: str
    satisfaction_model: str
    churn_model_generic: str = "gb"


PRESETS: dict[str, Preset] = {
    # the dashboard's models: the best metrics (churn ROC AUC 0.91+ on IBM)
    "accurate": Preset(200, 0.05, True, "blend", "ordinal", "gb"),
    # batch scoring of millions: ~7x fewer trees per prediction (3 x 60 instead of 1,200)
    "fast": Preset(60, 0.15, False, "hgb", "regression", "hgb"),
}

#: Names of the presets, for option choices.
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)
