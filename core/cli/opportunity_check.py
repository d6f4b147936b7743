"""``python -m core opportunity-check``: the estimators judged against the synthetic truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.cli._util import Progress as Bar
from core.cli._util import positive_int as _positive_int
from core.common.jsonutil import to_jsonable as _json_safe
from core.models.presets import PRESET_NAMES
from core.opportunity.components import ESTIMATORS
from core.opportunity.groundtruth import information_ceiling, opportunity_check


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
    out = Path(args.report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_json_safe(report), indent=2) + "\n", encoding="utf-8")
    summary = {
        name: {key: r[key] for key in ("spearman", "top1", "seconds")} for name, r in report.items()
    }
    print(json.dumps(_json_safe(summary)))
    if args.ceiling_report:
        ceiling = {
            name: information_ceiling(
                args.rows, args.seed, catalog=args.catalog, with_outcomes=flag
            )
            for name, flag in (("features", False), ("features+outcomes", True))
        }
        path = Path(args.ceiling_report)
        path.write_text(json.dumps(_json_safe(ceiling), indent=2) + "\n", encoding="utf-8")
        print(
            json.dumps(
                _json_safe(
                    {n: {"spearman": c["spearman"], "top1": c["top1"]} for n, c in ceiling.items()}
                )
            )
        )
    return 0


def add_cli(subparsers: Any) -> None:
    """Register ``opportunity-check`` on the ``python -m core`` argparse subparsers."""

    p = subparsers.add_parser(
        "opportunity-check",
        help="score the opportunity estimators against the synthetic ground truth",
        description="Generate N synthetic customers, train the models, estimate opportunity "
        "components with every estimator and compare them with the true per-customer effects: "
        "mean Spearman correlation per (product, factor) and top-1 agreement of the best next "
        "offer. Writes the JSON report to FILE.",
    )
    p.add_argument("--rows", type=_positive_int, default=7043, help="customers (default 7043)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--report", required=True, metavar="FILE", help="JSON report to write")
    p.add_argument(
        "--estimators",
        default=",".join(ESTIMATORS),
        help=f"comma-separated subset of {','.join(ESTIMATORS)} (default: all)",
    )
    p.add_argument("--catalog", default="seed", help="catalog name or TOML path (default seed)")
    p.add_argument(
        "--model-preset",
        default="accurate",
        choices=PRESET_NAMES,
        help="models of the counterfactual estimator (default accurate)",
    )
    p.add_argument(
        "--ceiling-report",
        metavar="FILE",
        help="also write the information ceiling (a regressor trained on the true effects "
        "from the data, cross-validated) to FILE",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_opportunity_check)
