"""Shared fixtures: project paths, the real IBM data file and seeded synthetic customers.

The IBM file lives outside the project (``../shared/data``) because we may not ship it. Tests that
need it use the ``ibm_path`` fixture: locally they skip when the file is absent; with ``CI=true``
they fail instead, so CI can never pass by silently skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pandas as pd

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


@pytest.fixture(scope="session")
def synthetic_frame() -> Callable[[int, int], pd.DataFrame]:
    """``synthetic_frame(n, seed)``: ``n`` seeded synthetic customers, validated as canonical data.

    A module's own fixture calls it with its size and seed, e.g.
    ``def frame(synthetic_frame): return synthetic_frame(800, 3)``.
    """
    from core.data import synthetic
    from core.data.io import validate_canonical

    def make(n: int, seed: int) -> pd.DataFrame:
        customers, _ = synthetic.generate_frame(n, seed)
        return validate_canonical(customers, "synthetic")

    return make
