"""Segment names: traits from the mean profile, unique names, renaming and restoring names.

A segment's mean of each feature is compared with the population's; the strongest deviations
give its words (high-value, loyal, budget, ...), and a churn well above the population's makes
it "at risk" (see :func:`name_segments`). Names are what users edit (:func:`rename`) and what a
scenario stores (:func:`apply_names`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pandas as pd

from core.common.errors import CJOError
from core.insights.segments._base import NOISE, NOISE_NAME
from core.insights.segments.result import Segmentation

_THRESHOLD = 0.5
_RISK_RATIO = 1.3


#: (features, the first present is used; word when above the population; word when below, if any)
_WORDS: tuple[tuple[tuple[str, ...], str, str | None], ...] = (
    (("cltv", "total_revenue", "monetary"), "high-value", "low-value"),
    (("tenure",), "loyal", "new"),
    (("monthly_charge",), "premium-plan", "budget"),
    (("n_products",), "multi-product", "few-product"),
    (("referrals",), "referrers", None),
    (("satisfaction",), "satisfied", "dissatisfied"),
    (("recency",), "lapsed", "recent"),
    (("frequency",), "frequent", "occasional"),
)
_KNOWN = {f for features, _, _ in _WORDS for f in features} | {"churn_proba"}


def _traits(profile_z: Mapping[str, float]) -> list[tuple[float, str]]:
    """(strength, word) candidates of one segment, strongest first.

    A feature the words do not know (a numeric column of the file itself) gives
    ``"high <column>"`` / ``"low <column>"``.
    """
    cand: list[tuple[float, str]] = []
    for features, above, below in _WORDS:
        z = next((profile_z[f] for f in features if f in profile_z), None)
        word = above if z is not None and z > 0 else below
        if z is not None and word is not None and abs(z) >= _THRESHOLD:
            cand.append((abs(z), word))
    for f, z in profile_z.items():
        if f not in _KNOWN and abs(z) >= _THRESHOLD:
            cand.append((abs(z), f"{'high' if z > 0 else 'low'} {f}"))
    cand.sort(key=lambda c: (-round(c[0], 9), c[1]))
    return cand


_ORDER = (
    "dissatisfied",
    "satisfied",
    "high-value",
    "low-value",
    "loyal",
    "new",
    "recent",
    "lapsed",
    "frequent",
    "occasional",
    "multi-product",
    "few-product",
    "premium-plan",
    "budget",
    "referrers",
)


def _reading_order(word: str) -> tuple[int, str]:
    """Known words in :data:`_ORDER`, the file's own columns after them (alphabetically)."""
    return (_ORDER.index(word), "") if word in _ORDER else (len(_ORDER), word)


def _compose(words: list[str], at_risk: bool) -> str:
    words = sorted(words, key=_reading_order)  # the strongest words, in a fixed reading order
    if "premium-plan" in words and at_risk:  # paying a lot and leaving
        rest = [w for w in words if w != "premium-plan"]
        return " ".join(["price-sensitive", *rest])
    if not words:
        return "at-risk mainstream" if at_risk else "mainstream"
    base = " ".join(words)
    return f"{base} and at risk" if at_risk else base


def name_segments(
    profile: pd.DataFrame,
    overall_mean: Mapping[str, float],
    overall_std: Mapping[str, float],
    risk: Mapping[int, float] | None = None,
    overall_risk: float | None = None,
) -> dict[int, str]:
    """Deterministic, unique names from segment mean profiles.

    Each feature mean is compared with the population (z = (segment mean - mean) / std); a
    |z| >= 0.5 gives a word (high-/low-value from CLTV or revenue, loyal/new from tenure,
    premium-plan/budget from the monthly charge, multi-/few-product, referrers,
    satisfied/dissatisfied); the two strongest are kept. A segment whose churn (predicted, else
    observed) is at least 1.3 x the population's is "at risk" ("price-sensitive" when it also
    pays a premium). Colliding names get the next strongest word, then a number.

    Parameters
    ----------
    profile : pandas.DataFrame
        One row per segment: ``segment_id`` and the mean of each feature (raw units).
    overall_mean, overall_std : mapping of str to float
        Population mean and standard deviation of each feature (a feature with std 0 gives no
        word).
    risk : mapping of int to float, optional
        Segment id -> churn (predicted, else observed).
    overall_risk : float, optional
        The population's churn; without it (or ``risk``) no segment is "at risk".

    Returns
    -------
    dict[int, str]
        Segment id -> name; noise (-1) is ``"unclustered"``.
    """
    info: dict[int, tuple[list[str], bool]] = {}
    for _, row in profile.iterrows():
        sid = int(row["segment_id"])
        if sid == NOISE:
            continue
        z = {
            f: (float(row[f]) - overall_mean[f]) / overall_std[f]
            for f in overall_mean
            if overall_std[f] > 0
        }
        at_risk = bool(
            risk is not None
            and overall_risk is not None
            and overall_risk > 0
            and risk.get(sid, 0.0) >= _RISK_RATIO * overall_risk
        )
        info[sid] = ([w for _, w in _traits(z)], at_risk)
    base = {sid: _compose(words[:2], at_risk) for sid, (words, at_risk) in info.items()}
    final: dict[int, str] = {}
    for sid in sorted(info):  # ids are ordered by size: the largest keeps the short name
        words, at_risk = info[sid]
        name = base[sid]
        if name in final.values():
            for extra in range(3, len(words) + 1):
                cand = _compose(words[:extra], at_risk)
                if cand not in final.values() and cand not in base.values():
                    name = cand
                    break
            stem, i = name, 2
            while name in final.values():
                name = f"{stem} ({i})"
                i += 1
        final[sid] = name
    if (profile["segment_id"].astype(int) == NOISE).any():
        final[NOISE] = NOISE_NAME
    return final


def rename(segmentation: Segmentation, mapping: Mapping[str | int, str]) -> Segmentation:
    """Return ``segmentation`` with segments renamed (``{old name or id: new name}``).

    Raises :class:`CJOError` when an old name is unknown, a new name is empty, or names would
    collide. The names dict (``.names``) is what a scenario stores.

    Examples
    --------
    >>> seg = rename(seg, {"new and at risk": "Rescue"})  # doctest: +SKIP
    """
    names = dict(segmentation.names)
    by_name = {v: k for k, v in names.items()}
    for old, new in mapping.items():
        sid = old if isinstance(old, int) and old in names else by_name.get(str(old))
        if sid is None:
            raise CJOError(f"no segment named {old!r}; segments are {list(names.values())}.")
        new = str(new).strip()
        if not new:
            raise CJOError(f"the new name for {old!r} is empty.")
        names[int(sid)] = new
    if len(set(names.values())) != len(names):
        dup = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
        raise CJOError(f"segment names must be unique; {dup} would be used twice.")
    profile = segmentation.profile.copy()
    profile["name"] = profile["segment_id"].map(names)
    return dataclasses.replace(segmentation, names=names, profile=profile)


def apply_names(segmentation: Segmentation, names: Mapping[Any, str]) -> Segmentation:
    """Restore names stored with a scenario (``{segment id: name}``, ids may be strings)."""
    return rename(segmentation, {int(k): v for k, v in names.items()})
