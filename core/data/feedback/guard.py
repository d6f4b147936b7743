"""The leakage guard for texts: what a customer wrote after the outcome, or about it, stays out.

A text can carry the outcome in two ways, and both would make a churn model look better than it
is (in the synthetic population, exit surveys alone push the churn AUC up sharply):

* **outcome texts**: written because of the outcome, such as a churn reason, a churn category
  or an exit survey. The canonical outcome columns (:data:`core.data.schema.OUTCOME_COLUMNS`)
  are refused as text sources for features (:func:`check_text_source`), and texts from an
  outcome channel (:data:`OUTCOME_CHANNELS`: exit surveys, cancellation calls ...) are dropped;
* **texts dated after the outcome**: with a ``cutoff`` (the start of the period whose outcome
  the data records), texts dated on or after it are dropped, and undated texts too (nothing
  proves they came before).

:func:`guard_texts` returns the kept texts and a :class:`TextGuardReport` that names what it
dropped and why; the notes go into every report that uses text features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError
from core.data import schema

#: Channels whose texts are written because of the outcome (compared in lower case).
OUTCOME_CHANNELS: frozenset[str] = frozenset(
    {
        "exit survey",
        "exit interview",
        "cancellation",
        "cancellation call",
        "churn reason",
        "churn survey",
        "win-back",
        "winback",
    }
)
#: Canonical text columns derived from the outcome (never a source of text features).
OUTCOME_TEXT_COLUMNS: tuple[str, ...] = tuple(
    c for c in schema.OUTCOME_COLUMNS if schema.BY_NAME[c].kind == "str"
)


@dataclass(frozen=True)
class TextGuardReport:
    """What the text leakage guard dropped.

    Attributes
    ----------
    n_in, n_kept : int
        Texts before and after the guard.
    after_cutoff, undated, outcome_channel : int
        Texts dropped for each reason.
    cutoff : pandas.Timestamp or None
    notes : tuple of str
        One sentence per reason that dropped anything.
    """

    n_in: int
    n_kept: int
    after_cutoff: int
    undated: int
    outcome_channel: int
    cutoff: pd.Timestamp | None
    notes: tuple[str, ...]


def check_text_source(column: str) -> None:
    """Refuse a canonical outcome column (Churn Reason, Churn Category ...) as a text source.

    Raises
    ------
    DataValidationError
        Naming the column, why it leaks and the fix.
    """
    if column in OUTCOME_TEXT_COLUMNS:
        raise DataValidationError(
            f"leakage guard: column '{column}' is an outcome text (written because the customer "
            "left), so it can never be a feature of the churn or satisfaction models. Fix: use "
            "feedback written before the outcome (surveys, support chats, reviews)."
        )


def guard_texts(
    frame: pd.DataFrame,
    *,
    cutoff: str | pd.Timestamp | None = None,
    outcome_channels: frozenset[str] = OUTCOME_CHANNELS,
) -> tuple[pd.DataFrame, TextGuardReport]:
    """Drop outcome texts and texts dated on or after ``cutoff``.

    Parameters
    ----------
    frame : pandas.DataFrame
        :attr:`core.data.feedback.FeedbackTable.frame` (``date``, ``channel`` columns).
    cutoff : date, optional
        Start of the outcome period. Without it only outcome channels are dropped.
    outcome_channels : frozenset of str
        Channels (lower case) whose texts are outcome texts.

    Returns
    -------
    (kept, report)

    Examples
    --------
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-05-01", "2024-08-01", None]),
    ...                    "channel": ["survey", "survey", "exit survey"], "text": ["a", "b", "c"]})
    >>> kept, rep = guard_texts(df, cutoff="2024-07-01")
    >>> len(kept), rep.after_cutoff, rep.outcome_channel
    (1, 1, 1)
    """
    n = len(frame)
    channel = (
        frame["channel"].astype(object).map(lambda v: str(v).strip().lower() if v else "")
        if "channel" in frame.columns
        else pd.Series("", index=frame.index)
    )
    outcome = channel.isin(outcome_channels).to_numpy()
    cut = None if cutoff is None else pd.Timestamp(cutoff)
    after = np.zeros(n, dtype=bool)
    undated = np.zeros(n, dtype=bool)
    if cut is not None:
        dates = pd.to_datetime(frame["date"]) if "date" in frame.columns else pd.Series(pd.NaT)
        d = dates.to_numpy(dtype="datetime64[ns]")
        undated = np.isnat(d) & ~outcome
        after = ~np.isnat(d) & (d >= np.datetime64(cut)) & ~outcome
    keep = ~(outcome | after | undated)
    notes = []
    if outcome.any():
        names = sorted(set(channel[outcome]))
        notes.append(
            f"leakage guard: {int(outcome.sum())} outcome text(s) dropped (channel {names}): "
            "written because of the outcome."
        )
    if after.any() and cut is not None:
        notes.append(
            f"leakage guard: {int(after.sum())} text(s) dated on or after the cutoff "
            f"{cut.date()} dropped: written after the outcome period began."
        )
    if undated.any():
        notes.append(
            f"leakage guard: {int(undated.sum())} undated text(s) dropped: nothing shows they "
            "came before the cutoff."
        )
    report = TextGuardReport(
        n_in=n,
        n_kept=int(keep.sum()),
        after_cutoff=int(after.sum()),
        undated=int(undated.sum()),
        outcome_channel=int(outcome.sum()),
        cutoff=cut,
        notes=tuple(notes),
    )
    return frame.loc[keep].reset_index(drop=True), report
