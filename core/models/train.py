"""Training pipeline: cross-validate, fit, save trusted artifacts, sidecars, model cards, metrics.

``python -m core train DATA --models DIR`` (registered by :func:`add_cli`) and the dashboard's
:func:`load_or_train` both go through :func:`train`. ``DIR`` receives

* ``key_factors.joblib`` + ``key_factors.json`` (sidecar) + ``key_factors.md`` (model card):
  :class:`core.models.KeyFactorModels`;
* ``acceptance.joblib`` + ``acceptance.json`` + ``acceptance.md``:
  :class:`core.models.AcceptanceModels`;
* ``metrics.json``: the cross-validated metrics, nested, so the dotted names ``churn.roc_auc``,
  ``churn.pr_auc``, ``churn.brier``, ``cltv.r2``, ``satisfaction.r2`` (means over folds) resolve as
  ``metrics["churn"]["roc_auc"]`` etc. A factor the data lacks has ``null`` there and
  ``"available": false`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import KFold

from core.common.errors import ModelError
from core.common.progress import Progress
from core.data import schema
from core.data.catalog import Catalog, resolve_catalog
from core.models.acceptance import AcceptanceModels
from core.models.factory import CLTV_MODELS, SATISFACTION_MODELS
from core.models.key_factors import KeyFactorModels
from core.models.persist import (
    library_versions,
    load_artifact,
    read_sidecar,
    save_artifact,
    write_model_card,
)
from core.models.presets import PRESETS
from core.models.validation import cross_validate_models

__all__ = [
    "ACCEPTANCE_FILE",
    "KEY_FACTORS_FILE",
    "METRICS_FILE",
    "TrainedModels",
    "load_or_train",
    "train",
]


KEY_FACTORS_FILE = "key_factors.joblib"
ACCEPTANCE_FILE = "acceptance.joblib"
METRICS_FILE = "metrics.json"
#: The dotted metric names metrics.json always carries (null when the factor is unavailable).
HEADLINE = ("churn.roc_auc", "churn.pr_auc", "churn.brier", "cltv.r2", "satisfaction.r2")


@dataclass(frozen=True)
class TrainedModels:
    """What :func:`load_or_train` returns."""

    key_factors: KeyFactorModels
    acceptance: AcceptanceModels
    metrics: dict[str, Any]
    trained: bool  # False when loaded from trusted artifacts
    models_dir: Path


def catalog_fingerprint(catalog: Catalog) -> str:
    """sha256 of a catalog's canonical JSON (detects edited catalogs with the same name)."""
    text = json.dumps(catalog.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dotted(metrics: dict[str, Any], name: str) -> Any:
    """Resolve a dotted metric name (``"churn.roc_auc"``) in nested metrics."""
    value: Any = metrics
    for part in name.split("."):
        value = value[part]
    return value


def _acceptance_cv(
    frame: pd.DataFrame, catalog: Catalog, n_splits: int, random_state: int
) -> dict[str, Any]:
    """Out-of-fold ROC AUC and Brier of each product's propensity, among eligible customers."""
    held = catalog.holdings(frame)
    req = catalog.requires_matrix()
    oof = np.full(held.shape, np.nan)
    if len(frame) < 2 * n_splits:
        raise ModelError(f"{len(frame)} rows: too few to cross-validate the acceptance models.")
    splits = KFold(n_splits, shuffle=True, random_state=random_state).split(np.zeros(len(frame)))
    for tr, te in splits:
        m = AcceptanceModels(catalog, random_state=random_state).fit(frame.iloc[tr])
        oof[te] = m.predict_proba(frame.iloc[te])
    out: dict[str, Any] = {}
    for j, key in enumerate(catalog.keys):
        eligible = held[:, req[j]].all(axis=1) if req[j].any() else np.ones(len(frame), bool)
        y, p = held[eligible, j], oof[eligible, j]
        entry: dict[str, Any] = {"eligible": int(eligible.sum()), "holders": int(y.sum())}
        if 0 < y.sum() < len(y):
            entry["roc_auc"] = float(roc_auc_score(y, p))
            entry["brier"] = float(brier_score_loss(y, p))
        else:
            entry["roc_auc"] = entry["brier"] = None
        out[key] = entry
    return out


def _feature_list(models: KeyFactorModels) -> list[str]:
    return list(dict.fromkeys(models.churn_feature_names_ + models.feature_names_))


def _key_factor_card(
    models: KeyFactorModels, metrics: dict[str, Any], data: dict[str, Any], created: str
) -> dict[str, Any]:
    churn, cltv, sat = metrics["churn"], metrics["cltv"], metrics["satisfaction"]

    def fmt(entry: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | str:
        if not entry.get("available"):
            return f"unavailable: {entry.get('reason')}"
        return {k: entry[k] for k in keys if entry.get(k) is not None}

    metric_rows: dict[str, Any] = {
        "churn": fmt(churn, ("roc_auc", "pr_auc", "brier", "r2", "base_rate")),
        "cltv": fmt(cltv, ("r2", "mae", "baseline_r2", "baseline_mae")),
        "satisfaction": fmt(sat, ("r2", "mae", "baseline_r2", "baseline_mae")),
    }
    if churn.get("with_satisfaction"):
        ws = churn["with_satisfaction"]
        metric_rows["churn with Satisfaction Score as a feature (not used)"] = {
            k: ws[k] for k in ("roc_auc", "pr_auc", "brier")
        }
    evidence = churn.get("satisfaction_is_nearly_a_label") or {}
    limitations = [
        "Observational data: the portfolio effects it implies are associations adjusted for the "
        "customer features, not randomised effects.",
        "Counterfactual portfolios rewrite Monthly Charge by catalog list prices and set usage "
        "of an added service to typical values; histories (totals) are kept.",
        "CLTV in the IBM sample is IBM's own predicted index, not realised value.",
        "Satisfaction Score is excluded from the churn features: it is nearly a churn label.",
        "Gender, age and other demographics are features; review for fairness before acting "
        "on individual scores.",
    ]
    if evidence.get("available"):
        limitations.append(
            "Churn rate by Satisfaction Score: "
            + ", ".join(f"{k}: {v:.0%}" for k, v in evidence["churn_rate_by_score"].items())
        )
    return {
        "name": "key factors (CLTV, churn, satisfaction)",
        "summary": "Predicts each customer's churn probability, expected CLTV and expected "
        "satisfaction from customer features plus the product portfolio (one holding feature "
        "per product), so the opportunity engine can ask 'what if this customer held j too?'.",
        "intended_use": [
            "Inputs of the counterfactual opportunity estimator (differences between "
            "portfolios, ranked across customers and products).",
            "Explaining which customer features drive churn (permutation importance).",
        ],
        "not_for": [
            "Automated decisions about individuals without review.",
            "Data whose schema or population differs from the training data.",
        ],
        "data": data,
        "model": {
            "churn": f"{models.churn_kind_} classifier"
            + {
                "blend": " (soft vote: spline logistic regression with month-to-month "
                "interactions + histogram gradient boosting)",
                "gb": " (exact-split gradient boosting: the default for data without the "
                "telecom Contract column)",
            }.get(models.churn_kind_, "")
            + (
                " on the given Churn Probability (soft labels)"
                if getattr(models, "churn_target_", "label") == "probability"
                else ""
            ),
            "cltv": f"{models.cltv_model} regressor",
            "satisfaction": f"{models.satisfaction_kind_} model"
            + ("" if models.preset == "accurate" else f" ({models.preset} preset)"),
            "products": ", ".join(models.product_keys_),
            "fitted factors": ", ".join(models.factors_),
            "unavailable": ", ".join(f"{k} ({v})" for k, v in models.unavailable_factors_.items())
            or "none",
        },
        "features": _feature_list(models),
        "feature_types": {
            **models.features_.feature_types(),
            **models.churn_features_.feature_types(),
        },
        "leakage_guard": [
            "Never features: " + ", ".join(schema.ALL_OUTCOME_COLUMNS) + ".",
            "Not features: geography (City, Zip Code, Latitude, Longitude, Population), the "
            "customer id, constant columns, CLTV, and Satisfaction Score (churn model).",
            "Columns a mapping names in [outcomes] are left out when the data is loaded; "
            "free-text and identifier columns too.",
        ],
        "metrics": metric_rows,
        "limitations": limitations,
        "reproduce": _reproduce(models.cltv_model, data),
        "versions": library_versions(),
        "created_at": created,
    }


def _reproduce(cltv_model: str, data: dict[str, Any]) -> str:
    """The ``train`` command that makes these models again (the mapping, preset and folds that
    were used; defaults left out)."""
    parts = ["python -m core train DATA --models DIR"]
    if data.get("mapping"):
        parts.append(f"--mapping {data['mapping']}")
    parts.append(f"--catalog {data.get('catalog')} --cltv-model {cltv_model}")
    if data.get("preset", "accurate") != "accurate":
        parts.append(f"--model-preset {data['preset']}")
    if data.get("folds", 5) != 5:
        parts.append(f"--folds {data['folds']}")
    parts.append(f"--seed {data.get('seed')}")
    return " ".join(parts)


def _acceptance_card(
    models: AcceptanceModels, metrics: dict[str, Any], data: dict[str, Any], created: str
) -> dict[str, Any]:
    rows = {
        key: {k: v for k, v in entry.items() if v is not None} for key, entry in metrics.items()
    }
    return {
        "name": "offer acceptance propensity",
        "summary": "P(customer holds/takes product j | customer profile, other products held), "
        "one calibrated classifier per product (sigmoid calibration, 3 folds), trained on the "
        "customers who meet the product's prerequisites.",
        "intended_use": [
            "Weighting a product's opportunity by how likely the customer is to accept it "
            "(priority = propensity x value x lever)."
        ],
        "not_for": [
            "Measuring the causal effect of offering a product: holding a product is not the "
            "same as accepting an offer of it."
        ],
        "data": data,
        "model": {
            "base": models.base,
            "constant-rate products": ", ".join(f"{k} ({v})" for k, v in models.constant_.items())
            or "none",
        },
        "features": list(models.feature_names_),
        "leakage_guard": [
            "Profile features only (demographics, tenure, contract, billing, referrals) plus "
            "the other products' holdings; no outcome column, no charges or usage (they reveal "
            "the portfolio)."
        ],
        "metrics": rows,
        "limitations": [
            "Holding is a proxy of acceptance: the data records portfolios, not offers made.",
            "The propensity is conditional on the prerequisites being met.",
        ],
        "versions": library_versions(),
        "created_at": created,
    }


def train(
    frame: pd.DataFrame,
    models_dir: str | Path,
    *,
    catalog: Catalog | str = "seed",
    data_sha256: str,
    cltv_model: str = "hgb",
    satisfaction_model: str | None = None,
    preset: str = "accurate",
    n_splits: int = 5,
    random_state: int = 0,
    progress: Progress | None = None,
    mapping: str | None = None,
) -> dict[str, Any]:
    """Cross-validate, fit on all rows, and save artifacts, sidecars, cards and metrics.json.

    Parameters
    ----------
    frame
        Validated canonical frame (:attr:`core.data.io.LoadedData.frame`).
    models_dir
        Output folder (created); it becomes a trusted models directory for this data.
    catalog
        Catalog name, path or object (restricted to the data's columns).
    data_sha256
        sha256 of the training data (:attr:`core.data.io.LoadedData.sha256`), recorded in sidecars.
    cltv_model, satisfaction_model
        Model families (see :class:`core.models.KeyFactorModels`; satisfaction None: the
        preset's).
    preset
        ``"accurate"`` (default) or ``"fast"`` (:data:`core.models.presets.PRESETS`).
    n_splits
        Cross-validation folds.
    random_state
        Seed of folds and learners.
    progress
        ``progress(done, total)`` callback.
    mapping
        The column-mapping file the data was loaded with, for the model card's command.

    Returns
    -------
    dict
        ``{"metrics": ..., "files": [...], "seconds": ...}``; ``metrics`` is what
        ``metrics.json`` holds.
    """
    t0 = time.perf_counter()
    if preset not in PRESETS:
        raise ModelError(f"preset={preset!r}: choose one of {list(PRESETS)}.")
    satisfaction_model = satisfaction_model or PRESETS[preset].satisfaction_model
    if cltv_model not in CLTV_MODELS:
        raise ModelError(f"cltv_model={cltv_model!r}: choose one of {list(CLTV_MODELS)}.")
    if satisfaction_model not in SATISFACTION_MODELS:
        raise ModelError(
            f"satisfaction_model={satisfaction_model!r}: choose one of {list(SATISFACTION_MODELS)}."
        )
    out = Path(models_dir)
    cat = resolve_catalog(catalog, list(frame.columns))
    total = 100.0

    def stage(lo: float, hi: float) -> Progress | None:
        if progress is None:
            return None
        return lambda done, tot: progress(lo + (hi - lo) * (done / tot if tot else 1.0), total)

    metrics = cross_validate_models(
        frame,
        cat,
        cltv_model=cltv_model,
        satisfaction_model=satisfaction_model,
        preset=preset,
        n_splits=n_splits,
        random_state=random_state,
        progress=stage(0, 70),
    )
    acc_metrics = _acceptance_cv(frame, cat, min(n_splits, 3), random_state)
    if progress:
        progress(78, total)
    key_factors = KeyFactorModels(
        cat,
        cltv_model=cltv_model,
        satisfaction_model=satisfaction_model,
        preset=preset,
        random_state=random_state,
    ).fit(frame)
    if progress:
        progress(92, total)
    acceptance = AcceptanceModels(cat, random_state=random_state).fit(frame)
    metrics["acceptance"] = acc_metrics
    metrics["data_sha256"] = data_sha256
    metrics["dotted_names"] = {name: dotted(metrics, name) for name in HEADLINE}
    created = datetime.now(UTC).isoformat(timespec="seconds")
    extra = {
        "catalog": cat.name,
        "catalog_sha256": catalog_fingerprint(cat),
        "products": list(cat.keys),
        "params": _params(cltv_model, satisfaction_model, preset, random_state),
    }
    data_info = {
        "rows": len(frame),
        "sha256": data_sha256,
        "catalog": cat.name,
        "products": ", ".join(cat.keys),
        "seed": random_state,
        "preset": preset,
        "folds": n_splits,
        **({"mapping": mapping} if mapping else {}),
    }
    headline = {k: metrics[k] for k in ("churn", "cltv", "satisfaction", "cv")}
    out.mkdir(parents=True, exist_ok=True)
    kf_path, acc_path = out / KEY_FACTORS_FILE, out / ACCEPTANCE_FILE
    save_artifact(key_factors, kf_path, data_sha256=data_sha256, metrics=headline, extra=extra)
    save_artifact(acceptance, acc_path, data_sha256=data_sha256, metrics=acc_metrics, extra=extra)
    write_model_card(
        kf_path.with_suffix(".md"), _key_factor_card(key_factors, metrics, data_info, created)
    )
    write_model_card(
        acc_path.with_suffix(".md"), _acceptance_card(acceptance, acc_metrics, data_info, created)
    )
    metrics["seconds"] = round(time.perf_counter() - t0, 2)
    metrics_path = out / METRICS_FILE
    metrics_path.write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n", "utf-8")
    if progress:
        progress(total, total)
    files = [
        str(p)
        for p in (
            kf_path,
            kf_path.with_suffix(".json"),
            kf_path.with_suffix(".md"),
            acc_path,
            acc_path.with_suffix(".json"),
            acc_path.with_suffix(".md"),
            metrics_path,
        )
    ]
    return {"metrics": metrics, "files": files, "seconds": metrics["seconds"]}


def _params(cltv: str, satisfaction: str, preset: str, random_state: int) -> dict[str, Any]:
    """The training parameters recorded in (and matched against) the sidecars."""
    params: dict[str, Any] = {
        "cltv_model": cltv,
        "satisfaction_model": satisfaction,
        "random_state": random_state,
    }
    if preset != "accurate":  # artifacts of the accurate preset predate the option
        params["preset"] = preset
    return params


def load_or_train(
    frame: pd.DataFrame,
    models_dir: str | Path,
    data_sha256: str,
    catalog: Catalog | str = "seed",
    *,
    cltv_model: str = "hgb",
    preset: str = "accurate",
    n_splits: int = 5,
    random_state: int = 0,
    progress: Progress | None = None,
) -> TrainedModels:
    """Load the trusted artifacts in ``models_dir`` if they fit this data, else train them.

    Artifacts are reused only when both exist, pass :func:`core.models.persist.load_artifact`'s checks
    (hash, library versions) with ``models_dir`` as the trusted directory, were trained on data
    with sha256 ``data_sha256``, with the same catalog (name and content) and parameters.
    Otherwise :func:`train` runs (reporting through ``progress``) and overwrites them.
    ``models_dir`` must be a folder the application controls, never one users upload to.
    """
    if preset not in PRESETS:
        raise ModelError(f"preset={preset!r}: choose one of {list(PRESETS)}.")
    out = Path(models_dir)
    cat = resolve_catalog(catalog, list(frame.columns))
    want = {
        "catalog_sha256": catalog_fingerprint(cat),
        "params": _params(cltv_model, PRESETS[preset].satisfaction_model, preset, random_state),
    }
    kf_path, acc_path = out / KEY_FACTORS_FILE, out / ACCEPTANCE_FILE
    if kf_path.is_file() and acc_path.is_file() and (out / METRICS_FILE).is_file():
        try:
            ok = True
            for p in (kf_path, acc_path):
                extra = read_sidecar(p).get("extra", {})
                ok &= all(extra.get(k) == v for k, v in want.items())
            if ok:
                kf = load_artifact(kf_path, trusted_dir=out, data_sha256=data_sha256)
                acc = load_artifact(acc_path, trusted_dir=out, data_sha256=data_sha256)
                metrics = json.loads((out / METRICS_FILE).read_text("utf-8"))
                if isinstance(kf, KeyFactorModels) and isinstance(acc, AcceptanceModels):
                    if progress:
                        progress(1, 1)
                    return TrainedModels(kf, acc, metrics, False, out)
        except (ModelError, OSError, json.JSONDecodeError):
            pass  # stale, foreign or tampered artifacts: retrain below
    result = train(
        frame,
        out,
        catalog=cat,
        data_sha256=data_sha256,
        cltv_model=cltv_model,
        preset=preset,
        n_splits=n_splits,
        random_state=random_state,
        progress=progress,
    )
    kf = load_artifact(kf_path, trusted_dir=out, data_sha256=data_sha256)
    acc = load_artifact(acc_path, trusted_dir=out, data_sha256=data_sha256)
    return TrainedModels(kf, acc, result["metrics"], True, out)


# ---- CLI ------------------------------------------------------------------------------------
