"""The store's tables as they are now (for queries): scenarios, runs, exports, schema_version.

These describe the latest schema; :mod:`core.ops.store.migrations` builds it step by step in a
database. Every timestamp column is a :class:`UTCDateTime`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from core.common.errors import OptionError

MAX_NAME_LENGTH = 200


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


def utc_now() -> datetime:
    """The current time as an aware UTC timestamp (what the store writes to its columns)."""
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
