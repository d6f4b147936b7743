"""BG/NBD on a seasonal clock: purchase rates that rise and fall with the calendar.

Plain BG/NBD assumes a customer's purchase rate is the same in every week. Retail is seasonal:
the same customers buy more before the holidays. This variant lets every active customer's
rate follow one yearly harmonic of the calendar,

    lambda(t) = lambda * s(t),   s(t) = 1 + A cos(2 pi (t - phi) / 52.18),   |A| < 1,

with ``t`` in weeks since an origin (the earliest first purchase) and ``A``, ``phi`` estimated
with the other parameters. On the *seasonal clock* ``tau(t) = integral of s`` the process is
plain BG/NBD (dropout happens at purchases, which the clock does not move), so the likelihood of
a customer is the BG/NBD likelihood of ``(x, tau(t_x) - tau(t_0), tau(T) - tau(t_0))`` times
``prod_j s(t_j)`` over the repeat purchases (the Jacobian of the purchase times), and the
expected purchases in ``(T, T + t]`` are BG/NBD's for the clock time ``tau(T + t) - tau(T)``.

One harmonic can be identified from a calibration period of about three quarters of a year or
more (shorter periods leave ``A`` and ``phi`` poorly determined: the standard errors say so).
With the amplitude at 0 it is plain BG/NBD, and its likelihood is that of the same purchase
times: :func:`core.models.timing.compare.select_model` keeps it when its AIC on the calibration
period (two more parameters) is below BG/NBD's and Pareto/NBD's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.errors import ModelError
from core.models.timing._base import Fit, fit_ml
from core.models.timing.bgnbd import BetaGeoModel
from core.models.timing.bgnbd import loglik as bg_loglik

PERIOD = 52.18  # weeks per year
PARAMS: tuple[str, ...] = ("r", "alpha", "a", "b", "amplitude", "peak_week")
_TWO_PI = 2.0 * np.pi


def clock(t: np.ndarray, amplitude: float, peak: float) -> np.ndarray:
    """``tau(t) = t + A P / (2 pi) [sin(2 pi (t - peak) / P) - sin(-2 pi peak / P)]``."""
    k = amplitude * PERIOD / _TWO_PI
    return t + k * (np.sin(_TWO_PI * (t - peak) / PERIOD) - np.sin(-_TWO_PI * peak / PERIOD))


def season(t: np.ndarray, amplitude: float, peak: float) -> np.ndarray:
    """``s(t)``: the seasonal multiplier of the purchase rate."""
    return 1.0 + amplitude * np.cos(_TWO_PI * (t - peak) / PERIOD)


@dataclass(frozen=True)
class Histories:
    """Purchase times of a cohort in weeks since ``origin``: each customer's first purchase
    ``t0``, the calibration end ``end`` (weeks), and every repeat purchase (``who``, ``when``)."""

    ids: pd.Index
    t0: np.ndarray
    x: np.ndarray
    last: np.ndarray
    end: float
    who: np.ndarray
    when: np.ndarray
    origin: pd.Timestamp

    @classmethod
    def from_daily(
        cls, day: pd.DataFrame, rfm: pd.DataFrame, calibration_end: pd.Timestamp
    ) -> Histories:
        """From the per-day purchases (``id, date``) and the cohort's RFM table."""
        week = pd.Timedelta(days=7)
        origin = pd.Timestamp(rfm["first"].min())
        cal = pd.Timestamp(calibration_end) + pd.Timedelta(days=1)
        d = day.loc[day["id"].isin(rfm.index) & (day["date"] < cal)]
        first = rfm["first"].reindex(d["id"]).to_numpy()
        repeat = d["date"].to_numpy() > first
        codes = pd.Index(rfm.index).get_indexer(d["id"].to_numpy()[repeat])
        when = ((d["date"].to_numpy()[repeat] - np.datetime64(origin)) / week).astype(np.float64)
        t0 = ((rfm["first"] - origin) / week).to_numpy(dtype=np.float64)
        return cls(
            ids=pd.Index(rfm.index),
            t0=t0,
            x=rfm["frequency"].to_numpy(dtype=np.float64),
            last=t0 + rfm["recency"].to_numpy(dtype=np.float64),
            end=float((cal - origin) / week),
            who=codes,
            when=when,
            origin=origin,
        )


