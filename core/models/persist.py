"""Model artifacts: joblib files with a JSON sidecar, refused when anything does not match.

A joblib (pickle) file can run arbitrary code when loaded, so this module only ever loads files
that the project itself wrote into a *trusted models directory*:

* :func:`save_artifact` writes ``NAME.joblib`` and its sidecar ``NAME.json`` (library versions of
  Python, NumPy, pandas, scikit-learn and joblib, the sha256 of the training data, metrics, the
  creation time and the sha256 of the artifact file itself).
* :func:`load_artifact` refuses, with a :class:`~core.common.errors.ModelError` naming the problem and
  the fix, a path outside ``trusted_dir`` (default: the project's ``models/`` folder), a missing
  or unreadable sidecar, an artifact whose sha256 differs from the sidecar's (a tampered or
  truncated file), and an artifact written with other library versions (pickles are not
  portable across scikit-learn versions). Only then is the file unpickled.

Never point ``trusted_dir`` at a folder users can write to, and never pass an uploaded file to
:func:`load_artifact`: the dashboard accepts data uploads, never model uploads.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from core.common.errors import ModelError
from core.common.jsonutil import to_jsonable
from core.common.provenance import library_versions

__all__ = [
    "MODELS_DIR",
    "SIDECAR_FORMAT",
    "file_sha256",
    "model_library_versions",
    "load_artifact",
    "read_sidecar",
    "save_artifact",
    "sidecar_path",
    "write_model_card",
]

#: The project's trusted models folder (default of ``trusted_dir``).
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
SIDECAR_FORMAT = 1
#: Libraries a pickled model depends on (their versions are recorded in every sidecar).
MODEL_LIBRARIES: tuple[str, ...] = ("numpy", "pandas", "scikit-learn", "joblib")


def model_library_versions() -> dict[str, str]:
    """Versions of Python and of :data:`MODEL_LIBRARIES`, as recorded in sidecars."""
    return library_versions(MODEL_LIBRARIES)


def models_folder(root: str | os.PathLike[str], data_sha256: str, catalog: str) -> Path:
    """The trusted folder under ``root`` that holds the models of a data file and catalog.

    ``root/<first 16 hex digits of the data's sha256>-<catalog name>`` (a catalog file counts by
    its stem): where the dashboard keeps them and where ``python -m core report`` finds them.
    """
    name = Path(catalog).stem if str(catalog).endswith(".toml") else str(catalog)
    return Path(root) / f"{data_sha256[:16]}-{name}"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar of an artifact: same name, ``.json`` suffix."""
    return Path(path).with_suffix(".json")


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)  # mkstemp creates 0600; artifacts are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_artifact(
    obj: Any,
    path: str | os.PathLike[str],
    *,
    data_sha256: str,
    metrics: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``obj`` to ``path`` with joblib and its JSON sidecar; returns the sidecar dict.

    Parameters
    ----------
    obj
        The fitted model (any picklable object).
    path
        Destination, conventionally ``models/<name>.joblib``; the sidecar is
        ``path.with_suffix(".json")``. Both are written atomically (temporary file + rename).
    data_sha256
        sha256 of the training data (:attr:`core.data.io.LoadedData.sha256`).
    metrics
        Cross-validated metrics to record (JSON-able).
    extra
        Anything else worth recording (catalog, parameters); stored under ``"extra"``.
    """
    path = Path(path)
    if path.suffix == ".json":
        raise ModelError(f"{path}: an artifact cannot have the .json suffix of its sidecar.")
    _atomic_write(path, lambda tmp: joblib.dump(obj, tmp, compress=3))
    info = {
        "format": SIDECAR_FORMAT,
        "artifact": path.name,
        "artifact_sha256": file_sha256(path),
        "artifact_bytes": path.stat().st_size,
        "object": f"{type(obj).__module__}.{type(obj).__qualname__}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": model_library_versions(),
        "data_sha256": str(data_sha256),
        "metrics": to_jsonable(dict(metrics)),
        "extra": to_jsonable(dict(extra or {})),
    }
    text = json.dumps(info, indent=2, sort_keys=False, allow_nan=False)
    _atomic_write(sidecar_path(path), lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
    return info


def _trusted(path: Path, trusted_dir: str | os.PathLike[str] | None) -> Path:
    root = Path(trusted_dir if trusted_dir is not None else MODELS_DIR).resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise ModelError(
            f"refusing to load {path}: model files are only loaded from the trusted models "
            f"directory {root} (a model file can run code when loaded; never load one that was "
            "uploaded or downloaded). Fix: train the models with `python -m core train`."
        )
    return resolved


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The sidecar of artifact ``path``; raises ModelError when missing or unreadable."""
    side = sidecar_path(path)
    if not side.is_file():
        raise ModelError(
            f"refusing to load {Path(path).name}: its sidecar {side.name} is missing, so its "
            "origin cannot be checked. Fix: retrain with `python -m core train`."
        )
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"refusing to load {Path(path).name}: its sidecar {side.name} is unreadable ({exc}). "
            "Fix: retrain with `python -m core train`."
        ) from None
    if not isinstance(info, dict) or "artifact_sha256" not in info or "versions" not in info:
        raise ModelError(
            f"refusing to load {Path(path).name}: its sidecar {side.name} lacks the artifact "
            "hash or library versions. Fix: retrain with `python -m core train`."
        )
    return info


