"""Shared fixtures: project paths and the real IBM data file.

The IBM file lives outside the project (``../shared/data``) because we may not ship it. Tests that
need it use the ``ibm_path`` fixture: locally they skip when the file is absent; with ``CI=true``
they fail instead, so CI can never pass by silently skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IBM_FILE = Path(os.environ.get("CJO_IBM_FILE", SHARED / "data" / "telco_ibm_11_1_3.csv"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def ibm_path() -> Path:
    """Path of the real IBM Telco 11.1.3+ file; never skipped in CI."""
    if not IBM_FILE.is_file():
        if _in_ci():
            pytest.fail(f"CI=true but the IBM data file is missing: {IBM_FILE}")
        pytest.skip(f"IBM data file not found at {IBM_FILE}")
    return IBM_FILE


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
