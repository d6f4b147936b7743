"""How one solver's journeys compare with the exact optimum and with baselines."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.common.errors import OptionError
from core.journeys.result import JourneyResult

OPTIMAL_TOL = 1e-6


def compare_to_exact(result: JourneyResult, exact_result: JourneyResult) -> dict[str, float]:
    """How far ``result`` is from the exact optimum.

    Returns
    -------
    dict
        ``share_optimal``: share of customers with ``exact - score <= 1e-6`` (absolute);
        ``mean_gap`` / ``max_gap``: absolute gap ``exact - score`` (>= 0 up to rounding);
        ``mean_rel_gap`` / ``max_rel_gap``: gap divided by ``max(|exact|, 1e-9)``;
        ``n``: number of customers.
    """
    if result.scores.shape != exact_result.scores.shape:
        raise OptionError("results cover different numbers of customers")
    gap = exact_result.scores - result.scores
    rel = gap / np.maximum(np.abs(exact_result.scores), 1e-9)
    n = gap.size
    return {
        "n": n,
        "share_optimal": float(np.mean(gap <= OPTIMAL_TOL)) if n else 1.0,
        "mean_gap": float(gap.mean()) if n else 0.0,
        "max_gap": float(gap.max()) if n else 0.0,
        "mean_rel_gap": float(rel.mean()) if n else 0.0,
        "max_rel_gap": float(rel.max()) if n else 0.0,
    }


def compare_baselines(
    result: JourneyResult, baseline_results: Mapping[str, JourneyResult]
) -> dict[str, dict[str, float]]:
    """Share of customers where ``result`` is at least as good as each baseline, and uplift.

    ``share_better_or_equal`` counts ``score >= baseline - 1e-6``; ``share_better`` counts
    ``score > baseline + 1e-6``; ``mean_uplift`` is the mean of ``score - baseline``.
    """
    out: dict[str, dict[str, float]] = {}
    for name, base in baseline_results.items():
        if base.scores.shape != result.scores.shape:
            raise OptionError(f"baseline {name!r} covers a different number of customers")
        diff = result.scores - base.scores
        n = diff.size
        out[name] = {
            "share_better_or_equal": float(np.mean(diff >= -OPTIMAL_TOL)) if n else 1.0,
            "share_better": float(np.mean(diff > OPTIMAL_TOL)) if n else 0.0,
            "mean_uplift": float(diff.mean()) if n else 0.0,
        }
    return out
