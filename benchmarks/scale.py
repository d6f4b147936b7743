"""Batch journeys at scale: `python -m core optimize` on 100k / 1M / 5M synthetic customers.

For each size the synthetic population (core.data.synthetic, seed 0) is written as partitioned Parquet
(one part-NNNNN.parquet per 100,000 customers) into a temporary directory; then, for each engine,
the real command runs in a fresh process, end to end (read, validate, fit the models once on the
reference sample, score, optimize, write partitioned Parquet)::

    python -m core optimize DIR --out OUT/ --report report.json --engine local|dask --workers 2

with the seed catalog and the counterfactual estimator (the defaults), and ``--model-preset fast``
(``--presets accurate fast`` adds the dashboard's models for comparison). The figures come from the
command's report.json: seconds_total, customers per second, the split (reference + fit,
components, optimization) and the peak resident memory of the client process and of each Dask
worker process. The machine's load (os.getloadavg) is printed with every run because the 2 cores
may be shared.

Usage::

    python benchmarks/scale.py                       # 100k and 1M, local and dask
    python benchmarks/scale.py --sizes 100000 --engines local dask
    python benchmarks/scale.py --sizes 1000000 --engines dask --json artifacts/scale.json
    python benchmarks/scale.py --with-5m             # adds 5,000,000 customers (slow)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data import synthetic  # noqa: E402

PART_ROWS = 100_000


def write_population(n_rows: int, directory: Path, seed: int = 0) -> float:
    """Write ``n_rows`` synthetic customers as part-NNNNN.parquet files; returns seconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for k, (customers, _truth) in enumerate(synthetic.generate(n_rows, seed, chunk_size=PART_ROWS)):
        table = pa.Table.from_pandas(customers, preserve_index=False)
        pq.write_table(table, directory / f"part-{k:05d}.parquet", compression="zstd")
    return time.perf_counter() - start


def run_command(
    data: Path, out: Path, engine: str, args: argparse.Namespace, n_rows: int, preset: str
) -> dict:
    """Run ``python -m core optimize`` in a fresh process; returns its report plus wall time."""
    report = out.with_suffix(".report.json")
    chunk_rows = args.chunk_rows or min(100_000, -(-n_rows // (2 * args.workers)))
    cmd = [
        sys.executable,
        "-m",
        "core",
        "optimize",
        str(data),
        "--out",
        f"{out}/",
        "--report",
        str(report),
        "--engine",
        engine,
        "--workers",
        str(args.workers),
        "--chunk-rows",
        str(chunk_rows),
        "--train-rows",
        str(args.train_rows),
        "--baselines",
        "",
        "--model-preset",
        preset,
        "--quiet",
    ]
    load = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")
    rep = json.loads(report.read_text())
    rep["wall_seconds"] = wall
    rep["load_before"] = load
    rep["load_after"] = os.getloadavg()
    rep["command"] = " ".join(["python", *cmd[1:]])
    return rep


def summary(n_rows: int, engine: str, rep: dict) -> dict:
    peaks = rep["peak_memory_mb"]
    return {
        "customers": n_rows,
        "engine": engine,
        "model_preset": rep["settings"]["model_preset"],
        "workers": len(peaks["workers"]) if engine == "dask" else 1,
        "seconds_total": round(rep["seconds_total"], 1),
        "wall_seconds": round(rep["wall_seconds"], 1),
        "customers_per_second": round(rep["customers_per_second"], 1),
        "seconds_reference_fit": round(rep["seconds_reference"] + rep["seconds_fit"], 1),
        "seconds_read_validate": round(rep["seconds_read"], 1),
        "seconds_components": round(rep["seconds_components"], 1),
        "seconds_optimize": round(rep["seconds_optimize"], 1),
        "peak_client_mb": round(peaks["client"]),
        "peak_worker_mb": round(max(peaks["workers"].values(), default=0.0)),
        "n_chunks": rep["n_chunks"],
        "rows": rep["rows"],
        "load_before": [round(x, 2) for x in rep["load_before"]],
        "load_after": [round(x, 2) for x in rep["load_after"]],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--with-5m", action="store_true", help="add 5,000,000 customers")
    p.add_argument("--engines", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--chunk-rows",
        type=int,
        help="customers per chunk (default: min(100000, N / (2 * workers)), so that every "
        "worker has chunks to do)",
    )
    p.add_argument("--train-rows", type=int, default=50_000)
    p.add_argument(
        "--presets",
        nargs="+",
        default=["fast"],
        choices=["accurate", "fast"],
        help="model presets to run (fast: the batch preset; accurate: the dashboard's models)",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--keep", type=Path, help="keep the data and outputs in this directory")
    args = p.parse_args()
    sizes = list(args.sizes) + ([5_000_000] if args.with_5m else [])
    base = args.keep or Path(tempfile.mkdtemp(prefix="cjo-scale-"))
    rows: list[dict] = []
    try:
        for n in sizes:
            data = base / f"customers-{n}"
            if not data.exists():
                secs = write_population(n, data)
                print(f"# generated {n:,} customers in {secs:.1f} s -> {data}", flush=True)
            for preset in args.presets:
                for engine in args.engines:
                    out = base / f"journeys-{n}-{engine}-{preset}"
                    rep = run_command(data, out, engine, args, n, preset)
                    row = summary(n, engine, rep)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    print(f"#   {rep['command']}", flush=True)
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    cols = [
        ("customers", "{:>10,}"),
        ("engine", "{:>6}"),
        ("model_preset", "{:>8}"),
        ("seconds_total", "{:>9.1f}"),
        ("customers_per_second", "{:>9.0f}"),
        ("seconds_reference_fit", "{:>8.1f}"),
        ("seconds_components", "{:>8.1f}"),
        ("seconds_optimize", "{:>8.1f}"),
        ("peak_client_mb", "{:>7}"),
        ("peak_worker_mb", "{:>7}"),
    ]
    print("\n" + " ".join(f"{c[:10]:>10}" for c, _ in cols) + "  load(1,5,15 min)")
    for r in rows:
        print(" ".join(f"{f.format(r[c]):>10}" for c, f in cols) + f"  {r['load_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
