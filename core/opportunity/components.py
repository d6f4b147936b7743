"""Opportunity components and their live recombination with weights and business levers.

An *estimator* (see :mod:`core.opportunity.estimators`) turns customer data into **components**: for every
customer ``c``, predecessor ``i`` (row 0 = the start node, i.e. the customer's current portfolio;
row ``1 + i`` = right after product ``i`` was taken), offered product ``j`` and key factor ``k``
in ``("cltv", "churn", "satisfaction")``, the normalised improvement ``C[c, i, j, k]``. Positive
always means good: CLTV up, churn probability down, satisfaction up.

The **opportunity** of an offer for weights ``w`` (``>= 0``), per-product levers ``lever_j``
(``>= 0``, default 1) and an optional acceptance propensity ``p[c, j]`` is::

    O_w[c, i, j] = lever_j * p[c, j] * sum_k w_k * C[c, i, j, k]

(the commercial next-best-action arbitration: priority = propensity x value x lever). Moving a
weight slider never re-runs a model: :func:`combine` recomputes ``O_w`` from cached components
(one float32 matrix-vector product; ~ms for 7,043 customers, see ``benchmarks/opportunity.py``).

Normalisation
-------------
Each estimator yields *raw* effects in its own units (dollars of CLTV, probability points of
churn avoided, Satisfaction Score points, or probabilities for ``peer-bayes``). Factor ``k`` is
divided by a robust population scale ``scale[k]``: the 75th percentile of ``|raw effect|`` over
all eligible first-step offers ``(c, j)`` (falling back to the largest ``|raw effect|``, then to
1, when that is 0). After it, a typical large first-step effect is about 1 in every factor, so
weights 1/1/1 mean "comparable importance", and ``values * scale[k]`` gives back raw units (the
dashboard shows "+$120 CLTV"). The scale can be passed in (``scale=``) to score new customers
on the same footing as a reference population.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError, OptionError
from core.common.progress import Progress
from core.data import schema
from core.data.catalog import Catalog
from core.data.schema import FACTORS

ESTIMATORS: tuple[str, ...] = ("peer-bayes", "counterfactual", "neighbours", "dr", "campaign")
#: The estimators that learn from the customer table alone (``campaign`` needs a campaign log).
DATA_ESTIMATORS: tuple[str, ...] = ("peer-bayes", "counterfactual", "neighbours", "dr")
SCALE_QUANTILE = 0.75
#: Opportunity of a step that is credibly harmful (its upper bound is below zero): no solver
#: recommends it, whatever it would unlock after it.
NOT_CREDIBLE = -1.0e4


@dataclass(frozen=True, eq=False)
class Components:
    """Normalised per-customer, per-transition, per-factor improvements of every offer.

    Attributes
    ----------
    values : numpy.ndarray
        float32 ``[n, 1 + P, P, 3]``, C-contiguous. ``values[c, 0, j, k]``: improvement of factor
        ``k`` when ``j`` is the first offer (from the current portfolio); ``values[c, 1 + i, j,
        k]``: when ``j`` is offered right after ``i``. Positive = good. Zero wherever ``j`` is
        not eligible for ``c`` and on the diagonal ``values[c, 1 + j, j]``.
    eligible : numpy.ndarray
        bool ``[n, P]``: not held and not excluded by a held product. Prerequisites are *not*
        checked here (a journey may meet them before ``j``).
    held : numpy.ndarray
        bool ``[n, P]``: current holdings.
    customer_ids : numpy.ndarray
        One id per customer (``Customer ID`` or the row number).
    product_keys : tuple of str
        The ``P`` products, in catalog order.
    factors : tuple of str
        ``("cltv", "churn", "satisfaction")``.
    scale : dict
        Raw units per normalised unit, per factor (``raw = values * scale[k]``).
    estimator : str
        Name of the estimator that produced the components.
    seconds : float
        Wall time to build them.
    units : dict
        Human description of each factor's raw unit.
    notes : tuple of str
        Caveats (e.g. a factor unavailable in the data, and so zero).
    std : numpy.ndarray or None
        float32 ``[n, 1 + P, P, 3]`` standard errors of ``values`` (same units), from estimators
        that say how sure they are (``dr``); None otherwise.
    uncertainty : str
        What ``std`` measures.
    bias : numpy.ndarray or None
        float32 ``[P, 3]`` (same units as ``values``, >= 0): how far adjusting for the recorded
        customer features moved each product's average effect (``dr``: the naive difference
        between holders and non-holders minus the doubly robust average). The do-no-harm rule
        allows for unrecorded traits confounding ``confounding`` times as strongly
        (:func:`spread`); None for estimators that do not measure it.
    """

    values: np.ndarray
    eligible: np.ndarray
    held: np.ndarray
    customer_ids: np.ndarray
    product_keys: tuple[str, ...]
    factors: tuple[str, ...] = FACTORS
    scale: dict[str, float] = field(default_factory=dict)
    estimator: str = ""
    seconds: float = 0.0
    units: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    std: np.ndarray | None = None
    uncertainty: str = ""
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        v = self.values
        if not isinstance(v, np.ndarray) or v.ndim != 4:
            raise OptionError("values must be a numpy array [n, 1 + P, P, K]")
        n, rows, p, k = v.shape
        if rows != p + 1 or k != len(self.factors) or p != len(self.product_keys):
            raise OptionError(
                f"values has shape {v.shape}; expected [n, {len(self.product_keys) + 1}, "
                f"{len(self.product_keys)}, {len(self.factors)}]"
            )
        if v.dtype != np.float32 or not v.flags.c_contiguous:
            object.__setattr__(self, "values", np.ascontiguousarray(v, dtype=np.float32))
        for name in ("eligible", "held"):
            a = getattr(self, name)
            if a.shape != (n, p) or a.dtype != np.bool_:
                raise OptionError(f"{name} must be bool [{n}, {p}], got {a.dtype} {a.shape}")
        if len(self.customer_ids) != n:
            raise OptionError(f"customer_ids has {len(self.customer_ids)} entries for {n} rows")
        if self.std is not None:
            s = np.asarray(self.std)
            if s.shape != v.shape:
                raise OptionError(f"std must have the shape of values {v.shape}, got {s.shape}")
            if s.dtype != np.float32 or not s.flags.c_contiguous:
                object.__setattr__(self, "std", np.ascontiguousarray(s, dtype=np.float32))
        if self.bias is not None:
            b = np.asarray(self.bias, dtype=np.float32)
            if b.shape != (p, k):
                raise OptionError(f"bias must have shape {(p, k)}, got {b.shape}")
            if not np.all(np.isfinite(b)) or b.min(initial=0) < 0:
                raise OptionError("bias must hold finite numbers >= 0")
            object.__setattr__(self, "bias", np.ascontiguousarray(b))

    @property
    def n_customers(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_products(self) -> int:
        return int(self.values.shape[2])

    def raw(self) -> np.ndarray:
        """Components in raw units (float32 ``[n, 1 + P, P, 3]``)."""
        s = np.array([self.scale.get(f, 1.0) for f in self.factors], dtype=np.float32)
        return self.values * s

    def subset(self, idx: Any) -> Components:
        """The components of some customers (index, slice or boolean mask)."""
        return Components(
            values=np.ascontiguousarray(self.values[idx]),
            eligible=self.eligible[idx],
            held=self.held[idx],
            customer_ids=np.asarray(self.customer_ids)[idx],
            product_keys=self.product_keys,
            factors=self.factors,
            scale=dict(self.scale),
            estimator=self.estimator,
            seconds=self.seconds,
            units=dict(self.units),
            notes=self.notes,
            std=None if self.std is None else np.ascontiguousarray(self.std[idx]),
            uncertainty=self.uncertainty,
            bias=self.bias,
        )


# --------------------------------------------------------------------------------------------
# eligibility, normalisation
# --------------------------------------------------------------------------------------------


def eligibility(catalog: Catalog, held: np.ndarray) -> np.ndarray:
    """bool ``[n, P]``: products neither held nor excluded by a held product."""
    held = np.asarray(held, dtype=bool)
    excl = catalog.excludes_matrix()
    excluded = (held.astype(np.uint8) @ excl.astype(np.uint8)) > 0
    return ~held & ~excluded


def offerable_now(catalog: Catalog, held: np.ndarray) -> np.ndarray:
    """bool ``[n, P]``: eligible *and* every prerequisite already held (a valid first offer)."""
    held = np.asarray(held, dtype=bool)
    req = catalog.requires_matrix()
    missing = (~held).astype(np.uint8) @ req.T.astype(np.uint8)  # [n, P]: unmet prerequisites
    return eligibility(catalog, held) & (missing == 0)


def robust_scale(effects: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Robust typical size of effects: the 75th percentile of ``|effects|`` over ``mask``.

    Falls back to the largest ``|effect|`` and then to 1.0 so the result is always > 0.
    """
    e = np.abs(np.asarray(effects, dtype=np.float64))
    if mask is not None:
        e = e[np.broadcast_to(mask, e.shape)]
    e = e[np.isfinite(e)]
    if e.size == 0:
        return 1.0
    s = float(np.quantile(e, SCALE_QUANTILE))
    if s <= 0:
        s = float(e.max())
    return s if s > 0 else 1.0


