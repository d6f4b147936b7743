"""How the customer base is doing and what the journeys add: the Overview page's figures.

:func:`overview_kpis` assembles the KPI cards of :func:`core.insights.kpis.compute_kpis` for a
scenario, with deltas against the best baseline strategy; :func:`opportunity_by` and
:func:`high_risk_share` give the figures under them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.insights.kpis import KPI, compute_kpis
from core.journeys import JourneyResult

#: Months the revenue-at-risk card can look ahead (the Overview's horizon choices).
HORIZONS = (3, 6, 12, 24, 36)
#: Shorter card labels of some KPIs on the Overview page.
SHORT_LABELS = {"total_opportunity": "Journey opportunity"}


def overview_kpis(
    frame: pd.DataFrame,
    result: JourneyResult,
    baseline: JourneyResult,
    baseline_name: str,
    *,
    churn_proba: np.ndarray | None = None,
    horizon_months: int = 12,
    offerable: np.ndarray | None = None,
) -> list[KPI]:
    """The Overview's KPI cards: the population, the journeys and their deltas.

    The total opportunity's delta is against ``baseline``'s total, and the share of customers
    with a next offer gets its delta against the baseline's share.

    Parameters
    ----------
    frame
        The canonical customer frame.
    result
        The scenario's journeys.
    baseline
        The best baseline strategy's journeys on the same problem.
    baseline_name
        Its name (quoted in the help texts).
    churn_proba
        Predicted churn probability per customer (else the observed label is used).
    horizon_months
        Horizon of the revenue-at-risk card.
    offerable
        bool ``[n]``: customers who could be offered something now. With it, a card counts the
        customers **left alone on purpose**: an offer was possible, none was likely to help.
    """
    cards = compute_kpis(
        frame,
        churn_proba=churn_proba,
        journey_scores=result.scores,
        baseline_scores=baseline.scores,
        journey_lengths=result.lengths,
        horizon_months=horizon_months,
        baseline_name=f"best baseline ({baseline_name})",
    )
    base_cards = {
        k.key: k
        for k in compute_kpis(
            frame,
            journey_lengths=baseline.lengths,
            horizon_months=horizon_months,
            churn_proba=churn_proba,
        )
    }
    out = []
    for k in cards:
        if k.key in SHORT_LABELS:
            k = replace(k, label=SHORT_LABELS[k.key])
        b = base_cards.get(k.key)
        if (
            k.key == "share_with_offer"
            and k.delta is None
            and b is not None
            and k.value is not None
            and b.value is not None
        ):
            k = replace(k, delta=k.value - b.value, help=k.help + f" Delta vs {baseline_name}.")
        out.append(k)
    if offerable is not None:
        out.append(left_alone_kpi(np.asarray(offerable, dtype=bool), result.lengths))
    return out


def left_alone_kpi(offerable: np.ndarray, lengths: np.ndarray) -> KPI:
    """Customers who could be offered something but get no offer: nothing is likely to help."""
    alone = offerable & (np.asarray(lengths) == 0)
    count = int(alone.sum())
    return KPI(
        key="left_alone",
        label="Left alone on purpose",
        value=float(count),
        unit="count",
        help="Customers who could be offered a product now but get no offer: no offer is "
        "credibly good for them (its expected effect, or its lower confidence bound with the "
        "do-no-harm setting, is not above zero). "
        f"{alone.mean():.1%} of customers."
        if alone.size
        else "No customers.",
    )


def opportunity_by(
    frame: pd.DataFrame, scores: np.ndarray, column: str = "Contract"
) -> pd.DataFrame | None:
    """Total journey opportunity per value of ``column`` (None when the data lacks it).

    Columns ``column`` and ``opportunity``, in the column's sorted order.
    """
    if column not in frame:
        return None
    seg = pd.DataFrame({column: frame[column].to_numpy(), "opportunity": np.asarray(scores)})
    return seg.groupby(column, as_index=False)["opportunity"].sum()


def high_risk_share(churn_proba: np.ndarray, threshold: float = 0.5) -> float:
    """Share of customers whose predicted churn probability is ``threshold`` or more."""
    proba = np.asarray(churn_proba, dtype=float)
    return float(np.mean(proba >= threshold)) if proba.size else 0.0


def histogram(values: np.ndarray, bins: int = 20, lo: float = 0.0, hi: float = 1.0) -> pd.DataFrame:
    """Customers per band of ``values``: ``bins`` equal bands from ``lo`` to ``hi``.

    Columns ``left``, ``right`` and ``customers`` (values outside ``[lo, hi]`` are left out),
    so a chart draws ``bins`` bars instead of shipping every customer's value.
    """
    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins, range=(lo, hi))
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "customers": counts.astype(int)})
