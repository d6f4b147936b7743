"""Command line: ``python -m core <command>``; the only place in core that prints or parses arguments."""

from core.cli.main import COMMAND_MODULES, EXTRA_COMMANDS, build_parser, main

__all__ = ["COMMAND_MODULES", "EXTRA_COMMANDS", "build_parser", "main"]
