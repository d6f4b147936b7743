"""The next test planned from the last one: baselines from its control group, then power.

:func:`plan_next_test` reads the control group's rate (binary) or mean and standard deviation
(amount) of an outcome from a :class:`~core.campaigns.log.CampaignLog` and, for the minimum
detectable lift the manager enters, returns two plans (:mod:`~core.campaigns.power`):

``per_arm``
    a randomized test of the same arms: rows per arm and in control, the control share at its
    optimum ``sqrt(k) / (k + sqrt(k))``;
``targeting_vs_holdout``
    the learned targeting against a random holdout: the smallest holdout share that detects
    the lift with the customers available (None when they are too few).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from core.campaigns.lift import weighted_mean
from core.campaigns.log import CampaignLog
from core.campaigns.power import min_control_share, sample_size


def plan_next_test(
    log: CampaignLog,
    outcome: str,
    mde: float,
    *,
    n_customers: int,
    alpha: float = 0.05,
    power: float = 0.8,
    correction: str = "none",
) -> dict[str, Any]:
    """Sample sizes and control shares for the next test (see the module docstring).

    Returns
    -------
    dict
        ``outcome``, ``kind``, ``baseline``, ``sd`` (amounts), ``mde``, ``per_arm`` and
        ``targeting_vs_holdout`` (:class:`~core.campaigns.power.TestPlan` fields, or None).
    """
    y = log.y(outcome)
    c = log.arm == 0
    w = 1.0 / log.propensity[c]
    base, var, _ = weighted_mean(y[c], w)
    kind = log.kinds[outcome]
    sd = None
    if kind == "amount":
        sd = float(np.sqrt(var * c.sum())) if np.isfinite(var) else float(np.std(y[c]))
    per_arm = sample_size(
        base,
        mde,
        kind=kind,
        sd=sd,
        alpha=alpha,
        power=power,
        n_treatments=log.n_arms - 1,
        correction=correction,
    )
    vs_holdout = min_control_share(
        n_customers, base, mde, kind=kind, sd=sd, alpha=alpha, power=power
    )
    return {
        "outcome": outcome,
        "kind": kind,
        "baseline": base,
        "sd": sd,
        "mde": float(mde),
        "n_customers": int(n_customers),
        "per_arm": asdict(per_arm),
        "targeting_vs_holdout": None if vs_holdout is None else asdict(vs_holdout),
    }
