"""X-learner (Kunzel et al. 2019): impute each row's effect, then model the imputed effects.

Stage 1 fits the outcome model ``mu_k`` of every arm on its own rows (as the T-learner). Stage 2,
for each treatment arm ``k``: the rows of ``k`` get the imputed effect ``y - mu_0(x)`` and the
control rows ``mu_k(x) - y``; an effect model is fitted on each set (``tau_k1``, ``tau_k0``)
and the uplift is ``g_k tau_k0(x) + (1 - g_k) tau_k1(x)`` with ``g_k = e_k / (e_k + e_0)``,
``e`` the arms' assignment probabilities. Every imputation uses a model fitted on *other*
rows (the control model on treated rows and the reverse), which is the cross-fitting this
learner needs. Strong when one arm is much smaller than the control group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.campaigns.uplift._base import BaseMetaLearner, fit_model, predict_model


class XLearner(BaseMetaLearner):
    """X-learner over several treatment arms (see the module docstring).

    Attributes
    ----------
    treatments_ : tuple of str
        The treatment arms, sorted; the columns of :meth:`predict`.
    models_ : list
        Stage-1 outcome models, control first.
    effects_ : list of (tau_1, tau_0)
        Stage-2 effect models of every treatment arm.
    """

    def fit(self, x: Any, treatment: Any, y: Any, p: Any = None) -> XLearner:
        """Fit the outcome models, impute the effects and fit the effect models."""
        xa, codes, ya, _ = self._setup(x, treatment, y, p)
        self.models_ = []
        for k in range(len(self.arms_)):
            m = codes == k
            self.models_.append(fit_model(self._outcome_model(int(m.sum())), xa[m], ya[m]))
        c = codes == 0
        self.effects_ = []
        for k in range(1, len(self.arms_)):
            m = codes == k
            d1 = ya[m] - predict_model(self.models_[0], xa[m])
            d0 = predict_model(self.models_[k], xa[c]) - ya[c]
            tau1 = fit_model(self._effect_model(int(m.sum())), xa[m], d1)
            tau0 = fit_model(self._effect_model(int(c.sum())), xa[c], d0)
            self.effects_.append((tau1, tau0))
        return self

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """Stage-1 expected outcome under control and every arm, ``[n, 1 + K]``."""
        xa = self._check_x(x)
        return np.column_stack([predict_model(m, xa) for m in self.models_])

    def predict(self, x: Any) -> np.ndarray:
        """Uplift of every treatment arm against control, ``[n, K]``."""
        xa = self._check_x(x)
        e0 = self.arm_share_[0]
        out = np.empty((len(xa), len(self.treatments_)))
        for j, (tau1, tau0) in enumerate(self.effects_):
            ek = self.arm_share_[j + 1]
            g = ek / (ek + e0)
            out[:, j] = g * predict_model(tau0, xa) + (1.0 - g) * predict_model(tau1, xa)
        return out
