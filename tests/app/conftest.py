"""AppTest fixtures: models are trained once per data file (the app's own cached code path)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_models() -> Path:
    """Train (or load) the demo population's models where the app looks for them."""
    import ui
    from core import pipeline
    from core.io import load
    from core.train import load_or_train

    data = load(ui.ensure_demo())
    settings = ui.DEFAULT_SETTINGS
    cat = pipeline.resolve_catalog(settings.catalog, list(data.frame.columns))
    folder = ui.models_dir(data, settings.catalog)
    load_or_train(data.frame, folder, data.sha256, cat, random_state=settings.seed)
    return folder
