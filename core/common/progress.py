"""Progress reporting: one protocol for every long computation of core.

A long function takes ``progress: Progress | None = None`` and calls ``progress(done, total)``
as it goes; core never prints. The CLI passes a text bar, the dashboard a Streamlit bar.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """``progress(done, total)``: ``done`` of ``total`` units are finished."""

    def __call__(self, done: float, total: float, /) -> object: ...


def stage(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """A progress callback that maps a sub-task's ``done / total`` onto ``[lo, hi]`` of 1."""
    if progress is None:
        return None
    outer = progress

    def inner(done: float, total: float, /) -> object:
        return outer(lo + (hi - lo) * (done / total if total else 1.0), 1.0)

    return inner