def normalise(
    raw: np.ndarray, eligible: np.ndarray, scale: Mapping[str, float] | None = None
) -> tuple[np.ndarray, dict[str, float]]:
    """Divide each factor by its scale; zero ineligible offers and the diagonal ``[1 + j, j]``.

    Parameters
    ----------
    raw : numpy.ndarray
        ``[n, 1 + P, P, 3]`` raw effects, positive = good.
    eligible : numpy.ndarray
        bool ``[n, P]``.
    scale : mapping, optional
        Given scales (raw units per normalised unit); computed with :func:`robust_scale` over
        the eligible first-step effects when omitted.

    Returns
    -------
    (values, scale)
        float32 C-contiguous values and the scale used.
    """
    out = np.ascontiguousarray(raw, dtype=np.float32).copy()
    out[~np.isfinite(out)] = 0.0
    used: dict[str, float] = {}
    for k, f in enumerate(FACTORS):
        if scale is not None and f in scale:
            s = float(scale[f])
            if not np.isfinite(s) or s <= 0:
                raise CJOError(f"scale['{f}'] = {s!r}: must be a positive number.")
        else:
            s = robust_scale(out[:, 0, :, k], eligible)
        used[f] = s
        out[..., k] /= np.float32(s)
    out *= eligible[:, None, :, None]
    p = out.shape[2]
    out[:, 1 + np.arange(p), np.arange(p), :] = 0.0  # a product never follows itself
    return out, used


