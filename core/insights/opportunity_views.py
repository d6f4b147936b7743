"""What each offer is worth across the population: the Opportunity page's figures.

From the weighted opportunity ``O[c, i, j]`` of a :class:`core.journeys.JourneyProblem` and the
eligibility of its :class:`core.opportunity.Components`:

* ``first``: per product, the percentiles and mean of its value as the *next* offer over the
  customers eligible for it (a box plot without shipping every point);
* ``matrix``: the mean ``O(i -> j)`` over the customers eligible for ``j`` (rows: the offer
  made just before);

Under the do-no-harm rule a credibly harmful step's opportunity is the sentinel
:data:`core.opportunity.NOT_CREDIBLE` (it is never offered): such steps are left out of the
percentiles and means, and ``first`` counts them per product (``not_credible``), so a chart never
draws the sentinel as a value.
* ``best``: for how many customers each product is the best single next offer, among the
  offers valid right now (eligible and every prerequisite held,
  :func:`core.opportunity.offerable_now`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.catalog import Catalog
from core.journeys import JourneyProblem, credible_first, first_rows
from core.opportunity import NOT_CREDIBLE, Components, offerable_now

#: Percentiles of :attr:`OpportunityViews.first` (whiskers, quartiles, median).
PERCENTILES = {"p5": 5, "q1": 25, "median": 50, "q3": 75, "p95": 95}


@dataclass(frozen=True)
class OpportunityViews:
    """The three views of :func:`opportunity_views`.

    Attributes
    ----------
    first
        One row per product with an eligible customer: ``product`` (label), ``key``,
        ``customers`` (eligible, the step credible), ``not_credible`` (eligible customers to
        whom it is credibly harmful, never offered), ``mean``, ``p5``, ``q1``, ``median``,
        ``q3``, ``p95`` (over the ``customers``; NaN when there are none).
    matrix
        ``[P, P]`` frame (index: offer ``i``, columns: next offer ``j``, both labels) of the mean
        ``O(i -> j)`` over customers eligible for ``j`` to whom the step is credible; NaN on the
        diagonal and where there are none.
    best
        ``product`` (label) and ``customers`` for whom it is the best valid next offer (only
        customers with a positive best offer count).
    """

    first: pd.DataFrame
    matrix: pd.DataFrame
    best: pd.DataFrame


def first_offer_stats(
    first: np.ndarray,
    eligible: np.ndarray,
    keys: list[str],
    labels: list[str],
    credible: np.ndarray | None = None,
) -> pd.DataFrame:
    """Percentiles and mean of each product's first-offer value over eligible customers (those
    to whom it is ``credible``, bool ``[n, P]``, when given; the others are counted)."""
    ok = eligible if credible is None else eligible & credible
    rows = []
    for j, (key, lab) in enumerate(zip(keys, labels, strict=True)):
        if not eligible[:, j].any():
            continue
        v = first[ok[:, j], j]
        row = {
            "product": lab,
            "key": key,
            "customers": int(v.size),
            "not_credible": int(eligible[:, j].sum() - v.size),
            "mean": float(v.mean()) if v.size else float("nan"),
        }
        q = np.percentile(v, list(PERCENTILES.values())) if v.size else [np.nan] * len(PERCENTILES)
        rows.append(row | {name: float(x) for name, x in zip(PERCENTILES, q, strict=True)})
    columns = ["product", "key", "customers", "not_credible", "mean", *PERCENTILES]
    return pd.DataFrame(rows, columns=columns)


def mean_transitions(opportunity: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """``[P, P]`` mean of ``O[c, 1 + i, j]`` over customers eligible for ``j`` to whom the step
    is credible (not :data:`~core.opportunity.NOT_CREDIBLE`); NaN diagonal and empty cells."""
    opp = np.asarray(opportunity, dtype=np.float64)[:, 1:, :]
    use = np.asarray(eligible, dtype=bool)[:, None, :] & (opp > NOT_CREDIBLE)
    total = np.where(use, opp, 0.0).sum(axis=0)
    count = use.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)  # NaN: nobody is eligible for j
    np.fill_diagonal(mean, np.nan)
    return mean


def best_next_offer(first: np.ndarray, offerable: np.ndarray) -> np.ndarray:
    """int ``[n]``: each customer's best valid next offer, -1 when none has a positive value."""
    score = np.where(offerable, first, -np.inf)
    best = np.argmax(score, axis=1) if score.shape[1] else np.zeros(len(score), dtype=np.int64)
    has = np.max(score, axis=1, initial=-np.inf) > 0
    return np.where(has, best, -1)


def opportunity_views(
    problem: JourneyProblem, components: Components, catalog: Catalog
) -> OpportunityViews:
    """The Opportunity page's :class:`OpportunityViews` of a problem.

    Parameters
    ----------
    problem
        The weighted journey problem (:func:`core.pipeline.problem_for`).
    components
        The components it was combined from (their ``eligible`` and ``held`` are used).
    catalog
        The catalog (labels, prerequisites and exclusions).
    """
    elig = np.asarray(components.eligible)
    labels, keys = list(catalog.labels), list(catalog.keys)
    first = first_rows(problem)
    stats = first_offer_stats(first, elig, keys, labels, credible_first(problem))
    matrix = pd.DataFrame(mean_transitions(problem.opportunity, elig), index=labels, columns=labels)
    best = best_next_offer(first, offerable_now(catalog, components.held))
    counts = np.bincount(best[best >= 0], minlength=len(labels))
    best_frame = pd.DataFrame({"product": labels, "customers": counts.astype(int)})
    return OpportunityViews(first=stats, matrix=matrix, best=best_frame)
