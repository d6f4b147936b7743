"""The Plan page's glue: the shipped calendar planned on the scenario, live re-plans.

The first plan of the calendar (``data/calendars/quarter.toml``) on the current data and
scenario is computed once (:func:`ui.cache.cached`, a spinner the first time: components of the
calendar's catalog, acceptance, the Lagrangian planner). Each slider change re-plans with
:func:`core.planning.replan`, warm-started from the previous plan (its prices, cuts and plan),
inside the page's ``st.fragment``; the chain of re-plans lives in session state (:data:`PLAN`),
so every user moves their own sliders.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from core.common.budgets import (  # the re-plans' budgets, shared with benchmarks/plan_steps.py
    FINAL_GAP,
    FIRST_SECONDS,
    REFINE_GAP,
    REFINE_MORE_SECONDS,
    REPLAN_SECONDS,
)
from core.common.errors import CJOError
from core.pipeline import Settings
from ui import background
from ui._base import ROOT, guarded, show_error
from ui.cache import cached, scenario_key
from ui.data import require_data
from ui.pipeline import acceptance_propensity, context_and_components
from ui.state import settings
from ui.widgets import static_table

if TYPE_CHECKING:  # core.planning (scipy.optimize) loads with the Plan page, not with ui
    from core.insights.plan_views import PlanInputs
    from core.planning import Calendar, PlanningProblem, PlanResult

#: The shipped example calendar (sized for the demo population).
CALENDAR = ROOT / "data" / "calendars" / "quarter.toml"
#: Session-state key of the current plan: {"key", "problem", "result", "warm", "seconds"}.
PLAN = "plan_state"


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


def _seeded(key: str, value: float) -> str:
    """Seed slider ``key`` with the calendar's bound once (and after a reset): the user's value
    stays through every later run. (``ui.state.bind`` follows a value set elsewhere and put
    these sliders back to the calendar on any run without a change: a page rerun, e.g. the
    one that shows a refined plan, would have re-planned the calendar's bounds.)"""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


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
                key=_seeded(f"plan_bound_{i}", float(row["default"])),
                help=f"{row['type']}, {row['unit']}. {helps.get(str(row['type']), '')}",
            )
        )
    return out


@dataclass(eq=False)
class Refinement:
    """A full re-plan running in a background thread after a quick answer (one per change).

    The thread writes only to this object (never to session state); the page reads it on its
    next run. ``cancel`` stops a re-plan that a newer change made stale (the planner's
    ``callback`` looks at it after each dual step and improvement round)."""

    bounds: dict[str, float]
    started: float = field(default_factory=time.perf_counter)
    done: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)
    result: tuple[PlanningProblem, PlanResult] | None = None
    error: BaseException | None = None
    seconds: float = float("nan")
    #: Asks the browser session to rerun the page's fragment when the refinement ends (None:
    #: not served by a Streamlit server here; the page then looks with :func:`watch_refinement`).
    push: Callable[[Refinement], None] | None = None
    #: Starts the thread (:func:`start_refinement`, once the page is drawn).
    start: Callable[[], None] | None = None


def _bounds_of(problem: PlanningProblem) -> dict[str, float]:
    names = problem.constraints.names
    return {names[k]: float(problem.constraints.bound[k]) for k in problem.coupling}


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(abs(a.get(n, float("nan")) - v) <= 1e-9 for n, v in b.items())


#: One refinement at a time in this process: a newer one waits for a cancelled one to stop
#: (the planner's BLAS limit is process-wide, and two would share the two cores anyway).
_ONE_AT_A_TIME = threading.Lock()
#: Niceness of a refinement's thread (Linux: per thread): the page's runs and the browser
#: come first on a busy machine.
REFINE_NICE = 10


def _start(job: Refinement, problem: PlanningProblem, quick: PlanResult, seed: int) -> None:
    # one of ui.background's threads: a server that stops ends the re-plan at its next step
    # (``stale``) and waits for it (HiGHS inside a thread the interpreter kills aborts it)
    background.start(lambda: _refine(job, problem, quick, seed), "cjo-plan-refine")


def start_refinement() -> None:
    """Start the background re-plan of the quick answer on the page (once), at the end of the
    page's run: the thread would otherwise share the interpreter with the drawing of the quick
    answer it refines."""
    job = refining()
    if job is not None and job.start is not None:
        start, job.start = job.start, None
        start()


