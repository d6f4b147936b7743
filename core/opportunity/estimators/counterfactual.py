"""Model-based counterfactual estimator ("counterfactual"): an S-learner over the key-factor models.

One set of models ``f_k(features, portfolio)`` (:class:`core.models.KeyFactorModels`: churn
probability, expected CLTV, expected Satisfaction Score) is fitted on the customers as they are.
The effect of an offer is the difference of two predictions for the *same* customer under two
portfolios::

    C[c, 0, j, k]     = f_k(H_c + j) - f_k(H_c)
    C[c, 1 + i, j, k] = f_k(H_c + i + j) - f_k(H_c + i)

(churn enters with a minus sign: probability points avoided). ``H_c + i`` is ``H_c`` when ``i``
is held, so the rows of held products equal row 0. Only ``1 + P + P (P - 1) / 2`` distinct
portfolios are predicted per customer; customers are processed in chunks of ``chunk_size``.

With ``propensity=True`` every offer of ``j`` is multiplied by the acceptance probability
``P(takes j | features, rest of portfolio)`` of :class:`core.models.AcceptanceModels` (expected
rather than conditional gain). Prefer passing the propensity to
:func:`core.opportunity.combine` instead, which keeps the components in factor units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError, ModelError
from core.common.progress import Progress
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.data.catalog import Catalog
from core.data.schema import FACTORS
from core.opportunity.estimators._common import EstimatorResult

SIGNS = {"cltv": 1.0, "churn": -1.0, "satisfaction": 1.0}
_STACKED_ROWS = 50_000  # model-matrix rows per predict_portfolios call (all portfolios)


def _product_map(models: Any, catalog: Catalog) -> np.ndarray | None:
    """Position of each catalog product in the models' holdings order (None = same order)."""
    keys = tuple(getattr(models, "product_keys_", catalog.keys))
    if keys == catalog.keys:
        return None
    missing = [k for k in catalog.keys if k not in keys]
    if missing:
        raise CJOError(
            f"the models were fitted without product(s) {missing} of catalog '{catalog.name}'. "
            "Fix: fit the models with this catalog."
        )
    return np.array([keys.index(k) for k in catalog.keys])


def _predict(
    models: Any,
    frame: pd.DataFrame,
    holdings: np.ndarray,
    where: np.ndarray | None = None,
    observed: np.ndarray | None = None,
) -> np.ndarray:
    """``[n, 3]`` predicted factors under ``holdings``, oriented higher = better.

    ``where`` maps catalog products into the models' product order; the models' other
    products keep their ``observed`` values.
    """
    if where is not None and observed is not None:
        full = observed.copy()
        full[:, where] = holdings
        holdings = full
    pred = models.predict_factors(frame, holdings)
    out = np.empty((len(frame), len(FACTORS)))
    for k, f in enumerate(FACTORS):
        v = pred.get(f)
        out[:, k] = 0.0 if v is None else SIGNS[f] * np.asarray(v, dtype=np.float64)
    return out


