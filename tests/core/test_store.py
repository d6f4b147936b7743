"""The store: scenarios, runs and exports on SQLite and on a real PostgreSQL server.

Tests taking the ``url`` fixture run twice: on a SQLite file and on a fresh database of a
throwaway PostgreSQL cluster (see tests/pg.py; skipped locally without the server binaries,
a failure when CI is set).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import CJOError
from core.ops import store as store_mod
from core.ops.export import render, to_csv_bytes, write_export
from core.ops.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    Store,
    canonical_json,
    check_reproducible,
    library_versions,
    migrate,
    verify_rerun,
)
from core.ops.store import store as store_class_mod  # where Store looks up migrate
from tests import pg

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with pg.server_or_skip() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield store_mod.default_url(tmp_path / "journeys.db")
    else:
        with pg.fresh_database(request.getfixturevalue("pg_server")) as db_url:
            yield db_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store(url) as s:
        yield s


def test_missing_postgres_skips_locally_but_fails_in_ci(monkeypatch) -> None:
    monkeypatch.setattr(pg, "find_bin_dir", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"), pg.server_or_skip():
        pass
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install"), pg.server_or_skip():
        pass


def _child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python child process in the project root that talks over stdin/stdout."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


def test_scenarios_round_trip_with_canonical_params(store: Store) -> None:
    a = store.save_scenario("baseline", {"weights": {"cltv": 1.0, "churn": 0.5}, "seed": 42})
    b = store.save_scenario("same", {"seed": 42, "weights": {"churn": 0.5, "cltv": 1.0}})
    assert a.params_json == b.params_json == '{"seed":42,"weights":{"churn":0.5,"cltv":1.0}}'
    assert store.get_scenario("baseline") == a
    assert store.get_scenario("missing") is None

    updated = store.save_scenario("baseline", {"seed": 7})
    assert (updated.id, updated.revision, updated.params) == (a.id, 2, {"seed": 7})
    assert updated.created_at == a.created_at and updated.updated_at >= a.updated_at
    assert [s.name for s in store.list_scenarios()] == ["baseline", "same"]

    assert store.delete_scenario("same") is True
    assert store.delete_scenario("same") is False
    assert [s.name for s in store.list_scenarios()] == ["baseline"]


def test_deleting_a_scenario_keeps_its_run_history(store: Store) -> None:
    store.save_scenario("s", {"seed": 1})
    run = store.record_run("s", seed=1, data_hash=_sha("d"), journeys_sha256=_sha("j"))
    assert store.delete_scenario("s")
    kept = store.get_run(run.id)
    assert kept is not None
    assert (kept.scenario_id, kept.scenario_name, kept.params) == (None, "s", {"seed": 1})


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("", {}),
        ("x" * 201, {}),
        ("tab\there", {}),
        ("ok", {"x": float("nan")}),
        ("ok", {1: "non-string key"}),
        ("ok", {"x": {1, 2}}),
        ("ok", ["not", "a", "mapping"]),
    ],
)
def test_bad_scenarios_are_refused_with_a_clear_error(store: Store, name, params) -> None:
    with pytest.raises(CJOError):
        store.save_scenario(name, params)
    assert store.list_scenarios() == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60)
@given(st.dictionaries(st.text(), json_values, max_size=6), st.randoms())
def test_canonical_json_ignores_key_order_and_round_trips(params, rnd) -> None:
    items = list(params.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(params)
    assert json.loads(canonical_json(params)) == params


# --------------------------------------------------------------------------------------------
# Concurrency: nothing is lost
# --------------------------------------------------------------------------------------------

N_THREADS, N_PROCESSES, SAVES_EACH = 20, 2, 5

WRITER = """
import sys
from core.ops.store import Store
url, writer, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Store(url)
print("ready", flush=True)
sys.stdin.readline()
for i in range(n):
    store.save_scenario(f"{writer}-{i}", {"writer": writer, "i": i})
    store.save_scenario("shared", {"writer": writer, "i": i})
    store.record_run(f"{writer}-{i}", seed=i, data_hash="0" * 64, journeys_sha256="1" * 64)
