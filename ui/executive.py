"""The executive report's download buttons on Overview (:mod:`core.insights.executive`).

The buttons hand Streamlit a callable (deferred download): the report is built and rendered
only when a user clicks, from the same cached objects the Overview page draws, so a rerun
costs nothing. The callable runs outside the page's script, so it captures everything it
needs when the page runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from core.insights.executive import ExecutiveReport, executive_report, render_html
from core.opportunity import offerable_now
from ui.data import require_data
from ui.pipeline import best_baseline, churn_proba, components, outcome, solved
from ui.state import SOURCE, settings


def report_inputs(horizon: int) -> dict[str, Any]:
    """Everything :func:`core.insights.executive.executive_report` needs for the current view."""
    data = require_data()
    s = settings()
    ctx, comps = components()
    _, result = solved()
    name, base = best_baseline()
    return {
        "frame": data.frame,
        "result": result,
        "baseline": base,
        "baseline_name": name,
        "table": outcome().table,
        "catalog": ctx.catalog,
        "settings": s,
        "churn_proba": churn_proba(),
        "offerable": np.asarray(offerable_now(ctx.catalog, comps.held).any(axis=1)),
        "horizon_months": int(horizon),
        "data_name": str(st.session_state[SOURCE].get("name", "")),
        "data_sha256": data.sha256,
    }


def build_report(inputs: dict[str, Any]) -> ExecutiveReport:
    """The :class:`~core.insights.executive.ExecutiveReport` of :func:`report_inputs`."""
    args = dict(inputs)
    return executive_report(
        args.pop("frame"),
        args.pop("result"),
        args.pop("baseline"),
        args.pop("baseline_name"),
        args.pop("table"),
        args.pop("catalog"),
        args.pop("settings"),
        **args,
    )


def html_maker(inputs: dict[str, Any]) -> Callable[[], bytes]:
    """A callable that renders the report's HTML (for a deferred download)."""
    return lambda: render_html(build_report(inputs)).encode("utf-8")


def pdf_maker(inputs: dict[str, Any]) -> Callable[[], bytes]:
    """A callable that prints the report to PDF with headless Chromium (deferred download)."""

    def make() -> bytes:
        from core.ops.pdf import print_to_pdf

        with tempfile.TemporaryDirectory(prefix="cjo-report-") as tmp:
            html = Path(tmp) / "report.html"
            html.write_bytes(html_maker(inputs)())
            return print_to_pdf(html, Path(tmp) / "report.pdf").read_bytes()

    return make


def report_buttons(horizon: int) -> None:
    """The executive report's download buttons: HTML, and PDF when Chromium is installed."""
    from core.ops.pdf import find_chromium

    inputs = report_inputs(horizon)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    row = st.container(horizontal=True, horizontal_alignment="right")
    row.download_button(
        "Executive report (HTML)",
        html_maker(inputs),
        file_name=f"executive-report-{stamp}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/summarize:",
        help="These KPI cards, their deltas, the charts and the scenario in one self-contained "
        "file to forward (opens in any browser, without network).",
        key="report_html",
    )
    if find_chromium() is not None:
        row.download_button(
            "PDF",
            pdf_maker(inputs),
            file_name=f"executive-report-{stamp}.pdf",
            mime="application/pdf",
            on_click="ignore",
            icon=":material/picture_as_pdf:",
            help="The same report printed by headless Chromium (a few seconds).",
            key="report_pdf",
        )
