"""Text features: every text scored, then aggregated per customer into ``text_*`` columns.

:func:`score_texts` gives each text its lexicon sentiment, its keyword topics, a complaint
flag and, when a supervised model is given, its probability of coming from an unhappy writer.
:func:`customer_text_features` aggregates a customer's texts: how many (``text_n``), the mean,
lowest and latest sentiment, the number of complaints, the share of texts on each topic
(``text_trait_<key>`` for the trait topics of the keyword file, ``text_topic_<key>`` for the
others), the
mean and highest unhappy probability and the days since the last text. Customers without texts
get neutral values (no texts, sentiment 0, the unhappy base rate) and ``text_has = 0``, so the
models see "no feedback" as a value of its own.

:func:`text_features_for` is the whole path for a customer table: leakage guard (texts dated on
or after the cutoff and outcome texts stay out), a supervised unhappy model where the kept texts
carry ratings (cross-fitted, so a rated text is never scored by a model that saw its rating),
scores, aggregation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.common.progress import Progress, stage
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.data.feedback import (
    TEXT_COUNT,
    TEXT_PREFIX,
    TEXT_TRAIT_PREFIX,
    FeedbackTable,
    TextGuardReport,
    guard_texts,
)
from core.models.text.lexicon import NEGATIVE_BELOW, lexicon_scores
from core.models.text.supervised import TextModel
from core.models.text.topics import TopicRules

#: Fewest rated texts (and unhappy ones among them) to fit the supervised model.
MIN_LABELLED = 200
MIN_UNHAPPY = 20


def score_texts(
    frame: pd.DataFrame,
    *,
    topics: TopicRules | None = None,
    model: TextModel | None = None,
    unhappy: np.ndarray | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Every text of ``frame`` (a :attr:`FeedbackTable.frame`) with its scores.

    Parameters
    ----------
    frame
        ``id``, ``date``, ``text`` (and ``rating``, ``channel``) per text.
    topics
        Keyword topics (default: the shipped ``data/topics.toml``).
    model
        A fitted unhappy model; its probability becomes ``p_unhappy``.
    unhappy
        Precomputed ``p_unhappy`` (e.g. cross-fitted); wins over ``model``.

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``sentiment`` (lexicon, [-1, 1]), ``topic_<key>`` (bool per
        topic), ``complaint`` (bool: negative about a complaint topic, or likely unhappy) and,
        with a model, ``p_unhappy``.
    """
    rules = topics or TopicRules.load()
    texts = frame["text"].tolist()
    out = frame.copy()
    out["sentiment"] = lexicon_scores(texts, progress=stage(progress, 0.0, 0.7))
    matched = rules.match(texts)
    complaint_topics = np.zeros(len(out), dtype=bool)
    out.attrs["trait_topics"] = [t.key for t in rules.topics if t.trait]
    for t in rules.topics:
        flag = matched[t.key].to_numpy()
        out[f"topic_{t.key}"] = flag
        if t.complaint:
            complaint_topics |= flag
    if unhappy is None and model is not None:
        unhappy = model.predict_proba(texts)
    negative = out["sentiment"].to_numpy() < NEGATIVE_BELOW
    if unhappy is not None:
        out["p_unhappy"] = np.asarray(unhappy, dtype=np.float64)
        likely = out["p_unhappy"].to_numpy() > 0.5
        out["complaint"] = (negative & complaint_topics) | likely
    else:
        out["complaint"] = negative & complaint_topics
    if progress is not None:
        progress(1.0, 1.0)
    return out


