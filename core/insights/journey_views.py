"""Journeys as the pages show them: steps per customer, flows between steps, summaries.

Plain functions over :class:`core.journeys.JourneyProblem`, :class:`core.journeys.JourneyResult`
and the journeys table of :func:`core.pipeline.journeys_table`; the dashboard caches and draws
what they return.

Functions
---------
:func:`journey_steps`       one row per customer: score, length and the label of each step
:func:`first_offer_labels`  the first offer of each customer (None without an offer)
:func:`journey_flows`       customers moving from the offer of step t to that of step t + 1
:func:`first_offer_counts`  customers per recommended first offer (journeys table)
:func:`journey_summary`     total opportunity, share with an offer, offers per journey, delta
:func:`segment_journeys`    the journeys-table rows of one segment's customers
:func:`baseline_table`      the report's comparison with the study's strategies, one row each
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.journeys import JourneyProblem, JourneyResult

#: The label of "no further offer" in :func:`journey_steps`.
NO_OFFER = "No offer"


def journey_steps(
    problem: JourneyProblem, result: JourneyResult, labels: Sequence[str], steps: int = 3
) -> pd.DataFrame:
    """One row per customer: ``customer_id``, ``score``, ``length``, ``step 1..steps``.

    Parameters
    ----------
    problem, result
        The journey problem and a solver's result on it.
    labels
        Product labels in catalog order.
    steps
        Number of step columns (at most the journeys' width).

    Returns
    -------
    pandas.DataFrame
        ``step t`` holds the label of the ``t``-th offer, or :data:`NO_OFFER` after the end.
    """
    names = np.array([*labels, NO_OFFER], dtype=object)
    j = np.asarray(result.journeys)
    frame = pd.DataFrame(
        {"customer_id": problem.ids, "score": result.scores, "length": result.lengths}
    )
    for t in range(min(steps, j.shape[1])):
        frame[f"step {t + 1}"] = names[np.where(j[:, t] >= 0, j[:, t], len(labels))]
    return frame


def first_offer_labels(result: JourneyResult, labels: Sequence[str]) -> np.ndarray:
    """object ``[n]``: the label of each customer's first offer, None without an offer."""
    j = np.asarray(result.journeys)
    out = np.full(j.shape[0], None, dtype=object)
    if j.shape[1]:
        live = j[:, 0] >= 0
        out[live] = np.asarray(labels, dtype=object)[j[live, 0]]
    return out


def journey_flows(
    problem: JourneyProblem, result: JourneyResult, labels: Sequence[str], steps: int = 3
) -> pd.DataFrame:
    """Customers who go from the offer of step ``t`` to an offer at step ``t + 1``.

    Returns
    -------
    pandas.DataFrame
        ``step`` (1-based step of the source), ``source``, ``target`` (labels), ``customers``;
        customers who stop after step ``t`` have no row for it (they end at their last offer).
    """
    j = np.asarray(result.journeys)
    # counted on label codes (sorted labels: the rows come out sorted by source, then target)
    names, code = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    k = len(names)
    parts: list[dict[str, object]] = []
    for t in range(min(steps, j.shape[1]) - 1):
        live = (j[:, t] >= 0) & (j[:, t + 1] >= 0)
        pairs = np.bincount(code[j[live, t]] * k + code[j[live, t + 1]], minlength=k * k)
        parts.extend(
            {"step": t + 1, "source": str(names[i // k]), "target": str(names[i % k]),
             "customers": int(pairs[i])}
            for i in np.flatnonzero(pairs)
        )  # fmt: skip
    return pd.DataFrame(parts, columns=["step", "source", "target", "customers"])


def first_offer_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Customers per recommended first offer, most frequent first (``offer``, ``customers``)."""
    first = table[table["step"] == 1]["product_label"].value_counts()
    return pd.DataFrame({"offer": first.index, "customers": first.to_numpy()})


@dataclass(frozen=True)
class JourneySummary:
    """Headline figures of a set of journeys, optionally against a baseline strategy.

    Attributes
    ----------
    n_customers
        Customers in the problem.
    total_opportunity
        Sum of the journeys' scores.
    share_with_offer
        Share of customers whose journey has at least one offer.
    mean_length
        Mean number of offers per journey.
    baseline_total
        Total opportunity of the baseline's journeys (None without a baseline).
    delta
        ``total_opportunity - baseline_total`` (None without a baseline).
    """

    n_customers: int
    total_opportunity: float
    share_with_offer: float
    mean_length: float
    baseline_total: float | None = None
    delta: float | None = None


def journey_summary(result: JourneyResult, baseline: JourneyResult | None = None) -> JourneySummary:
    """The :class:`JourneySummary` of ``result`` (and its delta against ``baseline``)."""
    scores, lengths = np.asarray(result.scores), np.asarray(result.lengths)
    total = float(scores.sum())
    base = None if baseline is None else float(np.asarray(baseline.scores).sum())
    return JourneySummary(
        n_customers=int(scores.size),
        total_opportunity=total,
        share_with_offer=float(np.mean(lengths > 0)) if scores.size else 0.0,
        mean_length=float(lengths.mean()) if scores.size else 0.0,
        baseline_total=base,
        delta=None if base is None else total - base,
    )


def segment_journeys(table: pd.DataFrame, segmentation: Any, segment: str | None) -> pd.DataFrame:
    """The rows of ``table`` whose customers are in the segment named ``segment``.

    Parameters
    ----------
    table
        A journeys table (:func:`core.pipeline.journeys_table`).
    segmentation
        A :class:`core.insights.segments.Segmentation` of the same customers.
    segment
        A segment name (:meth:`~core.insights.segments.Segmentation.label_names`); None keeps
        every row.
    """
    if segment is None:
        return table
    names = np.asarray(segmentation.label_names())
    ids = set(np.asarray(segmentation.customer_ids)[names == segment].astype(str))
    return table[table["customer_id"].astype(str).isin(ids)].reset_index(drop=True)


#: Column names of :func:`baseline_table` for the report's keys.
BASELINE_COLUMNS = {
    "share_better_or_equal": "annealing ≥ baseline",
    "share_better": "annealing better",
    "mean_uplift": "mean uplift",
}


def baseline_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """One row per baseline of :func:`core.pipeline.report`'s ``baselines``.

    Columns ``baseline`` and the report's figures, renamed by :data:`BASELINE_COLUMNS`.
    """
    base = pd.DataFrame(report.get("baselines") or {}).T.reset_index(names="baseline")
    return base.rename(columns=BASELINE_COLUMNS)
