"""Data sources: the demo population, an upload, a file on the server, and a column mapping.

The current source is ``st.session_state[SOURCE]``; :func:`current_data` loads and validates it
once (``core.data.io.load``) and keeps the error for display when it fails. The mapping the user
applied (``st.session_state[MAPPING]``: ``columns``, ``values``, ``outcomes``, ``ignore`` and the
``catalog`` chosen with it) is part of the cache key; a catalog there makes the file need only
its products' columns and an id (the mapping assistant, :mod:`ui.assistant`, sets it).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.common.errors import CJOError
from core.common.jsonutil import canonical_json
from core.data.io import Limits, LoadedData, load
from ui._base import CACHE_TTL, ROOT, guarded, show_error
from ui.cache import per_run
from ui.state import DATA_ERROR, MAPPING, SOURCE, init_state

DEMO_PATH = ROOT / "data" / "demo" / "customers.parquet"
UPLOAD_LIMITS = Limits(max_bytes=200 * 1024 * 1024, max_rows=2_000_000, max_columns=300)
DATA_DIRS_ENV = "CJO_DATA_DIRS"  # os.pathsep-separated folders the server-path source may read


# cache_resource, not cache_data: the validated frame is shared read-only instead of being
# unpickled on every call (pages ask for the data several times per rerun). Keys are cheap:
# path + mtime, or the upload's sha256 (computed once); the payload itself is not hashed.
@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner="Loading and validating the data...")
def _load_path(path: str, mtime: float, mapping_json: str) -> LoadedData:
    mapping, catalog = split_mapping(_mapping(mapping_json))
    return load(path, mapping=mapping, catalog=catalog)


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner="Validating the upload...")
def _load_bytes(sha: str, name: str, mapping_json: str, _data: bytes) -> LoadedData:
    mapping, catalog = split_mapping(_mapping(mapping_json))
    return load(_data, name=name, limits=UPLOAD_LIMITS, mapping=mapping, catalog=catalog)


def _mapping(mapping_json: str) -> dict[str, Any] | None:
    return json.loads(mapping_json) if mapping_json else None


def split_mapping(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """The mapping state -> (column mapping for ``load``, or None; the catalog chosen, or None).

    A state with a catalog but no column entries (a file that needs no mapping) gives no
    mapping.
    """
    if not state:
        return None, None
    catalog = state.get("catalog")
    mapping = {k: v for k, v in state.items() if k != "catalog"}
    if not any(mapping.get(k) for k in ("columns", "values", "outcomes", "ignore")):
        return None, catalog
    mapping.setdefault("columns", {})
    return mapping, catalog


def ensure_demo() -> Path:
    """Generate the demo population if it is absent (``make run`` normally did it already)."""
    if not DEMO_PATH.exists():
        from core.data import synthetic

        with st.spinner("Generating the synthetic demo population (first start)..."):
            DEMO_PATH.parent.mkdir(parents=True, exist_ok=True)
            synthetic.write(DEMO_PATH, 7043, 42)
    return DEMO_PATH


def _file(src: dict[str, Any]) -> tuple[Path, float]:
    """The source's file (the demo generated if absent) and its modification time (0 if none)."""
    path = ensure_demo() if src["kind"] == "demo" else Path(src["name"])
    return path, path.stat().st_mtime if path.exists() else 0.0


def current_data() -> LoadedData | None:
    """The validated data of the current source, or None with the error stored for display."""
    init_state()
    src: dict[str, Any] = st.session_state[SOURCE]
    mapping = st.session_state[MAPPING] if src["kind"] != "demo" else None
    try:
        mapping_json = canonical_json(mapping) if mapping else ""
        if src["kind"] == "upload":
            if "sha256" not in src:
                src["sha256"] = hashlib.sha256(src["bytes"]).hexdigest()
            data = _load_bytes(src["sha256"], src["name"], mapping_json, src["bytes"])
        else:
            path, mtime = per_run("data-file", (src["kind"], src["name"]), lambda: _file(src))
            data = _load_path(str(path), mtime, mapping_json)
        st.session_state[DATA_ERROR] = None
        return data
    except CJOError as exc:
        st.session_state[DATA_ERROR] = exc
        return None


def require_data() -> LoadedData:
    """The current data, or the error box and ``st.stop()`` (pages call this first)."""
    data = current_data()
    if data is None:
        show_error(st.session_state[DATA_ERROR])
        st.page_link("pages/data.py", label="Fix the data source", icon=":material/table:")
        st.stop()
    assert data is not None
    return data


def data_dirs() -> list[Path]:
    """Folders a server path may point into (the project's data/ and ../shared/data)."""
    extra = [Path(p) for p in os.environ.get(DATA_DIRS_ENV, "").split(os.pathsep) if p]
    return [ROOT / "data", ROOT.parent / "shared" / "data", *extra]


def use_server_path(text: str) -> None:
    """Switch the source to a CSV/Parquet file on the server, inside :func:`data_dirs` only."""
    path = Path(text.strip()).expanduser().resolve()
    allowed = any(path.is_relative_to(d.resolve()) for d in data_dirs())
    if not allowed:
        raise CJOError(
            f"{text}: only files under {', '.join(str(d) for d in data_dirs())} can be read "
            f"from the server. Fix: copy the file there, or add its folder to {DATA_DIRS_ENV}."
        )
    if (
        path.suffix.lower() not in (".csv", ".parquet", ".tsv", ".txt", ".xlsx")
        or not path.is_file()
    ):
        raise CJOError(f"{text}: no CSV, Parquet or Excel (.xlsx) file there. Fix: check the path.")
    st.session_state[SOURCE] = {"kind": "path", "name": str(path)}
    st.session_state[MAPPING] = None


@st.cache_data(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _raw_columns(kind: str, name: str, payload: bytes | None) -> list[str]:
    from core.data.io import read_table

    raw, _ = read_table(payload if payload is not None else name, name=name, limits=UPLOAD_LIMITS)
    return [str(c) for c in raw.columns]


def raw_columns() -> list[str]:
    """Column names of the current source as exported (for the mapping editor)."""
    src = st.session_state[SOURCE]
    columns: list[str] = guarded(lambda: _raw_columns(src["kind"], src["name"], src.get("bytes")))
    return columns


def guess_mapping(columns: list[str]) -> pd.DataFrame:
    """Mapping editor rows: each canonical column and the best-matching export column."""
    from core.data import schema

    def norm(x: str) -> str:
        return "".join(ch for ch in x.lower() if ch.isalnum())

    by_norm = {norm(c): c for c in columns}
    rows = [
        {
            "canonical column": col,
            "required": col in schema.REQUIRED,
            "your column": by_norm.get(norm(col)),
        }
        for col in schema.CANONICAL
    ]
    return pd.DataFrame(rows)


def apply_mapping(editor: pd.DataFrame) -> None:
    """Store the editor's mapping for the current source (validated by core.data.mapping)."""
    from core.data.mapping import ColumnMapping

    pairs = {
        str(r["your column"]): str(r["canonical column"])
        for _, r in editor.iterrows()
        if isinstance(r["your column"], str) and r["your column"]
    }
    ColumnMapping.load({"columns": pairs})  # raises MappingError naming the problem
    st.session_state[MAPPING] = {"columns": pairs}
