"""What the Models page shows: metric tables, curves, importance and model cards.

``metrics.json`` (written by :func:`core.models.train.train`) carries the cross-validated figures, the
churn model's reliability curve and the permutation importance, but not ROC or precision-recall
curves. :func:`churn_oof` rebuilds the out-of-fold churn predictions with the same folds and
seeds as :func:`core.models.cross_validate_models` (stratified k-fold, shuffled with
``random_state``, fold ``f`` fitted with seed ``random_state + f``), and :func:`curves` turns any
``(y, p)`` into the three curves. Everything here is pure: no Streamlit, no printing.

Functions
---------
:func:`metric_table`       headline metrics next to their naive baselines, with help texts
:func:`importance_table`   permutation importance, one row per factor and feature
:func:`reliability_table`  the reliability curve stored in the metrics (or None)
:func:`satisfaction_warning`  the sentence that says Satisfaction Score is nearly a churn label
:func:`curves`             ROC, precision-recall and reliability curves of predictions
:func:`churn_oof` / :func:`churn_curves`  out-of-fold churn predictions and their curves
:func:`model_cards`        the markdown model cards next to the artifacts
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError, ModelError
from core.common.progress import Progress
from core.data.catalog import resolve_catalog

#: (factor, metric key, display name, baseline key or fixed value, help text)
_ROWS: tuple[tuple[str, str, str, str | float | None, str], ...] = (
    (
        "churn",
        "roc_auc",
        "ROC AUC",
        0.5,
        "Chance that a random churner is scored above a random stayer. 0.5 is a coin flip, "
        "1.0 a perfect ranking.",
    ),
    (
        "churn",
        "pr_auc",
        "PR AUC",
        "base_rate",
        "Average precision: how clean the top of the churn ranking is. The baseline is the "
        "churn rate (what a random ranking scores).",
    ),
    (
        "churn",
        "brier",
        "Brier score",
        "brier_baseline",
        "Mean squared error of the probabilities (lower is better). The baseline predicts the "
        "churn rate for everyone: rate x (1 - rate).",
    ),
    (
        "cltv",
        "r2",
        "CLTV R2",
        "baseline_r2",
        "Share of the CLTV variance the model explains on held-out customers. The baseline "
        "predicts the training mean (about 0).",
    ),
    (
        "cltv",
        "mae",
        "CLTV MAE",
        "baseline_mae",
        "Mean absolute error of CLTV on held-out customers (lower is better), against "
        "predicting the training mean.",
    ),
    (
        "satisfaction",
        "r2",
        "Satisfaction R2",
        "baseline_r2",
        "Share of the Satisfaction Score variance explained on held-out customers, against "
        "predicting the training mean.",
    ),
    (
        "satisfaction",
        "mae",
        "Satisfaction MAE",
        "baseline_mae",
        "Mean absolute error of the 1-5 Satisfaction Score (lower is better), against "
        "predicting the training mean.",
    ),
)
_LOWER_IS_BETTER = {"brier", "mae"}


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def metric_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Headline metrics next to their naive baselines.

    Parameters
    ----------
    metrics
        The content of ``metrics.json`` (or :attr:`core.models.train.TrainedModels.metrics`).

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``factor``, ``key`` (dotted name, e.g. ``churn.roc_auc``),
        ``metric`` (display name), ``value``, ``baseline``, ``better`` (True when the model beats
        the baseline, None when either is missing), ``available`` and ``help``. A factor the data
        lacks keeps its rows with ``value`` None, ``available`` False and the reason in ``help``.
    """
    rows = []
    for factor, key, name, base, help_text in _ROWS:
        entry = metrics.get(factor) or {}
        available = bool(entry.get("available", entry.get(key) is not None))
        value = _num(entry.get(key)) if available else None
        if isinstance(base, str):
            if base == "brier_baseline":
                rate = _num(entry.get("base_rate"))
                baseline = None if rate is None else rate * (1.0 - rate)
            else:
                baseline = _num(entry.get(base))
        else:
            baseline = base
        if not available:
            baseline = None
        better = None
        if value is not None and baseline is not None:
            better = value < baseline if key in _LOWER_IS_BETTER else value > baseline
        text = help_text if available else f"Unavailable: {entry.get('reason', 'not fitted')}."
        rows.append(
            {
                "factor": factor,
                "key": f"{factor}.{key}",
                "metric": name,
                "value": value,
                "baseline": baseline,
                "better": better,
                "available": available,
                "help": text,
            }
        )
    return pd.DataFrame(rows)


