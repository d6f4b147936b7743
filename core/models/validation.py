"""Cross-validated metrics of the key-factor models, and the Satisfaction Score label evidence."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import KFold, StratifiedKFold

from core.common.errors import ModelError
from core.common.progress import Progress, ticker
from core.data import schema
from core.data.catalog import Catalog, resolve_catalog
from core.models._base import _factor_target, _is_binary
from core.models.features import SATISFACTION
from core.models.importance import permutation_importance
from core.models.key_factors import KeyFactorModels
from core.models.presets import PRESETS

__all__ = ["cross_validate_models", "satisfaction_label_evidence"]


def _reliability(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    frac, mean_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    nonempty = np.flatnonzero(counts)
    return [
        {
            "bin_lower": float(edges[b]),
            "bin_upper": float(edges[b + 1]),
            "mean_predicted": float(mp),
            "observed_rate": float(fr),
            "count": int(counts[b]),
        }
        for b, mp, fr in zip(nonempty, mean_pred, frac, strict=True)
    ]


def satisfaction_label_evidence(frame: pd.DataFrame) -> dict[str, Any]:
    """How close Satisfaction Score is to a churn label: churn rate per score and its AUC.

    ``flag`` is True when at least half the customers have a score whose churn rate is below 1%
    or above 99% (the score alone decides their label), or when the score alone ranks churners
    with ROC AUC >= 0.9.
    """
    if SATISFACTION not in frame.columns or "Churn Value" not in frame.columns:
        return {"available": False}
    s = frame[SATISFACTION].to_numpy(dtype=float)
    y = frame["Churn Value"].to_numpy(dtype=int)
    table = pd.DataFrame({"s": s, "y": y}).groupby("s")["y"].agg(["mean", "size"])
    decided = table[(table["mean"] <= 0.01) | (table["mean"] >= 0.99)]["size"].sum()
    share = float(decided / len(y))
    auc = float(roc_auc_score(y, -s)) if np.unique(y).size == 2 else float("nan")
    return {
        "available": True,
        "flag": bool(share >= 0.5 or auc >= 0.9),
        "churn_rate_by_score": {str(int(k)): float(v) for k, v in table["mean"].items()},
        "customers_by_score": {str(int(k)): int(v) for k, v in table["size"].items()},
        "share_with_score_deciding_churn": share,
        "roc_auc_of_score_alone": auc,
    }


def cross_validate_models(
    frame: pd.DataFrame,
    catalog: Catalog | str = "seed",
    *,
    cltv_model: str = "hgb",
    satisfaction_model: str | None = None,
    churn_model: str | None = None,
    preset: str = "accurate",
    n_splits: int = 5,
    random_state: int = 0,
    with_satisfaction: bool = True,
    importance: bool = True,
    importance_repeats: int = 2,
    importance_folds: int = 1,
    top_features: int = 15,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Stratified k-fold cross-validated metrics of the key-factor models.

    Folds are stratified on churn when the data has it (else plain shuffled k-fold) and shared by
    all factors. Each fold fits fresh models on the training part only.

    Returns
    -------
    dict
        JSON-able. ``churn``: ``roc_auc``, ``pr_auc``, ``brier`` (means over folds), ``base_rate``,
        ``folds`` (per-fold figures), ``reliability`` (10 uniform bins of out-of-fold
        predictions), ``with_satisfaction`` (the same metrics with Satisfaction Score as a
        feature) and ``satisfaction_is_nearly_a_label`` (evidence, see
        :func:`satisfaction_label_evidence`). ``cltv`` and ``satisfaction``: ``r2``, ``mae``,
        ``baseline_r2``, ``baseline_mae`` (predicting the training mean). A factor the data
        lacks has ``{"available": False, "reason": ...}`` and null metrics.
        ``permutation_importance`` (per factor, top features by mean drop of ROC AUC / R2 when
        the column is shuffled, on the first ``importance_folds`` held-out folds) and ``cv``
        (splits, rows, seconds).
    """
    t0 = time.perf_counter()
    cat = resolve_catalog(catalog, list(frame.columns))
    n = len(frame)
    y_churn = _factor_target(frame, "churn")
    has_churn = y_churn is not None and np.unique(y_churn).size == 2 and _is_binary(y_churn)
    soft = y_churn is not None and not _is_binary(y_churn)
    if has_churn:
        assert y_churn is not None
        min_class = int(min(y_churn.sum(), n - y_churn.sum()))
        k = min(n_splits, min_class)
        if k < 2:
            raise ModelError(
                f"only {min_class} customer(s) in the rarer churn class: cross-validation needs "
                "at least 2."
            )
        splitter: Any = StratifiedKFold(k, shuffle=True, random_state=random_state)
        splits = list(splitter.split(np.zeros(n), y_churn.astype(int)))
    else:
        k = min(n_splits, n // 10)
        if k < 2:
            raise ModelError(f"{n} rows: too few for cross-validation.")
        splits = list(KFold(k, shuffle=True, random_state=random_state).split(np.zeros(n)))
    sat_churn = with_satisfaction and has_churn and SATISFACTION in frame.columns
    tick = ticker(progress, k * (1 + int(sat_churn)) + 1)
    targets = {f: _factor_target(frame, f) for f in schema.FACTORS}
    oof = {f: np.full(n, np.nan) for f in schema.FACTORS}
    oof_sat = np.full(n, np.nan)
    per_fold: dict[str, list[dict[str, float]]] = {f: [] for f in schema.FACTORS}
    per_fold_sat: list[dict[str, float]] = []
    importances: dict[str, list[pd.DataFrame]] = {f: [] for f in schema.FACTORS}
    churn_kind = churn_model or PRESETS[preset].churn_model
    for fold, (tr, te) in enumerate(splits):
        train, test = frame.iloc[tr], frame.iloc[te]
        m = KeyFactorModels(
            cat,
            cltv_model=cltv_model,
            satisfaction_model=satisfaction_model,
            churn_model=churn_model,
            preset=preset,
            random_state=random_state + fold,
        ).fit(train)
        churn_kind = m.churn_kind_
        for f in m.factors_:
            y_te = targets[f]
            assert y_te is not None
            y_te = y_te[te]
            pred = m.predict_factor(test, None, f)
            oof[f][te] = pred
            if f == "churn":
                per_fold[f].append(_soft_scores(y_te, pred) if soft else _churn_scores(y_te, pred))
            else:
                base = float(np.mean(targets[f][tr]))  # type: ignore[index]
                per_fold[f].append(
                    {
                        "r2": float(r2_score(y_te, pred)),
                        "mae": float(mean_absolute_error(y_te, pred)),
                        "baseline_r2": float(r2_score(y_te, np.full(len(te), base))),
                        "baseline_mae": float(np.mean(np.abs(y_te - base))),
                    }
                )
            if importance and fold < importance_folds:
                X_te = m.features(test, None, factor=f)
                model = getattr(m, f"{f}_model_")
                imp = permutation_importance(
                    model, X_te, y_te, f, importance_repeats, random_state + fold
                )
                importances[f].append(imp.set_index("feature")["importance_mean"])
        tick()
        if sat_churn:
            ms = KeyFactorModels(
                cat,
                churn_model=churn_model,
                preset=preset,
                include_satisfaction_in_churn=True,
                factors=("churn",),
                random_state=random_state + fold,
            )
            ms.fit(train)
            p = ms.predict_factor(test, None, "churn")
            oof_sat[te] = p
            assert y_churn is not None
            per_fold_sat.append(_churn_scores(y_churn[te], p))
            tick()

    result: dict[str, Any] = {}
    for f in schema.FACTORS:
        if not per_fold[f]:
            col = schema.FACTOR_COLUMNS[f]
            reason = (
                f"the data has no {col} column"
                if targets[f] is None
                else "every customer has the same churn outcome"
            )
            keys = ("roc_auc", "pr_auc", "brier") if f == "churn" else ("r2", "mae")
            result[f] = {"available": False, "reason": reason, **dict.fromkeys(keys)}
            continue
        names = per_fold[f][0].keys()
        entry: dict[str, Any] = {"available": True}
        for name in names:
            entry[name] = float(np.mean([d[name] for d in per_fold[f]]))
        entry["folds"] = {name: [d[name] for d in per_fold[f]] for name in names}
        entry["std"] = {name: float(np.std([d[name] for d in per_fold[f]])) for name in names}
        if f == "churn" and soft:
            assert y_churn is not None
            entry.update(roc_auc=None, pr_auc=None)
            entry["target"] = "Churn Probability (given; learnt as soft labels)"
            entry["note"] = (
                "the data gives churn probabilities, not outcomes: ROC and PR AUC need outcomes; "
                "brier, r2 and mae compare the out-of-fold predictions with the given probability"
            )
            entry["base_rate"] = float(np.mean(y_churn))
            entry["model"] = churn_kind
            entry["features"] = "customer profile + portfolio"
        elif f == "churn":
            assert y_churn is not None
            entry["base_rate"] = float(np.mean(y_churn))
            entry["reliability"] = _reliability(y_churn.astype(int), oof[f])
            entry["model"] = churn_kind
            entry["features"] = "customer profile + portfolio, without Satisfaction Score"
            if per_fold_sat:
                entry["with_satisfaction"] = {
                    name: float(np.mean([d[name] for d in per_fold_sat]))
                    for name in per_fold_sat[0]
                }
                entry["with_satisfaction"]["folds"] = {
                    name: [d[name] for d in per_fold_sat] for name in per_fold_sat[0]
                }
            entry["satisfaction_is_nearly_a_label"] = satisfaction_label_evidence(frame)
        else:
            entry["model"] = (
                cltv_model
                if f == "cltv"
                else satisfaction_model or PRESETS[preset].satisfaction_model
            )
            entry["n_levels"] = int(np.unique(targets[f]).size)  # type: ignore[arg-type]
        result[f] = entry
    if importance:
        result["permutation_importance"] = {
            f: [
                {"feature": str(name), "importance": float(v)}
                for name, v in pd.concat(importances[f], axis=1)
                .mean(axis=1)
                .sort_values(ascending=False)
                .head(top_features)
                .items()
            ]
            for f in schema.FACTORS
            if importances[f]
        }
    result["cv"] = {
        "n_splits": k,
        "stratified": bool(has_churn),
        "rows": n,
        "random_state": random_state,
        "catalog": cat.name,
        "products": list(cat.keys),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    tick()
    return result


def _soft_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Scores of predicted against given churn probabilities."""
    return {
        "brier": float(np.mean((p - y) ** 2)),
        "r2": float(r2_score(y, p)),
        "mae": float(mean_absolute_error(y, p)),
    }


def _churn_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = y.astype(int)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }
