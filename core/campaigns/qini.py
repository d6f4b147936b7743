"""Qini and uplift curves: does the uplift model rank the customers who respond first?

For one treatment arm against control, the rows of both are sorted by predicted uplift
(highest first). Targeting the top ``k`` rows, the **Qini curve** (Radcliffe 2007) is the
incremental outcome among them, per treated customer of the whole sample::

    Q(k) = [ Y_t(k) - Y_c(k) * N_t(k) / N_c(k) ] / N_t

with ``Y`` sums of the outcome and ``N`` counts of the treated (``t``) and control (``c``) rows
among the top ``k`` (inverse-probability weighted when the log's probabilities vary). Random
targeting is the straight line from 0 to ``Q(n)``, the arm's average lift. The **Qini
coefficient** is the mean height of the curve above that line over all targeting depths, in
the outcome's units per customer: 0 for a model that ranks at random, positive when it ranks
responders first. Its interval is a percentile bootstrap over rows (stratified by arm, with the
scores held fixed, so it measures the ranking on this sample).

:func:`qini` returns a :class:`QiniResult` with the curve at ``points`` depths (for a chart)
and the coefficient with its interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.campaigns._base import LEVEL, check_level
from core.common.errors import OptionError
from core.common.rng import as_generator


@dataclass(frozen=True, eq=False)
class QiniResult:
    """Qini curve and coefficient of one arm's uplift scores.

    Attributes
    ----------
    curve : pandas.DataFrame
        ``fraction`` (share of rows targeted), ``qini`` (the curve), ``random`` (the line of
        random targeting), ``ci_low`` / ``ci_high`` (pointwise bootstrap band) and ``uplift``
        (the uplift curve of Rzepakowski and Jaroszewicz: the difference of the treated and
        control means among the targeted, times the share targeted).
    coefficient : float
        Mean height of the curve above random targeting.
    ci_low, ci_high : float
        Bootstrap interval of the coefficient at ``level``.
    n_treated, n_control : int
        Rows of the arm and of the control group.
    """

    curve: pd.DataFrame
    coefficient: float
    ci_low: float
    ci_high: float
    level: float
    n_treated: int
    n_control: int


def _uplift_curve(y: np.ndarray, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Uplift curve: (treated mean - control mean) among the top ``k``, times ``k / n``."""
    wt, wc = w * t, w * (1 - t)
    nt, nc = np.cumsum(wt), np.cumsum(wc)
    mt = np.divide(np.cumsum(wt * y), nt, out=np.zeros_like(nt), where=nt > 0)
    mc = np.divide(np.cumsum(wc * y), nc, out=np.zeros_like(nc), where=nc > 0)
    both = (nt > 0) & (nc > 0)
    return np.where(both, mt - mc, 0.0) * np.arange(1, len(y) + 1) / len(y)


def _curves(
    y: np.ndarray, t: np.ndarray, w: np.ndarray, mult: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Qini curves and coefficients of ``mult`` (``[B, n]`` bootstrap weights) on sorted rows."""
    wt = mult * (w * t)[None, :]
    wc = mult * (w * (1 - t))[None, :]
    nt, nc = np.cumsum(wt, axis=1), np.cumsum(wc, axis=1)
    yt, yc = np.cumsum(wt * y, axis=1), np.cumsum(wc * y, axis=1)
    ratio = np.divide(nt, nc, out=np.zeros_like(nt), where=nc > 0)
    total_t = nt[:, -1:]
    q = np.divide(yt - yc * ratio, total_t, out=np.zeros_like(yt), where=total_t > 0)
    frac = np.arange(1, y.shape[0] + 1) / y.shape[0]
    coef = (q - frac[None, :] * q[:, -1:]).mean(axis=1)
    return q, coef


def qini(
    score: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    level: float = LEVEL,
    n_bootstrap: int = 200,
    points: int = 101,
    rng: np.random.Generator | int | None = 0,
) -> QiniResult:
    """Qini curve and coefficient of uplift scores on the rows of one arm and the control.

    Parameters
    ----------
    score : numpy.ndarray
        Predicted uplift of each row (higher = target first).
    y : numpy.ndarray
        Observed outcome.
    treated : numpy.ndarray of bool
        True for the arm's rows, False for the control rows.
    weights : numpy.ndarray, optional
        Inverse assignment probabilities (default 1).
    level : float
        Interval level.
    n_bootstrap : int
        Bootstrap resamples (0: no interval).
    points : int
        Depths at which the curve is returned.
    rng : Generator, int or None
        Seed of the bootstrap.

    Returns
    -------
    QiniResult

    Examples
    --------
    >>> s = np.array([0.9, 0.8, 0.2, 0.1, 0.5, 0.4])
    >>> y = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    >>> t = np.array([True, True, True, False, False, False])
    >>> round(qini(s, y, t, n_bootstrap=0).coefficient, 4)  # 2/9
    0.2222
    """
    level = check_level(level)
    s = np.asarray(score, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    ta = np.asarray(treated, dtype=bool)
    n = len(s)
    if ya.shape != (n,) or ta.shape != (n,):
        raise OptionError("score, y and treated must be 1-D arrays of the same length")
    if not ta.any() or ta.all():
        raise OptionError("the Qini curve needs rows of both the arm and the control group")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.lexsort((np.arange(n), -s))  # highest score first, ties in row order
    ys, ts, ws = ya[order], ta[order].astype(np.float64), w[order]
    q, coef = _curves(ys, ts, ws, np.ones((1, n)))
    idx = np.unique(np.linspace(0, n - 1, max(points, 2)).round().astype(int))
    frac = (idx + 1) / n
    band_lo = band_hi = np.full(len(idx), np.nan)
    lo = hi = float("nan")
    if n_bootstrap > 0:
        gen = as_generator(rng)
        mult = np.zeros((n_bootstrap, n))
        for grp in (ts == 1, ts == 0):
            pos = np.flatnonzero(grp)
            draws = gen.integers(0, len(pos), (n_bootstrap, len(pos)))
            for b in range(n_bootstrap):
                mult[b, pos] = np.bincount(draws[b], minlength=len(pos))
        qb, cb = _curves(ys, ts, ws, mult)
        a = (1 - level) / 2
        lo, hi = (float(v) for v in np.quantile(cb, [a, 1 - a]))
        band_lo, band_hi = np.quantile(qb[:, idx], [a, 1 - a], axis=0)
    curve = pd.DataFrame(
        {
            "fraction": frac,
            "qini": q[0, idx],
            "random": frac * q[0, -1],
            "ci_low": band_lo,
            "ci_high": band_hi,
            "uplift": _uplift_curve(ys, ts, ws)[idx],
        }
    )
    return QiniResult(
        curve=curve,
        coefficient=float(coef[0]),
        ci_low=lo,
        ci_high=hi,
        level=level,
        n_treated=int(ta.sum()),
        n_control=int((~ta).sum()),
    )
