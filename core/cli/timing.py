"""``python -m core timing FILE --calibration-end DATE ...``: when will customers buy again?

Reads and validates a purchase log (one clear message and exit 2 for dates that do not parse, a
calibration end outside the data, negative amounts without ``--returns``), fits BG/NBD,
Pareto/NBD, Gamma-Gamma and the challengers, keeps a challenger only if it beats BG/NBD and
Pareto/NBD on a held-out part of the calibration period, and writes the JSON report (the
holdout comparison with ``--holdout-end``, the conditional expectation by calibration
frequency, the parameters beside the published CDNOW ones) and, with ``--out``, every
customer's P(alive), expected purchases, spend, CLV and dates.

With ``--journeys J --contacts FILE`` it also writes the contact plan: each journey step's
suggested contact date (:func:`core.models.timing.contact_schedule`; ``J`` is what
``python -m core optimize --out`` writes, ``customer_id, step, product``), no date before
``--as-of`` (default: the day after the calibration end, the day the forecasts start from).
``python -m core plan CALENDAR.toml --data ... --windows FILE`` takes that file.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from core.cli._util import EXIT_OK, Progress, add_command, date_option, print_json, write_json
from core.common.errors import CJOError
from core.data.io import read_table
from core.data.purchases import RETURNS_RULES, read_purchases
from core.models.timing import MODELS, SELECTION_RULES, fit_timing
from core.ops.export import write_export

_HELP = "purchase timing: P(alive), expected purchases, spend and CLV (BG/NBD and challengers)"
_DESCRIPTION = (
    "Read a purchase log (CSV or Parquet: customer id, date, optional amount and quantity), "
    "summarise each customer's calibration period (up to --calibration-end), fit BG/NBD, "
    "Pareto/NBD and Gamma-Gamma by maximum likelihood and the challengers (BG/NBD on a seasonal "
    "clock, a gradient-boosting correction), keep a challenger only if it predicts a held-out "
    "part of the calibration period better, and report: n_customers, model, params (beside the "
    "published CDNOW estimates), holdout {predicted_total, actual_total, error_pct, mae, rmse, "
    "correlation} with --holdout-end, the conditional expectation by calibration frequency, "
    "seconds. Malformed input gives one message and exit code 2."
)


def read_journeys(path: str) -> pd.DataFrame:
    """``customer_id, step, product`` of a journeys file (``optimize --out``), checked."""
    frame, _ = read_table(path)
    name = f"--journeys {path}"
    missing = [c for c in ("customer_id", "step", "product") if c not in frame.columns]
    if missing:
        raise CJOError(
            f"{name}: column(s) {missing} missing. Fix: give the journeys `python -m core "
            "optimize --out` writes (customer_id, step, product)."
        )
    out = frame[["customer_id", "step", "product"]].copy()
    step = pd.to_numeric(out["step"], errors="coerce")
    bad = step.isna() | (step != step.round())
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise CJOError(
            f"{name}: step {out['step'].iloc[row]!r} in row {row + 1} is not a whole number."
        )
    out["step"] = step.astype("int64")
    out["customer_id"] = out["customer_id"].astype(str)
    out["product"] = out["product"].astype(str)
    return out


def _as_of(args: argparse.Namespace) -> pd.Timestamp:
    text = args.as_of or args.calibration_end
    day: pd.Timestamp = date_option(text, "--as-of" if args.as_of else "--calibration-end")
    return day if args.as_of else day + pd.Timedelta(days=1)


def _cmd_timing(args: argparse.Namespace) -> int:
    if bool(args.journeys) != bool(args.contacts):
        raise CJOError(
            "--journeys and --contacts go together: the journeys in, their contact plan out."
        )
    if args.as_of and not args.contacts:
        raise CJOError("--as-of dates the contact plan: add --journeys J --contacts FILE.")
    journeys = read_journeys(args.journeys) if args.journeys else None
    amount = args.amount
    source: Any = args.file
    if amount is None:
        frame, _ = read_table(args.file)
        amount = "amount" if "amount" in frame.columns else None
        source = frame
    log = read_purchases(
        source,
        id=args.id,
        date=args.date,
        amount=amount,
        quantity=args.quantity,
        returns=args.returns,
        name=str(args.file),
    )
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bar = None if args.quiet else Progress("timing")
    result = fit_timing(
        log,
        args.calibration_end,
        args.holdout_end,
        models=models,
        validation_weeks=args.validation_weeks,
        horizon_weeks=args.horizon_weeks,
        threshold=args.threshold,
        margin=args.margin,
        seed=args.seed,
        selection_rule=args.selection,
        progress=bar,
    )
    report = result.report()
    summary: dict[str, Any] = {
        "report": args.report,
        "n_customers": report["n_customers"],
        "model": report["model"],
    }
    if args.out:
        table = result.customers.reset_index()
        written = write_export(table, args.out)
        report["out"] = {"path": str(args.out), "rows": written.row_count, "sha256": written.sha256}
        summary["out"] = str(args.out)
    if journeys is not None:
        from core.models.timing import contact_schedule

        plan = contact_schedule(journeys, result.customers, as_of=_as_of(args))
        table = plan.table.assign(date=plan.table["date"].dt.strftime("%Y-%m-%d"))
        written = write_export(table, args.contacts)
        report["contacts"] = {
            "path": str(args.contacts),
            "rows": written.row_count,
            "sha256": written.sha256,
            "as_of": plan.as_of.strftime("%Y-%m-%d"),
            "steps_without_history": int((plan.table["reason"] == "no history").sum()),
        }
        summary["contacts"] = str(args.contacts)
    write_json(args.report, report)
    if "holdout" in report:
        summary["holdout"] = report["holdout"]
    summary["seconds"] = round(result.seconds, 2)
    summary["notes"] = report["notes"]
    print_json(summary)
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``timing FILE --calibration-end DATE [--holdout-end DATE] ... --report FILE``."""
    p = add_command(subparsers, "timing", _cmd_timing, _HELP, _DESCRIPTION)
    p.add_argument("file", metavar="FILE", help="purchase log (.csv or .parquet)")
    p.add_argument(
        "--calibration-end", required=True, metavar="DATE", help="end of calibration (YYYY-MM-DD)"
    )
    p.add_argument("--holdout-end", metavar="DATE", help="end of the holdout period")
    p.add_argument("--id", default="customer_id", metavar="COLUMN", help="customer id column")
    p.add_argument("--date", default="date", metavar="COLUMN", help="purchase date column")
    p.add_argument(
        "--amount", metavar="COLUMN", help="purchase amount column (default: 'amount' if present)"
    )
    p.add_argument("--quantity", metavar="COLUMN", help="quantity column (optional)")
    p.add_argument(
        "--returns",
        choices=RETURNS_RULES,
        help="what negative amounts mean: drop (leave returns out) or net (net them against the "
        "same day); without it negative amounts are an error",
    )
    p.add_argument(
        "--models",
        default=",".join(MODELS),
        metavar="LIST",
        help=f"models to fit and compare (default {','.join(MODELS)})",
    )
    p.add_argument(
        "--validation-weeks",
        type=float,
        default=13.0,
        help="held-out weeks at the end of calibration on which a challenger without a "
        "likelihood (gbm) must beat the kept model (default 13)",
    )
    p.add_argument(
        "--selection",
        choices=SELECTION_RULES,
        default="aic",
        help="aic: lowest AIC on the calibration period, gbm only if significantly better on "
        "validation (default); validation: lowest validation deviance (the former rule)",
    )
    p.add_argument(
        "--horizon-weeks",
        type=float,
        default=52.0,
        help="forecast horizon without a holdout (default 52)",
    )
    p.add_argument(
        "--threshold", type=float, default=0.5, help="P(alive) below which a customer is at risk"
    )
    p.add_argument("--margin", type=float, default=1.0, help="margin share of spend for CLV")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--report", required=True, metavar="FILE", help="JSON report to write")
    p.add_argument("--out", metavar="FILE", help="per-customer scores (.parquet or .csv)")
    p.add_argument(
        "--journeys",
        metavar="FILE",
        help="journeys (what `optimize --out` writes: customer_id, step, product); with "
        "--contacts, each step gets a suggested contact date",
    )
    p.add_argument(
        "--contacts",
        metavar="FILE",
        help="write the contact plan here (customer_id, step, product, date, reason): the "
        "input of `plan CALENDAR.toml --windows FILE`",
    )
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="no contact date before this (default: the day after --calibration-end)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
