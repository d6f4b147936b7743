"""Data: which customers are we looking at, and are they usable?"""

import pandas as pd
import streamlit as st

import ui

st.title("Data")
st.write(
    "Which customers the dashboard is working on, whether the file passed validation, and which "
    "columns the leakage guard keeps away from the churn models. The default is our synthetic "
    "demo population; upload your own CSV or Parquet export to work on it."
)

upload = st.file_uploader("Upload a customer file (CSV or Parquet)", type=["csv", "parquet"])
if upload is not None:
    st.session_state[ui.SOURCE] = {
        "kind": "upload",
        "name": upload.name,
        "bytes": upload.getvalue(),
    }
elif st.session_state[ui.SOURCE]["kind"] == "upload" and st.button("Back to the demo data"):
    st.session_state[ui.SOURCE] = {"kind": "demo", "name": "Synthetic demo population"}

data = ui.current_data()
if data is None:
    ui.show_error(st.session_state[ui.DATA_ERROR])
    st.stop()

s = data.summary()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Customers", f"{s['rows']:,}")
c2.metric("Churn rate", "n/a" if s["churn_rate"] is None else f"{s['churn_rate']:.1%}")
c3.metric("Layout", s["layout"], help="ibm = IBM 11.1.3+; classic = the 21-column Kaggle export")
c4.metric("Columns", s["columns"])
if s["unavailable_factors"]:
    st.warning(
        f"Key factors not in this data (reported, never invented): "
        f"{', '.join(s['unavailable_factors'])}."
    )
for note in s["notes"]:
    st.info(note)
st.subheader("Leakage guard")
st.write(
    "Outcome-derived columns never used as churn-model features:",
    ", ".join(s["leakage_excluded"]) or "none present",
)
st.subheader("Preview")
st.dataframe(data.frame.head(200), hide_index=True, width="stretch")
with st.expander("Columns not in this data"):
    st.write(pd.DataFrame({"column": s["unavailable_columns"]}))
