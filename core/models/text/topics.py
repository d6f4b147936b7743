"""Named topics from an editable keyword file, and supervised topic classes where labels exist.

The keyword file (``data/topics.toml``, or any TOML in its shape) lists topics, each with a
label, keywords and whether a negative text about it counts as a complaint::

    [topics.price]
    label = "Price"
    complaint = true
    keywords = ["price*", "expens*", "value for money"]
    trait = true

A keyword matches a whole word, case-insensitive; ``*`` at the end matches any word that starts
with it; several words match as a phrase. ``trait = true`` marks a topic that says what a
customer *cares about* (price, service) rather than how the current products serve them: its
share of a customer's texts is a pre-treatment trait that the offer-effect estimators may adjust
for (``text_trait_<key>``); the others (``text_topic_<key>``), like sentiment, are consequences
of the current portfolio and only feed the predictive models. :class:`TopicRules` compiles one regular expression
per topic; :meth:`TopicRules.match` gives a bool table (texts x topics).

Where texts carry a topic label (a ticket category, say), :func:`fit_topic_classes` learns them
with the supervised text model, one class per label, cross-validated like the unhappy model.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.models.text._base import as_texts

#: The shipped topics file.
DEFAULT_TOPICS = Path(__file__).resolve().parents[3] / "data" / "topics.toml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TopicError(CJOError):
    """A topics file that is malformed."""


@dataclass(frozen=True)
class Topic:
    """One named topic: its key, label, keywords and whether negative texts are complaints."""

    key: str
    label: str
    keywords: tuple[str, ...]
    complaint: bool = True
    trait: bool = False


def _pattern(keywords: Iterable[str]) -> re.Pattern[str]:
    parts = []
    for kw in keywords:
        words = kw.strip().lower().split()
        pieces = []
        for w in words:
            star = w.endswith("*")
            core = re.escape(w.rstrip("*")).replace("\\'", "'?")
            pieces.append(core + (r"[\w'-]*" if star else ""))
        parts.append(r"\s+".join(pieces))
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])", re.IGNORECASE)


@dataclass(frozen=True)
class TopicRules:
    """Compiled keyword topics (see the module docstring)."""

    topics: tuple[Topic, ...]
    source: str = "topics"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.topics)

    @classmethod
    def load(cls, path: str | Path | None = None) -> TopicRules:
        """Read and check a topics TOML (default :data:`DEFAULT_TOPICS`)."""
        p = Path(path) if path is not None else DEFAULT_TOPICS
        if not p.is_file():
            raise TopicError(f"topics file not found: {p}. Fix: check the path.")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TopicError(f"{p.name}: not valid TOML ({exc}).") from None
        return cls.from_dict(data, source=p.name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "topics") -> TopicRules:
        """Build from the parsed TOML ``{"topics": {key: {label, keywords, complaint}}}``."""
        raw = data.get("topics")
        if not isinstance(raw, Mapping) or not raw:
            raise TopicError(f"{source}: no [topics.NAME] tables. Fix: add at least one topic.")
        topics = []
        for key, spec in raw.items():
            where = f"{source}: topic '{key}'"
            if not _NAME.match(str(key)):
                raise TopicError(f"{where}: use lower-case letters, digits and _ in the name.")
            if not isinstance(spec, Mapping):
                raise TopicError(f"{where}: must be a table with label and keywords.")
            unknown = sorted(set(spec) - {"label", "keywords", "complaint", "trait"})
            if unknown:
                raise TopicError(f"{where}: unknown field(s) {unknown}.")
            kws = spec.get("keywords")
            if (
                not isinstance(kws, list)
                or not kws
                or not all(isinstance(k, str) and k.strip().rstrip("*") for k in kws)
            ):
                raise TopicError(f"{where}: 'keywords' must be a non-empty list of words.")
            complaint, trait = spec.get("complaint", True), spec.get("trait", False)
            if not isinstance(complaint, bool) or not isinstance(trait, bool):
                raise TopicError(f"{where}: 'complaint' and 'trait' must be true or false.")
            label = str(spec.get("label", key))
            topics.append(Topic(str(key), label, tuple(kws), complaint, trait))
        return cls(tuple(topics), source)

    def match(self, texts: Iterable[object]) -> pd.DataFrame:
        """bool DataFrame ``[n, topics]``: which topics each text mentions.

        Examples
        --------
        >>> rules = TopicRules.load()
        >>> rules.match(["Way too expensive", "Support was rude"]).sum().to_dict()["price"]
        1
        """
        s = pd.Series(as_texts(texts), dtype=object)
        out = {}
        for topic in self.topics:
            pat = _pattern(topic.keywords)
            out[topic.key] = s.map(lambda t, p=pat: p.search(t) is not None).to_numpy(dtype=bool)
        return pd.DataFrame(out, index=pd.RangeIndex(len(s)))


def fit_topic_classes(
    texts: Iterable[object], labels: Iterable[object], *, random_state: int = 0
) -> Any:
    """A supervised topic classifier where texts carry a topic label (e.g. a ticket category).

    Returns a fitted scikit-learn pipeline (TF-IDF word 1-2 grams with negation marks + a
    multinomial logistic regression) with ``classes_`` and ``cv_accuracy_`` (3-fold).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    from core.models.text._base import negate

    x = as_texts(texts)
    y = np.asarray([str(v) for v in labels], dtype=object)
    if len(set(y)) < 2:
        raise TopicError("topic labels: need at least two different labels to learn classes.")
    model = make_pipeline(
        TfidfVectorizer(preprocessor=negate, ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(C=3.0, max_iter=2000, random_state=random_state),
    )
    counts = pd.Series(y).value_counts()
    folds = int(min(3, counts.min()))
    cv = (
        float(np.mean(cross_val_score(model, x, y, cv=folds, scoring="accuracy")))
        if folds >= 2
        else float("nan")
    )
    model.fit(x, y)
    model.cv_accuracy_ = cv
    return model