# --------------------------------------------------------------------------------------------
# weights, levers, combine
# --------------------------------------------------------------------------------------------


def parse_weights(weights: Mapping[str, float] | Sequence[float]) -> np.ndarray:
    """Weights as float32 ``[3]`` in :data:`FACTORS` order; rejects negative or unknown ones.

    A mapping may omit factors (weight 0).
    """
    if isinstance(weights, Mapping):
        unknown = sorted(set(weights) - set(FACTORS))
        if unknown:
            raise CJOError(f"unknown weight(s) {unknown}; the factors are {list(FACTORS)}.")
        vals = [weights.get(f, 0.0) for f in FACTORS]
    else:
        vals = list(weights)
        if len(vals) != len(FACTORS):
            raise CJOError(
                f"give {len(FACTORS)} weights (cltv, churn, satisfaction), got {len(vals)}."
            )
    try:
        w = np.array(vals, dtype=np.float64)
    except (TypeError, ValueError):
        raise CJOError(f"weights must be numbers, got {vals!r}.") from None
    bad = [f for f, x in zip(FACTORS, w, strict=True) if not np.isfinite(x) or x < 0]
    if bad:
        raise CJOError(
            f"weight(s) for {bad} must be finite numbers >= 0 (got {dict(zip(FACTORS, vals, strict=True))}). "
            "Fix: use 0 to ignore a factor."
        )
    return w.astype(np.float32)


def parse_levers(levers: Mapping[str, float] | None, product_keys: Sequence[str]) -> np.ndarray:
    """Levers as float32 ``[P]`` (default 1); rejects negative levers and unknown products."""
    out = np.ones(len(product_keys), dtype=np.float32)
    if not levers:
        return out
    unknown = sorted(set(levers) - set(product_keys))
    if unknown:
        raise CJOError(
            f"lever(s) for unknown product(s) {unknown}; products: {list(product_keys)}."
        )
    for key, value in levers.items():
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise CJOError(f"lever for '{key}' must be a number, got {value!r}.") from None
        if not np.isfinite(x) or x < 0:
            raise CJOError(
                f"lever for '{key}' is {value!r}; levers are multipliers >= 0 "
                "(0 switches a product off, 1 is neutral)."
            )
        out[list(product_keys).index(key)] = x
    return out


