"""Lift of each arm against the control group, with confidence intervals.

Two estimators of the average effect of arm ``a`` against control on an outcome:

``difference``
    The difference of the arm means. Each mean is weighted by the inverse assignment
    probability (Hajek), which is the plain mean whenever the probabilities are constant within
    an arm (a completely randomized log). Amounts: the unpooled (Welch) standard error, interval
    and p-value from Student's t with Welch-Satterthwaite degrees of freedom. Binary outcomes
    (with constant probabilities within each arm): Newcombe's hybrid score interval (Wilson
    intervals of both rates combined; Newcombe 1998, method 10), which keeps its coverage for
    rare outcomes where the Wald interval does not (an offer accepted by 1% of a few hundred
    customers, a control group that cannot accept), and the pooled two-proportion z-test.
``adjusted``
    Regression adjustment (Lin 2013): least squares of the outcome on the arm indicator, the
    centred customer features and their interactions with the indicator, on the rows of the arm
    and the control group (weighted by the inverse probability); HC2 robust standard error,
    t with ``n - rank`` degrees of freedom (a binary outcome with fewer than
    :data:`MIN_EVENTS` events or non-events in the arm or the control group is not adjusted:
    its robust standard error is unreliable there, and the ``difference`` interval is given).
    Consistent under randomization whatever the
    features, and narrower when they predict the outcome. To keep at least 10 rows per
    coefficient, many features (one-hot categories) are first summarised by their leading
    principal components (of the standardised features of those rows: outcome-free, so the
    estimate stays honest); ``covariates`` says how many columns were used (0: plain
    ``difference``).

:func:`lift_table` gives one row per (arm, outcome) and :func:`arm_summary` the arms' sizes and
means: what the Campaigns page shows as its first table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.campaigns._base import LEVEL, check_level, t_value, two_sided_p, z_value
from core.campaigns.features import FeatureEncoder
from core.campaigns.log import CampaignLog
from core.common.errors import OptionError
from core.common.threads import model_threads

METHODS: tuple[str, ...] = ("difference", "adjusted")
_ROWS_PER_COEF = 10
#: Fewest events (and non-events) per group for a regression-adjusted binary lift.
MIN_EVENTS = 10


@dataclass(frozen=True)
class ArmLift:
    """The lift of one arm against control on one outcome.

    ``estimate`` is mean(arm) - mean(control) in the outcome's units (probability points for a
    binary outcome); ``[ci_low, ci_high]`` its interval at ``level``; ``p_value`` two-sided
    against no effect; ``covariates`` the feature columns of the adjustment (0: none).
    """

    arm: str
    outcome: str
    method: str
    n: int
    n_control: int
    mean: float
    mean_control: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    level: float
    df: float
    covariates: int = 0
    interval: str = "welch"


def weighted_mean(y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Hajek mean, its variance and the effective sample size ``(sum w)^2 / sum w^2``.

    With equal weights: the mean, ``s^2 / n`` (sample variance) and ``n``.
    """
    n = len(y)
    if n == 0:
        return float("nan"), float("nan"), 0.0
    sw = w.sum()
    mu = float((w * y).sum() / sw)
    n_eff = float(sw**2 / (w**2).sum())
    if n < 2:
        return mu, float("nan"), n_eff
    var = float((w**2 * (y - mu) ** 2).sum() / sw**2 * n / (n - 1))
    return mu, var, n_eff


def difference_in_means(
    y: np.ndarray, treated: np.ndarray, control: np.ndarray, w: np.ndarray
) -> tuple[float, float, float, float, float]:
    """``(estimate, se, df, mean_treated, mean_control)`` of the Welch difference in means."""
    m1, v1, n1 = weighted_mean(y[treated], w[treated])
    m0, v0, n0 = weighted_mean(y[control], w[control])
    se = float(np.sqrt(v1 + v0))
    denom = (v1**2 / max(n1 - 1, 1.0)) + (v0**2 / max(n0 - 1, 1.0))
    df = float((v1 + v0) ** 2 / denom) if denom > 0 else float("inf")
    return m1 - m0, se, df, m1, m0


