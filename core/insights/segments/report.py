"""Text reports of a segmentation: the Markdown table the CLI prints and the README shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def readme_table(ins: Mapping[str, Any]) -> str:
    """Markdown table of :func:`insights` ``segments`` plus the contact-first sentence."""
    t = ins["segments"]
    cols = [
        ("Segment", lambda r: str(r["name"])),
        ("Customers", lambda r: f"{int(r['size']):,}"),
        ("Share", lambda r: f"{r['share']:.1%}"),
        ("Churn rate", lambda r: "n/a" if pd.isna(r["churn_rate"]) else f"{r['churn_rate']:.1%}"),
        ("Avg CLTV", lambda r: "n/a" if pd.isna(r["avg_cltv"]) else f"{r['avg_cltv']:,.0f}"),
        (
            "Avg satisfaction",
            lambda r: "n/a" if pd.isna(r["avg_satisfaction"]) else f"{r['avg_satisfaction']:.2f}",
        ),
        (
            "Avg monthly",
            lambda r: (
                "n/a" if pd.isna(r["avg_monthly_charge"]) else f"{r['avg_monthly_charge']:,.2f}"
            ),
        ),
        (
            f"Revenue at risk ({ins['horizon_months']} mo)",
            lambda r: "n/a" if pd.isna(r["revenue_at_risk"]) else f"{r['revenue_at_risk']:,.0f}",
        ),
    ]
    if t["opportunity_total"].notna().any():
        cols.append(("Opportunity / customer", lambda r: f"{r['opportunity_per_customer']:,.2f}"))
        cols.append(("Top first offer", lambda r: str(r["top_first_offer"] or "-")))
    head = "| " + " | ".join(c for c, _ in cols) + " |"
    sep = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|"
    body = ["| " + " | ".join(f(r) for _, f in cols) + " |" for _, r in t.iterrows()]
    return "\n".join([head, sep, *body, "", str(ins["contact_first"])])
