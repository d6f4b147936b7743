"""Customer Journey Optimizer: the router. Page config, sign-in, state, navigation, sidebar.

``python app.py [streamlit options]`` (what ``make run`` does) serves this file like
``streamlit run app.py`` and, while the browser loads, imports the app and warms the default
data's caches in the server (:func:`ui.warmup.prewarm`), so the first page opens sooner.
"""

import sys

from streamlit import runtime

if __name__ == "__main__" and not runtime.exists():  # launched, not run by the server
    import threading

    def _prewarm() -> None:
        import time

        import ui as app_ui  # the heavy imports, beside the server's start

        while not runtime.exists():  # caches belong to the runtime: fill them once it is up
            time.sleep(0.05)
        app_ui.prewarm()

    threading.Thread(target=_prewarm, name="cjo-prewarm", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", __file__, *sys.argv[1:]]
    sys.exit(cli.main())

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
