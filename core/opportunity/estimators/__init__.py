"""Opportunity estimators: customer data -> raw per-offer factor effects.

Each estimator is a function ``estimate(frame, catalog, held, *, models, random_state, progress,
**options) -> EstimatorResult`` with ``raw`` float ``[n, 1 + P, P, 3]`` (row 0 = first offer
from the current portfolio, row ``1 + i`` = offered right after product ``i``; factors
``cltv, churn, satisfaction``; positive = good). :func:`core.opportunity.build_components`
normalises the result and applies the eligibility mask.

``peer-bayes``      the original study's rank/Bayes method, in O(N log N) (:mod:`.peer_bayes`)
``counterfactual``  S-learner over the key-factor models (:mod:`.counterfactual`)
``neighbours``      k-nearest-neighbour collaborative filtering (:mod:`.neighbours`)
``dr``              doubly robust (AIPW) effects with standard errors (:mod:`.doubly_robust`)
``campaign``        what a randomized campaign taught (needs ``campaign=``; :mod:`.campaign`)
"""

from __future__ import annotations

from collections.abc import Callable

from core.opportunity.estimators._common import EstimatorResult
from core.opportunity.estimators.campaign import estimate as _campaign
from core.opportunity.estimators.counterfactual import estimate as _counterfactual
from core.opportunity.estimators.doubly_robust import estimate as _doubly_robust
from core.opportunity.estimators.neighbours import estimate as _neighbours
from core.opportunity.estimators.peer_bayes import estimate as _peer_bayes
from core.opportunity.estimators.peer_bayes import peer_bayes_bruteforce, peer_bayes_probabilities

REGISTRY: dict[str, Callable[..., EstimatorResult]] = {
    "peer-bayes": _peer_bayes,
    "counterfactual": _counterfactual,
    "neighbours": _neighbours,
    "dr": _doubly_robust,
    "campaign": _campaign,
}

__all__ = [
    "REGISTRY",
    "EstimatorResult",
    "peer_bayes_bruteforce",
    "peer_bayes_probabilities",
]
