"""Campaigns: did the campaign work, for whom, and what should the next one test?"""

from typing import Any

import streamlit as st

import ui
from core.insights import campaign_views as cv

ui.intro(
    "Campaigns",
    "What a **randomized** campaign taught: every other page infers effects from who holds what, "
    "this one from offers actually made, with a control group that got none. Read the first "
    "chart as *did each offer work* (its lift against control, with an interval: one that "
    "crosses zero is not proven), the Qini curve as *for whom* (how much better than random the "
    "uplift model picks the customers who respond), the policy values as *what targeting would "
    "earn* against giving everyone one offer, judged on customers the models never saw, and the "
    "last section as *what the next test needs*. Choose the demo's past campaign or upload your "
    "own log.",
)
ui.require_data()
picked = ui.source_controls()
if picked is None:
    st.stop()
src, choice = picked
log_key, log = ui.campaign_log(src, choice)
analysis = ui.campaign_analysis(log_key, log, choice)
outcome = (
    st.segmented_control(
        "Outcome", log.outcome_names, default=log.outcome_names[0], key="camp_outcome"
    )
    or log.outcome_names[0]
)
level = analysis.level
ui.log_metrics(log, analysis)


# Each section's own control reruns only its section (st.fragment); the outcome reruns all.
@st.fragment
def lift_section(analysis: Any, outcome: str, level: float) -> None:
    st.subheader(f"Did it work? Lift per arm on {outcome}")
    method = st.radio(
        "Estimate", ["difference", "adjusted"], horizontal=True, key="camp_method",
        help="difference: difference in means (the headline); adjusted: regression-adjusted for "
        "the customers' features (narrower intervals when the features predict the outcome).",
    )  # fmt: skip
    lifts = cv.lift_view(analysis, outcome, method)
    chart = ui.lift_chart(lifts, outcome, level)
    ui.show_vega(chart, "camp_lift")
    st.caption(chart.summary)
    st.table(ui.static_table(lifts))


@st.fragment
def qini_section(analysis: Any, outcome: str, level: float) -> None:
    st.subheader(f"For whom? Uplift (Qini) curves on {outcome}")
    qini = cv.qini_view(analysis, outcome)
    arm = st.selectbox("Arm", list(qini["arm"]), key="camp_qini_arm")
    qini_text = ui.qini_caption(qini, outcome)
    curve = cv.qini_curve(analysis, arm, outcome)
    chart = ui.qini_chart(curve, arm, outcome, level)
    ui.show_vega(chart, "camp_qini")
    st.caption(f"{chart.summary} {qini_text}")
    st.table(ui.static_table(qini))


lift_section(analysis, outcome, level)
qini_section(analysis, outcome, level)

st.subheader(f"What would targeting earn? Mean {outcome} per customer")
ui.policy_metrics(cv.policy_summary(analysis, outcome), outcome, level)
policies = cv.policy_view(analysis, outcome)
policy = ui.policy_chart(policies, outcome, level)
ui.show_vega(policy, "camp_policy")
st.caption(policy.summary)

st.subheader("Which discount moves them? Response curves")
ui.discount_section(log, outcome)


@st.fragment
def next_test_section(log_key: str, log: Any, analysis: Any, outcome: str, join: Any) -> None:
    st.subheader("What should the next test be?")
    binary = log.kinds[outcome] == "binary"
    mde = st.number_input(
        f"Smallest lift worth detecting on {outcome}",
        min_value=1e-4, value=0.02 if binary else 25.0, step=0.005 if binary else 5.0,
        format="%.4f" if binary else "%.2f", key=f"camp_mde_{outcome}",
        help="The minimum detectable lift: a smaller one needs more customers per arm.",
    )  # fmt: skip
    plan = ui.next_test(log, outcome, float(mde))
    st.write(cv.plan_sentence(plan))
    share = ui.plan_metrics(plan)
    data, rows = ui.assignments_csv(log_key, analysis, outcome, share, join)
    st.download_button(
        f"Download the next campaign's assignments ({rows:,} customers)",
        data,
        file_name=f"next_campaign_{outcome}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    st.caption(
        "Each customer gets the arm the learned targeting picks for this outcome, except a "
        "seeded random holdout kept as control; the probability column lets the next log be "
        "analysed here."
    )


next_test_section(log_key, log, analysis, outcome, choice.join)