print("done", flush=True)
"""


def test_threads_and_processes_saving_at_once_lose_nothing(url: str, store: Store) -> None:
    procs = [_child(WRITER, url, f"p{k}", str(SAVES_EACH)) for k in range(N_PROCESSES)]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
        start = threading.Barrier(N_THREADS + 1)
        errors: list[BaseException] = []

        def work(t: int) -> None:
            start.wait()
            try:
                for i in range(SAVES_EACH):
                    store.save_scenario(f"t{t}-{i}", {"writer": f"t{t}", "i": i})
                    store.save_scenario("shared", {"writer": f"t{t}", "i": i})
                    store.record_run(
                        f"t{t}-{i}", seed=i, data_hash=_sha("d"), journeys_sha256=_sha("j")
                    )
            except BaseException as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(N_THREADS)]
        for th in threads:
            th.start()
        for p in procs:  # release processes and threads together
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        start.wait()
        for th in threads:
            th.join(timeout=120)
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert errors == []
    assert [p.returncode for p in procs] == [0] * N_PROCESSES, [o[1] for o in outs]

    writers = [f"t{t}" for t in range(N_THREADS)] + [f"p{k}" for k in range(N_PROCESSES)]
    with Store(url) as fresh:
        saved = {s.name: s for s in fresh.list_scenarios()}
        recorded = fresh.list_runs()
    expected = {f"{w}-{i}": {"writer": w, "i": i} for w in writers for i in range(SAVES_EACH)}
    assert len(saved) == len(expected) + 1
    assert {n: saved[n].params for n in expected} == expected
    assert all(saved[n].revision == 1 for n in expected)
    # Every one of the concurrent updates of one name counted, and one of them won.
    assert saved["shared"].revision == len(writers) * SAVES_EACH
    assert saved["shared"].params["i"] == SAVES_EACH - 1
    # Every run recorded in the same storm is there, linked to its scenario.
    assert sorted((r.scenario_name, r.seed) for r in recorded) == sorted(
        (name, params["i"]) for name, params in expected.items()
    )
    assert all(r.scenario_id == saved[r.scenario_name].id for r in recorded)


def test_concurrent_first_opens_migrate_once(url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_store() -> None:
        start.wait()
        try:
            Store(url).close()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert errors == []
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version ORDER BY 1")).all()
    engine.dispose()
    assert [v for (v,) in versions] == [m.version for m in MIGRATIONS]


# --------------------------------------------------------------------------------------------
# Crash safety (SQLite): a killed writer leaves an intact database with every committed row
# --------------------------------------------------------------------------------------------

KILLED_WRITER = """
import sys
from core.ops.store import Store
url, prefix = sys.argv[1], sys.argv[2]
store = Store(url)
payload = "x" * 4000
i = 0
while True:
    store.save_scenario(f"{prefix}-{i}", {"i": i, "payload": payload})
    print(i, flush=True)  # reported only after the commit returned
    i += 1
"""


def test_writer_killed_mid_write_leaves_intact_database(tmp_path: Path) -> None:
    url = store_mod.default_url(tmp_path / "journeys.db")
    Store(url).close()
    reported: set[str] = set()
    for round_, kill_after in enumerate((3, 17, 41)):
        prefix = f"r{round_}"
        proc = _child(KILLED_WRITER, url, prefix)
        assert proc.stdout is not None
        for _ in range(kill_after):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            reported.add(f"{prefix}-{int(line)}")
        os.kill(proc.pid, signal.SIGKILL)
        # read(), not communicate(): communicate() reads the pipe's file descriptor and would
        # miss the lines readline() already pulled into the reader's buffer (a busy machine lets
        # the writer get far ahead, so that buffer can hold many reported commits).
        rest = proc.stdout.read()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        reported.update(f"{prefix}-{int(x)}" for x in rest.split())
        assert proc.returncode == -signal.SIGKILL

        # Open it as a fresh reader would, with plain sqlite3 (recovers the WAL if needed).
        con = sqlite3.connect(tmp_path / "journeys.db")
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
            names = {n for (n,) in con.execute("SELECT name FROM scenarios")}
        finally:
            con.close()
        assert reported <= names  # every reported commit is there
        last = max(int(n.split("-")[1]) for n in reported if n.startswith(prefix + "-"))
        # ... and at most the one commit that finished but was not reported yet.
        assert names - reported <= {f"{prefix}-{last + 1}"}
        reported |= names

    # The database stays usable after the crashes.
    with Store(url) as s:
        assert s.save_scenario("after", {"ok": True}).revision == 1
        assert len(s.list_scenarios()) == len(reported) + 1


MID_TRANSACTION = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
for i in range(3000):  # ~12 MB: spills uncommitted pages into the WAL before any commit
    con.execute(
        "INSERT INTO scenarios (name, params, created_at, updated_at, revision) "
        "VALUES (?, ?, '2024-01-01 00:00:00', '2024-01-01 00:00:00', 1)",
        (f"uncommitted-{i}", "x" * 4000),
    )
print("inside", flush=True)
time.sleep(120)
"""


