"""The gradient-boosting challenger: BG/NBD's forecast corrected by recent activity and spend.

BG/NBD sees a customer only through ``(x, t_x, T)``. A customer whose purchase rate changed
(a new regular, or one drifting away) shows it in *when* the purchases fell. The challenger
multiplies BG/NBD's conditional expectation by a correction learnt with gradient boosting
(Poisson loss, weighted by the BG/NBD forecast, so it fits the ratio of actual to forecast
purchases) from: frequency, recency, T, weeks since the last purchase, purchases in the last
4, 8, 13 and 26 weeks, mean spend, BG/NBD's P(alive) and forecast, and the calendar week.

It learns inside the period it is given: with cut-off ``c`` it fits BG/NBD up to
``c - h`` and the correction on the purchases of ``(c - h, c]``; then it forecasts from ``c``.
So with a 39-week calibration and ``h = 13`` it trains on weeks 26-39, never on the holdout.
:func:`core.models.timing.compare.select_model` keeps it only when its deviance on a held-out
part of the calibration period is lower than the AIC-chosen model's by more than two standard
errors of the paired difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.errors import ModelError
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.models.timing.bgnbd import BetaGeoModel

WEEK = pd.Timedelta(days=7)
WINDOWS = (4, 8, 13, 26)


def activity_features(
    day: pd.DataFrame, rfm: pd.DataFrame, cutoff: pd.Timestamp, base: BetaGeoModel, h: float
) -> pd.DataFrame:
    """The challenger's features of the customers of ``rfm`` at ``cutoff``."""
    d = day.loc[(day["date"] <= cutoff) & day["id"].isin(rfm.index)]
    f = pd.DataFrame(index=rfm.index)
    f["frequency"] = rfm["frequency"]
    f["recency"] = rfm["recency"]
    f["T"] = rfm["T"]
    f["since_last"] = rfm["T"] - rfm["recency"]
    for w in WINDOWS:
        recent = d.loc[d["date"] > cutoff - w * WEEK].groupby("id").size()
        f[f"n_last_{w}w"] = recent.reindex(f.index, fill_value=0).astype(np.float64)
    f["spend"] = rfm["monetary"].fillna(0.0)
    f["p_alive"] = base.p_alive(rfm)
    f["forecast"] = base.expected(h, rfm)
    f["week_of_year"] = float(pd.Timestamp(cutoff).isocalendar().week)
    return f


@dataclass(kw_only=True, eq=False)
class BoostedChallenger:
    """BG/NBD x a boosted correction (see the module docstring).

    Parameters
    ----------
    train_weeks : float
        ``h``: the last weeks of the period whose purchases teach the correction.
    random_state : int, Generator or None
    """

    train_weeks: float = 13.0
    random_state: np.random.Generator | int | None = 0
    name = "gbm"

    def fit(self, day: pd.DataFrame, rfm_at: object, cutoff: pd.Timestamp) -> BoostedChallenger:
        """Learn the correction from the ``train_weeks`` before ``cutoff``.

        ``rfm_at(end, holdout_end)`` returns the RFM table of the cohort at ``end`` (with
        holdout columns up to ``holdout_end``).
        """
        from sklearn.ensemble import HistGradientBoostingRegressor

        start = cutoff - pd.Timedelta(days=int(round(self.train_weeks * 7)))
        rfm = rfm_at(start, cutoff)  # type: ignore[operator]
        if len(rfm) < 50 or float(rfm["T"].max()) < 2:
            raise ModelError("too little history before the training window for the challenger.")
        base = BetaGeoModel().fit(rfm)
        x = activity_features(day, rfm, start, base, self.train_weeks)
        y = rfm["holdout_frequency"].to_numpy(dtype=np.float64)
        forecast = np.maximum(x["forecast"].to_numpy(), 1e-6)
        seed = seed_of(self.random_state, high=SKLEARN_SEED_HIGH)
        self.model_ = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=200,
            learning_rate=0.05,
            max_depth=3,
            min_samples_leaf=40,
            random_state=seed,
        ).fit(x, y / forecast, sample_weight=forecast)
        return self

    def correction(
        self, day: pd.DataFrame, rfm: pd.DataFrame, cutoff: pd.Timestamp, base: BetaGeoModel
    ) -> np.ndarray:
        """The multiplier of ``base``'s forecast for the customers of ``rfm`` at ``cutoff``."""
        if not hasattr(self, "model_"):
            raise ModelError("BoostedChallenger is not fitted.")
        x = activity_features(day, rfm, cutoff, base, self.train_weeks)
        return np.clip(self.model_.predict(x), 0.05, 20.0)
