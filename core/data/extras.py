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

A kept column that reproduces an outcome (a CLTV copy under another name, a churn date left
blank for those who stay) is derived from it: :func:`outcome_copies` finds such columns and the
loader leaves them out (leakage guard).

The key-factor models use the kept extra columns as features (:mod:`core.models.features`);
:func:`typed_kind` reads the kind back from a typed frame. The decision needs no threshold on the
column's name, only its values, so the same file gives the same kinds wherever it is read; with
fewer than :data:`MIN_ROWS_TO_DROP` rows nothing is judged free text or an identifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
        with np.errstate(invalid="ignore"):  # inf % 1 and inf - inf are NaN: not row numbers
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
        if not str(col).strip() and col not in protected:
            dropped.append(col)
            notes.append(
                f"a column without a header (column {list(frame.columns).index(col) + 1}) "
                "left out. Fix: name it in the file's header row to use it."
            )
            out = out.drop(columns=col)
            continue
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


def type_as(
    frame: pd.DataFrame,
    columns: Iterable[str],
    kinds: Mapping[str, str],
    *,
    keep: Iterable[str] = (),
) -> tuple[pd.DataFrame, dict[str, str], list[str], dict[str, int]]:
    """Type the extra ``columns`` of ``frame`` as ``kinds`` says, judging nothing again.

    The batch engine types every chunk as its reference sample was typed, so a chunk whose
    values happen to look otherwise (a count column holding only 0 and 1, read as yes/no; a
    column empty in that chunk) gives the models the same features as the rest of the file. A
    value that does not fit its column's kind is missing (the models fill it as they were
    fitted to).

    Parameters
    ----------
    frame
        The frame holding them (not modified).
    columns
        The extra columns.
    kinds
        ``{column: kind}`` decided on the reference (:func:`type_extras`); a column not named
        there was left out of the reference and is left out here too.
    keep
        Columns never left out (a catalog reads holdings from them): judged as
        :func:`type_extras` would when ``kinds`` does not name them.

    Returns
    -------
    (frame, kinds, dropped, unfit)
        The frame with the extra columns converted and the others removed, ``{column: kind}``
        of the kept ones, the removed columns, and ``{column: count}`` of the values read as
        missing because they do not fit the column's kind (columns with none left out).
    """
    out = frame.copy()
    typed: dict[str, str] = {}
    dropped: list[str] = []
    unfit: dict[str, int] = {}
    protected = set(keep)
    for col in columns:
        kind = kinds.get(col)
        if kind is None and col in protected:
            found = infer_kind(out[col]).kind
            kind = found if found in FEATURE_KINDS else "categorical"
        if kind not in FEATURE_KINDS:
            dropped.append(col)
            out = out.drop(columns=col)
            continue
        present = ~_missing(out[col]).to_numpy()
        out[col] = convert(out[col], kind)
        lost = int(np.count_nonzero(present & out[col].isna().to_numpy()))
        if lost:
            unfit[col] = lost
        typed[col] = kind
    return out, typed, dropped, unfit


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


