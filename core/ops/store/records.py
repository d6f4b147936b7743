"""What the store hands back: one frozen record per row of scenarios, runs and exports.

JSON columns are kept as their canonical text (``*_json`` fields, so equal records compare
equal byte for byte) and parsed on demand by properties (``params``, ``summary``, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar


@dataclass(frozen=True)
class Scenario:
    """A saved scenario. ``params_json`` is canonical JSON; ``params`` parses it."""

    id: int
    name: str
    params_json: str
    revision: int
    created_at: datetime
    updated_at: datetime

    @property
    def params(self) -> dict[str, Any]:
        return dict(json.loads(self.params_json))


@dataclass(frozen=True)
class Run:
    """A recorded optimisation run: everything needed to re-run it and check the result."""

    id: int
    scenario_id: int | None
    scenario_name: str | None
    params_json: str
    seed: int | None
    data_hash: str
    code_version: str
    library_versions_json: str
    summary_json: str
    journeys_sha256: str
    created_at: datetime

    @property
    def params(self) -> dict[str, Any]:
        return dict(json.loads(self.params_json))

    @property
    def library_versions(self) -> dict[str, str]:
        return dict(json.loads(self.library_versions_json))

    @property
    def summary(self) -> dict[str, Any]:
        return dict(json.loads(self.summary_json))


@dataclass(frozen=True)
class ExportRecord:
    """A file exported from a run."""

    id: int
    run_id: int
    format: str
    row_count: int
    sha256: str
    created_at: datetime


Record = TypeVar("Record", Scenario, Run, ExportRecord)

# A field ``<column>_json`` holds the text of the JSON column ``<column>``; every other field has
# the name of its column.
_JSON_SUFFIX = "_json"


def from_row(cls: type[Record], row: Any) -> Record:
    """The record of type ``cls`` for a row of its table (``Scenario`` for ``scenarios``, ...).

    Parameters
    ----------
    cls
        :class:`Scenario`, :class:`Run` or :class:`ExportRecord`.
    row
        A SQLAlchemy row with (at least) one column per field of ``cls``.
    """
    m = row._mapping
    return cls(**{f.name: m[f.name.removesuffix(_JSON_SUFFIX)] for f in fields(cls)})
