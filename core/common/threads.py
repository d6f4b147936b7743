"""Limits of native thread pools (OpenMP of gradient boosting, BLAS)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from threadpoolctl import threadpool_limits

#: Environment variable that sets the thread limit of model fits and predictions.
ENV = "CJO_MODEL_THREADS"


@contextlib.contextmanager
def model_threads() -> Iterator[None]:
    """Limit native thread pools while fitting or predicting.

    Default 1 thread (override with the environment variable ``CJO_MODEL_THREADS``; ``0`` or
    anything not a positive number lifts the limit): on tables of thousands of rows and a shared
    2-core machine, gradient boosting's OpenMP threads cost far more than they save (fits
    measured 5-20x slower with 2 threads under load).
    """
    raw = os.environ.get(ENV, "1").strip()
    limit = int(raw) if raw.isdigit() and int(raw) > 0 else None
    if limit is None:
        yield
        return
    with threadpool_limits(limits=limit):
        yield
