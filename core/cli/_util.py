"""What every command shares: exit codes, the text progress bar, argument types, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from core.common.jsonutil import to_jsonable

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


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (NaN -> null), creating the folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(to_jsonable(obj), indent=2) + "\n", encoding="utf-8")


def print_json(obj: Any, **kw: Any) -> None:
    """Print ``obj`` as JSON on stdout (NaN -> null)."""
    print(json.dumps(to_jsonable(obj), **kw))
