"""The Lagrangian planner's per-customer subproblems on Dask: same plan, chunks scattered once."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from core.cli.main import main
from core.cli.plan import MIN_DASK_CHUNK, chunk_items_for
from core.pipeline.batch import BatchError, DaskChunkExecutor, dask_client
from core.planning import benchmark_instance, solve, write_instance
from core.planning.executor import SERIAL

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    # a LocalCluster's dashboard moves to another port when 8787 is taken (another test run)
    pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning"),
]
#: Few items per chunk, so that a tiny instance has several chunks on two workers.
OPTIONS = {"chunk_items": 1500}


class Spy:
    """A ``distributed.Client`` that records what is scattered and what each task is sent."""

    def __init__(self, client):
        self.client = client
        self.scattered: list[object] = []
        self.maps: list[tuple[list, dict]] = []

    def scatter(self, data, **kw):
        self.scattered.extend(data)
        return self.client.scatter(data, **kw)

    def map(self, fn, futures, **kw):
        self.maps.append((list(futures), kw))
        return self.client.map(fn, futures, **kw)

    def gather(self, futures):
        return self.client.gather(futures)

    def run(self, fn):
        return self.client.run(fn)


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    with Client(
        processes=False,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as c:
        yield c


def _same(a, b) -> None:
    figures = ("objective", "upper_bound", "gap")
    assert np.array_equal(
        [getattr(a, f) for f in figures], [getattr(b, f) for f in figures], equal_nan=True
    )
    assert np.array_equal(a.chosen, b.chosen)
    assert a.shadow_prices == b.shadow_prices and a.status == b.status
    assert [v.__dict__ for v in a.violations] == [v.__dict__ for v in b.violations]


def test_dask_executor_gives_the_serial_plan_bound_and_prices(client):
    from distributed import Future

    from core.planning._chunks import Chunk

    problem = benchmark_instance(1500, 24, 0.12, 25, rng=4)
    serial = solve(problem, "lagrangian", time_limit=60, rng=2, options=OPTIONS)
    spy = Spy(client)
    ex = DaskChunkExecutor(spy)
    dask = solve(problem, "lagrangian", time_limit=60, rng=2, options=OPTIONS, executor=ex)
    _same(serial, dask)
    assert serial.stats["engine"] == "serial" and dask.stats["engine"] == "dask"
    assert dask.feasible and dask.stats["chunks"] >= 3
    # every chunk was scattered once per relaxation; each task got a scattered chunk and prices
    assert all(isinstance(c, Chunk) for c in spy.scattered)
    assert len(spy.scattered) >= dask.stats["chunks"] and ex.bound >= 1
    assert len(spy.maps) > 2 * ex.bound  # many price updates per scatter
    for futures, kw in spy.maps:
        assert all(isinstance(f, Future) for f in futures)
        assert set(kw) == {"alpha", "beta", "top", "plan", "pure"}
        assert kw["alpha"].shape == (24,) and kw["beta"].shape == (24,)
    assert len(ex.worker_peak_mb()) == 2


def test_dask_executor_gives_the_serial_answer_on_an_infeasible_instance(client):
    problem = benchmark_instance(600, 20, 0.12, 15, rng=6, infeasible=True)
    serial = solve(problem, "lagrangian", time_limit=60, rng=0, options=OPTIONS)
    dask = solve(
        problem,
        "lagrangian",
        time_limit=60,
        rng=0,
        options=OPTIONS,
        executor=DaskChunkExecutor(client),
    )
    _same(serial, dask)
    assert dask.status == "infeasible" and dask.conflicting == serial.conflicting


def test_explicit_serial_executor_is_the_default():
    problem = benchmark_instance(500, 16, 0.15, 10, rng=1)
    a = solve(problem, "lagrangian", time_limit=30, rng=0, options=OPTIONS)
    b = solve(problem, "lagrangian", time_limit=30, rng=0, options=OPTIONS, executor=SERIAL)
    _same(a, b)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "dask", "--scheduler", "nonsense"], "--scheduler nonsense: not a scheduler"),
        (["--engine", "dask", "--scheduler", "foo://h:1"], "unknown protocol 'foo'"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "the scheduler is for --engine dask"),
        (["--engine", "dask", "--solver", "exact"], "--solver lagrangian (or auto)"),
        (["--engine", "spark"], None),
        (["--engine", "dask", "--workers", "0"], None),
    ],
)
def test_engine_options_errors_exit_2(tmp_path, capsys, args, message):
    ok = write_instance(benchmark_instance(200, 10, 0.2, 5, rng=1), tmp_path / "ok")
    argv = ["plan", str(ok), "--out", str(tmp_path / "p.csv"), *args]
    if message is None:  # argparse refuses it
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        return
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "p.csv").exists()


def test_chunk_items_default_to_four_chunks_per_dask_worker():
    assert chunk_items_for(1_000_000, 0, None) is None  # local: the planner's default
    assert chunk_items_for(1_000_000, 2, None) == 125_000
    assert chunk_items_for(1_000_001, 2, None) == 125_001
    assert chunk_items_for(1_000, 2, None) == MIN_DASK_CHUNK
    assert chunk_items_for(1_000_000, 2, 7) == chunk_items_for(1_000_000, 0, 7) == 7


def test_an_unreachable_scheduler_is_one_clear_error():
    with pytest.raises(BatchError, match=r"tcp://127.0.0.1:1: cannot connect.*Fix"):
        dask_client("tcp://127.0.0.1:1", 1, timeout=1.0)


@pytest.mark.slow
def test_cli_engine_dask_on_a_local_cluster_matches_the_local_engine(tmp_path):
    ok = write_instance(benchmark_instance(800, 20, 0.12, 15, rng=5), tmp_path / "ok")
    reports = {}
    for engine in ("local", "dask"):
        rep = tmp_path / f"{engine}.json"
        extra = ["--engine", "dask", "--workers", "2"] if engine == "dask" else []
        argv = ["plan", str(ok), "--out", str(tmp_path / f"{engine}.csv"), "--report", str(rep)]
        code = main([*argv, "--seed", "1", "--chunk-items", "600", *extra])
        assert code == 0
        reports[engine] = json.loads(rep.read_text())
    local, dask = reports["local"], reports["dask"]
    assert local["engine"] == "local" and dask["engine"] == "dask"
    # --solver auto on a small instance is HiGHS locally, the Lagrangian planner on Dask
    assert local["solver"] == "exact" and local["chunk_items"] is None
    assert dask["solver"] == "lagrangian" and dask["chunk_items"] == 600
    assert dask["dask"]["workers"] == 2 and len(dask["dask"]["peak_memory_mb_workers"]) == 2
    assert dask["stats"]["chunks"] >= 3
    rep = tmp_path / "local2.json"
    argv = ["plan", str(ok), "--out", str(tmp_path / "local.csv"), "--report", str(rep)]
    assert main([*argv, "--seed", "1", "--chunk-items", "600", "--solver", "lagrangian"]) == 0
    local = json.loads(rep.read_text())
    for key in ("objective", "upper_bound", "gap", "feasible", "shadow_prices", "violations"):
        assert dask[key] == local[key], key
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_a_scheduler_without_workers_is_one_clear_error():
    from distributed import LocalCluster

    from core.pipeline.batch import dask_planner

    with LocalCluster(
        n_workers=0, processes=False, dashboard_address=":0", silence_logs=logging.ERROR
    ) as cluster:
        with pytest.raises(BatchError, match=r"no worker joined within 1 s.*dask worker"):
            with dask_planner(cluster.scheduler_address, 2, wait=1.0):
                pass
