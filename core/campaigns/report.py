"""The campaign report: :class:`~core.campaigns.analysis.CampaignAnalysis` as plain JSON data.

:func:`campaign_report` gives the structure ``python -m core campaign --report`` writes. The
keys a consumer may rely on:

``n``
    rows of the log;
``arms`` -> {label: {``n``, ``mean`` {outcome: value}, ``lift`` {outcome: {``estimate``,
    ``ci_low``, ``ci_high``, ``p_value``}}}}
    the lift against the control arm, difference in means on all rows (the control arm's own
    lift is 0 with a null p-value); ``adjusted_lift`` has the regression-adjusted lifts;
``policy`` -> {outcome: {``value``, ``ci_low``, ``ci_high``, ``method``, ``best_single_arm``,
    ``best_single_arm_value``, ``share_by_arm``}}
    the learned targeting evaluated on the held-out part (``method`` is the off-policy
    estimator), against the best single arm (chosen on the training part, valued on the
    held-out part); ``gain_over_best_single_arm`` the paired difference of the two with its
    interval; ``estimates`` has every estimator;
``qini`` -> {arm: {outcome: {``coefficient``, ``ci_low``, ``ci_high``}}}
    Qini coefficients of the uplift scores on the held-out part.

Further keys: ``control``, ``outcomes`` (kinds), ``holdout``, ``learner``, ``seed``,
``level``, ``notes`` and, when planned, ``plan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from core.campaigns.analysis import PRIMARY, CampaignAnalysis
from core.campaigns.lift import weighted_mean


def _lift_block(table: Any, arm: str, outcome: str) -> dict[str, float]:
    row = table[(table["arm"] == arm) & (table["outcome"] == outcome)].iloc[0]
    return {
        "estimate": float(row["estimate"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
        "p_value": float(row["p_value"]),
    }


def campaign_report(
    analysis: CampaignAnalysis, *, plan: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The report of an analysis as nested dicts of plain values (see the module docstring).

    ``plan`` (:func:`~core.campaigns.plan.plan_next_test`) is added under ``plan``.
    """
    log = analysis.log
    w = 1.0 / log.propensity
    zero = {"estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_value": None}
    arms: dict[str, Any] = {}
    for a, label in enumerate(log.arms):
        rows = log.arm == a
        block: dict[str, Any] = {
            "n": int(rows.sum()),
            "mean": {o: weighted_mean(log.y(o)[rows], w[rows])[0] for o in log.outcome_names},
        }
        if a == 0:
            block["lift"] = {o: dict(zero) for o in log.outcome_names}
            block["adjusted_lift"] = {o: dict(zero) for o in log.outcome_names}
            block["control"] = True
        else:
            block["lift"] = {o: _lift_block(analysis.lifts, label, o) for o in log.outcome_names}
            block["adjusted_lift"] = {
                o: _lift_block(analysis.adjusted, label, o) for o in log.outcome_names
            }
        arms[label] = block
    policy: dict[str, Any] = {}
    for o, pr in analysis.policies.items():
        learned_rows = pr.table[pr.table["policy"] == "learned"]
        policy[o] = {
            "value": pr.learned.value,
            "ci_low": pr.learned.ci_low,
            "ci_high": pr.learned.ci_high,
            "method": PRIMARY,
            "best_single_arm": pr.best_single_arm,
            "best_single_arm_value": pr.best_single_arm_value.value,
            "best_single_arm_ci_low": pr.best_single_arm_value.ci_low,
            "best_single_arm_ci_high": pr.best_single_arm_value.ci_high,
            "share_by_arm": pr.share_by_arm,
            "gain_over_best_single_arm": None
            if pr.gain is None
            else {"estimate": pr.gain.value, "ci_low": pr.gain.ci_low, "ci_high": pr.gain.ci_high},
            "minimize": pr.minimize,
            "personalisation_strength": pr.strength,
            "estimates": {
                r["estimator"]: {k: r[k] for k in ("value", "se", "ci_low", "ci_high")}
                for r in learned_rows.to_dict("records")
            },
            "everyone": {
                r["policy"].removeprefix("everyone: "): {
                    k: r[k] for k in ("value", "ci_low", "ci_high")
                }
                for r in pr.table[pr.table["estimator"] == PRIMARY].to_dict("records")
                if r["policy"] != "learned"
            },
        }
    qini: dict[str, Any] = {}
    for (arm, o), q in analysis.qini.items():
        qini.setdefault(arm, {})[o] = {
            "coefficient": q.coefficient,
            "ci_low": q.ci_low,
            "ci_high": q.ci_high,
        }
    report: dict[str, Any] = {
        "n": log.n,
        "arms": arms,
        "policy": policy,
        "qini": qini,
        "control": log.control,
        "outcomes": dict(log.kinds),
        "holdout": {
            "share": float(np.mean(analysis.holdout)),
            "n_train": int((~analysis.holdout).sum()),
            "n_holdout": int(analysis.holdout.sum()),
        },
        "learner": analysis.learner,
        "seed": analysis.seed,
        "level": analysis.level,
        "notes": list(analysis.notes),
    }
    if plan is not None:
        report["plan"] = dict(plan)
    return report
