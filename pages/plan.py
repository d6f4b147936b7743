"""Plan: the whole population's contact plan under budgets, caps and contact rules."""

import time

import streamlit as st

import ui
from core.insights import plan_views as pv

ui.intro(
    "Plan",
    "Which customer gets which activity of the campaign calendar, when budgets, call-centre "
    "capacity, volume targets and contact rules bind the campaign as a whole. Each offer is "
    "valued as the scenario values it (weights, levers, estimator), counted at the customer's "
    "acceptance probability and priced in CLTV-equivalent dollars. Move a **slider** to change a "
    "budget or cap: the plan is recomputed from the previous one. Read the *gap* as how far the "
    "plan can at most be from the best possible plan, and the *shadow prices* as what one more "
    "unit of each budget or cap would be worth.",
)
ui.require_data()
base = ui.base_plan()
cal = base.calendar
st.caption(
    f"Calendar: {cal.name} ({cal.horizon} days, {base.problem.n_activities} activities, "
    f"{len(cal.channels)} channels), {base.problem.n_customers:,} customers, "
    f"{base.problem.n_assignments:,} eligible contacts; catalog {base.settings.catalog}, "
    f"estimator {base.settings.estimator}. One unit of opportunity is priced at "
    f"${base.inputs.dollars_per_unit:,.0f} (the CLTV scale)."
)


@st.fragment
def live() -> None:
    t0 = time.perf_counter()
    with st.expander("Budgets, caps and targets", icon=":material/tune:", expanded=True):
        bounds = ui.bound_sliders(base)
        st.button("Reset to the calendar", on_click=ui.reset_bounds, icon=":material/restart_alt:")
    problem, result = ui.current_plan(base, bounds)
    if not result.feasible:
        ui.infeasible_notice(problem, result)
    st.caption(ui.answer_note(result))
    ui.value_metrics(result)
    st.subheader("What the constraints cost")
    usage = ui.usage_chart(pv.usage_view(problem, result))
    ui.show_vega(usage, "plan_usage")
    st.caption(usage.summary)
    st.markdown("\n".join(f"- {s}" for s in pv.shadow_sentences(problem, result)))
    st.subheader("Plan volumes")
    by_channel, by_day = pv.plan_volumes(problem, result)
    left, right = st.columns([1, 2])
    channels = ui.channel_chart(by_channel, problem.channels)
    days = ui.day_chart(by_day, problem.channels, cal.horizon)
    ui.show_vega(channels, "plan_channels", left)
    left.caption(channels.summary)
    ui.show_vega(days, "plan_days", right)
    right.caption(days.summary)
    st.download_button(
        f"Download the plan ({result.n_chosen:,} rows: Customer, Activity)",
        ui.plan_csv(problem, result),
        "plan.csv",
        "text/csv",
        icon=":material/download:",
    )
    job = ui.refining()
    if job is not None:
        st.caption(
            f"Answered and redrew in {time.perf_counter() - t0:.2f} s (server; the quick answer "
            f"took {ui.last_replan_seconds():.2f} s; the full re-plan runs in the background)."
        )
        if job.push is None:  # not served here: look every POLL_SECONDS
            ui.watch_refinement()
        ui.start_refinement()  # the page is drawn: re-plan in the background
    elif ui.planned_ahead():
        st.caption(
            f"Answered and redrew in {time.perf_counter() - t0:.2f} s (server; this plan was "
            f"computed in the background, in {ui.last_replan_seconds():.2f} s, while the "
            "previous step was shown)."
        )
    elif ui.quick_final():
        st.caption(
            f"Answered and redrew in {time.perf_counter() - t0:.2f} s (server; the quick answer "
            f"took {ui.last_replan_seconds():.2f} s and is final: no background re-plan)."
        )
    else:
        verb = "Planned" if ui.first_plan() else "Re-planned"
        st.caption(
            f"{verb} and redrew in {time.perf_counter() - t0:.2f} s (server; the planner "
            f"took {ui.last_replan_seconds():.2f} s, {result.solver}, status {result.status})."
        )
    ui.start_ahead(base)  # a one-step move: plan the slider's next steps in the background


live()
