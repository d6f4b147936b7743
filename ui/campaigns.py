"""Campaign logs in the dashboard: the Campaigns page's source, analysis and downloads, and the
``campaign`` estimator's log.

The log of the Campaigns page is the demo's past campaign (``data/demo/customers.campaigns.parquet``,
written by ``python -m core demo-data``, joined to the demo population) or an upload whose
columns the user maps (arm, control label, outcomes, propensity, id). It is validated once per
file and mapping (:func:`core.campaigns.read_log`: a malformed log is one clear error with its
failures table, never a traceback) and analysed once per log and options
(:func:`core.campaigns.analyze`, ~20 s on the demo, with a progress bar: :func:`ui.cache.cached`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from core.common.errors import CJOError
from core.data.synthetic import campaigns_path
from ui._base import CACHE_TTL, ROOT, guarded, progress_bar
from ui.cache import cached, json_key
from ui.data import DEMO_PATH, UPLOAD_LIMITS, data_dirs, require_data
from ui.state import SOURCE, init_state, settings

if TYPE_CHECKING:  # core.campaigns (scikit-learn) loads when a campaign is used, not with ui
    from core.campaigns import CampaignAnalysis, CampaignLog

#: Session-state key of the Campaigns page's log: {"kind": "demo"} or an upload
#: ({"kind": "upload", "name", "bytes", "file_id"}).
CAMPAIGN_SOURCE = "campaign_source"
#: The demo population's past campaign (the layout of core.campaigns.OFFER_LOG).
DEMO_LOG = campaigns_path(DEMO_PATH)
#: Share of the log held out to value the learned targeting.
HOLDOUT = 0.5
#: Holdout of the next campaign when the plan cannot size one.
DEFAULT_CONTROL_SHARE = 0.1
ESTIMATOR_NOTE = (
    "**campaign**: learns from the demo's past randomized campaign (one offer or none per "
    "customer, with a control group) how likely each customer is to accept each offered product "
    "and what taking it did to revenue and churn. Randomized offers are not confounded by who "
    "chose the products in the past, unlike the estimators that learn from holdings; but a "
    "campaign of a few thousand customers measures average effects well and individual ones "
    "poorly, products it never offered get 0, and it only saw first offers. With *× acceptance* "
    "on, the campaign's acceptance weighs each offer."
)


@dataclass(frozen=True)
class LogChoice:
    """How to read a log: the columns' roles and what to join (the page's column pickers)."""

    arm: str
    control: str
    outcomes: tuple[str, ...]
    propensity: str | None = None
    id: str | None = None
    join: bool = True
    minimize: tuple[str, ...] = ()


def _source() -> dict[str, Any]:
    init_state()
    return dict(st.session_state.setdefault(CAMPAIGN_SOURCE, {"kind": "demo"}))


def demo_log_available() -> bool:
    """The demo's campaign log is on disk and the dashboard works on the demo population."""
    init_state()
    return DEMO_LOG.is_file() and st.session_state[SOURCE]["kind"] == "demo"


def demo_log_setting() -> str:
    """``Settings.campaign`` for the demo's log: its path relative to the project."""
    return str(DEMO_LOG.relative_to(ROOT))


# --------------------------------------------------------------------------------------------
# the campaign estimator's log
# --------------------------------------------------------------------------------------------


def _log_path(text: str) -> Path:
    """The log a scenario names, inside the folders the server may read (never elsewhere)."""
    path = Path(text)
    path = (path if path.is_absolute() else ROOT / path).resolve()
    if not any(path.is_relative_to(d.resolve()) for d in data_dirs()):
        raise CJOError(
            f"campaign log {text}: only files under {', '.join(str(d) for d in data_dirs())} "
            "can be read from the server. Fix: copy the log there, or choose another estimator."
        )
    return path


