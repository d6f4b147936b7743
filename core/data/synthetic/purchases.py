"""Purchase logs drawn from "buy till you die" processes, with the deviations real logs show.

:func:`purchase_log` simulates a cohort in the shape of the CDNOW sample (Fader, Hardie & Lee
2005): customers make their first purchase in the first ``cohort_weeks`` weeks, then buy as a
Poisson process of rate ``lambda ~ Gamma(r, alpha)`` (per week) and drop out after each repeat
purchase with probability ``p ~ Beta(a, b)`` (BG/NBD); each transaction's value is
``Gamma(p_s, nu)`` with ``nu ~ Gamma(q, v)`` (Gamma-Gamma). Two deviations that make plain
BG/NBD under-predict a holdout period can be switched on (:class:`Deviations`):

* **rate changes**: a share of customers changes its purchase rate once, at a time drawn
  uniformly over ``change_weeks`` weeks after its first purchase, by ``change_factor`` (a
  customer who becomes a regular, or moves on to a rival shop);
* **seasonality**: the purchase rate of everyone is multiplied by
  ``1 + amplitude cos(2 pi (week - peak_week) / 52.18)`` (a December peak by default).

Simulation is vectorised across customers (one round of "next purchase" per loop), by
thinning for the time-varying rate. Dates are days from ``start``; purchases of a customer on
the same day are one transaction (as the CDNOW sample records them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.common.rng import as_generator

#: BG/NBD and Gamma-Gamma estimates of the CDNOW sample (weeks; dollars per transaction).
CDNOW_BGNBD: dict[str, float] = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_SPEND: dict[str, float] = {"p": 6.25, "q": 3.74, "v": 15.44}
#: Columns of the log.
PURCHASE_COLUMNS: tuple[str, ...] = ("customer_id", "date", "quantity", "amount")
_WEEK_DAYS = 7.0
_YEAR_WEEKS = 52.18


@dataclass(frozen=True)
class Deviations:
    """How the simulated cohort departs from plain BG/NBD (see the module docstring)."""

    change_share: float = 0.0
    change_factor: float = 1.0
    change_weeks: float = 78.0
    amplitude: float = 0.0
    peak_week: float = 50.0


#: The deviations of the CDNOW look-alike fixture (tests/fixtures/make_cdnow.py).
CDNOW_LOOKALIKE = Deviations(
    change_share=0.2, change_factor=2.0, change_weeks=78.0, amplitude=0.2, peak_week=50.0
)


def _season(t: np.ndarray, dev: Deviations) -> np.ndarray:
    return 1.0 + dev.amplitude * np.cos(2.0 * np.pi * (t - dev.peak_week) / _YEAR_WEEKS)


def purchase_log(
    n_customers: int,
    rng: np.random.Generator | int | None = 0,
    *,
    weeks: float = 78.0,
    cohort_weeks: float = 12.0,
    purchase: Mapping[str, float] = CDNOW_BGNBD,
    spend: Mapping[str, float] = CDNOW_SPEND,
    deviations: Deviations = Deviations(),
    start: str = "1997-01-01",
    id_prefix: str = "C",
) -> pd.DataFrame:
    """A purchase log of ``n_customers`` drawn from BG/NBD + Gamma-Gamma (see module docstring).

    Parameters
    ----------
    n_customers : int
    rng : Generator, int or None
        Seed.
    weeks : float
        Length of the log from ``start`` (78 = 39 calibration + 39 holdout weeks).
    cohort_weeks : float
        First purchases fall uniformly in the first ``cohort_weeks`` weeks.
    purchase, spend : mapping
        BG/NBD (``r, alpha, a, b``) and Gamma-Gamma (``p, q, v``) parameters.
    deviations : Deviations
        Rate changes and seasonality (none by default: a log of the model itself).

    Returns
    -------
    pandas.DataFrame
        :data:`PURCHASE_COLUMNS`, one row per purchase day, sorted by customer and date.

    Examples
    --------
    >>> log = purchase_log(100, rng=0)
    >>> list(log.columns), bool(log["amount"].gt(0).all())
    (['customer_id', 'date', 'quantity', 'amount'], True)
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        raise OptionError(f"n_customers must be a whole number >= 1, got {n_customers!r}")
    if not 0 < cohort_weeks < weeks:
        raise OptionError(f"cohort_weeks must be in (0, weeks={weeks}), got {cohort_weeks}")
    g = as_generator(rng)
    n = n_customers
    r, alpha, a, b = (float(purchase[k]) for k in ("r", "alpha", "a", "b"))
    lam = g.gamma(r, 1.0 / alpha, n)
    p_drop = g.beta(a, b, n)
    t0 = np.floor(g.random(n) * cohort_weeks * _WEEK_DAYS) / _WEEK_DAYS
    dev = deviations
    changes = g.random(n) < dev.change_share
    change_at = t0 + g.random(n) * dev.change_weeks
    factor = np.where(changes, dev.change_factor, 1.0)
    peak = max(1.0, dev.change_factor) * (1.0 + abs(dev.amplitude))
    lam_max = lam * peak
    cust = [np.arange(n)]
    times = [t0]
    t = t0.copy()
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += g.exponential(1.0, idx.size) / np.maximum(lam_max[idx], 1e-300)
        over = t[idx] > weeks
        alive[idx[over]] = False
        idx = idx[~over]
        rate = lam[idx] * np.where(t[idx] >= change_at[idx], factor[idx], 1.0)
        rate = rate * _season(t[idx], dev)
        accept = g.random(idx.size) * lam_max[idx] < rate
        buy = idx[accept]
        cust.append(buy)
        times.append(t[buy].copy())
        die = buy[g.random(buy.size) < p_drop[buy]]
        alive[die] = False
    c = np.concatenate(cust)
    tt = np.concatenate(times)
    sp, sq, sv = (float(spend[k]) for k in ("p", "q", "v"))
    nu = g.gamma(sq, 1.0 / sv, n)
    value = g.gamma(sp, 1.0, c.size) / nu[c]
    day = np.floor(tt * _WEEK_DAYS).astype(np.int64)
    frame = pd.DataFrame({"c": c, "day": day, "amount": value})
    frame = frame.groupby(["c", "day"], sort=True, as_index=False)["amount"].sum()
    unit = 12.0 + 4.0 * g.random(len(frame))
    frame["quantity"] = np.maximum(1, np.rint(frame["amount"].to_numpy() / unit)).astype(np.int64)
    width = len(str(n))
    ids = np.char.add(id_prefix, np.char.zfill(frame["c"].to_numpy().astype(str), width))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.Timestamp(start) + pd.to_timedelta(frame["day"].to_numpy(), unit="D"),
            "quantity": frame["quantity"].to_numpy(),
            "amount": np.round(frame["amount"].to_numpy(), 2),
        }
    )
