"""Pareto/NBD: "buy till you die" with a lifetime in continuous time (Schmittlein et al. 1987).

While active a customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``; the
lifetime is exponential with rate ``mu ~ Gamma(s, beta)``, independent of purchases. The
likelihood of ``(x, t_x, T)`` follows Fader & Hardie's note "A Note on Deriving the Pareto/NBD
Model and Related Expressions" (2005), eq. 22, with the hypergeometric terms evaluated in log
space (their difference loses no precision: the ``t_x`` term always dominates). ``P(alive)``
and the conditional expectation are eqs. 18-19 of the same note.

Published CDNOW estimates (weeks): r 0.55, alpha 10.58, s 0.61, beta 11.67
(:data:`CDNOW_PARAMS`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1

from core.common.errors import ModelError
from core.models.timing._base import compress, fit_ml, rfm_arrays

PARAMS: tuple[str, ...] = ("r", "alpha", "s", "beta")
#: Fader, Hardie & Lee (2005), CDNOW sample, 39-week calibration.
CDNOW_PARAMS: dict[str, float] = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}


def _log_a0(r, alpha, s, beta, x, tx, T):
    """log of the two hypergeometric terms of A0 (at t_x and at T)."""
    rsx = r + s + x
    if alpha >= beta:
        c, second = alpha, s + 1.0
        z_tx, z_T = (alpha - beta) / (alpha + tx), (alpha - beta) / (alpha + T)
    else:
        c, second = beta, r + x
        z_tx, z_T = (beta - alpha) / (beta + tx), (beta - alpha) / (beta + T)
    l1 = np.log(hyp2f1(rsx, second, rsx + 1.0, z_tx)) - rsx * np.log(c + tx)
    l2 = np.log(hyp2f1(rsx, second, rsx + 1.0, z_T)) - rsx * np.log(c + T)
    return l1, l2


def _log_parts(theta: np.ndarray, x, tx, T):
    r, alpha, s, beta = np.exp(theta)
    rsx = r + s + x
    la = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    l1, l2 = _log_a0(r, alpha, s, beta, x, tx, T)
    diff = l1 + np.log1p(-np.exp(np.minimum(l2 - l1, -1e-15)))  # log(e^l1 - e^l2)
    lb = np.log(s / rsx) + diff
    return r, alpha, s, beta, la, lb


def loglik(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Log-likelihood of each customer at log-parameters ``theta`` = log(r, alpha, s, beta)."""
    r, alpha, s, beta, la, lb = _log_parts(theta, x, tx, T)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return head + np.logaddexp(la, lb)


@dataclass(kw_only=True, eq=False)
class ParetoNBDModel:
    """Pareto/NBD fitted by maximum likelihood (numerical gradient)."""

    start: dict[str, float] | None = None
    name = "paretonbd"

    def fit(self, rfm: pd.DataFrame | dict[str, Any]) -> ParetoNBDModel:
        t0 = time.perf_counter()
        x, tx, T = rfm_arrays(rfm)
        (ux, utx, uT), w8 = compress(x, tx, T)
        m = float(np.mean(T))
        start = np.array(
            [
                (self.start or {}).get(k, v)
                for k, v in zip(PARAMS, (0.5, m / 4, 0.5, m / 4), strict=True)
            ]
        )

        def negll(theta: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                v = loglik(theta, ux, utx, uT) @ w8
            return float(-v) if np.isfinite(v) else 1e300

        self.fit_ = fit_ml(PARAMS, negll, start, n=len(x), seconds0=t0)
        return self

    @property
    def params_(self) -> dict[str, float]:
        if not hasattr(self, "fit_"):
            raise ModelError("ParetoNBDModel is not fitted: call fit(rfm) first.")
        return self.fit_.params

    def p_alive(self, rfm: pd.DataFrame | dict[str, Any]) -> np.ndarray:
        """P(still active | x, t_x, T)."""
        x, tx, T = rfm_arrays(rfm)
        theta = np.log([self.params_[k] for k in PARAMS])
        _, _, _, _, la, lb = _log_parts(theta, x, tx, T)
        return 1.0 / (1.0 + np.exp(lb - la))

    def expected(self, t: float | np.ndarray, rfm: pd.DataFrame | dict[str, Any]) -> np.ndarray:
        """Expected purchases in the next ``t`` weeks given each customer's history."""
        x, tx, T = rfm_arrays(rfm)
        p = self.params_
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        if abs(s - 1.0) < 1e-6:
            rate = (r + x) * (beta + T) / (alpha + T) * np.log((beta + T + t) / (beta + T))
        else:
            rate = (
                (r + x) * (beta + T) / ((alpha + T) * (s - 1.0))
                * (1.0 - ((beta + T) / (beta + T + t)) ** (s - 1.0))
            )  # fmt: skip
        return rate * self.p_alive({"frequency": x, "recency": tx, "T": T})