def offer_response(s: Any = None) -> Any:
    """The ``campaign`` estimator's fitted :class:`core.campaigns.OfferResponse` (cached).

    Reads the log ``s.campaign`` names (inside :func:`ui.data.data_dirs`), joins the current
    customers' features by id and fits it once per data, log and seed, with a progress bar.
    """
    from core.campaigns import fit_offer_response, read_offer_log

    s = s or settings()
    data = require_data()
    path = _log_path(s.campaign)
    mtime = path.stat().st_mtime if path.exists() else 0.0

    def compute() -> Any:
        bar, tick = progress_bar("Learning acceptance and effects from the campaign log...")
        try:
            log = read_offer_log(path, data.frame, limits=UPLOAD_LIMITS)
            tick(1, 3)
            return fit_offer_response(log, seed=s.seed)
        finally:
            bar.empty()

    return cached("campaign_response", (data.sha256, str(path), mtime, s.seed), compute)


# --------------------------------------------------------------------------------------------
# the Campaigns page
# --------------------------------------------------------------------------------------------


@st.cache_data(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _columns(sha: str, name: str, _payload: bytes | None) -> list[str]:
    from core.data.io import read_table

    raw, _ = read_table(_payload if _payload is not None else name, name=name, limits=UPLOAD_LIMITS)
    return [str(c) for c in raw.columns]


@st.cache_data(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _labels(sha: str, name: str, column: str, _payload: bytes | None) -> list[str]:
    from core.data.io import read_table

    raw, _ = read_table(_payload if _payload is not None else name, name=name, limits=UPLOAD_LIMITS)
    values = raw[column].dropna().astype(str).str.strip() if column in raw else pd.Series([])
    return sorted(v for v in values.unique().tolist() if v)[:200]


def _fingerprint(src: dict[str, Any]) -> tuple[str, str, bytes | None]:
    """(key, name, bytes or None) of a log source; the demo's key is its path and mtime."""
    if src["kind"] == "upload":
        if "sha256" not in src:
            src["sha256"] = hashlib.sha256(src["bytes"]).hexdigest()
        return src["sha256"], src["name"], src["bytes"]
    return f"{DEMO_LOG}:{DEMO_LOG.stat().st_mtime}", str(DEMO_LOG), None


def source_controls() -> tuple[dict[str, Any], LogChoice] | None:
    """The log source (demo or upload) and its column roles; None until there is a log."""
    src = _source()
    options = ["Demo campaign", "Upload a log"]
    pick = st.segmented_control(
        "Campaign log",
        options,
        default=options[0] if src["kind"] == "demo" else options[1],
        key="camp_source",
        help="The demo population's past campaign (one randomized offer or none per customer), "
        "or your own log: CSV or Parquet, one row per contact, an arm column with a control "
        "label, and numeric outcomes.",
    )
    if pick == options[1]:
        upload = st.file_uploader("Campaign log (CSV or Parquet)", type=["csv", "parquet", "tsv"])
        if upload is not None and src.get("file_id") != upload.file_id:
            src = {
                "kind": "upload",
                "name": upload.name,
                "bytes": upload.getvalue(),
                "file_id": upload.file_id,
            }
            st.session_state[CAMPAIGN_SOURCE] = src
        if src["kind"] != "upload":
            st.info("Upload a campaign log to analyse it.", icon=":material/upload_file:")
            return None
    elif src["kind"] != "demo":
        src = {"kind": "demo"}
        st.session_state[CAMPAIGN_SOURCE] = src
    if src["kind"] == "demo" and not demo_log_available():
        st.info(
            "The demo campaign belongs to the demo population and is written with it: use the "
            "demo data (Data page) and run `python -m core demo-data --out "
            "data/demo/customers.parquet`, or upload a log.",
            icon=":material/info:",
        )
        return None
    return src, _choice(src)


def _choice(src: dict[str, Any]) -> LogChoice:
    """The column pickers, preset to the demo's layout when the log has those columns."""
    from core.campaigns import OFFER_LOG, OFFER_OUTCOMES

    key, name, payload = _fingerprint(src)
    columns = guarded(lambda: _columns(key, name, payload))
    pre = {role: col if col in columns else None for role, col in OFFER_LOG.items()}

    def index(col: str | None) -> int | None:
        return columns.index(col) if col in columns else None

    with st.expander(
        "Columns of the log", icon=":material/view_column:", expanded=src["kind"] != "demo"
    ):
        c1, c2, c3, c4 = st.columns(4)
        arm = c1.selectbox("Arm column", columns, index=index(pre["arm"]) or 0, key="camp_arm")
        labels = guarded(lambda: _labels(key, name, arm, payload))
        control = c2.selectbox(
            "Control label",
            labels,
            index=labels.index("control") if "control" in labels else 0,
            key="camp_control",
            help="The arm label of the group that got no offer.",
        )
        propensity = c3.selectbox(
            "Assignment probability",
            columns,
            index=index(pre["propensity"]),
            key="camp_prop",
            placeholder="none: the observed arm shares",
            help="Probability of the arm each row received; empty for a completely randomized "
            "campaign.",
        )
        id_col = c4.selectbox(
            "Customer id", columns, index=index(pre["id"]), key="camp_id", placeholder="none"
        )
        default_out = [c for c in OFFER_OUTCOMES if c in columns]
        outcomes = st.multiselect(
            "Outcomes", columns, default=default_out, key="camp_outcomes",
            help="Numeric columns: 0/1 (accepted, converted) or amounts (revenue, spend).",
        )  # fmt: skip
        d1, d2 = st.columns(2)
        minimize = d1.multiselect(
            "Lower is better for", outcomes, default=[o for o in outcomes if o == "churned"],
            key="camp_minimize", help="Outcomes to minimise, such as churn.",
        )  # fmt: skip
        join = d2.toggle(
            "Join the features of the current customer data by id",
            value=id_col is not None,
            disabled=id_col is None,
            key="camp_join",
            help="The demo log holds no features: they come from the demo population.",
        )
    return LogChoice(
        arm=arm,
        control=str(control or ""),
        outcomes=tuple(outcomes),
        propensity=propensity,
        id=id_col,
        join=bool(join and id_col is not None),
        minimize=tuple(m for m in minimize if m in outcomes),
    )


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner="Validating the campaign log...")
def _read(
    key: str, choice_json: str, customers_sha: str, name: str, _payload: Any, _customers: Any
) -> CampaignLog:
    from core.campaigns import read_log

    c = LogChoice(**{**_loads(choice_json)})
    return read_log(
        _payload,
        arm=c.arm,
        control=c.control,
        outcomes=list(c.outcomes),
        propensity=c.propensity,
        id=c.id,
        customers=_customers,
        name=name,
        limits=UPLOAD_LIMITS,
    )


def _loads(text: str) -> dict[str, Any]:
    import json

    d = json.loads(text)
    d["outcomes"], d["minimize"] = tuple(d["outcomes"]), tuple(d["minimize"])
    return dict(d)


def campaign_log(src: dict[str, Any], choice: LogChoice) -> tuple[str, CampaignLog]:
    """(log key, validated log); a malformed log shows its error and table and stops the page."""
    if not choice.outcomes:
        guarded(lambda: _raise("choose at least one outcome column of the log."))
    key, name, payload = _fingerprint(src)
    data = require_data()
    customers = data.frame if choice.join else None
    choice_json = json_key(asdict(choice))
    sha = data.sha256 if choice.join else ""
    log: CampaignLog = guarded(
        lambda: _read(key, choice_json, sha, Path(name).name, payload or name, customers)
    )
    return f"{key}|{choice_json}|{sha}", log


def _raise(message: str) -> None:
    raise CJOError(message)


def campaign_analysis(log_key: str, log: CampaignLog, choice: LogChoice) -> CampaignAnalysis:
    """:func:`core.campaigns.analyze` once per log and options (progress bar the first time)."""
    from core.campaigns import analyze

    seed = settings().seed

    def compute() -> CampaignAnalysis:
        bar, tick = progress_bar(
            "Analysing the campaign: lifts, uplift models, targeting, Qini curves..."
        )
        try:
            return analyze(
                log, holdout=HOLDOUT, seed=seed, minimize=list(choice.minimize), progress=tick
            )
        finally:
            bar.empty()

    result: CampaignAnalysis = guarded(
        lambda: cached("campaign_analysis", (log_key, HOLDOUT, seed), compute)
    )
    return result


def next_test(log: CampaignLog, outcome: str, mde: float) -> dict[str, Any]:
    """:func:`core.campaigns.plan_next_test` for the customers the next campaign reaches."""
    from core.campaigns import plan_next_test

    n = max(len(require_data().frame), len(pd.unique(pd.Series(log.ids))))
    plan: dict[str, Any] = guarded(lambda: plan_next_test(log, outcome, mde, n_customers=n))
    return plan


def assignments_csv(
    log_key: str, analysis: CampaignAnalysis, outcome: str, control_share: float, join: bool
) -> tuple[Callable[[], bytes], int]:
    """The next campaign's assignment file as safe CSV (core.ops.export), as a download button's
    deferred ``data`` (the targeting predicts every customer's arm when the user clicks, not on
    every change of outcome), and its rows."""
    from core.insights.campaign_views import assignment_count, next_assignments
    from core.ops.export import render

    data = require_data()
    seed = settings().seed
    customers = data.frame if join else None

    def compute() -> bytes:
        table = next_assignments(analysis, outcome, control_share, customers=customers, seed=seed)
        out = render(table, "csv").data
        assert out is not None
        return out

    return compute, assignment_count(analysis, customers)


# --------------------------------------------------------------------------------------------
# the page's metric rows
# --------------------------------------------------------------------------------------------


def log_metrics(log: CampaignLog, analysis: CampaignAnalysis) -> None:
    """Rows, arms, control share and the held-out part, as four metric cards."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows", f"{log.n:,}", help="Contacts (or customers) in the log.", border=True)
    c2.metric("Offer arms", f"{log.n_arms - 1}", help="Arms besides control.", border=True)
    c3.metric(
        "Control group",
        f"{log.counts()[log.control] / log.n:.1%}",
        help=f"Share of rows in the control arm '{log.control}' (no offer).",
        border=True,
    )
    c4.metric(
        "Held out",
        f"{int(analysis.holdout.sum()):,}",
        help="Rows the targeting is valued on; the models learnt on the others.",
        border=True,
    )


def policy_metrics(summary: dict[str, Any], outcome: str, level: float) -> None:
    """The learned targeting, the best single arm and the gain, as three metric cards."""
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "Learned targeting",
        f"{summary['value']:.4g}",
        help=f"Mean {outcome} per held-out customer if each got the arm the uplift model picks "
        f"({level:.0%} interval {summary['ci_low']:.4g} to {summary['ci_high']:.4g}; doubly "
        "robust off-policy estimate).",
        border=True,
    )
    m2.metric(
        f"Everyone: {summary['best_arm']}",
        f"{summary['best_arm_value']:.4g}",
        help="The single arm with the best lift on the training part, given to everyone.",
        border=True,
    )
    m3.metric(
        "Gain of targeting",
        f"{summary['gain']:+.4g}",
        help=f"Learned targeting minus the best single arm on the same customers ({level:.0%} "
        f"interval {summary['gain_low']:.4g} to {summary['gain_high']:.4g}). Personalisation "
        f"strength {summary['strength']:g}: 0 means personalising showed no credible gain, so "
        "everyone gets the best arm.",
        border=True,
    )


def plan_metrics(plan: dict[str, Any]) -> float:
    """Sample size, control share and the next campaign's holdout; returns the holdout share."""
    per_arm, vs = plan["per_arm"], plan["targeting_vs_holdout"]
    share = float(vs["control_share"]) if vs is not None else DEFAULT_CONTROL_SHARE
    p1, p2, p3 = st.columns(3)
    p1.metric(
        "Customers per offer arm",
        f"{per_arm['n_per_arm']:,}",
        help="Sample size per treatment arm to detect the lift above.",
        border=True,
    )
    p2.metric(
        "Control share",
        f"{per_arm['control_share']:.1%}",
        help="Share of the test in control (sqrt(k) allocation for k offer arms).",
        border=True,
    )
    p3.metric(
        "Holdout of the targeted campaign",
        f"{share:.1%}",
        help="Random holdout kept as control in the assignment file below "
        f"({DEFAULT_CONTROL_SHARE:.0%} when the customers are too few to size one).",
        border=True,
    )
    return share
