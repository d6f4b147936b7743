"""What the Campaigns page shows of a campaign's analysis: lifts, policies, Qini, next test.

Pure functions over a :class:`core.campaigns.CampaignAnalysis` (:func:`core.campaigns.analyze`)
that shape its figures for a table or a chart, and the next campaign's assignment file. Nothing
here fits a model; the analysis did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.campaigns import CampaignAnalysis, targeted
from core.common.errors import OptionError

#: Columns of :func:`lift_view`.
LIFT_COLUMNS = ("arm", "n", "mean", "mean_control", "estimate", "ci_low", "ci_high", "p_value")
#: Kinds of policy in :func:`policy_view`.
POLICY_KINDS = ("learned targeting", "best single arm", "single arm", "control")


def _outcome(analysis: CampaignAnalysis, outcome: str) -> str:
    if outcome not in analysis.log.outcomes:
        raise OptionError(f"unknown outcome {outcome!r}; the log has {list(analysis.log.outcomes)}")
    return outcome


def lift_view(analysis: CampaignAnalysis, outcome: str, method: str = "difference") -> pd.DataFrame:
    """Every treatment arm's lift against control on one outcome, best first.

    Parameters
    ----------
    analysis
        The campaign's analysis.
    outcome
        One of the log's outcomes.
    method
        ``"difference"`` (difference in means, all rows: the headline) or ``"adjusted"``
        (regression-adjusted, Lin 2013).

    Returns
    -------
    pandas.DataFrame
        :data:`LIFT_COLUMNS` plus ``significant`` (the interval excludes 0), sorted by the
        estimate (lowest first when the outcome is one to minimise).
    """
    _outcome(analysis, outcome)
    if method not in ("difference", "adjusted"):
        raise OptionError(f"method {method!r}: choose 'difference' or 'adjusted'")
    table = analysis.lifts if method == "difference" else analysis.adjusted
    rows = table[table["outcome"] == outcome]
    out = rows[list(LIFT_COLUMNS)].reset_index(drop=True)
    out["significant"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    low_first = analysis.policies[outcome].minimize if outcome in analysis.policies else False
    return out.sort_values("estimate", ascending=low_first, kind="stable").reset_index(drop=True)


def policy_view(analysis: CampaignAnalysis, outcome: str) -> pd.DataFrame:
    """The learned targeting against everyone-one-arm and control, on the held-out part.

    Returns
    -------
    pandas.DataFrame
        One row per policy: ``policy`` (``learned targeting``, ``everyone: <arm>``), ``kind``
        (:data:`POLICY_KINDS`), ``value``, ``ci_low``, ``ci_high`` (the report's leading
        off-policy estimator, doubly robust), in that order: learned, best single arm, the other
        arms, control.
    """
    report = analysis.policies[_outcome(analysis, outcome)]
    table = report.table[report.table["estimator"] == report.learned.estimator]
    control = analysis.log.control
    rows = []
    for _, r in table.iterrows():
        name = str(r["policy"])
        arm = name.removeprefix("everyone: ")
        if name == "learned":
            kind, label = POLICY_KINDS[0], "learned targeting"
        elif arm == control:
            kind, label = POLICY_KINDS[3], f"everyone: {arm} (no contact)"
        elif arm == report.best_single_arm:
            kind, label = POLICY_KINDS[1], name
        else:
            kind, label = POLICY_KINDS[2], name
        rows.append(
            {
                "policy": label,
                "kind": kind,
                "value": float(r["value"]),
                "ci_low": float(r["ci_low"]),
                "ci_high": float(r["ci_high"]),
            }
        )
    out = pd.DataFrame(rows, columns=["policy", "kind", "value", "ci_low", "ci_high"])
    order = {k: i for i, k in enumerate(POLICY_KINDS)}
    out["_order"] = out["kind"].map(order)
    return out.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def policy_summary(analysis: CampaignAnalysis, outcome: str) -> dict[str, Any]:
    """The headline figures of the learned targeting on one outcome.

    Returns
    -------
    dict
        ``value``, ``ci_low``, ``ci_high`` (learned targeting), ``best_arm``,
        ``best_arm_value``, ``gain`` / ``gain_low`` / ``gain_high`` (learned minus best single
        arm, paired interval), ``credible`` (the gain's interval excludes 0 on the good side),
        ``strength`` (personalisation strength, 0: the best arm for everyone), ``shares``
        ({arm: share of customers}), ``minimize``, ``n_holdout``.
    """
    r = analysis.policies[_outcome(analysis, outcome)]
    gain = r.gain
    g, lo, hi = (gain.value, gain.ci_low, gain.ci_high) if gain is not None else (0.0, 0.0, 0.0)
    credible = (hi < 0) if r.minimize else (lo > 0)
    return {
        "value": r.learned.value,
        "ci_low": r.learned.ci_low,
        "ci_high": r.learned.ci_high,
        "best_arm": r.best_single_arm,
        "best_arm_value": r.best_single_arm_value.value,
        "gain": g,
        "gain_low": lo,
        "gain_high": hi,
        "credible": bool(credible),
        "strength": float(r.strength),
        "shares": {k: float(v) for k, v in r.share_by_arm.items() if v > 0},
        "minimize": bool(r.minimize),
        "n_holdout": int(analysis.holdout.sum()),
    }


def qini_view(analysis: CampaignAnalysis, outcome: str) -> pd.DataFrame:
    """Qini coefficient of every treatment arm on one outcome, with its bootstrap interval.

    Returns
    -------
    pandas.DataFrame
        ``arm``, ``coefficient``, ``ci_low``, ``ci_high``, ``n_treated``, ``n_control``, best
        first (0 = the uplift model ranks customers no better than chance).
    """
    _outcome(analysis, outcome)
    rows = [
        {
            "arm": arm,
            "coefficient": q.coefficient,
            "ci_low": q.ci_low,
            "ci_high": q.ci_high,
            "n_treated": q.n_treated,
            "n_control": q.n_control,
        }
        for (arm, o), q in analysis.qini.items()
        if o == outcome
    ]
    out = pd.DataFrame(
        rows, columns=["arm", "coefficient", "ci_low", "ci_high", "n_treated", "n_control"]
    )
    return out.sort_values("coefficient", ascending=False, kind="stable").reset_index(drop=True)


def qini_curve(analysis: CampaignAnalysis, arm: str, outcome: str) -> pd.DataFrame:
    """The Qini curve of one arm and outcome: ``fraction``, ``qini``, ``random``, band."""
    key = (arm, _outcome(analysis, outcome))
    if key not in analysis.qini:
        arms = sorted({a for a, _ in analysis.qini})
        raise OptionError(f"no Qini curve for arm {arm!r}; the treatment arms are {arms}")
    return analysis.qini[key].curve


def _targeted_customers(
    analysis: CampaignAnalysis, customers: pd.DataFrame | None
) -> tuple[np.ndarray, pd.DataFrame, str]:
    """(ids, their feature rows, source) of the customers the next campaign reaches."""
    log, enc = analysis.log, analysis.encoder
    if customers is not None:
        key = log.id_column if log.id_column in customers.columns else "Customer ID"
        if key in customers.columns and set(enc.columns_) <= set(customers.columns):
            return customers[key].to_numpy(dtype=object), customers, "customer table"
    first = ~pd.Series(log.ids).duplicated().to_numpy()
    ids = np.asarray(log.ids, dtype=object)[first]
    return ids, log.features.iloc[np.flatnonzero(first)], "campaign log"


def recommended_arms(
    analysis: CampaignAnalysis, outcome: str, customers: pd.DataFrame | None = None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Every customer's arm under the learned targeting of ``outcome``.

    Parameters
    ----------
    analysis
        The campaign's analysis (its targeting models).
    outcome
        The outcome the targeting optimises.
    customers
        A customer table with the log's features and id column (e.g. the whole population);
        default, or when it lacks them: the log's own customers.

    Returns
    -------
    (ids, arms, source)
        Customer ids, their recommended arm labels, and ``"customer table"`` or
        ``"campaign log"``.
    """
    model = analysis.models[_outcome(analysis, outcome)]
    arms = np.asarray(analysis.log.arms, dtype=object)
    ids, rows, source = _targeted_customers(analysis, customers)
    return ids, arms[model.actions(analysis.encoder.transform(rows))], source


def assignment_count(analysis: CampaignAnalysis, customers: pd.DataFrame | None = None) -> int:
    """Rows of :func:`next_assignments` for these ``customers`` (one per customer reached),
    without predicting anyone's arm."""
    return len(_targeted_customers(analysis, customers)[0])


def next_assignments(
    analysis: CampaignAnalysis,
    outcome: str,
    control_share: float,
    *,
    customers: pd.DataFrame | None = None,
    seed: Any = 0,
) -> pd.DataFrame:
    """The next campaign's assignment file: the learned targeting with a seeded holdout.

    Returns
    -------
    pandas.DataFrame
        :func:`core.campaigns.targeted`'s columns: ``customer_id``, ``arm``, ``probability``,
        ``holdout``, ``recommended``.
    """
    ids, arms, _ = recommended_arms(analysis, outcome, customers)
    return targeted(ids, arms, control_share=control_share, control=analysis.log.control, seed=seed)


def plan_sentence(plan: dict[str, Any]) -> str:
    """The next-test plan (:func:`core.campaigns.plan_next_test`) in one or two sentences."""
    per_arm = plan["per_arm"]
    unit = "" if plan["kind"] == "binary" else " (in the outcome's units)"
    text = (
        f"To detect a lift of {plan['mde']:g}{unit} on {plan['outcome']} (baseline "
        f"{plan['baseline']:.4g} in control) at {per_arm['alpha']:.0%} significance with "
        f"{per_arm['power']:.0%} power, each of the "
        f"{per_arm['n_treatments']} offer arms needs {per_arm['n_per_arm']:,} customers and the "
        f"control group {per_arm['n_control']:,} ({per_arm['control_share']:.1%} of "
        f"{per_arm['n_total']:,})."
    )
    vs = plan.get("targeting_vs_holdout")
    if vs is None:
        text += (
            f" Testing the targeting against a holdout would need more than the "
            f"{plan['n_customers']:,} customers available."
        )
    else:
        text += (
            f" Testing the learned targeting against a holdout of all {plan['n_customers']:,} "
            f"customers needs a holdout of {vs['control_share']:.1%} ({vs['n_control']:,})."
        )
    return text
