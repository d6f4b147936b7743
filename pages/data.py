"""Data: which customers are we looking at, and are they usable?"""

import pandas as pd
import streamlit as st

import ui
from core.common.errors import CatalogError, CJOError, MappingError

ui.init_state()
ui.intro(
    "Data",
    "Which customers the dashboard is working on, whether the file passed validation, and which "
    "columns the leakage guard keeps away from the models. The default is our synthetic demo "
    "population; upload your own CSV, Parquet or Excel export, or read a file on the server. Any "
    "other export (another operator's, a shop's customer table) goes through the mapping "
    "assistant: a catalog of your products, and the columns the product knows.",
)
src = st.session_state[ui.SOURCE]
tab_up, tab_path, tab_demo = st.tabs(["Upload a file", "File on the server", "Demo population"])
with tab_up:
    upload = st.file_uploader(
        "Customer file (CSV, Parquet or Excel)", type=["csv", "parquet", "tsv", "xlsx"]
    )
    if upload is not None and src.get("file_id") != upload.file_id:
        st.session_state[ui.SOURCE] = {
            "kind": "upload",
            "name": upload.name,
            "bytes": upload.getvalue(),
            "file_id": upload.file_id,
        }
        st.session_state[ui.MAPPING] = None
with tab_path:
    with st.form("server_path", border=False):
        path = st.text_input("Path", placeholder="../shared/data/telco_ibm_11_1_3.csv")
        allowed = ", ".join(str(d) for d in ui.data_dirs())
        if st.form_submit_button("Read this file", help=f"Files under {allowed}."):
            try:
                ui.use_server_path(path)
            except CJOError as exc:
                ui.show_error(exc)
with tab_demo:
    if st.button("Use the synthetic demo population", disabled=src["kind"] == "demo"):
        st.session_state[ui.SOURCE] = {"kind": "demo", "name": "Synthetic demo population"}
        st.session_state[ui.MAPPING] = None
        st.rerun()

data = ui.current_data()
if data is None:
    exc = st.session_state[ui.DATA_ERROR]
    ui.show_error(exc)
    if isinstance(exc, MappingError | CatalogError) and src["kind"] != "demo":
        ui.mapping_editor()
    st.stop()

s = data.summary()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Customers", f"{s['rows']:,}", border=True, help="Rows that passed validation.")
c2.metric(
    "Churn rate",
    "n/a" if s["churn_rate"] is None else f"{s['churn_rate']:.1%}",
    border=True,
    help="Observed share of customers who left (Churn Value).",
)
c3.metric(
    "Layout",
    s["layout"],
    border=True,
    help="ibm = IBM 11.1.3+; classic = the 21-column Kaggle export; mapped = your mapping; "
    "generic = your file as it is, read with a catalog",
)
c4.metric("Columns", s["columns"], border=True, help="Columns of the validated data.")
st.caption(f"Source: {s['source']} · {s['format']} · sha256 {s['sha256'][:12]}…")
if s["unavailable_factors"]:
    st.warning(
        "Key factors not in this data (reported, never invented): "
        f"{', '.join(s['unavailable_factors'])}."
    )
for note in s["notes"]:
    st.info(note)
if s["catalog"]:
    st.caption(f"Catalog **{s['catalog']}**: products {', '.join(s['products'])}.")
if s["extra_columns"]:
    with st.expander(f"Your own columns the models use ({len(s['extra_columns'])})"):
        st.dataframe(
            pd.DataFrame({"column": list(s["extra_columns"]), "type": s["extra_columns"].values()}),
            hide_index=True,
        )
st.subheader("Leakage guard")
st.write(
    "Outcome-derived columns are never used as model features, so the models cannot "
    "learn churn from its own consequences."
)
st.dataframe(
    pd.DataFrame({"excluded column": s["leakage_excluded"] or ["none present"]}), hide_index=True
)
st.subheader("Preview")
st.dataframe(data.frame.head(200), hide_index=True, width="stretch")
with st.expander("Columns not in this data"):
    st.dataframe(pd.DataFrame({"column": s["unavailable_columns"]}), hide_index=True)
if s["ignored_columns"]:
    with st.expander("Columns of your file that were ignored"):
        st.dataframe(pd.DataFrame({"column": s["ignored_columns"]}), hide_index=True)
if src["kind"] != "demo" and s["layout"] in ("mapped", "generic"):
    with st.expander("Change the mapping or the catalog"):
        ui.mapping_editor()
