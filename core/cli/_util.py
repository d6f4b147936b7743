"""What every command shares: exit codes, the text progress bar, argument types, the options
several commands take, JSON output.

The ``add_*`` helpers add one option each with its name, default and help text in one place;
a command calls them in the order its ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.common.jsonutil import to_jsonable
from core.models.presets import PRESET_NAMES

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


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def add_command(
    subparsers: Any, name: str, func: Callable[[Any], int], help: str, description: str
) -> argparse.ArgumentParser:
    """Register the command ``name`` that runs ``func(args)``; returns its parser.

    ``help`` is its line in ``python -m core --help``, ``description`` the text of its own
    ``--help``.
    """
    p: argparse.ArgumentParser = subparsers.add_parser(name, help=help, description=description)
    p.set_defaults(func=func)
    return p


def add_data(
    p: argparse.ArgumentParser, help: str = "CSV, Parquet or Excel (.xlsx) customer file"
) -> None:
    """The positional ``DATA``: the customer file."""
    p.add_argument("data", metavar="DATA", help=help)


def add_mapping(p: argparse.ArgumentParser) -> None:
    """``--mapping FILE``: the column mapping of other exports."""
    p.add_argument("--mapping", metavar="FILE", help="TOML column mapping for other exports")


def add_rows(p: argparse.ArgumentParser) -> None:
    """``--rows N``: synthetic customers (7043, the IBM population's size)."""
    p.add_argument("--rows", type=positive_int, default=7043, help="customers (default 7043)")


def add_seed(p: argparse.ArgumentParser, help: str = "random seed (default 0)") -> None:
    """``--seed S`` (an integer, default 0)."""
    p.add_argument("--seed", type=int, default=0, help=help)


def add_catalog(
    p: argparse.ArgumentParser,
    help: str,
    metavar: str | None = None,
    default: str | None = "seed",
) -> None:
    """``--catalog``: a shipped catalog's name or a TOML file (default ``seed``).

    With ``default=None`` the command tells a chosen catalog from none: a chosen one also says
    which columns the data needs (:func:`core.data.io.load` ``catalog``); :func:`catalog_of`
    gives the catalog to use either way.
    """
    p.add_argument("--catalog", default=default, metavar=metavar, help=help)


#: ``--catalog`` help of the commands that read customer data with it.
CATALOG_HELP = (
    "product catalog: seed (default), full, or a TOML file of your own products; a chosen "
    "catalog also sets what the data needs: its products' columns and an id"
)


def catalog_of(args: argparse.Namespace) -> str:
    """The catalog a command uses: the one chosen with ``--catalog``, else ``seed``."""
    return str(args.catalog or "seed")


def add_model_preset(p: argparse.ArgumentParser, help: str) -> None:
    """``--model-preset``: one of :data:`core.models.presets.PRESET_NAMES` (default accurate)."""
    p.add_argument("--model-preset", default="accurate", choices=PRESET_NAMES, help=help)


def add_models_dir(p: argparse.ArgumentParser) -> None:
    """``--models DIR``: trusted models to load, or where to train them."""
    p.add_argument("--models", metavar="DIR", help="trusted models folder (load or train)")


def add_quiet(p: argparse.ArgumentParser, help: str = "no progress bar") -> None:
    """``--quiet``: no progress on stderr."""
    p.add_argument("--quiet", action="store_true", help=help)


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (NaN -> null), creating the folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(to_jsonable(obj), indent=2) + "\n", encoding="utf-8")


def print_json(obj: Any, **kw: Any) -> None:
    """Print ``obj`` as JSON on stdout (NaN -> null)."""
    print(json.dumps(to_jsonable(obj), **kw))


def date_option(text: str, option: str) -> Any:
    """The day (a normalised ``pandas.Timestamp``) an option such as ``--as-of`` gives, or a
    :class:`~core.common.errors.CJOError` naming the option and the fix."""
    import pandas as pd

    from core.common.errors import CJOError

    try:
        when = pd.Timestamp(text)
    except (ValueError, TypeError):
        when = pd.NaT
    if pd.isna(when):
        raise CJOError(f"{option} {text!r}: not a date. Fix: write YYYY-MM-DD.")
    return pd.Timestamp(when).normalize()
