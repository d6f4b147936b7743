"""Preparing a raw table: layout -> mapping -> catalog columns -> id -> extra columns -> validation.

:func:`prepare` is what :func:`core.data.io.load` does after reading a file, and what the batch
engine does for each chunk, so a customer is the same row wherever it is read.

Two regimes decide what a file must provide:

* **without a catalog** (the telecom default): the IBM layout, the classic Kaggle export, or a
  mapping that provides the :data:`core.data.schema.REQUIRED` columns (as before);
* **with a catalog** (``--catalog``): only the columns the catalog reads holdings from, plus an
  id (generated from the row number, and said so, when the file has none). A file of unknown
  layout is then read as it is (layout ``generic``): canonical names are recognised up to case,
  spaces and underscores, every other column is kept as an extra column.

A catalog you wrote (a TOML path) must find each of its products' columns in the file; a shipped
catalog (``seed``, ``full``, ...) drops the products whose column the file lacks, with a note.
A product's column may name a column of the file as it is, before the mapping: the catalog then
reads it under that name and the mapping's entry for it is not applied (a note says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CatalogError, MappingError
from core.data import schema
from core.data.catalog import Catalog, is_shipped, load_catalog
from core.data.extras import outcome_copies, type_as, type_extras
from core.data.io.validate import validate_canonical
from core.data.mapping import (
    ColumnMapping,
    detect_layout,
    match_columns,
    outcome_columns,
    to_canonical,
)


@dataclass(frozen=True)
class Prepared:
    """A validated canonical frame and what was learnt preparing it.

    Attributes
    ----------
    frame
        Canonical columns (validated) and the kept extra columns (typed).
    layout
        ``"ibm"``, ``"classic"``, ``"mapped"`` or ``"generic"``.
    ignored
        Source columns left out (not canonical and not kept).
    notes
        What the user should know (generated ids, dropped products, left-out columns, ...).
    extras
        ``{extra column: kind}`` (:mod:`core.data.extras`) of the kept extra columns.
    outcomes
        Source columns the mapping named as outcomes (left out by the leakage guard).
    catalog
        The catalog bound to the frame's columns (products the data lacks dropped), or None.
    id_generated
        True when ``Customer ID`` was made from the row numbers.
    unfit
        With ``extras`` given: ``{extra column: count}`` of the values read as missing because
        they do not fit the kind the reference decided (text in a numeric column).
    """

    frame: pd.DataFrame
    layout: str
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    extras: Mapping[str, str] = field(default_factory=dict)
    outcomes: tuple[str, ...] = ()
    catalog: Catalog | None = None
    id_generated: bool = False
    unfit: Mapping[str, int] = field(default_factory=dict)


def _catalog_reads_source(
    catalog: Catalog, mapping: ColumnMapping, raw_columns: Sequence[str]
) -> tuple[ColumnMapping, list[str]]:
    """The mapping without the entries of source columns a product reads by their file name."""
    notes: list[str] = []
    found = match_columns(mapping.columns, raw_columns)
    drop: set[str] = set()
    for p in catalog.products:
        if schema.canonical_name(p.column) is not None:
            continue
        for src, col in found.items():
            if col is not None and schema.normalize_name(col) == schema.normalize_name(p.column):
                drop.add(src)
                notes.append(
                    f"catalog product '{p.key}' reads '{col}' as it is in the file; the "
                    f"mapping's '{src}' = '{mapping.columns[src]}' is not applied."
                )
    if not drop:
        return mapping, notes
    columns = {k: v for k, v in mapping.columns.items() if k not in drop}
    return ColumnMapping(columns, mapping.values, mapping.outcomes, mapping.ignore), notes


def _bind_products(
    frame: pd.DataFrame,
    raw: pd.DataFrame,
    catalog: Catalog,
    ignored: list[str],
    name: str,
    shipped: bool,
) -> tuple[pd.DataFrame, Catalog, list[str]]:
    """Give every product's column its catalog spelling in ``frame``; drop or refuse the absent.

    A column the layout left out (``ignored``) but a product reads is brought back from ``raw``.
    """
    notes: list[str] = []
    frame = frame.copy()
    for p in catalog.products:
        here = match_columns([p.column], frame.columns)[p.column]
        if here is None:
            src = match_columns([p.column], raw.columns)[p.column]
            if src is not None and src in ignored:
                frame[src] = raw[src].to_numpy()
                ignored.remove(src)
                here = src
        if here is not None and here != p.column and schema.canonical_name(p.column) is None:
            frame = frame.rename(columns={here: p.column})
    missing = catalog.missing_columns(list(frame.columns))
    if missing and not shipped:
        cols = [catalog.products[catalog.index(k)].column for k in missing]
        raise MappingError(
            f"{name}: catalog '{catalog.name}' reads holdings from column(s) {cols} (products "
            f"{missing}), which the file does not have. Found columns: {list(raw.columns)[:60]}. "
            "Fix: correct the catalog's 'column' entries, or map those columns from the file's "
            "(names match case-, space- and underscore-insensitively)."
        )
    bound = catalog.restrict_to(list(frame.columns))
    if bound.n_products == 0:
        raise CatalogError(
            f"catalog '{catalog.name}': none of its products' columns are in {name} (it needs "
            f"{sorted({p.column for p in catalog.products})}), so no portfolio can be modelled. "
            "Fix: map those columns, choose another catalog, or write one for this business."
        )
    if missing:
        notes.append(
            f"catalog '{catalog.name}': product(s) {missing} dropped; this data has no column "
            "for them."
        )
    return frame, bound, notes


def _churn_value(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``Churn Value`` (1/0) from ``Churn Label`` when only the label is there."""
    if "Churn Label" not in frame.columns or "Churn Value" in frame.columns:
        return frame
    token = frame["Churn Label"].map(schema.boolean_token)
    value = token.map({"Yes": "1", "No": "0"})
    # an unreadable label keeps its text in Churn Value too: validation names both columns
    return frame.assign(**{"Churn Value": value.where(token.notna(), frame["Churn Label"])})


