"""Decision quality against the synthetic truth: the value and the harm of recommended journeys.

For a synthetic population (whose truth knows every customer's outcomes under any portfolio),
each estimator's components go through the same path as the product's recommendations
(:func:`core.pipeline.problem_for` -> :func:`core.pipeline.optimize`), and the journeys are
judged by their **true value** (:mod:`core.opportunity.truevalue`):

``captured``
    sum of the true values of the recommended journeys / sum of the truth-optimal values.
``share_harmful``
    share of customers whose recommended journey has a true value below zero.
``share_at_true_optimum``
    share of customers whose recommended journey is worth as much as the truth-optimal one.

:func:`decision_check` reports them per catalog, per weight setting and per policy (an
estimator and the scenario settings it runs with) as ``decision[catalog][weights][policy]``,
beside two references: ``no_action`` (nobody is offered anything: 0 captured, 0 harmed) and
``ceiling`` (a learner trained on the true effects themselves from the observable columns,
cross-fitted: what the data can tell at best; see
:func:`core.opportunity.groundtruth.ceiling_components`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress
from core.data.catalog import Catalog, load_catalog
from core.opportunity import Components, build_components
from core.opportunity.truevalue import (
    PortfolioTable,
    decision_metrics,
    journey_true_values,
    portfolio_table,
    truth_optimal,
)
from core.pipeline import Settings, optimize, problem_for

#: The weight settings of the report: name -> (cltv, churn, satisfaction).
WEIGHTS: dict[str, tuple[float, float, float]] = {
    "cltv_only": (1.0, 0.0, 0.0),
    "churn_only": (0.0, 1.0, 0.0),
    "satisfaction_only": (0.0, 0.0, 1.0),
    "1/1/1": (1.0, 1.0, 1.0),
}
#: References reported beside the policies.
NO_ACTION = "no_action"
CEILING = "ceiling"


@dataclass(frozen=True)
class Policy:
    """How recommendations are made: an estimator's components and the scenario settings.

    Attributes
    ----------
    label
        The report key.
    estimator
        Whose components (a key of the components mapping, e.g. ``dr`` or ``ceiling``).
    settings
        Scenario settings besides catalog and weights (solver, risk, aggregation ...).
    """

    label: str
    estimator: str
    settings: Mapping[str, Any] = field(default_factory=dict)


def _weights_dict(w: Sequence[float]) -> dict[str, float]:
    return {"cltv": float(w[0]), "churn": float(w[1]), "satisfaction": float(w[2])}


def judge(
    components: Components,
    catalog: Catalog,
    table: PortfolioTable,
    weights: Sequence[float],
    optimal: np.ndarray,
    *,
    settings: Settings | None = None,
    journeys: np.ndarray | None = None,
) -> dict[str, Any]:
    """Recommend journeys from ``components`` under ``settings`` and judge them on the truth.

    ``journeys``: the recommended journeys ``[n, L]`` when already solved (what
    ``optimize(problem_for(components, catalog, settings), settings)`` returns for these
    weights, without a propensity), so a dashboard that has them does not solve twice.

    Returns
    -------
    dict
        :func:`core.opportunity.truevalue.decision_metrics` plus ``share_with_offer``,
        ``mean_length``, ``solver``, ``risk``, ``risk_level`` and ``confounding`` (the
        allowance for unrecorded confounding the bounds used).
    """
    s = (settings or Settings(catalog=catalog.name)).with_(weights=_weights_dict(weights))
    if journeys is None:
        problem = problem_for(components, catalog, s)
        journeys = optimize(problem, s, components=components).journeys
    journeys = np.asarray(journeys)
    if journeys.shape[0] != len(optimal):
        raise CJOError(
            f"journeys for {journeys.shape[0]} customers, the truth has {len(optimal)}: pass "
            "the journeys of the same customers."
        )
    tv = journey_true_values(table, weights, journeys)
    out: dict[str, Any] = dict(decision_metrics(tv, optimal))
    lengths = (journeys >= 0).sum(axis=1)
    out.update(
        share_with_offer=float(np.mean(lengths > 0)),
        mean_length=float(lengths.mean()),
        solver=s.solver,
        risk=s.risk if components.std is not None else "none",
        risk_level=s.risk_level,
        confounding=s.risk_confounding if components.bias is not None else 0.0,
    )
    return out


def _no_action(optimal: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = dict(decision_metrics(np.zeros_like(optimal), optimal))
    out.update(share_with_offer=0.0, mean_length=0.0, solver=None, risk="none")
    return out


def decision_check(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    components: Mapping[str, Mapping[str, Components]],
    policies: Sequence[Policy],
    *,
    weights: Mapping[str, Sequence[float]] | None = None,
    progress: Progress | None = None,
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """``decision[catalog][weights][policy]`` for components already estimated.

    Parameters
    ----------
    customers, truth
        The synthetic population.
    components
        ``{catalog name: {estimator name: Components}}``.
    policies
        What to judge; a policy whose estimator has no components for a catalog is skipped.
    weights
        Weight settings (default :data:`WEIGHTS`).
    """
    ws = dict(weights or WEIGHTS)
    report: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    total = max(1, len(components) * len(ws) * len(policies))
    done = 0
    for cat_name, by_estimator in components.items():
        catalog = load_catalog(cat_name)
        table = portfolio_table(truth, customers, catalog)
        report[cat_name] = {}
        for w_name, w in ws.items():
            optimal, _ = truth_optimal(table, w)
            row: dict[str, dict[str, Any]] = {NO_ACTION: _no_action(optimal)}
            for policy in policies:
                done += 1
                comp = by_estimator.get(policy.estimator)
                if comp is None:
                    continue
                start = time.perf_counter()
                s = Settings(catalog=cat_name, **dict(policy.settings))
                row[policy.label] = judge(comp, catalog, table, w, optimal, settings=s)
                row[policy.label].update(
                    estimator=policy.estimator, seconds=time.perf_counter() - start
                )
                if progress is not None:
                    progress(done, total)
            report[cat_name][w_name] = row
    return report


#: The harm a manager accepts in the goal of issue 16 (share of customers made worse off).
HARM_LIMIT = 0.05


def harm_frontier(
    decision: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
    limit: float = HARM_LIMIT,
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """The best captured share at acceptable harm, per policy family.

    A family is a policy label up to its ``/`` (``dr``, ``dr/risk=none`` and ``dr/lcb=0.9``
    are the family ``dr``). For every catalog and weight setting, the family's policy with the
    largest ``captured`` among those whose ``share_harmful`` is at most ``limit`` (``None``
    when none is): what the family can do within the harm a manager accepts. The ``ceiling``
    family (a learner trained on the true effects, abstaining on its residual error at each
    risk level) says what the observable columns allow at that harm.

    Returns
    -------
    dict
        ``frontier[catalog][weights][family] = {"policy", "captured", "share_harmful"}`` or
        ``None``.
    """
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for cat, by_w in decision.items():
        out[cat] = {}
        for w, row in by_w.items():
            best: dict[str, Any] = {}
            for label, r in row.items():
                family = label.split("/", 1)[0]
                if family == NO_ACTION:
                    continue
                best.setdefault(family, None)
                if float(r["share_harmful"]) > limit:
                    continue
                if best[family] is None or float(r["captured"]) > best[family]["captured"]:
                    best[family] = {
                        "policy": label,
                        "captured": float(r["captured"]),
                        "share_harmful": float(r["share_harmful"]),
                    }
            out[cat][w] = best
    return out


def estimate_all(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    catalogs: Sequence[str],
    estimators: Sequence[str],
    *,
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    ceiling: bool = True,
    progress: Callable[[str], Progress | None] | None = None,
) -> dict[str, dict[str, Components]]:
    """Components of every estimator (and of the ceiling learner) for every catalog."""
    from core.opportunity.groundtruth import ceiling_components

    out: dict[str, dict[str, Components]] = {}
    for cat_name in catalogs:
        catalog = load_catalog(cat_name)
        out[cat_name] = {}
        for name in estimators:
            cb = progress(f"{cat_name}/{name}") if progress is not None else None
            out[cat_name][name] = build_components(
                customers,
                catalog,
                name,
                random_state=seed,
                progress=cb,
                **dict((options or {}).get(name, {})),
            )
        if ceiling:
            cb = progress(f"{cat_name}/{CEILING}") if progress is not None else None
            out[cat_name][CEILING] = ceiling_components(
                customers, truth, catalog, seed=seed, progress=cb
            )
    return out


@dataclass(frozen=True)
class ScenarioQuality:
    """How the current scenario's journeys fare on the synthetic truth (the dashboard's panel).

    Attributes
    ----------
    captured, share_harmful, share_at_true_optimum
        Of the scenario's journeys (see the module docstring).
    ceiling
        The same figures of the ceiling learner's journeys under the same weights, or None when
        not computed.
    """

    captured: float
    share_harmful: float
    share_at_true_optimum: float
    ceiling: dict[str, float] | None = None


def truth_reference(
    customers: pd.DataFrame, truth: pd.DataFrame, catalog: Catalog, weights: Sequence[float]
) -> tuple[PortfolioTable, np.ndarray]:
    """The portfolio table and the truth-optimal values (the referee of one catalog and weights)."""
    table = portfolio_table(truth, customers, catalog)
    optimal, _ = truth_optimal(table, weights)
    return table, optimal


def scenario_quality(
    components: Components,
    catalog: Catalog,
    settings: Settings,
    table: PortfolioTable,
    optimal: np.ndarray,
    *,
    ceiling: Components | None = None,
    journeys: np.ndarray | None = None,
) -> ScenarioQuality:
    """The scenario's captured value and harm on the truth (and the ceiling's, when given).

    ``journeys``: the scenario's journeys when already solved (see :func:`judge`).
    """
    w = [settings.weights[f] for f in ("cltv", "churn", "satisfaction")]
    r = judge(components, catalog, table, w, optimal, settings=settings, journeys=journeys)
    ceil = None
    if ceiling is not None:
        c = judge(ceiling, catalog, table, w, optimal, settings=settings.with_(risk="none"))
        ceil = {k: float(c[k]) for k in ("captured", "share_harmful", "share_at_true_optimum")}
    return ScenarioQuality(
        float(r["captured"]), float(r["share_harmful"]), float(r["share_at_true_optimum"]), ceil
    )


#: Confidence levels and allowances for unrecorded confounding of :func:`harm_tradeoff` (the
#: dashboard's trade-off chart).
TRADEOFF_LEVELS: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9, 0.95)
TRADEOFF_ALLOWANCES: tuple[float, ...] = (0.0, 0.25, 0.5)


def harm_tradeoff(
    components: Components,
    catalog: Catalog,
    settings: Settings,
    table: PortfolioTable,
    optimal: np.ndarray,
    *,
    levels: Sequence[float] = TRADEOFF_LEVELS,
    allowances: Sequence[float] = TRADEOFF_ALLOWANCES,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The scenario's value and harm on the truth at every do-no-harm setting.

    The scenario's journeys (its weights, levers, solver ...) are made again without risk
    control and, with the lower bound, at every confidence level of ``levels`` for every
    allowance for unrecorded confounding of ``allowances``, and judged on the truth
    (:func:`judge`): the curve a manager picks a setting on. Components without standard
    errors give the one row without risk control; without a measured bias (:attr:`Components.
    bias`) the allowances other than 0 are left out (they would change nothing).

    Returns
    -------
    pandas.DataFrame
        One row per setting: ``risk`` (``none`` or ``lcb``), ``risk_level`` (NaN without
        risk control), ``confounding``, ``captured``, ``share_harmful``,
        ``share_with_offer``.
    """
    w = [settings.weights[f] for f in ("cltv", "churn", "satisfaction")]
    grid: list[Settings] = [settings.with_(risk="none", confounding=0.0)]
    if components.std is not None:
        ks = [k for k in allowances if k == 0 or components.bias is not None]
        grid += [
            settings.with_(risk="lcb", risk_level=float(lv), confounding=float(k))
            for k in ks
            for lv in levels
        ]
    rows = []
    for i, s in enumerate(grid):
        r = judge(components, catalog, table, w, optimal, settings=s)
        rows.append(
            {
                "risk": s.risk,
                "risk_level": s.risk_level if s.risk == "lcb" else float("nan"),
                "confounding": s.confounding,
                "captured": float(r["captured"]),
                "share_harmful": float(r["share_harmful"]),
                "share_with_offer": float(r["share_with_offer"]),
            }
        )
        if progress is not None:
            progress(i + 1, len(grid))
    return pd.DataFrame(rows)
