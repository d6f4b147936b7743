"""The journey problem: its types, the reference scoring, the solvers' kernels, comparisons.

Modules
-------
:mod:`~core.journeys.problem`
    :class:`JourneyProblem` (customers, products, rules, policy) and the journey arrays.
:mod:`~core.journeys.result`
    :class:`JourneyResult`, what every solver returns, built by :func:`make_result`.
:mod:`~core.journeys.scoring`
    The reference definitions: :func:`score`, :func:`step_components`, :func:`step_parts`,
    :func:`candidates`, :func:`is_feasible`.
:mod:`~core.journeys.kernels`
    Vectorized kernels the solvers share: :func:`prepare`, :func:`evaluate`, :func:`decode`,
    :func:`greedy_batch`.
:mod:`~core.journeys.compare`
    :func:`compare_to_exact`, :func:`compare_baselines`.
:mod:`~core.journeys.instances`
    Random problems for tests and benchmarks: :func:`structured_instance`,
    :func:`random_problem`.

The solvers themselves are in :mod:`core.solvers`.
"""

from core.journeys.compare import OPTIMAL_TOL, compare_baselines, compare_to_exact
from core.journeys.instances import catalog_structure, random_problem, structured_instance
from core.journeys.kernels import (
    Prepared,
    bitmasks,
    decode,
    evaluate,
    evaluate_cols,
    greedy_batch,
    prepare,
)
from core.journeys.problem import (
    AGGREGATIONS,
    MAX_PRODUCTS,
    JourneyProblem,
    journey_lengths,
    normalize_journeys,
)
from core.journeys.result import JourneyResult, make_result
from core.journeys.scoring import (
    candidates,
    credible_first,
    first_rows,
    first_step_parts,
    is_feasible,
    score,
    step_components,
    step_parts,
)

__all__ = [
    "AGGREGATIONS",
    "MAX_PRODUCTS",
    "OPTIMAL_TOL",
    "JourneyProblem",
    "JourneyResult",
    "Prepared",
    "bitmasks",
    "candidates",
    "catalog_structure",
    "compare_baselines",
    "compare_to_exact",
    "decode",
    "evaluate",
    "evaluate_cols",
    "credible_first",
    "first_rows",
    "first_step_parts",
    "greedy_batch",
    "is_feasible",
    "journey_lengths",
    "make_result",
    "normalize_journeys",
    "prepare",
    "random_problem",
    "score",
    "step_components",
    "step_parts",
    "structured_instance",
]
