"""What the Plan page shows: a calendar's plan for the scenario's customers, in plain figures.

:func:`plan_inputs` turns the current scenario (components, weights, levers, risk) and the
acceptance propensity into the per-customer, per-product values a campaign calendar is planned
on (:func:`core.planning.build_problem`); the other functions shape a
:class:`core.planning.PlanResult` for the page: the bounds a manager may move
(:func:`bound_controls`), what each constraint uses (:func:`usage_view`), the shadow prices in
words (:func:`shadow_sentences`), the plan's volumes per channel and day (:func:`plan_volumes`)
and what an infeasible setting breaks (:func:`violations_view`).

Units: the opportunity is unit-free (each factor is divided by its population scale, see
:mod:`core.opportunity.components`); the plan prices it in **CLTV-equivalent dollars**, one unit
of opportunity being worth the CLTV scale (a typical large CLTV gain of an offer, in dollars),
so that it can be weighed against the calendar's contact costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.catalog import Catalog
from core.journeys import credible_first, first_rows
from core.opportunity import Components, offerable_now
from core.pipeline import Settings, offer_propensity, problem_for
from core.planning import TYPES, Calendar, PlanningProblem, PlanResult, build_problem

#: What one unit of each constraint type counts (for slider labels and sentences).
UNITS: dict[str, str] = {
    "Minimum assignment": "contacts",
    "Maximum assignment": "contacts",
    "Budget": "of budget",
    "Minimum sales": "expected sales",
    "Maximum sales": "expected sales",
    "Maximum contact": "contacts per customer",
}


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """Per customer and product: what an offer is worth, how likely it is taken, if allowed.

    Attributes
    ----------
    ids : numpy.ndarray
        ``[n]`` customer ids.
    keys : tuple of str
        ``[P]`` product keys (catalog order).
    value : numpy.ndarray
        ``[n, P]`` expected value of offering the product now, CLTV-equivalent dollars
        (acceptance included).
    acceptance : numpy.ndarray
        ``[n, P]`` probability that the offer is accepted (a missing prerequisite's included).
    eligible : numpy.ndarray
        bool ``[n, P]``: may be offered now (not held, not excluded, prerequisites held, lever
        above 0, not credibly harmful by the journeys' own rule:
        :func:`core.journeys.credible_first`).
    dollars_per_unit : float
        The CLTV scale: dollars per unit of opportunity.
    """

    ids: np.ndarray
    keys: tuple[str, ...]
    value: np.ndarray
    acceptance: np.ndarray
    eligible: np.ndarray
    dollars_per_unit: float


def plan_inputs(
    components: Components, catalog: Catalog, settings: Settings, propensity: np.ndarray
) -> PlanInputs:
    """The scenario's first-offer values in expectation, in CLTV-equivalent dollars.

    Each customer's value of offering product ``j`` now is the first step of the scenario's
    journey problem (weights, levers, risk, the held products' aggregation) with every offer
    counted at its acceptance, whatever the scenario's propensity switch (a plan is always in
    expectation), times the CLTV scale.

    Parameters
    ----------
    components
        The customers' components (the calendar's catalog).
    catalog
        That catalog.
    settings
        The scenario.
    propensity
        Acceptance propensity ``[n, P]`` (:func:`core.pipeline.propensity_for`).

    Returns
    -------
    PlanInputs
    """
    s = settings.with_(propensity=True)
    problem = problem_for(components, catalog, s, propensity)
    first = first_rows(problem)  # [n, P], acceptance included
    allowed = offerable_now(catalog, components.held) & credible_first(problem)
    if problem.offerable is not None:
        allowed &= np.asarray(problem.offerable, dtype=bool)
    dollars = float(components.scale.get("cltv", 1.0)) or 1.0
    accept = offer_propensity(components, catalog, s, propensity)
    assert accept is not None
    return PlanInputs(
        ids=np.asarray(components.customer_ids),
        keys=tuple(catalog.keys),
        value=np.where(allowed, first, 0.0) * dollars,
        acceptance=np.clip(np.asarray(accept, dtype=np.float64), 0.0, 1.0),
        eligible=allowed,
        dollars_per_unit=dollars,
    )


def calendar_problem(calendar: Calendar, inputs: PlanInputs) -> PlanningProblem:
    """The calendar's planning problem for these customers (:func:`core.planning.build_problem`)."""
    return build_problem(
        calendar, inputs.ids, inputs.keys, inputs.value, inputs.acceptance, eligible=inputs.eligible
    )


