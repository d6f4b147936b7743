"""AppTest fixtures: models are trained once per data file (the app's own cached code path)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_models() -> Path:
    """Train (or load) the demo population's models where the app looks for them."""
    import ui

    return ui.prepare_models()


@pytest.fixture(autouse=True)
def _private_store(tmp_path, monkeypatch) -> None:
    """Every AppTest saves scenarios into its own SQLite file, never data/journeys.db."""
    monkeypatch.setenv("JOURNEY_DB_URL", f"sqlite:///{tmp_path / 'journeys.db'}")
