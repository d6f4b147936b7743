"""What the text models share: normalising a text and marking the words a negation governs."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

#: Words that negate what follows them (apostrophes dropped: "dont" for "don't").
NEGATIONS: frozenset[str] = frozenset(
    (
        "not no never nobody nothing none nowhere neither nor cannot cant wont dont doesnt "
        "didnt isnt arent wasnt werent wouldnt shouldnt couldnt havent hasnt hadnt aint without"
    ).split()
)
#: How many words after a negation are marked (a clause ends earlier at punctuation).
NEGATION_SCOPE = 3
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.,!?;:]")


def negate(text: str) -> str:
    """Lower-cased words of ``text`` with the ones a negation governs marked ``neg_``.

    "Never had a single outage." -> "never neg_had neg_a neg_single outage": a bag of words then
    tells "had outages" from "never had outages".

    Examples
    --------
    >>> negate("The price is not bad at all. Great!")
    'the price is not neg_bad neg_at neg_all great'
    """
    out: list[str] = []
    scope = 0
    for tok in _TOKEN.findall(text.lower()):
        if tok in ".,!?;:":
            scope = 0
            continue
        word = tok.replace("'", "")
        if word in NEGATIONS:
            out.append(word)
            scope = NEGATION_SCOPE
            continue
        out.append(f"neg_{word}" if scope else word)
        scope = max(scope - 1, 0)
    return " ".join(out)


def as_texts(texts: Iterable[object]) -> list[str]:
    """``texts`` as a list of str (None and NaN become "")."""
    out = []
    for t in texts:
        if t is None or (isinstance(t, float) and np.isnan(t)):
            out.append("")
        else:
            out.append(str(t))
    return out