def spread(components: Components, z: float, confounding: float = 0.0) -> np.ndarray | None:
    """Half-width of every component's interval: ``z * std + confounding * bias``.

    ``bias`` (per product and factor, :attr:`Components.bias`) is what adjusting for the
    recorded features moved the product's average effect; ``confounding`` says how strongly
    unrecorded traits may confound compared with them (0: not at all, the estimation noise
    alone; 1: as strongly again), the benchmark of a sensitivity analysis. The allowance is the
    same for every customer who could take the product (0 elsewhere and on the diagonal). None
    without ``std``.
    """
    if components.std is None:
        return None
    out = np.float32(z) * components.std
    if confounding > 0 and components.bias is not None:
        p = components.n_products
        allow = (
            np.broadcast_to((np.float32(confounding) * components.bias)[None, None], out.shape)
            * components.eligible[:, None, :, None]
        )
        allow[:, 1 + np.arange(p), np.arange(p), :] = 0.0
        out = out + allow
    return np.ascontiguousarray(out, dtype=np.float32)


def shifted(components: Components, z: float, confounding: float = 0.0) -> np.ndarray:
    """Values moved by ``z`` standard errors, per factor: ``C + z * std`` (float32, same shape).

    With ``confounding > 0`` also by the allowance for unrecorded confounding in the direction
    of ``z`` (:func:`spread`). Factor errors are combined conservatively: a weighted sum of
    shifted factors is a bound of the weighted estimate whatever their correlation. Without
    ``std`` (or ``z == 0``) the values themselves.
    """
    if components.std is None or z == 0:
        return components.values
    width = spread(components, abs(z), confounding)
    assert width is not None
    return components.values + np.float32(np.sign(z)) * width


def check_confounding(confounding: float) -> float:
    """``confounding`` as a float, or one clear error when it is negative or not finite."""
    try:
        value = float(confounding)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise OptionError(
            f"confounding {confounding!r}: use a number >= 0 (0: no allowance for unrecorded "
            "confounding; 0.5: half as strong as the recorded features)."
        )
    return value


def risk_z(level: float) -> float:
    """The one-sided normal quantile of a confidence ``level`` in [0.5, 1) (0.9 -> 1.28)."""
    from statistics import NormalDist

    if not 0.5 <= float(level) < 1.0:
        raise OptionError(f"risk level {level}: use a number in [0.5, 1), e.g. 0.9.")
    return float(NormalDist().inv_cdf(float(level)))


def combine(
    components: Components,
    weights: Mapping[str, float] | Sequence[float],
    levers: Mapping[str, float] | None = None,
    propensity: np.ndarray | None = None,
    *,
    risk: float = 0.0,
    confounding: float = 0.0,
) -> np.ndarray:
    """Opportunity ``O_w[c, i, j] = lever_j * propensity[c, j] * sum_k w_k * C[c, i, j, k]``.

    With ``risk = z > 0`` and components that carry standard errors, the opportunity is the
    lower bound ``sum_k w_k (C_k - z * std_k)`` (:func:`shifted`), and a step whose *upper*
    bound ``sum_k w_k (C_k + z * std_k)`` is below zero (credibly harmful) gets
    :data:`NOT_CREDIBLE`, so no journey recommends it. ``confounding`` (>= 0, only with
    ``risk > 0``) widens both bounds by that multiple of the components' ``bias``
    (:func:`spread`): an allowance for traits the data does not record.

    Parameters
    ----------
    components : Components
        Cached components (:func:`build_components`).
    weights : mapping or sequence
        ``{"cltv": w1, "churn": w2, "satisfaction": w3}`` or ``(w1, w2, w3)``, each >= 0.
    levers : mapping, optional
        ``{product_key: multiplier >= 0}``; products not named keep 1.
    propensity : numpy.ndarray, optional
        ``[n, P]`` acceptance probabilities in [0, 1] (multiplied in when given).

    Returns
    -------
    numpy.ndarray
        float32 ``[n, 1 + P, P]``.

    Raises
    ------
    CJOError
        Negative, non-finite or unknown weights or levers, or a propensity of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> c = Components(np.ones((2, 3, 2, 3), np.float32), np.ones((2, 2), bool),
    ...                np.zeros((2, 2), bool), np.arange(2), ("a", "b"))
    >>> combine(c, (1, 0, 2), levers={"b": 0.5})[0, 0].tolist()
    [3.0, 1.5]
    """
    if risk < 0 or not np.isfinite(risk):
        raise OptionError(f"risk {risk}: use a number >= 0 (0: the estimate itself).")
    check_confounding(confounding)
    w = parse_weights(weights)
    n, rows, p, k = components.values.shape
    mult = parse_levers(levers, components.product_keys)
    width = spread(components, risk, confounding) if risk > 0 else None  # once, for both bounds
    harmful = None
    if width is None:
        out = (components.values.reshape(-1, k) @ w).reshape(n, rows, p)
    else:
        out = ((components.values - width).reshape(-1, k) @ w).reshape(n, rows, p)
        upper = ((components.values + width).reshape(-1, k) @ w).reshape(n, rows, p)
        harmful = upper < 0
    if propensity is not None:
        prop = np.asarray(propensity, dtype=np.float32)
        if prop.shape != (n, p):
            raise CJOError(f"propensity must have shape {(n, p)}, got {prop.shape}.")
        if not np.all(np.isfinite(prop)) or prop.min(initial=0) < 0:
            raise CJOError("propensity must hold finite probabilities >= 0.")
        out *= (prop * mult)[:, None, :]
    elif levers:
        out *= mult
    if harmful is not None:
        out[harmful] = NOT_CREDIBLE
    return out


