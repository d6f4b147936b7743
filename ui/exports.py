"""Exports and runs: encode the journeys (core.ops.export), record the run, check a re-run.

Every download is recorded as a run (data fingerprint, seed, settings, the journeys' sha256) in
the store, so a later re-run of the same scenario can be checked byte for byte.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.insights import journey_summary
from core.pipeline import Settings
from ui._base import guarded
from ui.cache import scenario_key
from ui.data import require_data
from ui.pipeline import outcome
from ui.scenarios import current_scenario_name, split_params, store
from ui.state import EXPORT, VERIFY_RUN, init_state, set_settings, settings

RUN_COLUMNS = {
    "total opportunity": st.column_config.NumberColumn(format="%.1f"),
    "share with offer": st.column_config.NumberColumn(format="percent"),
}


def prepare_export(table: pd.DataFrame, fmt: str, bom: bool, what: str) -> dict[str, Any]:
    """Encode ``table`` (core.ops.export.render, as the CLI) and record the run and the export.

    The run's fingerprint is the sha256 of the *full* journeys CSV (no BOM), so a re-run is
    checked on the whole scenario whatever was downloaded. Returns and keeps in session state
    ``{"key", "result", "run_id", "file_name", "what", "scenario"}``.
    """
    from core.ops.export import render

    data = require_data()
    s = settings()
    out = outcome()
    result = guarded(lambda: render(table, fmt, bom=bom))
    fingerprint = guarded(lambda: render(out.table, "csv"))
    name = current_scenario_name()
    figures = journey_summary(out.result)
    summary = {
        "n_customers": figures.n_customers,
        "total_opportunity": figures.total_opportunity,
        "share_with_offer": figures.share_with_offer,
        "rows": int(len(out.table)),
    }

    def record() -> Any:
        db = store()
        run = db.record_run(
            name,
            seed=s.seed,
            data_hash=data.sha256,
            journeys_sha256=fingerprint.sha256,
            params=s.to_dict(),
            summary=summary,
        )
        db.record_export(run, result.format, result.row_count, result.sha256)
        return run

    run = guarded(record)
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in (name or "journeys"))
    prepared = {
        "key": (scenario_key(s), what, fmt, bool(bom)),
        "result": result,
        "run_id": run.id,
        "file_name": f"{stem}-run{run.id}.{result.format}",
        "what": what,
        "scenario": name,
    }
    st.session_state[EXPORT] = prepared
    return prepared


def prepared_export(what: str, fmt: str, bom: bool) -> dict[str, Any] | None:
    """The download prepared for exactly this scenario, selection and format, else None."""
    init_state()
    prepared: dict[str, Any] | None = st.session_state[EXPORT]
    if prepared and prepared["key"] == (scenario_key(settings()), what, fmt, bool(bom)):
        return prepared
    return None


def runs_frame(runs: list[Any]) -> pd.DataFrame:
    """The run history as a table (newest first)."""
    rows = []
    for r in runs:
        summary = r.summary
        rows.append(
            {
                "run": r.id,
                "scenario": r.scenario_name or "(unsaved)",
                "created (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "seed": r.seed,
                "customers": summary.get("n_customers"),
                "total opportunity": summary.get("total_opportunity"),
                "share with offer": summary.get("share_with_offer"),
                "data sha256": r.data_hash[:12],
                "journeys sha256": r.journeys_sha256[:12],
                "code": r.code_version,
            }
        )
    return pd.DataFrame(rows)


def run_settings(run: Any) -> Settings:
    """The settings a run used."""
    s: Settings = guarded(lambda: split_params(run.params)[0])
    return s


def repro_check(run: Any) -> Any:
    """:func:`core.ops.store.check_reproducible` of a run against the data loaded now."""
    from core.ops.store import check_reproducible

    return guarded(lambda: check_reproducible(run, require_data().sha256))


def load_run_settings(run: Any) -> None:
    """Make a run's settings current and remember to compare its journeys after the rerun."""
    s, _ = guarded(lambda: split_params(run.params))
    set_settings(s)
    st.session_state[VERIFY_RUN] = run.id


def verify_run(run: Any) -> bool:
    """True when the current scenario's journeys are byte-identical to the run's.

    The current settings must be the run's (:func:`load_run_settings`). Compared in each form a
    run may have recorded: CSV or Excel (the dashboard), CSV with BOM or Parquet (``optimize
    --out``).
    """
    from core.ops.export import render
    from core.ops.store import verify_rerun

    table = outcome().table
    forms = (("csv", False), ("csv", True), ("parquet", False), ("xlsx", False))
    return any(verify_rerun(run, render(table, fmt, bom=bom).data or b"") for fmt, bom in forms)
