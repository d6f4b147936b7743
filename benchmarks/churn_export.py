"""Churn ROC AUC on another operator's churn export: our churn model vs plain gradient boosting.

The export is the seeded look-alike of the classic public telecom churn data
(``tests/fixtures/make_churn_export.py``: 20 columns, no id, Churn True/False). Both models are
judged on the same 5 stratified folds (shuffled, seed 0: the folds ``python -m core train``
uses):

* **ours**: :func:`core.models.cross_validate_models` on the data as ``core.data.io.load`` reads
  it with the example mapping and the ``telecom_plans`` catalog (the default churn model of the
  ``accurate`` preset, the plans as holding features, every other column as an extra feature);
* **plain gradient boosting**: scikit-learn's ``GradientBoostingClassifier()`` with default
  settings on the raw columns (plans as 0/1, State as integer codes).

Usage::

    .venv/bin/python benchmarks/churn_export.py [--rows 3333] [--seed 7] [--json out.json]

The ``train`` command gives the same figure as ours (``churn.roc_auc`` in metrics.json)::

    python tests/fixtures/make_churn_export.py /tmp/churn.csv --mapping /tmp/churn.toml
    python -m core train /tmp/churn.csv --mapping /tmp/churn.toml --catalog telecom_plans \\
        --models /tmp/m_churn
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from make_churn_export import MAPPING_TOML, generate  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from core.data.io import load  # noqa: E402
from core.models import cross_validate_models  # noqa: E402


def plain_gradient_boosting(rows: int, seed: int, folds: int = 5) -> dict[str, float]:
    """Mean and per-fold ROC AUC of default gradient boosting on the raw export."""
    raw = generate(rows, seed)
    y = (raw.pop("Churn") == "True").to_numpy(dtype=int)
    X = raw.copy()
    X["State"] = X["State"].astype("category").cat.codes
    for c in ("International plan", "Voice mail plan"):
        X[c] = (X[c] == "Yes").astype(int)
    scores = []
    splits = StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    for tr, te in splits:
        model = GradientBoostingClassifier(random_state=0).fit(X.iloc[tr], y[tr])
        scores.append(float(roc_auc_score(y[te], model.predict_proba(X.iloc[te])[:, 1])))
    return {"roc_auc": float(np.mean(scores)), "folds": scores}


def ours(rows: int, seed: int, folds: int = 5) -> dict[str, object]:
    """Cross-validated churn metrics of our models on the loaded export."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "churn.csv"
        generate(rows, seed).to_csv(path, index=False)
        mapping = Path(tmp) / "churn.toml"
        mapping.write_text(MAPPING_TOML, encoding="utf-8")
        data = load(path, mapping=mapping, catalog="telecom_plans")
    assert data.catalog is not None
    metrics = cross_validate_models(
        data.frame, data.catalog, n_splits=folds, random_state=0, importance=False
    )
    churn = metrics["churn"]
    return {
        "roc_auc": churn["roc_auc"],
        "folds": churn["folds"]["roc_auc"],
        "model": churn["model"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3333)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    t = time.perf_counter()
    gb = plain_gradient_boosting(args.rows, args.seed)
    t_gb = time.perf_counter() - t
    t = time.perf_counter()
    us = ours(args.rows, args.seed)
    t_us = time.perf_counter() - t
    result = {
        "rows": args.rows,
        "seed": args.seed,
        "folds": "5 stratified, shuffled, random_state=0",
        "ours": {**us, "seconds": round(t_us, 1)},
        "plain_gradient_boosting": {**gb, "seconds": round(t_gb, 1)},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