def _effects_stacked(
    models: Any,
    part: pd.DataFrame,
    h: np.ndarray,
    where: np.ndarray | None,
    obs: np.ndarray | None,
    pairs: list[tuple[int, int]],
    raw: np.ndarray,
    done: int,
) -> int:
    """Fill ``raw`` (one chunk) from one ``models.predict_portfolios`` call; returns ``done``.

    The same portfolios and the same arithmetic as the per-portfolio path of
    :func:`portfolio_effects` (so the same numbers), but all ``1 + P + P (P - 1) / 2``
    portfolios go to the models together.
    """
    m, p = h.shape
    portfolios = [h]
    for j in range(p):
        hj = h.copy()
        hj[:, j] = True
        portfolios.append(hj)
    for i, j in pairs:
        hij = h.copy()
        hij[:, [i, j]] = True
        portfolios.append(hij)
    # a portfolio that adds held products repeats another one of the same customer: predict
    # each distinct (customer, portfolio) once (the models score a row independently of the
    # others, so the numbers are the same)
    stack = np.stack(portfolios)  # [K, m, P]
    kk = len(portfolios)
    flat = stack.reshape(kk * m, p)
    customer = np.tile(np.arange(m), kk)
    if p + int(m).bit_length() <= 62:  # one int64 key per (customer, portfolio): a fast 1-D sort
        bits = flat.astype(np.int64) @ (np.int64(1) << np.arange(p, dtype=np.int64))
        keys, inverse = np.unique((customer.astype(np.int64) << p) | bits, return_inverse=True)
        rows = (keys >> p).astype(np.intp)
        hold = ((keys[:, None] >> np.arange(p, dtype=np.int64)) & 1).astype(bool)
    else:
        pairs_rows = np.column_stack([customer, flat.astype(np.int8)])
        unique, inverse = np.unique(pairs_rows, axis=0, return_inverse=True)
        rows = unique[:, 0].astype(np.intp)
        hold = unique[:, 1:].astype(bool)
    if where is not None and obs is not None:
        full = obs[rows].copy()
        full[:, where] = hold
        hold = full
    pred = models.predict_portfolios(part, [hold], rows=rows)
    values = np.zeros((kk, m, len(FACTORS)))  # [K, m, 3], higher = better
    inverse = np.asarray(inverse).reshape(kk, m)
    for k, f in enumerate(FACTORS):
        v = pred.get(f)
        if v is not None:
            values[:, :, k] = SIGNS[f] * np.asarray(v, dtype=np.float64)[0][inverse]
    base = values[0]
    single = np.moveaxis(values[1 : 1 + p], 0, 1)  # [m, P, 3]: f(H + j)
    raw[:, 0] = single - base[:, None, :]
    for q, (i, j) in enumerate(pairs):
        both = values[1 + p + q]
        raw[:, 1 + i, j] = both - single[:, i]  # j after i
        raw[:, 1 + j, i] = both - single[:, j]  # i after j
    return done + m * kk


def fit_models(
    frame: pd.DataFrame, catalog: Catalog, random_state: int, **model_options: Any
) -> Any:
    """Fit :class:`core.models.KeyFactorModels` on ``frame`` (imported lazily)."""
    try:
        from core.models import KeyFactorModels
    except ImportError as exc:  # pragma: no cover - only while core.models is missing
        raise ModelError(f"the counterfactual estimator needs core.models ({exc}).") from None
    return KeyFactorModels(catalog=catalog, random_state=random_state, **model_options).fit(frame)


