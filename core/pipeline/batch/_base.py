"""What the batch modules share: the batch error, file fingerprints and memory figures."""

from __future__ import annotations

import hashlib
import resource
import sys
from pathlib import Path

from core.common.errors import CJOError


class BatchError(CJOError):
    """A batch run that failed or was stopped; its message says what happened to the output.

    ``interrupted`` is True when it was stopped (KeyboardInterrupt) rather than failed.
    """

    def __init__(self, message: str, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (streamed in 1 MiB blocks)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(rss) / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)
