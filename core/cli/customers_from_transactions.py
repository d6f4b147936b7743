"""``python -m core customers-from-transactions FILE --out customers.parquet``: RFM from invoices."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli._util import EXIT_OK, add_command, add_data, positive_int, print_json
from core.common.errors import CJOError
from core.data.io import read_table
from core.data.transactions import customers_from_transactions
from core.ops.export import write_export

_HELP = "turn invoice lines into a customer table (RFM, categories, churn)"
_DESCRIPTION = (
    "Read FILE (CSV or Parquet invoice lines: invoice, item code, description, quantity, "
    "invoice date, unit price, customer id, country) and write one row per customer to --out "
    "(.parquet or .csv): Recency Days, Frequency, Monetary (returns netted), Average Order "
    "Value, Tenure in Months, Days Between Purchases, returns, 'Bought <Category>' holdings for "
    "the retail catalog, and Churn Label = no purchase within --churn-after days after "
    "--as-of. Lines without a customer id are excluded and reported. Prints a JSON report."
)


def _cmd(args: argparse.Namespace) -> int:

    out = Path(args.out)
    if out.suffix.lower() not in {".csv", ".parquet"}:
        raise CJOError(f"--out {out}: use a .csv or .parquet file name.")
    raw, info = read_table(args.data)
    table = customers_from_transactions(
        raw,
        as_of=args.as_of,
        churn_after=args.churn_after,
        mapping=args.mapping,
        name=info["name"],
    )
    written = write_export(table.customers, out)
    print_json(
        {**table.report, "out": str(out), "rows": written.row_count, "sha256": written.sha256},
        indent=2,
    )
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``customers-from-transactions FILE --out FILE [--as-of DATE] ...``."""
    p = add_command(subparsers, "customers-from-transactions", _cmd, _HELP, _DESCRIPTION)
    add_data(p, "CSV or Parquet file of invoice lines")
    p.add_argument("--out", required=True, metavar="FILE", help="customer table .parquet or .csv")
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="snapshot date, e.g. 2024-06-30 (default: last invoice date minus --churn-after)",
    )
    p.add_argument(
        "--churn-after",
        type=positive_int,
        default=90,
        metavar="DAYS",
        help="churn window: no purchase within DAYS after --as-of means churned (90)",
    )
    p.add_argument(
        "--mapping",
        metavar="FILE",
        help='TOML: [columns] "their name" = "invoice" ...; optional [categories] keywords',
    )
