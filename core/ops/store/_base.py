"""Checks shared by the store and the reproducibility check."""

from __future__ import annotations

from core.common.errors import CJOError


def check_sha256(value: str, what: str) -> str:
    """``value`` as a lower-case sha256 hex digest; a :class:`CJOError` naming ``what`` if not."""
    if not (
        isinstance(value, str)
        and len(value) == 64
        and all(c in "0123456789abcdef" for c in value.lower())
    ):
        raise CJOError(f"{what} must be a 64-character hex sha256 digest, got {value!r}.")
    return value.lower()
