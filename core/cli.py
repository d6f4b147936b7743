"""Command line: ``python -m core <command> ...``.

Every command has ``--help``. A user error (bad data, catalog, mapping, option) prints one clear
message to stderr and exits 2, never a traceback; success exits 0. Progress goes to stderr so
stdout stays machine-readable (JSON summaries).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import CJOError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class Progress:
    """A plain-text progress bar with ETA on stderr (core never prints outside the CLI)."""

    def __init__(self, label: str, stream: Any = None, width: int = 30) -> None:
        self.label, self.width = label, width
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: float, total: float) -> None:
        now = time.perf_counter()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        frac = 0.0 if total <= 0 else min(done / total, 1.0)
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        bar = "#" * int(frac * self.width)
        eta_s = (
            f"{elapsed:5.1f}s" if frac >= 1 else "ETA    --" if frac <= 0 else f"ETA {eta:5.1f}s"
        )
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {frac:6.1%} {eta_s}")
        if frac >= 1:
            self.stream.write("\n")
        self.stream.flush()


def _cmd_validate(args: argparse.Namespace) -> int:
    from core.catalog import load_catalog
    from core.io import Limits, load

    limits = Limits(max_bytes=args.max_bytes, max_rows=args.max_rows, max_columns=args.max_columns)
    data = load(args.data, mapping=args.mapping, limits=limits)
    summary = data.summary()
    catalogs = {}
    for name in ("seed", "full"):
        cat = load_catalog(name)
        missing = cat.missing_columns(list(data.frame.columns))
        catalogs[name] = {"usable": not missing, "products_missing_columns": missing}
    summary["catalogs"] = catalogs
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from core import synthetic

    out = Path(args.out)
    if out.suffix.lower() not in {".csv", ".parquet"}:
        raise CJOError(f"--out {out}: use a .csv or .parquet file name.")
    if args.rows < 1 or args.rows > 10_000_000:
        raise CJOError(f"--rows {args.rows}: choose 1 to 10,000,000 customers.")
    out.parent.mkdir(parents=True, exist_ok=True)
    progress = None if args.quiet else Progress(f"demo-data {args.rows:,} rows")
    synthetic.write(out, args.rows, args.seed, chunk_size=args.chunk_size, progress=progress)
    truth = out.with_name(out.stem + ".truth.parquet")
    print(
        json.dumps(
            {"customers": str(out), "truth": str(truth), "rows": args.rows, "seed": args.seed}
        )
    )
    return EXIT_OK


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree (other modules add subcommands through :data:`EXTRA_COMMANDS`)."""
    from core.io import Limits

    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Customer Journey Optimizer: data checks, demo data, models and journeys.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "validate",
        help="check a customer file and print a summary",
        description="Load DATA (CSV or Parquet), map it to the canonical schema "
        "and validate it. Prints a JSON summary and exits 0, or prints the problems "
        "and exits 2.",
    )
    p.add_argument("data", metavar="DATA", help="CSV or Parquet file")
    p.add_argument("--mapping", metavar="FILE", help="TOML column mapping for other exports")
    d = Limits()
    p.add_argument("--max-bytes", type=_positive_int, default=d.max_bytes, help="size cap")
    p.add_argument("--max-rows", type=_positive_int, default=d.max_rows, help="row cap")
    p.add_argument("--max-columns", type=_positive_int, default=d.max_columns, help="column cap")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "demo-data",
        help="generate the synthetic population and its ground truth",
        description="Write N synthetic customers in the canonical schema to FILE "
        "(.csv or .parquet) and their ground truth to FILE's sibling "
        "<stem>.truth.parquet. Reproducible per seed, independent of chunk size.",
    )
    p.add_argument("--rows", type=_positive_int, default=7043, help="customers (default 7043)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet")
    p.add_argument("--chunk-size", type=_positive_int, default=100_000, help="rows per chunk")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo_data)

    for register in _registered_commands():
        register(sub)
    return parser


#: Modules with an ``add_cli(subparsers)`` function, in the order their commands are listed.
COMMAND_MODULES: tuple[str, ...] = (
    "core.train",
    "core.groundtruth",
    "core.pipeline",
    "core.segments",
    "core.rl",
)

#: Extra ``register(subparsers)`` functions (plug-ins, tests).
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def _registered_commands() -> list[Callable[[Any], None]]:
    import importlib

    found = [importlib.import_module(m).add_cli for m in COMMAND_MODULES]
    return found + EXTRA_COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CJOError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: nothing further was written.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
