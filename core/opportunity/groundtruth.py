"""Ground-truth validation of the opportunity estimators on the synthetic population.

The synthetic population (:mod:`core.data.synthetic`) stores, for every customer and product, the
true change of churn probability, expected CLTV and expected satisfaction from adding the
product to the current portfolio. An estimator is judged on the offers a customer could take
*now* (not held, not excluded, prerequisites held), with two metrics:

``spearman``
    per product ``j`` and factor ``k``, the Spearman rank correlation across customers between
    the estimated first-step component ``C[c, 0, j, k]`` and the true effect (churn with its sign
    flipped, so positive = good); the headline is the mean over the (product, factor) cells.
    A constant estimate scores 0; a cell whose truth is constant, or has fewer than 10
    customers, is left out (``NaN`` in the detail).
``top1``
    share of customers (with at least two offers available now) whose best offer under weights
    1/1/1 on the estimate equals their best offer under weights 1/1/1 on the *normalised* true
    effects (each factor divided by :func:`core.opportunity.robust_scale` of its true effects).

Extra keys: ``spearman_combined`` (mean over products of the Spearman correlation of the 1/1/1
scores), ``top1_chance`` (expected agreement of a uniformly random pick), ``per_product``.

:func:`opportunity_check` runs the whole check (generate, fit, estimate, score) and
``python -m core opportunity-check`` exposes it (see :func:`add_cli`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress
from core.data.catalog import Catalog, load_catalog
from core.data.schema import FACTORS
from core.opportunity.components import (
    ESTIMATORS,
    Components,
    build_components,
    offerable_now,
    parse_weights,
    robust_scale,
)
from core.opportunity.components import (
    eligibility as eligibility_of,
)

MIN_CELL = 10
_SIGN = {"cltv": 1.0, "churn": -1.0, "satisfaction": 1.0}


def true_effects(truth: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    """True first-step effects ``[n, P, 3]`` (positive = good; NaN where held).

    Parameters
    ----------
    truth : pandas.DataFrame
        Truth rows of :func:`core.data.synthetic.generate_frame` (columns ``d_{factor}__{product}``).
    catalog : Catalog
        Its product keys must be synthetic product keys.
    """
    out = np.empty((len(truth), catalog.n_products, len(FACTORS)))
    for j, key in enumerate(catalog.keys):
        for k, f in enumerate(FACTORS):
            col = f"d_{f}__{key}"
            if col not in truth.columns:
                raise CJOError(
                    f"the ground truth has no column '{col}': product '{key}' of catalog "
                    f"'{catalog.name}' is not a synthetic product."
                )
            out[:, j, k] = _SIGN[f] * truth[col].to_numpy(dtype=np.float64)
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); 0 when ``a`` is constant, NaN when
    ``b`` is constant or there are fewer than two values."""
    from scipy.stats import rankdata

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or np.ptp(b) == 0:
        return float("nan")
    if np.ptp(a) == 0:
        return 0.0
    ra, rb = rankdata(a), rankdata(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _best(score: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    return np.where(allowed, score, -np.inf).argmax(axis=1)


def validate(
    components: Components,
    truth: pd.DataFrame,
    catalog: Catalog,
    weights: Mapping[str, float] | Sequence[float] = (1.0, 1.0, 1.0),
) -> dict[str, Any]:
    """Compare components with the true effects (see the module docstring).

    Parameters
    ----------
    components : Components
        First-step estimates of the customers of ``truth`` (same order).
    truth : pandas.DataFrame
        Their ground truth.
    catalog : Catalog
        The catalog the components were built with.
    weights
        Weights of the top-1 and combined comparisons (default 1/1/1).

    Returns
    -------
    dict
        ``spearman``, ``top1``, ``spearman_combined``, ``top1_chance``, ``n_top1``,
        ``per_product`` ({product: {factor: rho, "combined": rho, "n": customers}}).
    """
    if components.product_keys != catalog.keys:
        raise CJOError("components and catalog list different products.")
    if components.n_customers != len(truth):
        raise CJOError(
            f"components cover {components.n_customers} customers, the truth {len(truth)}."
        )
    w = parse_weights(weights).astype(np.float64)
    true = true_effects(truth, catalog)
    est = components.values[:, 0].astype(np.float64)  # [n, P, 3]
    now = offerable_now(catalog, components.held) & np.isfinite(true).all(axis=2)
    scale = np.array([robust_scale(true[:, :, k], now) for k in range(len(FACTORS))])
    true_score = np.where(now, np.nan_to_num(true / scale) @ w, 0.0)
    est_score = est @ w
    per_product: dict[str, dict[str, float]] = {}
    cells: list[float] = []
    combined: list[float] = []
    for j, key in enumerate(catalog.keys):
        m = now[:, j]
        row: dict[str, float] = {"n": int(m.sum())}
        for k, f in enumerate(FACTORS):
            rho = spearman(est[m, j, k], true[m, j, k]) if m.sum() >= MIN_CELL else float("nan")
            row[f] = rho
            if np.isfinite(rho):
                cells.append(rho)
        rho = spearman(est_score[m, j], true_score[m, j]) if m.sum() >= MIN_CELL else float("nan")
        row["combined"] = rho
        if np.isfinite(rho):
            combined.append(rho)
        per_product[key] = row
    choice = now.sum(axis=1) >= 2
    agree = _best(est_score, now) == _best(true_score, now)
    n_top = int(choice.sum())
    return {
        "spearman": float(np.mean(cells)) if cells else float("nan"),
        "top1": float(agree[choice].mean()) if n_top else float("nan"),
        "spearman_combined": float(np.mean(combined)) if combined else float("nan"),
        "top1_chance": float((1.0 / now[choice].sum(axis=1)).mean()) if n_top else float("nan"),
        "n_top1": n_top,
        "per_product": per_product,
    }


def opportunity_check(
    rows: int,
    seed: int,
    estimators: Sequence[str] = ESTIMATORS,
    *,
    catalog: str | Catalog = "seed",
    options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[str], Progress | None] | None = None,
    population: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    components: Mapping[str, Components] | None = None,
) -> dict[str, dict[str, Any]]:
    """Generate a synthetic population, estimate with each estimator and score against truth.

    Parameters
    ----------
    rows, seed
        Population size and seed (:func:`core.data.synthetic.generate_frame`).
    estimators
        Names of the estimators to run.
    catalog
        Catalog name/path or :class:`Catalog` (default ``seed``, the study's products).
    options
        Per-estimator keyword options for :func:`core.opportunity.build_components`.
    progress
        ``progress(label) -> callback`` giving a progress callback per estimator.
    population
        ``(customers, truth)`` already generated with ``rows`` and ``seed``.
    components
        Components already estimated on ``population`` with ``catalog``, by estimator name
        (their ``seconds`` are reported).

    Returns
    -------
    dict
        ``{estimator: {"spearman", "top1", "seconds", ...}}`` (see :func:`validate`). The
        seconds include fitting the models the estimator needs.
    """
    from core.data import synthetic

    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise CJOError(f"unknown estimator(s) {unknown}; choose from {list(ESTIMATORS)}.")
    if rows < 50:
        raise CJOError(f"--rows {rows}: need at least 50 customers for a meaningful check.")
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    customers, truth = population or synthetic.generate_frame(rows, seed)
    report: dict[str, dict[str, Any]] = {}
    for name in estimators:
        comp = (components or {}).get(name)
        if comp is None:
            cb = progress(name) if progress is not None else None
            start = time.perf_counter()
            comp = build_components(
                customers,
                cat,
                name,
                random_state=seed,
                progress=cb,
                **dict((options or {}).get(name, {})),
            )
            seconds = time.perf_counter() - start
        else:
            seconds = comp.seconds
        result = validate(comp, truth, cat)
        report[name] = {
            "spearman": result.pop("spearman"),
            "top1": result.pop("top1"),
            "seconds": seconds,
            **result,
            "rows": rows,
            "seed": seed,
            "catalog": cat.name,
            "notes": list(comp.notes),
        }
    return report


def information_ceiling(
    rows: int,
    seed: int,
    *,
    catalog: str | Catalog = "seed",
    with_outcomes: bool = False,
    folds: int = 3,
) -> dict[str, Any]:
    """How well *any* data-driven estimator could do: regress the true effects on the data.

    For every (product, factor) a gradient-boosting regressor is trained **on the true effects
    themselves** (which no estimator sees) from the leakage-guarded customer columns plus
    holdings (and, with ``with_outcomes``, the customer's own observed CLTV, Satisfaction Score,
    Churn Value and Churn Score), with ``folds``-fold cross-validation; its out-of-fold
    predictions are scored like an estimator (:func:`validate`). What it cannot reach is driven
    by the generator's unobserved latent traits and noise: a practical ceiling, not a proof.

    Returns
    -------
    dict
        The :func:`validate` result of the out-of-fold predictions, plus ``seconds``.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import cross_val_predict

    from core.data import schema, synthetic

    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    start = time.perf_counter()
    customers, truth = synthetic.generate_frame(rows, seed)
    cols = [
        c
        for c in schema.feature_columns(customers.columns, target="cltv")
        if schema.BY_NAME[c].role == "feature"
    ]
    if with_outcomes:
        cols += ["CLTV", "Satisfaction Score", "Churn Value", "Churn Score"]
    x = pd.get_dummies(customers[cols], dtype=float).to_numpy(dtype=np.float64)
    held = cat.holdings(customers)
    true = true_effects(truth, cat)
    now = offerable_now(cat, held)
    est = np.zeros_like(true)
    for j in range(cat.n_products):
        m = now[:, j]
        if m.sum() < max(MIN_CELL, 2 * folds):
            continue
        for k in range(len(FACTORS)):
            model = HistGradientBoostingRegressor(
                max_iter=100, early_stopping=False, random_state=seed
            )
            est[m, j, k] = cross_val_predict(model, x[m], true[m, j, k], cv=folds)
    scale = np.array([robust_scale(est[:, :, k], now) for k in range(len(FACTORS))])
    values = np.zeros((rows, 1 + cat.n_products, cat.n_products, len(FACTORS)), np.float32)
    values[:, 0] = est / scale
    comp = Components(values, eligibility_of(cat, held), held, np.arange(rows), cat.keys)
    result = validate(comp, truth, cat)
    result["seconds"] = time.perf_counter() - start
    result["with_outcomes"] = with_outcomes
    return result


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def ceiling_components(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    catalog: Catalog,
    *,
    seed: int = 0,
    folds: int = 3,
    max_iter: int = 60,
    progress: Progress | None = None,
) -> Components:
    """Components of the information ceiling: a learner trained on the true effects themselves.

    For every product ``j`` and factor ``k`` a gradient-boosting regressor learns the true
    normalised effect of offering ``j`` (first, and right after each other product ``i`` not
    held: the effect of ``j`` given ``H + i``) from the leakage-guarded customer columns, the
    holdings and the predecessor, cross-fitted over ``folds`` groups of customers (a customer's
    rows are never predicted by a model that saw them). No estimator sees the true effects: this
    is what the observable columns can tell at best, a practical ceiling, not a proof.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    from core.common.threads import model_threads
    from core.data import schema
    from core.opportunity.components import normalise
    from core.opportunity.truevalue import portfolio_table

    table = portfolio_table(truth, customers, catalog)
    p = catalog.n_products
    n = len(customers)
    cols = [
        c
        for c in schema.feature_columns(customers.columns, target="cltv")
        if schema.BY_NAME[c].role == "feature"
    ]
    x = pd.get_dummies(customers[cols], dtype=float).to_numpy(dtype=np.float64)
    held = table.held
    row_of = {int(mk): r for r, mk in enumerate(table.masks)}
    base = table.factors[0]  # [n, 3] at H
    # truth of (customer, predecessor row, product): [n, 1 + P, P, 3]; NaN where not defined
    target = np.full((n, 1 + p, p, len(FACTORS)), np.nan)
    for j in range(p):
        target[:, 0, j] = table.factors[row_of[1 << j]] - base
        for i in range(p):
            if i != j:
                both = table.factors[row_of[(1 << i) | (1 << j)]]
                target[:, 1 + i, j] = both - table.factors[row_of[1 << i]]
    for i in range(p):  # a held predecessor adds nothing: its row is the first step's
        target[held[:, i], 1 + i] = np.nan
    fold = np.random.default_rng(seed).integers(0, folds, size=n)
    est = np.zeros_like(target)
    rmse = np.zeros((p, len(FACTORS)))  # out-of-fold residual error per (product, factor)
    eye = np.eye(1 + p)
    with model_threads():
        for j in range(p):
            cust, prev = np.nonzero(np.isfinite(target[:, :, j, 0]))
            if cust.size >= 20:
                xa = np.hstack([x[cust], eye[prev]])
                for k in range(len(FACTORS)):
                    y = target[cust, prev, j, k]
                    seen = np.zeros(len(y), bool)
                    for f in range(folds):
                        train, test = fold[cust] != f, fold[cust] == f
                        if train.sum() < 10 or not test.any():
                            continue
                        model = HistGradientBoostingRegressor(
                            max_iter=max_iter, early_stopping=False, random_state=seed
                        )
                        pred = model.fit(xa[train], y[train]).predict(xa[test])
                        est[cust[test], prev[test], j, k] = pred
                        seen |= test
                    if seen.any():
                        resid = y[seen] - est[cust[seen], prev[seen], j, k]
                        rmse[j, k] = float(np.sqrt(np.mean(resid**2)))
            if progress is not None:
                progress(j + 1, p)
    for i in range(p):
        est[held[:, i], 1 + i] = est[held[:, i], 0]
    eligible = eligibility_of(catalog, held)
    values, scale = normalise(est, eligible)
    std = np.broadcast_to(
        (rmse / np.array([scale[f] for f in FACTORS]))[None, None].astype(np.float32),
        values.shape,
    ).copy()
    std *= eligible[:, None, :, None]
    std[:, 1 + np.arange(p), np.arange(p), :] = 0.0
    return Components(
        values,
        eligible,
        held,
        np.asarray(customers["Customer ID"]),
        catalog.keys,
        scale=scale,
        std=std,
        uncertainty="cross-fitted residuals: out-of-fold RMSE per product and factor",
        estimator="ceiling",
        notes=("a learner trained on the true effects (cross-fitted): a reference",),
    )