def customer_text_features(
    scored: pd.DataFrame,
    ids: Sequence[Any] | np.ndarray,
    *,
    as_of: str | pd.Timestamp | None = None,
    base_rate: float | None = None,
) -> pd.DataFrame:
    """Per-customer ``text_*`` features of the customers ``ids`` (rows in that order).

    Parameters
    ----------
    scored
        Output of :func:`score_texts`.
    ids
        Customer ids of the table the features join (as strings match ``scored["id"]``).
    as_of
        Date the ``text_days_since`` feature counts to (default: the latest text date).
    base_rate
        ``text_unhappy_mean`` of customers without texts (default: the mean over texts).
    """
    keys = pd.Index(pd.Series(np.asarray(ids, dtype=object)).astype(str))
    topic_cols = [c for c in scored.columns if c.startswith("topic_")]
    s = scored.assign(id=scored["id"].astype(str))
    if "date" in s.columns and s["date"].notna().any():
        s = s.sort_values(["id", "date"], kind="stable")
    g = s.groupby("id", sort=False)
    agg = pd.DataFrame(
        {
            TEXT_COUNT: g.size().astype(np.float64),
            f"{TEXT_PREFIX}sentiment_mean": g["sentiment"].mean(),
            f"{TEXT_PREFIX}sentiment_min": g["sentiment"].min(),
            f"{TEXT_PREFIX}sentiment_latest": g["sentiment"].last(),
            f"{TEXT_PREFIX}complaints": g["complaint"].sum().astype(np.float64),
        }
    )
    traits = set(scored.attrs.get("trait_topics", ()))
    for c in topic_cols:
        key = c.removeprefix("topic_")
        name = f"{TEXT_TRAIT_PREFIX}{key}" if key in traits else f"{TEXT_PREFIX}{c}"
        agg[name] = g[c].mean()
    if "p_unhappy" in s.columns:
        agg[f"{TEXT_PREFIX}unhappy_mean"] = g["p_unhappy"].mean()
        agg[f"{TEXT_PREFIX}unhappy_max"] = g["p_unhappy"].max()
    dated = "date" in s.columns and s["date"].notna().any()
    if dated:
        ref = pd.Timestamp(as_of) if as_of is not None else s["date"].max()
        agg[f"{TEXT_PREFIX}days_since"] = (ref - g["date"].max()).dt.days.astype(np.float64)
    out = agg.reindex(keys)
    has = out[TEXT_COUNT].notna()
    fill: dict[str, float] = {c: 0.0 for c in out.columns}
    if "p_unhappy" in s.columns:
        rate = float(s["p_unhappy"].mean()) if base_rate is None else float(base_rate)
        fill[f"{TEXT_PREFIX}unhappy_mean"] = rate
        fill[f"{TEXT_PREFIX}unhappy_max"] = rate
    if dated:
        fill[f"{TEXT_PREFIX}days_since"] = float(np.nanmax(agg[f"{TEXT_PREFIX}days_since"])) + 30
    out = out.fillna(fill)
    out.insert(0, f"{TEXT_PREFIX}has", has.to_numpy(dtype=np.float64))
    out.index.name = "id"
    return out.astype(np.float64)


@dataclass(frozen=True, eq=False)
class TextFeatures:
    """Text features of a customer table and how they were made.

    Attributes
    ----------
    features : pandas.DataFrame
        ``text_*`` columns, one row per customer of the table (its order), index the ids.
    scored : pandas.DataFrame
        Every kept text with its scores (:func:`score_texts`).
    guard : TextGuardReport
        What the leakage guard dropped.
    model : TextModel or None
        The supervised unhappy model (None without enough rated texts).
    notes : tuple of str
    """

    features: pd.DataFrame
    scored: pd.DataFrame
    guard: TextGuardReport
    model: TextModel | None
    notes: tuple[str, ...]

    def join(self, customers: pd.DataFrame) -> pd.DataFrame:
        """``customers`` with the ``text_*`` columns added (rows in the same order)."""
        extra = self.features.reset_index(drop=True)
        extra.index = customers.index
        base = customers.drop(columns=[c for c in extra.columns if c in customers.columns])
        return pd.concat([base, extra], axis=1)


def _crossfit(texts: list[str], y: np.ndarray, seed: int) -> tuple[np.ndarray, TextModel]:
    """Out-of-fold P(unhappy) of labelled texts (2 halves) and a model fitted on all of them."""
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(texts)) % 2
    oof = np.zeros(len(texts))
    arr = np.asarray(texts, dtype=object)
    for h in (0, 1):
        tr, te = half != h, half == h
        m = TextModel(folds=3, target="unhappy rating", random_state=seed).fit(arr[tr], y[tr])
        oof[te] = m.predict_proba(arr[te])
    full = TextModel(folds=3, target="unhappy rating", random_state=seed).fit(arr, y)
    return oof, full


