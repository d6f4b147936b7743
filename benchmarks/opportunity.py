"""Benchmark: building opportunity components, the study's N x N method, and live recombination.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/opportunity.py --sizes 7043,100000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/opportunity.py --sizes 1000000 \
        --estimators peer-bayes,neighbours,counterfactual --presets fast,accurate --no-memory

``--isolate`` runs every (size, estimator, preset) in a fresh child process and reports its peak
resident memory (the synthetic population included) instead of traced allocations.

The counterfactual estimator is timed in two parts: fitting its models on a seeded sample of at
most ``--fit-rows`` customers (as the batch engine does) and scoring every customer
(``build_components`` with those models), for each model preset in ``--presets``.

For every population size (synthetic customers, seed catalog) and estimator it reports the
seconds and the peak traced memory (tracemalloc: numpy, pandas and scikit-learn allocations,
the components array included) of :func:`core.opportunity.build_components`; at small
sizess (<= ``--nxn-max``) it also runs the study's N x N computation (:func:`peer_bayes_bruteforce`, all three
factors) next to the O(N log N) one on the same data, and times :func:`combine` (median of
``--repeats`` calls) for 7,043 customers with the seed and the full catalog's shapes.
Timings include tracemalloc's overhead unless ``--no-memory``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import synthetic
from core.data.catalog import load_catalog
from core.data.schema import FACTORS
from core.opportunity import DATA_ESTIMATORS as ESTIMATORS
from core.opportunity import Components, build_components, combine
from core.opportunity.estimators import peer_bayes_bruteforce, peer_bayes_probabilities
from core.opportunity.estimators._common import observed_factors
from core.opportunity.estimators.counterfactual import fit_models


def _measure(fn: Any, memory: bool) -> tuple[float, float | None, Any]:
    if memory:
        tracemalloc.start()
    t = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t
    peak = None
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return seconds, peak, out


def _all_factors(fn: Any, ys: list[np.ndarray], held: np.ndarray) -> list[np.ndarray]:
    return [fn(y, held) for y in ys]


def _combine_timing(n: int, p: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    comp = Components(
        values=rng.standard_normal((n, 1 + p, p, 3)).astype(np.float32),
        eligible=np.ones((n, p), bool),
        held=np.zeros((n, p), bool),
        customer_ids=np.arange(n),
        product_keys=tuple(f"p{j}" for j in range(p)),
    )
    times = []
    for r in range(repeats):
        w = {"cltv": 1.0 + r % 3, "churn": 0.5, "satisfaction": 2.0}
        t = time.perf_counter()
        combine(comp, w, levers={"p0": 1.5})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _isolated(args: argparse.Namespace) -> None:
    """Every (size, estimator, preset) in its own child; its peak RSS from ``os.wait4``."""
    import os
    import subprocess
    import tempfile

    rows: list[dict[str, Any]] = []
    print(f"{'method':<34} {'customers':>10} {'seconds':>10} {'peak RSS MB':>12}")
    for n in [int(s.replace("_", "")) for s in args.sizes.split(",") if s]:
        for name in [e for e in args.estimators.split(",") if e]:
            for preset in args.presets.split(",") if name == "counterfactual" else [""]:
                with tempfile.TemporaryDirectory() as tmp:
                    out = Path(tmp) / "rows.json"
                    cmd = [sys.executable, __file__, "--sizes", str(n), "--estimators", name]
                    cmd += ["--presets", preset or "accurate", "--fit-rows", str(args.fit_rows)]
                    cmd += ["--nxn-max", "0", "--no-memory", "--no-combine", "--json", str(out)]
                    cmd += ["--seed", str(args.seed)]
                    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
                    _, status, usage = os.wait4(child.pid, 0)
                    if status != 0:
                        raise SystemExit(f"{' '.join(cmd)} failed ({status})")
                    peak = usage.ru_maxrss / 1024  # KiB -> MiB
                    for r in json.loads(out.read_text())["rows"]:
                        r["peak_rss_mb_process"] = peak
                        rows.append(r)
                        print(f"{r['method']:<34} {n:>10,} {r['seconds']:10.2f} {peak:12.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "factors": FACTORS}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="7043,100000", help="comma-separated customer counts")
    ap.add_argument("--estimators", default=",".join(ESTIMATORS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--nxn-max", type=int, default=20_000, help="run the N x N method up to this size"
    )
    ap.add_argument("--repeats", type=int, default=50, help="combine() repetitions")
    ap.add_argument(
        "--fit-rows", type=int, default=50_000, help="counterfactual: models fitted on this sample"
    )
    ap.add_argument(
        "--presets", default="accurate", help="counterfactual model presets (accurate,fast)"
    )
    ap.add_argument("--no-memory", action="store_true", help="time without tracemalloc")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument(
        "--isolate",
        action="store_true",
        help="run each (size, estimator, preset) in a fresh child process and report its peak "
        "resident memory (no tracemalloc overhead)",
    )
    ap.add_argument("--no-combine", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.isolate:
        return _isolated(args)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    names = [e for e in args.estimators.split(",") if e]
    memory = not args.no_memory
    cat = load_catalog("seed")
    rows: list[dict[str, Any]] = []

    def add(method: str, n: int, seconds: float, peak: float | None) -> None:
        rows.append({"method": method, "customers": n, "seconds": seconds, "peak_mb": peak})
        mem = "-" if peak is None else f"{peak:9.0f}"
        print(f"{method:<34} {n:>10,} {seconds:10.2f} {mem:>9}", flush=True)

    print(f"{'method':<34} {'customers':>10} {'seconds':>10} {'peak MB':>9}")
    for n in sizes:
        customers, _ = synthetic.generate_frame(n, args.seed)
        if n <= args.nxn_max:
            held = cat.holdings(customers)
            ys, _, _ = observed_factors(customers)
            fast = [y for y in ys.values() if y is not None]
            s, m, a = _measure(partial(_all_factors, peer_bayes_probabilities, fast, held), memory)
            add("peer-bayes core, sorting (3 fact.)", n, s, m)
            s, m, b = _measure(partial(_all_factors, peer_bayes_bruteforce, fast, held), memory)
            add("peer-bayes core, N x N (3 fact.)", n, s, m)
            assert all(np.allclose(x, z) for x, z in zip(a, b, strict=True))
        for name in names:
            if name != "counterfactual":
                s, m, comp = _measure(
                    partial(build_components, customers, cat, name, random_state=0), memory
                )
                add(f"build_components {name}", n, s, m)
                del comp
                continue
            fit_n = min(n, args.fit_rows)
            rng = np.random.default_rng(args.seed)
            sample = customers.iloc[np.sort(rng.choice(n, fit_n, replace=False))]
            for preset in [p for p in args.presets.split(",") if p]:
                s, m, models = _measure(partial(fit_models, sample, cat, 0, preset=preset), memory)
                add(f"counterfactual {preset}: fit {fit_n:,}", n, s, m)
                s, m, comp = _measure(
                    partial(build_components, customers, cat, name, models=models, random_state=0),
                    memory,
                )
                add(f"counterfactual {preset}: score", n, s, m)
                del comp, models
    combine_ms = {}
    for label, p in (
        []
        if args.no_combine
        else (("seed", cat.n_products), ("full", load_catalog("full").n_products))
    ):
        combine_ms[label] = 1000 * _combine_timing(7043, p, args.repeats)
        print(f"combine 7,043 x {label} catalog ({p} products): median {combine_ms[label]:.2f} ms")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": rows, "combine_ms_7043": combine_ms, "factors": FACTORS}, indent=2)
        )


if __name__ == "__main__":
    main()
