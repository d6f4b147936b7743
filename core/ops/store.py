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

The database is embedded SQLite by default (``data/journeys.db``) or any SQLAlchemy URL given
in the environment variable ``JOURNEY_DB_URL`` (PostgreSQL through ``postgresql+psycopg://``).
On SQLite every connection runs in WAL mode with a busy timeout, foreign keys on and
``synchronous=FULL``; transactions are short, and writes start with ``BEGIN IMMEDIATE`` so
concurrent writers queue on the lock instead of failing half way. Each thread checks a
connection out of the pool for the length of one transaction, so no connection is ever used
by two threads at once.

The schema is versioned: ``schema_version`` lists the migrations applied, :data:`MIGRATIONS`
is the ordered list of all of them, and :func:`migrate` (run whenever a store is opened)
applies the missing ones in one transaction, under a lock, so it is idempotent and safe when
several processes open the same database at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.common.errors import CJOError, OptionError
from core.common.jsonutil import canonical_json
from core.common.provenance import code_version, library_versions

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = ROOT / "data" / "journeys.db"
ENV_URL = "JOURNEY_DB_URL"
MAX_NAME_LENGTH = 200
DEFAULT_BUSY_TIMEOUT_MS = 30_000

# An arbitrary constant: the PostgreSQL advisory lock that serialises migrations.
_PG_MIGRATION_LOCK = 0x434A4F5354  # "CJOST"


# --------------------------------------------------------------------------------------------
# Canonical JSON
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Versions of the code and the libraries (what a run needs to be reproduced)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Schema: the latest tables (for queries) and the migrations that build them
# --------------------------------------------------------------------------------------------


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC in every database and read back as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise OptionError("timestamps must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


metadata_obj = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata_obj,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

scenarios = sa.Table(
    "scenarios",
    metadata_obj,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False, unique=True),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sqlite_autoincrement=True,
)

runs = sa.Table(
    "runs",
    metadata_obj,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "scenario_id", sa.Integer, sa.ForeignKey("scenarios.id", ondelete="SET NULL"), index=True
    ),
    sa.Column("scenario_name", sa.String(MAX_NAME_LENGTH)),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("seed", sa.BigInteger),
    sa.Column("data_hash", sa.String(64), nullable=False),
    sa.Column("code_version", sa.String(200), nullable=False),
    sa.Column("library_versions", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("journeys_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

exports = sa.Table(
    "exports",
    metadata_obj,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "run_id",
        sa.Integer,
        sa.ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)


@dataclass(frozen=True)
class Migration:
    """One schema step: ``apply(connection)`` runs inside the migration transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _m1_initial(conn: Connection) -> None:
    # Frozen copy of the version-1 tables: never edit a released migration, add a new one.
    md = sa.MetaData()
    sa.Table(
        "scenarios",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False, unique=True),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.id", ondelete="SET NULL")),
        sa.Column("scenario_name", sa.String(MAX_NAME_LENGTH)),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("seed", sa.BigInteger),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("code_version", sa.String(200), nullable=False),
        sa.Column("library_versions", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("journeys_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "exports",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    md.create_all(conn)


def _m2_revision_and_indexes(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE scenarios ADD COLUMN revision INTEGER NOT NULL DEFAULT 1"))
    conn.execute(sa.text("CREATE INDEX ix_runs_scenario_id ON runs (scenario_id)"))
    conn.execute(sa.text("CREATE INDEX ix_exports_run_id ON exports (run_id)"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "scenarios, runs and exports", _m1_initial),
    Migration(
        2, "scenario revision counter; indexes for run and export history", _m2_revision_and_indexes
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)


def migrate(
    engine: Engine, *, target: int | None = None, migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Bring the database schema up to ``target`` (default: the latest) and return its version.

    Idempotent: migrations already recorded in ``schema_version`` are skipped. All missing
    migrations run in one transaction that holds the write lock (SQLite ``BEGIN IMMEDIATE``,
    a PostgreSQL advisory lock), so concurrent openers wait for each other and a failure leaves
    the database at its previous version.

    Parameters
    ----------
    engine
        An engine made by :func:`make_engine` (its SQLite write transactions are immediate).
    target
        Version to reach; migrations above it are not applied. Never goes down.
    migrations
        The ordered migrations (tests pass an extended list to simulate a future upgrade).

    Returns
    -------
    int
        The schema version after migrating.

    Raises
    ------
    CJOError
        When the database was written by newer code (a higher schema version than known here).
    """
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or not versions or versions[0] < 1:
        raise OptionError("migrations must have unique, increasing versions starting at >= 1")
    latest = versions[-1]
    target = latest if target is None else target

    with engine.connect() as conn:
        current = _current_version(conn)
        conn.rollback()
    if current >= target:
        _refuse_newer(current, latest)
        return current

    with engine.execution_options(cjo_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        schema_version.create(conn, checkfirst=True)
        current = _current_version(conn)
        _refuse_newer(current, latest)
        for m in migrations:
            if current < m.version <= target:
                m.apply(conn)
                conn.execute(
                    schema_version.insert().values(
                        version=m.version, description=m.description, applied_at=_now()
                    )
                )
                current = m.version
    return current


def _refuse_newer(current: int, latest: int) -> None:
    if current > latest:
        raise CJOError(
            f"The journey database has schema version {current}, but this version of the app "
            f"only knows versions up to {latest}. Upgrade the app, or point {ENV_URL} at "
            "another database."
        )


# --------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------


def default_url(path: str | os.PathLike[str] | None = None) -> str:
    """The database URL: ``JOURNEY_DB_URL`` if set, else a SQLite file (``data/journeys.db``)."""
    if path is None:
        env = os.environ.get(ENV_URL, "").strip()
        if env:
            return env
        path = DEFAULT_PATH
    return sa.engine.URL.create("sqlite+pysqlite", database=str(Path(path))).render_as_string()


def _safe(url: sa.engine.URL) -> str:
    return url.render_as_string(hide_password=True)


def make_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """Create the engine for ``url`` with the store's connection settings.

    For SQLite files: WAL journal, ``busy_timeout``, ``foreign_keys=ON``, ``synchronous=FULL``
    on every new connection, and transactions that the store begins itself (``BEGIN IMMEDIATE``
    for writes, ``BEGIN`` for reads). SQLAlchemy pools SQLite file connections with a
    ``QueuePool``; a connection belongs to one thread for the length of a transaction.
    In-memory SQLite is refused: its connections cannot share one database safely.

    Raises
    ------
    CJOError
        For a malformed URL, an unknown driver or an in-memory SQLite URL.
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as err:
        raise CJOError(
            f"{ENV_URL} / database URL {url!r} is not a valid SQLAlchemy URL ({err}). "
            "Example: postgresql+psycopg://user@host:5432/journeys or sqlite:///data/journeys.db"
        ) from err
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise CJOError(
                "An in-memory SQLite database cannot hold saved scenarios; give a file path "
                f"(e.g. sqlite:///data/journeys.db) or unset {ENV_URL}."
            )
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (sa.exc.NoSuchModuleError, ImportError) as err:
        raise CJOError(
            f"No database driver for {_safe(parsed)} ({err}). Install the driver, e.g. "
            "`pip install psycopg[binary]` for postgresql+psycopg://."
        ) from err

    if backend == "sqlite":
        timeout = int(busy_timeout_ms)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # The store issues BEGIN itself (below), so the driver must not.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout = {timeout}")
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute("PRAGMA foreign_keys = ON")
            finally:
                cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("cjo_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


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


def _scenario(row: Any) -> Scenario:
    m = row._mapping
    return Scenario(
        id=m["id"],
        name=m["name"],
        params_json=m["params"],
        revision=m["revision"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _run(row: Any) -> Run:
    m = row._mapping
    return Run(
        id=m["id"],
        scenario_id=m["scenario_id"],
        scenario_name=m["scenario_name"],
        params_json=m["params"],
        seed=m["seed"],
        data_hash=m["data_hash"],
        code_version=m["code_version"],
        library_versions_json=m["library_versions"],
        summary_json=m["summary"],
        journeys_sha256=m["journeys_sha256"],
        created_at=m["created_at"],
    )


def _export(row: Any) -> ExportRecord:
    m = row._mapping
    return ExportRecord(
        id=m["id"],
        run_id=m["run_id"],
        format=m["format"],
        row_count=m["row_count"],
        sha256=m["sha256"],
        created_at=m["created_at"],
    )


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise CJOError("A scenario needs a name: type a short, non-empty name.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise CJOError(
            f"Scenario name is {len(name)} characters long; use at most {MAX_NAME_LENGTH}."
        )
    if any(ord(ch) < 32 for ch in name):
        raise CJOError("Scenario names cannot contain control characters (tabs, line breaks).")
    return name


def _check_sha(value: str, what: str) -> str:
    if not (
        isinstance(value, str)
        and len(value) == 64
        and all(c in "0123456789abcdef" for c in value.lower())
    ):
        raise CJOError(f"{what} must be a 64-character hex sha256 digest, got {value!r}.")
    return value.lower()


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class Store:
    """Scenarios, run history and export records in one database.

    Safe to share between threads (one instance per process is enough, e.g. in
    ``st.cache_resource``) and between processes (the database serialises writers).

    Parameters
    ----------
    url
        A SQLAlchemy URL. Default: ``JOURNEY_DB_URL`` if set, else SQLite at ``path``.
    path
        The SQLite file used when neither ``url`` nor ``JOURNEY_DB_URL`` is given
        (default ``data/journeys.db`` under the project root).
    busy_timeout_ms
        How long a SQLite writer waits for the lock before failing.
    auto_migrate
        Run :func:`migrate` on open (default). Tests turn it off to build old databases.

    Examples
    --------
    >>> store = Store(path=tmp / "j.db")  # doctest: +SKIP
    >>> store.save_scenario("baseline", {"seed": 42, "weights": [1, 0, 0]}).revision  # doctest: +SKIP
    1
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        auto_migrate: bool = True,
    ) -> None:
        self.url = url if url is not None else default_url(path)
        self.engine = make_engine(self.url, busy_timeout_ms=busy_timeout_ms)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._writer = self.engine.execution_options(cjo_write=True)
        if auto_migrate:
            try:
                self.migrate()
            except BaseException:
                self.engine.dispose()
                raise

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        """``"sqlite"``, ``"postgresql"``, ..."""
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({_safe(self.engine.url)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        engine = self._writer if write else self.engine
        try:
            with engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as err:
            raise CJOError(
                f"The journey database {_safe(self.engine.url)} could not be used: "
                f"{err.orig}. Nothing from this operation was saved; try again."
            ) from err

    def migrate(self, *, target: int | None = None) -> int:
        """Apply missing migrations (see :func:`migrate`); returns the schema version.

        On SQLite a "database is locked" answer is retried until the busy timeout: when several
        connections open a brand-new file at once, SQLite can refuse one of them at once
        (WAL set-up and recovery do not always wait in its busy handler). The migration is one
        idempotent transaction, so a retry is safe.
        """
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                return migrate(self.engine, target=target)
            except sa.exc.OperationalError as err:
                locked = "locked" in str(err.orig) or "busy" in str(err.orig)
                if self.dialect == "sqlite" and locked and time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                self._open_error(err)

    def _open_error(self, err: sa.exc.OperationalError) -> NoReturn:
        raise CJOError(
            f"Cannot open the journey database {_safe(self.engine.url)}: {err.orig}. "
            f"Check {ENV_URL} (or the file permissions of the SQLite file)."
        ) from err

    def schema_version(self) -> int:
        """The schema version recorded in the database (0 for an empty database)."""
        with self._tx(write=False) as conn:
            return _current_version(conn)

    # -- scenarios -----------------------------------------------------------------------------

    def save_scenario(self, name: str, params: Mapping[str, Any]) -> Scenario:
        """Create or update the scenario ``name``; returns it as saved.

        An update replaces the parameters, keeps ``created_at``, sets ``updated_at`` and adds 1
        to ``revision``, atomically: concurrent saves of one name from many threads or processes
        each count (``revision`` ends at the number of saves) and the last one wins.

        Raises
        ------
        CJOError
            For an empty/overlong name or parameters JSON cannot hold exactly.
        """
        name = _check_name(name)
        if not isinstance(params, Mapping):
            raise CJOError(f"Scenario parameters must be a mapping, got {type(params).__name__}.")
        params_json = canonical_json(params)
        now = _now()
        values = {"name": name, "params": params_json, "created_at": now, "updated_at": now}
        update = {"params": params_json, "updated_at": now, "revision": scenarios.c.revision + 1}
        if self.dialect in ("sqlite", "postgresql"):
            if self.dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert
            else:
                from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
            stmt = insert(scenarios).values(**values)
            stmt = stmt.on_conflict_do_update(index_elements=[scenarios.c.name], set_=update)
            with self._tx(write=True) as conn:
                row = conn.execute(stmt.returning(*scenarios.c)).one()
            return _scenario(row)
        return self._save_generic(values, update)

    def _save_generic(self, values: dict[str, Any], update: dict[str, Any]) -> Scenario:
        # Other databases: update-or-insert; a lost insert race turns into an update.
        for _ in range(5):
            try:
                with self._tx(write=True) as conn:
                    done = conn.execute(
                        scenarios.update()
                        .where(scenarios.c.name == values["name"])
                        .values(**update)
                    ).rowcount
                    if not done:
                        conn.execute(scenarios.insert().values(**values))
                    row = conn.execute(
                        sa.select(scenarios).where(scenarios.c.name == values["name"])
                    ).one()
                return _scenario(row)
            except sa.exc.IntegrityError:
                continue
        raise CJOError(f"Could not save scenario {values['name']!r}: too many concurrent saves.")

    def get_scenario(self, name: str) -> Scenario | None:
        """The scenario called ``name``, or ``None``."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                sa.select(scenarios).where(scenarios.c.name == name.strip())
            ).one_or_none()
        return None if row is None else _scenario(row)

    def list_scenarios(self) -> list[Scenario]:
        """All scenarios, by name."""
        with self._tx(write=False) as conn:
            rows = conn.execute(sa.select(scenarios).order_by(scenarios.c.name)).all()
        return [_scenario(r) for r in rows]

    def delete_scenario(self, name: str) -> bool:
        """Delete a scenario; its runs stay in the history (unlinked). True if it existed."""
        with self._tx(write=True) as conn:
            done = conn.execute(scenarios.delete().where(scenarios.c.name == name.strip()))
        return bool(done.rowcount)

    # -- runs ----------------------------------------------------------------------------------

    def record_run(
        self,
        scenario: str | None,
        *,
        seed: int | None,
        data_hash: str,
        journeys_sha256: str,
        params: Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
        code_version: str | None = None,
        library_versions: Mapping[str, str] | None = None,
    ) -> Run:
        """Record a finished run.

        Parameters
        ----------
        scenario
            Name of a saved scenario, or ``None`` for an unsaved (ad-hoc) run.
        seed
            The seed the run used (``None`` only for runs without randomness).
        data_hash
            sha256 of the input data file (``LoadedData.sha256``).
        journeys_sha256
            sha256 of the journeys export (``ExportResult.sha256`` of the CSV).
        params
            The parameters the run used; default: the scenario's saved parameters. Stored as a
            snapshot, so later edits of the scenario do not change the run.
        summary
            Summary metrics (NaN/inf are stored as null).
        code_version, library_versions
            Default: :func:`code_version` and :func:`library_versions` of this process.

        Returns
        -------
        Run

        Raises
        ------
        CJOError
            Unknown scenario, missing parameters, a malformed hash or an out-of-range seed.
        """
        data_hash = _check_sha(data_hash, "data_hash")
        journeys_sha256 = _check_sha(journeys_sha256, "journeys_sha256")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
                raise CJOError(f"seed must be an integer, got {seed!r}.")
            seed = int(seed)
            if not 0 <= seed < 2**63:
                raise CJOError(f"seed {seed} is out of range; use 0 to 2**63 - 1.")
        libs_json = canonical_json(
            dict(library_versions) if library_versions is not None else _library_versions()
        )
        summary_json = canonical_json(dict(summary or {}), nan_to_null=True)
        version = code_version if code_version is not None else _code_version()
        try:
            return self._insert_run(
                scenario, params, seed, data_hash, version, libs_json, summary_json, journeys_sha256
            )
        except sa.exc.IntegrityError as err:  # the scenario was deleted meanwhile (PostgreSQL)
            raise CJOError(
                f"Scenario {scenario!r} was deleted while the run was being recorded; "
                "save it again and re-record the run."
            ) from err

    def _insert_run(
        self,
        scenario: str | None,
        params: Mapping[str, Any] | None,
        seed: int | None,
        data_hash: str,
        version: str,
        libs_json: str,
        summary_json: str,
        journeys_sha256: str,
    ) -> Run:
        with self._tx(write=True) as conn:
            scenario_id = None
            if scenario is not None:
                name = _check_name(scenario)
                row = conn.execute(
                    sa.select(scenarios.c.id, scenarios.c.params).where(scenarios.c.name == name)
                ).one_or_none()
                if row is None:
                    raise CJOError(
                        f"No saved scenario called {name!r}: save the scenario first or record "
                        "the run without one."
                    )
                scenario_id = row.id
                params_json = canonical_json(params) if params is not None else row.params
                scenario = name
            elif params is None:
                raise CJOError("A run without a saved scenario needs its params.")
            else:
                params_json = canonical_json(params)
            run_row = conn.execute(
                runs.insert()
                .values(
                    scenario_id=scenario_id,
                    scenario_name=scenario,
                    params=params_json,
                    seed=seed,
                    data_hash=data_hash,
                    code_version=version,
                    library_versions=libs_json,
                    summary=summary_json,
                    journeys_sha256=journeys_sha256,
                    created_at=_now(),
                )
                .returning(*runs.c)
            ).one()
        return _run(run_row)

    def get_run(self, run_id: int) -> Run | None:
        """The run with this id, or ``None``."""
        with self._tx(write=False) as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == int(run_id))).one_or_none()
        return None if row is None else _run(row)

    def list_runs(self, scenario: str | None = None, *, limit: int | None = None) -> list[Run]:
        """Runs, newest first; only those of ``scenario`` when given."""
        query = sa.select(runs).order_by(runs.c.id.desc())
        if scenario is not None:
            query = query.where(runs.c.scenario_name == scenario.strip())
        if limit is not None:
            query = query.limit(int(limit))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [_run(r) for r in rows]

    # -- exports -------------------------------------------------------------------------------

    def record_export(
        self, run: Run | int, format: str, row_count: int, sha256: str
    ) -> ExportRecord:
        """Record a file exported from ``run`` (pass ``ExportResult`` fields from core.ops.export)."""
        run_id = run.id if isinstance(run, Run) else int(run)
        sha256 = _check_sha(sha256, "sha256")
        if format not in ("csv", "parquet"):
            raise CJOError(f"Unknown export format {format!r}; use 'csv' or 'parquet'.")
        if int(row_count) < 0:
            raise CJOError(f"row_count must be >= 0, got {row_count}.")
        try:
            with self._tx(write=True) as conn:
                row = conn.execute(
                    exports.insert()
                    .values(
                        run_id=run_id,
                        format=format,
                        row_count=int(row_count),
                        sha256=sha256,
                        created_at=_now(),
                    )
                    .returning(*exports.c)
                ).one()
        except sa.exc.IntegrityError as err:
            raise CJOError(f"No run with id {run_id}: record the run before its exports.") from err
        return _export(row)

    def list_exports(self, run: Run | int | None = None) -> list[ExportRecord]:
        """Export records, newest first; only those of ``run`` when given."""
        query = sa.select(exports).order_by(exports.c.id.desc())
        if run is not None:
            query = query.where(exports.c.run_id == (run.id if isinstance(run, Run) else int(run)))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [_export(r) for r in rows]


# Module-level aliases: Store.record_run has parameters with the same names.
_code_version = code_version
_library_versions = library_versions


# --------------------------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------------------------


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
    data_sha256 = _check_sha(data_sha256, "data_sha256")
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
