"""What a customer wrote, and what the data says about purchase timing (Customer page).

Feedback texts come from the file beside the data, ``<stem>.feedback.parquet`` (written by
``python -m core demo-data --feedback``; columns ``Customer ID, date, channel, text, rating``),
read and validated by :func:`core.data.feedback.read_feedback` and scored once per file with
the lexicon and the keyword topics (:func:`core.models.text.score_texts`). Purchase timing comes
from ``<stem>.timing.parquet`` (what ``python -m core timing --out`` writes). Without those
files the pages say so instead of drawing empty tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ui._base import CACHE_TTL
from ui.data import DEMO_PATH
from ui.state import SOURCE

#: Columns of :func:`customer_texts`.
TEXT_COLUMNS: tuple[str, ...] = ("date", "channel", "rating", "sentiment", "topics", "text")
NO_TEXTS = (
    "This data has no feedback texts. A file `<name>.feedback.parquet` beside the customer file "
    "(Customer ID, date, channel, text, rating) adds them: `python -m core demo-data --feedback` "
    "writes one for the synthetic population; `python -m core feedback` scores any file."
)
NO_DATES = (
    "This data has no purchase dates, so P(alive), expected purchases and contact dates cannot "
    "be shown. Fit them from a purchase log and put them beside the customer file: `python -m "
    "core timing purchases.csv --calibration-end DATE --out <name>.timing.parquet` "
    "(docs/timing.md)."
)


def _sibling(kind: str) -> Path | None:
    """``<stem>.<kind>.parquet`` beside the current data (a server path or the demo), or None."""
    src: dict[str, Any] = st.session_state.get(SOURCE) or {}
    if src.get("kind") == "demo":
        path = DEMO_PATH
    elif src.get("kind") == "path":
        path = Path(src["name"])
    else:
        return None
    file = path.with_name(f"{path.stem}.{kind}.parquet")
    return file if file.is_file() else None


def feedback_file() -> Path | None:
    """The feedback file beside the current data (``<stem>.feedback.parquet``), or None."""
    return _sibling("feedback")


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _timing(path: str, mtime: float) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    ids = frame["id"] if "id" in frame.columns else frame.index.to_series()
    frame.index = pd.Index(ids.astype(str).to_numpy())
    return frame


def timing_table() -> pd.DataFrame | None:
    """The per-customer timing beside the current data (``<stem>.timing.parquet``, what
    ``python -m core timing --out`` writes: ``id, p_alive, expected_purchases,
    next_purchase_date, alive_until_date ...``), indexed by customer id; or None."""
    path = _sibling("timing")
    return None if path is None else _timing(str(path), path.stat().st_mtime)


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner="Scoring feedback texts...")
def _scored(path: str, mtime: float) -> pd.DataFrame:
    from core.data.feedback import read_feedback
    from core.models.text import TopicRules, score_texts

    table = read_feedback(
        path, text="text", id="Customer ID", date="date", rating="rating", channel="channel"
    )
    scored = score_texts(table.frame)
    rules = TopicRules.load()
    flags = {t.key: t.label for t in rules.topics if f"topic_{t.key}" in scored.columns}
    scored["topics"] = [
        ", ".join(label for key, label in flags.items() if row[f"topic_{key}"])
        for _, row in scored.iterrows()
    ]
    return scored


def customer_texts(customer_id: object) -> pd.DataFrame | None:
    """The customer's texts, newest first (:data:`TEXT_COLUMNS`); None without a feedback file."""
    path = feedback_file()
    if path is None:
        return None
    scored = _scored(str(path), path.stat().st_mtime)
    mine = scored.loc[scored["id"].astype(str) == str(customer_id)]
    return mine.sort_values("date", ascending=False)[list(TEXT_COLUMNS)].reset_index(drop=True)


def texts_table(texts: pd.DataFrame) -> Any:
    """A customer's texts (:func:`customer_texts`) formatted for ``st.table`` (a pandas Styler):
    date, text, sentiment, topics, rating, channel; the date without a time, the sentiment
    signed to two decimals, a missing rating blank; no index.

    A static table shows each text whole (wrapped) and is drawn at once; ``st.dataframe``'s
    grid cut the texts at the column's width and updated its screen-reader copy ~0.2 s after
    each new customer (issue 19)."""
    order = [c for c in ("date", "text", "sentiment", "topics", "rating", "channel") if c in texts]
    shown = texts[order].copy()
    if "date" in shown:
        shown["date"] = pd.to_datetime(shown["date"], errors="coerce").dt.strftime("%Y-%m-%d")
    formats = {"sentiment": "{:+.2f}", "rating": "{:.0f}"}
    return shown.style.format({c: f for c, f in formats.items() if c in shown}, na_rep="").hide(
        axis="index"
    )


#: Timing columns of ``python -m core timing --out`` a customer table may carry, and labels.
TIMING_COLUMNS: dict[str, str] = {
    "p_alive": "P(alive)",
    "expected_purchases": "Expected purchases",
    "next_purchase_date": "Next purchase",
    "alive_until_date": "Contact before",
}


def customer_timing(customer_id: object) -> dict[str, Any] | None:
    """The customer's timing figures (:data:`TIMING_COLUMNS` of :func:`timing_table`); None
    when the data has no purchase timing, ``{}`` when this customer has no purchase history."""
    table = timing_table()
    if table is None:
        return None
    if str(customer_id) not in table.index:
        return {}
    row = table.loc[str(customer_id)]
    return {label: row[c] for c, label in TIMING_COLUMNS.items() if c in table.columns}


