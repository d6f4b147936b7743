"""``python -m core validate DATA``: load, map and validate a customer file."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.cli._util import (
    CATALOG_HELP,
    EXIT_OK,
    add_catalog,
    add_command,
    add_data,
    add_mapping,
    positive_int,
)
from core.data.catalog import load_catalog
from core.data.io import Limits, load

_HELP = "check a customer file and print a summary"
_DESCRIPTION = (
    "Load DATA (CSV, Parquet or Excel .xlsx), map it to the canonical schema "
    "and validate it. Prints a JSON summary and exits 0, or prints the problems "
    "and exits 2. With --catalog the file needs only the catalog's columns and an id "
    "(generated from the row number when absent)."
)


def _cmd_validate(args: argparse.Namespace) -> int:

    limits = Limits(max_bytes=args.max_bytes, max_rows=args.max_rows, max_columns=args.max_columns)
    data = load(args.data, mapping=args.mapping, catalog=args.catalog, limits=limits)
    summary = data.summary()
    catalogs = {}
    for name in ("seed", "full"):
        cat = load_catalog(name)
        missing = cat.missing_columns(list(data.frame.columns))
        catalogs[name] = {"usable": not missing, "products_missing_columns": missing}
    if data.catalog is not None:
        catalogs[data.catalog.name] = {"usable": True, "products": list(data.catalog.keys)}
    summary["catalogs"] = catalogs
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``validate DATA [--mapping FILE] [--catalog CATALOG]``."""
    p = add_command(subparsers, "validate", _cmd_validate, _HELP, _DESCRIPTION)
    add_data(p, "CSV, Parquet or Excel (.xlsx) file")
    add_mapping(p)
    add_catalog(p, CATALOG_HELP, metavar="seed|full|FILE", default=None)
    d = Limits()
    p.add_argument("--max-bytes", type=positive_int, default=d.max_bytes, help="size cap")
    p.add_argument("--max-rows", type=positive_int, default=d.max_rows, help="row cap")
    p.add_argument("--max-columns", type=positive_int, default=d.max_columns, help="column cap")
