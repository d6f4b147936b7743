"""Temperature schedules for simulated annealing.

Every schedule maps an initial temperature ``t0`` and an iteration number ``k = 0, 1, 2, ...``
to a temperature ``T_k``. Closed forms (all vectorized over ``t0`` and ``k``):

============  ==============================================  ===============================
name          formula                                         parameters (default)
============  ==============================================  ===============================
geometric     ``T_k = t0 * alpha**k``                         ``alpha``; default
                                                              ``final_ratio**(1/steps)`` when
                                                              ``steps`` is given (T falls to
                                                              ``final_ratio * t0``, 1e-3),
                                                              else 0.95
linear        ``T_k = t0 * max(0, 1 - k / steps)``            ``steps`` (required)
logarithmic   ``T_k = t0 / ln(k + e)`` (Boltzmann)            none
cauchy        ``T_k = t0 / (1 + k)`` (fast annealing)         none
lundy-mees    ``T_{k+1} = T_k / (1 + beta * T_k)``,           ``beta``, or ``steps`` and
              i.e. ``T_k = t0 / (1 + beta * k * t0)``         ``final_ratio`` (1e-3) to derive
                                                              ``beta = (1/final_ratio - 1) /
                                                              (steps * t0)``
adaptive      ``T_{k+1} = T_k * exp(gain * (rho_k - a_k))``   ``target`` (0.5), ``target_end``
              where ``a_k`` is the observed acceptance         (0.01), ``gain`` (0.5),
              (exponential moving average, weight            ``smoothing`` (0.1), ``steps``
              ``smoothing``) and ``rho_k`` the target rate,
              decaying geometrically from ``target`` to
              ``target_end`` over ``steps`` iterations
============  ==============================================  ===============================

:func:`temperature` evaluates a schedule for plotting (the adaptive one needs the observed
acceptance indicators to replay). :class:`Schedule` is the stateful form the annealer uses: one
temperature per customer, advanced once per iteration, reset on reheating.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from core.common.errors import OptionError

SCHEDULES: tuple[str, ...] = (
    "geometric",
    "linear",
    "logarithmic",
    "cauchy",
    "lundy-mees",
    "adaptive",
)

DEFAULTS: dict[str, dict[str, float]] = {
    "geometric": {"final_ratio": 1e-3},
    "linear": {},
    "logarithmic": {},
    "cauchy": {},
    "lundy-mees": {"final_ratio": 1e-3},
    "adaptive": {"target": 0.5, "target_end": 0.01, "gain": 0.5, "smoothing": 0.1},
}

_ALLOWED: dict[str, set[str]] = {
    "geometric": {"alpha", "steps", "final_ratio"},
    "linear": {"steps"},
    "logarithmic": {"steps"},
    "cauchy": {"steps"},
    "lundy-mees": {"beta", "steps", "final_ratio"},
    "adaptive": {"target", "target_end", "gain", "smoothing", "steps", "acceptance"},
}


def check_params(name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate a schedule name and its parameters; return the parameters with defaults filled.

    Parameters
    ----------
    name
        One of :data:`SCHEDULES`.
    params
        Schedule parameters (see the module table).

    Returns
    -------
    dict
        ``DEFAULTS[name]`` updated with ``params``.

    Raises
    ------
    ValueError
        Unknown schedule, unknown parameter or a value out of range.
    """
    if name not in SCHEDULES:
        raise OptionError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    params = dict(params or {})
    unknown = set(params) - _ALLOWED[name]
    if unknown:
        raise OptionError(
            f"schedule {name!r} takes no parameter {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_ALLOWED[name]))}"
        )
    out: dict[str, Any] = {**DEFAULTS[name], **params}
    if "alpha" in out and not np.all(
        (np.asarray(out["alpha"]) > 0) & (np.asarray(out["alpha"]) < 1)
    ):
        raise OptionError(f"geometric alpha must be in (0, 1), got {out['alpha']}")
    if out.get("steps") is not None and np.any(np.asarray(out["steps"]) < 1):
        raise OptionError(f"steps must be >= 1, got {out['steps']}")
    if "beta" in out and out["beta"] is not None and float(out["beta"]) <= 0:
        raise OptionError(f"lundy-mees beta must be > 0, got {out['beta']}")
    if "final_ratio" in out and not 0.0 < float(out["final_ratio"]) < 1.0:
        raise OptionError(f"final_ratio must be in (0, 1), got {out['final_ratio']}")
    for key in ("target", "target_end"):
        if key in out and not 0.0 < float(out[key]) < 1.0:
            raise OptionError(f"adaptive {key} must be in (0, 1), got {out[key]}")
    if "gain" in out and float(out["gain"]) <= 0:
        raise OptionError(f"adaptive gain must be > 0, got {out['gain']}")
    if "smoothing" in out and not 0.0 < float(out["smoothing"]) <= 1.0:
        raise OptionError(f"adaptive smoothing must be in (0, 1], got {out['smoothing']}")
    return out


