"""Planning the next test: how many customers per arm, and how large a control group.

For ``k`` treatment arms each compared with one shared control group, a two-sided test at
level ``alpha`` that detects a lift of ``mde`` with probability ``power`` needs, per treatment
arm (Fleiss, Levin & Paik 2003, eq. 4.14 without continuity correction; Chow, Shao & Wang 2008,
ch. 4)::

    binary:  n_t = (z_a sqrt(pbar (1 - pbar) (1 + 1/r)) + z_b sqrt(p_t (1 - p_t) + p_c (1 - p_c) / r))^2 / mde^2
    amount:  n_t = (z_a + z_b)^2 sd^2 (1 + 1/r) / mde^2

with ``p_c`` the control rate, ``p_t = p_c + mde``, ``pbar = (p_t + r p_c) / (1 + r)``,
``r = n_control / n_t`` and ``z_a = z(1 - alpha / 2)``, ``z_b = z(power)``. The control group
that minimises the total for ``k`` arms is ``r = sqrt(k)`` (each comparison shares it), i.e. a
control share of ``sqrt(k) / (k + sqrt(k))``: half the customers for one arm, a third for four.
:func:`min_control_share` instead finds the smallest control share that still reaches the
power with the customers available. ``correction="bonferroni"`` tests each of the ``k``
comparisons at ``alpha / k``.

Examples
--------
The textbook case, 10% against 15% at alpha 0.05 and power 0.8, needs 686 per group (Fleiss
et al. table without continuity correction):

>>> sample_size(0.10, 0.05).n_per_arm
686
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from core.common.errors import OptionError

KINDS = ("binary", "amount")
CORRECTIONS = ("none", "bonferroni")


@dataclass(frozen=True)
class TestPlan:
    """Sizes of a test that detects ``mde`` with the given power.

    ``n_per_arm`` rows for each of the ``n_treatments`` treatment arms and ``n_control`` for
    the control group (``n_total`` in all; ``control_share`` of them in control).
    """

    __test__ = False  # not a pytest test class

    kind: str
    baseline: float
    mde: float
    sd: float | None
    alpha: float
    power: float
    n_treatments: int
    correction: str
    ratio: float
    n_per_arm: int
    n_control: int
    n_total: int
    control_share: float


def _check(
    baseline: float,
    mde: float,
    kind: str,
    sd: float | None,
    alpha: float,
    power: float,
    n_treatments: int,
    correction: str,
) -> tuple[float, float, float]:
    """Checked inputs; returns ``(z_alpha, z_beta, sd)``."""
    if kind not in KINDS:
        raise OptionError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if correction not in CORRECTIONS:
        raise OptionError(f"correction must be one of {list(CORRECTIONS)}, got {correction!r}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise OptionError(f"alpha and power must be in (0, 1), got {alpha} and {power}")
    if isinstance(n_treatments, bool) or not isinstance(n_treatments, int) or n_treatments < 1:
        raise OptionError(f"n_treatments must be a whole number >= 1, got {n_treatments!r}")
    if not math.isfinite(mde) or mde == 0:
        raise OptionError(f"the minimum detectable lift must be a non-zero number, got {mde}")
    if kind == "binary":
        if not 0 <= baseline <= 1 or not 0 <= baseline + mde <= 1:
            raise OptionError(
                f"binary outcome: the control rate {baseline} and the treated rate "
                f"{baseline + mde} must both be in [0, 1]"
            )
        s = math.sqrt(baseline * (1 - baseline))
    else:
        if sd is None or not math.isfinite(sd) or sd <= 0:
            raise OptionError("amount outcome: give the standard deviation (sd > 0)")
        s = float(sd)
    a = alpha / n_treatments if correction == "bonferroni" else alpha
    return float(stats.norm.ppf(1 - a / 2)), float(stats.norm.ppf(power)), s


def _unit_errors(baseline: float, mde: float, kind: str, sd: float, r: float):
    """Standard errors of the lift with one treated row (``r`` control rows per treated row):
    ``(under the null, under the alternative)``; with ``n`` treated rows divide by ``sqrt(n)``."""
    if kind == "amount":
        s = sd * math.sqrt(1 + 1 / r)
        return s, s
    pc, pt = baseline, baseline + mde
    pbar = (pt + r * pc) / (1 + r)
    return (
        math.sqrt(pbar * (1 - pbar) * (1 + 1 / r)),
        math.sqrt(pt * (1 - pt) + pc * (1 - pc) / r),
    )


def _n_treated(baseline: float, mde: float, kind: str, sd: float, za: float, zb: float, r: float):
    s0, s1 = _unit_errors(baseline, mde, kind, sd, r)
    return (za * s0 + zb * s1) ** 2 / mde**2


def sample_size(
    baseline: float,
    mde: float,
    *,
    kind: str = "binary",
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    n_treatments: int = 1,
    ratio: float | None = None,
    correction: str = "none",
) -> TestPlan:
    """Rows per arm and in control to detect a lift of ``mde`` (see the module docstring).

    Parameters
    ----------
    baseline : float
        The control group's rate (binary) or mean (amount).
    mde : float
        Minimum detectable lift, in the outcome's units (probability points for binary:
        0.02 = two points).
    kind : {"binary", "amount"}
        The outcome's kind.
    sd : float, optional
        Standard deviation of an amount outcome (e.g. the control group's).
    alpha, power : float
        Two-sided significance level and power.
    n_treatments : int
        Treatment arms sharing the control group.
    ratio : float, optional
        Control rows per treatment-arm row (default ``sqrt(n_treatments)``, the optimum).
    correction : {"none", "bonferroni"}
        Multiple-comparison correction over the ``n_treatments`` comparisons.

    Returns
    -------
    TestPlan
    """
    za, zb, s = _check(baseline, mde, kind, sd, alpha, power, n_treatments, correction)
    r = math.sqrt(n_treatments) if ratio is None else float(ratio)
    if not math.isfinite(r) or r <= 0:
        raise OptionError(f"ratio must be a positive number, got {ratio!r}")
    nt = math.ceil(_n_treated(baseline, mde, kind, s, za, zb, r) - 1e-9)
    nc = math.ceil(r * nt - 1e-9)
    total = nt * n_treatments + nc
    return TestPlan(
        kind=kind,
        baseline=float(baseline),
        mde=float(mde),
        sd=None if kind == "binary" else s,
        alpha=float(alpha),
        power=float(power),
        n_treatments=n_treatments,
        correction=correction,
        ratio=r,
        n_per_arm=nt,
        n_control=nc,
        n_total=total,
        control_share=nc / total,
    )


def achieved_power(
    n_per_arm: int,
    n_control: int,
    baseline: float,
    mde: float,
    *,
    kind: str = "binary",
    sd: float | None = None,
    alpha: float = 0.05,
    n_treatments: int = 1,
    correction: str = "none",
) -> float:
    """Power of a two-sided test of one arm against control with the given sizes."""
    za, _, s = _check(baseline, mde, kind, sd, alpha, 0.5, n_treatments, correction)
    if n_per_arm < 1 or n_control < 1:
        raise OptionError("n_per_arm and n_control must be >= 1")
    s0, s1 = _unit_errors(baseline, mde, kind, s, n_control / n_per_arm)
    se0, se1 = s0 / math.sqrt(n_per_arm), s1 / math.sqrt(n_per_arm)
    return float(stats.norm.cdf((abs(mde) - za * se0) / se1))


def min_control_share(
    n_total: int,
    baseline: float,
    mde: float,
    *,
    kind: str = "binary",
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    n_treatments: int = 1,
    correction: str = "none",
) -> TestPlan | None:
    """The smallest control group that still detects ``mde`` with ``n_total`` customers.

    Returns
    -------
    TestPlan or None
        The plan with the smallest control share whose total fits in ``n_total`` (the
        treatment arms get the rest), or None when even the best split needs more customers.
    """
    za, zb, s = _check(baseline, mde, kind, sd, alpha, power, n_treatments, correction)
    if isinstance(n_total, bool) or not isinstance(n_total, int) or n_total < 2:
        raise OptionError(f"n_total must be a whole number >= 2, got {n_total!r}")

    def total(r: float) -> float:
        return _n_treated(baseline, mde, kind, s, za, zb, r) * (n_treatments + r)

    hi = math.sqrt(n_treatments)
    if total(hi) > n_total:
        return None
    lo = 1e-6
    for _ in range(100):  # total(r) decreases on (0, sqrt(k)]: bisect for total(r) = n_total
        mid = math.sqrt(lo * hi)
        if total(mid) > n_total:
            lo = mid
        else:
            hi = mid
    plan = sample_size(
        baseline,
        mde,
        kind=kind,
        sd=sd,
        alpha=alpha,
        power=power,
        n_treatments=n_treatments,
        ratio=hi,
        correction=correction,
    )
    if plan.n_total > n_total:  # rounding up may cross the budget: take the next ratio up
        plan = sample_size(
            baseline,
            mde,
            kind=kind,
            sd=sd,
            alpha=alpha,
            power=power,
            n_treatments=n_treatments,
            ratio=min(hi * 1.001, math.sqrt(n_treatments)),
            correction=correction,
        )
    return plan
