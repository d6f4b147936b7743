"""DR-learner (Kennedy 2023): regress doubly robust pseudo-outcomes, with cross-fitting.

The rows are split into ``n_folds`` folds (stratified by arm). For each fold, the outcome
models ``mu_k`` of every arm are fitted on the other folds and predict this fold, so no row is
scored by a model that saw it. Each row's pseudo-outcome for arm ``k`` against control is::

    phi_k = mu_k(x) - mu_0(x) + [arm = k] (y - mu_k(x)) / p - [arm = 0] (y - mu_0(x)) / p

with ``p`` the probability of the arm the row received (known in an experiment). Its mean
given ``x`` is the uplift when either the outcome models or the probabilities are right, and
the effect model fitted to ``phi_k`` on all rows is the uplift ``tau_k(x)``. The outcome
predictions (:meth:`DRLearner.predict_outcomes`) average the fold models.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from core.campaigns.uplift._base import BaseMetaLearner, fit_model, predict_model


class DRLearner(BaseMetaLearner):
    """DR-learner over several treatment arms (see the module docstring).

    Attributes
    ----------
    treatments_ : tuple of str
        The treatment arms, sorted; the columns of :meth:`predict`.
    fold_models_ : list of list
        Per fold, the outcome models of control and every arm.
    effects_ : list
        The effect model of every treatment arm.
    """

    def fit(self, x: Any, treatment: Any, y: Any, p: Any = None) -> DRLearner:
        """Cross-fit the outcome models, build the pseudo-outcomes, fit the effect models."""
        xa, codes, ya, pa = self._setup(x, treatment, y, p)
        n, k_all = len(xa), len(self.arms_)
        folds = StratifiedKFold(self.n_folds, shuffle=True, random_state=self.seed_)
        mu = np.zeros((n, k_all))
        self.fold_models_ = []
        for train, test in folds.split(xa, codes):
            models = []
            for k in range(k_all):
                m = train[codes[train] == k]
                model = fit_model(self._outcome_model(len(m)), xa[m], ya[m])
                mu[test, k] = predict_model(model, xa[test])
                models.append(model)
            self.fold_models_.append(models)
        c = codes == 0
        self.effects_ = []
        for k in range(1, k_all):
            t = codes == k
            phi = mu[:, k] - mu[:, 0]
            phi = phi + t * (ya - mu[:, k]) / pa - c * (ya - mu[:, 0]) / pa
            self.effects_.append(fit_model(self._effect_model(n), xa, phi))
        return self

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """Expected outcome under control and every arm (mean of the fold models)."""
        xa = self._check_x(x)
        preds = [
            np.column_stack([predict_model(m, xa) for m in models]) for models in self.fold_models_
        ]
        return np.mean(preds, axis=0)

    def predict(self, x: Any) -> np.ndarray:
        """Uplift of every treatment arm against control, ``[n, K]``."""
        xa = self._check_x(x)
        return np.column_stack([predict_model(m, xa) for m in self.effects_])
