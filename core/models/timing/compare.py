"""Fit every purchase-timing model, keep a challenger only if it predicts better, and report.

:func:`fit_timing` is what ``python -m core timing`` runs:

1. **Validation on a held-out part of the calibration period.** The calibration period is cut
   ``validation_weeks`` before its end; every model is fitted on the earlier part and predicts
   the purchases of the last ``validation_weeks`` (mean Poisson deviance per customer).
2. **Selection** (:func:`select_model`): BG/NBD, Pareto/NBD and BG/NBD on a seasonal clock are
   likelihoods of the same purchase times, so the one of lowest AIC on the *whole* calibration
   period is kept; the boosted correction (no likelihood) replaces it only when its validation
   deviance is lower by more than two standard errors of the paired difference. The holdout
   period is never used to choose. (``selection_rule="validation"``: the former rule, the
   lowest validation deviance.)
3. **Fit on the whole calibration period**, score every customer (P(alive), expected purchases
   over the horizon, Gamma-Gamma spend, implied CLV, the next purchase and the date P(alive)
   falls below a threshold).
4. With a holdout end, the **holdout comparison** of every model (predicted and actual totals,
   error, MAE, RMSE, per-customer correlation) and the **conditional expectation by calibration
   frequency** (mean holdout purchases of the customers with 0, 1, ... 7+ repeat purchases,
   actual and predicted), the table Fader, Hardie & Lee use to judge the models.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError, OptionError
from core.common.progress import Progress, ticker
from core.data.purchases import PurchaseLog, check_period
from core.models.timing import bgnbd, gammagamma, paretonbd
from core.models.timing.bgnbd import BetaGeoModel
from core.models.timing.challenger import BoostedChallenger
from core.models.timing.clv import alive_until_weeks, implied_clv, next_purchase_weeks
from core.models.timing.gammagamma import GammaGammaModel
from core.models.timing.paretonbd import ParetoNBDModel
from core.models.timing.rfm import WEEK, daily, rfm_summary
from core.models.timing.seasonal import Histories, SeasonalBetaGeoModel

#: Every model, in report order; the first two are the incumbents.
MODELS: tuple[str, ...] = ("bgnbd", "paretonbd", "bgnbd_seasonal", "gbm")
INCUMBENTS: tuple[str, ...] = ("bgnbd", "paretonbd")
#: Models with a likelihood of the purchase times (compared by AIC on the calibration period).
LIKELIHOOD: tuple[str, ...] = ("bgnbd", "paretonbd", "bgnbd_seasonal")
#: How :func:`fit_timing` chooses the model kept.
SELECTION_RULES: tuple[str, ...] = ("aic", "validation")
#: Standard errors by which a challenger's validation deviance must beat the kept model's.
CHALLENGER_Z = 2.0
#: Published CDNOW parameters beside which the report prints the estimates.
PUBLISHED: dict[str, dict[str, float]] = {
    "bgnbd": bgnbd.CDNOW_PARAMS,
    "paretonbd": paretonbd.CDNOW_PARAMS,
    "gammagamma": gammagamma.CDNOW_PARAMS,
}


@dataclass(frozen=True, eq=False)
class _Context:
    """One cut-off of a purchase log: its per-day purchases, cohort summary and histories."""

    log: PurchaseLog
    day: pd.DataFrame
    rfm: pd.DataFrame
    cutoff: pd.Timestamp

    def histories(self) -> Histories:
        return Histories.from_daily(self.day, self.rfm, self.cutoff)

    def rfm_at(self, end: pd.Timestamp, holdout_end: pd.Timestamp) -> pd.DataFrame:
        return rfm_summary(self.log, end, holdout_end)


def _fit(name: str, ctx: _Context, seed: int, train_weeks: float) -> Any:
    if name == "bgnbd":
        return BetaGeoModel().fit(ctx.rfm)
    if name == "paretonbd":
        return ParetoNBDModel().fit(ctx.rfm)
    if name == "bgnbd_seasonal":
        return SeasonalBetaGeoModel().fit(ctx.histories())
    if name == "gbm":
        ch = BoostedChallenger(train_weeks=train_weeks, random_state=seed)
        ch.fit(ctx.day, ctx.rfm_at, ctx.cutoff)
        return ch, BetaGeoModel().fit(ctx.rfm)
    raise OptionError(f"unknown timing model {name!r}; choose from {list(MODELS)}")


def _expected(name: str, fitted: Any, ctx: _Context, t: float) -> np.ndarray:
    if name == "bgnbd_seasonal":
        return fitted.expected(t, ctx.histories())
    if name == "gbm":
        ch, base = fitted
        return base.expected(t, ctx.rfm) * ch.correction(ctx.day, ctx.rfm, ctx.cutoff, base)
    return fitted.expected(t, ctx.rfm)


def _p_alive(name: str, fitted: Any, ctx: _Context) -> np.ndarray:
    if name == "bgnbd_seasonal":
        return fitted.p_alive(ctx.histories())
    if name == "gbm":
        return fitted[1].p_alive(ctx.rfm)
    return fitted.p_alive(ctx.rfm)


def _params(name: str, fitted: Any) -> dict[str, dict[str, float | None]]:
    fit = (fitted[1] if name == "gbm" else fitted).fit_
    pub = PUBLISHED.get(name, {})
    return {
        k: {"estimate": v, "se": fit.se.get(k), "published": pub.get(k)}
        for k, v in fit.params.items()
    }


def deviance(pred: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Poisson deviance of each customer's forecast ``pred`` against the purchases ``actual``."""
    y = np.asarray(actual, dtype=np.float64)
    mu = np.maximum(np.asarray(pred, dtype=np.float64), 1e-9)
    return 2.0 * np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0) - 2.0 * (y - mu)


