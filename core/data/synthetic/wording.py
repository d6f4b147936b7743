"""How synthetic customers write: sentences by topic and polarity, negation, hedges and typos.

Both synthetic text sources compose their texts here: the population's feedback
(:mod:`~core.data.synthetic.feedback`, wording driven by latent satisfaction, cancellation intent
and the traits behind each topic) and the review look-alike of the tests
(``tests/fixtures/make_reviews.py``, wording driven by a latent opinion behind a 1-5 star
rating). A text is a few sentences; each sentence is drawn from the bank of one
:data:`TOPICS` entry at one polarity:

* **vocabulary**: several templates per (topic, polarity) with slots filled from word lists
  (amounts, durations, intensifiers), so no template is a give-away on its own;
* **negation**: a share of the templates say the opposite of their words ("never had an
  outage", "not worth the money", "can't complain"), which a bag-of-words or a lexicon reads
  wrong unless it handles the negation;
* **mixed opinions**: a positive text may carry a complaint and a negative one a compliment;
* **neutral filler**: sentences about the customer's situation with no opinion;
* **typos**: swapped, dropped or doubled letters, missing apostrophes, lower case.

Everything is drawn from the ``random.Random`` the caller passes, so a text depends only on
its own seed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

#: The topics a sentence can be about (the keyword topics of ``data/topics.toml`` plus
#: ``general``: opinions about the provider as a whole, and ``filler``: no opinion).
TOPICS: tuple[str, ...] = ("price", "network", "service", "billing", "cancellation", "general")

_AMOUNT = ("$10", "$15", "$20", "$25", "$30", "twenty bucks", "ten dollars")
_PERIOD = ("this month", "this week", "again", "twice this month", "for days", "since March")
_STRONG = ("really", "very", "extremely", "so", "absolutely", "incredibly", "super")
_MILD = ("a bit", "somewhat", "kind of", "a little", "fairly")
_PEOPLE = ("the agent", "the technician", "the rep", "support", "the person on the phone")
_OTHER = ("another provider", "a competitor", "a different company", "the cable company")

# (topic, polarity) -> templates. "{s}" an intensifier (strong or mild by the sentiment's
# size), "{amt}", "{per}", "{who}", "{oth}" slots. Templates marked with a leading "~" say the
# opposite of their words (negation).
_BANK: dict[tuple[str, int], tuple[str, ...]] = {
    ("price", -1): (
        "The price is {s} high for what I get.",
        "My bill went up {amt} and nobody told me why.",
        "Paying this much every month is a joke.",
        "{s} expensive compared to {oth}.",
        "~Not worth the money anymore.",
        "~I wouldn't call this plan cheap.",
        "The promo ended and now the price is ridiculous.",
        "Way too pricey for a basic plan.",
    ),
    ("price", 1): (
        "The price is fair for the speed.",
        "{s} good value for money.",
        "Cheaper than {oth} and just as good.",
        "~The price is not bad at all.",
        "~Can't beat the price.",
        "The discount made it {s} affordable.",
        "Reasonable monthly cost.",
    ),
    ("network", -1): (
        "The internet keeps dropping {per}.",
        "Signal is {s} bad in my area.",
        "Speeds are nowhere near what was promised.",
        "We had three outages {per}.",
        "~The connection is not reliable at all.",
        "~Streaming never works without buffering.",
        "Calls drop all the time.",
        "The wifi is {s} slow in the evening.",
    ),
    ("network", 1): (
        "The connection has been rock solid.",
        "{s} fast and reliable internet.",
        "~Never had a single outage.",
        "~No problems with the signal so far.",
        "Streaming works perfectly.",
        "Speeds are {s} good even at night.",
        "Call quality is clear.",
    ),
    ("service", -1): (
        "Support kept me on hold for an hour.",
        "{who} was rude and did not fix anything.",
        "I had to call four times to get it sorted.",
        "~Nobody ever calls back.",
        "~Customer service is not helpful.",
        "The technician never showed up.",
        "{s} frustrating experience with support.",
    ),
    ("service", 1): (
        "{who} was {s} friendly and fixed it quickly.",
        "Great customer service.",
        "They solved my issue on the first call.",
        "~Can't complain about the service.",
        "~Support never lets me down.",
        "{s} helpful staff in the store.",
        "The technician was on time and professional.",
    ),
    ("billing", -1): (
        "I was charged twice {per}.",
        "There is a fee on my bill I never agreed to.",
        "The invoice is {s} confusing.",
        "~My refund still has not arrived.",
        "Autopay took the wrong amount.",
        "They billed me for a service I cancelled.",
    ),
    ("billing", 1): (
        "Billing is clear and on time.",
        "Autopay works fine.",
        "~No surprises on the bill.",
        "The refund came through quickly.",
        "Easy to read invoices.",
    ),
    ("cancellation", -1): (
        "I am thinking about switching to {oth}.",
        "If this is not fixed I will cancel.",
        "Looking at other options now.",
        "My contract ends soon and I won't renew.",
        "Please tell me how to close my account.",
        "Ready to leave after {per} of this.",
        "~I don't see myself staying much longer.",
    ),
    ("cancellation", 1): (
        "I will definitely stay.",
        "Would recommend to friends and family.",
        "~I have no plans to switch.",
        "Happy to renew my contract.",
        "~Not going anywhere.",
    ),
    ("general", -1): (
        "{s} disappointed overall.",
        "Worst provider I have had.",
        "~Not happy with this company.",
        "~I would not recommend them.",
        "This has been a {s} bad experience.",
        "Pretty poor overall.",
    ),
    ("general", 1): (
        "{s} happy overall.",
        "Best provider I have had.",
        "~No complaints so far.",
        "~I have nothing bad to say.",
        "Everything works {s} well.",
        "Great experience overall.",
    ),
}
_FILLER: tuple[str, ...] = (
    "I have been a customer for {n} years.",
    "I mostly use it to work from home.",
    "We have two kids who stream a lot.",
    "I called about my plan today.",
    "We moved house last month.",
    "I upgraded my phone recently.",
    "My partner also has a line with you.",
    "I use it for gaming in the evenings.",
    "Writing this after my last bill.",
    "I got the letter about the new terms.",
)
_OPENERS = ("", "", "", "Honestly, ", "Well, ", "To be fair, ", "Overall ", "So ")
_LINKERS = (" but ", " and ", ", although ", ". Also, ")
_KEYBOARD = "abcdefghijklmnopqrstuvwxyz"


def _fill(template: str, rng: random.Random, strength: float) -> str:
    words = _STRONG if strength > 0.5 else _MILD
    text = template.lstrip("~")
    if "{s}" in text:
        text = text.replace("{s}", rng.choice(words))
    return (
        text.replace("{amt}", rng.choice(_AMOUNT))
        .replace("{per}", rng.choice(_PERIOD))
        .replace("{who}", rng.choice(_PEOPLE))
        .replace("{oth}", rng.choice(_OTHER))
        .replace("{n}", str(rng.randint(1, 12)))
    )


def sentence(topic: str, polarity: int, rng: random.Random, strength: float = 0.5) -> str:
    """One sentence about ``topic`` with ``polarity`` (+1 positive, -1 negative).

    Parameters
    ----------
    topic : str
        One of :data:`TOPICS`, or ``"filler"`` for a sentence without opinion.
    polarity : int
        +1 or -1 (ignored for filler).
    rng : random.Random
        The text's random stream.
    strength : float
        In [0, 1]: how strongly the opinion is held (strong or mild intensifiers).
    """
    if topic == "filler":
        return _fill(rng.choice(_FILLER), rng, strength)
    bank = _BANK[(topic, 1 if polarity > 0 else -1)]
    text = _fill(rng.choice(bank), rng, strength)
    return text[0].upper() + text[1:]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.35:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind < 0.65:  # drop a letter
        return word[:i] + word[i + 1 :]
    if kind < 0.85:  # double a letter
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(_KEYBOARD) + word[i + 1 :]  # wrong key


def add_typos(text: str, rng: random.Random, rate: float) -> str:
    """``text`` with about ``rate`` of its words misspelt, apostrophes sometimes dropped and,
    now and then, all in lower case."""
    words = text.split(" ")
    out = [_typo(w, rng) if rng.random() < rate else w for w in words]
    text = " ".join(out)
    if rng.random() < 2 * rate:
        text = text.replace("'", "")
    if rng.random() < 1.5 * rate:
        text = text.lower()
    return text


def compose(
    opinion: float,
    topic_weights: Mapping[str, float],
    rng: random.Random,
    *,
    n_sentences: int | None = None,
    mixed: float = 0.25,
    noise: float = 0.8,
    filler: float = 0.3,
    typo_rate: float = 0.03,
) -> tuple[str, tuple[str, ...]]:
    """A text whose wording follows ``opinion`` and whose subjects follow ``topic_weights``.

    Parameters
    ----------
    opinion : float
        The writer's latent opinion on a logit-like scale: about -3 (furious) to +3 (delighted).
        Each sentence's polarity is the sign of ``opinion + noise * logistic noise``; its
        strength grows with ``|opinion|``.
    topic_weights : mapping
        Topic -> weight (:data:`TOPICS`); sentences pick their topics in proportion.
    rng : random.Random
        The text's random stream.
    n_sentences : int, optional
        Opinion sentences (default 1-3, more for strong opinions).
    mixed : float
        Probability that one sentence takes the opposite polarity on purpose.
    noise : float
        Scale of the per-sentence polarity noise.
    filler : float
        Probability of one sentence without opinion.
    typo_rate : float
        Share of misspelt words (see :func:`add_typos`).

    Returns
    -------
    (text, topics)
        The text and the topics its sentences are about.
    """
    names = [t for t, w in topic_weights.items() if w > 0]
    weights = [float(topic_weights[t]) for t in names]
    if not names:
        names, weights = ["general"], [1.0]
    if n_sentences is None:
        n_sentences = 1 + (rng.random() < 0.55) + (rng.random() < min(0.15 * abs(opinion), 0.6))
    strength = min(abs(opinion) / 2.5, 1.0)
    picked: list[str] = []
    parts: list[str] = []
    flip = rng.random() < mixed and n_sentences > 1
    for i in range(n_sentences):
        topic = rng.choices(names, weights)[0]
        u = min(max(rng.random(), 1e-9), 1 - 1e-9)
        logistic = noise * (0.0 if u == 0.5 else _logit(u))
        polarity = 1 if opinion + logistic > 0 else -1
        if flip and i == n_sentences - 1:
            polarity = -polarity
        if topic == "cancellation" and polarity > 0 and rng.random() < 0.5:
            topic = "general"
        picked.append(topic)
        parts.append(sentence(topic, polarity, rng, strength))
    if rng.random() < filler:
        parts.insert(rng.randrange(len(parts) + 1), sentence("filler", 0, rng))
    text = _join(parts, rng)
    return add_typos(text, rng, typo_rate), tuple(dict.fromkeys(picked))


def _logit(u: float) -> float:
    import math

    return math.log(u / (1.0 - u))


def _join(parts: Sequence[str], rng: random.Random) -> str:
    opener = rng.choice(_OPENERS)
    first = parts[0]
    if opener and not first.startswith(("I ", "I'")):
        first = first[0].lower() + first[1:]
    text = opener + first
    for part in parts[1:]:
        if rng.random() < 0.2 and text.endswith("."):
            link = rng.choice(_LINKERS)
            if link.startswith("."):
                text = text[:-1] + link + part
            else:
                text = text[:-1] + link + part[0].lower() + part[1:]
        else:
            text = text + " " + part
    if rng.random() < 0.15:
        text = text.rstrip(".")
    if rng.random() < 0.08:
        text = text.rstrip(".") + "!"
    return text
