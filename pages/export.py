"""Export & scenarios: take the journeys to a campaign tool, and keep the scenario that made them."""

import streamlit as st

import ui

ui.intro(
    "Export & scenarios",
    "Download the recommended journeys of the current scenario (one row per customer and step) "
    "for a campaign tool or a spreadsheet, for everyone or one segment. Each download is "
    "recorded as a **run** (data fingerprint, seed, code and library versions, the journeys' "
    "sha256), so you can later check that re-running the scenario gives byte-identical "
    "journeys. Save the scenario under a name to reload it, or share it with the team.",
)
data = ui.require_data()
db = ui.store()
name_now = ui.current_scenario_name()

st.subheader("Download the journeys")
page = ui.segments_page()
c1, c2, c3 = st.columns([2, 1.5, 1])
who = c1.selectbox(
    "Customers",
    ["All customers", *page.sizes["segment"]],
    help="One segment of the Segments page, or everyone.",
)
fmt = c2.radio(
    "Format",
    ["csv", "parquet", "xlsx"],
    horizontal=True,
    format_func={"csv": "CSV", "parquet": "Parquet", "xlsx": "Excel"}.__getitem__,
)
bom = c3.checkbox(
    "UTF-8 BOM (Excel)", disabled=fmt != "csv", help="Lets Excel detect the encoding."
)
segment = None if who == "All customers" else who
table = ui.segment_journeys(segment)
st.caption(
    f"{len(table):,} rows for {table['customer_id'].nunique():,} customers. "
    + (
        "Text cells are stored as text, which Excel never runs as a formula; numbers stay numbers."
        if fmt == "xlsx"
        else "Text cells that a spreadsheet could run as a formula (=, +, -, @ ...) are "
        "neutralised; numbers stay numbers."
    )
)
bom = bom and fmt == "csv"
if st.button("Prepare the download", icon=":material/inventory_2:", type="primary"):
    ui.prepare_export(table, fmt, bom, who)
if prepared := ui.prepared_export(who, fmt, bom):
    res = prepared["result"]
    st.download_button(
        f"Download {prepared['file_name']} ({res.n_bytes / 1024:,.0f} KB)",
        res.data,
        file_name=prepared["file_name"],
        mime=res.mime,
        icon=":material/download:",
    )
    st.caption(
        f"Run {prepared['run_id']} ({prepared['scenario'] or 'unsaved scenario'}): "
        f"{prepared['what']}, {res.row_count:,} rows, sha256 `{res.sha256[:16]}…`"
    )

st.subheader("Scenarios")
left, right = st.columns(2)
with left.form("save_scenario"):
    name = st.text_input("Scenario name", value=name_now or "", max_chars=200)
    if st.form_submit_button("Save the current scenario", icon=":material/save:"):
        saved = ui.save_scenario(name)
        st.success(f"Saved '{saved.name}' (revision {saved.revision}).")
scenarios = db.list_scenarios()
names = [sc.name for sc in scenarios]
pick = right.selectbox("Saved scenarios", names, index=None, placeholder="Choose a scenario")
if right.button("Load", disabled=pick is None, icon=":material/upload:"):
    ui.load_scenario(pick)
    st.rerun()
st.caption(f"Current scenario: **{name_now or 'unsaved'}** (store: {db.dialect}).")
if scenarios:
    st.dataframe(ui.scenarios_frame(scenarios), hide_index=True, width="stretch")

st.subheader("Run history and re-run check")
runs = db.list_runs(limit=50)
if not runs:
    st.info("No runs yet: prepare a download to record one.", icon=":material/history:")
    st.stop()
st.dataframe(ui.runs_frame(runs), hide_index=True, width="stretch", column_config=ui.RUN_COLUMNS)
by_id = {r.id: r for r in runs}
default = st.session_state.get(ui.VERIFY_RUN)
run_id = st.selectbox(
    "Run to check",
    list(by_id),
    index=list(by_id).index(default) if default in by_id else 0,
    format_func=lambda i: f"run {i} ({by_id[i].scenario_name or 'unsaved'})",
)
run = by_id[run_id]
check = ui.repro_check(run)
(st.success if check.ok else st.warning)(check.message)
if st.session_state.get(ui.VERIFY_RUN) == run.id and ui.settings() == ui.run_settings(run):
    if ui.verify_run(run):
        st.success(f"Re-run of run {run.id}: journeys byte-identical (sha256 matches).")
    else:
        st.error(f"Re-run of run {run.id}: the journeys differ from the recorded ones.")
elif st.button("Re-run this run's scenario and compare", icon=":material/replay:"):
    ui.load_run_settings(run)
    st.rerun()
