"""Command line: ``python -m core <command> ...``.

Every command has ``--help``. A user error (bad data, catalog, mapping, option) prints one clear
message to stderr and exits 2, never a traceback; success exits 0. Progress goes to stderr so
stdout stays machine-readable (JSON summaries).

Each command lives in its own module of :mod:`core.cli` with an ``add_cli(subparsers)``
function; :data:`COMMAND_MODULES` lists them in the order ``--help`` shows them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core.cli._util import EXIT_USAGE
from core.common.errors import CJOError

#: Modules with an ``add_cli(subparsers)`` function, in the order their commands are listed.
COMMAND_MODULES: tuple[str, ...] = (
    "core.cli.validate",
    "core.cli.demo_data",
    "core.cli.train",
    "core.cli.opportunity_check",
    "core.cli.campaign",
    "core.cli.feedback",
    "core.cli.timing",
    "core.cli.optimize",
    "core.cli.segment",
    "core.cli.customers_from_transactions",
    "core.cli.rl",
    "core.cli.plan",
    "core.cli.report",
)

#: Extra ``register(subparsers)`` functions (plug-ins, tests).
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def _registered_commands() -> list[Callable[[Any], None]]:
    found = [importlib.import_module(m).add_cli for m in COMMAND_MODULES]
    return found + EXTRA_COMMANDS


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Customer Journey Optimizer: data checks, demo data, models and journeys.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for register in _registered_commands():
        register(sub)
    return parser


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
