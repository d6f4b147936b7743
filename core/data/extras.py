"""Extra columns: the columns of a customer file beyond the canonical schema, and their types.

A mapped or catalog-read file keeps the columns the schema does not know (``Total day minutes``,
``International plan``, ``Most frequent category``, ...). :func:`infer_kind` decides what each
one is from its values, and :func:`type_extras` converts the frame accordingly:

``numeric``      every value is a number (blanks and ``NA``-like tokens are missing): float
``boolean``      every value is a yes/no spelling (True/False, yes/no, Y/N, 1/0): ``"Yes"``/``"No"``
``categorical``  anything else with repeated values: stripped text; the models keep the
                 :data:`MAX_LEVELS` most frequent levels and group the rest
``text``         free text (mostly distinct values of several words): left out, with a note
``id``           an identifier (distinct short codes, or the row numbers): left out, with a note
``empty``        no value at all: left out, with a note

The key-factor models use the kept extra columns as features (:mod:`core.models.features`);
:func:`typed_kind` reads the kind back from a typed frame. The decision needs no threshold on the
column's name, only its values, so the same file gives the same kinds wherever it is read; with
fewer than :data:`MIN_ROWS_TO_DROP` rows nothing is judged free text or an identifier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.schema import boolean_token

KINDS: tuple[str, ...] = ("numeric", "boolean", "categorical", "text", "id", "empty")
#: Kinds the models use as features.
FEATURE_KINDS: tuple[str, ...] = ("numeric", "boolean", "categorical")
#: Most levels a categorical feature keeps (the most frequent; the others become one level).
MAX_LEVELS = 30
#: Fewest non-empty values before a column may be judged free text or an identifier.
MIN_ROWS_TO_DROP = 50
#: Tokens read as a missing value in an extra column.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "--"})


@dataclass(frozen=True)
class ExtraKind:
    """What :func:`infer_kind` decided for one column, and why (for the notes)."""

    kind: str
    reason: str


def _missing(values: pd.Series) -> pd.Series:
    """Boolean mask of empty cells and missing-value tokens."""
    text = values.astype(object)
    return text.isna() | text.map(
        lambda v: isinstance(v, str) and v.strip().lower() in MISSING_TOKENS
    )


def infer_kind(values: pd.Series) -> ExtraKind:
    """The kind of one extra column (see the module docstring).

    Examples
    --------
    >>> infer_kind(pd.Series(["yes", "No", " y"])).kind
    'boolean'
    >>> infer_kind(pd.Series(["1.5", "2", "NA"])).kind
    'numeric'
    >>> infer_kind(pd.Series(["North", "South", "North"])).kind
    'categorical'
    """
    present = values[~_missing(values)]
    n = len(present)
    if n == 0:
        return ExtraKind("empty", "no value at all")
    distinct = pd.unique(present.astype(object))
    if all(boolean_token(v) is not None for v in distinct):
        return ExtraKind("boolean", "yes/no values")
    numbers = pd.to_numeric(present.astype(object), errors="coerce")
    if numbers.notna().all():
        whole = np.all(np.mod(numbers.to_numpy(dtype=float), 1) == 0)
        span = float(numbers.max() - numbers.min()) + 1
        if n >= MIN_ROWS_TO_DROP and whole and len(distinct) == n and span == n:
            return ExtraKind("id", "distinct whole numbers counting the rows")
        return ExtraKind("numeric", "numbers")
    text = present.astype(str).str.strip()
    n_distinct = int(text.nunique())
    words = float(text.str.split().str.len().mean())
    if n >= MIN_ROWS_TO_DROP and n_distinct > 0.9 * n:
        if words >= 3:
            return ExtraKind("text", "free text (mostly distinct values of several words)")
        return ExtraKind("id", "an identifier (a distinct value in almost every row)")
    if n >= MIN_ROWS_TO_DROP and words >= 5 and n_distinct > MAX_LEVELS:
        return ExtraKind("text", "free text (long values)")
    return ExtraKind("categorical", f"{n_distinct} distinct values")


def convert(values: pd.Series, kind: str) -> pd.Series:
    """``values`` converted to ``kind``: float numbers, ``"Yes"``/``"No"`` or stripped text."""
    gone = _missing(values)
    if kind == "numeric":
        out = pd.to_numeric(values.astype(object).where(~gone, None), errors="coerce")
        return out.astype("float64")
    if kind == "boolean":
        return values.astype(object).map(boolean_token).where(~gone, None).astype(object)
    text = values.astype(object).map(lambda v: str(v).strip())
    return text.where(~gone, None).astype(object)


def type_extras(
    frame: pd.DataFrame, columns: Iterable[str], *, keep: Iterable[str] = ()
) -> tuple[pd.DataFrame, dict[str, str], list[str], list[str]]:
    """Type the extra ``columns`` of ``frame``.

    Parameters
    ----------
    frame
        The frame holding them (not modified).
    columns
        The extra columns.
    keep
        Columns never left out (a catalog reads holdings from them): judged ``categorical``
        at worst.

    Returns
    -------
    (frame, kinds, notes, dropped)
        The frame with the extra columns converted and the free-text, identifier and empty ones
        removed; ``{column: kind}`` of the kept ones; one note per removed column; the removed
        columns.
    """
    out = frame.copy()
    kinds: dict[str, str] = {}
    notes: list[str] = []
    dropped: list[str] = []
    protected = set(keep)
    for col in columns:
        found = infer_kind(out[col])
        kind = found.kind
        if kind not in FEATURE_KINDS and col in protected:
            kind = "categorical"
        if kind not in FEATURE_KINDS:
            dropped.append(col)
            notes.append(f"'{col}' left out: {found.reason}.")
            out = out.drop(columns=col)
            continue
        out[col] = convert(out[col], kind)
        kinds[col] = kind
    return out, kinds, notes, dropped


def typed_kind(values: pd.Series) -> str:
    """The kind of an extra column of a typed frame: numeric, boolean or categorical."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "numeric"
    present = set(pd.unique(values.dropna().astype(object)))
    if present and present <= {"Yes", "No"}:
        return "boolean"
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    return "categorical"
