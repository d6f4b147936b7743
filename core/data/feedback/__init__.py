"""Feedback texts at the data boundary: reading, validating, and the leakage guard for texts.

* :mod:`~core.data.feedback.read`: :func:`read_feedback` (a feedback file of customer id, date,
  text, optional rating and channel; or a text column of the customer table) ->
  :class:`FeedbackTable`, one clear error per malformed input, over-long cells capped;
* :mod:`~core.data.feedback.guard`: :func:`guard_texts` (texts dated after the outcome and
  outcome texts such as exit surveys stay out) and :func:`check_text_source` (a churn reason is
  never a text source of features).

Text *features* joined to the customer table are named with :data:`TEXT_PREFIX`
(``text_sentiment_mean`` ...): the predictive models treat any column with that prefix as a
numeric feature, the offer-effect estimators only the pre-treatment ones
(:data:`TEXT_TRAIT_PREFIX`; :func:`text_feature_columns`).
"""

from collections.abc import Iterable

from core.data.feedback.guard import (
    OUTCOME_CHANNELS,
    OUTCOME_TEXT_COLUMNS,
    TextGuardReport,
    check_text_source,
    guard_texts,
)
from core.data.feedback.read import (
    FEEDBACK_FIELDS,
    MAX_TEXT_CHARS,
    FeedbackTable,
    parse_dates,
    parse_scale,
    read_feedback,
)

#: Prefix of the per-customer text feature columns.
TEXT_PREFIX = "text_"
#: Prefix of the text features that are pre-treatment traits (what a customer cares about).
TEXT_TRAIT_PREFIX = "text_trait_"
#: The per-customer count of kept texts.
TEXT_COUNT = f"{TEXT_PREFIX}n"


def text_feature_columns(columns: Iterable[str], *, pretreatment: bool = False) -> list[str]:
    """The text feature columns among ``columns`` (``text_...``), in order.

    With ``pretreatment=True`` only the trait features (``text_trait_...``: the share of a
    customer's texts about what they care about, e.g. price). Sentiment, complaints and the
    other topics are consequences of the current portfolio, like Satisfaction Score: they feed
    the predictive churn and satisfaction models but not the offer-effect estimators, where
    adjusting for them would remove part of the effect being estimated.
    """
    prefix = TEXT_TRAIT_PREFIX if pretreatment else TEXT_PREFIX
    return [str(c) for c in columns if str(c).startswith(prefix)]


__all__ = [
    "TEXT_COUNT",
    "FEEDBACK_FIELDS",
    "MAX_TEXT_CHARS",
    "OUTCOME_CHANNELS",
    "OUTCOME_TEXT_COLUMNS",
    "TEXT_PREFIX",
    "TEXT_TRAIT_PREFIX",
    "FeedbackTable",
    "TextGuardReport",
    "check_text_source",
    "guard_texts",
    "parse_dates",
    "parse_scale",
    "read_feedback",
    "text_feature_columns",
]
