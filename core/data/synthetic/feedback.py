"""What the synthetic customers wrote: support chats, surveys, app reviews, e-mails, exit surveys.

A share of the population writes feedback in the twelve months before the outcome quarter
(:data:`OUTCOME_START` .. :data:`OUTCOME_END`, the quarter whose churn the data records).
Everything about a text follows the customer's latent state, so the effect of texts on
decisions can be measured on truth:

* **who writes, and how often**: about 60% of customers, unhappy ones more (``P(write) = 0.45 +
  0.35 logistic(-opinion)``, one to five texts);
* **opinion** (polarity and strength of the wording): the customer's latent satisfaction
  ``s(h)`` of the structural model, centred, plus noise per text;
* **what about** (:data:`~core.data.synthetic.wording.TOPICS`): price for price-sensitive
  customers, network for internet and fiber customers with an appetite for data, service for
  customers who need it, cancellation in proportion to the true churn probability and, for
  half of the customers who do leave in the outcome quarter, much more (*cancellation intent*:
  the decision forms before it is carried out), billing and general opinions for anyone;
* **how**: vocabulary, negation, mixed opinions and typos of :mod:`~core.data.synthetic.wording`;
* **rating**: surveys and app reviews carry a 1-5 rating of the same opinion.

Two kinds of text would leak the outcome, and the generator writes both on purpose so that the
leakage guard (:mod:`core.data.feedback`) is tested on them: **exit surveys** of churners
(channel ``exit survey``, wording from the customer's Churn Category) and ordinary texts dated
in the outcome quarter. Both are dated on or after :data:`OUTCOME_START`.

Randomness: each customer's texts come from a stream of (seed, customer id)
(:func:`core.common.rng.customer_keys`), so they do not depend on chunking; the population's
own columns are untouched.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from core.common.rng import customer_keys, derive_seed
from core.data.synthetic._base import INTERNET, expit, softplus
from core.data.synthetic.structural import outcomes
from core.data.synthetic.truth import _INPUTS, holdings_from_frame
from core.data.synthetic.wording import add_typos, compose

#: First and last day of the outcome quarter (the churn the data records happens in it).
OUTCOME_START = pd.Timestamp("2024-07-01")
OUTCOME_END = pd.Timestamp("2024-09-30")
#: Days before :data:`OUTCOME_START` over which ordinary feedback is dated.
HISTORY_DAYS = 365
#: Channels of ordinary feedback and their shares; the first two carry a 1-5 rating.
CHANNELS: tuple[str, ...] = ("survey", "app review", "support chat", "email")
CHANNEL_SHARES = (0.3, 0.2, 0.3, 0.2)
RATED_CHANNELS = frozenset({"survey", "app review"})
#: Channel of the exit surveys (outcome texts: the leakage guard keeps them out).
EXIT_CHANNEL = "exit survey"
#: Columns of the feedback table.
FEEDBACK_COLUMNS: tuple[str, ...] = ("Customer ID", "date", "channel", "text", "rating")
#: P(write) = WRITE_BASE + WRITE_UNHAPPY * logistic(-opinion): about 60% of customers write.
WRITE_BASE, WRITE_UNHAPPY = 0.45, 0.35
#: Share of the customers who leave in the outcome quarter whose earlier texts already voice the
#: intent, and the extra weight of the cancellation topic in them.
FOREWARN_SHARE, FOREWARN_WEIGHT = 0.5, 2.0
_DOMAIN = 0xFEED
_EXIT_SHARE = 0.6  # churners who answer the exit survey
_LATE_SHARE = 0.08  # writers with one more text inside the outcome quarter
_EXIT = {
    "Competitor": (
        "Leaving because {oth} made me a better offer.",
        "Switching to {oth}, they have faster speeds.",
        "Got a better deal with {oth}.",
    ),
    "Attitude": (
        "Cancelling because of how your support treated me.",
        "The attitude of your staff is why I left.",
    ),
    "Dissatisfaction": (
        "Cancelled because the network never worked properly.",
        "Too many problems that never got fixed, so I left.",
    ),
    "Price": (
        "Cancelled because it is too expensive.",
        "Leaving because the price kept going up.",
    ),
    "Other": ("Moving away, so I cancelled.", "Closing the account, personal reasons."),
}
_OTHERS = ("another provider", "a competitor", "the cable company")


def opinion_and_topics(customers: pd.DataFrame, truth: pd.DataFrame) -> dict[str, np.ndarray]:
    """The latent drivers of each customer's wording.

    Returns
    -------
    dict
        ``opinion`` (centred latent satisfaction, about N(0, 1.2)), ``intent`` (true churn
        probability at the current portfolio) and one topic weight array per topic
        (``price``, ``network``, ``service``, ``billing``, ``cancellation``, ``general``).
    """
    x = {c: truth[c].to_numpy(dtype=np.float64) for c in _INPUTS}
    h = holdings_from_frame(customers)
    churn, _, _, s = outcomes(x, h)
    opinion = 1.6 * (s - 0.45)
    inet = h[:, INTERNET].astype(np.float64)
    fiber = (x["base_internet_kind"] == 2) * inet
    return {
        "opinion": opinion,
        "intent": churn,
        "price": 0.1 + 1.2 * softplus(2.0 * x["latent_price_sensitivity"] - 1.0),
        "network": 0.1
        + inet * (0.3 + 0.9 * fiber + 0.6 * softplus(1.5 * x["latent_data_appetite"] - 0.5)),
        "service": 0.1 + 1.2 * softplus(2.0 * x["latent_service_need"] - 1.0),
        "billing": np.full(len(s), 0.3),
        "cancellation": 2.5 * churn,
        "general": np.full(len(s), 0.5),
    }


def _rating(opinion: float, rng: random.Random) -> int:
    z = opinion + 0.9 * rng.gauss(0.0, 1.0)
    return int(1 + (z > -1.6) + (z > -0.7) + (z > 0.1) + (z > 0.9))


def feedback_frame(customers: pd.DataFrame, truth: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The feedback texts of customers of a synthetic population.

    Parameters
    ----------
    customers, truth : pandas.DataFrame
        The population (or a chunk of it) and its truth rows.
    seed : int
        Seed of the texts (use the population's seed).

    Returns
    -------
    pandas.DataFrame
        :data:`FEEDBACK_COLUMNS`: one row per text, ``date`` as datetime64, ``rating`` 1-5 for
        rated channels (NaN otherwise). Exit surveys and texts dated on or after
        :data:`OUTCOME_START` are outcome-period texts that the leakage guard must drop.

    Examples
    --------
    >>> from core.data.synthetic import generate_frame
    >>> customers, truth = generate_frame(300, seed=0)
    >>> fb = feedback_frame(customers, truth, seed=0)
    >>> list(fb.columns), bool(fb["text"].str.len().gt(0).all())
    (['Customer ID', 'date', 'channel', 'text', 'rating'], True)
    """
    drivers = opinion_and_topics(customers, truth)
    ids = customers["Customer ID"].to_numpy(dtype=object)
    keys = customer_keys(ids.astype(str), derive_seed(int(seed), _DOMAIN))
    churned = customers["Churn Value"].to_numpy() == 1 if "Churn Value" in customers else None
    category = (
        customers["Churn Category"].astype(object).to_numpy()
        if "Churn Category" in customers
        else None
    )
    topics = ("price", "network", "service", "billing", "cancellation", "general")
    rows: list[tuple[object, pd.Timestamp, str, str, float]] = []
    for i, cid in enumerate(ids):
        rng = random.Random(int(keys[i]))
        op = float(drivers["opinion"][i])
        weights = {t: float(drivers[t][i]) for t in topics}
        writes = rng.random() < WRITE_BASE + WRITE_UNHAPPY * float(expit(np.array(-op)))
        n_texts = 0
        if writes:
            n_texts = 1 + sum(rng.random() < q for q in (0.55, 0.35, 0.2, 0.1))
        if churned is not None and churned[i] and rng.random() < FOREWARN_SHARE:
            weights["cancellation"] += FOREWARN_WEIGHT  # the decision forms before it is made
        for _ in range(n_texts):
            days = rng.randrange(1, HISTORY_DAYS + 1)
            rows.append(_text(cid, OUTCOME_START - pd.Timedelta(days=days), op, weights, rng))
        if writes and rng.random() < _LATE_SHARE:
            days = rng.randrange(0, (OUTCOME_END - OUTCOME_START).days + 1)
            rows.append(_text(cid, OUTCOME_START + pd.Timedelta(days=days), op, weights, rng))
        if churned is not None and churned[i] and rng.random() < _EXIT_SHARE:
            cat = category[i] if category is not None else "Other"
            bank = _EXIT.get(str(cat), _EXIT["Other"])
            text = rng.choice(bank).replace("{oth}", rng.choice(_OTHERS))
            days = rng.randrange(0, (OUTCOME_END - OUTCOME_START).days + 1)
            date = OUTCOME_START + pd.Timedelta(days=days)
            rows.append((cid, date, EXIT_CHANNEL, add_typos(text, rng, 0.03), np.nan))
    frame = pd.DataFrame(rows, columns=list(FEEDBACK_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["rating"] = frame["rating"].astype(np.float64)
    frame["text"] = frame["text"].astype(object)
    return frame


def _text(
    cid: object,
    date: pd.Timestamp,
    opinion: float,
    weights: dict[str, float],
    rng: random.Random,
) -> tuple[object, pd.Timestamp, str, str, float]:
    channel = rng.choices(CHANNELS, CHANNEL_SHARES)[0]
    mood = opinion + 0.6 * rng.gauss(0.0, 1.0)
    text, _ = compose(mood, weights, rng)
    rating = float(_rating(opinion, rng)) if channel in RATED_CHANNELS else np.nan
    return cid, date, channel, text, rating
