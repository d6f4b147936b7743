"""Benchmark of the journey optimizers (anneal, exact, greedy, greedy + local search, seed-style).

All solvers run on the same customers in one process, so the ratios are measured side by side.
The real-data section runs the IBM file through ``core.pipeline`` (peer-bayes estimator; the
component build is not timed) with the seed and the full catalog. The other instances are
synthetic (``core.journeys.structured_instance``): the seed catalog (5 products)
and the full catalog (11 products) at the IBM population size, 25 products with prerequisites and
journeys of up to 6 offers, and a million seed-catalog customers. ``seed-style`` (the study's
per-customer annealer) runs on a sample; its population time is the sample's time per customer
times the population, and is labelled as extrapolated.

Usage::

    .venv/bin/python benchmarks/journeys.py            # full run (several minutes)
    .venv/bin/python benchmarks/journeys.py --quick    # small sizes, about a minute
    .venv/bin/python benchmarks/journeys.py --json artifacts/bench_journeys.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.journeys import (
    JourneyProblem,
    JourneyResult,
    compare_baselines,
    compare_to_exact,
    structured_instance,
)
from core.solvers.anneal import anneal
from core.solvers.baselines import greedy, greedy_local_search, seed_style
from core.solvers.exact import exact

ROWS: list[dict[str, Any]] = []


_CPU: dict[str, float] = {"last": 0.0}


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[JourneyResult, float]:
    """Run ``fn``; return its result and wall seconds (its CPU seconds go to the next row)."""
    c = time.process_time()
    t = time.perf_counter()
    res = fn(*args, **kwargs)
    wall = time.perf_counter() - t
    _CPU["last"] = time.process_time() - c
    return res, wall


def _gap(res: JourneyResult, ref: JourneyResult) -> dict[str, float]:
    out = compare_to_exact(res, ref)
    out.pop("n")
    return out


def _row(instance: str, solver: str, n: int, seconds: float, **extra: Any) -> None:
    cpu = extra.pop("cpu_seconds", _CPU["last"])
    row = {"instance": instance, "solver": solver, "n": n, "seconds": seconds, "cpu_seconds": cpu}
    row.update(extra)
    ROWS.append(row)
    gap = extra.get("share_optimal")
    print(
        f"{instance:<22} {solver:<26} {n:>9,} {seconds:>10.3f} s (cpu {cpu:>8.3f})"
        f" {1e6 * seconds / max(n, 1):>9.1f} us/cust"
        + (
            f"  optimal {100 * gap:6.2f}%  mean gap {extra['mean_gap']:.4f}"
            if gap is not None
            else ""
        )
        + (f"  {extra['note']}" if "note" in extra else ""),
        flush=True,
    )


def population(name: str, catalog: str, n: int, sample: int, seed: int, batch: int) -> None:
    """Anneal, exact, greedy, greedy+ls and seed-style (sample) on one synthetic population."""
    compare(name, structured_instance(n, catalog, rng=seed), sample, seed, batch)


def ibm(path: Path, catalog: str, sample: int, seed: int, batch: int) -> None:
    """The real pipeline: IBM file -> peer-bayes components -> journey problem -> solvers."""
    from core.data.io import load
    from core.pipeline import Settings, components_for, fit_context, problem_for

    data = load(path)
    settings = Settings(catalog=catalog, estimator="peer-bayes", seed=seed)
    t = time.perf_counter()
    ctx = fit_context(data.frame, settings)
    pb = problem_for(components_for(data.frame, settings, ctx), ctx.catalog, settings)
    print(
        f"  (IBM {catalog}: components built in {time.perf_counter() - t:.2f} s, not timed below)"
    )
    compare(f"IBM peer-bayes, {catalog}", pb, sample, seed, batch)


def compare(name: str, pb: JourneyProblem, sample: int, seed: int, batch: int) -> None:
    """Exact, anneal (and its start alone), greedy, greedy+ls and seed-style on one problem."""
    n = pb.n_customers
    ex, t_ex = _timed(exact, pb)
    _row(name, "exact", n, t_ex, share_optimal=1.0, mean_gap=0.0)
    an, t_an = _timed(anneal, pb, rng=seed, batch_size=batch)
    c_an = _CPU["last"]
    _row(name, "anneal", n, t_an, **_gap(an, ex), phases=an.seconds)
    print(f"{'':<22} anneal phases: " + ", ".join(f"{k} {v:.3f}" for k, v in an.seconds.items()))
    st, t_st = _timed(anneal, pb, rng=seed, batch_size=batch, iters=0, polish=False)
    _row(name, "anneal's start alone", n, t_st, **_gap(st, ex))
    for solver, fn in (("greedy", greedy), ("greedy+ls", greedy_local_search)):
        res, t = _timed(fn, pb)
        _row(name, solver, n, t, **_gap(res, ex))
    idx = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
    sub = pb.subset(np.sort(idx))
    ss, t_ss = _timed(seed_style, sub, rng=seed)
    per, cpu_per = t_ss / sub.n_customers, _CPU["last"] / sub.n_customers
    cmp = _gap(ss, _subset(ex, idx))
    _row(name, f"seed-style (sample {sub.n_customers})", sub.n_customers, t_ss, **cmp)
    _row(
        name,
        "seed-style (extrapolated)",
        n,
        per * n,
        cpu_seconds=cpu_per * n,
        note=(
            f"= {1e3 * per:.2f} ms/customer x {n:,}; anneal is {per * n / t_an:.0f}x faster "
            f"(cpu: {cpu_per * n / max(c_an, 1e-9):.0f}x)"
        ),
        speedup_vs_anneal=per * n / t_an,
        cpu_speedup_vs_anneal=cpu_per * n / max(c_an, 1e-9),
    )


def _subset(res: JourneyResult, idx: np.ndarray) -> JourneyResult:
    order = np.sort(idx)
    return dataclasses.replace(
        res,
        journeys=res.journeys[order],
        scores=res.scores[order],
        step_scores=res.step_scores[order],
    )


def large(n_sample: int, n_big: int, seed: int, batch: int) -> None:
    """25 products: anneal vs exact on a sample, anneal vs greedy + local search at scale."""
    name = "25 products, L<=6"
    pb = structured_instance(n_sample, 25, rng=seed)
    ex, t_ex = _timed(exact, pb)
    _row(name, "exact", n_sample, t_ex, share_optimal=1.0, mean_gap=0.0)
    an, t_an = _timed(anneal, pb, rng=seed, batch_size=batch)
    _row(name, "anneal", n_sample, t_an, **_gap(an, ex), phases=an.seconds)
    print(f"{'':<22} anneal phases: " + ", ".join(f"{k} {v:.3f}" for k, v in an.seconds.items()))
    st, t_st = _timed(anneal, pb, rng=seed, batch_size=batch, iters=0, polish=False)
    _row(name, "anneal's start alone", n_sample, t_st, **_gap(st, ex))
    # the defaults before the beam start, side by side
    old, t_old = _timed(anneal, pb, rng=seed, batch_size=batch, beam=0, pool_walk=True)
    _row(name, "anneal beam=0 pool_walk", n_sample, t_old, **_gap(old, ex))
    ls, t_ls = _timed(greedy_local_search, pb)
    _row(name, "greedy+ls", n_sample, t_ls, **_gap(ls, ex))
    big = structured_instance(n_big, 25, rng=seed + 1)
    an, t_an = _timed(anneal, big, rng=seed, batch_size=batch)
    c_an = _CPU["last"]
    ls, t_ls = _timed(greedy_local_search, big)
    cmp = compare_baselines(an, {"greedy+ls": ls})["greedy+ls"]
    _row(name, "greedy+ls", n_big, t_ls, mean_score=float(ls.scores.mean()))
    _row(
        name,
        "anneal",
        n_big,
        t_an,
        mean_score=float(an.scores.mean()),
        cpu_seconds=c_an,
        note=(
            f"vs greedy+ls: >= for {100 * cmp['share_better_or_equal']:.2f}%, "
            f"> for {100 * cmp['share_better']:.2f}%, mean uplift {cmp['mean_uplift']:.3f} "
            f"(mean score {an.scores.mean():.3f} vs {ls.scores.mean():.3f})"
        ),
        **{f"vs_greedy_ls_{k}": v for k, v in cmp.items()},
    )


def million(n: int, seed: int, batch: int) -> None:
    """Seed catalog at scale: optimization seconds and peak resident memory."""
    pb = structured_instance(n, "seed", rng=seed)
    an, t_an = _timed(anneal, pb, rng=seed, batch_size=batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    _row(
        "seed catalog at scale",
        f"anneal (batch {batch:,})",
        n,
        t_an,
        peak_rss_gib=peak,
        note=f"peak RSS of the whole process {peak:.2f} GiB (instance included)",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for a fast check")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=7043, help="population size (IBM: 7,043)")
    ap.add_argument("--seed-style-sample", type=int, default=300)
    ap.add_argument("--large-sample", type=int, default=1000)
    ap.add_argument("--large-n", type=int, default=100_000)
    ap.add_argument("--million", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=65536)
    ap.add_argument(
        "--ibm",
        type=Path,
        default=Path("/work/shared/data/telco_ibm_11_1_3.csv"),
        help="IBM Telco 11.1.3+ file for the real-data section (skipped when missing)",
    )
    ap.add_argument(
        "--only",
        nargs="*",
        choices=["ibm", "seed", "full", "large", "million"],
        help="sections to run",
    )
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.seed_style_sample = 2000, 60
        args.large_sample, args.large_n, args.million = 200, 10_000, 100_000
    sections = set(args.only or ["ibm", "seed", "full", "large", "million"])
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'instance':<22} {'solver':<26} {'customers':>9} {'seconds (cpu)':>27} "
        f"{'per customer':>15}"
    )
    if "ibm" in sections and args.ibm.exists():
        for catalog in ("seed", "full"):
            ibm(args.ibm, catalog, args.seed_style_sample, args.seed, args.batch_size)
    if "seed" in sections:
        population(
            "seed catalog (5)", "seed", args.n, args.seed_style_sample, args.seed, args.batch_size
        )
    if "full" in sections:
        population(
            "full catalog (11)", "full", args.n, args.seed_style_sample, args.seed, args.batch_size
        )
    if "large" in sections:
        large(args.large_sample, args.large_n, args.seed, args.batch_size)
    if "million" in sections:
        million(args.million, args.seed, args.batch_size)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {"argv": sys.argv, "numpy": np.__version__, "cpus": os.cpu_count()}
        args.json.write_text(json.dumps({"meta": meta, "rows": ROWS}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
