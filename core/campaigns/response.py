"""What a campaign of product offers teaches the opportunity: acceptance and effects per customer.

When the arms of a campaign are catalog products (``offer``, ``tech_support``, ...) and the log
has an acceptance outcome, :func:`fit_offer_response` learns, on all rows, an uplift model per
outcome (:mod:`~core.campaigns.uplift`). The fitted :class:`OfferResponse` then predicts, for
any customer table with the same features:

* :meth:`OfferResponse.propensity`: ``P(accepts product j | offered)``, ``[n, K]``: the
  acceptance model of arm ``j`` (the control group cannot accept an offer it never got);
* :meth:`OfferResponse.uplift`: the effect of *offering* ``j`` on an outcome, ``[n, K]``
  (acceptance included: an intention-to-treat effect);
* :meth:`OfferResponse.effect_if_accepted`: the uplift divided by the acceptance probability
  (floored at ``min_propensity``), the effect of *taking* the product for customers who
  would: the per-customer Wald ratio, valid when the offer acts only through acceptance.

Unlike models fitted on who holds what today, these come from randomized offers, so they are
not confounded by who chose the products in the past (see docs/campaigns.md).
:mod:`core.opportunity.estimators.campaign` turns them into opportunity components.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.campaigns.features import FeatureEncoder
from core.campaigns.log import CampaignLog, read_log
from core.campaigns.uplift import DEFAULT_LEARNER, BaseMetaLearner, make_learner
from core.common.errors import OptionError
from core.common.rng import SKLEARN_SEED_HIGH, seed_of

#: Floor of the acceptance probability in :meth:`OfferResponse.effect_if_accepted`.
MIN_PROPENSITY = 0.05
#: The layout of a product campaign log (the one ``python -m core demo-data`` writes): column
#: roles and the control label. :func:`read_offer_log` reads any log in this layout.
OFFER_LOG: dict[str, str] = {
    "arm": "arm",
    "control": "control",
    "propensity": "propensity",
    "id": "Customer ID",
}
#: Outcomes of a product campaign log: ``accepted`` (required) and those of the others present.
OFFER_OUTCOMES: tuple[str, ...] = ("accepted", "revenue", "churned")


@dataclass(frozen=True, eq=False)
class OfferResponse:
    """Per-customer acceptance and effects of offering each product arm of a campaign.

    Attributes
    ----------
    products : tuple of str
        The treatment arms (product keys), the columns of every prediction.
    control : str
        The control label of the log.
    accept : str or None
        The acceptance outcome.
    kinds : dict
        Outcome -> ``"binary"`` / ``"amount"``.
    encoder : FeatureEncoder
        Feature encoding fitted on the log.
    models : dict
        Outcome -> fitted uplift model.
    """

    products: tuple[str, ...]
    control: str
    accept: str | None
    kinds: dict[str, str]
    encoder: FeatureEncoder
    models: dict[str, BaseMetaLearner]

    def _x(self, frame: pd.DataFrame) -> np.ndarray:
        return self.encoder.transform(frame)

    def _order(self, model: BaseMetaLearner) -> list[int]:
        return [model.arms_.index(p) for p in self.products]

    def uplift(self, frame: pd.DataFrame, outcome: str) -> np.ndarray:
        """Effect of offering each product on ``outcome``, ``[n, K]``."""
        model = self._model(outcome)
        return model.predict(self._x(frame))[:, [i - 1 for i in self._order(model)]]

    def propensity(self, frame: pd.DataFrame) -> np.ndarray:
        """``P(accepts | offered)`` of each product, ``[n, K]``, clipped to [0, 1]."""
        if self.accept is None:
            raise OptionError("this campaign has no acceptance outcome; name one (accept=...)")
        model = self._model(self.accept)
        mu = model.predict_outcomes(self._x(frame))[:, self._order(model)]
        return np.clip(mu, 0.0, 1.0)

    def effect_if_accepted(
        self, frame: pd.DataFrame, outcome: str, *, min_propensity: float = MIN_PROPENSITY
    ) -> np.ndarray:
        """Effect of taking each product on ``outcome``: uplift / max(propensity, floor)."""
        if not 0 < min_propensity <= 1:
            raise OptionError(f"min_propensity must be in (0, 1], got {min_propensity}")
        return self.uplift(frame, outcome) / np.maximum(self.propensity(frame), min_propensity)

    def _model(self, outcome: str) -> BaseMetaLearner:
        if outcome not in self.models:
            raise OptionError(f"unknown outcome {outcome!r}; learnt: {list(self.models)}")
        return self.models[outcome]


def fit_offer_response(
    log: CampaignLog,
    *,
    accept: str | None = "accepted",
    outcomes: Sequence[str] | None = None,
    learner: str = DEFAULT_LEARNER,
    seed: Any = 0,
    learner_params: dict[str, Any] | None = None,
) -> OfferResponse:
    """Learn acceptance and effects of every product arm from all rows of ``log``.

    Parameters
    ----------
    log : CampaignLog
        A campaign whose treatment arms are product keys.
    accept : str or None, default "accepted"
        The binary acceptance outcome (None: the log has none).
    outcomes : sequence of str, optional
        Outcomes to learn (default: all of the log's).
    learner : str
        Uplift learner.
    seed : int, Generator or None
        Seed of the models.
    learner_params : dict, optional
        Extra learner parameters.

    Returns
    -------
    OfferResponse
    """
    outs = list(outcomes) if outcomes is not None else list(log.outcome_names)
    if accept is not None:
        if accept not in log.outcomes:
            raise OptionError(
                f"acceptance outcome {accept!r} is not in the log ({list(log.outcomes)}); "
                "name it, or pass accept=None"
            )
        if log.kinds[accept] != "binary":
            raise OptionError(f"the acceptance outcome {accept!r} must be 0/1")
        if accept not in outs:
            outs.append(accept)
    s = seed_of(seed, high=SKLEARN_SEED_HIGH)
    encoder = FeatureEncoder().fit(log.features)
    x = encoder.transform(log.features)
    labels = log.labels().astype(str)
    models = {}
    for o in outs:
        model = make_learner(
            learner, control_name=log.control, random_state=s, **(learner_params or {})
        )
        models[o] = model.fit(x, labels, log.y(o), log.propensity)
    return OfferResponse(
        products=tuple(log.arms[1:]),
        control=log.control,
        accept=accept,
        kinds={o: log.kinds[o] for o in outs},
        encoder=encoder,
        models=models,
    )


def read_offer_log(
    source: str | Path | bytes | pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    name: str | None = None,
    limits: Any = None,
) -> CampaignLog:
    """Read a product campaign log in the :data:`OFFER_LOG` layout and validate it.

    The arms are product keys and ``control``; the outcomes are ``accepted`` (required) and
    whichever of ``revenue`` and ``churned`` the log has; ``propensity`` and ``Customer ID``
    are used when present. The customer features come from ``customers`` (joined by id) when
    given, else from the log's own other columns.

    Parameters
    ----------
    source : path, bytes or DataFrame
        The log (CSV or Parquet).
    customers : pandas.DataFrame, optional
        The customer table whose columns are joined by id.
    name : str, optional
        Name used in messages.
    limits : core.data.io.Limits, optional
        Size caps checked before parsing.

    Returns
    -------
    CampaignLog

    Raises
    ------
    DataValidationError
        Unreadable file, a missing ``arm`` or ``accepted`` column, and every problem
        :func:`~core.campaigns.log.validate_log` finds.
    """
    from core.data.io import read_table

    if isinstance(source, pd.DataFrame):
        frame, label = source, name or "campaign log"
    else:
        frame, info = read_table(source, name=name, limits=limits)
        label = str(info["name"])
    columns = set(frame.columns)
    outcomes = [OFFER_OUTCOMES[0]] + [o for o in OFFER_OUTCOMES[1:] if o in columns]
    id_col = OFFER_LOG["id"] if OFFER_LOG["id"] in columns else None
    return read_log(
        frame,
        arm=OFFER_LOG["arm"],
        control=OFFER_LOG["control"],
        outcomes=outcomes,
        propensity=OFFER_LOG["propensity"] if OFFER_LOG["propensity"] in columns else None,
        id=id_col,
        customers=customers if id_col is not None else None,
        name=label,
    )
