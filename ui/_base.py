"""Helpers every ui module shares: project paths, the cache lifetime, errors and progress bars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.common.errors import CJOError

ROOT = Path(__file__).resolve().parents[1]
CACHE_TTL = 3600  # seconds, for every cache of the dashboard


def show_error(exc: CJOError) -> None:
    """One clear error box (and the failure table when there is one); never a traceback."""
    st.error(str(exc), icon=":material/error:")
    failures = getattr(exc, "failures", None)
    if failures is not None and len(failures):
        st.dataframe(pd.DataFrame(failures), hide_index=True, width="stretch")


def guarded(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; a CJOError becomes the error box and stops the page (never a traceback)."""
    try:
        return fn()
    except CJOError as exc:
        show_error(exc)
        st.stop()


def progress_bar(text: str) -> tuple[Any, Callable[[float, float], None]]:
    """A progress bar and its ``progress(done, total)`` callback (core.common.progress)."""
    bar = st.progress(0.0, text=text)

    def tick(done: float, total: float) -> None:
        bar.progress(min(max(done / total if total else 1.0, 0.0), 1.0), text=text)

    return bar, tick
