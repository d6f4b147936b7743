"""A review data set in the shape of the public star-rated ones (NOT public data).

Public review corpora (app-store, product and service reviews with 1-5 stars) cannot be
downloaded here. :func:`review_frame` writes reviews of a telecom provider in their shape: one
row per review with an id, a date, a star rating and the English text. Each reviewer has a
latent opinion (a J-shaped mix: many delighted, a block of furious, few in between, as star
ratings usually are); the **stars** are that opinion plus rating noise cut at fixed points, and
the **text** is written from the same opinion plus its own noise, about topics drawn per review
(:mod:`~core.data.synthetic.wording`: vocabulary by topic and polarity, negation, mixed
opinions, filler, typos; some one-liners). So wording and stars agree on average but not review
by review, and a model cannot separate them perfectly. Deterministic per seed.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.data.synthetic.wording import TOPICS, add_typos, compose

#: Columns of the review table.
REVIEW_COLUMNS: tuple[str, ...] = ("review_id", "date", "stars", "text")
_SHORT = {
    1: ("Terrible.", "Awful service", "Avoid!", "Never again.", "Useless."),
    2: ("Not great.", "Meh, could be better", "Disappointing."),
    3: ("It's ok.", "Average.", "Does the job I guess"),
    4: ("Pretty good.", "Good service", "Works well."),
    5: ("Excellent!", "Love it", "Great service!", "Perfect."),
}
# Latent opinion: mixture of (weight, mean, sd) giving J-shaped star shares.
_MIX = ((0.52, 1.9, 0.9), (0.18, 0.2, 0.9), (0.30, -2.0, 0.9))
_CUTS = (-1.4, -0.5, 0.35, 1.2)


def review_frame(n: int = 8000, seed: int = 0) -> pd.DataFrame:
    """``n`` synthetic reviews with 1-5 stars (see the module docstring).

    Examples
    --------
    >>> df = review_frame(50, seed=1)
    >>> list(df.columns), df["stars"].between(1, 5).all()
    (['review_id', 'date', 'stars', 'text'], np.True_)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise OptionError(f"n must be a whole number >= 1, got {n!r}")
    rng = random.Random(int(seed) * 7919 + 17)
    start = pd.Timestamp("2022-01-01")
    rows = []
    weights = [w for w, _, _ in _MIX]
    for i in range(n):
        _, mean, sd = _MIX[rng.choices(range(len(_MIX)), weights)[0]]
        opinion = rng.gauss(mean, sd)
        z = opinion + 0.55 * rng.gauss(0.0, 1.0)
        stars = 1 + sum(z > c for c in _CUTS)
        if rng.random() < 0.06:
            text = add_typos(rng.choice(_SHORT[stars]), rng, 0.03)
        else:
            topic_w = {t: rng.gammavariate(0.6, 1.0) for t in TOPICS}
            topic_w["cancellation"] *= 0.5 + (opinion < 0)
            text, _ = compose(opinion + 0.5 * rng.gauss(0.0, 1.0), topic_w, rng, noise=0.9)
        date = start + pd.Timedelta(days=rng.randrange(0, 3 * 365))
        rows.append((f"R{i + 1:06d}", date, stars, text))
    frame = pd.DataFrame(rows, columns=list(REVIEW_COLUMNS))
    frame["stars"] = frame["stars"].astype(np.int64)
    return frame
