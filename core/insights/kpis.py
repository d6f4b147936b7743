"""Executive KPIs of a population and a journey strategy, with deltas against a baseline.

Every KPI is a :class:`KPI` (value, delta against the baseline strategy, unit and help text) so the
Overview page can draw cards without arithmetic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.errors import OptionError


@dataclass(frozen=True)
class KPI:
    """One key figure for a KPI card."""

    key: str
    label: str
    value: float | None
    delta: float | None = None
    unit: str = ""
    help: str = ""

    def formatted(self) -> str:
        """The value as a card shows it ("n/a" when unavailable)."""
        return _fmt(self.value, self.unit)

    def formatted_delta(self) -> str | None:
        if self.delta is None:
            return None
        return ("+" if self.delta >= 0 else "-") + _fmt(abs(self.delta), self.unit)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "$":
        return f"${value:,.0f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def revenue_at_risk(
    churn_proba: np.ndarray, monthly_charge: np.ndarray, horizon_months: int
) -> float:
    """Expected revenue lost over the horizon: sum of churn probability x monthly charge x months."""
    if horizon_months < 1:
        raise OptionError("horizon_months must be >= 1")
    return float(np.sum(np.asarray(churn_proba) * np.asarray(monthly_charge)) * horizon_months)


def compute_kpis(
    frame: pd.DataFrame,
    *,
    churn_proba: np.ndarray | None = None,
    journey_scores: np.ndarray | None = None,
    baseline_scores: np.ndarray | None = None,
    journey_lengths: np.ndarray | None = None,
    horizon_months: int = 12,
    baseline_name: str = "best greedy baseline",
) -> list[KPI]:
    """KPIs of a population (canonical frame) and, when given, of its optimized journeys.

    Parameters
    ----------
    frame
        The canonical customer frame.
    churn_proba
        Predicted churn probability per customer (model output); without it, revenue at risk uses
        the observed churn label when present.
    journey_scores, baseline_scores
        Total opportunity of each customer's optimized journey and of the baseline strategy's.
    journey_lengths
        Number of offers in each optimized journey (0 = no recommended next offer).
    horizon_months
        Horizon of the revenue-at-risk figure.
    """
    n = len(frame)
    out = [KPI("customers", "Customers", float(n), unit="count", help="Customers in the data.")]
    churn = frame["Churn Value"].mean() if "Churn Value" in frame else None
    out.append(
        KPI(
            "churn_rate",
            "Churn rate",
            None if churn is None else float(churn),
            unit="%",
            help="Share of customers who left this quarter (observed).",
        )
    )
    charges = "Monthly Charge" in frame
    mrr = float(frame["Monthly Charge"].sum()) if charges else None
    out.append(
        KPI(
            "mrr",
            "Monthly recurring revenue",
            mrr,
            unit="$",
            help="Sum of current monthly charges."
            if charges
            else "Not in this data (no Monthly Charge column).",
        )
    )
    risk_source = churn_proba
    if risk_source is None and "Churn Value" in frame:
        risk_source = frame["Churn Value"].to_numpy(dtype=float)
    risk = (
        None
        if risk_source is None or not charges
        else revenue_at_risk(risk_source, frame["Monthly Charge"].to_numpy(), horizon_months)
    )
    out.append(
        KPI(
            "revenue_at_risk",
            f"Revenue at risk ({horizon_months} mo)",
            risk,
            unit="$",
            help="Churn probability x monthly charge x horizon, summed over customers."
            if charges
            else "Not in this data (no Monthly Charge column).",
        )
    )
    for key, col, label in (
        ("avg_cltv", "CLTV", "Average CLTV"),
        ("avg_satisfaction", "Satisfaction Score", "Average satisfaction"),
    ):
        value = float(frame[col].mean()) if col in frame else None
        out.append(
            KPI(
                key,
                label,
                value,
                unit="" if key == "avg_satisfaction" else "$",
                help="Not in this data." if value is None else f"Mean of {col}.",
            )
        )
    if journey_scores is not None:
        total = float(np.sum(journey_scores))
        delta = None if baseline_scores is None else total - float(np.sum(baseline_scores))
        out.append(
            KPI(
                "total_opportunity",
                "Total opportunity (optimized)",
                total,
                delta,
                help=f"Sum of journey opportunity; delta vs the {baseline_name}.",
            )
        )
    if journey_lengths is not None:
        share = float(np.mean(np.asarray(journey_lengths) > 0)) if n else 0.0
        out.append(
            KPI(
                "share_with_offer",
                "Customers with a next offer",
                share,
                unit="%",
                help="Share of customers whose optimized journey has at least one offer.",
            )
        )
    return out
