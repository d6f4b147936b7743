"""The trained models: where they live, training them once, and what the Models page shows.

Models are trained on the data once (a progress bar the first time) and loaded from the
trusted ``models/`` folder afterwards (:func:`core.models.train.load_or_train`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.data.catalog import resolve_catalog
from core.data.io import LoadedData, load
from core.pipeline import Settings
from ui._base import ROOT, guarded, progress_bar
from ui.cache import cached
from ui.data import ensure_demo, require_data
from ui.state import DEFAULT_SETTINGS, settings

MODELS_DIR = ROOT / "models"  # trusted artifacts only; never a user folder
#: The artifacts of a trained folder (core.models.train.KEY_FACTORS_FILE and ACCEPTANCE_FILE,
#: named here so that checking for them does not import scikit-learn).
ARTIFACTS = ("key_factors.joblib", "acceptance.joblib")


def models_dir(data: LoadedData, catalog: str) -> Path:
    """Trusted folder of the models trained on this data and catalog."""
    from core.models.persist import models_folder

    return models_folder(MODELS_DIR, data.sha256, catalog)


def prepare_models(path: Path | None = None, catalog: str | None = None) -> Path:
    """Train (or load) a data file's models where the app looks for them (``make run``)."""
    from core.models.train import load_or_train

    data = load(path or ensure_demo())
    s = DEFAULT_SETTINGS if catalog is None else DEFAULT_SETTINGS.with_(catalog=catalog)
    cat = resolve_catalog(s.catalog, list(data.frame.columns))
    folder = models_dir(data, s.catalog)
    load_or_train(data.frame, folder, data.sha256, cat, random_state=s.seed)
    return folder


def models_ready(data: LoadedData, s: Settings) -> bool:
    """Whether trained artifacts for this data and catalog are on disk (loading is quick)."""
    folder = models_dir(data, s.catalog)
    return all((folder / name).is_file() for name in ARTIFACTS)


def trained_models(data: LoadedData | None = None, s: Settings | None = None) -> Any:
    """Key-factor and acceptance models for the data and catalog (trained once, on disk)."""
    from core.models.train import load_or_train

    data = data or require_data()
    s = s or settings()

    def compute(progress: Any) -> Any:
        cat = resolve_catalog(s.catalog, list(data.frame.columns))
        folder = models_dir(data, s.catalog)
        return load_or_train(data.frame, folder, data.sha256, cat, progress=progress)

    label = (
        "Loading the trained models..."
        if models_ready(data, s)
        else "Training the models on this data (first start only)..."
    )
    return cached("models", (data.sha256, s.catalog), compute, label=label)


def factor_note(metrics: dict[str, Any], factor: str) -> str | None:
    """What the Models page says above a factor the data lacks (or gives as a probability)."""
    entry = metrics.get(factor) or {}
    if not entry.get("available", True):
        return f"Not in this data ({entry.get('reason')}): reported unavailable, never invented."
    note = entry.get("note")
    return None if note is None else str(note)[:1].upper() + str(note)[1:] + "."


def model_summary() -> dict[str, Any]:
    """What the Models page shows from the trained models (see :mod:`core.models.report`).

    ``trained``, ``metrics`` (metric vs baseline table with the cards' ``shown``, ``delta`` and
    ``lower_is_better``, :func:`core.insights.metric_cards`), ``importance``, ``reliability``
    (None when absent), ``warning`` (Satisfaction Score is nearly a label, or None), ``cards``,
    ``cv`` (the cross-validation's folds, rows and seed).
    """
    from core.insights import metric_cards
    from core.models import report as mr

    trained = guarded(trained_models)  # a CJOError (e.g. no factor to model) is shown
    m = trained.metrics
    return {
        "trained": trained,
        "metrics": metric_cards(mr.metric_table(m)),
        "importance": mr.importance_table(m),
        "reliability": mr.reliability_table(m),
        "warning": mr.satisfaction_warning(m),
        "cards": mr.model_cards(trained.models_dir),
        "cv": m.get("cv") or {},
    }


def churn_curves() -> Any:
    """Out-of-fold ROC / PR / reliability curves of the churn model (cached; progress shown).

    None when the data has no churn outcome. Uses the folds and seed of the stored metrics.
    """
    from core.models import report as model_report

    data = require_data()
    s = settings()
    if "Churn Value" not in data.frame.columns:
        return None
    cv = trained_models(data, s).metrics.get("cv") or {}
    n_splits, seed = int(cv.get("n_splits", 5)), int(cv.get("random_state", 0))

    def compute() -> Any:
        bar, tick = progress_bar(f"Out-of-fold churn predictions ({n_splits} models)...")
        try:
            return model_report.churn_curves(
                data.frame, s.catalog, n_splits=n_splits, random_state=seed, progress=tick
            )
        finally:
            bar.empty()

    key = (data.sha256, s.catalog, n_splits, seed)
    return guarded(lambda: cached("curves", key, compute))
