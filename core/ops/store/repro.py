"""Reproducibility: can a saved run be re-executed to the same journeys, and did it?

A run stores the sha256 of its input data, the code and library versions and the sha256 of the
journeys it produced. :func:`check_reproducible` compares the first three with what is at hand
now; :func:`verify_rerun` compares a re-run's journeys with the saved ones, byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.common.errors import CJOError
from core.common.provenance import code_version, library_versions
from core.ops.store._base import check_sha256
from core.ops.store.records import Run


@dataclass(frozen=True)
class ReproCheck:
    """Whether a saved run can be re-executed to the same journeys, and if not, why.

    ``data_changed`` means the re-run cannot reproduce the run; a different code or library
    version means it may not (the journeys' sha256 decides, see :func:`verify_rerun`).
    """

    run_id: int
    data_changed: bool
    code_changed: bool
    changed_libraries: tuple[tuple[str, str, str], ...]  # (name, at run time, now)
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (self.data_changed or self.code_changed or self.changed_libraries)

    @property
    def message(self) -> str:
        if self.ok:
            return f"Run {self.run_id} can be re-run on the same data, code and libraries."
        return " ".join(self.problems)


def _short(digest: str) -> str:
    return digest[:12] + "…"


def check_reproducible(
    run: Run,
    data_sha256: str,
    *,
    current_code_version: str | None = None,
    current_library_versions: Mapping[str, str] | None = None,
    strict: bool = False,
) -> ReproCheck:
    """Compare a saved run with the data, code and libraries at hand.

    Parameters
    ----------
    run
        The saved run.
    data_sha256
        sha256 of the data file loaded now (``LoadedData.sha256``).
    current_code_version, current_library_versions
        Default: this process's :func:`code_version` and :func:`library_versions`.
    strict
        Raise instead of returning when the data file has changed.

    Returns
    -------
    ReproCheck
        ``.ok`` and a ``.message`` that says what changed and what to do.

    Raises
    ------
    CJOError
        When ``strict`` and the data file differs from the run's.
    """
    data_sha256 = check_sha256(data_sha256, "data_sha256")
    now_code = current_code_version if current_code_version is not None else code_version()
    now_libs = dict(
        current_library_versions if current_library_versions is not None else library_versions()
    )
    problems = []
    data_changed = data_sha256 != run.data_hash
    if data_changed:
        problems.append(
            f"The data file has changed since run {run.id}: the run used data with sha256 "
            f"{_short(run.data_hash)}, the loaded file has sha256 {_short(data_sha256)}. "
            f"Re-running on this file will not reproduce run {run.id}'s journeys; load the "
            "original file to reproduce it, or record a new run."
        )
    code_changed = now_code != run.code_version
    if code_changed:
        problems.append(
            f"The code changed since run {run.id} ({run.code_version} then, {now_code} now); "
            "the journeys may differ."
        )
    then_libs = run.library_versions
    changed = tuple(
        (name, then_libs.get(name, "absent"), now_libs.get(name, "absent"))
        for name in sorted(set(then_libs) | set(now_libs))
        if then_libs.get(name) != now_libs.get(name)
    )
    if changed:
        listed = ", ".join(f"{n} {a} -> {b}" for n, a, b in changed)
        problems.append(
            f"Library versions changed since run {run.id} ({listed}); the journeys may differ."
        )
    check = ReproCheck(run.id, data_changed, code_changed, changed, tuple(problems))
    if strict and data_changed:
        raise CJOError(problems[0])
    return check


def verify_rerun(run: Run, journeys_bytes: bytes) -> bool:
    """True when a re-run's journeys export is byte-identical to the saved run's.

    ``journeys_bytes`` must be made the same way as the original (same format and options of
    :mod:`core.ops.export`), since the run stores the sha256 of those exact bytes.
    """
    return hashlib.sha256(journeys_bytes).hexdigest() == run.journeys_sha256
