"""The versioned schema: the ordered :data:`MIGRATIONS` and :func:`migrate`, which applies them.

``schema_version`` lists the migrations applied to a database. :func:`migrate` (run whenever a
store is opened) applies the missing ones in one transaction, under a lock, so it is idempotent
and safe when several processes open the same database at once. A released migration is never
edited: a schema change is a new migration at the end of :data:`MIGRATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.common.errors import CJOError, OptionError
from core.ops.store.engine import ENV_URL
from core.ops.store.tables import MAX_NAME_LENGTH, schema_version, utc_now

# An arbitrary constant: the PostgreSQL advisory lock that serialises migrations.
_PG_MIGRATION_LOCK = 0x434A4F5354  # "CJOST"


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


def current_version(conn: Connection) -> int:
    """The schema version recorded in the database behind ``conn`` (0 for an empty database)."""
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
        An engine made by :func:`~core.ops.store.engine.make_engine` (its SQLite write
        transactions are immediate).
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
        current = current_version(conn)
        conn.rollback()
    if current >= target:
        _refuse_newer(current, latest)
        return current

    with engine.execution_options(cjo_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        schema_version.create(conn, checkfirst=True)
        current = current_version(conn)
        _refuse_newer(current, latest)
        for m in migrations:
            if current < m.version <= target:
                m.apply(conn)
                conn.execute(
                    schema_version.insert().values(
                        version=m.version, description=m.description, applied_at=utc_now()
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
