"""The mapping assistant of the Data page: propose, edit, validate live, download, apply.

For a file of unknown layout :func:`mapping_editor` shows what
:func:`core.data.assistant.propose` suggests for each column (a canonical column, a product of
the catalog, a feature, an outcome, or ignore), with value previews, in a table the user edits;
the catalog is a shipped one, one drafted from the columns the user picks, or a TOML they
upload. Every edit is validated at once on the first :data:`SAMPLE_ROWS` rows
(:func:`core.data.io.prepare`, the loader's own path); the mapping (and a drafted catalog)
download as TOML for ``python -m core ... --mapping FILE --catalog FILE``. Applying stores the
mapping and the catalog for the source and makes the catalog the scenario's.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.common.errors import CatalogError, CJOError
from core.data.assistant import USES, Proposal, draft_catalog, mapping_from_rows, propose
from core.data.catalog import Catalog, available_catalogs, parse_catalog
from core.data.io import prepare, read_table
from ui._base import CACHE_TTL, ROOT, guarded, show_error
from ui.data import UPLOAD_LIMITS
from ui.state import MAPPING, SOURCE, update_settings

SAMPLE_ROWS = 5000  # rows the assistant reads and validates live
#: Where catalogs drafted or uploaded in the assistant are kept (git-ignored).
DRAFTS = ROOT / "data" / "catalogs" / "drafts"
DRAFT = "draft one from my columns"
UPLOAD = "upload a catalog (TOML)"


@st.cache_data(max_entries=2, ttl=CACHE_TTL, show_spinner="Reading your file...")
def _sample(kind: str, name: str, payload: bytes | None) -> pd.DataFrame:
    raw, _ = read_table(payload if payload is not None else name, name=name, limits=UPLOAD_LIMITS)
    return raw.head(SAMPLE_ROWS).reset_index(drop=True)


@st.cache_data(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _proposal(key: str, _raw: pd.DataFrame) -> Proposal:
    return propose(_raw)


def raw_sample() -> pd.DataFrame:
    """The first :data:`SAMPLE_ROWS` rows of the current source, as exported."""
    src = st.session_state[SOURCE]
    frame: pd.DataFrame = guarded(lambda: _sample(src["kind"], src["name"], src.get("bytes")))
    return frame


def save_catalog(text: str) -> str:
    """Validate a catalog TOML and keep it under :data:`DRAFTS`; returns its path."""
    catalog = _parse(text)
    DRAFTS.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    path = DRAFTS / f"{Path(catalog.name).name}-{digest}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _parse(text: str) -> Catalog:
    try:
        return parse_catalog(tomllib.loads(text), source="your catalog")
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"your catalog is not valid TOML ({exc}).") from None


def _catalog_choice(raw: pd.DataFrame, prop: Proposal) -> tuple[str | None, str | None]:
    """The catalog widgets: (shipped catalog name, or None; catalog TOML text, or None)."""
    options = [*available_catalogs(), DRAFT, UPLOAD]
    default = prop.catalog if prop.catalog is not None else DRAFT
    choice = st.selectbox(
        "Products: the catalog that says which products a customer holds",
        options,
        index=options.index(default),
        key="assistant_catalog",
        help="A shipped catalog whose columns your file has is proposed; otherwise draft one "
        "from your yes/no or few-valued columns, or upload one you wrote.",
    )
    if choice == UPLOAD:
        up = st.file_uploader("Catalog (TOML)", type=["toml"], key="assistant_catalog_file")
        return None, None if up is None else up.getvalue().decode("utf-8", errors="replace")
    if choice != DRAFT:
        return choice, None
    preferred = [c for c in prop.product_columns if "categor" in c.lower()] or list(
        prop.product_columns[:2]
    )
    columns = st.multiselect(
        "Columns that say which products a customer holds",
        list(raw.columns),
        default=preferred,
        key="assistant_products",
        help="A yes/no column is one product (held when yes); a column with a few values is "
        "one product per value.",
    )
    if not columns:
        return None, None
    try:
        text = draft_catalog(raw, columns, name="my_products")
    except CJOError as exc:
        show_error(exc)
        return None, None
    with st.expander("The drafted catalog (add prices, requires and excludes as you like)"):
        st.code(text, language="toml")
        st.download_button("Download the catalog (TOML)", text, "catalog.toml", "text/plain")
    return None, text


def _validate(
    raw: pd.DataFrame, edited: pd.DataFrame, name: str | None, text: str | None
) -> tuple[Any, bool]:
    """The mapping of the edited table and whether it validates on the sample (errors shown)."""
    try:
        mapping = mapping_from_rows(edited)
        catalog: Any = name if name is not None else _parse(text) if text else None
        prep = prepare(raw, mapping=mapping, catalog=catalog, name="your file (first rows)")
    except CJOError as exc:
        show_error(exc)
        return None, False
    products = [] if prep.catalog is None else list(prep.catalog.labels)
    st.success(
        f"Valid on the first {len(raw):,} rows: {len(prep.frame.columns)} columns, "
        f"{len(prep.extras)} of them your own"
        + (f"; products {', '.join(products)}" if products else "")
        + (". Customer ID will be the row number." if prep.id_generated else ".")
    )
    return mapping, True


def mapping_editor() -> None:
    """The mapping assistant for an export the loader could not read as it is."""
    st.subheader("Map your columns")
    st.write(
        "The assistant proposes what each column of your file is: a column the product "
        "knows, a product of the catalog, a feature the models use as it is, an outcome "
        "(never a feature) or a column to ignore. Edit the 'use as' column; every change is "
        "checked on the first rows. With a catalog, only its products' columns and an id are "
        "required (the row number stands in for a missing id)."
    )
    raw = raw_sample()
    src = st.session_state[SOURCE]
    key = f"{src['kind']}:{src['name']}:{src.get('sha256', '')}:{len(raw)}"
    prop = _proposal(key, raw)
    for note in prop.notes:
        st.info(note)
    name, text = _catalog_choice(raw, prop)
    edited: pd.DataFrame = st.data_editor(
        prop.rows,
        hide_index=True,
        width="stretch",
        disabled=["your column", "kind", "examples", "why"],
        column_config={
            "use as": st.column_config.SelectboxColumn(
                options=list(USES), required=True, help="What this column is"
            )
        },
        key="mapping_editor",
    )
    mapping, ok = _validate(raw, edited, name, text)
    if mapping is not None:
        c1, c2 = st.columns(2)
        c1.download_button(
            "Download the mapping (TOML)", mapping.to_toml(), "mapping.toml", "text/plain"
        )
        catalog_arg = name or "catalog.toml"
        c2.code(
            f"python -m core validate {Path(src['name']).name} --mapping mapping.toml "
            f"--catalog {catalog_arg}",
            language="bash",
        )
    if st.button("Apply the mapping", type="primary", disabled=not ok):
        try:
            ref = name if name is not None else save_catalog(text) if text else None
        except CJOError as exc:
            show_error(exc)
            return
        st.session_state[MAPPING] = {**mapping.to_dict(), "catalog": ref}
        if ref is not None:
            update_settings(catalog=ref)
        st.rerun()
