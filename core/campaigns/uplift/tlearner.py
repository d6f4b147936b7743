"""T-learner: one outcome model per arm; the uplift is the difference of their predictions.

``mu_k(x) = E[y | x, arm k]`` is fitted on the rows of arm ``k`` (the control group included)
and ``tau_k(x) = mu_k(x) - mu_0(x)``. Each model sees only its own arm's rows, so nothing is
predicted on the rows it was trained on and no cross-fitting is needed. Simple and strong when
the arms have many rows; with few rows the difference of two noisy models is noisy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.campaigns.uplift._base import BaseMetaLearner, fit_model, predict_model


class TLearner(BaseMetaLearner):
    """T-learner over several treatment arms (see the module docstring).

    Parameters are those of :class:`~core.campaigns.uplift._base.BaseMetaLearner`
    (``n_folds`` and ``effect_learner`` are unused).

    Attributes
    ----------
    treatments_ : tuple of str
        The treatment arms, sorted; the columns of :meth:`predict`.
    models_ : list
        The fitted outcome model of control and of every arm, in :attr:`arms_` order.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(400, 1))
    >>> t = np.where(rng.random(400) < 0.5, "c", "a")
    >>> y = x[:, 0] + (t == "a") * 2.0
    >>> from sklearn.linear_model import LinearRegression
    >>> m = TLearner(control_name="c", learner=LinearRegression()).fit(x, t, y)
    >>> m.treatments_, np.round(m.predict(x[:2]), 6).tolist()
    (('a',), [[2.0], [2.0]])
    """

    def fit(self, x: Any, treatment: Any, y: Any, p: Any = None) -> TLearner:
        """Fit one outcome model per arm on that arm's rows."""
        xa, codes, ya, _ = self._setup(x, treatment, y, p)
        self.models_ = []
        for k in range(len(self.arms_)):
            m = codes == k
            self.models_.append(fit_model(self._outcome_model(int(m.sum())), xa[m], ya[m]))
        return self

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """Expected outcome under control and every arm, ``[n, 1 + K]``."""
        xa = self._check_x(x)
        return np.column_stack([predict_model(m, xa) for m in self.models_])

    def predict(self, x: Any) -> np.ndarray:
        """Uplift of every treatment arm against control, ``[n, K]``."""
        mu = self.predict_outcomes(x)
        return mu[:, 1:] - mu[:, :1]