def test_writer_killed_inside_a_transaction_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "journeys.db"
    with Store(path=path) as s:
        s.save_scenario("committed", {"a": 1})
    proc = _child(MID_TRANSACTION, str(path))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "inside", proc.stderr.read() if proc.stderr else ""
    assert Path(f"{path}-wal").stat().st_size > 4_000_000  # the write really was under way
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)

    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [n for (n,) in con.execute("SELECT name FROM scenarios")] == ["committed"]
    finally:
        con.close()
    with Store(path=path, busy_timeout_ms=2000) as s:  # the dead writer's lock is gone
        assert s.save_scenario("next", {}).revision == 1
        assert [x.name for x in s.list_scenarios()] == ["committed", "next"]


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    with Store(path=tmp_path / "j.db", busy_timeout_ms=1234) as s:
        with s.engine.connect() as conn:
            got = {
                p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                for p in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
    assert got == {"journal_mode": "wal", "busy_timeout": 1234, "foreign_keys": 1, "synchronous": 2}


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(CJOError, match="No run with id 999"):
        store.record_export(999, "csv", 1, _sha("x"))


# --------------------------------------------------------------------------------------------
# Migrations
# --------------------------------------------------------------------------------------------


def test_migrate_is_idempotent_and_matches_the_query_schema(url: str, store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == SCHEMA_VERSION
    with Store(url) as again:
        assert again.schema_version() == SCHEMA_VERSION
    insp = sa.inspect(store.engine)
    for table in store_mod.metadata_obj.sorted_tables:
        assert {c["name"] for c in insp.get_columns(table.name)} == set(table.columns.keys())
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM schema_version")).scalar()
    assert rows == len(MIGRATIONS)


def test_an_old_database_is_upgraded_keeping_its_data(url: str) -> None:
    old = Store(url, auto_migrate=False)
    assert old.schema_version() == 0
    assert migrate(old.engine, target=1) == 1
    with old.engine.begin() as conn:  # a row written by version-1 code (no revision column)
        conn.execute(
            sa.text(
                "INSERT INTO scenarios (name, params, created_at, updated_at) "
                "VALUES ('legacy', :p, :t, :t)"
            ),
            {"p": '{"seed":3}', "t": pd.Timestamp("2024-01-01").to_pydatetime()},
        )
    old.close()

    with Store(url) as s:
        assert s.schema_version() == SCHEMA_VERSION
        legacy = s.get_scenario("legacy")
        assert legacy is not None and (legacy.params, legacy.revision) == ({"seed": 3}, 1)
        assert s.save_scenario("legacy", {"seed": 4}).revision == 2


def test_a_future_migration_runs_once_and_old_code_refuses_a_newer_database(url: str) -> None:
    calls: list[int] = []

    def m3(conn: sa.Connection) -> None:
        calls.append(1)
        conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))

    future = (*MIGRATIONS, Migration(3, "notes", m3))
    with Store(url) as s:
        assert migrate(s.engine, migrations=future) == 3
        assert migrate(s.engine, migrations=future) == 3
        assert calls == [1]
    with pytest.raises(CJOError, match="schema version 3"):
        Store(url)


def test_bad_urls_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CJOError, match="not a valid SQLAlchemy URL"):
        Store("not a url")
    with pytest.raises(CJOError, match="in-memory"):
        Store("sqlite://")
    with pytest.raises(CJOError) as info:
        Store("postgresql+psycopg://user:hunter2@127.0.0.1:1/none")
    assert "Cannot open the journey database" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_default_url_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(store_mod.ENV_URL, raising=False)
    assert store_mod.default_url().endswith(str(ROOT / "data" / "journeys.db"))
    env_url = store_mod.default_url(tmp_path / "env.db")
    monkeypatch.setenv(store_mod.ENV_URL, env_url)
    with Store() as s:
        s.save_scenario("from-env", {})
    assert (tmp_path / "env.db").is_file()
    with Store(env_url) as s:
        assert [x.name for x in s.list_scenarios()] == ["from-env"]


