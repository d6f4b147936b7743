"""The best any model can do on a log of :func:`purchase_log`: the generator's own forecast.

:func:`oracle_holdout` knows what no model of real data knows: the generating parameters
(BG/NBD ``r, alpha, a, b`` and the :class:`Deviations`: rate changes, season). For every
customer it forecasts the holdout purchase days as their *conditional expectation given the
customer's calibration history* under that exact process, and the population total as their
sum. No forecast from the same histories has a lower expected squared error, so its holdout
error and correlation are the ceiling of every model on that log (up to Monte Carlo error).

How (per customer, time in weeks from ``start``, days as the log records them):

* the latent draws are the purchase rate ``lambda``, the dropout probability ``p``, whether and
  when the rate changes; they are drawn by importance sampling (``draws`` per customer, a
  defensive mixture of the prior and two Gamma / Beta proposals centred on the history,
  weighted by prior / proposal);
* the likelihood of the history given a draw is exact for the generator's day records: on a
  day the number of events is Poisson with mean the integral of the rate over that day, every
  event is a purchase followed by dropout with probability ``p``, and events of one day are one
  record (a forward pass over the purchase days, alive or dropped out);
* given a draw and alive at the calibration end, the expected purchase days in the holdout are
  ``sum_d exp(-p Lambda(end, d)) (1 - exp(-mu_d))`` (``mu_d`` the integrated rate of day d);
* the posterior-weighted mean of P(alive) x that is the forecast. ``replicates`` draws of the
  whole holdout from the same posterior give the spread of the realised total around it and
  of the correlation the oracle can reach (what is luck of the holdout, not of the model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln

from core.common.errors import OptionError
from core.common.rng import as_generator
from core.data.synthetic.purchases import _YEAR_WEEKS, CDNOW_BGNBD, Deviations

_DAY = 1.0 / 7.0
_PLAIN = Deviations()  # no deviations: BG/NBD itself


@dataclass(frozen=True)
class OracleForecast:
    """The oracle's holdout forecast of a cohort.

    Attributes
    ----------
    expected : pandas.Series
        Expected holdout purchase days per customer (index: customer id).
    p_alive : pandas.Series
        P(still active at the calibration end | history).
    actual : pandas.Series
        Realised holdout purchase days per customer (from the log).
    replicate_totals : numpy.ndarray
        Holdout totals drawn from the posterior predictive (``replicates`` of them).
    replicate_correlations : numpy.ndarray
        Correlation of ``expected`` with each replicate's per-customer holdout purchases.
    effective_draws : pandas.Series
        Effective importance-sample size per customer (Monte Carlo check).
    """

    expected: pd.Series
    p_alive: pd.Series
    actual: pd.Series
    replicate_totals: np.ndarray
    replicate_correlations: np.ndarray
    effective_draws: pd.Series


def _clock(t: np.ndarray, dev: Deviations) -> np.ndarray:
    """Integral from 0 to ``t`` of the generator's season ``1 + A cos(2 pi (u - peak) / P)``."""
    k = dev.amplitude * _YEAR_WEEKS / (2.0 * np.pi)
    w = 2.0 * np.pi / _YEAR_WEEKS
    return t + k * (np.sin(w * (t - dev.peak_week)) - np.sin(-w * dev.peak_week))


def _gamma_logpdf(x: np.ndarray, shape: float, rate: float) -> np.ndarray:
    return shape * np.log(rate) - gammaln(shape) + (shape - 1.0) * np.log(x) - rate * x