def portfolio_effects(
    models: Any,
    frame: pd.DataFrame,
    held: np.ndarray,
    *,
    chunk_size: int = 50_000,
    progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> np.ndarray:
    """Raw S-learner effects ``[n, 1 + P, P, 3]`` (float32; higher = better).

    Parameters
    ----------
    models
        Any object with ``predict_factors(frame, holdings) -> {"cltv", "churn",
        "satisfaction"}`` giving expected values as if each customer held ``holdings``
        (bool ``[n, P]``, catalog order). With ``predict_portfolios(frame, portfolios,
        rows=...)`` as well (like :class:`core.models.KeyFactorModels`), every portfolio of a
        chunk is scored in one call.
    frame, held
        Customers and their current holdings.
    catalog
        The catalog of ``held``; needed only when the models list products in another order
        (or more products).
    """
    n, p = held.shape
    where = None if catalog is None else _product_map(models, catalog)
    models_catalog: Any = getattr(models, "catalog_", None)
    if where is not None and models_catalog is None:
        raise CJOError("models list other products but expose no catalog_ to read them from.")
    raw = np.zeros((n, 1 + p, p, len(FACTORS)), dtype=np.float32)
    pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]
    total = n * (1 + p + len(pairs))
    done = 0
    for lo in range(0, n, chunk_size):
        hi = min(lo + chunk_size, n)
        part = frame.iloc[lo:hi]
        h = held[lo:hi]
        obs = None if where is None else models_catalog.holdings(part)

        if hasattr(models, "predict_portfolios"):
            # all portfolios of ~_STACKED_ROWS / K customers per call (progress per call)
            step = max(1, _STACKED_ROWS // (1 + p + len(pairs)))
            for a in range(0, hi - lo, step):
                b = min(a + step, hi - lo)
                done = _effects_stacked(
                    models,
                    part.iloc[a:b],
                    h[a:b],
                    where,
                    None if obs is None else obs[a:b],
                    pairs,
                    raw[lo + a : lo + b],
                    done,
                )
                if progress is not None:
                    progress(done, total)
            continue

        def predict(portfolio: np.ndarray, part: pd.DataFrame = part, obs: Any = obs) -> Any:
            return _predict(models, part, portfolio, where, obs)

        base = predict(h)
        single = np.empty((hi - lo, p, len(FACTORS)))  # f(H + j)
        for j in range(p):
            hj = h.copy()
            hj[:, j] = True
            single[:, j] = predict(hj)
        done += (hi - lo) * (1 + p)
        if progress is not None:
            progress(done, total)
        raw[lo:hi, 0] = single - base[:, None, :]
        for i, j in pairs:
            hij = h.copy()
            hij[:, [i, j]] = True
            both = predict(hij)
            raw[lo:hi, 1 + i, j] = both - single[:, i]  # j after i
            raw[lo:hi, 1 + j, i] = both - single[:, j]  # i after j
            done += hi - lo
            if progress is not None:
                progress(done, total)
    return raw


def estimate(
    frame: pd.DataFrame,
    catalog: Catalog,
    held: np.ndarray,
    *,
    models: Any = None,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    propensity: bool = False,
    acceptance: Any = None,
    model_options: dict[str, Any] | None = None,
    chunk_size: int = 50_000,
) -> EstimatorResult:
    """S-learner components (raw units: CLTV, churn probability points avoided, score points).

    Parameters
    ----------
    frame, catalog, held
        Customer data, catalog and its holdings ``[N, P]``.
    models : KeyFactorModels, optional
        Fitted key-factor models; fitted on ``frame`` when omitted.
    propensity : bool, default False
        Multiply each offer of ``j`` by the acceptance probability of ``j``.
    acceptance : AcceptanceModels, optional
        Fitted acceptance models (fitted on ``frame`` when ``propensity`` and omitted).
    model_options : dict, optional
        Keyword arguments of :class:`core.models.KeyFactorModels` when it is fitted here
        (e.g. ``{"cltv_model": "gbr"}``).
    chunk_size : int
        Customers per prediction chunk.
    """
    seed = seed_of(random_state, high=SKLEARN_SEED_HIGH)
    notes: list[str] = []
    if models is None:
        models = fit_models(frame, catalog, seed, **(model_options or {}))
    if not hasattr(models, "predict_factors"):
        raise CJOError("models must provide predict_factors(frame, holdings) (KeyFactorModels).")
    raw = portfolio_effects(
        models, frame, held, chunk_size=chunk_size, progress=progress, catalog=catalog
    )
    missing = getattr(models, "unavailable_factors_", ())
    for f in missing or ():
        notes.append(f"{f}: not observed in the data; its components are 0.")
    if propensity:
        if acceptance is None:
            from core.models import AcceptanceModels

            acceptance = AcceptanceModels(catalog=catalog, random_state=seed).fit(frame)
        prob = np.asarray(acceptance.predict_proba(frame), dtype=np.float32)
        where = _product_map(acceptance, catalog)
        if where is not None:
            prob = prob[:, where]
        if prob.shape != held.shape:
            raise CJOError(f"acceptance.predict_proba gave shape {prob.shape}, need {held.shape}.")
        raw *= prob[:, None, :, None]
        notes.append("components are multiplied by the acceptance propensity.")
    return EstimatorResult(
        raw=raw,
        units={
            "cltv": "CLTV",
            "churn": "churn probability points avoided",
            "satisfaction": "Satisfaction Score points",
        },
        notes=tuple(notes),
        info={"propensity": propensity},
    )
