"""The project's error types.

Every problem a user can cause (bad data, a bad catalog, a bad mapping, a bad option) raises a
:class:`CJOError` subclass whose message names what is wrong, where (column, rows) and how to fix
it. The CLI prints ``str(error)`` and exits 2; the dashboard shows it with ``st.error``. Neither ever
shows a traceback for these errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CJOError(Exception):
    """Base class of every user-facing error of the Customer Journey Optimizer."""


class DataValidationError(CJOError):
    """Input data that cannot be used as it is.

    Parameters
    ----------
    message
        The whole human-readable message (problems, where, and the fix).
    failures
        Optional table of failure cases with columns ``column``, ``check``, ``rows`` (1-based data
        row numbers, header excluded), ``values`` and ``fix``; the dashboard shows it as a table.
    """

    def __init__(self, message: str, failures: Any = None) -> None:
        super().__init__(message)
        self.failures = failures


class CatalogError(CJOError):
    """A product catalog that is malformed or does not fit the data."""


class MappingError(DataValidationError):
    """A column mapping that is malformed or leaves required columns unmapped."""

    def __init__(self, message: str, failures: Any = None) -> None:
        super().__init__(message, failures)


class OptionError(CJOError, ValueError):
    """An option or argument a caller chose that a core function cannot use.

    A solver option, a schedule parameter, a seed, a weight: the message names the option, the
    value and what is allowed. It is also a :class:`ValueError`, so code that validated with
    ``except ValueError`` keeps working; a plain ``ValueError`` from core is a bug.
    """


class ModelError(CJOError):
    """A model artifact that is missing, tampered with, or built with other library versions."""


def format_rows(rows: Sequence[int], limit: int = 5) -> str:
    """Return ``"rows 3, 8, 10 (and 12 more)"`` for 1-based data row numbers."""
    rows = list(rows)
    if not rows:
        return "no rows"
    head = ", ".join(str(r) for r in rows[:limit])
    more = f" (and {len(rows) - limit} more)" if len(rows) > limit else ""
    return f"row {head}" if len(rows) == 1 else f"rows {head}{more}"


def column_error(
    name: str,
    column: str,
    check: str,
    rows: Sequence[int],
    values: Sequence[Any],
    msg: str,
    fix: str,
    width: int = 40,
) -> DataValidationError:
    """One failed check of one column, as a :class:`DataValidationError` with its table.

    The message reads ``"{name}: column '{column}' {msg} in rows 3, 8 (values: 'x', 'y'). Fix:
    {fix}"`` (at most three values, each cut to ``width`` characters); the failures table has the
    one row ``column, check, rows, values, fix``.
    """
    import pandas as pd

    rows = list(rows)
    values = list(values)
    table = pd.DataFrame(
        [
            {
                "column": column,
                "check": check,
                "rows": format_rows(rows),
                "values": values,
                "fix": fix,
            }
        ]
    )
    shown = ", ".join(repr(str(v)[:width]) for v in values[:3])
    where = f" in {format_rows(rows)}" if rows else ""
    vals = f" (values: {shown})" if shown else ""
    return DataValidationError(f"{name}: column '{column}' {msg}{where}{vals}. Fix: {fix}", table)