def signals_key() -> str:
    """Cache key of the feedback and timing files beside the current data (path and mtime)."""
    found = [_sibling(kind) for kind in ("feedback", "timing")]
    return "|".join("-" if p is None else f"{p}:{p.stat().st_mtime}" for p in found)


def segment_signals(
    frame: pd.DataFrame, labels: Any, names: dict[int, str], ids: Any
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Per-customer sentiment and P(alive) with their segment names, for the Segments page.

    Returns
    -------
    (sentiment, alive)
        ``sentiment``: one row per customer who wrote (``segment``, ``sentiment``: mean lexicon
        score of their texts, ``complaints``); None without a feedback file. ``alive``: one row
        per customer with a purchase history (``segment``, ``p_alive``); None without
        :func:`timing_table`.
    """
    import numpy as np

    seg = pd.Series([names.get(int(k), str(k)) for k in np.asarray(labels)], dtype=object)
    sentiment = None
    path = feedback_file()
    if path is not None:
        scored = _scored(str(path), path.stat().st_mtime)
        per = scored.groupby(scored["id"].astype(str)).agg(
            sentiment=("sentiment", "mean"), complaints=("complaint", "sum")
        )
        key = pd.Series(np.asarray(ids)).astype(str)
        joined = per.reindex(key.to_numpy())
        wrote = joined["sentiment"].notna().to_numpy()
        sentiment = pd.DataFrame(
            {
                "segment": seg.to_numpy()[wrote],
                "sentiment": joined["sentiment"].to_numpy()[wrote],
                "complaints": joined["complaints"].to_numpy()[wrote],
            }
        )
    alive = None
    table = timing_table()
    if table is not None:
        p = table["p_alive"].reindex(pd.Series(np.asarray(ids)).astype(str).to_numpy())
        known = p.notna().to_numpy()
        alive = pd.DataFrame({"segment": seg.to_numpy()[known], "p_alive": p.to_numpy()[known]})
    return sentiment, alive


NO_DISCOUNT_ARMS = (
    "This campaign log has no discount arms, so there is no response curve to draw. A log whose "
    "arms are product x discount level (`internet@0.1`, `phone@0`, ... plus a control group) "
    "gives the acceptance at each level per segment (docs/discounts.md)."
)


def discount_section(log: Any, outcome: str) -> None:
    """The Campaigns page's discount response curves, or why there are none."""
    from core.campaigns.discounts import discount_arms, log_curves
    from ui.charts import discount_curves, plot

    if not discount_arms(log.arms):
        st.info(NO_DISCOUNT_ARMS)
        return
    if log.kinds.get(outcome) != "binary":
        st.info(f"Response curves need a yes/no outcome; '{outcome}' is an amount.")
        return
    few = [c for c in log.features.columns if 1 < log.features[c].nunique() <= 6]
    segment = st.selectbox("Segment by", ["(all customers)", *few], key="camp_discount_segment")
    curves = log_curves(log, outcome, None if segment == "(all customers)" else segment)
    assert curves is not None
    plot(discount_curves(curves))
    st.caption(
        "A deeper discount is worth it only when the acceptance it adds pays for the margin "
        "given to everyone who accepts, including those who would have accepted at list price."
    )
    st.dataframe(curves, hide_index=True, width="stretch")


NO_DISCOUNTS = (
    "No discount levels: every step is offered at list price. A catalog whose products list "
    "`discounts` and a `margin` (e.g. `pricing`), with a past campaign whose arms were product x "
    "discount beside the customer file (`<name>.discounts.parquet`: Customer ID, product, "
    "discount, accepted), lets each step carry the level worth its margin (docs/discounts.md)."
)


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner="Learning the discount response...")
def _discount_choice(
    sha: str, catalog_name: str, path: str, mtime: float, _frame: pd.DataFrame, _catalog: Any
) -> Any:
    from core.campaigns.discounts import DiscountModel

    log = pd.read_parquet(path)
    model = DiscountModel(_catalog).fit(_frame, log)
    return model.choose(_frame)


def step_discounts(journeys: pd.DataFrame, frame: pd.DataFrame, sha: str, catalog: Any) -> Any:
    """Each journey step with the discount level chosen by value net of margin
    (:class:`core.campaigns.discounts.DiscountModel` fitted on ``<stem>.discounts.parquet``),
    or None when the catalog lists no levels or there is no such log."""
    path = _sibling("discounts")
    if path is None or journeys.empty or not any(p.discounts for p in catalog.products):
        return None
    from core.campaigns.discounts import journey_discounts

    choice = _discount_choice(sha, catalog.name, str(path), path.stat().st_mtime, frame, catalog)
    ids = frame["Customer ID"].astype(str).to_numpy()
    cols = ["customer_id", "step", "product"]
    return journey_discounts(journeys[cols], choice, ids)


def step_dates(journeys: pd.DataFrame) -> pd.DataFrame | None:
    """Each journey step's suggested contact date (:func:`core.models.timing.contact_schedule`)
    from :func:`timing_table`; None when the data has no purchase timing. No date falls before
    today."""
    table = timing_table()
    if table is None or journeys.empty:
        return None
    from core.models.timing import contact_schedule

    timing = pd.DataFrame(
        {
            c: pd.to_datetime(table[c], errors="coerce")
            if c in table.columns
            else pd.Series(pd.NaT, index=table.index)
            for c in ("next_purchase_date", "alive_until_date")
        },
        index=table.index,
    )
    plan = contact_schedule(
        journeys[["customer_id", "step", "product"]], timing, as_of=pd.Timestamp.today()
    )
    return plan.table
