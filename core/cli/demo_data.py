"""``python -m core demo-data --out FILE``: the synthetic population, its truth and its past
campaign."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.cli._util import (
    EXIT_OK,
    Progress,
    add_command,
    add_quiet,
    add_rows,
    add_seed,
    positive_int,
)
from core.common.errors import CJOError
from core.data import synthetic

_HELP = "generate the synthetic population and its ground truth"
_DESCRIPTION = (
    "Write N synthetic customers in the canonical schema to FILE "
    "(.csv or .parquet), their ground truth to FILE's sibling <stem>.truth.parquet and "
    "their past campaign (randomized offers with a control group) to "
    "<stem>.campaigns.parquet. Reproducible per seed, independent of chunk size. "
    "--kind transactions writes the invoice lines of N synthetic retail customers instead "
    "(for customers-from-transactions)."
)


def _transactions(args: argparse.Namespace, out: Path) -> int:
    from core.data.synthetic.transactions import generate_transactions
    from core.ops.export import write_export

    if args.rows > 100_000:
        raise CJOError(f"--rows {args.rows}: choose 1 to 100,000 retail customers.")
    lines = generate_transactions(args.rows, args.seed)
    written = write_export(lines, out)
    print(
        json.dumps(
            {"transactions": str(out), "lines": written.row_count, "customers": args.rows,
             "seed": args.seed}
        )
    )  # fmt: skip
    return EXIT_OK


def _cmd_demo_data(args: argparse.Namespace) -> int:

    out = Path(args.out)
    if out.suffix.lower() not in {".csv", ".parquet"}:
        raise CJOError(f"--out {out}: use a .csv or .parquet file name.")
    if args.rows < 1 or args.rows > 10_000_000:
        raise CJOError(f"--rows {args.rows}: choose 1 to 10,000,000 customers.")
    if args.kind == "transactions":
        return _transactions(args, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress = None if args.quiet else Progress(f"demo-data {args.rows:,} rows")
    campaigns = not args.no_campaigns
    synthetic.write(
        out,
        args.rows,
        args.seed,
        chunk_size=args.chunk_size,
        progress=progress,
        campaigns=campaigns,
        feedback=args.feedback,
    )
    summary = {"customers": str(out), "truth": str(synthetic.truth_path(out))}
    if campaigns:
        summary["campaigns"] = str(synthetic.campaigns_path(out))
    if args.feedback:
        summary["feedback"] = str(synthetic.feedback_path(out))
    print(json.dumps({**summary, "rows": args.rows, "seed": args.seed}))
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``demo-data --rows N --seed S --out FILE``."""
    p = add_command(subparsers, "demo-data", _cmd_demo_data, _HELP, _DESCRIPTION)
    add_rows(p)
    add_seed(p)
    p.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet")
    p.add_argument("--chunk-size", type=positive_int, default=100_000, help="rows per chunk")
    p.add_argument(
        "--kind",
        choices=("customers", "transactions"),
        default="customers",
        help="customers (default: the telecom population) or transactions (retail invoice lines)",
    )
    p.add_argument(
        "--no-campaigns", action="store_true", help="do not write <stem>.campaigns.parquet"
    )
    p.add_argument(
        "--feedback",
        action="store_true",
        help="also write the customers' feedback texts to <stem>.feedback.parquet "
        "(surveys, reviews, chats; the Customer page shows them)",
    )
    add_quiet(p)
