"""``python -m core opportunity-check``: the estimators and their decisions against the truth."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
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
from core.common.errors import CJOError
from core.data import synthetic
from core.insights.decision import (
    CEILING,
    HARM_LIMIT,
    Policy,
    decision_check,
    estimate_all,
    harm_frontier,
)
from core.opportunity.components import DATA_ESTIMATORS, ESTIMATORS
from core.opportunity.groundtruth import information_ceiling, opportunity_check
from core.pipeline import Settings

_HELP = "score the opportunity estimators and their journeys against the synthetic truth"
_DESCRIPTION = (
    "Generate N synthetic customers, train the models, estimate opportunity "
    "components with every estimator and compare them with the true per-customer effects: "
    "mean Spearman correlation per (product, factor) and top-1 agreement of the best next "
    "offer. Then recommend journeys from each estimator (exact solver) and judge them on the "
    "truth, per catalog and weight setting: the share of the truth-optimal value they capture "
    "(captured), the share of customers they make worse off (share_harmful) and the share at "
    "the true optimum, beside the information ceiling and no action "
    "(report key decision[catalog][weights][policy]), and each policy family's best captured "
    "share within the accepted harm (frontier[catalog][weights][family]). Writes the JSON "
    "report to FILE."
)


def _levels(text: str, option: str = "--risk-levels", example: str = "0.8,0.9") -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise CJOError(f"{option} {text!r}: give numbers such as {example}.") from None


def policies(
    estimators: list[str],
    levels: list[float],
    ceiling: bool,
    confounding: Sequence[float] = (),
) -> list[Policy]:
    """Each estimator as the product runs it by default and without risk control; the ``dr``
    estimator at every risk level and, for every allowance ``K`` of ``confounding``, at every
    level with that allowance for unrecorded confounding (``dr/conf=K,lcb=L``); the ceiling
    learner without risk control (``ceiling``) and, abstaining on its cross-fitted residual
    error, at every risk level (``ceiling/lcb=L``)."""
    default = Settings()
    out = []
    for name in estimators:
        out.append(
            Policy(
                name,
                name,
                {"solver": "exact", "risk": default.risk, "risk_level": default.risk_level},
            )
        )
        if name == "dr":
            out.append(Policy(f"{name}/risk=none", name, {"solver": "exact", "risk": "none"}))
            out += [
                Policy(
                    f"{name}/lcb={lv:g}", name, {"solver": "exact", "risk": "lcb", "risk_level": lv}
                )
                for lv in levels
            ]
            out += [
                Policy(
                    f"{name}/conf={k:g},lcb={lv:g}",
                    name,
                    {"solver": "exact", "risk": "lcb", "risk_level": lv, "confounding": k},
                )
                for k in confounding
                if k > 0
                for lv in levels
            ]
    if ceiling:
        out.append(Policy(CEILING, CEILING, {"solver": "exact", "risk": "none"}))
        out += [
            Policy(
                f"{CEILING}/lcb={lv:g}",
                CEILING,
                {"solver": "exact", "risk": "lcb", "risk_level": lv},
            )
            for lv in levels
        ]
    return out


def _cmd_opportunity_check(args: argparse.Namespace) -> int:
    names = [e.strip() for e in args.estimators.split(",") if e.strip()]
    unknown = [e for e in names if e not in ESTIMATORS]
    if unknown:
        raise CJOError(f"unknown estimator(s) {unknown}; choose from {list(ESTIMATORS)}.")
    if args.rows < 50:
        raise CJOError(f"--rows {args.rows}: need at least 50 customers for a meaningful check.")
    catalogs = [c.strip() for c in args.decision_catalogs.split(",") if c.strip()]
    levels = _levels(args.risk_levels)
    allowances = _levels(args.confounding_levels, "--confounding-levels", "0.25,0.5")
    bad = [k for k in allowances if not k >= 0]
    if bad:
        raise CJOError(f"--confounding-levels {bad}: give numbers >= 0, e.g. 0.25,0.5.")
    if not 0.0 <= args.harm_limit <= 1.0:
        raise CJOError(f"--harm-limit {args.harm_limit}: give a share in [0, 1], e.g. 0.05.")
    bar = None if args.quiet else (lambda label: Bar(f"{label:>20}"))
    options = {"counterfactual": {"model_options": {"preset": args.model_preset}}}
    population = synthetic.generate_frame(args.rows, args.seed)
    if args.texts:
        from core.models.text import synthetic_text_features

        customers, _ = synthetic_text_features(*population, seed=args.seed)
        population = (customers, population[1])
    comps: dict[str, Any] = {}
    if args.decision:
        wanted = list(dict.fromkeys([*catalogs, args.catalog]))
        comps = estimate_all(
            *population,
            wanted,
            names,
            seed=args.seed,
            options=options,
            ceiling=args.ceiling,
            progress=bar,
        )
    report: dict[str, Any] = opportunity_check(
        args.rows,
        args.seed,
        names,
        catalog=args.catalog,
        options=options,
        progress=bar,
        population=population,
        components=comps.get(args.catalog),
    )
    if args.decision:
        report["decision"] = decision_check(
            *population,
            {c: comps[c] for c in catalogs},
            policies(names, levels, args.ceiling, allowances),
            progress=None if args.quiet else Bar("        decisions"),
        )
        report["frontier"] = harm_frontier(report["decision"], args.harm_limit)
    write_json(args.report, report)
    summary: dict[str, Any] = {
        name: {key: r[key] for key in ("spearman", "top1", "seconds")}
        for name, r in report.items()
        if name not in ("decision", "frontier")
    }
    if args.decision:
        summary["decision"] = {
            cat: {
                w: {
                    p: {"captured": r["captured"], "share_harmful": r["share_harmful"]}
                    for p, r in row.items()
                }
                for w, row in byw.items()
            }
            for cat, byw in report["decision"].items()
        }
        summary["frontier"] = report["frontier"]
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
        default=",".join(DATA_ESTIMATORS),
        help=f"comma-separated subset of {','.join(DATA_ESTIMATORS)} (default: all of them)",
    )
    add_catalog(p, "catalog name or TOML path (default seed)")
    add_model_preset(p, "models of the counterfactual estimator (default accurate)")
    p.add_argument(
        "--ceiling-report",
        metavar="FILE",
        help="also write the information ceiling (a regressor trained on the true effects "
        "from the data, cross-validated) to FILE",
    )
    p.add_argument(
        "--decision-catalogs",
        default="seed,full",
        metavar="LIST",
        help="catalogs whose recommended journeys are judged on the truth (seed,full)",
    )
    p.add_argument(
        "--risk-levels",
        default="0.8,0.9,0.95",
        metavar="LIST",
        help="confidence levels at which the dr estimator's lower-bound journeys are also "
        "judged (0.8,0.9,0.95)",
    )
    p.add_argument(
        "--confounding-levels",
        default="",
        metavar="LIST",
        help="allowances for unrecorded confounding (multiples of the recorded, e.g. "
        "0.25,0.5) at which the dr estimator's journeys are also judged at every risk level "
        "(policy dr/conf=K,lcb=L; default none)",
    )
    p.add_argument(
        "--harm-limit",
        type=float,
        default=HARM_LIMIT,
        metavar="SHARE",
        help="harm a manager accepts: report key frontier[catalog][weights][family] gives each "
        f"family's best captured share with share_harmful at most this ({HARM_LIMIT:g})",
    )
    p.add_argument(
        "--no-decision",
        dest="decision",
        action="store_false",
        help="skip judging the recommended journeys (only the estimates)",
    )
    p.add_argument(
        "--no-ceiling",
        dest="ceiling",
        action="store_false",
        help="skip the ceiling learner in the decision report",
    )
    p.add_argument(
        "--texts",
        action="store_true",
        help="give the customers synthetic feedback texts (core.data.synthetic.feedback) and "
        "their text_* features, leakage-guarded, before estimating",
    )
    add_quiet(p, "no progress bars")
