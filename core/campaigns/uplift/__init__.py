"""Multi-arm uplift models: the effect of every arm against control, per customer.

causalml-style meta-learners sharing one interface: ``fit(X, treatment, y, p=None)`` with the
control label a parameter (``control_name``) and any number of treatment arms, ``predict(X)``
-> uplift ``[n, K]`` per treatment arm (``treatments_`` order), ``predict_outcomes(X)`` ->
expected outcome ``[n, 1 + K]`` under control and every arm.

``t``   :class:`TLearner`, one outcome model per arm (:mod:`.tlearner`)
``x``   :class:`XLearner`, imputed effects modelled per arm (:mod:`.xlearner`)
``dr``  :class:`DRLearner`, doubly robust pseudo-outcomes with cross-fitting (:mod:`.drlearner`)

:data:`DEFAULT_LEARNER` was chosen by the true value of the targeting it learns on synthetic
campaigns (``benchmarks/campaigns.py``; docs/campaigns.md has the figures).
"""

from __future__ import annotations

from typing import Any

from core.campaigns.uplift._base import BaseMetaLearner, default_model
from core.campaigns.uplift.drlearner import DRLearner
from core.campaigns.uplift.tlearner import TLearner
from core.campaigns.uplift.xlearner import XLearner
from core.common.errors import OptionError

LEARNERS: dict[str, type[BaseMetaLearner]] = {"t": TLearner, "x": XLearner, "dr": DRLearner}
DEFAULT_LEARNER = "x"


def make_learner(name: str = DEFAULT_LEARNER, **params: Any) -> BaseMetaLearner:
    """A learner by name (``t``, ``x`` or ``dr``) with its parameters."""
    cls = LEARNERS.get(name)
    if cls is None:
        raise OptionError(f"unknown uplift learner {name!r}; choose one of {list(LEARNERS)}")
    return cls(**params)


__all__ = [
    "DEFAULT_LEARNER",
    "LEARNERS",
    "BaseMetaLearner",
    "DRLearner",
    "TLearner",
    "XLearner",
    "default_model",
    "make_learner",
]
