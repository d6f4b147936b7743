"""Provenance: which code and which library versions produced a result.

A saved run records :func:`code_version` and :func:`library_versions`, so that a re-run can say
whether it should give the same bytes; a model sidecar records the versions its pickle needs.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path

#: The project's root folder (the checkout).
ROOT = Path(__file__).resolve().parents[2]
#: Libraries whose versions can change a run's results (recorded with every saved run).
LIBRARIES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "pyarrow",
    "pandera",
    "sqlalchemy",
)


@lru_cache(maxsize=1)
def code_version() -> str:
    """The version of this code: ``git describe --always --dirty`` or the package version.

    A ``-dirty`` suffix means uncommitted changes: such a run can only be reproduced from the
    same working tree.
    """
    if (ROOT / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "describe", "--tags", "--always", "--dirty"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            if out.stdout.strip():
                return f"git:{out.stdout.strip()}"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        return f"package:{metadata.version('customer-journey-optimizer')}"
    except metadata.PackageNotFoundError:
        pass
    try:
        import tomllib

        with open(ROOT / "pyproject.toml", "rb") as fh:
            return f"pyproject:{tomllib.load(fh)['project']['version']}"
    except (OSError, KeyError, ValueError):
        return "unknown"


def library_versions(libraries: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Versions of Python and of ``libraries`` (those installed; missing ones are left out)."""
    versions = {"python": platform.python_version()}
    for name in libraries:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
