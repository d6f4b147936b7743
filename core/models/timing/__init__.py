"""Purchase timing: "buy till you die" models, spend, implied lifetime value and when to call.

From a purchase history (customer id, date, amount) these models tell how many purchases each
customer will make, whether they are still active, what they will spend and what that is worth:

* :mod:`~core.models.timing.rfm`: :func:`rfm_summary`, the calibration summary (frequency,
  recency, T, spend) and the holdout counts;
* :mod:`~core.models.timing.bgnbd`: :class:`BetaGeoModel` (BG/NBD, Fader, Hardie & Lee 2005);
* :mod:`~core.models.timing.paretonbd`: :class:`ParetoNBDModel` (Schmittlein et al. 1987);
* :mod:`~core.models.timing.gammagamma`: :class:`GammaGammaModel` (spend per purchase);
* :mod:`~core.models.timing.seasonal`: :class:`SeasonalBetaGeoModel`, BG/NBD on a yearly
  seasonal clock (a challenger);
* :mod:`~core.models.timing.challenger`: :class:`BoostedChallenger`, BG/NBD corrected by
  gradient boosting on recent activity (a challenger);
* :mod:`~core.models.timing.clv`: :func:`implied_clv`, :func:`next_purchase_weeks`,
  :func:`alive_until_weeks`;
* :mod:`~core.models.timing.compare`: :func:`fit_timing` (:func:`select_model`: AIC of the
  likelihood models on the calibration period, a challenger only when significantly better on a
  held-out part of it; holdout comparison, conditional expectations; :class:`TimingResult`);
* :mod:`~core.models.timing.contact`: :func:`contact_schedule`, suggested contact dates for
  journey steps; :func:`contact_windows`, the windows the planner's calendar takes
  (``build_problem(windows=)``); :func:`read_contact_plan`, such dates read from a file.

Our own scipy likelihoods, not a library: pymc-marketing adds ~450 MB and 46 packages with a
24 s first fit (measured here), lifetimes has had no release since 2020 and part of it fails
with pandas 3 (docs/timing.md). The tests recover the published CDNOW parameters from logs
drawn with them.
"""

from core.models.timing._base import Fit
from core.models.timing.bgnbd import BetaGeoModel
from core.models.timing.challenger import BoostedChallenger
from core.models.timing.clv import alive_until_weeks, implied_clv, next_purchase_weeks
from core.models.timing.compare import (
    INCUMBENTS,
    LIKELIHOOD,
    MODELS,
    PUBLISHED,
    SELECTION_RULES,
    TimingResult,
    conditional_table,
    deviance,
    fit_timing,
    metrics,
    select_model,
)
from core.models.timing.contact import (
    WINDOW_COLUMNS,
    ContactPlan,
    contact_schedule,
    contact_windows,
    read_contact_plan,
)
from core.models.timing.gammagamma import GammaGammaModel
from core.models.timing.paretonbd import ParetoNBDModel
from core.models.timing.rfm import daily, rfm_summary
from core.models.timing.seasonal import Histories, SeasonalBetaGeoModel

__all__ = [
    "INCUMBENTS",
    "LIKELIHOOD",
    "MODELS",
    "PUBLISHED",
    "SELECTION_RULES",
    "WINDOW_COLUMNS",
    "BetaGeoModel",
    "BoostedChallenger",
    "ContactPlan",
    "Fit",
    "GammaGammaModel",
    "Histories",
    "ParetoNBDModel",
    "SeasonalBetaGeoModel",
    "TimingResult",
    "alive_until_weeks",
    "conditional_table",
    "contact_schedule",
    "contact_windows",
    "daily",
    "deviance",
    "fit_timing",
    "implied_clv",
    "metrics",
    "next_purchase_weeks",
    "read_contact_plan",
    "rfm_summary",
    "select_model",
]
