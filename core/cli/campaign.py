"""``python -m core campaign LOG ...``: lift, learned targeting and the next test of a campaign.

Reads and validates a campaign log (one clear message and exit 2 when it is malformed),
measures every arm's lift against control, learns a targeting on the training part and values
it on the held-out part against the best single arm, computes Qini coefficients, writes the
report (``--report``) and, with ``--out``, the next campaign's assignments: the learned
targeting for every customer, with a seeded random holdout as control.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from core.campaigns import (
    DEFAULT_LEARNER,
    LEARNERS,
    MIN_ROWS,
    CampaignAnalysis,
    analyze,
    campaign_report,
    plan_next_test,
    read_log,
    targeted,
    write_assignments,
)
from core.campaigns.targeting import MARGIN
from core.cli._util import EXIT_OK, Progress, positive_int, print_json, write_json
from core.common.errors import CJOError
from core.data.io import read_table

DEFAULT_CONTROL_SHARE = 0.1


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1 (exclusive)")
    return value


def _recipients(
    analysis: CampaignAnalysis, customers: str | None, target: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Customer ids and their recommended arms: the customer table's, else the log's."""
    log, model, enc = analysis.log, analysis.models[target], analysis.encoder
    if customers is not None:
        table, _ = read_table(customers)
        key = log.id_column if log.id_column in table.columns else "Customer ID"
        if key in table.columns and set(enc.columns_) <= set(table.columns):
            ids = table[key].to_numpy(dtype=object)
            actions = model.actions(enc.transform(table))
            return ids, np.asarray(log.arms, dtype=object)[actions], "customer table"
    first = ~pd.Series(log.ids).duplicated().to_numpy()
    ids = np.asarray(log.ids, dtype=object)[first]
    actions = model.actions(enc.transform(log.features.iloc[np.flatnonzero(first)]))
    return ids, np.asarray(log.arms, dtype=object)[actions], "campaign log"