def regression_adjusted(
    y: np.ndarray, t: np.ndarray, x: np.ndarray, w: np.ndarray
) -> tuple[float, float, float, int]:
    """Lin's interacted regression estimate of the effect of ``t`` (0/1) with HC2 errors.

    Parameters
    ----------
    y, t, w : numpy.ndarray
        Outcome, arm indicator and weights of the rows of one arm and the control group.
    x : numpy.ndarray
        Features of those rows, ``[n, d]``.

    Returns
    -------
    (estimate, se, df, covariates)
        ``covariates`` is the number of feature columns used (0: plain difference in means).
    """
    n = len(y)
    xs = x[:, np.ptp(x, axis=0) > 0] if x.size else x.reshape(n, 0)
    xc = xs - (w[:, None] * xs).sum(axis=0) / w.sum()
    room = n // (2 * _ROWS_PER_COEF) - 1  # columns that keep 10 rows per coefficient
    if xc.shape[1] > max(room, 0):
        xc = _components(xc, max(room, 0))
    d = xc.shape[1]
    cols = [np.ones(n), t.astype(np.float64), xc, t[:, None] * xc]
    design = np.column_stack(cols)
    sw = np.sqrt(w)
    xw, yw = design * sw[:, None], y * sw
    with model_threads():  # small dense algebra: native threads only cost on a shared machine
        gram = xw.T @ xw
        vals, vecs = np.linalg.eigh(gram)
        keep = vals > vals.max() * 1e-10
        inv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T  # pseudo-inverse of X'X
        beta = inv @ (xw.T @ yw)
        resid = yw - xw @ beta
        a = xw @ inv[:, 1]  # the row of (X'X)^+ X' that gives the arm coefficient
        lev = np.minimum(np.einsum("ij,jk,ik->i", xw, inv, xw), 1.0 - 1e-12)
    var = float((a**2 * resid**2 / (1.0 - lev)).sum())
    return float(beta[1]), float(np.sqrt(var)), float(n - int(keep.sum())), d


