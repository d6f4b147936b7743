"""The lifetime value a purchase-timing model implies, and when a customer's next purchase or
silence is due.

* :func:`implied_clv`: discounted expected purchases over a horizon times expected spend times
  margin, summed month by month from the model's conditional expectation
  ``E[Y(t) | history]``;
* :func:`next_purchase_weeks`: for BG/NBD, the median wait to the next purchase of an active
  customer, ``ln 2 (alpha + T) / (r + x)`` (the exponential wait at the posterior mean rate);
* :func:`alive_until_weeks`: for BG/NBD, how many more weeks without a purchase until
  ``P(alive)`` falls below a threshold (closed form; ``inf`` where it never does: BG/NBD
  customers without a repeat purchase cannot have dropped out yet).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.common.errors import OptionError

WEEKS_PER_MONTH = 52.18 / 12.0


def implied_clv(
    expected: Callable[[float], np.ndarray],
    spend: np.ndarray,
    *,
    months: int = 12,
    annual_discount: float = 0.10,
    margin: float = 1.0,
) -> np.ndarray:
    """Discounted value of each customer's expected purchases over ``months`` months.

    Parameters
    ----------
    expected
        ``expected(t_weeks) -> [n]`` conditional expected purchases in the next ``t`` weeks.
    spend
        ``[n]`` expected value per purchase (Gamma-Gamma).
    months, annual_discount, margin
        Horizon, yearly discount rate and the share of spend that is margin.
    """
    if months < 1:
        raise OptionError(f"months must be >= 1, got {months}")
    if not 0 <= annual_discount < 1:
        raise OptionError(f"annual_discount must be in [0, 1), got {annual_discount}")
    if not 0 < margin <= 1:
        raise OptionError(f"margin must be in (0, 1], got {margin}")
    total = np.zeros(len(spend))
    prev = np.zeros(len(spend))
    for m in range(1, months + 1):
        t = m * WEEKS_PER_MONTH
        cum = expected(t)
        total += (cum - prev) / (1.0 + annual_discount) ** (t / 52.18)
        prev = cum
    return total * np.asarray(spend, dtype=np.float64) * margin


def next_purchase_weeks(params: dict[str, float], x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Median weeks to the next purchase of an active BG/NBD customer."""
    return np.log(2.0) * (params["alpha"] + T) / (params["r"] + x)


def alive_until_weeks(
    params: dict[str, float],
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    threshold: float = 0.5,
) -> np.ndarray:
    """Weeks of silence after ``T`` until BG/NBD's ``P(alive)`` drops below ``threshold``
    (0 when it is below already; ``inf`` for customers without a repeat purchase)."""
    if not 0 < threshold < 1:
        raise OptionError(f"threshold must be in (0, 1), got {threshold}")
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    out = np.full(len(x), np.inf)
    pos = x > 0
    k = (1.0 / threshold - 1.0) * (b + x[pos] - 1.0) / a
    horizon = (alpha + tx[pos]) * k ** (1.0 / (r + x[pos])) - alpha - T[pos]
    out[pos] = np.maximum(horizon, 0.0)
    return out