def load_artifact(
    path: str | os.PathLike[str],
    *,
    trusted_dir: str | os.PathLike[str] | None = None,
    data_sha256: str | None = None,
) -> Any:
    """Load an artifact written by :func:`save_artifact`, after checking everything.

    Parameters
    ----------
    path
        The ``.joblib`` file; it must lie inside ``trusted_dir``.
    trusted_dir
        The trusted models directory (default :data:`MODELS_DIR`, the project's ``models/``).
    data_sha256
        If given, also refuse an artifact trained on other data.

    Raises
    ------
    ModelError
        Path outside the trusted directory, file or sidecar missing, sha256 mismatch
        (tampered or truncated file), library versions different from the running ones, or
        other training data. The file is never unpickled in these cases. Also when the file
        names a class this version of the code no longer has where it was (moved or removed).
    """
    path = _trusted(Path(path), trusted_dir)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}. Fix: run `python -m core train`.")
    info = read_sidecar(path)
    actual = file_sha256(path)
    if actual != info["artifact_sha256"]:
        raise ModelError(
            f"refusing to load {path.name}: its sha256 ({actual[:12]}...) does not match the "
            f"sidecar ({str(info['artifact_sha256'])[:12]}...), so the file was modified or "
            "truncated after it was written. Fix: retrain with `python -m core train`."
        )
    running = model_library_versions()
    recorded = info.get("versions") or {}
    diff = {
        lib: (recorded.get(lib), ver) for lib, ver in running.items() if recorded.get(lib) != ver
    }
    if diff:
        detail = ", ".join(
            f"{lib} {old} (file) vs {new} (running)" for lib, (old, new) in diff.items()
        )
        raise ModelError(
            f"refusing to load {path.name}: it was written with other library versions "
            f"({detail}); pickled models are not portable across versions. Fix: retrain with "
            "`python -m core train`."
        )
    if data_sha256 is not None and info.get("data_sha256") != data_sha256:
        raise ModelError(
            f"refusing to use {path.name}: it was trained on other data (sha256 "
            f"{str(info.get('data_sha256'))[:12]}...). Fix: retrain on this data."
        )
    try:
        return joblib.load(path)
    except (ImportError, AttributeError) as exc:  # a class it names has moved or gone
        raise ModelError(
            f"refusing to use {path.name}: it was written by another version of this code "
            f"({exc}). Fix: retrain with `python -m core train`."
        ) from exc


def _md_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_model_card(path: str | os.PathLike[str], info: Mapping[str, Any]) -> Path:
    """Write a markdown model card to ``path``; returns the path.

    ``info`` keys (all optional except ``name``): ``name``, ``summary``, ``intended_use``,
    ``not_for`` (misuses), ``data`` (mapping: source, rows, sha256, ...), ``model`` (mapping of
    model descriptions), ``features`` (list), ``feature_types`` (mapping: feature -> type),
    ``leakage_guard`` (text or list of excluded
    columns), ``metrics`` (mapping of name -> value, nested one level), ``limitations`` (list),
    ``reproduce`` (a command), ``versions`` (mapping) and ``created_at``.
    """
    path = Path(path)
    lines = [f"# Model card: {info['name']}", ""]
    if info.get("summary"):
        lines += [str(info["summary"]), ""]

    def section(title: str, body: Any) -> None:
        if body is None or body == [] or body == {}:
            return
        lines.append(f"## {title}")
        lines.append("")
        if isinstance(body, Mapping):
            for k, v in body.items():
                if isinstance(v, Mapping):
                    inner = ", ".join(f"{ik} = {_md_value(iv)}" for ik, iv in v.items())
                    lines.append(f"- **{k}**: {inner}")
                else:
                    lines.append(f"- **{k}**: {_md_value(v)}")
        elif isinstance(body, list | tuple):
            lines.extend(f"- {_md_value(v)}" for v in body)
        else:
            lines.append(str(body))
        lines.append("")

    section("Intended use", info.get("intended_use"))
    section("Not intended for", info.get("not_for"))
    section("Training data", info.get("data"))
    section("Model", info.get("model"))
    feats = info.get("features")
    if feats:
        section("Features", f"{len(feats)} columns: " + ", ".join(f"`{f}`" for f in feats))
    section("Feature types", info.get("feature_types"))
    section("Leakage guard", info.get("leakage_guard"))
    section("Metrics (stratified cross-validation, means over folds)", info.get("metrics"))
    section("Limitations", info.get("limitations"))
    if info.get("reproduce"):
        section("Reproduce", f"```\n{info['reproduce']}\n```")
    section("Library versions", info.get("versions"))
    if info.get("created_at"):
        lines += [f"_Generated {info['created_at']}._", ""]
    text = "\n".join(lines).rstrip() + "\n"
    _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
