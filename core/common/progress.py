"""Progress reporting: one protocol for every long computation of core.

A long function takes ``progress: Progress | None = None`` and calls ``progress(done, total)``
as it goes; core never prints. The CLI passes a text bar, the dashboard a Streamlit bar.
"""

from __future__ import annotations

from collections.abc import Callable
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


def ticker(progress: Progress | None, total: float) -> Callable[[], None]:
    """A function that reports one more of ``total`` units done each time it is called.

    The ``n``-th call reports ``progress(n, total)``; with ``progress=None`` the calls do nothing.
    """
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    return tick
