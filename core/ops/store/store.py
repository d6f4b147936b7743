"""The :class:`Store`: scenarios, run history and export records in one database.

Transactions are short; writes start with ``BEGIN IMMEDIATE`` on SQLite, so concurrent writers
queue on the lock instead of failing half way. Each thread checks a connection out of the pool
for the length of one transaction, so no connection is ever used by two threads at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.common.errors import CJOError
from core.common.jsonutil import canonical_json
from core.common.provenance import code_version as _code_version
from core.common.provenance import library_versions as _library_versions
from core.ops.store._base import check_sha256
from core.ops.store.engine import (
    DEFAULT_BUSY_TIMEOUT_MS,
    ENV_URL,
    default_url,
    make_engine,
    safe_url,
)
from core.ops.store.migrations import current_version, migrate
from core.ops.store.records import ExportRecord, Run, Scenario, from_row
from core.ops.store.tables import MAX_NAME_LENGTH, exports, runs, scenarios, utc_now


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
        return f"Store({safe_url(self.engine.url)!r})"

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
                f"The journey database {safe_url(self.engine.url)} could not be used: "
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
            f"Cannot open the journey database {safe_url(self.engine.url)}: {err.orig}. "
            f"Check {ENV_URL} (or the file permissions of the SQLite file)."
        ) from err

    def schema_version(self) -> int:
        """The schema version recorded in the database (0 for an empty database)."""
        with self._tx(write=False) as conn:
            return current_version(conn)

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
        now = utc_now()
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
            return from_row(Scenario, row)
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
                return from_row(Scenario, row)
            except sa.exc.IntegrityError:
                continue
        raise CJOError(f"Could not save scenario {values['name']!r}: too many concurrent saves.")

    def get_scenario(self, name: str) -> Scenario | None:
        """The scenario called ``name``, or ``None``."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                sa.select(scenarios).where(scenarios.c.name == name.strip())
            ).one_or_none()
        return None if row is None else from_row(Scenario, row)

    def list_scenarios(self) -> list[Scenario]:
        """All scenarios, by name."""
        with self._tx(write=False) as conn:
            rows = conn.execute(sa.select(scenarios).order_by(scenarios.c.name)).all()
        return [from_row(Scenario, r) for r in rows]

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
        data_hash = check_sha256(data_hash, "data_hash")
        journeys_sha256 = check_sha256(journeys_sha256, "journeys_sha256")
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
                    created_at=utc_now(),
                )
                .returning(*runs.c)
            ).one()
        return from_row(Run, run_row)

    def get_run(self, run_id: int) -> Run | None:
        """The run with this id, or ``None``."""
        with self._tx(write=False) as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == int(run_id))).one_or_none()
        return None if row is None else from_row(Run, row)

    def list_runs(self, scenario: str | None = None, *, limit: int | None = None) -> list[Run]:
        """Runs, newest first; only those of ``scenario`` when given."""
        query = sa.select(runs).order_by(runs.c.id.desc())
        if scenario is not None:
            query = query.where(runs.c.scenario_name == scenario.strip())
        if limit is not None:
            query = query.limit(int(limit))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [from_row(Run, r) for r in rows]

    # -- exports -------------------------------------------------------------------------------

    def record_export(
        self, run: Run | int, format: str, row_count: int, sha256: str
    ) -> ExportRecord:
        """Record a file exported from ``run`` (pass ``ExportResult`` fields from core.ops.export)."""
        run_id = run.id if isinstance(run, Run) else int(run)
        sha256 = check_sha256(sha256, "sha256")
        if format not in ("csv", "parquet", "xlsx"):
            raise CJOError(f"Unknown export format {format!r}; use 'csv', 'parquet' or 'xlsx'.")
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
                        created_at=utc_now(),
                    )
                    .returning(*exports.c)
                ).one()
        except sa.exc.IntegrityError as err:
            raise CJOError(f"No run with id {run_id}: record the run before its exports.") from err
        return from_row(ExportRecord, row)

    def list_exports(self, run: Run | int | None = None) -> list[ExportRecord]:
        """Export records, newest first; only those of ``run`` when given."""
        query = sa.select(exports).order_by(exports.c.id.desc())
        if run is not None:
            query = query.where(exports.c.run_id == (run.id if isinstance(run, Run) else int(run)))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [from_row(ExportRecord, r) for r in rows]