def _alpha(params: Mapping[str, Any]) -> np.ndarray:
    if params.get("alpha") is not None:
        return np.asarray(params["alpha"], dtype=np.float64)
    if params.get("steps") is not None:
        steps = np.asarray(params["steps"], dtype=np.float64)
        return np.asarray(float(params["final_ratio"]) ** (1.0 / steps))
    return np.asarray(0.95)


def _lundy_beta(t0: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    if params.get("beta") is not None:
        return np.broadcast_to(np.float64(params["beta"]), t0.shape)
    if params.get("steps") is None:
        raise OptionError("lundy-mees needs beta, or steps (and final_ratio) to derive it")
    ratio = float(params["final_ratio"])
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = (1.0 / ratio - 1.0) / (np.asarray(params["steps"], dtype=np.float64) * t0)
    return np.where(t0 > 0, beta, 0.0)


def _target(k: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    start, end = float(params["target"]), float(params["target_end"])
    steps = params.get("steps")
    if steps is None or start == end:
        return np.full(np.shape(k), start)
    frac = np.minimum(np.asarray(k, dtype=np.float64) / np.asarray(steps, dtype=np.float64), 1.0)
    return start * (end / start) ** frac


def temperature(name: str, t0: Any, k: Any, **params: Any) -> np.ndarray:
    """Temperature of schedule ``name`` at iteration(s) ``k`` (vectorized, for plotting).

    Parameters
    ----------
    name
        One of :data:`SCHEDULES`.
    t0
        Initial temperature(s), >= 0; broadcast against ``k``.
    k
        Iteration number(s), >= 0.
    **params
        Schedule parameters (module table). ``adaptive`` also needs ``acceptance``: the observed
        acceptance indicators (or rates) ``a_0, a_1, ...`` of one run, and ``k`` must then index
        into that run.

    Returns
    -------
    numpy.ndarray
        float64 temperatures, shape ``broadcast(t0, k)``.

    Examples
    --------
    >>> temperature("geometric", 10.0, [0, 1, 2], alpha=0.5).tolist()
    [10.0, 5.0, 2.5]
    >>> temperature("geometric", 10.0, [0, 100], steps=100, final_ratio=0.01).round(6).tolist()
    [10.0, 0.1]
    >>> temperature("cauchy", 10.0, [0, 1, 4]).tolist()
    [10.0, 5.0, 2.0]
    """
    p = check_params(name, params)
    t0a = np.asarray(t0, dtype=np.float64)
    ka = np.asarray(k, dtype=np.float64)
    if np.any(t0a < 0) or not np.all(np.isfinite(t0a)):
        raise OptionError("t0 must be finite and >= 0")
    if np.any(ka < 0):
        raise OptionError("k must be >= 0")
    t0a, ka = np.broadcast_arrays(t0a, ka)
    if name == "geometric":
        return t0a * _alpha(p) ** ka
    if name == "linear":
        if p.get("steps") is None:
            raise OptionError("linear schedule needs steps (the iteration where T reaches 0)")
        return t0a * np.maximum(0.0, 1.0 - ka / np.asarray(p["steps"], dtype=np.float64))
    if name == "logarithmic":
        return t0a / np.log(ka + math.e)
    if name == "cauchy":
        return t0a / (1.0 + ka)
    if name == "lundy-mees":
        beta = _lundy_beta(t0a, p)
        return t0a / (1.0 + beta * ka * t0a)
    # adaptive: replay the update rule over the observed acceptance
    acceptance = p.get("acceptance")
    if acceptance is None:
        raise OptionError(
            "the adaptive schedule depends on observed acceptance: pass acceptance=[a_0, a_1, ...]"
            " (e.g. the acceptance_rate trace of a JourneyResult)"
        )
    acc = np.asarray(acceptance, dtype=np.float64)
    kmax = int(ka.max()) if ka.size else 0
    if acc.size < kmax:
        raise OptionError(
            f"acceptance has {acc.size} values, need at least {kmax} to reach k={kmax}"
        )
    log_factor = np.zeros(kmax + 1)
    ema = float(p["target"])
    targets = _target(np.arange(kmax + 1), p)
    for i in range(kmax):
        ema += float(p["smoothing"]) * (acc[i] - ema)
        log_factor[i + 1] = log_factor[i] + float(p["gain"]) * (targets[i] - ema)
    return t0a * np.exp(log_factor[ka.astype(np.int64)])


class Schedule:
    """Stateful schedule: one temperature per customer, advanced once per iteration.

    Parameters
    ----------
    name
        One of :data:`SCHEDULES`.
    t0
        Initial temperature per customer, shape ``[m]``.
    **params
        Schedule parameters (module table); ``steps`` is the length of one annealing run.
        ``alpha`` and ``steps`` may be arrays (one value per customer).

    Notes
    -----
    ``k`` counts iterations since the last (re)start per customer, so reheating one customer does
    not affect the others. The closed-form schedules compute ``temperature(name, t0, k)``; the
    adaptive one multiplies each customer's temperature by ``exp(gain * (rho_k - a_k))`` after
    every iteration.
    """

    def __init__(self, name: str, t0: np.ndarray, **params: Any) -> None:
        self.name = name
        self.params = check_params(name, params)
        self.t0 = np.asarray(t0, dtype=np.float64).copy()
        self.k = np.zeros(self.t0.shape, dtype=np.int64)
        self.t = self.t0.copy()
        self.ema = np.full(self.t0.shape, float(self.params.get("target", 0.0)))
        if name == "lundy-mees":
            self._beta = _lundy_beta(self.t0, self.params).copy()
        if name == "geometric":
            self._alpha = _alpha(self.params)

    def step(self, accepted: np.ndarray) -> None:
        """Advance every customer by one iteration; ``accepted`` is this iteration's outcome."""
        self.k += 1
        p = self.params
        if self.name == "adaptive":
            rho = _target(self.k - 1, p)
            self.ema += float(p["smoothing"]) * (accepted - self.ema)
            self.t = self.t * np.exp(float(p["gain"]) * (rho - self.ema))
        elif self.name == "geometric":
            self.t = self.t * self._alpha
        elif self.name == "lundy-mees":
            self.t = self.t0 / (1.0 + self._beta * self.k * self.t0)
        else:
            self.t = temperature(self.name, self.t0, self.k, **p)

    def restart(self, mask: np.ndarray, t0: np.ndarray | None = None) -> None:
        """Reheat the customers in ``mask`` (optionally to new initial temperatures)."""
        if t0 is not None:
            self.t0[mask] = t0
            if self.name == "lundy-mees":
                self._beta = _lundy_beta(self.t0, self.params).copy()
        self.k[mask] = 0
        self.t[mask] = self.t0[mask]
        self.ema[mask] = float(self.params.get("target", 0.0))

    def take(self, keep: np.ndarray) -> None:
        """Keep only the customers at indices ``keep`` (compaction of the active set)."""
        self.t0, self.k, self.t, self.ema = (a[keep] for a in (self.t0, self.k, self.t, self.ema))
        if self.name == "lundy-mees":
            self._beta = self._beta[keep]
        if self.name == "geometric" and self._alpha.ndim:
            self._alpha = self._alpha[keep]
        steps = self.params.get("steps")
        if steps is not None and np.ndim(steps):
            self.params["steps"] = np.asarray(steps)[keep]
