"""Loading: the one entry point :func:`load` (read -> map -> validate) and its result.

Also :func:`read_ibm_csv`, which reads an IBM-layout CSV the documented way.
"""

from __future__ import annotations

from collections.abc import Mapping as TMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.data import schema
from core.data.catalog import Catalog
from core.data.io.prepare import prepare
from core.data.io.read import DELIMITER_NAMES, Limits, read_table
from core.data.mapping import ColumnMapping


@dataclass(frozen=True)
class LoadedData:
    """A validated customer table in the canonical schema, with what was learnt reading it."""

    frame: pd.DataFrame
    source: str
    layout: str  # "ibm" | "classic" | "mapped" | "generic"
    file_format: str  # "csv" | "parquet" | "xlsx"
    encoding: str | None
    delimiter: str | None
    sha256: str
    unavailable_columns: tuple[str, ...]
    unavailable_factors: tuple[str, ...]
    leakage_excluded: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    extra_columns: TMapping[str, str] = field(default_factory=dict)  # column -> kind
    catalog: Catalog | None = None  # bound to the data; None when none was given
    id_generated: bool = False

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary (what ``python -m core validate`` prints)."""
        churn = None
        if "Churn Value" in self.frame:
            churn = round(float(self.frame["Churn Value"].mean()), 6)
        elif schema.CHURN_PROBABILITY in self.frame:
            churn = round(float(self.frame[schema.CHURN_PROBABILITY].mean()), 6)
        return {
            "source": self.source,
            "layout": self.layout,
            "format": self.file_format,
            "encoding": self.encoding,
            "delimiter": DELIMITER_NAMES.get(self.delimiter or "", self.delimiter),
            "rows": self.n_rows,
            "columns": len(self.frame.columns),
            "churn_rate": churn,
            "sha256": self.sha256,
            "unavailable_factors": list(self.unavailable_factors),
            "unavailable_columns": list(self.unavailable_columns),
            "leakage_excluded": list(self.leakage_excluded),
            "ignored_columns": list(self.ignored_columns),
            "notes": list(self.notes),
            "extra_columns": dict(self.extra_columns),
            "catalog": None if self.catalog is None else self.catalog.name,
            "products": None if self.catalog is None else list(self.catalog.keys),
            "id_generated": self.id_generated,
        }


def load(
    source: str | Path | bytes,
    *,
    mapping: ColumnMapping | TMapping[str, Any] | str | Path | None = None,
    catalog: Catalog | str | Path | None = None,
    name: str | None = None,
    limits: Limits | None = None,
) -> LoadedData:
    """Load, map and validate a customer file.

    Parameters
    ----------
    source
        Path to a CSV, Parquet or Excel (.xlsx, first worksheet) file, or its bytes (an
        upload).
    mapping
        Optional user column mapping (a :class:`~core.data.mapping.ColumnMapping`, a dict, or a TOML
        file path). Without it the layout is detected (IBM 11.1.3+ or the classic Kaggle export).
    catalog
        Optional product catalog (``"seed"``, ``"full"``, a TOML path or a
        :class:`~core.data.catalog.Catalog`). With it the file needs only the catalog's holding
        columns and an id (generated from the row number when absent); without it, the telecom
        columns of :data:`core.data.schema.REQUIRED` (see :mod:`core.data.io.prepare`).
    name
        Name used in messages (defaults to the file name).
    limits
        Caps on bytes, rows and columns, checked before parsing.

    Raises
    ------
    DataValidationError
        For any problem with the input, with every failure listed (column, rows, fix).

    Examples
    --------
    >>> from core.data.io import load
    >>> data = load("customers.csv")  # doctest: +SKIP
    >>> data.frame["Churn Value"].mean()  # doctest: +SKIP
    """
    raw, info = read_table(source, name=name, limits=limits)
    label = info["name"]
    prep = prepare(raw, mapping=mapping, catalog=catalog, name=label)
    frame = prep.frame
    cols = list(frame.columns)
    return LoadedData(
        frame=frame,
        source=label,
        layout=prep.layout,
        file_format=info["format"],
        encoding=info["encoding"],
        delimiter=info["delimiter"],
        sha256=info["sha256"],
        unavailable_columns=tuple(schema.unavailable(cols)),
        unavailable_factors=tuple(schema.unavailable_factors(cols)),
        leakage_excluded=tuple(schema.leakage_excluded(cols)) + prep.outcomes,
        ignored_columns=prep.ignored,
        notes=tuple(info.get("notes", ())) + prep.notes,
        extra_columns=dict(prep.extras),
        catalog=prep.catalog,
        id_generated=prep.id_generated,
    )


def read_ibm_csv(path: str | Path) -> pd.DataFrame:
    """Read an IBM-layout CSV the documented way (``"None"`` is a value, only ``""`` is missing)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])