#: Outcome columns an extra column may not reproduce, and how each is compared.
_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("Churn Value", "binary"),
    ("CLTV", "amount"),
    ("Satisfaction Score", "amount"),
)
#: How closely an extra column must reproduce an outcome to be left out as derived from it:
#: a correlation (or share of variance explained by a category's levels) of an amount, or the
#: ROC AUC (or purity of a category's levels) of the churn label.
COPY_THRESHOLD = 0.98
#: Most rows judged (a seeded sample of a larger file).
JUDGE_ROWS = 100_000
#: Fewest rows a category's level needs to count in the purity of its levels.
_LEVEL_ROWS = 20


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC of ``score`` for the 0/1 ``label`` (ties count half), folded to >= 0.5."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    pos = label == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return 0.5
    auc = (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return max(auc, 1.0 - auc)


def _level_fit(values: pd.Series, target: np.ndarray, binary: bool) -> float:
    """How well a category's levels reproduce ``target``: purity (binary) or eta squared.

    Only levels of at least :data:`_LEVEL_ROWS` rows count, and they must cover 90% of the rows;
    else 0 (many small levels reproduce anything).
    """
    level = values.astype(object).where(values.notna(), "(missing)").astype(str)
    frame = pd.DataFrame({"level": level.to_numpy(), "y": target})
    stats = frame.groupby("level")["y"].agg(["size", "mean"])
    big = stats[stats["size"] >= _LEVEL_ROWS]
    covered = float(big["size"].sum()) / len(frame)
    if covered < 0.9 or len(big) < 2:
        return 0.0
    rows = frame[frame["level"].isin(big.index)]
    y = rows["y"].to_numpy(dtype=float)
    fitted = big["mean"].reindex(rows["level"]).to_numpy()
    if binary:
        majority = max(float(y.mean()), 1.0 - float(y.mean()))
        purity = float(np.mean(np.where(fitted >= 0.5, y, 1.0 - y)))
        return purity if majority <= 0.95 else 0.0
    total = float(np.var(y))
    return 1.0 - float(np.var(y - fitted)) / total if total > 0 else 0.0


def outcome_copies(
    frame: pd.DataFrame, kinds: dict[str, str], *, keep: Iterable[str] = ()
) -> dict[str, str]:
    """Extra columns that reproduce an outcome: ``{column: why}`` (leakage guard).

    A column a file carries beside the outcomes may be derived from them (a copy of CLTV under
    another name, a churn date or reason left blank for those who stay): as a feature it would
    leak the answer into the models. A typed extra column (``kinds``, from
    :func:`type_extras`) is judged a copy when, on the rows where both are present (at least
    :data:`MIN_ROWS_TO_DROP`), it reproduces ``CLTV`` or ``Satisfaction Score`` with a
    correlation of :data:`COPY_THRESHOLD` or more (a category: its levels explain that share of
    the variance), or separates churners from the others with a ROC AUC of that much (its
    missing cells count as a value of their own; a category: the purity of its levels, or
    how well its blank cells alone separate them), on a
    seeded sample of :data:`JUDGE_ROWS` rows of a larger frame. The ``keep`` columns (a catalog
    reads holdings from them) are never judged.
    """
    protected = set(keep)
    found: dict[str, str] = {}
    if len(frame) > JUDGE_ROWS:  # a seeded sample judges as well, in bounded time
        rows = np.sort(np.random.default_rng(0).choice(len(frame), JUDGE_ROWS, replace=False))
        frame = frame.iloc[rows]
    for name, how in _OUTCOMES:
        if name not in frame.columns:
            continue
        target = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        known = np.isfinite(target)
        if how == "binary":
            known &= np.isin(target, (0.0, 1.0))
        if known.sum() < MIN_ROWS_TO_DROP:
            continue
        for col, kind in kinds.items():
            if col in protected or col in found:
                continue
            values = frame.loc[known, col]
            y = target[known]
            if kind == "categorical":
                binary = how == "binary"
                fit = _level_fit(values, y, binary)
                measure = (
                    "purity of its levels" if binary else "share of variance its levels explain"
                )
                if binary:  # blank exactly for those who stay (or leave)
                    blank = _auc(values.notna().to_numpy(dtype=float), y)
                    if blank > fit:
                        fit, measure = blank, "ROC AUC of its blank cells"
            else:
                x = values.map({"Yes": 1.0, "No": 0.0}) if kind == "boolean" else values
                x = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
                there = np.isfinite(x)
                if there.sum() < MIN_ROWS_TO_DROP:
                    continue
                if how == "binary":
                    lo, hi = np.nanmin(x) - 1.0, np.nanmax(x) + 1.0
                    fit = max(_auc(np.where(there, x, fill), y) for fill in (lo, hi))
                    measure = "ROC AUC"
                else:
                    with np.errstate(all="ignore"):  # 1e300 overflows: no verdict, fit 0
                        r = np.corrcoef(x[there], y[there])[0, 1]
                    fit = abs(float(r)) if np.isfinite(r) else 0.0
                    measure = "correlation"
            if fit >= COPY_THRESHOLD:
                found[col] = f"it reproduces {name} ({measure} {fit:.3f})"
    return found
