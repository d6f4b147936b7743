"""``python -m core feedback FILE --text COLUMN ...``: score feedback texts and say how well.

Reads and validates the texts (one clear message and exit 2 for a numeric text column, binary
bytes, no texts at all, ratings outside the scale, dates that do not parse; a cell over
``--max-chars`` is capped and the report says so), scores every text with the lexicon and the
keyword topics and, with ``--rating``, compares the lexicon, the supervised model and the plain
TF-IDF + logistic regression on a seeded held-out half. Writes the JSON report and, with
``--out``, every text's scores.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.cli._util import EXIT_OK, Progress, positive_int, print_json, write_json
from core.data.feedback import MAX_TEXT_CHARS, read_feedback
from core.models.text import TopicRules, evaluate_feedback
from core.ops.export import write_export

_HELP = "score feedback texts (lexicon, topics, supervised model) and compare them"
_DESCRIPTION = (
    "Read a feedback file (CSV or Parquet: one row per text, with a text column and optionally "
    "a customer id, a date, a rating and a channel), score every text with the VADER lexicon "
    "and the keyword topics (data/topics.toml or --topics) and, with --rating, measure on a "
    "seeded held-out half how well the lexicon, the supervised model (TF-IDF word 1-2 grams + "
    "logistic regression, cross-validated) and the plain TF-IDF + logistic regression tell "
    "unhappy writers (the lowest two points of the rating scale): report keys n, lexicon and "
    "supervised, each {auc_unhappy, spearman}, and seconds. Malformed input gives one message "
    "and exit code 2."
)


def _cmd_feedback(args: argparse.Namespace) -> int:
    table = read_feedback(
        args.file,
        text=args.text,
        id=args.id,
        date=args.date,
        rating=args.rating,
        channel=args.channel,
        scale=args.scale,
        max_chars=args.max_chars,
    )
    topics = TopicRules.load(args.topics) if args.topics else None
    bar = None if args.quiet else Progress("feedback")
    result = evaluate_feedback(table, seed=args.seed, topics=topics, progress=bar)
    report = result.to_dict()
    report["columns"] = table.columns
    report["scale"] = list(table.scale) if table.scale else None
    report["capped"] = table.n_capped
    summary: dict[str, Any] = {"report": args.report, "n": result.n}
    if args.out:
        written = write_export(result.scored, args.out)
        report["out"] = {"path": str(args.out), "rows": written.row_count, "sha256": written.sha256}
        summary["out"] = str(args.out)
    write_json(args.report, report)
    for key in ("lexicon", "supervised"):
        if key in report:
            summary[key] = {k: report[key].get(k) for k in ("auc_unhappy", "spearman")}
    if "supervised" in report:
        summary["plain_tfidf_logreg"] = report["supervised"]["plain_tfidf_logreg"]
    summary["seconds"] = round(result.seconds, 2)
    summary["notes"] = list(result.notes)
    print_json(summary)
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``feedback FILE --text COLUMN [--rating COLUMN] ... --report FILE``."""
    from core.cli._util import add_command

    p = add_command(subparsers, "feedback", _cmd_feedback, _HELP, _DESCRIPTION)
    p.add_argument("file", metavar="FILE", help="feedback file (.csv or .parquet)")
    p.add_argument("--text", required=True, metavar="COLUMN", help="column with the texts")
    p.add_argument("--rating", metavar="COLUMN", help="star rating or score of each text")
    p.add_argument("--id", metavar="COLUMN", help="customer id column")
    p.add_argument("--date", metavar="COLUMN", help="date of each text")
    p.add_argument("--channel", metavar="COLUMN", help="channel (survey, chat, exit survey ...)")
    p.add_argument(
        "--scale", metavar="LOW-HIGH", help="rating scale (default 1-5; e.g. 0-10 for NPS)"
    )
    p.add_argument("--topics", metavar="FILE", help="keyword topics TOML (default shipped)")
    p.add_argument(
        "--max-chars",
        type=positive_int,
        default=MAX_TEXT_CHARS,
        help=f"longest text kept; longer cells are capped (default {MAX_TEXT_CHARS:,})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out half (default 0)")
    p.add_argument("--report", required=True, metavar="FILE", help="JSON report to write")
    p.add_argument("--out", metavar="FILE", help="every text's scores (.parquet or .csv)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
