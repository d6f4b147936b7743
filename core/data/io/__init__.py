"""Reading customer files: bytes -> text -> table -> canonical, validated DataFrame.

The one entry point is :func:`load`. It accepts a path or raw bytes (an upload), in CSV (comma,
semicolon or tab; UTF-8, UTF-8 with BOM, UTF-16 or cp1252) or Parquet, maps known exports (the IBM
11.1.3+ layout, the classic Kaggle "WA_Fn-UseC_-Telco-Customer-Churn" layout, or a user mapping) to
the canonical schema of :mod:`core.data.schema`, validates everything at once (pandera, lazy) and either
returns a :class:`LoadedData` or raises one :class:`~core.common.errors.DataValidationError` whose message
names each problem's column, first rows and fix.

Row numbers in messages are 1-based data rows: row 1 is the first line after the header.

The family, one concept per module:

* :mod:`~core.data.io.read`: bytes -> text -> raw table (:func:`read_table`, :func:`decode`,
  :func:`sniff_delimiter`, :class:`Limits`);
* :mod:`~core.data.io.validate`: canonical columns -> typed, validated frame
  (:func:`validate_canonical`);
* :mod:`~core.data.io.prepare`: raw table -> layout, mapping, catalog columns, id, extra
  columns -> validated frame (:func:`prepare`, :class:`Prepared`), shared with the batch engine;
* :mod:`~core.data.io.loader`: :func:`load`, :class:`LoadedData` and :func:`read_ibm_csv`.
"""

from core.data.io.loader import LoadedData, load, read_ibm_csv
from core.data.io.prepare import Prepared, prepare
from core.data.io.read import (
    DELIMITER_NAMES,
    DELIMITERS,
    Limits,
    decode,
    read_table,
    sniff_delimiter,
)
from core.data.io.validate import validate_canonical

__all__ = [
    "DELIMITERS",
    "DELIMITER_NAMES",
    "Limits",
    "LoadedData",
    "Prepared",
    "decode",
    "load",
    "prepare",
    "read_ibm_csv",
    "read_table",
    "sniff_delimiter",
    "validate_canonical",
]
