"""Benchmark: synthetic population generation speed and memory.

    .venv/bin/python benchmarks/synthetic.py --rows 1000000

Prints rows/s for in-memory generation (customers + truth) and for writing Parquet, and the peak
resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import synthetic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk-size", type=int, default=100_000)
    args = ap.parse_args()
    t = time.perf_counter()
    n = sum(len(c) for c, _ in synthetic.generate(args.rows, args.seed, chunk_size=args.chunk_size))
    gen = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        synthetic.write(Path(tmp) / "p.parquet", args.rows, args.seed, chunk_size=args.chunk_size)
        wr = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows                 {n:,}")
    print(f"generate (in memory) {gen:8.2f} s  {n / gen:,.0f} rows/s")
    print(f"write parquet        {wr:8.2f} s  {n / wr:,.0f} rows/s")
    print(f"peak RSS             {peak_mb:8.0f} MB")


if __name__ == "__main__":
    main()