def importance_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Permutation importance as a long table ``factor, feature, importance`` (largest first).

    Empty (with those columns) when the metrics were computed without importance.
    """
    imp = metrics.get("permutation_importance") or {}
    rows = [
        {"factor": f, "feature": str(r["feature"]), "importance": float(r["importance"])}
        for f, entries in imp.items()
        for r in entries
    ]
    out = pd.DataFrame(rows, columns=["factor", "feature", "importance"])
    return out.sort_values(["factor", "importance"], ascending=[True, False], kind="stable")


def reliability_table(metrics: Mapping[str, Any]) -> pd.DataFrame | None:
    """The churn reliability curve stored in the metrics, or None when absent.

    Columns ``bin_lower``, ``bin_upper``, ``mean_predicted``, ``observed_rate``, ``count``.
    """
    bins = (metrics.get("churn") or {}).get("reliability")
    if not bins:
        return None
    return pd.DataFrame(bins)


def satisfaction_warning(metrics: Mapping[str, Any]) -> str | None:
    """A sentence explaining that Satisfaction Score is nearly a churn label, or None.

    Built from ``churn.satisfaction_is_nearly_a_label`` (churn rate by score) and
    ``churn.with_satisfaction`` (the ROC AUC the churn model would reach using it).
    """
    churn = metrics.get("churn") or {}
    ev = churn.get("satisfaction_is_nearly_a_label") or {}
    if not ev.get("available"):
        return None
    rates = ev.get("churn_rate_by_score") or {}
    by_score = ", ".join(f"score {k}: {float(v):.0%}" for k, v in rates.items())
    share = _num(ev.get("share_with_score_deciding_churn"))
    parts = [
        "Satisfaction Score is nearly a churn label"
        if ev.get("flag")
        else "Satisfaction Score is strongly tied to churn",
        f" (churn rate by {by_score})" if by_score else "",
    ]
    if share is not None:
        parts.append(f"; for {share:.0%} of customers the score alone decides the label")
    with_sat = _num((churn.get("with_satisfaction") or {}).get("roc_auc"))
    without = _num(churn.get("roc_auc"))
    if with_sat is not None and without is not None:
        parts.append(
            f". Used as a feature it would lift the churn ROC AUC from {without:.3f} to "
            f"{with_sat:.3f}, which only says the score is recorded with the outcome"
        )
    parts.append(
        ". The churn model therefore leaves it out; read satisfaction predictions as a "
        "separate factor, not as evidence about churn."
    )
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# curves


@dataclass(frozen=True, eq=False)
class Curves:
    """ROC, precision-recall and reliability curves of one set of probability predictions.

    Attributes
    ----------
    roc : pandas.DataFrame
        ``fpr``, ``tpr``, ``threshold`` (from (0, 0) to (1, 1)).
    pr : pandas.DataFrame
        ``recall``, ``precision``, ``threshold``.
    reliability : pandas.DataFrame
        ``bin_lower``, ``bin_upper``, ``mean_predicted``, ``observed_rate``, ``count`` (non-empty
        uniform bins).
    roc_auc, pr_auc, brier, base_rate : float
        Pooled over all predictions.
    n : int
        Number of predictions.
    source : str
        Where the predictions came from (shown under the charts).
    """

    roc: pd.DataFrame
    pr: pd.DataFrame
    reliability: pd.DataFrame
    roc_auc: float
    pr_auc: float
    brier: float
    base_rate: float
    n: int
    source: str


def _thin(df: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """Keep at most ``max_points`` rows, always the first and the last (for light charts)."""
    if len(df) <= max_points:
        return df.reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(df) - 1, max_points).round().astype(int))
    return df.iloc[idx].reset_index(drop=True)


def curves(
    y: Any, p: Any, *, n_bins: int = 10, max_points: int = 300, source: str = "predictions"
) -> Curves:
    """ROC, precision-recall and reliability curves of probabilities ``p`` for labels ``y``.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed labels; both classes must occur.
    p : array-like of float
        Predicted probabilities in [0, 1], same length.
    n_bins : int
        Uniform bins of the reliability curve.
    max_points : int
        Points kept per curve (evenly thinned; the areas are computed on all points).
    source : str
        Description kept in :attr:`Curves.source`.

    Examples
    --------
    >>> c = curves([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(c.roc_auc, 2), c.n
    (0.75, 4)
    """
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    y_arr = np.asarray(y, dtype=np.float64).ravel()
    p_arr = np.asarray(p, dtype=np.float64).ravel()
    if y_arr.shape != p_arr.shape:
        raise CJOError(f"curves: {y_arr.size} labels but {p_arr.size} predictions.")
    if not np.isfinite(p_arr).all() or (p_arr < 0).any() or (p_arr > 1).any():
        raise CJOError("curves: predictions must be probabilities in [0, 1] (no NaN).")
    if not np.isin(y_arr, (0.0, 1.0)).all():
        raise CJOError("curves: labels must be 0 or 1.")
    y_int = y_arr.astype(int)
    if np.unique(y_int).size < 2:
        raise CJOError("curves: both classes (0 and 1) must occur in the labels.")
    if n_bins < 1:
        raise CJOError(f"curves: n_bins={n_bins}; use at least 1.")
    fpr, tpr, thr = roc_curve(y_int, p_arr)
    roc = pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(thr, 1.0)})
    prec, rec, thr_pr = precision_recall_curve(y_int, p_arr)
    pr = pd.DataFrame({"recall": rec, "precision": prec, "threshold": np.append(thr_pr, 1.0)}).iloc[
        ::-1
    ]  # recall from 0 up
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p_arr, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p_arr, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y_arr, minlength=n_bins)
    keep = counts > 0
    reliability = pd.DataFrame(
        {
            "bin_lower": edges[:-1][keep],
            "bin_upper": edges[1:][keep],
            "mean_predicted": sum_p[keep] / counts[keep],
            "observed_rate": sum_y[keep] / counts[keep],
            "count": counts[keep].astype(np.int64),
        }
    )
    return Curves(
        roc=_thin(roc, max_points),
        pr=_thin(pr, max_points),
        reliability=reliability,
        roc_auc=float(roc_auc_score(y_int, p_arr)),
        pr_auc=float(average_precision_score(y_int, p_arr)),
        brier=float(brier_score_loss(y_int, p_arr)),
        base_rate=float(y_arr.mean()),
        n=int(y_arr.size),
        source=source,
    )


def churn_oof(
    frame: pd.DataFrame,
    catalog: Any = "seed",
    *,
    n_splits: int = 5,
    random_state: int = 0,
    churn_model: str = "blend",
    progress: Progress | None = None,
) -> np.ndarray:
    """Out-of-fold churn probabilities, one per row of ``frame``.

    Uses the folds and seeds of :func:`core.models.cross_validate_models` (stratified, shuffled
    with ``random_state``; fold ``f`` fits a churn-only :class:`core.models.KeyFactorModels`
    with seed ``random_state + f`` on the other folds), so each customer's probability comes
    from a model that never saw it.

    Raises
    ------
    ModelError
        When the data has no churn outcome, or too few customers in the rarer class.
    """
    from sklearn.model_selection import StratifiedKFold

    from core.models.key_factors import KeyFactorModels

    if "Churn Value" not in frame.columns:
        raise ModelError("the data has no Churn Value column: there is no churn to evaluate.")
    y = frame["Churn Value"].to_numpy(dtype=np.float64)
    if np.isnan(y).any():
        raise ModelError("Churn Value has missing values; the churn curves need every label.")
    y_int = y.astype(int)
    min_class = int(min(y_int.sum(), len(y_int) - y_int.sum()))
    k = min(int(n_splits), min_class)
    if k < 2:
        raise ModelError(
            f"only {min_class} customer(s) in the rarer churn class: out-of-fold curves need 2."
        )
    cat = resolve_catalog(catalog, list(frame.columns))
    splits = StratifiedKFold(k, shuffle=True, random_state=random_state).split(
        np.zeros(len(y_int)), y_int
    )
    oof = np.full(len(y_int), np.nan)
    for fold, (tr, te) in enumerate(splits):
        model = KeyFactorModels(
            cat, churn_model=churn_model, factors=("churn",), random_state=random_state + fold
        ).fit(frame.iloc[tr])
        oof[te] = model.predict_factor(frame.iloc[te], None, "churn")
        if progress is not None:
            progress(fold + 1, k)
    return np.clip(oof, 0.0, 1.0)


def churn_curves(
    frame: pd.DataFrame,
    catalog: Any = "seed",
    *,
    n_splits: int = 5,
    random_state: int = 0,
    progress: Progress | None = None,
) -> Curves:
    """:func:`curves` of :func:`churn_oof` (pooled over the folds)."""
    p = churn_oof(frame, catalog, n_splits=n_splits, random_state=random_state, progress=progress)
    k = min(int(n_splits), int(frame["Churn Value"].sum()), int((1 - frame["Churn Value"]).sum()))
    return curves(
        frame["Churn Value"].to_numpy(),
        p,
        source=f"out-of-fold predictions of {len(frame):,} customers ({k}-fold, pooled)",
    )


# --------------------------------------------------------------------------------------------
# model cards


def model_cards(models_dir: str | Path | None) -> dict[str, str]:
    """The markdown model cards in ``models_dir`` (``{file stem: text}``, sorted by name).

    Cards are the ``.md`` files :func:`core.models.train.train` writes next to each artifact; a
    missing folder gives an empty dict.
    """
    if models_dir is None:
        return {}
    folder = Path(models_dir)
    if not folder.is_dir():
        return {}
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))}