def _components(xc: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` leading principal components of centred features (standardised first)."""
    if k <= 0:
        return xc[:, :0]
    z = xc / xc.std(axis=0)
    with model_threads():
        u, s, _ = np.linalg.svd(z, full_matrices=False)
    return u[:, :k] * s[:k]


def wilson(successes: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    p = successes / n
    d = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z / d * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(centre - half), float(centre + half)


def newcombe(x1: float, n1: float, x0: float, n0: float, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``x1 / n1 - x0 / n0``.

    Examples
    --------
    >>> [round(v, 4) for v in newcombe(56, 70, 48, 80, 1.959964)]  # Newcombe 1998, Table II
    [0.0524, 0.3339]
    """
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1, z)
    l0, u0 = wilson(x0, n0, z)
    d = p1 - p0
    return d - float(np.hypot(p1 - l1, u0 - p0)), d + float(np.hypot(u1 - p1, p0 - l0))


def _pooled_z_p(x1: float, n1: float, x0: float, n0: float) -> float:
    pool = (x1 + x0) / (n1 + n0)
    se = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n0))
    return two_sided_p((x1 / n1 - x0 / n0) / se if se > 0 else np.nan)


def arm_lift(
    log: CampaignLog,
    arm: str,
    outcome: str,
    *,
    method: str = "difference",
    level: float = LEVEL,
    x: np.ndarray | None = None,
) -> ArmLift:
    """The lift of ``arm`` against the control group on ``outcome``.

    Parameters
    ----------
    log : CampaignLog
        The validated log.
    arm : str
        A non-control arm label.
    outcome : str
        An outcome of the log.
    method : {"difference", "adjusted"}
        See the module docstring.
    level : float
        Confidence level of the interval.
    x : numpy.ndarray, optional
        Encoded features ``[n, d]`` for ``adjusted`` (default: :class:`FeatureEncoder` on the log).

    Returns
    -------
    ArmLift
    """
    if method not in METHODS:
        raise OptionError(f"method must be one of {list(METHODS)}, got {method!r}")
    level = check_level(level)
    if arm not in log.arms[1:]:
        raise OptionError(f"unknown treatment arm {arm!r}; the log's arms are {list(log.arms[1:])}")
    y = log.y(outcome)
    a = log.arms.index(arm)
    treated, control = log.arm == a, log.arm == 0
    w = 1.0 / log.propensity
    est, se, df, m1, m0 = difference_in_means(y, treated, control, w)
    covariates = 0
    x1, n1, x0, n0 = y[treated].sum(), treated.sum(), y[control].sum(), control.sum()
    binary = log.kinds[outcome] == "binary"
    if binary and min(x1, n1 - x1, x0, n0 - x0) < MIN_EVENTS:
        method_used = "difference"
    else:
        method_used = method
    if method_used == "adjusted":
        if x is None:
            x = FeatureEncoder().fit_transform(log.features)
        rows = treated | control
        est, se, df, covariates = regression_adjusted(y[rows], treated[rows], x[rows], w[rows])
    tq = t_value(level, df)
    lo, hi, p_value = est - tq * se, est + tq * se, two_sided_p(est / se if se > 0 else np.nan, df)
    interval = "hc2" if method_used == "adjusted" else "welch"
    constant = np.ptp(w[treated]) == 0 and np.ptp(w[control]) == 0
    if method_used == "difference" and binary and constant:
        lo, hi = newcombe(x1, n1, x0, n0, z_value(level))
        p_value, interval = _pooled_z_p(x1, n1, x0, n0), "newcombe"
    return ArmLift(
        arm=arm,
        outcome=outcome,
        method=method,
        n=int(treated.sum()),
        n_control=int(control.sum()),
        mean=m1,
        mean_control=m0,
        estimate=est,
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p_value,
        level=level,
        df=df,
        covariates=covariates,
        interval=interval,
    )


def lift_table(
    log: CampaignLog,
    *,
    method: str = "difference",
    level: float = LEVEL,
    outcomes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every arm's lift against control on every outcome: one row per (arm, outcome).

    Columns are the fields of :class:`ArmLift`. The adjusted method encodes the features once.

    Examples
    --------
    >>> from core.campaigns.log import validate_log
    >>> df = pd.DataFrame({"arm": ["t", "t", "t", "c", "c", "c"], "y": [3, 4, 5, 1, 2, 3]})
    >>> log = validate_log(df, arm="arm", control="c", outcomes=["y"], min_rows=3)
    >>> row = lift_table(log).iloc[0]
    >>> float(row.estimate), round(float(row.se), 4), round(float(row.ci_low), 3)
    (2.0, 0.8165, -0.267)
    """
    outs = list(outcomes) if outcomes is not None else list(log.outcome_names)
    x = FeatureEncoder().fit_transform(log.features) if method == "adjusted" else None
    rows = [
        asdict(arm_lift(log, a, o, method=method, level=level, x=x))
        for o in outs
        for a in log.arms[1:]
    ]
    return pd.DataFrame(rows, columns=list(ArmLift.__dataclass_fields__))


def arm_summary(log: CampaignLog) -> pd.DataFrame:
    """Rows, share and (inverse-probability weighted) mean outcome of every arm.

    Returns
    -------
    pandas.DataFrame
        One row per arm (control first): ``arm``, ``n``, ``share`` and one column per outcome.
    """
    w = 1.0 / log.propensity
    out = []
    for a, label in enumerate(log.arms):
        m = log.arm == a
        row: dict[str, object] = {"arm": label, "n": int(m.sum()), "share": float(m.mean())}
        for o in log.outcome_names:
            row[o] = weighted_mean(log.y(o)[m], w[m])[0]
        out.append(row)
    return pd.DataFrame(out)