# --------------------------------------------------------------------------------------------
# Runs and reproducibility
# --------------------------------------------------------------------------------------------


def standin_journeys(data: pd.DataFrame, params: dict, seed: int) -> pd.DataFrame:
    """A deterministic stand-in for the optimiser: journeys drawn from (seed, customer index).

    The real pipeline is wired by the lead; what matters here is that the store keeps what a
    re-run needs (params, seed, data hash) and detects when the bytes differ.
    """
    products = params["products"]
    rows = []
    for idx, cust in enumerate(data["Customer ID"]):
        rng = np.random.default_rng([seed, idx])
        tenure = float(data["Tenure in Months"].iloc[idx])
        order = rng.permutation(len(products))[: params["max_length"]]
        for step, p in enumerate(order):
            score = rng.normal(tenure * params["weight"], 1.0)
            rows.append((cust, step + 1, products[p], round(score, 6)))
    return pd.DataFrame(rows, columns=["customer_id", "step", "product", "score"])


def _write_data(path: Path, tenure_bump: int = 0) -> str:
    frame = pd.DataFrame(
        {
            "Customer ID": [f"{i:04d}-ABCDE" for i in range(40)],
            "Tenure in Months": [(i * 7) % 72 + tenure_bump * (i == 5) for i in range(40)],
        }
    )
    path.write_bytes(to_csv_bytes(frame))
    return hashlib.sha256(path.read_bytes()).hexdigest()


RERUN = """
import hashlib, sys
import pandas as pd
from core.ops.export import to_csv_bytes
from core.ops.store import Store, check_reproducible, verify_rerun
from tests.core.test_store import standin_journeys
url, run_id, data_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
run = Store(url).get_run(run_id)
raw = open(data_path, "rb").read()
check = check_reproducible(run, hashlib.sha256(raw).hexdigest())
journeys = standin_journeys(pd.read_csv(data_path), run.params, run.seed)
print(check.data_changed, verify_rerun(run, to_csv_bytes(journeys)))
"""


def test_a_saved_run_reproduces_its_journeys_byte_for_byte(url: str, tmp_path: Path) -> None:
    data_path = tmp_path / "customers.csv"
    data_hash = _write_data(data_path)
    params = {"products": ["phone", "internet", "streaming_tv", "tech_support"], "max_length": 3}
    params["weight"] = 0.25

    with Store(url) as s:
        s.save_scenario("baseline", params)
        journeys = standin_journeys(pd.read_csv(data_path), params, seed=2024)
        out = write_export(journeys, tmp_path / "journeys.csv")
        run = s.record_run(
            "baseline",
            seed=2024,
            data_hash=data_hash,
            journeys_sha256=out.sha256,
            summary={"customers": 40, "uplift": float("nan")},
        )
        s.record_export(run, out.format, out.row_count, out.sha256)
        s.save_scenario("baseline", {**params, "weight": 9.0})  # a later edit...

    # ... does not change the run: a fresh process re-executes it from the store alone.
    child = _child(RERUN, url, str(run.id), str(data_path))
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    assert stdout.split() == ["False", "True"]

    with Store(url) as s:
        saved = s.get_run(run.id)
        assert saved is not None and saved == run
        assert saved.params == params and saved.summary == {"customers": 40, "uplift": None}
        assert [(e.format, e.row_count, e.sha256) for e in s.list_exports(saved)] == [
            ("csv", len(journeys), out.sha256)
        ]
        assert [r.id for r in s.list_runs("baseline")] == [run.id]
    rerun = standin_journeys(pd.read_csv(data_path), saved.params, saved.seed)
    assert verify_rerun(saved, to_csv_bytes(rerun))
    assert to_csv_bytes(rerun) == (tmp_path / "journeys.csv").read_bytes()
    assert check_reproducible(saved, data_hash).ok
    # The comparison can fail: another seed gives other bytes.
    other_seed = standin_journeys(pd.read_csv(data_path), saved.params, seed=1)
    assert not verify_rerun(saved, to_csv_bytes(other_seed))


