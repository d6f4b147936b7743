"""The JSON report a benchmark prints and, with ``--out FILE``, also writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.common.jsonutil import to_jsonable


def emit(report: Any, out: str | Path | None = None) -> None:
    """Print ``report`` as indented JSON and write the same text to ``out`` when given."""
    text = json.dumps(to_jsonable(report), indent=2)
    print(text)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
