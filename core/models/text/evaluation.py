"""How well each text score tells unhappy writers, on a seeded held-out half (``feedback``).

:func:`evaluate_feedback` scores every text (lexicon, topics) and, when the texts carry ratings,
splits the rated texts into two seeded halves (stratified on *unhappy*: a rating in the lowest
two points of the scale), fits the supervised model and the plain TF-IDF + logistic regression
on one half and measures on the other:

``auc_unhappy``
    ROC AUC of the score for "unhappy" (the lexicon's negated compound, the models' P(unhappy)).
``spearman``
    Spearman correlation of the score, oriented so that higher means happier, with the rating.

Every text also gets a ``p_unhappy`` for the ``--out`` file: the held-out half from the model of
the training half, the training half from a model of the held-out half (cross-fitted), unrated
texts from a model of all rated texts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.progress import Progress, stage
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.data.feedback import FeedbackTable
from core.models.text.features import score_texts
from core.models.text.lexicon import NEGATIVE_BELOW
from core.models.text.supervised import TextModel, plain_baseline
from core.models.text.topics import TopicRules


@dataclass(frozen=True, eq=False)
class FeedbackReport:
    """What ``python -m core feedback`` reports.

    Attributes
    ----------
    n : int
        Texts scored.
    lexicon, supervised : dict
        ``{"auc_unhappy", "spearman"}`` on the held-out half (None without ratings);
        ``supervised`` also holds ``plain_tfidf_logreg`` (the same figures of the plain
        baseline), ``n_train``, ``n_test`` and ``card`` (the model card).
    topics : dict
        Topic -> share of texts that mention it.
    scored : pandas.DataFrame
        Every text with its scores (:func:`core.models.text.features.score_texts`).
    seconds : float
    notes : tuple of str
    """

    n: int
    lexicon: dict[str, Any]
    supervised: dict[str, Any] | None
    topics: dict[str, float]
    scored: pd.DataFrame
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (keys ``n``, ``lexicon``, ``supervised`` with ratings, ``seconds``)."""
        out: dict[str, Any] = {"n": self.n, "lexicon": self.lexicon}
        if self.supervised is not None:
            out["supervised"] = self.supervised
        out.update(topics=self.topics, seconds=self.seconds, notes=list(self.notes))
        return out


def _metrics(score: np.ndarray, unhappy: np.ndarray, rating: np.ndarray) -> dict[str, Any]:
    """AUC of ``-score`` for unhappy and Spearman of ``score`` with the rating."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(unhappy, -score)) if 0 < unhappy.sum() < len(unhappy) else None
    rho = spearmanr(score, rating).statistic if np.ptp(score) > 0 else float("nan")
    return {"auc_unhappy": auc, "spearman": None if not np.isfinite(rho) else float(rho)}


def evaluate_feedback(
    table: FeedbackTable,
    *,
    seed: int = 0,
    topics: TopicRules | None = None,
    progress: Progress | None = None,
) -> FeedbackReport:
    """Score ``table``'s texts and, with ratings, compare the scores on a held-out half."""
    from sklearn.model_selection import train_test_split

    start = time.perf_counter()
    frame = table.frame
    texts = frame["text"].tolist()
    notes = list(table.notes)
    rated = frame["rating"].notna().to_numpy()
    unhappy_all = table.unhappy()
    p_unhappy = None
    supervised: dict[str, Any] | None = None
    lexicon: dict[str, Any] = {"auc_unhappy": None, "spearman": None}
    can_learn = rated.sum() >= 20 and 4 <= unhappy_all[rated].sum() <= rated.sum() - 4
    if table.scale is not None and not can_learn:
        notes.append(
            "too few rated texts (or too few unhappy / happy ones) for a held-out comparison: "
            "at least 20 rated texts with 4 of each are needed."
        )
    if table.scale is not None and can_learn:
        rs = seed_of(seed, high=SKLEARN_SEED_HIGH)
        idx = np.flatnonzero(rated)
        y = unhappy_all[idx].astype(np.float64)
        tr, te = train_test_split(idx, test_size=0.5, random_state=rs, stratify=y)
        arr = np.asarray(texts, dtype=object)
        y_tr = unhappy_all[tr].astype(np.float64)
        y_te = unhappy_all[te].astype(np.float64)
        model = TextModel(target=f"rating <= {table.scale[0] + 1}", random_state=rs)
        model.fit(arr[tr], y_tr, progress=stage(progress, 0.0, 0.35))
        p_te = model.predict_proba(arr[te])
        other = TextModel(target=model.target, random_state=rs)
        other.fit(arr[te], y_te, progress=stage(progress, 0.35, 0.6))
        p_unhappy = np.zeros(len(texts))
        p_unhappy[te] = p_te
        p_unhappy[tr] = other.predict_proba(arr[tr])
        if (~rated).any():
            full = TextModel(target=model.target, random_state=rs).fit(arr[idx], y)
            p_unhappy[~rated] = full.predict_proba(arr[~rated])
        rating = frame["rating"].to_numpy(dtype=np.float64)
        plain = plain_baseline(arr[tr], y_tr, arr[te])
        held = _metrics(-p_te, y_te, rating[te])
        supervised = {
            **held,
            "plain_tfidf_logreg": _metrics(-plain, y_te, rating[te]),
            "n_train": len(tr),
            "n_test": len(te),
            "card": model.card(held_out=held),
        }
        test_rows = te
    scored = score_texts(
        frame, topics=topics, unhappy=p_unhappy, progress=stage(progress, 0.6, 1.0)
    )
    if supervised is not None:
        sent = scored["sentiment"].to_numpy()
        rating = frame["rating"].to_numpy(dtype=np.float64)
        lexicon = _metrics(sent[test_rows], unhappy_all[test_rows].astype(float), rating[test_rows])
    sent = scored["sentiment"].to_numpy()
    lexicon.update(
        mean=float(sent.mean()) if len(sent) else None,
        share_negative=float(np.mean(sent < NEGATIVE_BELOW)) if len(sent) else None,
    )
    topic_share = {
        c.removeprefix("topic_"): float(scored[c].mean())
        for c in scored.columns
        if c.startswith("topic_")
    }
    if table.scale is None:
        notes.append("no ratings given (--rating): no held-out comparison, no supervised model.")
    return FeedbackReport(
        n=len(frame),
        lexicon=lexicon,
        supervised=supervised,
        topics=topic_share,
        scored=scored,
        seconds=time.perf_counter() - start,
        notes=tuple(notes),
    )