def _beta_logpdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return (a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - betaln(a, b)


def _mixture_logpdf(x: np.ndarray, comps: list[np.ndarray]) -> np.ndarray:
    return np.logaddexp.reduce(np.stack(comps), axis=0) - np.log(len(comps))


def _draw_latent(
    g: np.random.Generator,
    m: int,
    x: int,
    tx: float,
    T: float,
    t0: float,
    par: dict[str, float],
    dev: Deviations,
) -> tuple[np.ndarray, ...]:
    """Importance draws of (lambda, p, factor, change time) and their log weights."""
    r, alpha, a, b = par["r"], par["alpha"], par["a"], par["b"]
    lam_comp = [(r, alpha), (r + x, alpha + T), (r + x, alpha + tx)]
    p_comp = [(a, b), (a, b + x)]
    k = np.arange(m)
    lam = np.empty(m)
    for i, (sh, rt) in enumerate(lam_comp):
        sel = k % 3 == i
        lam[sel] = g.gamma(sh, 1.0 / rt, int(sel.sum()))
    p = np.empty(m)
    for i, (pa, pb) in enumerate(p_comp):
        sel = k % 2 == i
        p[sel] = g.beta(pa, pb, int(sel.sum()))
    lam = np.maximum(lam, 1e-300)
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    logw = _gamma_logpdf(lam, r, alpha) - _mixture_logpdf(
        lam, [_gamma_logpdf(lam, sh, rt) for sh, rt in lam_comp]
    )
    logw += _beta_logpdf(p, a, b) - _mixture_logpdf(p, [_beta_logpdf(p, *c) for c in p_comp])
    changes = g.random(m) < dev.change_share
    factor = np.where(changes, dev.change_factor, 1.0)
    change_at = t0 + g.random(m) * dev.change_weeks
    return lam, p, factor, change_at, logw


@dataclass(frozen=True)
class _Posterior:
    w: np.ndarray  # normalised posterior weights of the draws
    alive: np.ndarray  # P(alive at the calibration end | draw, history)
    given_alive: np.ndarray  # expected holdout purchase days | draw, alive
    lam: np.ndarray
    p: np.ndarray
    f: np.ndarray
    tau_ca: np.ndarray
    ess: float


def _posterior(
    g: np.random.Generator,
    m: int,
    cal: np.ndarray,
    end: int,
    tau: np.ndarray,
    hold_tau: np.ndarray,
    par: dict[str, float],
    dev: Deviations,
) -> _Posterior:
    """Importance draws for one customer whose calibration purchase days are ``cal``."""
    x = cal.size - 1
    lam, p, f, ca, logw = _draw_latent(
        g, m, x, (cal[-1] - cal[0]) * _DAY, (end - cal[0]) * _DAY, cal[0] * _DAY, par, dev
    )
    tau_ca = _clock(ca, dev)

    def cum(tk: np.ndarray) -> np.ndarray:
        """Integrated rate from week 0 at clock values ``tk`` (draws x points)."""
        tk = tk[None, :]
        return lam[:, None] * (tk + (f[:, None] - 1.0) * np.maximum(tk - tau_ca[:, None], 0.0))

    c_start = cum(tau[cal])  # at the start of each purchase day
    c_next = cum(tau[cal + 1])  # at its end
    mu = c_next - c_start
    # the first purchase opens its day: the day's further events each end in dropout w.p. p
    log_alive = -p * mu[:, 0]
    log_dead = np.log(-np.expm1(-p * mu[:, 0]))
    for j in range(1, cal.size):
        la = log_alive - (c_start[:, j] - c_next[:, j - 1])  # no purchase in between
        log_dead = la + np.log(-np.expm1(-p * mu[:, j]))
        log_alive = la - mu[:, j] + np.log(np.expm1(mu[:, j] * (1.0 - p)))
    log_alive = log_alive - (cum(tau[[end]])[:, 0] - c_next[:, -1])
    loglik = np.logaddexp(log_alive, log_dead)
    post = logw + loglik
    w = np.exp(post - post.max())
    w /= w.sum()
    hold = cum(hold_tau)
    mu_h = np.diff(hold, axis=1)
    surv = np.exp(-p[:, None] * (hold[:, :-1] - hold[:, :1]))
    given_alive = np.sum(surv * -np.expm1(-mu_h), axis=1)
    return _Posterior(
        w=w,
        alive=np.exp(log_alive - loglik),
        given_alive=given_alive,
        lam=lam,
        p=p,
        f=f,
        tau_ca=tau_ca,
        ess=1.0 / float(np.sum(w**2)),
    )


def oracle_holdout(
    log: pd.DataFrame,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp,
    *,
    purchase: Mapping[str, float] = CDNOW_BGNBD,
    deviations: Deviations = _PLAIN,
    start: str = "1997-01-01",
    draws: int = 2000,
    replicates: int = 200,
    rng: np.random.Generator | int | None = 0,
) -> OracleForecast:
    """The generator's own conditional expectation of each customer's holdout purchase days.

    Parameters
    ----------
    log : pandas.DataFrame
        What :func:`core.data.synthetic.purchases.purchase_log` returned (``customer_id``,
        ``date``), drawn with ``purchase``, ``deviations`` and ``start``.
    calibration_end, holdout_end : str or Timestamp
        Last day of the calibration and of the holdout period (both inclusive).
    purchase, deviations, start
        The generating process (the arguments given to ``purchase_log``).
    draws : int
        Importance draws per customer.
    replicates : int
        Posterior-predictive draws of the whole holdout (0: none).
    rng : Generator, int or None
        Seed.

    Returns
    -------
    OracleForecast

    Examples
    --------
    >>> from core.data.synthetic.purchases import purchase_log
    >>> log = purchase_log(50, rng=0)
    >>> o = oracle_holdout(log, "1997-09-30", "1998-06-30", draws=200, replicates=0)
    >>> len(o.expected), bool((o.p_alive <= 1).all())
    (50, True)
    """
    if draws < 10:
        raise OptionError(f"draws must be at least 10, got {draws}")
    g = as_generator(rng)
    origin = pd.Timestamp(start)
    cal_day = (pd.Timestamp(calibration_end) - origin).days
    hold_day = (pd.Timestamp(holdout_end) - origin).days
    if not 0 <= cal_day < hold_day:
        raise OptionError(
            f"need start {start} <= calibration_end {calibration_end} < holdout_end {holdout_end}"
        )
    day = (pd.to_datetime(log["date"]) - origin).dt.days.to_numpy()
    frame = pd.DataFrame({"id": log["customer_id"].to_numpy(), "day": day}).drop_duplicates()
    frame = frame.sort_values(["id", "day"])
    first = frame.groupby("id", sort=True)["day"].min()
    ids = first.index[first <= cal_day]
    end, stop = cal_day + 1, hold_day + 1  # exclusive day ends
    tau = _clock(np.arange(stop + 1) * _DAY, deviations)
    hold_tau = tau[end : stop + 1]
    par = {k: float(purchase[k]) for k in ("r", "alpha", "a", "b")}
    days_of = frame.groupby("id", sort=True)["day"].apply(np.asarray)
    n = len(ids)
    expected = np.empty(n)
    alive_p = np.empty(n)
    actual = np.empty(n)
    ess = np.empty(n)
    keep = max(replicates, 0)
    rep_lam = np.empty((n, keep))
    rep_p = np.empty((n, keep))
    rep_f = np.empty((n, keep))
    rep_tc = np.empty((n, keep))
    rep_alive = np.empty((n, keep), dtype=bool)
    for i, cid in enumerate(ids):
        d = days_of[cid]
        cal = d[d <= cal_day]
        actual[i] = np.count_nonzero((d > cal_day) & (d <= hold_day))
        post = _posterior(g, draws, cal, end, tau, hold_tau, par, deviations)
        if post.ess < draws / 4:  # a history far from the proposals (heavy buyers): redraw
            post = _posterior(g, 10 * draws, cal, end, tau, hold_tau, par, deviations)
        ess[i] = post.ess
        expected[i] = float(post.w @ (post.alive * post.given_alive))
        alive_p[i] = float(post.w @ post.alive)
        if keep:
            pick = g.choice(post.w.size, size=keep, p=post.w)
            rep_lam[i], rep_p[i], rep_f[i] = post.lam[pick], post.p[pick], post.f[pick]
            rep_tc[i] = post.tau_ca[pick]
            rep_alive[i] = g.random(keep) < post.alive[pick]
    totals, corrs = _replicate(g, hold_tau, rep_lam, rep_p, rep_f, rep_tc, rep_alive, expected)
    idx = pd.Index(ids, name="id")
    return OracleForecast(
        expected=pd.Series(expected, index=idx),
        p_alive=pd.Series(alive_p, index=idx),
        actual=pd.Series(actual, index=idx),
        replicate_totals=totals,
        replicate_correlations=corrs,
        effective_draws=pd.Series(ess, index=idx),
    )


def _replicate(
    g: np.random.Generator,
    hold_tau: np.ndarray,
    lam: np.ndarray,
    p: np.ndarray,
    f: np.ndarray,
    tau_ca: np.ndarray,
    alive: np.ndarray,
    expected: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Holdout purchase days drawn day by day from posterior draws (customers x replicates)."""
    if lam.shape[1] == 0:
        return np.zeros(0), np.zeros(0)
    count = np.zeros(lam.shape)
    alive = alive.copy()
    prev = lam * (hold_tau[0] + (f - 1.0) * np.maximum(hold_tau[0] - tau_ca, 0.0))
    for k in range(1, hold_tau.size):
        cur = lam * (hold_tau[k] + (f - 1.0) * np.maximum(hold_tau[k] - tau_ca, 0.0))
        events = g.poisson(np.where(alive, cur - prev, 0.0))
        count += events > 0
        # every event is a purchase followed by dropout with probability p
        alive &= g.random(lam.shape) < (1.0 - p) ** events
        prev = cur
    totals = count.sum(axis=0)
    corrs = np.array([np.corrcoef(expected, count[:, j])[0, 1] for j in range(lam.shape[1])])
    return totals, corrs