def prepare(
    raw: pd.DataFrame,
    *,
    mapping: ColumnMapping | Mapping[str, Any] | str | Path | None = None,
    catalog: Catalog | str | Path | None = None,
    name: str = "input",
    row_numbers: Sequence[int] | np.ndarray | None = None,
    extras: Mapping[str, str] | None = None,
) -> Prepared:
    """Map, bind, type and validate a raw table (CSV values as text, or Parquet columns).

    Parameters
    ----------
    raw
        The table as read (column names stripped).
    mapping
        Optional user mapping (a :class:`~core.data.mapping.ColumnMapping`, a dict or a TOML
        path).
    catalog
        Optional catalog (name, path or :class:`~core.data.catalog.Catalog`); with it the file
        needs only the catalog's columns and an id (see the module docstring).
    name
        Name used in messages.
    row_numbers
        0-based row numbers of ``raw``'s rows in the whole input (default ``0..n-1``): a
        generated ``Customer ID`` is the row number from 1, the same whatever the chunking.
    extras
        The extra columns' kinds decided on another part of the same file (a batch run's
        reference sample, :attr:`Prepared.extras`): those columns are typed so and every other
        extra column is left out, without judging the values again
        (:func:`core.data.extras.type_as`), so every chunk gives the models the same features.
        None (the default) judges them here (:func:`core.data.extras.type_extras`) and leaves
        out the outcome copies (:func:`core.data.extras.outcome_copies`).

    Raises
    ------
    DataValidationError
        (and its :class:`~core.common.errors.MappingError`) for any problem of the input, with
        column, rows and fix; :class:`~core.common.errors.CatalogError` for a bad catalog.
    """
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = ColumnMapping.load(mapping)
    shipped = catalog is not None and not isinstance(catalog, Catalog) and is_shipped(catalog)
    cat = catalog if catalog is None or isinstance(catalog, Catalog) else load_catalog(catalog)
    layout = "mapped" if mapping is not None else detect_layout(raw.columns)
    if layout == "unknown" and cat is not None:
        layout = "generic"
    notes: list[str] = []
    if cat is not None and mapping is not None:
        mapping, more = _catalog_reads_source(cat, mapping, list(raw.columns))
        notes += more
    required = schema.REQUIRED if cat is None else ()
    frame, ignored, more = to_canonical(raw, layout, mapping, name=name, required=required)
    ignored = list(ignored)
    notes += more
    bound = None
    if cat is not None:
        frame, bound, more = _bind_products(frame, raw, cat, ignored, name, shipped)
        notes += more
    id_generated = False
    if schema.ID not in frame.columns and cat is not None:
        rows = np.arange(len(frame)) if row_numbers is None else np.asarray(row_numbers)
        frame.insert(0, schema.ID, [str(int(r) + 1) for r in rows])
        id_generated = True
        notes.append(
            "the file has no customer id: Customer ID is the row number (1 = the first data "
            "row), so keep the rows in this order to match results back."
        )
    frame = _churn_value(frame)
    extra_cols = [c for c in frame.columns if c not in schema.BY_NAME]
    products = [p.column for p in bound.products] if bound is not None else []
    unfit: dict[str, int] = {}
    if extras is not None:
        frame, kinds, dropped, unfit = type_as(frame, extra_cols, extras, keep=products)
        ignored += dropped
        copies: dict[str, str] = {}
    else:
        frame, kinds, more, dropped = type_extras(frame, extra_cols, keep=products)
        notes += more
        ignored += dropped
        copies = outcome_copies(frame, kinds, keep=products)
    for col, why in copies.items():
        notes.append(
            f"'{col}' left out of the data and of every model: {why}, so it is taken to be "
            "derived from the outcome (leakage guard)."
        )
    frame = frame.drop(columns=list(copies))
    kinds = {c: k for c, k in kinds.items() if c not in copies}
    ignored += list(copies)
    validated = validate_canonical(frame, name, required=(schema.ID,) if cat is not None else None)
    return Prepared(
        frame=validated,
        layout=layout,
        ignored=tuple(ignored),
        notes=tuple(notes),
        extras=kinds,
        outcomes=tuple(outcome_columns(raw.columns, mapping)) + tuple(copies),
        catalog=None if bound is None else bound.bind(list(validated.columns)),
        id_generated=id_generated,
        unfit=unfit,
    )
