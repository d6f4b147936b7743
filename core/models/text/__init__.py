"""Feedback text models: lexicon sentiment, keyword topics, the supervised unhappy model and the
per-customer text features that join the churn and satisfaction models.

* :mod:`~core.models.text.lexicon`: :func:`lexicon_scores` (VADER, offline, no labels);
* :mod:`~core.models.text.topics`: :class:`TopicRules` from an editable keyword TOML
  (``data/topics.toml``) and :func:`fit_topic_classes` where texts carry topic labels;
* :mod:`~core.models.text.supervised`: :class:`TextModel` (TF-IDF word 1-2 grams with negation
  marks + logistic regression, C by cross-validation, a model card) and :func:`plain_baseline`;
* :mod:`~core.models.text.features`: :func:`score_texts`, :func:`customer_text_features` and
  :func:`text_features_for` (leakage guard -> scores -> ``text_*`` columns of a customer table);
* :mod:`~core.models.text.evaluation`: :func:`evaluate_feedback`, the held-out comparison that
  ``python -m core feedback`` reports (:class:`FeedbackReport`);
* ``_base``: :func:`negate` (negation scope marks) and text normalisation.
"""

from core.models.text._base import NEGATIONS, negate
from core.models.text.evaluation import FeedbackReport, evaluate_feedback
from core.models.text.features import (
    TextFeatures,
    customer_text_features,
    score_texts,
    synthetic_text_features,
    text_features_for,
)
from core.models.text.lexicon import NEGATIVE_BELOW, POSITIVE_ABOVE, lexicon_scores
from core.models.text.supervised import DEFAULT_CS, TextModel, plain_baseline
from core.models.text.topics import (
    DEFAULT_TOPICS,
    Topic,
    TopicError,
    TopicRules,
    fit_topic_classes,
)

__all__ = [
    "DEFAULT_CS",
    "DEFAULT_TOPICS",
    "NEGATIONS",
    "NEGATIVE_BELOW",
    "POSITIVE_ABOVE",
    "FeedbackReport",
    "TextFeatures",
    "TextModel",
    "Topic",
    "TopicError",
    "TopicRules",
    "customer_text_features",
    "evaluate_feedback",
    "fit_topic_classes",
    "lexicon_scores",
    "negate",
    "plain_baseline",
    "score_texts",
    "synthetic_text_features",
    "text_features_for",
]