def _step(bound: float) -> float:
    """A round slider step for a bound: about a hundredth of it (at least 1)."""
    if bound <= 0:
        return 1.0
    return float(max(10.0 ** (math.floor(math.log10(bound)) - 1), 1.0))


def bound_controls(problem: PlanningProblem, base: PlanningProblem | None = None) -> pd.DataFrame:
    """One row per coupling constraint (budgets, caps, targets): a manager's slider.

    Parameters
    ----------
    problem
        The problem with the bounds now in force.
    base
        The problem as the calendar defines it (default: ``problem``): ranges are set from its
        bounds, so they do not move with the sliders.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``type``, ``unit``, ``bound`` (now), ``default`` (the calendar's), ``low``,
        ``high`` (0 to three times the calendar's bound), ``step``, ``soft``.
    """
    base = base or problem
    c, b = problem.constraints, base.constraints
    rows = []
    for k in problem.coupling:
        default = float(b.bound[k])
        step = _step(default)
        high = max(math.ceil(3 * default / step) * step, step * 10)
        rows.append(
            {
                "name": c.names[k],
                "type": TYPES[c.kind[k]],
                "unit": UNITS[TYPES[c.kind[k]]],
                "bound": float(c.bound[k]),
                "default": default,
                "low": 0.0,
                "high": float(high),
                "step": step,
                "soft": bool(c.soft[k]),
            }
        )
    return pd.DataFrame(
        rows, columns=["name", "type", "unit", "bound", "default", "low", "high", "step", "soft"]
    )


def usage_view(problem: PlanningProblem, result: PlanResult) -> pd.DataFrame:
    """What the plan uses of every coupling constraint, and what one more unit would be worth.

    Returns
    -------
    pandas.DataFrame
        ``constraint`` (name), ``type``, ``bound``, ``used``, ``share`` (used / bound),
        ``shadow_price`` (value of one more unit of bound; negative for a minimum that costs),
        ``binding`` (at its bound), ``broken`` (violated; soft ones are paid for), ``soft``.
    """
    c = problem.constraints
    broken = {v.name for v in result.violations}
    rows = []
    for k in problem.coupling:
        label = problem.label(k)
        used = float(result.usage.get(label, float("nan")))
        bound = float(c.bound[k])
        rows.append(
            {
                "constraint": c.names[k],
                "type": TYPES[c.kind[k]],
                "bound": bound,
                "used": used,
                "share": used / bound if bound else float("nan"),
                "shadow_price": float(result.shadow_prices.get(label, float("nan"))),
                "binding": bool(abs(used - bound) <= max(1e-6 * abs(bound), 1e-6)),
                "broken": c.names[k] in broken,
                "soft": bool(c.soft[k]),
            }
        )
    columns = ["constraint", "type", "bound", "used", "share", "shadow_price", "binding"]
    return pd.DataFrame(rows, columns=[*columns, "broken", "soft"])


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def shadow_sentences(problem: PlanningProblem, result: PlanResult) -> list[str]:
    """The shadow prices in words, the largest effect first.

    A price is the change of the plan's expected value (CLTV-equivalent dollars) per unit of
    bound, from the planner's final dual prices: e.g. "One more 1,000 of call-centre budget is
    worth 1,676." Constraints whose price is 0 are named together as not binding.

    Returns
    -------
    list of str
    """
    c = problem.constraints
    said: list[tuple[float, str]] = []
    idle: list[str] = []
    for k in range(len(c)):
        price = float(result.shadow_prices.get(problem.label(k), float("nan")))
        kind, name, bound = TYPES[c.kind[k]], c.names[k], float(c.bound[k])
        if not math.isfinite(price):
            continue
        if abs(price) < 1e-6:
            if kind != "Maximum contact":
                idle.append(name)
            continue
        per = 1000.0 if bound >= 5000 else 100.0 if bound >= 500 else 10.0 if bound >= 50 else 1.0
        if kind == "Maximum contact":
            per = 1.0
            text = (
                f"Allowing one more contact per customer in {name} is worth {_money(price)} "
                "over the whole plan."
            )
        elif kind.startswith("Minimum"):
            text = (
                f"{name} costs the plan: requiring {per:,.0f} fewer {UNITS[kind]} would add "
                f"{_money(-price * per)} ({_money(-price)} each)."
            )
        else:
            what = f"{per:,.0f}" if kind == "Budget" else f"{per:,.0f} {UNITS[kind]}"
            text = f"One more {what} of {name} is worth {_money(price * per)}."
        if c.soft[k]:
            text += f" (Soft: each unit it is missed by costs a penalty of {c.penalty[k]:g}.)"
        said.append((abs(price * per), text))
    out = [t for _, t in sorted(said, key=lambda x: -x[0])]
    if idle:
        out.append(f"Not binding (more would add nothing): {', '.join(idle)}.")
    return out


