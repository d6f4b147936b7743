"""Gamma-Gamma spend (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).

Each transaction's value is ``Gamma(p, nu)``; ``nu ~ Gamma(q, v)`` across customers, independent
of the purchase process. For a customer with ``x`` repeat transactions of mean value ``m_x``
the likelihood of ``m_x`` is

    Gamma(p x + q) / (Gamma(p x) Gamma(q)) * v^q * m_x^(p x - 1) * x^(p x) / (v + x m_x)^(p x + q)

and the expected value of their future transactions shrinks ``m_x`` toward the population mean
``p v / (q - 1)`` by ``x``: ``E[M | x, m_x] = p (v + x m_x) / (p x + q - 1)``. Only customers
with ``x > 0`` inform the fit. Published CDNOW estimates: p 6.25, q 3.74, v 15.44
(:data:`CDNOW_PARAMS`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from core.common.errors import ModelError
from core.models.timing._base import fit_ml

PARAMS: tuple[str, ...] = ("p", "q", "v")
CDNOW_PARAMS: dict[str, float] = {"p": 6.25, "q": 3.74, "v": 15.44}


def loglik(theta: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Log-likelihood of each mean spend ``m`` over ``x`` transactions (x > 0)."""
    p, q, v = np.exp(theta)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + x * m)
    )


def _arrays(rfm: pd.DataFrame | dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(rfm["frequency"], dtype=np.float64)
        m = np.asarray(rfm["monetary"], dtype=np.float64)
    except KeyError as exc:
        raise ModelError(
            f"the RFM table lacks column {exc} (Gamma-Gamma needs monetary)."
        ) from None
    return x, m


@dataclass(kw_only=True, eq=False)
class GammaGammaModel:
    """Gamma-Gamma spend model fitted on repeat customers (``frequency > 0``, ``monetary > 0``)."""

    name = "gammagamma"

    def fit(self, rfm: pd.DataFrame | dict[str, Any]) -> GammaGammaModel:
        t0 = time.perf_counter()
        x, m = _arrays(rfm)
        keep = (x > 0) & (m > 0) & np.isfinite(m)
        if keep.sum() < 10:
            raise ModelError(
                f"{int(keep.sum())} repeat customers with a positive spend: Gamma-Gamma needs at "
                "least 10."
            )
        xk, mk = x[keep], m[keep]

        def negll(theta: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                val = loglik(theta, xk, mk).sum()
            return float(-val) if np.isfinite(val) else 1e300

        mean = float(mk.mean())
        start = np.array([2.0, 3.0, mean])  # population mean p v / (q - 1) = mean
        self.fit_ = fit_ml(PARAMS, negll, start, n=int(keep.sum()), seconds0=t0)
        return self

    @property
    def params_(self) -> dict[str, float]:
        if not hasattr(self, "fit_"):
            raise ModelError("GammaGammaModel is not fitted: call fit(rfm) first.")
        return self.fit_.params

    def expected_spend(self, rfm: pd.DataFrame | dict[str, Any]) -> np.ndarray:
        """Expected value of each customer's future transactions (population mean when x = 0)."""
        x, m = _arrays(rfm)
        p, q, v = (self.params_[k] for k in PARAMS)
        m = np.where(np.isfinite(m) & (x > 0), m, 0.0)
        if q <= 1:
            raise ModelError(f"q = {q:.3f} <= 1: the spend distribution has no finite mean.")
        return p * (v + x * m) / (p * x + q - 1.0)

    def population_mean(self) -> float:
        """Mean transaction value of the population, ``p v / (q - 1)``."""
        p, q, v = (self.params_[k] for k in PARAMS)
        return float(p * v / (q - 1.0)) if q > 1 else float("inf")