def _cmd_campaign(args: argparse.Namespace) -> int:
    arms = [a.strip() for a in args.arms.split(",") if a.strip()] if args.arms else None
    log = read_log(
        args.log,
        arm=args.arm,
        control=args.control,
        outcomes=args.outcome,
        propensity=args.propensity,
        id=args.id,
        customers=args.customers,
        arms=arms,
        min_rows=args.min_rows,
    )
    target = args.target or log.outcome_names[0]
    if target not in log.outcomes:
        raise CJOError(f"--target {target}: not one of the outcomes {list(log.outcomes)}.")
    plan = None
    if args.mde is not None:
        n_customers = len(pd.unique(pd.Series(log.ids)))
        if args.customers is not None:
            n_customers = max(n_customers, len(read_table(args.customers)[0]))
        plan = plan_next_test(
            log, target, args.mde, n_customers=n_customers, alpha=args.alpha, power=args.power
        )
    analysis = analyze(
        log,
        holdout=args.holdout,
        seed=args.seed,
        learner=args.learner,
        minimize=args.minimize or (),
        level=args.level,
        n_bootstrap=args.bootstrap,
        margin=args.margin,
        progress=None if args.quiet else Progress("campaign"),
    )
    report = campaign_report(analysis, plan=plan)
    summary: dict[str, Any] = {"report": args.report, "n": log.n, "arms": list(log.arms)}
    if args.out:
        share = args.control_share
        source = "--control-share"
        if share is None and plan is not None and plan["targeting_vs_holdout"] is not None:
            share, source = plan["targeting_vs_holdout"]["control_share"], "--mde plan"
        if share is None:
            share, source = DEFAULT_CONTROL_SHARE, "default"
        ids, recommended, who = _recipients(analysis, args.customers, target)
        table = targeted(ids, recommended, control_share=share, control=log.control, seed=args.seed)
        result = write_assignments(table, args.out)
        report["assignments"] = {
            "path": str(args.out),
            "rows": result.row_count,
            "sha256": result.sha256,
            "customers": who,
            "target": target,
            "control_share": share,
            "control_share_from": source,
            "holdout_rows": int(table["holdout"].sum()),
        }
        summary["assignments"] = str(args.out)
    write_json(args.report, report)
    summary["policy"] = {
        o: {
            k: p[k]
            for k in ("value", "ci_low", "ci_high", "best_single_arm", "best_single_arm_value")
        }
        for o, p in report["policy"].items()
    }
    print_json(summary)
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``campaign LOG --arm COLUMN --control LABEL --outcome COLUMN ... --report FILE``."""
    p = subparsers.add_parser(
        "campaign",
        help="lift per arm, learned targeting and its value, and the next test of a campaign",
        description="Read a campaign log (CSV or Parquet: one row per contact, an arm column "
        "with a control label, outcome columns), measure every arm's lift against control with "
        "intervals, learn a targeting on a training part and value it on the held-out part "
        "against the best single arm (off-policy: IPW, SNIPW, doubly robust), compute Qini "
        "coefficients, and write the JSON report; --out writes the next campaign's "
        "assignments (the targeting with a seeded random holdout). A malformed log gives one "
        "message and exit code 2.",
    )
    p.add_argument("log", metavar="LOG", help="campaign log (.csv or .parquet)")
    p.add_argument("--arm", required=True, metavar="COLUMN", help="column of the arm received")
    p.add_argument("--control", required=True, metavar="LABEL", help="the control group's label")
    p.add_argument(
        "--outcome",
        required=True,
        action="append",
        metavar="COLUMN",
        help="outcome column (repeat for several; 0/1 = binary, else amount)",
    )
    p.add_argument("--propensity", metavar="COLUMN", help="probability of the arm received")
    p.add_argument("--id", metavar="COLUMN", help="customer id column (default: row number)")
    p.add_argument("--customers", metavar="FILE", help="customer table joined by --id")
    p.add_argument(
        "--arms", metavar="LABELS", help="comma-separated arms expected (others are errors)"
    )
    p.add_argument("--holdout", type=_share, default=0.5, help="held-out share (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--report", required=True, metavar="FILE", help="JSON report to write")
    p.add_argument("--out", metavar="FILE", help="next campaign's assignments (.csv/.parquet)")
    p.add_argument(
        "--minimize",
        action="append",
        metavar="COLUMN",
        help="outcome where lower is better (e.g. churn); repeatable",
    )
    p.add_argument(
        "--learner",
        default=DEFAULT_LEARNER,
        choices=list(LEARNERS),
        help=f"uplift learner (default {DEFAULT_LEARNER})",
    )
    p.add_argument(
        "--margin",
        type=float,
        default=MARGIN,
        help="standard errors the cross-fitted gain of personalising must clear before the "
        f"targeting leaves the best single arm (default {MARGIN}; 0 = best estimate)",
    )
    p.add_argument(
        "--target", metavar="COLUMN", help="outcome the assignments target (default: the first)"
    )
    p.add_argument("--level", type=_share, default=0.95, help="interval level (default 0.95)")
    p.add_argument(
        "--bootstrap", type=int, default=200, help="Qini bootstrap resamples (default 200)"
    )
    p.add_argument(
        "--min-rows",
        type=positive_int,
        default=MIN_ROWS,
        help=f"fewest rows per arm (default {MIN_ROWS})",
    )
    p.add_argument(
        "--mde",
        type=float,
        metavar="LIFT",
        help="minimum detectable lift of --target for the next test (outcome units: 0.01 = "
        "one point of a rate): adds the power calculation to the report and sizes the holdout",
    )
    p.add_argument("--power", type=_share, default=0.8, help="power of the next test (0.8)")
    p.add_argument("--alpha", type=_share, default=0.05, help="test level (default 0.05)")
    p.add_argument(
        "--control-share",
        type=_share,
        metavar="SHARE",
        help=f"holdout share of --out (default: from --mde, else {DEFAULT_CONTROL_SHARE})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_campaign)
