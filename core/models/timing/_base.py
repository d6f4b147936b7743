"""What the purchase-timing models share: the RFM arrays, fitting by maximum likelihood with
standard errors, and the fitted-parameters record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from core.common.errors import ModelError


@dataclass(frozen=True)
class Fit:
    """Maximum-likelihood parameters of one model.

    Attributes
    ----------
    params : dict
        Name -> estimate.
    se : dict
        Name -> standard error (inverse observed information; NaN when singular).
    loglik : float
        Log-likelihood at the estimate (up to the model's constant).
    n : int
        Customers (or repeat customers, for Gamma-Gamma) in the fit.
    iterations : int
    converged : bool
    seconds : float
    """

    params: dict[str, float]
    se: dict[str, float]
    loglik: float
    n: int
    iterations: int
    converged: bool
    seconds: float


def rfm_arrays(rfm: pd.DataFrame | Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """``frequency``, ``recency``, ``T`` as float arrays, checked (x >= 0, 0 <= t_x <= T)."""
    try:
        x = np.asarray(rfm["frequency"], dtype=np.float64)
        tx = np.asarray(rfm["recency"], dtype=np.float64)
        T = np.asarray(rfm["T"], dtype=np.float64)
    except KeyError as exc:
        raise ModelError(
            f"the RFM table lacks column {exc}; use core.models.timing.rfm_summary."
        ) from None
    if not (len(x) == len(tx) == len(T)):
        raise ModelError("frequency, recency and T must have the same length.")
    if len(x) == 0:
        raise ModelError("no customers to fit: the RFM table is empty.")
    if (x < 0).any() or (tx < 0).any() or (tx > T + 1e-9).any() or (T <= 0).any():
        raise ModelError(
            "RFM values out of range: need frequency >= 0 and 0 <= recency <= T, T > 0."
        )
    if ((x == 0) & (tx > 0)).any():
        raise ModelError("customers without repeat purchases must have recency 0.")
    return x, tx, T


def compress(*columns: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Unique rows of the columns and how often each occurs (likelihoods sum over counts)."""
    stacked = np.column_stack(columns)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return tuple(uniq[:, j] for j in range(uniq.shape[1])), counts.astype(np.float64)


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central finite-difference Hessian of ``f`` at ``x``."""
    k = len(x)
    h = 1e-4 * np.maximum(np.abs(x), 1e-2)
    out = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                e = np.zeros(k)
                e[i] = h[i]
                out[i, i] = (f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2
            else:
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = h[i], h[j]
                out[i, j] = out[j, i] = (
                    f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
                ) / (4 * h[i] * h[j])
    return out


def fit_ml(
    names: tuple[str, ...],
    negll: Callable[[np.ndarray], float],
    start: np.ndarray,
    *,
    grad: Callable[[np.ndarray], np.ndarray] | None = None,
    n: int,
    seconds0: float,
) -> Fit:
    """Minimise ``negll`` over log-parameters; standard errors from the Hessian in natural units.

    ``negll(theta)`` and ``grad(theta)`` take the parameters on the log scale.
    """
    import time

    # the line search may try parameters where a term overflows (exp of a large log
    # parameter, inf - inf): such a point is rejected by its non-finite value, and numpy's
    # warnings about it would only reach the user's terminal
    with np.errstate(all="ignore"):
        res = minimize(
            negll,
            np.log(start),
            jac=grad,
            method="L-BFGS-B",
            options={"maxiter": 2000, "gtol": 1e-7, "ftol": 1e-12},
        )
    if not np.isfinite(res.fun):
        raise ModelError("the likelihood is not finite at the estimate: check the RFM table.")
    est = np.exp(res.x)
    se = np.full(len(names), np.nan)
    try:
        with np.errstate(all="ignore"):
            hess = _hessian(lambda p: negll(np.log(np.maximum(p, 1e-12))), est)
            cov = np.linalg.inv(hess)
        d = np.diag(cov)
        se = np.where(d > 0, np.sqrt(np.abs(d)), np.nan)
    except np.linalg.LinAlgError:
        pass
    return Fit(
        params={k: float(v) for k, v in zip(names, est, strict=True)},
        se={k: float(v) for k, v in zip(names, se, strict=True)},
        loglik=float(-res.fun),
        n=n,
        iterations=int(res.nit),
        converged=bool(res.success),
        seconds=time.perf_counter() - seconds0,
    )
