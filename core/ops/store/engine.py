"""The database engine: which URL, and the connection settings of SQLite and PostgreSQL.

The database is embedded SQLite by default (``data/journeys.db``) or any SQLAlchemy URL given
in the environment variable :data:`ENV_URL` (PostgreSQL through ``postgresql+psycopg://``).
On SQLite every connection runs in WAL mode with a busy timeout, foreign keys on and
``synchronous=FULL``, and the store begins its transactions itself: ``BEGIN IMMEDIATE`` for
writes (an engine with the execution option ``cjo_write=True``), ``BEGIN`` for reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.common.errors import CJOError

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PATH = ROOT / "data" / "journeys.db"
ENV_URL = "JOURNEY_DB_URL"
DEFAULT_BUSY_TIMEOUT_MS = 30_000


def default_url(path: str | os.PathLike[str] | None = None) -> str:
    """The database URL: ``JOURNEY_DB_URL`` if set, else a SQLite file (``data/journeys.db``)."""
    if path is None:
        env = os.environ.get(ENV_URL, "").strip()
        if env:
            return env
        path = DEFAULT_PATH
    return sa.engine.URL.create("sqlite+pysqlite", database=str(Path(path))).render_as_string()


def safe_url(url: sa.engine.URL) -> str:
    """``url`` as text with its password hidden (for messages)."""
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
            f"No database driver for {safe_url(parsed)} ({err}). Install the driver, e.g. "
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