def _unpack(theta: np.ndarray) -> tuple[np.ndarray, float, float]:
    amp = float(np.tanh(theta[4]))
    return theta[:4], amp, float(theta[5])


@dataclass(kw_only=True, eq=False)
class SeasonalBetaGeoModel:
    """BG/NBD with a yearly seasonal clock (see the module docstring)."""

    name = "bgnbd_seasonal"

    def fit(self, hist: Histories) -> SeasonalBetaGeoModel:
        t0 = time.perf_counter()
        if hist.end < 26:
            raise ModelError(
                f"the calibration period spans {hist.end:.0f} weeks: the seasonal clock needs "
                "at least 26."
            )
        base = BetaGeoModel().fit(
            {"frequency": hist.x, "recency": hist.last - hist.t0, "T": hist.end - hist.t0}
        )
        start_bg = np.log([base.fit_.params[k] for k in ("r", "alpha", "a", "b")])

        def negll(theta: np.ndarray) -> float:
            bg, amp, peak = _unpack(theta)
            c0 = clock(hist.t0, amp, peak)
            tx = clock(hist.last, amp, peak) - c0
            T = clock(np.full_like(hist.t0, hist.end), amp, peak) - c0
            with np.errstate(all="ignore"):
                ll = bg_loglik(bg, hist.x, np.maximum(tx, 0.0), T).sum()
                ll += np.log(season(hist.when, amp, peak)).sum()
            return float(-ll) if np.isfinite(ll) else 1e300

        best = None
        for peak0 in (0.0, PERIOD / 4, PERIOD / 2, 3 * PERIOD / 4):
            from scipy.optimize import minimize

            res = minimize(
                negll, np.r_[start_bg, 0.0, peak0], method="L-BFGS-B", options={"maxiter": 500}
            )
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        bg, amp, peak = _unpack(best.x)
        peak = float(np.mod(peak, PERIOD))
        if amp < 0:  # the same curve: a negative amplitude is a peak half a year away
            amp, peak = -amp, float(np.mod(peak + PERIOD / 2, PERIOD))

        def negll_natural(theta: np.ndarray) -> float:
            p = np.exp(theta)
            return negll(np.r_[np.log(p[:4]), np.arctanh(min(p[4], 0.999)), p[5]])

        est = np.r_[np.exp(bg), amp, peak]
        fit = fit_ml(PARAMS, negll_natural, np.maximum(est, 1e-6), n=len(hist.x), seconds0=t0)
        self.fit_ = fit
        self.origin_ = hist.origin
        self.base_ = BetaGeoModel()
        self.base_.fit_ = Fit(
            params={k: fit.params[k] for k in ("r", "alpha", "a", "b")},
            se={k: fit.se[k] for k in ("r", "alpha", "a", "b")},
            loglik=fit.loglik,
            n=fit.n,
            iterations=fit.iterations,
            converged=fit.converged,
            seconds=fit.seconds,
        )
        return self

    @property
    def params_(self) -> dict[str, float]:
        if not hasattr(self, "fit_"):
            raise ModelError("SeasonalBetaGeoModel is not fitted: call fit(histories) first.")
        return self.fit_.params

    def _warped(self, hist: Histories, horizon: float = 0.0) -> dict[str, np.ndarray]:
        amp, peak = self.params_["amplitude"], self.params_["peak_week"]
        c0 = clock(hist.t0, amp, peak)
        end = np.full_like(hist.t0, hist.end)
        return {
            "frequency": hist.x,
            "recency": np.maximum(clock(hist.last, amp, peak) - c0, 0.0),
            "T": clock(end, amp, peak) - c0,
            "t": clock(end + horizon, amp, peak) - clock(end, amp, peak),
        }

    def p_alive(self, hist: Histories) -> np.ndarray:
        w = self._warped(hist)
        return self.base_.p_alive(w)

    def expected(self, t: float, hist: Histories) -> np.ndarray:
        """Expected purchases in the ``t`` weeks after the calibration end."""
        w = self._warped(hist, float(t))
        return self.base_.expected(w["t"], w)
