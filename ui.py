"""The only Streamlit glue: session-state keys, init_state(), cached wrappers over core, widgets.

Pages import from here, never from each other; core never imports streamlit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import CJOError
from core.io import Limits, LoadedData, load

ROOT = Path(__file__).resolve().parent
DEMO_PATH = ROOT / "data" / "demo" / "customers.parquet"
UPLOAD_LIMITS = Limits(max_bytes=200 * 1024 * 1024, max_rows=2_000_000, max_columns=300)

# session-state keys
SOURCE = "source"  # {"kind": "demo" | "upload" | "path", "name": str, "bytes"?: bytes}
DATA_ERROR = "data_error"


def init_state() -> None:
    """Set defaults so every page also runs on its own."""
    st.session_state.setdefault(SOURCE, {"kind": "demo", "name": "Synthetic demo population"})
    st.session_state.setdefault(DATA_ERROR, None)


@st.cache_data(max_entries=4, ttl=3600, show_spinner="Loading and validating the data...")
def _load_path(path: str, mtime: float) -> LoadedData:
    return load(path)


@st.cache_data(max_entries=2, ttl=3600, show_spinner="Validating the upload...")
def _load_bytes(data: bytes, name: str) -> LoadedData:
    return load(data, name=name, limits=UPLOAD_LIMITS)


def ensure_demo() -> Path:
    """Generate the demo population if it is absent (``make run`` normally did it already)."""
    if not DEMO_PATH.exists():
        from core import synthetic

        with st.spinner("Generating the synthetic demo population (first start)..."):
            DEMO_PATH.parent.mkdir(parents=True, exist_ok=True)
            synthetic.write(DEMO_PATH, 7043, 42)
    return DEMO_PATH


def current_data() -> LoadedData | None:
    """The validated data of the current source, or None with the error stored for display."""
    init_state()
    src: dict[str, Any] = st.session_state[SOURCE]
    try:
        if src["kind"] == "upload":
            data = _load_bytes(src["bytes"], src["name"])
        else:
            path = ensure_demo() if src["kind"] == "demo" else Path(src["name"])
            data = _load_path(str(path), path.stat().st_mtime if path.exists() else 0.0)
        st.session_state[DATA_ERROR] = None
        return data
    except CJOError as exc:
        st.session_state[DATA_ERROR] = exc
        return None


def show_error(exc: CJOError) -> None:
    """One clear error box (and the failure table when there is one); never a traceback."""
    st.error(str(exc), icon=":material/error:")
    failures = getattr(exc, "failures", None)
    if failures is not None and len(failures):
        st.dataframe(failures, hide_index=True, width="stretch")
