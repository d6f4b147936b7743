"""One customer's recommendation, explained: the Customer page's figures.

:func:`customer_view` gathers, for one row of the data, the profile, the ``O(i -> j)`` matrix,
the recommended journey with the part of each step that comes from each key factor, the
weighted first-step parts of every possible next offer and (with trained key-factor models) the
predicted key factors now and once the journey's products are held. :func:`drivers` lists what
the key-factor models rely on most. Factors are named by their keys (``cltv``, ``churn``,
``satisfaction``); the dashboard puts its labels on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.catalog import Catalog
from core.data.schema import FACTORS
from core.journeys import JourneyProblem, JourneyResult, first_step_parts
from core.opportunity import NOT_CREDIBLE, Components
from core.pipeline import Settings, effective_components, offer_propensity

#: Profile columns shown as numbers, and as words.
PROFILE_NUMBERS = ("Tenure in Months", "Monthly Charge", "CLTV", "Satisfaction Score", "Age")
PROFILE_WORDS = ("Contract", "Internet Type", "Payment Method", "Offer")
#: Row label of the start node (the customer's current portfolio) in :attr:`CustomerView.matrix`.
START = "(current portfolio)"


def example_customers(problem: JourneyProblem, result: JourneyResult, k: int = 5) -> np.ndarray:
    """Ids of ``k`` customers worth a look: the longest journeys, then the best ones."""
    order = np.lexsort((-np.asarray(result.scores), -np.asarray(result.lengths)))
    return np.asarray(problem.ids)[order[:k]]


def customer_index(ids: Sequence[Any] | np.ndarray, customer_id: str) -> int | None:
    """Row of ``customer_id`` among ``ids`` (compared as text, trimmed), or None when absent."""
    hits = np.flatnonzero(np.asarray(ids).astype(str) == str(customer_id).strip())
    return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class CustomerView:
    """Everything the Customer page draws for one customer.

    Attributes
    ----------
    id
        The customer id.
    profile
        The customer's row of the canonical frame.
    numbers, words
        The :data:`PROFILE_NUMBERS` (None when absent) and the :data:`PROFILE_WORDS` present.
    held
        Labels of the catalog products the customer holds.
    matrix
        ``O(i -> j)`` (rows: :data:`START` and the products, columns: the next offer); NaN on
        the diagonal, in the columns of products the customer cannot be offered and where the
        step is credibly harmful (:data:`core.opportunity.NOT_CREDIBLE`: never offered).
    journey
        The customer's rows of the journeys table.
    journey_parts
        Long frame ``step`` ("1. label"), ``factor``, ``value``: each step's weighted parts.
    first_parts
        Long frame ``product``, ``factor``, ``value``: each eligible product's weighted change
        in each factor if offered next.
    factors
        ``factor``, ``now``, ``with the journey``: predicted key factors without and with the
        journey's products held; None without key-factor models.
    """

    id: Any
    profile: pd.Series
    numbers: dict[str, float | None]
    words: dict[str, str]
    held: list[str]
    matrix: pd.DataFrame
    journey: pd.DataFrame
    journey_parts: pd.DataFrame
    first_parts: pd.DataFrame
    factors: pd.DataFrame | None


def _numbers(profile: pd.Series) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in PROFILE_NUMBERS:
        value = profile.get(name)
        out[name] = None if value is None or pd.isna(value) else float(value)
    return out


def _matrix(problem: JourneyProblem, components: Components, idx: int, labels: list[str]) -> Any:
    values = np.asarray(problem.opportunity[idx], dtype=np.float64)
    values = np.where(values <= NOT_CREDIBLE, np.nan, values)  # credibly harmful: never offered
    matrix = pd.DataFrame(
        values,
        index=[START, *labels],
        columns=labels,
    )
    for j, lab in enumerate(labels):
        matrix.loc[lab, lab] = np.nan
        if not components.eligible[idx, j]:  # held or excluded: never offered
            matrix[lab] = np.nan
    return matrix


def _predicted(
    key_factors: Any, row: pd.DataFrame, held: np.ndarray, journey: np.ndarray
) -> pd.DataFrame:
    after_held = held.copy()
    for j in journey:
        if j >= 0:
            after_held[0, j] = True
    # both portfolios in one call per model (half the per-call overhead of two predictions)
    both = key_factors.predict_portfolios(row, [held, after_held])
    return pd.DataFrame(
        {
            "factor": list(both),
            "now": [float(both[f][0, 0]) for f in both],
            "with the journey": [float(both[f][1, 0]) for f in both],
        }
    )


def customer_view(
    idx: int,
    *,
    frame: pd.DataFrame,
    catalog: Catalog,
    components: Components,
    problem: JourneyProblem,
    result: JourneyResult,
    table: pd.DataFrame,
    settings: Settings,
    key_factors: Any = None,
    propensity: np.ndarray | None = None,
) -> CustomerView:
    """The :class:`CustomerView` of row ``idx``.

    Parameters
    ----------
    idx
        Row of the customer in ``frame`` (and in the problem, components and result).
    frame
        The canonical customer frame.
    catalog, components, problem, result, table, settings
        The scenario's catalog, components, journey problem, solver result, journeys table
        (:func:`core.pipeline.journeys_table`) and settings.
    key_factors
        Fitted :class:`core.models.KeyFactorModels` (None: no predicted factors).
    propensity
        Acceptance propensity ``[n, P]`` when the scenario uses it.
    """
    labels = list(catalog.labels)
    cid = problem.ids[idx]
    journey = table[table["customer_id"] == cid].reset_index(drop=True)
    long = journey.melt(["step", "product_label"], list(FACTORS), "factor")
    long["step"] = long["step"].astype(str) + ". " + long["product_label"]
    one = components.subset([idx])
    prop = None if propensity is None else propensity[[idx]]
    eff = effective_components(one, settings.levers, offer_propensity(one, catalog, settings, prop))
    weights = [settings.weights[f] for f in FACTORS]
    parts = first_step_parts(eff, problem.subset([idx]), weights)[0]  # [P, 3]
    first = pd.DataFrame(
        [
            {"product": lab, "factor": f, "value": float(parts[j, k])}
            for j, lab in enumerate(labels)
            for k, f in enumerate(FACTORS)
            if components.eligible[idx, j]
        ],
        columns=["product", "factor", "value"],
    )
    held = np.asarray(components.held[[idx]]).copy()
    factors = None
    if key_factors is not None:
        factors = _predicted(key_factors, frame.iloc[[idx]], held, np.asarray(result.journeys[idx]))
    profile = frame.iloc[idx]
    return CustomerView(
        id=cid,
        profile=profile,
        numbers=_numbers(profile),
        words={c: str(profile[c]) for c in PROFILE_WORDS if c in profile.index},
        held=[lab for j, lab in enumerate(labels) if components.held[idx, j]],
        matrix=_matrix(problem, components, idx, labels),
        journey=journey,
        journey_parts=long[["step", "factor", "value"]],
        first_parts=first,
        factors=factors,
    )


def drivers(metrics: Mapping[str, Any], top: int = 8) -> pd.DataFrame | None:
    """What each key-factor model relies on most (held-out permutation importance).

    Parameters
    ----------
    metrics
        The training metrics (:attr:`core.models.train.TrainedModels.metrics`).
    top
        Features kept per factor.

    Returns
    -------
    pandas.DataFrame or None
        Long frame ``factor``, ``feature``, ``importance``: the ``top`` features of each factor,
        largest first; None when the metrics hold no importance.
    """
    rows = []
    for factor, entries in (metrics.get("permutation_importance") or {}).items():
        for e in sorted(entries or [], key=lambda e: -e["importance"])[:top]:
            rows.append(
                {"factor": factor, "feature": e["feature"], "importance": float(e["importance"])}
            )
    return pd.DataFrame(rows) if rows else None
