"""Artifacts: round trip, and refusal of tampered, version-mismatched or untrusted files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from core.common.errors import ModelError
from core.models.persist import (
    MODELS_DIR,
    file_sha256,
    load_artifact,
    model_library_versions,
    save_artifact,
    write_model_card,
)


@pytest.fixture()
def artifact(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    path = tmp_path / "models" / "clf.joblib"
    save_artifact(model, path, data_sha256="ab" * 32, metrics={"roc_auc": 0.97}, extra={"k": 1})
    return path


def test_round_trip_and_sidecar(artifact: Path) -> None:
    side = json.loads(artifact.with_suffix(".json").read_text())
    assert side["artifact_sha256"] == file_sha256(artifact)
    assert side["versions"] == model_library_versions()
    assert set(side["versions"]) == {"python", "numpy", "pandas", "scikit-learn", "joblib"}
    assert side["data_sha256"] == "ab" * 32 and side["metrics"] == {"roc_auc": 0.97}
    assert side["created_at"] and side["extra"] == {"k": 1}
    model = load_artifact(artifact, trusted_dir=artifact.parent)
    x = np.array([[1.0, 0, 0], [-1.0, 0, 0]])
    assert model.predict(x).tolist() == [1, 0]


def test_tampered_byte_is_refused(artifact: Path) -> None:
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the sidecar"):
        load_artifact(artifact, trusted_dir=artifact.parent)


def test_other_library_versions_are_refused(artifact: Path) -> None:
    side_path = artifact.with_suffix(".json")
    side = json.loads(side_path.read_text())
    side["versions"]["scikit-learn"] = "0.24.2"
    side_path.write_text(json.dumps(side))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.24\.2 \(file\)"):
        load_artifact(artifact, trusted_dir=artifact.parent)


def test_missing_or_broken_sidecar_is_refused(artifact: Path) -> None:
    side_path = artifact.with_suffix(".json")
    side_path.write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        load_artifact(artifact, trusted_dir=artifact.parent)
    side_path.unlink()
    with pytest.raises(ModelError, match="sidecar clf.json is missing"):
        load_artifact(artifact, trusted_dir=artifact.parent)


def test_path_outside_trusted_dir_is_refused(artifact: Path, tmp_path: Path) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    with pytest.raises(ModelError, match="trusted models directory"):
        load_artifact(artifact, trusted_dir=trusted)
    with pytest.raises(ModelError, match="trusted models directory"):
        load_artifact(trusted / ".." / "models" / "clf.joblib", trusted_dir=trusted)
    # default trusted dir is the project's models/ folder
    assert MODELS_DIR.name == "models"
    with pytest.raises(ModelError, match=str(MODELS_DIR)):
        load_artifact(artifact)


def test_symlink_escaping_trusted_dir_is_refused(artifact: Path, tmp_path: Path) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    link = trusted / "clf.joblib"
    link.symlink_to(artifact)
    with pytest.raises(ModelError, match="trusted models directory"):
        load_artifact(link, trusted_dir=trusted)


def test_other_training_data_is_refused(artifact: Path) -> None:
    with pytest.raises(ModelError, match="trained on other data"):
        load_artifact(artifact, trusted_dir=artifact.parent, data_sha256="cd" * 32)
    assert load_artifact(artifact, trusted_dir=artifact.parent, data_sha256="ab" * 32)


def test_model_card(tmp_path: Path) -> None:
    path = write_model_card(
        tmp_path / "card.md",
        {
            "name": "demo",
            "intended_use": ["ranking offers"],
            "data": {"rows": 10, "sha256": "ab"},
            "features": ["Age", "holds_phone"],
            "leakage_guard": "Churn Score never used.",
            "metrics": {"churn": {"roc_auc": 0.91234}},
            "limitations": ["observational"],
            "reproduce": "python -m core train x.csv --models m",
        },
    )
    text = path.read_text()
    for part in (
        "# Model card: demo",
        "## Intended use",
        "## Leakage guard",
        "roc_auc = 0.9123",
        "`holds_phone`",
        "## Limitations",
        "python -m core train",
    ):
        assert part in text


class _Moving:
    """A class that 'moves' away after pickling (as core's classes did in the layered refactor)."""


def test_an_artifact_naming_a_moved_class_is_refused_not_crashing(tmp_path: Path) -> None:
    import sys

    path = tmp_path / "models" / "moved.joblib"
    save_artifact(_Moving(), path, data_sha256="cd" * 32, metrics={})
    module = sys.modules[__name__]
    original = module._Moving
    del module._Moving  # the class is no longer where the pickle says
    try:
        with pytest.raises(ModelError, match="another version of this code"):
            load_artifact(path, trusted_dir=path.parent)
    finally:
        module._Moving = original
