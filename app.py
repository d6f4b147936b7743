"""Customer Journey Optimizer: the router. Page config, state, navigation, shared sidebar."""

import streamlit as st

import ui

st.set_page_config(
    page_title="Customer Journey Optimizer", page_icon=":material/route:", layout="wide"
)
ui.init_state()

pages = [
    st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
]
pg = st.navigation(pages)
with st.sidebar:
    st.caption("Customer Journey Optimizer")
    st.caption(f"Source: {st.session_state[ui.SOURCE]['name']}")
pg.run()
