"""Lexicon sentiment: VADER's valence lexicon and rules, no labels needed, fully offline.

VADER (Hutto & Gilbert 2014; the ``vaderSentiment`` package, MIT licence) ships its lexicon of
~7,500 rated words and emoticons in the wheel and scores a text with rules for negation,
intensifiers ("very"), contrast ("but"), capitals and punctuation. Its ``compound`` score is in
[-1, 1]. It is a general-purpose scorer: it does not know that "dropping" is bad for a network
or that "cheap" is praise for a price, which is why a supervised model beats it wherever labels
exist (docs/feedback.md).

Identical texts are scored once, so repeated boilerplate costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from core.common.errors import ModelError
from core.common.progress import Progress
from core.models.text._base import as_texts

#: VADER's conventional thresholds of a negative / positive text.
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05

_ANALYZER: Any = None


def _analyzer() -> Any:
    global _ANALYZER
    if _ANALYZER is None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError:  # pragma: no cover - a pinned requirement
            raise ModelError(
                "the lexicon scorer needs the vaderSentiment package (requirements.txt). Fix: "
                "pip install -r requirements.txt"
            ) from None
        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def lexicon_scores(texts: Iterable[object], *, progress: Progress | None = None) -> np.ndarray:
    """VADER compound score of each text, float ``[n]`` in [-1, 1] (0 for an empty text).

    Examples
    --------
    >>> s = lexicon_scores(["Great service, very friendly!", "Awful. Never again."])
    >>> bool(s[0] > 0.5 and s[1] < -0.3)
    True
    """
    items = as_texts(texts)
    analyzer = _analyzer()
    unique: dict[str, float] = {}
    total = len(items)
    out = np.zeros(total)
    for i, t in enumerate(items):
        v = unique.get(t)
        if v is None:
            v = float(analyzer.polarity_scores(t)["compound"]) if t.strip() else 0.0
            unique[t] = v
        out[i] = v
        if progress is not None and (i + 1) % 5000 == 0:
            progress(i + 1, total)
    if progress is not None:
        progress(total, total)
    return out
