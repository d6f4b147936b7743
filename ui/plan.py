"""The Plan page's glue: the shipped calendar planned on the scenario, live re-plans.

The first plan of the calendar (``data/calendars/quarter.toml``) on the current data and
scenario is computed once (:func:`ui.cache.cached`, a spinner the first time: components of the
calendar's catalog, acceptance, the Lagrangian planner). Each slider change re-plans with
:func:`core.planning.replan`, warm-started from the previous plan (its prices, cuts and plan),
inside the page's ``st.fragment``; the chain of re-plans lives in session state (:data:`PLAN`),
so every user moves their own sliders.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from core.pipeline import Settings
from ui._base import ROOT, guarded
from ui.cache import cached, scenario_key
from ui.data import require_data
from ui.pipeline import acceptance_propensity, context_and_components
from ui.state import bind, settings

if TYPE_CHECKING:  # core.planning (scipy.optimize) loads with the Plan page, not with ui
    from core.insights.plan_views import PlanInputs
    from core.planning import Calendar, PlanningProblem, PlanResult

#: The shipped example calendar (sized for the demo population).
CALENDAR = ROOT / "data" / "calendars" / "quarter.toml"
#: Session-state key of the current plan: {"key", "problem", "result", "warm", "seconds"}.
PLAN = "plan_state"
#: Seconds a re-plan may take (the page redraws within about a second of a slider change).
#: Measured on the demo (benchmarks/plan.py --replan ... --time-limit): 0.35 s gives re-plans of
#: median 0.46 s at a median gap of 0.12 %, 0.6 s gives 0.63 s at 0.06 %. Kept after the re-plan's
#: early stops: at 0.25 and 0.2 s fewer re-plans found a plan in time under load (README, fifth pass).
REPLAN_SECONDS = 0.35
#: Seconds the first plan may take.
FIRST_SECONDS = 30.0


@dataclass(frozen=True, eq=False)
class BasePlan:
    """The calendar's problem on the scenario's customers and its first plan."""

    key: str
    calendar: Calendar
    settings: Settings
    inputs: PlanInputs
    problem: PlanningProblem
    result: PlanResult


@functools.lru_cache(maxsize=4)
def _calendar(path: str, mtime: float) -> Calendar:
    """The calendar file as parsed (once per version of the file: ~10 ms of each rerun)."""
    from core.planning import load_calendar

    return load_calendar(path)


def plan_settings() -> Settings:
    """The scenario with the calendar's catalog (the plan's products)."""
    s = settings()
    cal = guarded(lambda: _calendar(str(CALENDAR), CALENDAR.stat().st_mtime))
    return s.with_(catalog=cal.catalog) if cal.catalog and cal.catalog != s.catalog else s


def base_plan() -> BasePlan:
    """The calendar's problem and first plan for the current data and scenario (cached)."""
    from core.insights import plan_views
    from core.planning import load_calendar, solve

    data = require_data()
    s = plan_settings()
    ctx, comps, _ = context_and_components(s=s)
    prop = acceptance_propensity(s=s)
    mtime = CALENDAR.stat().st_mtime
    key = (data.sha256, scenario_key(s), str(CALENDAR), mtime)

    def compute() -> BasePlan:
        cal = load_calendar(CALENDAR, products=comps.product_keys)
        inputs = plan_views.plan_inputs(comps, ctx.catalog, s, prop)
        problem = plan_views.calendar_problem(cal, inputs)
        with st.spinner(f"Planning {problem.n_customers:,} customers on the calendar..."):
            result = solve(problem, "lagrangian", time_limit=FIRST_SECONDS, rng=s.seed)
        return BasePlan(str(key), cal, s, inputs, problem, result)

    base: BasePlan = guarded(lambda: cached("plan", key, compute))
    return base


def bound_sliders(base: BasePlan) -> dict[str, float]:
    """One slider per budget, cap and target of the calendar; returns {name: bound}."""
    from core.insights import plan_views

    controls = plan_views.bound_controls(base.problem)
    helps = {
        "Budget": "Most the plan may spend on these contacts.",
        "Maximum assignment": "Most contacts in this window (e.g. call-centre capacity).",
        "Minimum assignment": "Fewest contacts the plan must make.",
        "Minimum sales": "Fewest expected sales (sum of acceptance probabilities).",
        "Maximum sales": "Most expected sales (e.g. stock).",
    }
    out: dict[str, float] = {}
    cols = st.columns(4)
    for i, row in enumerate(controls.to_dict("records")):
        soft = " (soft)" if row["soft"] else ""
        out[str(row["name"])] = float(
            cols[i % 4].slider(
                f"{row['name']}{soft}",
                min_value=float(row["low"]),
                max_value=float(row["high"]),
                step=float(row["step"]),
                key=bind(f"plan_bound_{i}", float(row["default"])),
                help=f"{row['type']}, {row['unit']}. {helps.get(str(row['type']), '')}",
            )
        )
    return out


