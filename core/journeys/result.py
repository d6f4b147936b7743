"""What a solver returns: :class:`JourneyResult`, built by :func:`make_result`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.journeys.problem import JourneyProblem, journey_lengths, normalize_journeys
from core.journeys.scoring import step_components, sum_left_to_right


@dataclass(frozen=True, eq=False)
class JourneyResult:
    """Journeys found by one solver for every customer of a problem.

    Attributes
    ----------
    journeys
        int16 ``[n, max_length]``, product indices padded with -1.
    scores
        float64 ``[n]``, the score of each journey (:func:`core.journeys.scoring.score`).
    step_scores
        float64 ``[n, max_length]``, each step's discounted opportunity (0 after the end).
    solver
        Solver name.
    params
        The options the solver ran with (after defaults).
    nit
        Iterations (annealing iterations of the longest batch, DP layers, greedy steps...).
    nfev
        Journey evaluations (proposals scored, DP transitions, ...), summed over customers.
    trace
        Convergence trace, a dict of equal-length arrays (``iteration``, ``best_mean``,
        ``current_mean``, ``temperature``, ``acceptance_rate``, ``active``); empty when the solver
        has none.
    seed
        The integer seed the random streams derived from (None for deterministic solvers).
    seconds
        Timings in seconds, at least ``{"total": ...}``.
    message
        Human-readable termination message.
    """

    journeys: np.ndarray
    scores: np.ndarray
    step_scores: np.ndarray
    solver: str
    params: dict[str, Any]
    nit: int
    nfev: int
    trace: dict[str, np.ndarray]
    seed: int | None
    seconds: dict[str, float]
    message: str

    @property
    def lengths(self) -> np.ndarray:
        """Number of offers in each journey."""
        return journey_lengths(self.journeys)


def make_result(
    problem: JourneyProblem,
    journeys: np.ndarray,
    *,
    solver: str,
    params: Mapping[str, Any],
    nit: int,
    nfev: int,
    seconds: Mapping[str, float],
    message: str,
    trace: Mapping[str, np.ndarray] | None = None,
    seed: int | None = None,
) -> JourneyResult:
    """Build a :class:`JourneyResult`, recomputing scores from the journeys (one definition)."""
    j = normalize_journeys(problem, journeys)
    steps = step_components(problem, j)
    return JourneyResult(
        journeys=j,
        scores=sum_left_to_right(steps),
        step_scores=steps,
        solver=solver,
        params=dict(params),
        nit=int(nit),
        nfev=int(nfev),
        trace={k: np.asarray(v) for k, v in (trace or {}).items()},
        seed=seed,
        seconds=dict(seconds),
        message=message,
    )
