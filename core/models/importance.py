"""Permutation importance of a fitted key-factor model, batched for speed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score

from core.common.threads import model_threads

__all__ = ["permutation_importance"]


def permutation_importance(
    model: Any, X: pd.DataFrame, y: np.ndarray, factor: str, n_repeats: int, seed: int | None
) -> pd.DataFrame:
    """Permutation importance, batched: all shuffled copies are scored in a few large calls.

    Same definition as :func:`sklearn.inspection.permutation_importance` (drop of ROC AUC for
    churn labels, of R2 otherwise, a given churn probability included, when one column is
    shuffled; mean and std over ``n_repeats``), but
    the shuffled copies are stacked and predicted together (up to ~50,000 rows per call), which
    removes the per-call overhead of the pipelines (about 20x faster on the IBM sample).

    Parameters
    ----------
    model
        A fitted model of ``factor`` (``predict_proba`` for churn, ``predict`` otherwise).
    X
        Its model matrix (held-out rows for an honest picture).
    y
        The factor's observed values on those rows.
    factor
        ``"churn"`` (ROC AUC), ``"cltv"`` or ``"satisfaction"`` (R2).
    n_repeats
        Shuffles per column.
    seed
        Seed of the shuffles.

    Returns
    -------
    DataFrame
        ``feature``, ``importance_mean``, ``importance_std``, by decreasing mean drop.
    """
    rng = np.random.default_rng(seed)
    n, cols = len(X), list(X.columns)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        if factor == "churn":
            return np.asarray(model.predict_proba(frame)[:, 1], dtype=float)
        return np.asarray(model.predict(frame), dtype=float)

    labels = factor == "churn" and bool(np.isin(y, (0.0, 1.0)).all())

    def score(pred: np.ndarray) -> float:
        if labels:
            return float(roc_auc_score(y, pred))
        return float(r2_score(y, pred))  # CLTV, satisfaction, or a given churn probability

    jobs = [(c, r) for c in cols for r in range(n_repeats)]
    perms = {job: rng.permutation(n) for job in jobs}
    drops = {c: [] for c in cols}  # type: dict[str, list[float]]
    per_call = max(1, 50_000 // max(n, 1))
    with model_threads():
        base = score(predict(X))
        for start in range(0, len(jobs), per_call):
            batch = jobs[start : start + per_call]
            copies = []
            for c, r in batch:
                shuffled = X.copy()
                shuffled[c] = X[c].to_numpy()[perms[(c, r)]]
                copies.append(shuffled)
            pred = predict(pd.concat(copies, ignore_index=True))
            for b, (c, _) in enumerate(batch):
                drops[c].append(base - score(pred[b * n : (b + 1) * n]))
    return (
        pd.DataFrame(
            {
                "feature": cols,
                "importance_mean": [float(np.mean(drops[c])) for c in cols],
                "importance_std": [float(np.std(drops[c])) for c in cols],
            }
        )
        .sort_values("importance_mean", ascending=False)
        .reset_index(drop=True)
    )