def current_plan(base: BasePlan, bounds: dict[str, float]) -> tuple[PlanningProblem, PlanResult]:
    """The plan for ``bounds``: the first plan, or a re-plan warm-started from the last one.

    The last feasible plan warm-starts the next (an infeasible answer's prices are not a good
    start); what was computed is kept in session state, so a rerun without a change is free.
    """
    from core.planning import replan

    state = st.session_state.get(PLAN)
    if state is None or state["key"] != base.key:
        state = {"key": base.key, "problem": base.problem, "result": base.result}
        state["warm"] = (base.problem, base.result)
        state["seconds"] = base.result.seconds
        st.session_state[PLAN] = state
    problem: PlanningProblem = state["problem"]
    names = problem.constraints.names
    now = {names[k]: float(problem.constraints.bound[k]) for k in problem.coupling}
    if all(abs(now[n] - v) <= 1e-9 for n, v in bounds.items()):
        return problem, state["result"]
    warm_problem, warm = state["warm"]
    t = time.perf_counter()
    changes: dict[int | str, float] = {k: v for k, v in bounds.items()}
    new, result = guarded(
        lambda: replan(
            warm_problem,
            changes,
            warm_start=warm,
            time_limit=REPLAN_SECONDS,
            rng=base.settings.seed,
        )
    )
    if result.status == "no_plan":
        # the short re-plan found no plan that keeps every constraint, without proving that none
        # exists: search again as long as a first plan may take before saying anything
        new, result = guarded(
            lambda: replan(
                warm_problem,
                changes,
                warm_start=warm,
                time_limit=FIRST_SECONDS,
                rng=base.settings.seed,
            )
        )
    state.update(problem=new, result=result, seconds=time.perf_counter() - t)
    if result.feasible:
        state["warm"] = (new, result)
    return new, result


def reset_bounds() -> None:
    """Put every slider back to the calendar's bound (a button's ``on_click``)."""
    for key in [k for k in st.session_state if str(k).startswith("plan_bound_")]:
        del st.session_state[key]


def last_replan_seconds() -> float:
    """Seconds the last (re-)plan of this session took in the planner."""
    state = st.session_state.get(PLAN)
    return float(state["seconds"]) if state else float("nan")


def plan_csv(problem: PlanningProblem, result: PlanResult) -> Callable[[], bytes]:
    """The plan (``Customer, Activity``, one row per contact) as safe CSV (core.ops.export), as
    a download button's deferred ``data``: rendered when the user clicks, not on every re-plan
    (about a tenth of a second of each slider step on the demo)."""

    def render() -> bytes:
        from core.ops.export import render as export

        data = export(result.plan_table(problem), "csv").data
        assert data is not None
        return data

    return render


def infeasible_notice(problem: PlanningProblem, result: PlanResult) -> None:
    """An infeasible setting (or none found, said so): what breaks, the conflicting constraints,
    every violation."""
    from core.insights import plan_views

    broken = plan_views.violations_view(result)
    hard = broken[~broken["soft"]]
    what = "; ".join(
        f"{r.constraint} ({r.type}, bound {r.bound:,.6g}: the plan reaches {r.plan:,.6g})"
        for r in hard.itertuples()
    )
    head = (
        "**Infeasible: these constraints cannot all hold.** The least-violation plan below"
        if result.status == "infeasible"
        else f"**No plan found that keeps every constraint** within {FIRST_SECONDS:.0f} s (not "
        "proved impossible). The best plan found"
    )
    st.error(
        f"{head} breaks {what or 'a contact or conflict rule'}. Relax one of them (or move a "
        "slider back).",
        icon=":material/block:",
    )
    with st.expander("Which constraints conflict, and every violation"):
        names = plan_views.conflicting_names(problem, result)
        st.write("The planner names these as in conflict: " + ", ".join(names) + ".")
        st.caption(result.message)
        st.dataframe(broken, hide_index=True, width="stretch")


def value_metrics(result: PlanResult) -> None:
    """Plan value, gap to the proved bound, feasibility and contacts, as four metric cards."""
    gap = "n/a" if not np.isfinite(result.gap) else f"{result.gap:.3%}"
    bound = "none proved" if not np.isfinite(result.upper_bound) else f"${result.upper_bound:,.0f}"
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Plan value",
        f"${result.objective:,.0f}",
        help="Expected profit of the plan (CLTV-equivalent dollars after contact costs), less "
        "the penalties of the soft targets it misses.",
        border=True,
    )
    c2.metric(
        "Gap to the bound",
        gap,
        help=f"No plan can be worth more than the bound the planner proved ({bound}); the gap "
        "is how far below it this plan may be at most.",
        border=True,
    )
    c3.metric(
        "Feasible",
        "yes" if result.feasible else "no",
        help="Every hard budget, cap, target and contact rule holds (checked independently of "
        "the planner).",
        border=True,
    )
    c4.metric(
        "Contacts",
        f"{result.n_chosen:,}",
        help="Customer-activity pairs in the plan (one row each in the CSV).",
        border=True,
    )
