"""Whom to contact first: what each segment is worth, segments and customers ranked.

:func:`insights` describes each segment (churn, CLTV, revenue at risk, journey opportunity, the
most recommended first offer), ranks segments and customers, and says in one sentence which
segment to contact first, with what offer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.insights.segments._base import NOISE, check_proba, column
from core.insights.segments.result import Segmentation


def _product_labels() -> dict[str, str]:
    from core.data.catalog import available_catalogs, load_catalog

    labels = {"offer": "Promotional offer"}
    for name in ("seed", "full"):
        labels.update({p.key: p.label for p in load_catalog(name).products})
    for name in sorted(set(available_catalogs()) - {"seed", "full"}):  # the example catalogs
        for p in load_catalog(name).products:
            labels.setdefault(p.key, p.label)
    return labels


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def insights(
    frame: pd.DataFrame,
    seg: Segmentation,
    *,
    churn_proba: Any = None,
    journey_value: Any = None,
    first_offer: Any = None,
    horizon_months: int = 12,
) -> dict[str, Any]:
    """What each segment is worth and whom to contact first, with what.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame that was segmented (same rows, same order).
    seg : Segmentation
    churn_proba : array-like, optional
        Predicted churn probability per customer. Revenue at risk is
        ``churn probability x Monthly Charge x horizon_months`` summed over the segment; without
        a prediction the observed ``Churn Value`` (0/1) stands in for the probability, so the
        figure is then the revenue of the customers who actually left, over the horizon.
    journey_value : array-like, optional
        Expected value of each customer's recommended journey (from the optimizer, any unit).
    first_offer : array-like of str, optional
        Recommended first product per customer (product key or label; empty/None = nothing).
    horizon_months : int
        Horizon of the revenue at risk (default 12).

    Returns
    -------
    dict
        ``segments`` DataFrame (segment_id, name, size, share, churn_rate, predicted_churn,
        avg_cltv, avg_satisfaction, avg_monthly_charge, revenue_at_risk, opportunity_total,
        opportunity_per_customer, top_first_offer); ``crosstab`` (segment x first offer counts,
        or None); ``segment_ranking`` (names, best first); ``customer_ranking`` DataFrame
        (Customer ID, segment, score, first_offer; best first); ``ranking_basis``;
        ``contact_first`` (the sentence) and ``notes``.

    Segments are ranked by expected journey opportunity per customer when ``journey_value`` is
    given (ties: total), else by revenue at risk per customer. Customers are ranked by their
    journey value, else by their own revenue at risk. Noise customers (dbscan) are ranked but
    never chosen as the segment to contact first.
    """
    n = len(frame)
    if n != seg.n_customers:
        raise CJOError(
            f"the frame has {n} rows but the segmentation {seg.n_customers}; pass the same frame."
        )
    if horizon_months <= 0:
        raise CJOError(f"horizon_months={horizon_months}: use a positive number of months.")
    notes: list[str] = []
    proba = check_proba(churn_proba, n)
    observed = column(frame, "Churn Value")
    given = column(frame, "Churn Probability")
    risk_p = proba if proba is not None else observed if observed is not None else given
    if proba is None and observed is not None:
        notes.append(
            "revenue at risk uses the observed churn (Churn Value) as the probability: no "
            "predicted churn was given."
        )
    elif proba is None and given is not None:
        notes.append("revenue at risk uses the Churn Probability the data gives.")
    elif risk_p is None:
        notes.append("revenue at risk unavailable: no churn prediction and no Churn Value.")
    monthly = column(frame, "Monthly Charge")
    if monthly is None:
        notes.append(
            "revenue at risk and the average monthly charge are unavailable: the data has no "
            "Monthly Charge column (never invented)."
        )
    at_risk = (
        risk_p * monthly * horizon_months if risk_p is not None and monthly is not None else None
    )
    value = None
    if journey_value is not None:
        value = np.asarray(journey_value, dtype=np.float64).reshape(-1)
        if value.shape != (n,) or not np.isfinite(value).all():
            raise CJOError(f"journey_value needs {n} finite numbers, one per customer.")
    offers = None
    if first_offer is not None:
        labels_map = _product_labels()
        raw = pd.Series(np.asarray(first_offer, dtype=object).reshape(-1))
        if len(raw) != n:
            raise CJOError(f"first_offer has {len(raw)} entries for {n} customers.")
        offers = raw.map(
            lambda v: "(none)" if v is None or v == "" or pd.isna(v) else labels_map.get(v, str(v))
        )
    cltv = column(frame, "CLTV")
    sat = column(frame, "Satisfaction Score")
    names = seg.label_names()
    rows = []
    for sid in seg.segment_ids:
        mask = seg.labels == sid
        size = int(mask.sum())
        row: dict[str, Any] = {
            "segment_id": sid,
            "name": seg.names[sid],
            "size": size,
            "share": size / n,
            "churn_rate": float(observed[mask].mean()) if observed is not None else np.nan,
            "predicted_churn": float(proba[mask].mean()) if proba is not None else np.nan,
            "avg_cltv": float(cltv[mask].mean()) if cltv is not None else np.nan,
            "avg_satisfaction": float(sat[mask].mean()) if sat is not None else np.nan,
            "avg_monthly_charge": float(monthly[mask].mean()) if monthly is not None else np.nan,
            "revenue_at_risk": float(at_risk[mask].sum()) if at_risk is not None else np.nan,
            "opportunity_total": float(value[mask].sum()) if value is not None else np.nan,
            "opportunity_per_customer": float(value[mask].mean()) if value is not None else np.nan,
            "top_first_offer": None,
        }
        if offers is not None:
            counts = offers[mask].value_counts()
            counts = counts.drop("(none)", errors="ignore")
            if len(counts):
                top = counts.max()
                row["top_first_offer"] = sorted(counts.index[counts == top])[0]
        rows.append(row)
    table = pd.DataFrame(rows)
    ranked = table[table["segment_id"] != NOISE].copy()
    if value is not None:
        basis = "expected journey opportunity per customer"
        ranked = ranked.sort_values(
            ["opportunity_per_customer", "opportunity_total", "segment_id"],
            ascending=[False, False, True],
        )
        score = value
    elif at_risk is not None:
        basis = "revenue at risk per customer (no journey values given)"
        ranked = ranked.assign(_r=ranked["revenue_at_risk"] / ranked["size"]).sort_values(
            ["_r", "segment_id"], ascending=[False, True]
        )
        score = at_risk
    else:
        basis = "size (no journey values and no churn information given)"
        ranked = ranked.sort_values(["size", "segment_id"], ascending=[False, True])
        score = np.zeros(n)
    customers = pd.DataFrame({"Customer ID": seg.customer_ids, "segment": names, "score": score})
    if offers is not None:
        customers["first_offer"] = offers.to_numpy()
    customers = customers.iloc[np.lexsort((np.arange(n), -score))].reset_index(drop=True)
    crosstab = None
    if offers is not None:
        crosstab = pd.crosstab(pd.Series(names, name="segment"), offers.rename("first_offer"))
        order = [seg.names[s] for s in seg.segment_ids if seg.names[s] in crosstab.index]
        crosstab = crosstab.loc[order]
    sentence = _contact_first(
        ranked.iloc[0] if len(ranked) else None, value, at_risk, horizon_months
    )
    return {
        "segments": table,
        "crosstab": crosstab,
        "segment_ranking": ranked["name"].tolist(),
        "customer_ranking": customers,
        "ranking_basis": basis,
        "contact_first": sentence,
        "horizon_months": horizon_months,
        "notes": notes,
    }


def _contact_first(
    top: pd.Series | None, value: np.ndarray | None, at_risk: np.ndarray | None, horizon: int
) -> str:
    if top is None:
        return "Contact first: no segment (every customer is noise); try another method."
    offer = top["top_first_offer"] or "(no first offer given: run the optimizer)"
    parts = [f"Contact first: {top['name']}, {int(top['size']):,} customers, offer {offer} first"]
    if value is not None:
        parts.append(
            f": expected journey value {_fmt(top['opportunity_per_customer'])} per customer "
            f"({_fmt(top['opportunity_total'])} in total)"
        )
    if at_risk is not None and pd.notna(top["revenue_at_risk"]):
        sep = "; " if value is not None else ": "
        parts.append(
            f"{sep}{_fmt(top['revenue_at_risk'])} of revenue at risk over {horizon} months"
        )
    return "".join(parts) + "."