def plan_volumes(problem: PlanningProblem, result: PlanResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plan's contacts per channel and per day.

    Returns
    -------
    (by_channel, by_day)
        ``by_channel``: ``channel``, ``contacts``, ``cost``, ``expected_sales`` (sum of response
        probabilities), ``expected_value`` (sum of expected profits), every channel listed.
        ``by_day``: ``day``, ``channel``, ``activity``, ``contacts`` for every activity with at
        least one contact, by day.
    """
    asg, act = problem.assignments, problem.activities
    chosen = np.asarray(result.chosen, dtype=np.int64)
    a = asg.activity[chosen]
    per_act = np.bincount(a, minlength=len(act)).astype(np.int64)
    sales = np.bincount(a, weights=asg.probability[chosen], minlength=len(act))
    value = np.bincount(a, weights=asg.profit[chosen], minlength=len(act))
    ch = np.asarray(act.channel, dtype=np.int64)
    n_ch = len(problem.channels)
    by_channel = pd.DataFrame(
        {
            "channel": list(problem.channels),
            "contacts": np.bincount(ch, weights=per_act, minlength=n_ch).astype(np.int64),
            "cost": np.bincount(ch, weights=per_act * act.cost, minlength=n_ch),
            "expected_sales": np.bincount(ch, weights=sales, minlength=n_ch),
            "expected_value": np.bincount(ch, weights=value, minlength=n_ch),
        }
    )
    by_day = pd.DataFrame(
        {
            "day": np.asarray(act.day, dtype=np.int64),
            "channel": np.asarray(problem.channels, dtype=object)[ch],
            "activity": act.ids,
            "contacts": per_act,
        }
    )
    by_day = by_day[by_day["contacts"] > 0].sort_values(["day", "activity"], kind="stable")
    return by_channel, by_day.reset_index(drop=True)


def violations_view(result: PlanResult) -> pd.DataFrame:
    """What the plan breaks: ``constraint``, ``type``, ``bound``, ``plan``, ``off_by``, ``soft``,
    ``penalty``, ``customers`` (per-customer rules and conflicts)."""
    rows: list[dict[str, Any]] = [
        {
            "constraint": v.name,
            "type": v.type,
            "bound": v.bound,
            "plan": v.value,
            "off_by": v.amount,
            "soft": v.soft,
            "penalty": v.penalty,
            "customers": v.customers,
        }
        for v in result.violations
    ]
    columns = ["constraint", "type", "bound", "plan", "off_by", "soft", "penalty", "customers"]
    return pd.DataFrame(rows, columns=columns)


def conflicting_names(problem: PlanningProblem, result: PlanResult) -> list[str]:
    """Names of the constraints and rules the planner found in conflict (labels -> names)."""
    c, cf = problem.constraints, problem.conflicts
    by_label = {problem.label(k): c.names[k] for k in range(len(c))}
    by_label.update({problem.conflict_label(f): f"conflict {cf.names[f]}" for f in range(len(cf))})
    return [by_label.get(label, label) for label in result.conflicting]
