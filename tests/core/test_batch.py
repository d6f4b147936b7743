"""Batch journeys (core.pipeline.batch): chunk independence, Dask = local, atomic outputs, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import pipeline
from core.common.errors import CJOError, DataValidationError
from core.data import synthetic
from core.data.catalog import resolve_catalog
from core.data.io import validate_canonical
from core.pipeline import batch

ROOT = Path(__file__).resolve().parents[2]
FAST = pipeline.Settings(iters=50, estimator="counterfactual")  # LinearFactors stands in
FAST_OPTS = {"baselines": ("greedy",), "train_rows": 800, "scale_rows": 800}


class LinearFactors:
    """A cheap stand-in for KeyFactorModels with the same ``predict_factors`` interface.

    Its predictions depend on each row alone (as the real models'), so it exercises the whole
    batch path (read, validate, counterfactual components, annealing, writing, Dask shipping)
    at 20,000 customers in seconds. The real models' chunk independence is tested below on
    fewer customers.
    """

    def __init__(self, catalog):
        self.catalog_ = catalog
        self.product_keys_ = catalog.keys
        self.unavailable_factors_ = {}
        rng = np.random.default_rng(0)
        self.w = rng.normal(size=(3, len(catalog.keys)))
        self.pair = rng.normal(size=(3, len(catalog.keys), len(catalog.keys))) * 0.3

    def predict_factors(self, frame, holdings=None):
        h = self.catalog_.holdings(frame) if holdings is None else np.asarray(holdings)
        h = h.astype(float)
        tenure = frame["Tenure in Months"].to_numpy(dtype=float) / 72.0
        age = frame["Age"].to_numpy(dtype=float) / 80.0
        out = {}
        for k, f in enumerate(("cltv", "churn", "satisfaction")):
            inter = np.einsum("ni,ij,nj->n", h, self.pair[k], h)
            out[f] = h @ self.w[k] * (1 + tenure) + inter * age + 0.1 * k * tenure
        out["churn"] = 1 / (1 + np.exp(out["churn"]))
        return out


def write_parts(frame: pd.DataFrame, directory: Path, sizes: list[int]) -> Path:
    """``frame`` as partitioned Parquet with parts of the given sizes (the rest in the last)."""
    directory.mkdir(parents=True, exist_ok=True)
    bounds = np.cumsum([0, *sizes])
    bounds = [*bounds[bounds < len(frame)], len(frame)]
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        table = pa.Table.from_pandas(frame.iloc[lo:hi], preserve_index=False)
        pq.write_table(table, directory / f"part-{k:05d}.parquet", row_group_size=400)
    return directory


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    """2,000 synthetic customers: one Parquet file, partitioned Parquet, CSV; cheap context."""
    d = tmp_path_factory.mktemp("batch")
    customers, _ = synthetic.generate_frame(2000, seed=21)
    single = d / "customers.parquet"
    customers.to_parquet(single, index=False, row_group_size=300)
    csv = d / "customers.csv"
    customers.to_csv(csv, index=False)
    parts = write_parts(customers, d / "parts", [333, 700, 150])
    frame = validate_canonical(customers)
    cat = resolve_catalog("seed", list(frame.columns))
    ctx = pipeline.Context(cat, LinearFactors(cat))
    return {"dir": d, "single": single, "csv": csv, "parts": parts, "ctx": ctx, "frame": frame}


def _run(data, out, *, context=None, **options):
    opts = batch.BatchOptions(**{**FAST_OPTS, **options})
    return batch.run_batch(data, out, FAST, opts, context=context)


def test_output_does_not_depend_on_chunk_size_partitions_or_format(small, tmp_path) -> None:
    ctx = small["ctx"]
    ref = _run(small["single"], tmp_path / "one.csv", context=ctx, chunk_rows=5000)
    assert ref.report["n_chunks"] == 1
    expected = (tmp_path / "one.csv").read_bytes()
    for name, data, chunk_rows in [
        ("c257", small["single"], 257),  # chunks cut through row groups
        ("parts", small["parts"], 5000),  # one chunk per file, files of unequal size
        ("parts400", small["parts"], 400),
        ("csv", small["csv"], 333),  # CSV input, streamed
    ]:
        out = tmp_path / f"{name}.csv"
        res = _run(data, out, context=ctx, chunk_rows=chunk_rows)
        assert out.read_bytes() == expected, name
        assert res.report["n_customers"] == 2000 and res.written.sha256 == ref.written.sha256
    assert res.report["n_chunks"] > 4


def test_an_excel_output_is_the_export_of_the_same_journeys(small, tmp_path, monkeypatch) -> None:
    import hashlib

    ctx = small["ctx"]
    ref = _run(small["single"], tmp_path / "one.csv", context=ctx, chunk_rows=5000)
    table = batch.read_output(tmp_path / "one.csv")
    res = _run(small["single"], tmp_path / "j.xlsx", context=ctx, chunk_rows=257)
    data = (tmp_path / "j.xlsx").read_bytes()
    assert res.written.format == "xlsx" and res.written.row_count == ref.written.row_count
    assert res.written.sha256 == hashlib.sha256(data).hexdigest()
    back = batch.read_output(tmp_path / "j.xlsx")
    assert back["customer_id"].tolist() == table["customer_id"].astype(str).tolist()
    np.testing.assert_allclose(back["opportunity"], table["opportunity"])
    # the same bytes whatever the chunking, as CSV and Parquet
    _run(small["parts"], tmp_path / "parts.xlsx", context=ctx, chunk_rows=400)
    assert (tmp_path / "parts.xlsx").read_bytes() == data
    # journeys that outgrow a worksheet stop the run at that chunk, with nothing written
    monkeypatch.setattr("core.ops.export.XLSX_ROWS", 100)
    with pytest.raises(batch.BatchError, match="more than an Excel worksheet holds"):
        _run(small["single"], tmp_path / "big.xlsx", context=ctx, chunk_rows=257)
    assert not (tmp_path / "big.xlsx").exists()


def test_real_models_are_chunk_independent_and_match_the_dashboard_path(tmp_path) -> None:
    customers, _ = synthetic.generate_frame(900, seed=4)
    data = tmp_path / "c.parquet"
    customers.to_parquet(data, index=False)
    opts = {"train_rows": 900, "scale_rows": 900, "baselines": ()}
    one = _run(data, tmp_path / "one.csv", chunk_rows=900, **opts)
    # the whole population in one chunk is exactly pipeline.run (the dashboard's path)
    from core.ops.export import to_csv_bytes

    outcome = pipeline.run(validate_canonical(customers), FAST)
    assert (tmp_path / "one.csv").read_bytes() == to_csv_bytes(outcome.table)
    # chunked with the same fitted models and scale: identical bytes
    _run(data, tmp_path / "c250.csv", context=one.context, chunk_rows=250, **opts)
    assert (tmp_path / "c250.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_report_aggregates_chunks_as_one_population(small, tmp_path) -> None:
    ctx = small["ctx"]
    kw = {"context": ctx, "verify": "exact", "baselines": ("greedy", "first-cltv")}
    whole = _run(small["single"], tmp_path / "a.parquet", chunk_rows=5000, **kw).report
    parts = _run(small["single"], tmp_path / "b.parquet", chunk_rows=300, **kw).report
    assert parts["n_chunks"] == 7 and whole["n_chunks"] == 1
    for key in ("n_customers", "rows", "share_with_offer", "mean_length", "share_optimal"):
        assert parts[key] == pytest.approx(whole[key], abs=1e-12), key
    assert parts["max_gap"] == pytest.approx(whole["max_gap"])
    assert parts["total_opportunity"] == pytest.approx(whole["total_opportunity"], rel=1e-9)
    for name in ("greedy", "first-cltv"):
        for key in ("share_better_or_equal", "share_better", "mean_uplift"):
            assert parts["baselines"][name][key] == pytest.approx(whole["baselines"][name][key])
    for key in ("engine", "seconds_total", "customers_per_second", "peak_memory_mb"):
        assert key in parts
    assert parts["engine"] == "local" and parts["seconds_optimize"] > 0


def test_partitioned_parquet_in_and_out_round_trip(small, tmp_path) -> None:
    ctx = small["ctx"]
    csv = tmp_path / "j.csv"
    _run(small["parts"], csv, context=ctx, chunk_rows=500)
    out = tmp_path / "journeys"
    res = _run(small["parts"], f"{out}/", context=ctx, chunk_rows=500)
    files = sorted(p.name for p in out.iterdir())
    assert {batch.MANIFEST, batch.SUCCESS} <= set(files)
    parts = [f for f in files if f.startswith("part-")]
    assert parts == [f"part-{k:05d}.parquet" for k in range(res.report["n_chunks"])]
    manifest = json.loads((out / batch.MANIFEST).read_text())
    assert manifest["rows"] == res.written.row_count == sum(p["rows"] for p in manifest["parts"])
    back = batch.read_output(out)
    expected = batch.read_output(csv)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert list(back.columns) == list(pipeline.TABLE_COLUMNS)
    # a second run replaces its own previous output; an unrelated directory is refused
    _run(small["parts"], out, context=ctx, chunk_rows=2000)
    assert len(list(out.glob("part-*.parquet"))) == 4  # one chunk per input file
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(CJOError, match="not an output of this command"):
        _run(small["parts"], other, context=ctx)
    assert (other / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("out_name", ["j.csv", "j.parquet", "j.xlsx", "jdir"])
@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_interrupted_run_leaves_no_output_and_says_so(small, tmp_path, out_name, stop) -> None:
    seen: list[int] = []

    def on_chunk(res: batch.ChunkResult) -> None:
        seen.append(res.index)
        if len(seen) == 3:
            raise stop("disk quota")

    out = tmp_path / out_name
    opts = batch.BatchOptions(chunk_rows=400, **FAST_OPTS)
    with pytest.raises(batch.BatchError) as info:
        batch.run_batch(small["single"], out, FAST, opts, context=small["ctx"], on_chunk=on_chunk)
    msg = str(info.value)
    assert ("interrupted" if stop is KeyboardInterrupt else "failed") in msg
    assert "after 2 of 5 chunk(s)" in msg and "Nothing was written" in msg
    assert info.value.interrupted is (stop is KeyboardInterrupt)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no partial sibling left behind


def test_a_bad_chunk_names_its_rows_and_nothing_is_written(small, tmp_path) -> None:
    customers, _ = synthetic.generate_frame(900, seed=9)
    customers.loc[650, "Age"] = -5
    data = write_parts(customers, tmp_path / "in", [300, 300])
    out = tmp_path / "out.csv"
    with pytest.raises(DataValidationError) as info:
        _run(data, out, context=small["ctx"])
    msg = str(info.value)
    assert "part-00002.parquet" in msg and "Age" in msg and "row 51" in msg
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


def test_duplicate_ids_across_chunks_are_refused(small, tmp_path) -> None:
    customers, _ = synthetic.generate_frame(600, seed=9)
    dup = pd.concat([customers, customers.iloc[:5]], ignore_index=True)
    data = write_parts(dup, tmp_path / "in", [300, 300])
    with pytest.raises(DataValidationError, match="unique"):
        _run(data, tmp_path / "o.csv", context=small["ctx"])
    assert not (tmp_path / "o.csv").exists()


def test_population_relative_estimators_are_refused_in_chunks(small, tmp_path) -> None:
    s = FAST.with_(estimator="peer-bayes")
    opts = batch.BatchOptions(chunk_rows=500, **FAST_OPTS)
    with pytest.raises(batch.BatchError, match="--estimator counterfactual"):
        batch.run_batch(small["single"], tmp_path / "o.csv", s, opts)
    assert not (tmp_path / "o.csv").exists()
    # the whole population as one local chunk is the dashboard's computation: allowed
    res = batch.run_batch(
        small["single"], tmp_path / "o.csv", s, batch.BatchOptions(chunk_rows=5000, baselines=())
    )
    assert res.report["n_customers"] == 2000


def test_bad_options_are_clear_errors(small, tmp_path) -> None:
    with pytest.raises(CJOError, match="--engine"):
        batch.BatchOptions(engine="spark")
    with pytest.raises(CJOError, match="train-rows"):
        batch.BatchOptions(train_rows=5)
    with pytest.raises(CJOError, match="directory name without suffix"):
        batch.output_kind("journeys.json")
    assert batch.output_kind("out/") == batch.output_kind("out") == "parquet-dir"
    with pytest.raises(DataValidationError, match="no such file"):
        _run(tmp_path / "missing.parquet", tmp_path / "o.csv")


def test_cli_optimize_partitioned_in_and_out(small, tmp_path) -> None:
    customers, _ = synthetic.generate_frame(600, seed=2)
    customers["Comment"] = [f"called {i} times about the bill" for i in range(600)]
    data = write_parts(customers, tmp_path / "in", [250])
    out, rep = tmp_path / "journeys", tmp_path / "report.json"
    cmd = [sys.executable, "-m", "core", "optimize", str(data), "--out", f"{out}/"]
    cmd += ["--report", str(rep), "--chunk-rows", "200", "--train-rows", "300"]
    cmd += ["--scale-rows", "100", "--iters", "30", "--baselines", "greedy", "--verify", "exact"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "ETA" in proc.stderr  # the progress bar
    # what the loader decided is said on the terminal and kept in the report
    assert "note: 'Comment' left out: free text" in proc.stderr
    report = json.loads(rep.read_text())
    assert report["n_customers"] == 600 and report["engine"] == "local"
    assert (
        report["n_chunks"] == 4 and report["train_rows"] == 300
    )  # 250 = 200 + 50, 350 = 200 + 150
    assert 0.9 <= report["share_optimal"] <= 1.0
    assert (out / batch.SUCCESS).exists() and report["out"]["parts"] == 4
    assert json.loads(proc.stdout)["n_customers"] == 600
    assert any(n.startswith("'Comment' left out") for n in report["data_notes"])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_dask_local_cluster_equals_local_engine_on_20k(tmp_path) -> None:
    customers, _ = synthetic.generate_frame(20_000, seed=13)
    data = write_parts(customers, tmp_path / "in", [6000, 6000, 5000])
    frame = validate_canonical(customers.iloc[:1000])
    cat = resolve_catalog("seed", list(frame.columns))
    ctx = pipeline.Context(cat, LinearFactors(cat))
    local = _run(data, tmp_path / "local.csv", context=ctx, chunk_rows=3000)
    dask = _run(data, tmp_path / "dask.csv", context=ctx, chunk_rows=2500, engine="dask", workers=2)
    assert dask.report["engine"] == "dask" and len(dask.report["peak_memory_mb"]["workers"]) == 2
    assert dask.report["n_chunks"] != local.report["n_chunks"]

    def lines(p: Path) -> list[bytes]:
        head, *rows = p.read_bytes().splitlines()
        return [head, *sorted(rows)]

    assert lines(tmp_path / "dask.csv") == lines(tmp_path / "local.csv")
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert local.report["n_customers"] == dask.report["n_customers"] == 20_000


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_worker_error_on_dask_is_reported_and_nothing_is_written(small, tmp_path) -> None:
    customers, _ = synthetic.generate_frame(900, seed=9)
    sampled = set(batch.sample_rows(900, 100, FAST.seed).tolist())
    bad = next(r for r in range(700, 900) if r not in sampled)  # found by a worker, not the client
    customers.loc[bad, "Age"] = -5
    data = write_parts(customers, tmp_path / "in", [300, 300])
    out = tmp_path / "out"
    with pytest.raises(DataValidationError) as info:
        _run(data, out, context=small["ctx"], engine="dask", workers=2, train_rows=100)
    msg = str(info.value)
    assert "part-00002.parquet" in msg and "Age" in msg and f"row {bad - 600 + 1}" in msg
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "in"]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_local_cluster_workers_keep_glibc_dynamic_mmap_threshold() -> None:
    # Dask exports MALLOC_TRIM_THRESHOLD_ to its workers, which made numpy 2x slower there
    import os

    client, cluster = batch.dask_client(None, 1)
    try:
        seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert list(seen.values()) == [None]
        # the other variables Dask sets for its workers stay (one thread per worker)
        assert list(client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values()) == ["1"]
    finally:
        client.close()
        cluster.close()


def test_the_client_keeps_no_rows_of_a_written_chunk() -> None:
    table = pd.DataFrame({"customer_id": np.arange(50_000), "score": np.ones(50_000)})
    res = batch.ChunkResult(0, 50_000, table, {}, {}, np.zeros(0, np.uint64), 0.0)
    kept = batch.figures_only(res).table
    assert list(kept.columns) == list(table.columns) and len(kept) == 0
    for col in kept.columns:  # no view on the chunk's arrays keeps them alive
        assert kept[col].to_numpy().base is None or kept[col].to_numpy().base.size == 0


def test_a_local_cluster_starts_quietly_when_8787_is_taken() -> None:
    """Another run's cluster holds the dashboard port: ours moves without a warning (the test
    settings turn warnings into errors)."""
    import socket

    from core.pipeline.batch.dask import dask_client

    holder = socket.socket()
    try:
        try:
            holder.bind(("", 8787))
            holder.listen()
        except OSError:
            pass  # already held by something else: the case under test all the same
        client, cluster = dask_client(None, 1)
        try:
            assert client.submit(sum, [1, 2]).result() == 3
        finally:
            client.close()
            cluster.close()
    finally:
        holder.close()


def _with_complaints(n: int, binary_rows: int) -> pd.DataFrame:
    """Synthetic customers with an extra count column (0-3, driven by a hidden trait) that
    holds only 0 and 1 in its first ``binary_rows`` rows."""
    customers, truth = synthetic.generate_frame(n, seed=21)
    rng = np.random.default_rng(0)
    noisy = truth["latent_service_need"].to_numpy() + rng.normal(0, 0.5, n)
    count = np.clip(np.round(noisy + 1), 0, 3)
    count[:binary_rows] = (count[:binary_rows] > 1).astype(float)
    return customers.assign(Complaints=count.astype(int))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_extra_columns_are_typed_as_the_reference_in_every_chunk(tmp_path) -> None:
    """A count column holding only 0 and 1 in one chunk is still a number there. Judged chunk
    by chunk it was read as yes/no, so the models saw it missing for that chunk's customers
    and their journeys changed with the chunking."""
    data = tmp_path / "customers.csv"
    _with_complaints(1200, binary_rows=300).to_csv(data, index=False)
    settings = pipeline.Settings(iters=50, estimator="dr")
    outs = []
    for chunk_rows, engine in ((5000, "local"), (300, "local"), (300, "dask")):
        out = tmp_path / f"j{chunk_rows}{engine}.csv"
        opts = batch.BatchOptions(chunk_rows=chunk_rows, baselines=("greedy",), engine=engine)
        res = batch.run_batch(data, out, settings, opts)
        assert res.report["n_chunks"] == (1 if chunk_rows == 5000 else 4)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]  # the workers type the chunks as the reference too
    # the first chunk alone, typed as the reference says (a number) and as judged on its own
    plan_ = batch.plan(data, 300)
    raw = batch.read_raw(plan_.chunks[0], plan_.csv)
    alone = batch.prepare_chunk(raw, plan_.chunks[0])
    as_reference = batch.prepare_chunk(raw, plan_.chunks[0], extras={"Complaints": "numeric"})
    assert alone.extras["Complaints"] == "boolean"
    assert as_reference.extras == {"Complaints": "numeric"}
    assert as_reference.frame["Complaints"].dtype == np.float64


def test_a_column_left_out_of_the_reference_is_left_out_of_every_chunk(small, tmp_path) -> None:
    """An extra column the reference left out (free text) stays out of a chunk where it would
    pass (too few rows to judge), and the report says what the loader left out."""
    frame = pd.read_csv(small["csv"], dtype=str, keep_default_na=False)
    words = np.array(["slow", "network", "bill", "too", "high", "great", "support", "app"])
    rng = np.random.default_rng(1)
    frame["Comment"] = [" ".join(rng.choice(words, 6)) + f" {i}" for i in range(len(frame))]
    data = tmp_path / "with_comments.csv"
    frame.to_csv(data, index=False)
    res = _run(data, tmp_path / "j.csv", context=small["ctx"], chunk_rows=1990)
    assert res.report["n_chunks"] == 2  # the second chunk: 10 rows, too few to judge free text
    assert any(n.startswith("'Comment' left out: free text") for n in res.report["data_notes"])
    plan_ = batch.plan(data, 1990)
    last = plan_.chunks[-1]
    raw = batch.read_raw(last, plan_.csv)
    assert "Comment" in batch.prepare_chunk(raw, last).extras
    kinds = batch.reference_prepared(plan_, batch.BatchOptions(chunk_rows=1990), 0).extras
    assert "Comment" not in kinds
    assert "Comment" not in batch.canonical_chunk(raw, last, extras=kinds).columns


def test_the_report_names_the_worksheet_a_workbook_was_read_from(small, tmp_path) -> None:
    data = tmp_path / "customers.xlsx"
    with pd.ExcelWriter(data) as book:
        small["frame"].iloc[:300].to_excel(book, sheet_name="Customers", index=False)
        pd.DataFrame({"read me": ["not customers"]}).to_excel(book, sheet_name="About")
    res = _run(data, tmp_path / "j.csv", context=small["ctx"], chunk_rows=120)
    assert res.report["n_chunks"] == 3
    assert any("first worksheet 'Customers' of 2" in n for n in res.report["data_notes"])
    csv = _run(small["csv"], tmp_path / "k.csv", context=small["ctx"], chunk_rows=5000)
    assert not any("worksheet" in n for n in csv.report["data_notes"])


def test_parquet_parts_with_different_columns_are_refused(small, tmp_path) -> None:
    """A part with a column the others lack (or without one they have) gets one error naming
    the parts and the columns, before any work (it failed on a chunk with a KeyError, or named
    empty cells of the reference sample)."""
    frame = small["frame"].iloc[:600]
    cases = {
        "more": (frame.iloc[:300], frame.iloc[300:].assign(Region="North"), "has 'Region'"),
        "fewer": (frame.iloc[:300].drop(columns=["Streaming TV"]), frame.iloc[300:], "has"),
    }
    for name, (first, second, words) in cases.items():
        d = tmp_path / name
        d.mkdir()
        first.to_parquet(d / "part-00000.parquet", index=False)
        second.to_parquet(d / "part-00001.parquet", index=False)
        with pytest.raises(DataValidationError) as err:
            _run(d, tmp_path / f"{name}.csv", context=small["ctx"])
        msg = str(err.value)
        assert "do not have the same columns" in msg and words in msg, msg
        assert "part-00000.parquet" in msg and "part-00001.parquet" in msg
        assert "Streaming TV" in msg or name == "more"
        assert not (tmp_path / f"{name}.csv").exists()
    # the same columns in another order, and a stored pandas index, are the same columns
    d = tmp_path / "same"
    d.mkdir()
    shuffled = frame.iloc[:300].sample(frac=1.0, random_state=0)  # an index pandas stores
    shuffled.to_parquet(d / "part-00000.parquet", index=True)
    frame.iloc[300:, ::-1].to_parquet(d / "part-00001.parquet", index=False)
    assert _run(d, tmp_path / "same.csv", context=small["ctx"]).report["n_customers"] == 600


def test_values_that_do_not_fit_the_reference_kind_are_counted_in_the_notes(small, tmp_path):
    """Text in a column the reference sample judged numeric is read as missing, and the report
    says how many such values the chunks held (nothing is lost without a word)."""
    frame = pd.read_csv(small["csv"], dtype=str, keep_default_na=False)
    frame["Score"] = [str(i % 7) for i in range(len(frame))]
    sampled = set(batch.sample_rows(len(frame), FAST_OPTS["train_rows"], FAST.seed).tolist())
    outside = [i for i in range(len(frame)) if i not in sampled][:5]
    frame.loc[outside, "Score"] = "unknown"
    data = tmp_path / "scores.csv"
    frame.to_csv(data, index=False)
    res = _run(data, tmp_path / "j.csv", context=small["ctx"], chunk_rows=700)
    said = [n for n in res.report["data_notes"] if n.startswith("'Score'")]
    assert said == [
        "'Score': 5 value(s) in the chunks that are not a number were read as missing (the "
        "reference sample judged the column numeric). Fix: clean those cells, or raise "
        "--train-rows so that the sample sees them."
    ]
    clean = _run(small["csv"], tmp_path / "k.csv", context=small["ctx"], chunk_rows=700)
    assert not any("were read as missing" in n for n in clean.report["data_notes"])