def metrics(pred: np.ndarray, actual: np.ndarray) -> dict[str, float | None]:
    """Totals, error %, MAE, RMSE, correlation and mean Poisson deviance of a forecast."""
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(actual, dtype=np.float64)
    dev = deviance(pred, y)
    total = float(y.sum())
    corr = float(np.corrcoef(pred, y)[0, 1]) if np.ptp(pred) > 0 and np.ptp(y) > 0 else None
    return {
        "predicted_total": float(pred.sum()),
        "actual_total": total,
        "error_pct": float((pred.sum() - total) / total * 100.0) if total > 0 else None,
        "mae": float(np.mean(np.abs(pred - y))),
        "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
        "correlation": corr,
        "poisson_deviance": float(np.mean(dev)),
    }


def _loglik_fit(name: str, fitted: Any) -> Any:
    return fitted[1].fit_ if name == "gbm" else fitted.fit_


def select_model(
    fitted: dict[str, Any],
    validation: dict[str, dict[str, float | None]],
    val_pred: dict[str, np.ndarray],
    y_val: np.ndarray,
    *,
    rule: str = "aic",
    z: float = CHALLENGER_Z,
) -> dict[str, Any]:
    """Choose the model kept; the holdout period is never looked at.

    ``"aic"``: BG/NBD, Pareto/NBD and BG/NBD on the seasonal clock are likelihoods of the same
    purchase times (each customer's repeat purchases after the first), so the one of lowest
    AIC on the *whole* calibration period is kept (the seasonal clock has to pay for its two
    parameters). A challenger without a likelihood (``gbm``) replaces it only when its mean
    Poisson deviance on the validation part is lower by more than ``z`` standard errors of the
    paired per-customer difference (a 13-week validation of ~2,000 customers is too noisy
    to pick on the sign of the difference alone).

    ``"validation"``: the former rule, the lowest mean validation deviance (an incumbent unless
    a challenger beats both BG/NBD and Pareto/NBD).

    Parameters
    ----------
    fitted
        Name -> model fitted on the whole calibration period.
    validation, val_pred, y_val
        Name -> :func:`metrics` and per-customer forecasts of the validation part, and its
        actual purchases (empty without a validation split).
    rule, z
        See above.

    Returns
    -------
    dict
        ``rule``, ``model``, ``reason``, ``aic`` (name -> AIC) and ``challengers`` (name ->
        ``deviance_gain``, ``se``, ``kept``).
    """
    aic = {
        m: 2.0 * len(_loglik_fit(m, f).params) - 2.0 * float(_loglik_fit(m, f).loglik)
        for m, f in fitted.items()
        if m in LIKELIHOOD
    }
    out: dict[str, Any] = {"rule": rule, "aic": aic, "challengers": {}}
    if rule == "validation":
        dev = {m: v["poisson_deviance"] for m, v in validation.items() if m in fitted}
        inc = [m for m in INCUMBENTS if m in dev]
        chosen = min(inc, key=lambda m: dev[m] or np.inf) if inc else None
        for m in (m for m in dev if m not in INCUMBENTS):
            if chosen is not None and (dev[m] or np.inf) < (dev[chosen] or np.inf):
                chosen = m
        if chosen is None:
            chosen = next(m for m in INCUMBENTS if m in fitted)
        out.update(model=chosen, reason="lowest validation deviance.")
        return out
    chosen = incumbent = min(aic, key=aic.__getitem__)
    reason = "lowest AIC on the calibration period."
    best_gain = 0.0
    for m in (m for m in fitted if m not in LIKELIHOOD and m in val_pred):
        if incumbent not in val_pred:
            continue
        d = deviance(val_pred[incumbent], y_val) - deviance(val_pred[m], y_val)
        gain = float(d.mean())
        se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("inf")
        kept = gain > z * se and gain > best_gain
        out["challengers"][m] = {"deviance_gain": gain, "se": se, "kept": bool(kept)}
        if kept:
            best_gain = gain
            reason = f"validation deviance {gain:.4f} below {incumbent}'s (more than {z:g} SE)."
            chosen = m
    out.update(model=chosen, reason=reason)
    return out


