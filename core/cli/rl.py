"""``python -m core rl DATA``: a next-best-action agent against the optimizer's journeys."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.cli._util import Progress as Bar
from core.cli._util import (
    add_catalog,
    add_command,
    add_data,
    add_mapping,
    add_quiet,
    add_seed,
)
from core.common.errors import CJOError
from core.data.io import load
from core.rl import AGENTS, DEFAULT_EPISODES, build_env, lab_data, markdown_table

_HELP = "train a next-best-action agent and compare it with the optimizer's journeys"
_DESCRIPTION = (
    "Build the journey environment of DATA (opportunity components, factor "
    "weights, acceptance models, segments), train one agent on 70% of the customers and "
    "estimate by Monte-Carlo, on the other 30% with the same random draws, the expected "
    "value of the learned policy, of the annealed, exact and greedy journeys and of the "
    "expected-value greedy baseline. Prints a Markdown table and the best first action "
    "per segment; --report writes the JSON report."
)


def _cmd_rl(args: argparse.Namespace) -> int:

    if args.agent not in AGENTS:
        raise CJOError(f"--agent {args.agent}: choose one of {', '.join(AGENTS)}.")
    if args.episodes is None:
        args.episodes = DEFAULT_EPISODES[args.agent]
    if args.episodes < 1 or args.eval_episodes < 1:
        raise CJOError("--episodes and --eval-episodes must be >= 1.")
    try:
        weights = [float(w) for w in args.weights.split(",")]
    except ValueError:
        raise CJOError(f"--weights {args.weights}: give three numbers, e.g. 1,1,1.") from None
    data = load(args.data, mapping=args.mapping)
    env = build_env(
        data.frame,
        args.catalog,
        weights=weights,
        estimator=args.estimator,
        segmentation="auto" if args.segments else None,
        random_state=args.seed,
        progress=None if args.quiet else Bar("rl: models"),
    )
    result = lab_data(
        env,
        agents=[args.agent],
        episodes=args.episodes,
        seed=args.seed,
        test_size=args.test_size,
        eval_episodes=args.eval_episodes,
        progress=None if args.quiet else Bar(f"rl: {args.agent}"),
    )
    report = result.report()
    report["agent"] = args.agent
    report["episodes"] = args.episodes
    report["data"] = {"source": data.source, "sha256": data.sha256, "rows": data.n_rows}
    report["catalog"] = args.catalog
    report["weights"] = weights
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(result))
    for df in result.best_actions.values():
        for text in df.loc[df["rank"] == 1, "explanation"]:
            print(f"- {text}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def add_cli(subparsers: Any) -> None:
    """Register ``python -m core rl``."""
    p = add_command(subparsers, "rl", _cmd_rl, _HELP, _DESCRIPTION)
    add_data(p)
    p.add_argument("--agent", default="qlearning", choices=list(AGENTS), help="agent to train")
    p.add_argument(
        "--episodes",
        type=int,
        default=None,
        help="training episodes (default: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_EPISODES.items())
        + ")",
    )
    add_seed(p)
    p.add_argument("--report", metavar="JSON", help="write the JSON report")
    add_catalog(p, "catalog name or TOML path (seed)")
    p.add_argument("--weights", default="1,1,1", help="cltv,churn,satisfaction weights (1,1,1)")
    p.add_argument("--estimator", default="peer-bayes", help="opportunity estimator")
    p.add_argument("--test-size", type=float, default=0.3, help="held-out share (0.3)")
    p.add_argument(
        "--eval-episodes", type=int, default=20, help="Monte-Carlo episodes per customer (20)"
    )
    p.add_argument(
        "--no-segments",
        dest="segments",
        action="store_false",
        help="one segment for everyone (default: core.insights.segments k-means)",
    )
    add_mapping(p)
    add_quiet(p)
