"""Executive KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.insights.kpis import compute_kpis, revenue_at_risk


def frame():
    return pd.DataFrame(
        {
            "Monthly Charge": [10.0, 20.0, 30.0],
            "Churn Value": [0, 1, 0],
            "CLTV": [1000.0, 2000.0, 3000.0],
        }
    )


def test_revenue_at_risk_formula():
    assert revenue_at_risk(np.array([0.5, 0.1]), np.array([100.0, 50.0]), 12) == pytest.approx(
        (0.5 * 100 + 0.1 * 50) * 12
    )
    with pytest.raises(ValueError):
        revenue_at_risk(np.array([0.5]), np.array([1.0]), 0)


def test_kpis_values_and_deltas():
    k = {
        x.key: x
        for x in compute_kpis(
            frame(),
            churn_proba=np.array([0.1, 0.8, 0.2]),
            journey_scores=np.array([1.0, 2.0, 0.0]),
            baseline_scores=np.array([0.5, 1.5, 0.0]),
            journey_lengths=np.array([2, 1, 0]),
            horizon_months=6,
        )
    }
    assert k["customers"].value == 3
    assert k["churn_rate"].value == pytest.approx(1 / 3)
    assert k["mrr"].value == 60
    assert k["revenue_at_risk"].value == pytest.approx((1 + 16 + 6) * 6)
    assert k["avg_cltv"].value == 2000
    assert k["avg_satisfaction"].value is None and k["avg_satisfaction"].formatted() == "n/a"
    assert k["total_opportunity"].value == 3 and k["total_opportunity"].delta == pytest.approx(1)
    assert k["share_with_offer"].value == pytest.approx(2 / 3)
    assert k["total_opportunity"].formatted_delta() == "+1.00"