# --------------------------------------------------------------------------------------------
# estimator registry
# --------------------------------------------------------------------------------------------


def customer_ids(frame: pd.DataFrame) -> np.ndarray:
    """``Customer ID`` values, or the row numbers when the column is absent."""
    if schema.ID in frame.columns:
        return frame[schema.ID].to_numpy(dtype=object)
    return np.arange(len(frame))


def build_components(
    frame: pd.DataFrame,
    catalog: Catalog,
    estimator: str = "peer-bayes",
    *,
    models: Any = None,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    scale: Mapping[str, float] | None = None,
    **options: Any,
) -> Components:
    """Estimate the opportunity components of every customer with one estimator.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical customer data (:func:`core.data.io.load`).
    catalog : Catalog
        Products (their order is the ``P`` axis) and business rules.
    estimator : {"peer-bayes", "counterfactual", "neighbours", "campaign"}
        See :mod:`core.opportunity.estimators` and docs/opportunity.md (``campaign`` needs the
        option ``campaign=``, a campaign log or its fitted response: docs/campaigns.md).
    models : optional
        Fitted :class:`core.models.KeyFactorModels` for ``counterfactual`` (fitted on ``frame``
        when omitted); ``peer-bayes`` uses its churn predictions only when the data has neither
        Churn Score nor Churn Value.
    random_state : int, Generator or None
        Seed for every random step (subsamples, noise, model fits).
    progress : callable, optional
        ``progress(done, total)``.
    scale : mapping, optional
        Normalisation scales to reuse (see :func:`normalise`).
    **options
        Estimator options (e.g. ``smooth=True`` for ``peer-bayes``, ``k=`` for ``neighbours``,
        ``propensity=True`` for ``counterfactual``).

    Returns
    -------
    Components
    """
    from core.opportunity import estimators

    fn = estimators.REGISTRY.get(estimator)
    if fn is None:
        raise CJOError(f"unknown estimator '{estimator}'; choose one of {list(ESTIMATORS)}.")
    if len(frame) == 0:
        raise CJOError("no customers: the data has 0 rows.")
    import inspect

    accepted = set(inspect.signature(fn).parameters) - {"frame", "catalog", "held"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise CJOError(
            f"estimator '{estimator}' has no option(s) {unknown}; it accepts "
            f"{sorted(accepted - {'models', 'random_state', 'progress'})}."
        )
    start = time.perf_counter()
    held = catalog.holdings(frame)
    elig = eligibility(catalog, held)
    result = fn(
        frame,
        catalog,
        held,
        models=models,
        random_state=random_state,
        progress=progress,
        **options,
    )
    values, used = normalise(result.raw, elig, scale)
    std = result.info.get("std")
    if std is not None:
        factor = np.array([used[f] for f in FACTORS], dtype=np.float32)
        std = np.ascontiguousarray(np.asarray(std, dtype=np.float32) / factor)
        std[~np.isfinite(std)] = 0.0
        std *= elig[:, None, :, None]
    bias = result.info.get("bias")
    if bias is not None:
        factor = np.array([used[f] for f in FACTORS], dtype=np.float64)
        bias = np.abs(np.asarray(bias, dtype=np.float64)) / factor
        bias[~np.isfinite(bias)] = 0.0
    return Components(
        values=values,
        eligible=elig,
        held=held,
        customer_ids=customer_ids(frame),
        product_keys=catalog.keys,
        factors=FACTORS,
        scale=used,
        estimator=estimator,
        seconds=time.perf_counter() - start,
        units=dict(result.units),
        notes=tuple(result.notes),
        std=std,
        uncertainty=str(result.info.get("uncertainty", "")),
        bias=bias,
    )