def conditional_table(
    frequency: np.ndarray, actual: np.ndarray, predicted: dict[str, np.ndarray], top: int = 7
) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency (0 .. ``top``+), actual and predicted."""
    x = np.minimum(np.asarray(frequency, dtype=np.int64), top)
    rows = []
    for k in range(top + 1):
        m = x == k
        if not m.any():
            continue
        row: dict[str, Any] = {
            "frequency": f"{k}+" if k == top else str(k),
            "customers": int(m.sum()),
            "actual": float(actual[m].mean()),
        }
        row.update({name: float(p[m].mean()) for name, p in predicted.items()})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class TimingResult:
    """Everything ``timing`` reports (see the module docstring).

    Attributes
    ----------
    model : str
        The model kept (:func:`select_model`).
    models : dict
        Name -> model fitted on the whole calibration period (those that could be fitted).
    spend : GammaGammaModel or None
    customers : pandas.DataFrame
        One row per customer of the cohort (index the id): frequency, recency, T, monetary,
        p_alive, expected_purchases, expected_spend, clv, next_purchase_weeks,
        alive_until_weeks, next_purchase_date, alive_until_date (and holdout_frequency).
    validation : dict
        Name -> :func:`metrics` on the held-out part of the calibration period.
    selection : dict
        How the model was chosen (:func:`select_model`): ``rule``, ``model``, ``reason``,
        ``aic`` and ``challengers``.
    holdout : dict or None
        Name -> :func:`metrics` on the holdout period (with a holdout end).
    table : pandas.DataFrame or None
        :func:`conditional_table` on the holdout period.
    params : dict
        Name -> {parameter: {estimate, se, published}}.
    horizon_weeks : float
    calibration_end, holdout_end : pandas.Timestamp
    seconds : float
    notes : tuple of str
    """

    model: str
    models: dict[str, Any]
    spend: GammaGammaModel | None
    customers: pd.DataFrame
    validation: dict[str, dict[str, float | None]]
    selection: dict[str, Any]
    holdout: dict[str, dict[str, float | None]] | None
    table: pd.DataFrame | None
    params: dict[str, dict[str, dict[str, float | None]]]
    horizon_weeks: float
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp | None
    seconds: float
    notes: tuple[str, ...]

    def report(self) -> dict[str, Any]:
        """The JSON report: ``n_customers``, ``model``, ``params``, ``holdout`` (with a holdout
        end: the kept model's figures; every model's under ``holdout_by_model``), ``seconds``,
        and ``conditional_expectation``, ``validation``, ``selection``, ``notes``."""
        out: dict[str, Any] = {
            "n_customers": len(self.customers),
            "model": self.model,
            "params": self.params,
        }
        if self.holdout is not None:
            keys = ("predicted_total", "actual_total", "error_pct", "mae", "rmse", "correlation")
            out["holdout"] = {k: self.holdout[self.model][k] for k in keys}
            out["holdout_by_model"] = self.holdout
        if self.table is not None:
            out["conditional_expectation"] = self.table.to_dict(orient="records")
        out.update(
            validation=self.validation,
            selection=self.selection,
            horizon_weeks=self.horizon_weeks,
            calibration_end=str(self.calibration_end.date()),
            holdout_end=None if self.holdout_end is None else str(self.holdout_end.date()),
            seconds=self.seconds,
            notes=list(self.notes),
        )
        return out


def fit_timing(
    log: PurchaseLog,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
    *,
    models: Sequence[str] = MODELS,
    validation_weeks: float = 13.0,
    horizon_weeks: float = 52.0,
    threshold: float = 0.5,
    clv_months: int = 12,
    margin: float = 1.0,
    seed: int = 0,
    selection_rule: str = "aic",
    progress: Progress | None = None,
) -> TimingResult:
    """Select, fit and score the purchase-timing models (see the module docstring).

    Parameters
    ----------
    log
        Validated purchases (:func:`core.data.purchases.read_purchases`).
    calibration_end, holdout_end
        End of the calibration period; optional end of the holdout period.
    models
        Which of :data:`MODELS` to try (at least one incumbent).
    validation_weeks
        Length of the held-out part of the calibration period on which a challenger without a
        likelihood (``gbm``) must beat the kept likelihood model.
    selection_rule
        ``"aic"`` (default, :func:`select_model`) or ``"validation"`` (the former rule: the
        lowest validation deviance, an incumbent unless a challenger beats both).
    horizon_weeks
        Forecast horizon of ``expected_purchases`` (the holdout length when there is one).
    threshold
        P(alive) below which a customer is at risk (``alive_until_*``).
    clv_months, margin
        Horizon and margin share of the implied CLV.
    """
    start = time.perf_counter()
    unknown = [m for m in models if m not in MODELS]
    if selection_rule not in SELECTION_RULES:
        raise OptionError(
            f"selection rule {selection_rule!r}: choose from {list(SELECTION_RULES)}."
        )
    if unknown or not set(models) & set(INCUMBENTS):
        raise OptionError(
            f"models {list(models)}: choose from {list(MODELS)}, with bgnbd or paretonbd."
        )
    cal, hold = check_period(log, calibration_end, holdout_end)
    notes: list[str] = list(log.notes)
    day = daily(log)
    tick = ticker(progress, 2 * len(models) + 2)
    # 1. every model on the last validation_weeks of the calibration period (report, challengers)
    sub_end = cal - pd.Timedelta(days=int(round(validation_weeks * 7)))
    validation: dict[str, dict[str, float | None]] = {}
    val_pred: dict[str, np.ndarray] = {}
    y_val = np.zeros(0)
    if sub_end <= log.first:
        notes.append("calibration period too short for a validation split: no challenger.")
    else:
        sub = _Context(log, day, rfm_summary(log, sub_end, cal), sub_end)
        y_val = sub.rfm["holdout_frequency"].to_numpy()
        for name in models:
            try:
                fitted = _fit(name, sub, seed, validation_weeks)
                val_pred[name] = _expected(name, fitted, sub, validation_weeks)
                validation[name] = metrics(val_pred[name], y_val)
            except CJOError as exc:
                notes.append(f"{name}: not validated ({exc})")
            tick()
    # 2. fit on the whole calibration period
    ctx = _Context(log, day, rfm_summary(log, cal, hold), cal)
    rfm = ctx.rfm
    horizon = float(rfm.attrs["holdout_weeks"]) if hold is not None else float(horizon_weeks)
    fitted_all: dict[str, Any] = {}
    for name in models:
        try:
            fitted_all[name] = _fit(name, ctx, seed, validation_weeks)
        except CJOError as exc:
            notes.append(f"{name}: not fitted on the calibration period ({exc})")
        tick()
    if not any(m in fitted_all for m in INCUMBENTS):
        raise CJOError("neither BG/NBD nor Pareto/NBD could be fitted on the calibration period.")
    selection = select_model(fitted_all, validation, val_pred, y_val, rule=selection_rule)
    chosen = selection["model"]
    if chosen not in LIKELIHOOD:
        notes.append(f"challenger {chosen} kept: {selection['reason']}")
    preds = {n: _expected(n, f, ctx, horizon) for n, f in fitted_all.items()}
    spend = None
    try:
        spend = GammaGammaModel().fit(rfm)
    except CJOError as exc:
        notes.append(f"Gamma-Gamma: not fitted ({exc}); CLV left out.")
    tick()
    customers = _score(ctx, chosen, fitted_all, spend, horizon, threshold, clv_months, margin)
    customers["expected_purchases"] = preds[chosen]
    holdout = table = None
    if hold is not None:
        actual = rfm["holdout_frequency"].to_numpy()
        holdout = {n: metrics(p, actual) for n, p in preds.items()}
        table = conditional_table(rfm["frequency"].to_numpy(), actual, preds)
    params = {n: _params(n, f) for n, f in fitted_all.items() if n != "gbm"}
    if spend is not None:
        params["gammagamma"] = _params("gammagamma", spend)
    tick()
    return TimingResult(
        model=chosen,
        models=fitted_all,
        spend=spend,
        customers=customers,
        validation=validation,
        selection=selection,
        holdout=holdout,
        table=table,
        params=params,
        horizon_weeks=horizon,
        calibration_end=cal,
        holdout_end=hold,
        seconds=time.perf_counter() - start,
        notes=tuple(notes),
    )


def _score(
    ctx: _Context,
    chosen: str,
    fitted: dict[str, Any],
    spend: GammaGammaModel | None,
    horizon: float,
    threshold: float,
    clv_months: int,
    margin: float,
) -> pd.DataFrame:
    rfm = ctx.rfm
    cols = ["frequency", "recency", "T", "monetary", "first"]
    out = rfm[cols].copy()
    if "holdout_frequency" in rfm.columns:
        out["holdout_frequency"] = rfm["holdout_frequency"]
    model = fitted[chosen]
    out["p_alive"] = _p_alive(chosen, model, ctx)
    if spend is not None:
        out["expected_spend"] = spend.expected_spend(rfm)
        out["clv"] = implied_clv(
            lambda t: _expected(chosen, model, ctx, t),
            out["expected_spend"].to_numpy(),
            months=clv_months,
            margin=margin,
        )
    bg = fitted.get("bgnbd") or BetaGeoModel().fit(rfm)
    x, tx, T = (rfm[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    nxt = next_purchase_weeks(bg.params_, x, T)
    until = alive_until_weeks(bg.params_, x, tx, T, threshold)
    out["next_purchase_weeks"] = nxt
    out["alive_until_weeks"] = until
    end = ctx.cutoff + pd.Timedelta(days=1)
    out["next_purchase_date"] = end + pd.to_timedelta(np.round(nxt * 7), unit="D")
    finite = np.isfinite(until)
    days = np.where(finite, np.round(np.minimum(until, 5200) * 7), 0)
    dates = end + pd.to_timedelta(days, unit="D")
    out["alive_until_date"] = pd.Series(dates, index=out.index).where(finite)
    out.attrs["horizon_weeks"] = horizon
    out.attrs["model"] = chosen
    _ = WEEK
    return out
