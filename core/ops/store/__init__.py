"""Saved scenarios, run history and export records on a real database (SQLAlchemy Core).

One :class:`Store` holds three tables:

``scenarios``
    A named set of parameters (weights, levers, schedule, catalog, estimator, seed, ...) kept as
    canonical JSON (sorted keys, no spaces), so two equal scenarios have byte-equal parameters.
``runs``
    One row per optimisation run: the scenario it came from, a snapshot of its parameters, the
    seed, the sha256 of the input data, the code version, the library versions, summary metrics
    and the sha256 of the journeys it produced. That is everything needed to re-run it and check
    that the re-run gives the same journeys byte for byte (:func:`check_reproducible`,
    :func:`verify_rerun`).
``exports``
    One row per file exported from a run: format, row count and sha256.

The family, one concept per module:

* :mod:`~core.ops.store.tables`: the latest tables (for queries) and their UTC timestamps;
* :mod:`~core.ops.store.migrations`: :data:`MIGRATIONS`, :data:`SCHEMA_VERSION` and
  :func:`migrate`, which applies the missing ones in one locked transaction (idempotent, safe
  when several processes open the same database at once);
* :mod:`~core.ops.store.engine`: the URL (SQLite ``data/journeys.db`` by default, or
  ``JOURNEY_DB_URL``, e.g. ``postgresql+psycopg://``) and the SQLite connection settings (WAL,
  busy timeout, foreign keys, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` for writes);
* :mod:`~core.ops.store.records`: the frozen records :class:`Scenario`, :class:`Run` and
  :class:`ExportRecord`;
* :mod:`~core.ops.store.store`: the :class:`Store` itself (thread- and process-safe);
* :mod:`~core.ops.store.repro`: :func:`check_reproducible` and :func:`verify_rerun`.

``canonical_json``, ``code_version`` and ``library_versions`` (from :mod:`core.common`) are
re-exported here because callers use them together with the store.
"""

from core.common.jsonutil import canonical_json
from core.common.provenance import code_version, library_versions
from core.ops.store.engine import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DEFAULT_PATH,
    ENV_URL,
    default_url,
    make_engine,
)
from core.ops.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, migrate
from core.ops.store.records import ExportRecord, Run, Scenario
from core.ops.store.repro import ReproCheck, check_reproducible, verify_rerun
from core.ops.store.store import Store
from core.ops.store.tables import (
    MAX_NAME_LENGTH,
    UTCDateTime,
    exports,
    metadata_obj,
    runs,
    scenarios,
    schema_version,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "DEFAULT_PATH",
    "ENV_URL",
    "MAX_NAME_LENGTH",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ExportRecord",
    "Migration",
    "ReproCheck",
    "Run",
    "Scenario",
    "Store",
    "UTCDateTime",
    "canonical_json",
    "check_reproducible",
    "code_version",
    "default_url",
    "exports",
    "library_versions",
    "make_engine",
    "metadata_obj",
    "migrate",
    "runs",
    "scenarios",
    "schema_version",
    "verify_rerun",
]