def _refined_plan(
    problem: PlanningProblem, quick: PlanResult, seed: int, stale: Callable[[dict], bool]
) -> tuple[PlanningProblem, PlanResult]:
    """The full re-plan of a quick answer (the caller holds :data:`_ONE_AT_A_TIME`).

    The slider's budget first (:data:`REPLAN_SECONDS`); then, when it found no plan, as long as a
    first plan may take, or when it left a gap above :data:`REFINE_GAP`,
    :data:`REFINE_MORE_SECONDS` from its plan: off the slider's path, the page shows the quick
    answer meanwhile. ``stale`` (the planner's callback) stops it early."""
    from core.planning import replan

    out = replan(problem, {}, warm_start=quick, time_limit=REPLAN_SECONDS, rng=seed,
                 callback=stale)  # fmt: skip
    if not stale({}) and (not out[1].feasible or out[1].gap > REFINE_GAP):
        start, more = (out[1], REFINE_MORE_SECONDS) if out[1].feasible else (quick, FIRST_SECONDS)
        out = replan(problem, {}, warm_start=start, time_limit=more, rng=seed,
                     callback=stale)  # fmt: skip
    return out


def lower_priority() -> None:
    """Lower the calling thread's priority (:data:`REFINE_NICE`; Linux: per thread)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), REFINE_NICE)


def _refine(job: Refinement, problem: PlanningProblem, quick: PlanResult, seed: int) -> None:
    """The full re-plan of a quick answer (a thread's target: nothing is drawn here)."""

    def stale(_: dict) -> bool:
        return job.cancel.is_set() or background.stopping()

    lower_priority()
    try:
        with _ONE_AT_A_TIME:  # a stale re-plan (cancelled) ends before the next starts
            if job.cancel.is_set():
                return
            job.result = _refined_plan(problem, quick, seed, stale)
    except BaseException as exc:  # shown by the page's next run
        job.error = exc
    finally:
        finish_job(job)


def finish_job(job: Refinement) -> None:
    """Mark ``job`` done and, unless cancelled, ask the page to show it (:attr:`push`)."""
    job.seconds = time.perf_counter() - job.started
    job.done.set()
    push = job.push
    if push is not None and not job.cancel.is_set():
        with contextlib.suppress(RuntimeError):  # the server's loop closed: it stops
            push(job)


def _session_push() -> Callable[[Refinement], None] | None:
    """A function that reruns this session's running fragment (the page's ``live``) once its
    refinement ended, called from the refinement's thread; None outside a served session.

    The server's event loop is asked (``call_soon_threadsafe``) to rerun the fragment with the
    session's last client state (the page, its URL and widget values), as the browser's own
    ``run_every`` timer would, but once: a fragment that polls redraws its (empty) container
    in the page every time it runs. It waits while the session runs a script (the user moved
    something: that run shows the refined plan or started a newer one) and gives up on a
    cancelled refinement. Uses the AppSession's private state (Streamlit pinned at 1.67)."""
    try:
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner_utils.script_run_context import (
            ThreadState,
            get_script_run_ctx,
        )

        ctx = get_script_run_ctx()
        fragment = ThreadState.get().fragment_id
        if ctx is None or not fragment or not Runtime.exists():
            return None
        session = Runtime.instance().get_app_session(ctx.session_id)
        loop = getattr(session, "_event_loop", None)
        if session is None or loop is None or not hasattr(session, "_client_state"):
            return None
    except Exception:  # another Streamlit: the page polls instead
        return None

    def push(job: Refinement, tries: int = 100) -> None:
        def on_loop(left: int) -> None:
            if job.cancel.is_set():
                return
            if getattr(session, "_scriptrunner", None) is not None:  # a run in progress
                if left:
                    loop.call_later(0.05, on_loop, left - 1)
                return
            state = ClientState()
            state.CopyFrom(session._client_state)
            state.fragment_id = fragment
            state.is_auto_rerun = True
            session.request_rerun(state)

        loop.call_soon_threadsafe(on_loop, tries)

    return push


def _swap_refined(state: dict) -> None:
    """Put a finished refinement's plan in place of the quick answer it refines."""
    job: Refinement | None = state.get("refine")
    if job is None or not job.done.is_set():
        return
    state["refine"] = None
    if isinstance(job.error, CJOError):  # the error box, as a re-plan here would show it
        show_error(job.error)
        st.stop()
    if job.error is not None:
        raise job.error
    if job.result is None or not _same(_bounds_of(state["problem"]), job.bounds):
        return  # stale (cancelled): a newer answer is shown
    new, result = job.result
    if result.feasible:  # from the quick plan: never worse than it (the planner keeps its start)
        quick = bool(result.stats.get("quick"))  # a step planned ahead may end with one
        state.update(problem=new, result=result, seconds=job.seconds, quick=quick, final=quick)
        state["warm"] = (new, result)
    else:
        state["refined_none"] = True


def _from_ahead(state: dict, bounds: dict[str, float]) -> tuple[PlanningProblem, PlanResult] | None:
    """The plan for ``bounds`` from the steps planned ahead (:mod:`ui.plan_ahead`), or None.

    Stops the refinement on the page unless it is a step of the chain that ``bounds`` follow
    (the chain's next steps start from it), and the chain when ``bounds`` are not one of its
    steps. A step planned: its plan. A step being planned: waited for at most
    ``plan_ahead.WAIT_SECONDS``, then the quick answer, refined by that step when it ends."""
    from core.planning.quick import quick_replan
    from ui import plan_ahead

    chain: plan_ahead.Chain | None = state.get("ahead")
    step = chain.find(bounds) if chain is not None else None
    old: Refinement | None = state.get("refine")
    if old is not None:
        if chain is not None and step is not None and old in chain.jobs:
            old.push = None  # the chain goes on from it: it no longer redraws the page
        else:
            old.cancel.set()
        state["refine"] = None
    if chain is None:
        return None
    if step is None:
        chain.stop()
        state["ahead"] = None
        return None
    chain.reached = max(chain.reached, step + 1)
    chain.wake.set()
    job = chain.jobs[step]
    t = time.perf_counter()
    if not job.done.is_set():
        background.wait(job.done, plan_ahead.WAIT_SECONDS)
    if not job.done.is_set():
        new, quick = guarded(
            lambda: quick_replan(
                state["problem"], {k: v for k, v in bounds.items()}, warm_start=state["result"]
            )
        )
        if quick is None or not quick.feasible:
            chain.stop()
            state["ahead"] = None
            return None
        state.update(problem=new, result=quick, seconds=time.perf_counter() - t, quick=True)
        state["final"], state["refine"] = False, job
        job.push = _session_push()
        if job.done.is_set():  # it ended meanwhile (its thread may not have seen the push)
            _swap_refined(state)
        return state["problem"], state["result"]
    if job.error is not None or job.result is None or not job.result[1].feasible:
        chain.stop()
        state["ahead"] = None
        return None  # answered as before (an error shows there)
    new, result = job.result
    quick_answer = bool(result.stats.get("quick"))
    state.update(problem=new, result=result, seconds=job.seconds, quick=quick_answer)
    state["final"], state["ahead_hit"], state["warm"] = quick_answer, True, (new, result)
    return new, result


def start_ahead(base: BasePlan) -> None:
    """At the end of the page's run: after a one-step move of one slider, plan its next steps in
    the background (:mod:`ui.plan_ahead`), unless a chain already does (the user follows it)."""
    from core.insights import plan_views
    from ui import plan_ahead

    state = st.session_state.get(PLAN)
    if not state:
        return
    moved = state.pop("moved", None)
    if moved is None or not background.ahead() or not state["result"].feasible:
        return
    chain = state.get("ahead")
    if chain is not None and not chain.cancel.is_set():
        return
    controls = plan_views.bound_controls(state["problem"], base.problem).set_index("name")
    before, after = moved
    got = plan_ahead.one_step(before, after, controls["step"].to_dict())
    if got is None:
        return
    name, step = got
    chain = plan_ahead.Chain(
        name,
        step,
        float(controls.at[name, "low"]),
        float(controls.at[name, "high"]),
        dict(after),
        int(base.settings.seed),
    )
    state["ahead"] = chain
    plan_ahead.start(chain, state["problem"], state["result"], state.get("refine"))


def planned_ahead() -> bool:
    """Whether the plan shown was planned ahead in the background (:mod:`ui.plan_ahead`)."""
    state = st.session_state.get(PLAN) or {}
    return bool(state.get("ahead_hit"))


def refining() -> Refinement | None:
    """The background re-plan of the quick answer on the page, or None (the plan is final)."""
    state = st.session_state.get(PLAN)
    return state.get("refine") if state else None


def current_plan(base: BasePlan, bounds: dict[str, float]) -> tuple[PlanningProblem, PlanResult]:
    """The plan for ``bounds``: the first plan, a quick answer being refined, or a re-plan.

    After a slider change the page answers at once with :func:`core.planning.quick.quick_replan`
    (the previous plan, less the least valuable contacts of a lowered budget or cap, and the
    dual bound at the previous prices: a feasible plan and a proved gap) and re-plans in a
    background thread from it (:class:`Refinement`); the page's next run after the thread ends
    shows the refined plan. When there is no quick answer (a minimum raised beyond the plan,
    no feasible plan shown, the rows changed), it re-plans here, warm-started from the last
    feasible plan, as before. A step of a slider planned ahead (:mod:`ui.plan_ahead`, after a
    one-step move) is shown at once (:func:`_from_ahead`). What was computed is kept in session
    state, so a rerun without a change is free.
    """
    from core.planning import replan
    from core.planning.quick import quick_replan

    state = st.session_state.get(PLAN)
    if state is None or state["key"] != base.key:
        if state is not None and state.get("ahead") is not None:
            state["ahead"].stop()
        state = {"key": base.key, "problem": base.problem, "result": base.result}
        state["warm"] = (base.problem, base.result)
        state["seconds"] = base.result.seconds
        state["quick"], state["refine"], state["first"] = False, None, True
        st.session_state[PLAN] = state
    _swap_refined(state)
    problem: PlanningProblem = state["problem"]
    if _same(_bounds_of(problem), bounds):
        return problem, state["result"]
    state["first"] = False
    state["moved"] = (_bounds_of(problem), dict(bounds))
    state["refined_none"] = state["ahead_hit"] = False
    ahead = _from_ahead(state, bounds)
    if ahead is not None:
        return ahead
    t = time.perf_counter()
    changes: dict[int | str, float] = {k: v for k, v in bounds.items()}
    new, quick = guarded(lambda: quick_replan(problem, changes, warm_start=state["result"]))
    if quick is not None and quick.feasible and quick.gap <= FINAL_GAP:
        # proved within the planner's target gap: a re-plan would keep it, nothing to refine
        state.update(problem=new, result=quick, seconds=time.perf_counter() - t, quick=True)
        state["warm"], state["final"] = (new, quick), True
        return new, quick
    state["final"] = False
    if quick is not None:
        state.update(problem=new, result=quick, seconds=time.perf_counter() - t, quick=True)
        job = Refinement(dict(bounds), push=_session_push())
        job.start = functools.partial(_start, job, new, quick, base.settings.seed)
        state["refine"] = job
        return new, quick
    warm_problem, warm = state["warm"]
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
    state.update(problem=new, result=result, seconds=time.perf_counter() - t, quick=False)
    if result.feasible:
        state["warm"] = (new, result)
    return new, result


#: Seconds between the page's looks at a running refinement (a fragment's ``run_every``).
POLL_SECONDS = 0.2


@st.fragment(run_every=POLL_SECONDS)
def watch_refinement() -> None:
    """Where the server cannot be asked to rerun the page (:func:`_session_push`), drawn while a
    refinement runs (nothing visible): reruns the page once it is done, so the refined plan
    replaces the quick answer. Not drawn otherwise, which stops its timer."""
    job = refining()
    if job is not None and job.done.is_set():
        st.rerun()


def answer_note(result: PlanResult) -> str:
    """One line above the figures: a quick answer being refined, or the planner's answer."""
    state = st.session_state.get(PLAN) or {}
    dropped = int(result.stats.get("quick_dropped", 0))
    changed = int(result.stats.get("quick_changed", 0))
    what = (
        f"the previous plan less its {dropped:,} least valuable contacts of the lowered row"
        if dropped
        else f"the previous plan with {changed:,} contacts changed to use the freed room"
        if changed
        else "the previous plan (it keeps the new bounds)"
    )
    ahead = (
        " Planned ahead in the background while the previous step was shown (the slider's "
        "next steps are)."
        if state.get("ahead_hit")
        else ""
    )
    proved = "proved by the dual bound at the previous shadow prices (a freed row's searched lower)"
    if state.get("quick") and state.get("final"):
        return (
            f":material/check_circle: **Quick answer, final**: {what}; its gap is {proved} and "
            f"within the planner's target ({FINAL_GAP:.1%}), so a full re-plan would keep it."
            + ahead
        )
    if state.get("quick") and state.get("refine") is not None:
        return (
            f":material/hourglass_top: **Quick answer, being refined**: {what}; its gap is "
            f"{proved}. The full re-plan runs in the background and replaces it when done."
        )
    if state.get("quick"):
        return (
            ":material/info: **Quick answer**: the re-plan found no better plan in its time; "
            "this plan keeps every constraint and its gap is proved."
        )
    return ":material/check_circle: The planner's plan for these bounds." + ahead


def quick_final() -> bool:
    """Whether the plan shown is a quick answer proved within :data:`FINAL_GAP` (not refined)."""
    state = st.session_state.get(PLAN) or {}
    return bool(state.get("quick") and state.get("final"))


def reset_bounds() -> None:
    """Put every slider back to the calendar's bound (a button's ``on_click``)."""
    for key in [k for k in st.session_state if str(k).startswith("plan_bound_")]:
        del st.session_state[key]


def first_plan() -> bool:
    """Whether the plan shown is the calendar's first plan (no slider moved since)."""
    state = st.session_state.get(PLAN) or {}
    return bool(state.get("first"))


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
        st.table(static_table(broken))


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