def test_a_changed_data_file_is_detected_and_reported(tmp_path: Path) -> None:
    data_path = tmp_path / "customers.csv"
    old_hash = _write_data(data_path)
    params = {"products": ["phone", "internet"], "max_length": 2, "weight": 1.0}
    with Store(path=tmp_path / "j.db") as s:
        journeys = standin_journeys(pd.read_csv(data_path), params, seed=5)
        result = render(journeys, "csv")
        run = s.record_run(
            None, params=params, seed=5, data_hash=old_hash, journeys_sha256=result.sha256
        )
    new_hash = _write_data(data_path, tenure_bump=1)  # one cell changed
    assert new_hash != old_hash

    check = check_reproducible(run, new_hash)
    assert check.data_changed and not check.ok
    assert "data file has changed" in check.message
    assert old_hash[:12] in check.message and new_hash[:12] in check.message
    with pytest.raises(CJOError, match="data file has changed"):
        check_reproducible(run, new_hash, strict=True)
    rerun = standin_journeys(pd.read_csv(data_path), run.params, run.seed)
    assert not verify_rerun(run, to_csv_bytes(rerun))


def test_changed_code_or_libraries_are_reported(tmp_path: Path) -> None:
    with Store(path=tmp_path / "j.db") as s:
        run = s.record_run(None, params={}, seed=1, data_hash=_sha("d"), journeys_sha256=_sha("j"))
    assert run.code_version == store_mod.code_version() != ""
    assert run.library_versions == library_versions()
    assert {"python", "numpy", "pandas", "sqlalchemy"} <= set(run.library_versions)

    libs = {**library_versions(), "numpy": "0.0.1"}
    check = check_reproducible(run, _sha("d"), current_library_versions=libs)
    assert not check.data_changed and not check.ok
    assert check.changed_libraries == (("numpy", library_versions()["numpy"], "0.0.1"),)
    assert "numpy" in check.message
    check = check_reproducible(run, _sha("d"), current_code_version="git:other")
    assert check.code_changed and "git:other" in check.message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": -1},
        {"seed": 2**63},
        {"seed": 1.5},
        {"data_hash": "abc"},
        {"journeys_sha256": "z" * 64},
    ],
)
def test_bad_run_records_are_refused(tmp_path: Path, kwargs) -> None:
    args = {"seed": 1, "data_hash": _sha("d"), "journeys_sha256": _sha("j"), "params": {}}
    with Store(path=tmp_path / "j.db") as s:
        with pytest.raises(CJOError):
            s.record_run(None, **{**args, **kwargs})
        with pytest.raises(CJOError, match="No saved scenario"):
            s.record_run("nope", **args)
        assert s.list_runs() == []


@pytest.mark.parametrize("seed", [0, 1, 2**31, 2**63 - 1, None])
def test_seeds_round_trip_to_the_64_bit_limit(store: Store, seed: int | None) -> None:
    run = store.record_run(
        None, params={}, seed=seed, data_hash=_sha("d"), journeys_sha256=_sha("j")
    )
    assert store.get_run(run.id) == run and run.seed == seed


def test_a_locked_answer_on_first_open_is_retried_on_sqlite(tmp_path, monkeypatch) -> None:
    real = store_mod.migrate
    calls: list[int] = []

    def flaky(engine, **kw):
        calls.append(1)
        if len(calls) < 3:  # what SQLite answered one of six concurrent first openers
            raise sa.exc.OperationalError("BEGIN", {}, Exception("database is locked"))
        return real(engine, **kw)

    monkeypatch.setattr(store_class_mod, "migrate", flaky)
    with Store(path=tmp_path / "j.db") as s:
        assert s.schema_version() == store_mod.MIGRATIONS[-1].version
    assert len(calls) == 3
    # past the busy timeout the error is the clear CJOError, not a traceback
    calls.clear()
    monkeypatch.setattr(
        store_class_mod,
        "migrate",
        lambda engine, **kw: (_ for _ in ()).throw(
            sa.exc.OperationalError("BEGIN", {}, Exception("database is locked"))
        ),
    )
    with pytest.raises(CJOError, match="database is locked"):
        Store(path=tmp_path / "k.db", busy_timeout_ms=50)
