"""A throwaway PostgreSQL cluster for the store tests.

:func:`cluster` finds the server binaries (``initdb``, ``pg_ctl``), creates a cluster in a fresh
temporary directory (``initdb -A trust -U postgres``), starts it on a free local port with its
socket in that directory, yields a SQLAlchemy URL and stops and deletes it afterwards. PostgreSQL
refuses to run as root, so when the tests run as root (CI containers) the cluster belongs to the
``postgres`` system user (or ``nobody``) and the binaries run under that user.

:func:`server_or_skip` turns "no binaries" into a skip locally and a failure when ``CI`` is set:
CI must never pass by silently skipping the PostgreSQL half of the store tests. On Debian the
binaries come from ``apt-get install -y postgresql`` (``make postgres`` does that).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, newest version first."""
    candidates: list[Path] = []
    if os.environ.get("CJO_PG_BIN"):
        candidates.append(Path(os.environ["CJO_PG_BIN"]))
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).resolve().parent)

    def version(p: Path) -> tuple[int, ...]:
        try:
            return tuple(int(x) for x in p.parent.name.split("."))
        except ValueError:
            return (0,)

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    candidates += [Path("/usr/local/pgsql/bin"), Path("/usr/pgsql/bin")]
    for d in candidates:
        if all(
            (d / exe).is_file() and os.access(d / exe, os.X_OK)
            for exe in ("initdb", "pg_ctl", "postgres")
        ):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and no 'postgres' or 'nobody' user to run as")


@contextmanager
def cluster() -> Iterator[str]:
    """Run a throwaway cluster; yields ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``.

    Raises
    ------
    PostgresUnavailable
        When the binaries are missing.
    RuntimeError
        When the cluster cannot be created or started (the server log is in the message).
    """
    bindir = find_bin_dir()
    if bindir is None:
        raise PostgresUnavailable("initdb/pg_ctl/postgres not found")
    user = _run_user()
    base = Path(tempfile.mkdtemp(prefix="cjo-pg-"))
    data, log = base / "data", base / "server.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(base),
        "LANG": "C",
        "LC_ALL": "C",
        "TZ": "UTC",
    }
    as_user: dict[str, object] = {}
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bindir / args[0]), *args[1:]],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            check=check,
            timeout=START_TIMEOUT_S + 30,
            **as_user,  # type: ignore[call-overload]
        )

    started = False
    try:
        try:
            run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                "--locale=C", "--no-sync")  # fmt: skip
        except subprocess.CalledProcessError as err:
            raise RuntimeError(f"initdb failed:\n{err.stdout}\n{err.stderr}") from err
        last_error = ""
        for _ in range(3):  # another process may grab the free port first: retry
            port = _free_port()
            options = (
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            proc = run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t",
                       str(START_TIMEOUT_S), "-o", options, "start", check=False)  # fmt: skip
            if proc.returncode == 0:
                started = True
                break
            last_error = proc.stdout + proc.stderr + (log.read_text() if log.exists() else "")
        if not started:
            raise RuntimeError(f"pg_ctl start failed:\n{last_error}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def server_or_skip() -> Iterator[str]:
    """:func:`cluster`, but skip (locally) or fail (``CI`` set) when PostgreSQL is missing."""
    try:
        with cluster() as url:
            yield url
    except PostgresUnavailable as err:
        message = (
            f"PostgreSQL server binaries not found ({err}); on Debian: "
            "apt-get install -y postgresql (or `make postgres`)"
        )
        if in_ci():
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server for one test; drop it afterwards."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