def text_features_for(
    customers: pd.DataFrame,
    feedback: FeedbackTable,
    *,
    id_column: str = "Customer ID",
    cutoff: str | pd.Timestamp | None = None,
    topics: TopicRules | None = None,
    supervised: bool = True,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
) -> TextFeatures:
    """Guard, score and aggregate ``feedback`` into features of ``customers``.

    Parameters
    ----------
    customers
        The customer table (its ``id_column`` joins ``feedback``'s ids).
    feedback
        Validated texts (:func:`core.data.feedback.read_feedback`).
    cutoff
        Start of the outcome period: texts dated on or after it, and undated ones, are dropped.
    supervised
        Fit the unhappy model where enough kept texts carry ratings.
    random_state
        Seed of the cross-fitting.
    """
    kept, report = guard_texts(feedback.frame, cutoff=cutoff)
    notes = list(feedback.notes) + list(report.notes)
    seed = seed_of(random_state, high=SKLEARN_SEED_HIGH)
    unhappy = None
    model = None
    rated = kept["rating"].notna().to_numpy()
    if supervised and feedback.scale is not None and rated.sum() >= MIN_LABELLED:
        y = (kept.loc[rated, "rating"].to_numpy() <= feedback.scale[0] + 1).astype(np.float64)
        if min(y.sum(), len(y) - y.sum()) >= MIN_UNHAPPY:
            texts = kept["text"].tolist()
            oof, model = _crossfit([t for t, r in zip(texts, rated, strict=True) if r], y, seed)
            unhappy = np.zeros(len(kept))
            unhappy[rated] = oof
            if (~rated).any():
                unhappy[~rated] = model.predict_proba(kept.loc[~rated, "text"].tolist())
    if supervised and model is None:
        notes.append(
            f"no supervised text model: fewer than {MIN_LABELLED} rated texts (or "
            f"{MIN_UNHAPPY} unhappy ones) after the leakage guard; lexicon and topics only."
        )
    scored = score_texts(kept, topics=topics, unhappy=unhappy, progress=stage(progress, 0.2, 0.95))
    ids = customers[id_column].to_numpy(dtype=object)
    as_of = report.cutoff if report.cutoff is not None else None
    base = model.base_rate_ if model is not None else None
    features = customer_text_features(scored, ids, as_of=as_of, base_rate=base)
    known = set(scored["id"].astype(str))
    unmatched = len(known - set(pd.Series(ids).astype(str)))
    if unmatched:
        notes.append(f"{unmatched} writer id(s) are not in the customer table; their texts unused.")
    if progress is not None:
        progress(1.0, 1.0)
    return TextFeatures(features, scored, report, model, tuple(notes))


def synthetic_text_features(
    customers: pd.DataFrame, truth: pd.DataFrame, seed: int = 0
) -> tuple[pd.DataFrame, TextFeatures]:
    """``customers`` of a synthetic population with the ``text_*`` features of their feedback.

    The feedback is :func:`core.data.synthetic.feedback.feedback_frame` (same seed); the leakage
    guard's cutoff is the start of the outcome quarter, so exit surveys and texts written in it
    stay out. Used by ``opportunity-check --texts`` and ``benchmarks/feedback.py`` to measure
    what the texts add on truth.

    Returns
    -------
    (customers with text features, TextFeatures)
    """
    from core.data.feedback import read_feedback
    from core.data.synthetic.feedback import OUTCOME_START, feedback_frame

    fb = feedback_frame(customers, truth, seed=seed)
    table = read_feedback(
        fb, text="text", id="Customer ID", date="date", rating="rating", channel="channel"
    )
    tf = text_features_for(customers, table, cutoff=OUTCOME_START, random_state=seed)
    return tf.join(customers), tf
