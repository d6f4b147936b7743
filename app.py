"""Customer Journey Optimizer: the router. Page config, sign-in, state, navigation, sidebar."""

import streamlit as st

import ui

st.set_page_config(
    page_title="Customer Journey Optimizer", page_icon=":material/route:", layout="wide"
)
ui.require_sign_in()  # off unless [auth] is configured in .streamlit/secrets.toml
ui.init_state()
ui.mark_routed()

pages = {
    "Decide": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/opportunity.py", title="Opportunity", icon=":material/tune:"),
        st.Page("pages/journeys.py", title="Journeys", icon=":material/route:"),
        st.Page("pages/plan.py", title="Plan", icon=":material/event_note:"),
    ],
    "Understand": [
        st.Page("pages/customer.py", title="Customer", icon=":material/person_search:"),
        st.Page("pages/segments.py", title="Segments", icon=":material/groups:"),
        st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
        st.Page("pages/campaigns.py", title="Campaigns", icon=":material/campaign:"),
    ],
    "Act": [
        st.Page("pages/export.py", title="Export & scenarios", icon=":material/download:"),
        st.Page("pages/rl_lab.py", title="RL lab", icon=":material/science:"),
        st.Page("pages/data.py", title="Data", icon=":material/table:"),
    ],
}
pg = st.navigation(pages)
ui.sidebar()
pg.run()
ui.page_done()  # the start-up warm-up may go on (ui.warmup)
