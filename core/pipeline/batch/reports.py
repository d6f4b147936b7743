"""The chunks' reports merged into one (:func:`aggregate`).

Share and mean figures are customer-weighted, ``max_`` figures the maximum, seconds and the
total opportunity summed; the baselines' figures merge the same way, baseline by baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.pipeline.batch.chunks import ChunkResult

_WEIGHTED = ("share_", "mean_")


def _merge(items: Sequence[tuple[int, Mapping[str, Any]]]) -> dict[str, Any]:
    """Merge flat numeric dicts: share_/mean_ customer-weighted, max_ max, seconds summed."""
    total = sum(n for n, _ in items)
    out: dict[str, Any] = {}
    keys = [k for _, d in items for k in d]
    for key in dict.fromkeys(keys):
        vals = [(n, d[key]) for n, d in items if key in d]
        if key.startswith(_WEIGHTED):
            out[key] = float(sum(n * v for n, v in vals) / total) if total else 0.0
        elif key.startswith("max_"):
            out[key] = float(max(v for _, v in vals))
        elif key.startswith("seconds") or key in ("total_opportunity", "n"):
            out[key] = type(vals[0][1])(sum(v for _, v in vals))
        else:
            out[key] = vals[0][1]
    return out


def aggregate(results: Sequence[ChunkResult]) -> dict[str, Any]:
    """One report from the chunks' reports (see the module docstring)."""
    if not results:
        return {}
    items = [(r.n_customers, r.report) for r in results]
    flat = [(n, {k: v for k, v in d.items() if not isinstance(v, dict)}) for n, d in items]
    out = _merge(flat)
    out["n_customers"] = int(sum(r.n_customers for r in results))
    out["iterations"] = int(max(int(d.get("iterations", 0)) for _, d in items))
    messages = sorted({str(d.get("message")) for _, d in items})
    out["message"] = messages[0] if len(messages) == 1 else "; ".join(messages)
    out["settings"] = items[0][1].get("settings")
    names = dict.fromkeys(k for _, d in items for k in d.get("baselines", {}))
    out["baselines"] = {
        b: _merge([(n, d["baselines"][b]) for n, d in items if b in d.get("baselines", {})])
        for b in names
    }
    return out


#: What a value of each kind must be, for :func:`unfit_notes`.
_KIND_WORDS = {"numeric": "a number", "boolean": "a yes/no spelling"}


def unfit_notes(results: Sequence[ChunkResult], kinds: Mapping[str, str]) -> list[str]:
    """One note per extra column whose values did not all fit the reference's kind, with the
    count over every chunk (they were read as missing, so the user should know)."""
    totals: dict[str, int] = {}
    for r in results:
        for col, n in r.unfit.items():
            totals[col] = totals.get(col, 0) + int(n)
    notes = []
    for col, n in totals.items():
        kind = kinds.get(col, "")
        notes.append(
            f"'{col}': {n:,} value(s) in the chunks that are not {_KIND_WORDS.get(kind, kind)} "
            f"were read as missing (the reference sample judged the column {kind}). Fix: clean "
            "those cells, or raise --train-rows so that the sample sees them."
        )
    return notes
