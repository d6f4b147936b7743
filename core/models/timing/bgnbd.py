"""BG/NBD: "buy till you die" with dropout right after a purchase (Fader, Hardie & Lee 2005).

While active, a customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``; after
every repeat purchase they drop out for good with probability ``p ~ Beta(a, b)``. From a
customer's calibration summary (``x`` repeat purchases, the last at ``t_x``, observed for ``T``;
time in weeks) the model gives:

* the likelihood (FHL 2005, eq. 6), maximised here with its analytic gradient over the log
  parameters (customers with the same ``(x, t_x, T)`` are counted once);
* ``P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))``;
* the expected purchases in the next ``t`` weeks (eq. 10), through the Gauss hypergeometric
  function ``2F1`` (scipy.special.hyp2f1);
* the expected purchases of a new customer in ``t`` weeks (eq. 9).

Published CDNOW estimates (the paper's Table 1; weeks): r 0.243, alpha 4.414, a 0.793,
b 2.426 (:data:`CDNOW_PARAMS`); the tests recover them from logs drawn with them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1

from core.common.errors import ModelError
from core.models.timing._base import compress, fit_ml, rfm_arrays

#: Parameter names, in order.
PARAMS: tuple[str, ...] = ("r", "alpha", "a", "b")
#: Fader, Hardie & Lee (2005), CDNOW sample of 2,357 customers, 39-week calibration.
CDNOW_PARAMS: dict[str, float] = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _terms(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray):
    r, alpha, a, b = np.exp(theta)
    ln_a3 = -(r + x) * np.log(alpha + T)
    pos = x > 0
    ln_a4 = np.full_like(x, -np.inf)
    ln_a4[pos] = np.log(a) - np.log(b + x[pos] - 1.0) - (r + x[pos]) * np.log(alpha + tx[pos])
    mx = np.maximum(ln_a3, ln_a4)
    ln_sum = mx + np.log(np.exp(ln_a3 - mx) + np.exp(ln_a4 - mx))
    w = np.exp(ln_a4 - ln_sum)  # share of the "dropped after t_x" branch
    return r, alpha, a, b, ln_sum, w


def loglik(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Log-likelihood of each customer at log-parameters ``theta`` = log(r, alpha, a, b)."""
    r, alpha, a, b, ln_sum, _ = _terms(theta, x, tx, T)
    return (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b) + ln_sum
    )


def _gradient(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w8: np.ndarray):
    r, alpha, a, b, _, w = _terms(theta, x, tx, T)
    l_at = np.log(alpha + T)
    pos = x > 0
    l_atx = np.where(pos, np.log(alpha + tx), 0.0)
    inv_b = np.where(pos, 1.0 / np.where(pos, b + x - 1.0, 1.0), 0.0)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - (1 - w) * l_at - w * l_atx
    d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + tx))
    d_a = digamma(a + b) - digamma(a + b + x) + w / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w * inv_b
    g = np.array([d_r @ w8 * r, d_alpha @ w8 * alpha, d_a @ w8 * a, d_b @ w8 * b])
    return g


@dataclass(kw_only=True, eq=False)
class BetaGeoModel:
    """BG/NBD fitted by maximum likelihood (see the module docstring).

    Parameters
    ----------
    start : dict, optional
        Starting values (default r = alpha = a = b = 1, scaled to the data's time unit).

    Attributes
    ----------
    fit_ : Fit
        Parameters, standard errors, log-likelihood.
    """

    start: dict[str, float] | None = None
    name = "bgnbd"

    def fit(self, rfm: pd.DataFrame | dict[str, Any]) -> BetaGeoModel:
        """Maximum-likelihood estimates from an RFM table (``frequency, recency, T``)."""
        t0 = time.perf_counter()
        x, tx, T = rfm_arrays(rfm)
        (ux, utx, uT), w8 = compress(x, tx, T)
        start = np.array(
            [
                (self.start or {}).get(k, v)
                for k, v in zip(PARAMS, (1.0, np.mean(T) / 4, 1.0, 1.0), strict=True)
            ]
        )

        def negll(theta: np.ndarray) -> float:
            return float(-(loglik(theta, ux, utx, uT) @ w8))

        def grad(theta: np.ndarray) -> np.ndarray:
            return -_gradient(theta, ux, utx, uT, w8)

        self.fit_ = fit_ml(PARAMS, negll, start, grad=grad, n=len(x), seconds0=t0)
        return self

    @property
    def params_(self) -> dict[str, float]:
        self._check()
        return self.fit_.params

    def _check(self) -> None:
        if not hasattr(self, "fit_"):
            raise ModelError("BetaGeoModel is not fitted: call fit(rfm) first.")

    def _p(self) -> tuple[float, float, float, float]:
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def p_alive(self, rfm: pd.DataFrame | dict[str, Any]) -> np.ndarray:
        """P(still active | x, t_x, T), float ``[n]``."""
        x, tx, T = rfm_arrays(rfm)
        r, alpha, a, b = self._p()
        out = np.ones_like(x)
        pos = x > 0
        ratio = (r + x[pos]) * (np.log(alpha + T[pos]) - np.log(alpha + tx[pos]))
        out[pos] = 1.0 / (1.0 + np.exp(np.log(a) - np.log(b + x[pos] - 1.0) + ratio))
        return out

    def expected(self, t: float | np.ndarray, rfm: pd.DataFrame | dict[str, Any]) -> np.ndarray:
        """Expected purchases in the next ``t`` (weeks) given each customer's history."""
        x, tx, T = rfm_arrays(rfm)
        r, alpha, a, b = self._p()
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        z = t / (alpha + T + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        head = (a + b + x - 1.0) / (a - 1.0)
        body = 1.0 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp
        pos = (x > 0).astype(np.float64)
        denom = 1.0 + pos * (a / np.maximum(b + x - 1.0, 1e-12)) * np.exp(
            (r + x) * np.log((alpha + T) / (alpha + tx))
        )
        return head * body / denom

    def expected_new(self, t: float | np.ndarray) -> np.ndarray:
        """Expected purchases of a new customer in ``t`` weeks after the first purchase."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=np.float64)
        hyp = hyp2f1(r, b, a + b - 1.0, t / (alpha + t))
        return (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)) ** r * hyp)

    def frequency_pmf(self, x: int, t: float) -> float:
        """P(X(t) = x) for a new customer (FHL 2005, eq. 8)."""
        r, alpha, a, b = self._p()
        lb = betaln(a, b + x) - betaln(a, b)
        lg = gammaln(r + x) - gammaln(r) - gammaln(x + 1.0)
        base = np.exp(lb + lg + r * np.log(alpha / (alpha + t)) + x * np.log(t / (alpha + t)))
        if x == 0:
            return float(base)
        tail = 0.0
        for j in range(x):
            tail += np.exp(
                gammaln(r + j)
                - gammaln(r)
                - gammaln(j + 1.0)
                + r * np.log(alpha / (alpha + t))
                + j * np.log(t / (alpha + t))
            )
        delta = np.exp(betaln(a + 1.0, b + x - 1.0) - betaln(a, b))
        return float(base + delta * (1.0 - tail))
