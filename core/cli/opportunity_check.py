"""``python -m core opportunity-check``: the estimators judged against the synthetic truth."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli._util import Progress as Bar
from core.cli._util import (
    add_catalog,
    add_command,
    add_model_preset,
    add_quiet,
    add_rows,
    add_seed,
    print_json,
    write_json,
)
from core.opportunity.components import ESTIMATORS
from core.opportunity.groundtruth import information_ceiling, opportunity_check

_HELP = "score the opportunity estimators against the synthetic ground truth"
_DESCRIPTION = (
    "Generate N synthetic customers, train the models, estimate opportunity "
    "components with every estimator and compare them with the true per-customer effects: "
    "mean Spearman correlation per (product, factor) and top-1 agreement of the best next "
    "offer. Writes the JSON report to FILE."
)


def _cmd_opportunity_check(args: argparse.Namespace) -> int:

    names = [e.strip() for e in args.estimators.split(",") if e.strip()]
    report = opportunity_check(
        args.rows,
        args.seed,
        names,
        catalog=args.catalog,
        options={"counterfactual": {"model_options": {"preset": args.model_preset}}},
        progress=None if args.quiet else (lambda label: Bar(f"{label:>14}")),
    )
    write_json(args.report, report)
    summary = {
        name: {key: r[key] for key in ("spearman", "top1", "seconds")} for name, r in report.items()
    }
    print_json(summary)
    if args.ceiling_report:
        ceiling = {
            name: information_ceiling(
                args.rows, args.seed, catalog=args.catalog, with_outcomes=flag
            )
            for name, flag in (("features", False), ("features+outcomes", True))
        }
        write_json(args.ceiling_report, ceiling)
        print_json({n: {"spearman": c["spearman"], "top1": c["top1"]} for n, c in ceiling.items()})
    return 0


def add_cli(subparsers: Any) -> None:
    """Register ``opportunity-check`` on the ``python -m core`` argparse subparsers."""
    p = add_command(subparsers, "opportunity-check", _cmd_opportunity_check, _HELP, _DESCRIPTION)
    add_rows(p)
    add_seed(p)
    p.add_argument("--report", required=True, metavar="FILE", help="JSON report to write")
    p.add_argument(
        "--estimators",
        default=",".join(ESTIMATORS),
        help=f"comma-separated subset of {','.join(ESTIMATORS)} (default: all)",
    )
    add_catalog(p, "catalog name or TOML path (default seed)")
    add_model_preset(p, "models of the counterfactual estimator (default accurate)")
    p.add_argument(
        "--ceiling-report",
        metavar="FILE",
        help="also write the information ceiling (a regressor trained on the true effects "
        "from the data, cross-validated) to FILE",
    )
    add_quiet(p, "no progress bars")
