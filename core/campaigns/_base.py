"""What the campaigns family shares: interval levels, quantiles and small array checks."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from core.common.errors import OptionError

#: Default confidence level of every interval of the family.
LEVEL = 0.95


def check_level(level: float) -> float:
    """``level`` as a float in (0, 1), else :class:`OptionError`."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise OptionError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < value < 1.0 or not math.isfinite(value):
        raise OptionError(f"level must be in (0, 1) (e.g. 0.95), got {level!r}")
    return value


def z_value(level: float) -> float:
    """Two-sided standard normal quantile of ``level`` (1.95996... for 0.95)."""
    return float(stats.norm.ppf(0.5 + check_level(level) / 2.0))


def t_value(level: float, df: float) -> float:
    """Two-sided Student t quantile of ``level`` with ``df`` degrees of freedom (normal if inf)."""
    if not np.isfinite(df) or df > 1e6:
        return z_value(level)
    return float(stats.t.ppf(0.5 + check_level(level) / 2.0, max(df, 1.0)))


def two_sided_p(stat: float, df: float = math.inf) -> float:
    """Two-sided p-value of a t (or, with ``df`` infinite, z) statistic; NaN when undefined."""
    if not np.isfinite(stat):
        return float("nan")
    if not np.isfinite(df) or df > 1e6:
        return float(2.0 * stats.norm.sf(abs(stat)))
    return float(2.0 * stats.t.sf(abs(stat), max(df, 1.0)))


def as_float_array(values: object, name: str, n: int | None = None) -> np.ndarray:
    """1-D float array of finite values (length ``n`` when given), else :class:`OptionError`."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise OptionError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise OptionError(f"{name} has {len(arr)} entries; expected {n}")
    if not np.all(np.isfinite(arr)):
        raise OptionError(f"{name} has missing or infinite values")
    return arr
