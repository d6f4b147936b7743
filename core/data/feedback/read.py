"""Reading feedback texts: a feedback file, or a text column of the customer table, validated once.

:func:`read_feedback` takes a path, an upload's bytes or a DataFrame and returns a
:class:`FeedbackTable` with canonical columns ``id``, ``date``, ``text``, ``rating`` (and
``channel`` when the source has one). Every problem raises one
:class:`~core.common.errors.DataValidationError` whose message names the column, the first rows
and the fix:

* the text column is missing, holds numbers (a rating passed as text), holds binary bytes, or
  has no text at all;
* ratings that are not numbers or lie outside the rating scale (``scale``, default 1-5);
* dates that do not parse;
* ids missing.

A cell longer than ``max_chars`` (default :data:`MAX_TEXT_CHARS`) is **capped**: only its first
``max_chars`` characters are kept and :attr:`FeedbackTable.notes` says which rows were cut (a
1 MB cell is a pasted log or an attachment, not feedback).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, OptionError, column_error, format_rows
from core.data.io.read import Limits, read_table

#: Longest text kept, in characters; longer cells are cut to it (and the notes say so).
MAX_TEXT_CHARS = 20_000
#: A text column with at most :data:`CATEGORY_LEVELS` distinct values over at least
#: :data:`CATEGORY_ROWS` texts looks like a category (a contract type), not written feedback:
#: the notes say so.
CATEGORY_LEVELS = 20
CATEGORY_ROWS = 100
#: The columns of :attr:`FeedbackTable.frame`.
FEEDBACK_FIELDS: tuple[str, ...] = ("id", "date", "text", "rating", "channel")
_FIELD_LIMIT = 64 * 1024 * 1024  # the csv module's per-field cap, raised so long cells are read
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class FeedbackTable:
    """Validated feedback texts.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per text: ``id`` (str), ``date`` (datetime64, NaT when undated or no date
        column), ``text`` (str), ``rating`` (float, NaN when unrated), ``channel`` (str or
        None).
    columns : dict
        Which source column gave each field (``{"text": "comment", "id": None, ...}``).
    scale : tuple of int, optional
        The rating scale ``(lowest, highest)`` when ratings were given.
    notes : tuple of str
        What was done to the input (cells capped, rows without text skipped).
    n_capped : int
        Texts cut to ``max_chars``.
    """

    frame: pd.DataFrame
    columns: dict[str, str | None]
    scale: tuple[int, int] | None
    notes: tuple[str, ...]
    n_capped: int = 0

    @property
    def n(self) -> int:
        """Number of texts."""
        return len(self.frame)

    @property
    def has_ratings(self) -> bool:
        return bool(self.frame["rating"].notna().any())

    def unhappy(self) -> np.ndarray:
        """bool ``[n]``: the rating is one of the two lowest points of the scale (NaN: False)."""
        if self.scale is None:
            return np.zeros(self.n, dtype=bool)
        r = self.frame["rating"].to_numpy(dtype=np.float64)
        return np.nan_to_num(r, nan=np.inf) <= self.scale[0] + 1


def _fail(
    name: str, column: str, check: str, rows: list[int], values: list[Any], msg: str, fix: str
) -> DataValidationError:
    return column_error(name, column, check, rows, values, msg, fix, width=40)


def parse_scale(text: str | tuple[int, int] | None) -> tuple[int, int]:
    """``"1-5"`` (or a pair) -> ``(1, 5)``; at least three points, lowest < highest."""
    if text is None:
        return (1, 5)
    if isinstance(text, tuple):
        lo, hi = text
    else:
        m = re.fullmatch(r"\s*(-?\d+)\s*(?:-|\.\.|to)\s*(-?\d+)\s*", str(text))
        if not m:
            raise OptionError(f"rating scale {text!r}: write it as LOW-HIGH, e.g. 1-5 or 0-10.")
        lo, hi = int(m.group(1)), int(m.group(2))
    if hi - lo < 2:
        raise OptionError(f"rating scale {lo}-{hi}: needs at least three points (e.g. 1-5).")
    return int(lo), int(hi)


def _raw(source: str | Path | bytes | pd.DataFrame, name: str | None, limits: Limits | None):
    if isinstance(source, pd.DataFrame):
        return source, name or "table"
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)  # long cells are read, then capped below
    frame, info = read_table(source, name=name, limits=limits)
    return frame, info["name"]


def _column(
    frame: pd.DataFrame, col: str | None, role: str, name: str, required: bool
) -> str | None:
    if col is None:
        if required:
            raise OptionError(f"{name}: name the {role} column.")
        return None
    if col not in frame.columns:
        shown = ", ".join(repr(c) for c in list(frame.columns)[:12])
        raise _fail(
            name,
            col,
            "missing",
            [],
            [],
            "is not in the file",
            f"name the {role} column; the file has {shown}.",
        )
    return col


def _texts(frame: pd.DataFrame, col: str, name: str, max_chars: int) -> tuple[pd.Series, list[int]]:
    """The text column as str (NaN for empty), refusing numbers and bytes; capped rows."""
    s = frame[col]
    values = s.to_numpy(dtype=object)
    is_bytes = np.array([isinstance(v, bytes | bytearray | memoryview) for v in values])
    if is_bytes.any():
        rows = (np.flatnonzero(is_bytes) + 1).tolist()
        raise _fail(
            name,
            col,
            "binary",
            rows,
            [],
            "holds binary bytes, not text",
            "export the feedback as text (UTF-8 CSV, or a Parquet string column).",
        )
    present = pd.notna(s).to_numpy()
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        numeric = present
    else:
        as_str = s.astype(object).where(pd.notna(s), None)
        parsed = pd.to_numeric(as_str, errors="coerce")
        numeric = parsed.notna().to_numpy()
    if present.any() and numeric[present].all():
        rows = (np.flatnonzero(present)[:5] + 1).tolist()
        raise _fail(
            name,
            col,
            "numeric text",
            rows,
            list(values[present][:3]),
            "holds numbers, not text",
            "pass the column with the written feedback as the text column; a star rating or "
            "score goes to the rating option.",
        )
    cells: list[str | None] = [str(v) if p else None for v, p in zip(values, present, strict=True)]
    text = pd.Series(cells, index=s.index, dtype=object)
    control = pd.Series(
        [v is not None and len(_CONTROL.findall(v[:4096])) > 4 for v in cells], index=s.index
    )
    if control.any():
        rows = (np.flatnonzero(control.to_numpy()) + 1).tolist()
        raise _fail(
            name,
            col,
            "binary",
            rows,
            [],
            "holds binary data (control characters), not text",
            "export the feedback as plain text (UTF-8).",
        )
    cells = [None if v is None or not v.strip() else v for v in cells]
    text = pd.Series(cells, index=s.index, dtype=object)
    if text.isna().all():
        raise _fail(
            name,
            col,
            "no texts",
            [],
            [],
            "has no text at all (every cell is empty)",
            "choose the column that holds the written feedback, or add texts.",
        )
    too_long = np.array([v is not None and len(v) > max_chars for v in cells], dtype=bool)
    capped = (np.flatnonzero(too_long) + 1).tolist()
    if capped:
        cells = [v if v is None or len(v) <= max_chars else v[:max_chars] for v in cells]
        text = pd.Series(cells, index=s.index, dtype=object)
    return text, capped


def _ratings(frame: pd.DataFrame, col: str, name: str, scale: tuple[int, int]) -> np.ndarray:
    s = frame[col]
    present = pd.notna(s).to_numpy()
    num = pd.to_numeric(s.astype(object).where(pd.notna(s), None), errors="coerce")
    bad = present & num.isna().to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 1).tolist()
        raise _fail(
            name,
            col,
            "rating type",
            rows,
            list(s.to_numpy(dtype=object)[bad][:3]),
            "has ratings that are not numbers",
            "give ratings as numbers on the scale, e.g. 1-5.",
        )
    r = num.to_numpy(dtype=np.float64)
    lo, hi = scale
    out = present & ((r < lo) | (r > hi))
    if out.any():
        rows = (np.flatnonzero(out) + 1).tolist()
        raise _fail(
            name,
            col,
            "rating scale",
            rows,
            list(r[out][:3]),
            f"has ratings outside the scale {lo}-{hi}",
            f"correct those ratings, or give the scale they use (e.g. --scale {lo}-10).",
        )
    return r


def parse_dates(values: pd.Series, column: str, name: str) -> pd.Series:
    """Dates of a column as datetime64 (NaT where empty); one clear error for the first that
    do not parse (ISO dates, ``31/12/2024`` day first or ``12/31/2024`` month first)."""
    s = values.astype(object).where(pd.notna(values), None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.to_datetime(values).dt.tz_localize(None).astype("datetime64[ns]")
    text = s.map(lambda v: None if v is None or not str(v).strip() else str(v).strip())
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    for fmt in ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"):
        missing = parsed.isna() & text.notna()
        if not missing.any():
            break
        parsed = parsed.fillna(pd.to_datetime(text.where(missing), errors="coerce", format=fmt))
    bad = (parsed.isna() & text.notna()).to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 1).tolist()
        raise _fail(
            name,
            column,
            "date",
            rows,
            list(text[bad][:3]),
            "has dates that do not parse",
            "write dates as YYYY-MM-DD (ISO 8601), e.g. 2024-05-31.",
        )
    return pd.Series(parsed.to_numpy(dtype="datetime64[ns]"), index=values.index)


def read_feedback(
    source: str | Path | bytes | pd.DataFrame,
    *,
    text: str,
    id: str | None = None,
    date: str | None = None,
    rating: str | None = None,
    channel: str | None = None,
    scale: str | tuple[int, int] | None = None,
    max_chars: int = MAX_TEXT_CHARS,
    name: str | None = None,
    limits: Limits | None = None,
) -> FeedbackTable:
    """Read and validate feedback texts (see the module docstring).

    Parameters
    ----------
    source
        A CSV or Parquet file (path or bytes) or a DataFrame (e.g. the customer table).
    text, id, date, rating, channel
        Source column names. Without ``id`` each row is its own writer (``row 1`` ...).
    scale
        The rating scale (``"1-5"`` by default; ``"0-10"`` for a recommendation score).
    max_chars
        Longest text kept; longer cells are capped (see :attr:`FeedbackTable.notes`).

    Returns
    -------
    FeedbackTable

    Raises
    ------
    DataValidationError
        For the problems listed in the module docstring (one message, with the fix).

    Examples
    --------
    >>> df = pd.DataFrame({"comment": ["Great service", "Too expensive"], "stars": [5, 2]})
    >>> fb = read_feedback(df, text="comment", rating="stars")
    >>> fb.n, fb.unhappy().tolist()
    (2, [False, True])
    """
    if max_chars < 1:
        raise OptionError(f"max_chars must be >= 1, got {max_chars}")
    frame, label = _raw(source, name, limits)
    text_col = _column(frame, text, "text", label, True)
    assert text_col is not None
    id_col = _column(frame, id, "id", label, False)
    date_col = _column(frame, date, "date", label, False)
    rating_col = _column(frame, rating, "rating", label, False)
    channel_col = _column(frame, channel, "channel", label, False)
    texts, capped = _texts(frame, text_col, label, max_chars)
    notes: list[str] = []
    if capped:
        notes.append(
            f"{len(capped)} text(s) longer than {max_chars:,} characters were capped to their "
            f"first {max_chars:,} characters ({format_rows(capped)})."
        )
    if id_col is not None:
        ids = frame[id_col].astype(object)
        no_id = ids.isna().to_numpy() | ids.astype(str).str.strip().eq("").to_numpy()
        if no_id.any():
            rows = (np.flatnonzero(no_id) + 1).tolist()
            raise _fail(
                label,
                id_col,
                "id",
                rows,
                [],
                "has rows without a customer id",
                "give every text its customer's id (or leave --id out to treat rows alone).",
            )
        id_values = ids.astype(str).str.strip()
    else:
        id_values = pd.Series([f"row {i + 1}" for i in range(len(frame))], index=frame.index)
    scale_t = parse_scale(scale) if (rating_col is not None or scale is not None) else None
    r = (
        _ratings(frame, rating_col, label, scale_t)
        if rating_col is not None and scale_t is not None
        else np.full(len(frame), np.nan)
    )
    dates = (
        parse_dates(frame[date_col], date_col, label)
        if date_col is not None
        else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    )
    out = pd.DataFrame(
        {
            "id": id_values.to_numpy(dtype=object),
            "date": dates.to_numpy(dtype="datetime64[ns]"),
            "text": texts.to_numpy(dtype=object),
            "rating": r,
            "channel": (
                frame[channel_col].astype(object).to_numpy()
                if channel_col is not None
                else np.full(len(frame), None, dtype=object)
            ),
        }
    )
    empty = out["text"].isna().to_numpy()
    if empty.any():
        notes.append(f"{int(empty.sum())} row(s) without text were skipped.")
        out = out.loc[~empty].reset_index(drop=True)
    levels = out["text"].str.strip().value_counts()
    if len(out) >= CATEGORY_ROWS and len(levels) <= CATEGORY_LEVELS:
        shown = ", ".join(repr(v) for v in levels.index[:3]) + (", ..." if len(levels) > 3 else "")
        notes.append(
            f"'{text_col}' holds only {len(levels)} distinct value(s) over {len(out):,} rows "
            f"({shown}): it looks like a category, not written feedback. Check --text."
        )
    return FeedbackTable(
        frame=out,
        columns={
            "text": text_col,
            "id": id_col,
            "date": date_col,
            "rating": rating_col,
            "channel": channel_col,
        },
        scale=scale_t,
        notes=tuple(notes),
        n_capped=len(capped),
    )
