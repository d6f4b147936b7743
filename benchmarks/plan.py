"""Benchmark of the campaign planners: Lagrangian planner, HiGHS and the greedy fill, side by side.

Instances are generated in the shape of the public customer-assignment benchmark (Bigler,
Kammermann & Baumann, EJOR 2023; see ``core.planning.generate``): the tiers and names follow
theirs (GS: 10k-20k customers x 50-75 activities, GM: 100k-200k x 100-125, GL: 1M x 175;
eligibility about 5 % or 15 % of the activities per customer; 50 or 300 eligibility patterns).
Every solver runs on the same instance in the same process, one after the other; each row gives
the objective, the proved upper bound, the gap to it, the checker's verdict, wall seconds and
the peak resident memory of the process while the solver ran (sampled every 20 ms).

Targets (issue 18): GS - feasible, objective >= 99.5 % of HiGHS's optimum in at most a fifth of
HiGHS's time; GM - gap to the proved bound <= 1 % within 60 s; GL - feasible, gap <= 2 % within
10 minutes on 2 cores, memory <= 8 GB.

Usage::

    .venv/bin/python benchmarks/plan.py                      # the GS tier (minutes)
    .venv/bin/python benchmarks/plan.py --tiers GM --no-exact
    .venv/bin/python benchmarks/plan.py --instances GL6 --no-exact --time-limit 600
    .venv/bin/python benchmarks/plan.py --json artifacts/bench_plan.json
    .venv/bin/python benchmarks/plan.py --replan data/calendars/quarter.toml \
        --data data/demo/customers.parquet      # slider moves on the demo population

``--dask`` also runs the Lagrangian planner with its per-customer subproblems on the Dask engine
(a LocalCluster of ``--workers`` single-threaded processes, started once before the instances;
its start-up seconds are printed apart), right after the serial run on the same instance, with
the same chunks of patterns (``--chunk-items``; by default as ``plan --engine dask``: the
eligible assignments / (4 x workers), at least 50,000), and says whether the two plans and bounds are identical.
Its peak MB is this process's; the workers' peaks are printed after it::

    .venv/bin/python benchmarks/plan.py --instances GM1 --no-exact --no-greedy --dask

``--replan`` measures what a Plan page would do: one plan of the calendar for the customers, then
re-plans after each bound of the calendar moves by -20 %, -10 %, +10 %, +20 % (each warm-started
from the previous result, ``time_limit`` 1 s), with seconds, gap and feasibility of each.
``--quick`` adds, before each, the Plan page's quick answer (``core.planning.quick``: seconds,
proved gap) and its background refinement (``replan`` from it, as ``ui.plan`` runs it).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cli.plan import chunk_items_for
from core.common.jsonutil import to_jsonable
from core.planning import benchmark_instance, solve

#: name: (customers, activities, eligibility, patterns, tier), as the public instances; the
#: tiers run the "few patterns" ones (1, 2, 5, 6); the "many patterns" ones by --instances.
INSTANCES: dict[str, tuple[int, int, float, int, str]] = {
    "GS1": (10_000, 50, 0.05, 50, "GS"),
    "GS2": (10_000, 50, 0.15, 50, "GS"),
    "GS3": (10_000, 50, 0.05, 100, "GS*"),
    "GS4": (10_000, 50, 0.15, 100, "GS*"),
    "GS5": (20_000, 75, 0.05, 50, "GS"),
    "GS6": (20_000, 75, 0.15, 50, "GS"),
    "GS7": (20_000, 75, 0.05, 100, "GS*"),
    "GS8": (20_000, 75, 0.15, 100, "GS*"),
    "GM1": (100_000, 100, 0.05, 300, "GM"),
    "GM2": (100_000, 100, 0.15, 300, "GM"),
    "GM3": (100_000, 100, 0.05, 800, "GM*"),
    "GM4": (100_000, 100, 0.15, 800, "GM*"),
    "GM5": (200_000, 125, 0.05, 300, "GM"),
    "GM6": (200_000, 125, 0.15, 300, "GM"),
    "GM7": (200_000, 125, 0.05, 800, "GM*"),
    "GM8": (200_000, 125, 0.15, 800, "GM*"),
    "GL5": (1_000_000, 175, 0.05, 300, "GL"),
    "GL6": (1_000_000, 175, 0.15, 300, "GL"),
    "GL7": (1_000_000, 175, 0.05, 1000, "GL*"),
    "GL8": (1_000_000, 175, 0.15, 1000, "GL*"),
}
PLANNER_TIME = {"GS": 60.0, "GM": 60.0, "GL": 600.0}  # by tier (a * dropped)
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


class PeakMemory:
    """Peak resident memory of this process while the ``with`` block runs."""

    def __init__(self, every: float = 0.02) -> None:
        self.every, self.peak = every, 0.0
        self._stop = threading.Event()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(self.every)

    def __enter__(self) -> PeakMemory:
        self.peak = rss_mb()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def run_solver(
    problem: Any,
    solver: str,
    time_limit: float,
    seed: int,
    executor: Any = None,
    label: str | None = None,
    **options: Any,
) -> dict:
    with PeakMemory() as mem:
        t = time.perf_counter()
        res = solve(
            problem,
            solver,
            time_limit=time_limit,
            rng=seed,
            options=options or None,
            executor=executor,
        )
        wall = time.perf_counter() - t
    hard = [v for v in res.violations if not v.soft]
    return {
        "solver": label or solver,
        "engine": res.stats.get("engine", "local"),
        "chosen_sha": hashlib.sha256(res.chosen.tobytes()).hexdigest()[:16],
        "objective": res.objective,
        "upper_bound": res.upper_bound,
        "gap": res.gap,
        "feasible": res.feasible,
        "broken": len(hard),
        "status": res.status,
        "seconds": wall,
        "seconds_highs": res.stats.get("seconds_milp"),
        "peak_mb": mem.peak,
        "stats": res.stats,
        "message": res.message,
    }


def fmt(x: Any, spec: str) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    return format(x, spec)


def print_row(name: str, row: dict) -> None:
    print(
        f"{name:5s} {row['solver']:10s} {fmt(row['objective'], ',.1f'):>15s} "
        f"{fmt(row['upper_bound'], ',.1f'):>15s} {fmt(row['gap'], '.4%'):>9s} "
        f"{str(row['feasible']):>8s} {row['broken']:>6d} {row['seconds']:9.2f} "
        f"{row['peak_mb']:9.0f}",
        flush=True,
    )


def verdicts(name: str, tier: str, rows: dict[str, dict], limit: float) -> list[str]:
    """The issue's targets for this instance, met or not (never lowered)."""
    lag = rows.get("lagrangian")
    out = []
    if lag is None:
        return out
    if tier == "GS" and "exact" in rows:
        ex = rows["exact"]
        if ex["status"] == "optimal":
            ratio = lag["objective"] / ex["objective"]
            speed = lag["seconds"] / max(ex["seconds"], 1e-9)
            ok = lag["feasible"] and ratio >= 0.995 and speed <= 0.2
            out.append(
                f"{name}: {'MET' if ok else 'NOT MET'} - feasible {lag['feasible']}, "
                f"{ratio:.4%} of HiGHS's optimum, {speed:.3f} of HiGHS's time "
                f"({lag['seconds']:.1f} s vs {ex['seconds']:.1f} s)"
            )
        else:
            out.append(
                f"{name}: HiGHS did not prove an optimum in its time ({ex['status']}, "
                f"{ex['seconds']:.0f} s, gap {fmt(ex['gap'], '.3%')}); planner "
                f"{lag['objective']:,.1f} in {lag['seconds']:.1f} s, gap {lag['gap']:.4%}"
            )
    elif tier == "GM":
        ok = lag["feasible"] and lag["gap"] <= 0.01 and lag["seconds"] <= 60
        out.append(
            f"{name}: {'MET' if ok else 'NOT MET'} - gap {lag['gap']:.4%} in "
            f"{lag['seconds']:.1f} s (target <= 1 % within 60 s)"
        )
    elif tier == "GL":
        ok = (
            lag["feasible"]
            and lag["gap"] <= 0.02
            and lag["seconds"] <= 600
            and lag["peak_mb"] <= 8192
        )
        out.append(
            f"{name}: {'MET' if ok else 'NOT MET'} - feasible {lag['feasible']}, gap "
            f"{lag['gap']:.4%}, {lag['seconds']:.0f} s, peak {lag['peak_mb']:.0f} MB "
            "(target <= 2 % within 600 s, <= 8 GB)"
        )
    del limit
    return out


def replans(calendar: str, data: str, seed: int, limit: float, quick: bool = False) -> list[dict]:
    """Warm re-plans after each coupling bound of ``calendar`` moves (see the module doc);
    ``quick``: also the Plan page's quick answer before each and its refinement."""
    import types

    import numpy as np

    from core.cli.plan import problem_from_calendar
    from core.planning import replan

    args = types.SimpleNamespace(
        data=data, catalog=None, seed=seed, model_preset="fast", models=None
    )
    t = time.perf_counter()
    problem = problem_from_calendar(calendar, args)
    print(f"# {problem.summary()} built in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    first = solve(problem, "lagrangian", time_limit=60, rng=seed)
    print(f"# first plan: {first.message} ({time.perf_counter() - t:.2f} s)", flush=True)
    rows = []
    current, result = problem, first
    for k in problem.coupling:
        name = problem.constraints.names[k]
        for factor in (0.8, 0.9, 1.1, 1.2):
            extra = (
                quick_and_refined(current, result, {name: problem.constraints.bound[k] * factor},
                                  limit, seed)
                if quick
                else {}
            )  # fmt: skip
            t = time.perf_counter()
            current, result = replan(
                current,
                {name: problem.constraints.bound[k] * factor},
                warm_start=result,
                time_limit=limit,
                rng=seed,
            )
            wall = time.perf_counter() - t
            rows.append(
                {
                    "constraint": name,
                    "factor": factor,
                    "seconds": wall,
                    "gap": result.gap,
                    "feasible": result.feasible,
                    "objective": result.objective,
                    "status": result.status,
                    **extra,
                }
            )
            print(
                f"  {name:32s} x{factor:<4} {wall:6.2f} s  gap {fmt(result.gap, '.4%'):>9s} "
                f"{result.status}"
                + (
                    f"  | quick {extra['quick_seconds']:.3f} s gap "
                    f"{fmt(extra['quick_gap'], '.4%')}, refined {extra['refined_seconds']:.2f} s "
                    f"gap {fmt(extra['refined_gap'], '.4%')} {extra['refined_status']}"
                    if extra
                    else ""
                ),
                flush=True,
            )
        current, result = replan(
            current,
            {name: problem.constraints.bound[k]},
            warm_start=result,
            time_limit=limit,
            rng=seed,
        )
    if quick:
        summary_quick(rows)
    secs = np.array([r["seconds"] for r in rows])
    gaps = np.array([r["gap"] for r in rows], dtype=float)
    print(
        f"# {len(rows)} re-plans: median {np.median(secs):.2f} s, 90th percentile "
        f"{np.percentile(secs, 90):.2f} s, max {secs.max():.2f} s; feasible "
        f"{sum(r['feasible'] for r in rows)}/{len(rows)}; median gap "
        f"{np.nanmedian(gaps):.4%}, max gap {np.nanmax(gaps):.4%}"
    )
    return rows


def quick_and_refined(problem: Any, result: Any, bounds: dict, limit: float, seed: int) -> dict:
    """The Plan page's answer to a bound change: the quick answer (``core.planning.quick``) and
    its refinement (``replan`` from it, as ``ui.plan`` runs it in the background: ``limit``,
    then up to 30 s when it found no plan, 2 s when it left a gap above 1 %)."""
    import math

    from core.planning import replan
    from core.planning.quick import quick_replan

    t = time.perf_counter()
    new, q = quick_replan(problem, bounds, warm_start=result)
    out: dict[str, Any] = {"quick_seconds": time.perf_counter() - t}
    if q is None:  # the page re-plans on its run: the base's path
        return {
            **out,
            "quick_gap": math.nan,
            "quick_feasible": False,
            "refined_seconds": math.nan,
            "refined_gap": math.nan,
            "refined_status": "-",
        }
    out.update(quick_gap=q.gap, quick_feasible=q.feasible)
    t = time.perf_counter()
    _, ref = replan(new, {}, warm_start=q, time_limit=limit, rng=seed)
    if not ref.feasible or ref.gap > 0.01:
        start, more = (ref, 2.0) if ref.feasible else (q, 30.0)
        _, ref = replan(new, {}, warm_start=start, time_limit=more, rng=seed)
    return {**out, "refined_seconds": time.perf_counter() - t, "refined_gap": ref.gap,
            "refined_status": ref.status}  # fmt: skip


def summary_quick(rows: list[dict]) -> None:
    """One line: the quick answers' and their refinements' seconds and gaps."""
    import numpy as np

    got = [r for r in rows if r["quick_feasible"]]
    qs = np.array([r["quick_seconds"] for r in rows])
    qg = np.array([r["quick_gap"] for r in got], dtype=float)
    rs = np.array([r["refined_seconds"] for r in got], dtype=float)
    rg = np.array([r["refined_gap"] for r in got], dtype=float)
    if not got:
        print(f"# quick answers: none of {len(rows)}")
        return
    print(
        f"# quick answers: {len(got)}/{len(rows)} (else re-planned on the page's run), median "
        f"{np.median(qs) * 1000:.0f} ms, max {qs.max() * 1000:.0f} ms; gap median "
        f"{np.median(qg):.3%}, p90 {np.percentile(qg, 90):.3%}, max {qg.max():.3%}; refined "
        f"(background) median {np.median(rs):.2f} s, max {rs.max():.2f} s, gap median "
        f"{np.nanmedian(rg):.4%}, max {np.nanmax(rg):.4%}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--tiers",
        default="GS",
        help="comma-separated: GS, GM, GL (GS); add GS* GM* GL* for the many-pattern instances",
    )
    p.add_argument("--instances", default="", help="comma-separated names, e.g. GS1,GM6")
    p.add_argument("--seed", type=int, default=0, help="instance and planner seed (0)")
    p.add_argument("--time-limit", type=float, help="planner seconds (GS/GM 60, GL 600)")
    p.add_argument("--exact-time-limit", type=float, default=600.0, help="HiGHS seconds (600)")
    p.add_argument("--no-exact", action="store_true", help="skip HiGHS")
    p.add_argument("--no-greedy", action="store_true", help="skip the greedy fill")
    p.add_argument("--json", metavar="FILE", help="write every row as JSON")
    p.add_argument(
        "--dask",
        action="store_true",
        help="also run the Lagrangian planner on the Dask engine (LocalCluster), side by side",
    )
    p.add_argument("--workers", type=int, default=2, help="LocalCluster workers for --dask (2)")
    p.add_argument(
        "--chunk-items",
        type=int,
        help="items per chunk of both Lagrangian runs with --dask (as `plan --engine dask`: "
        "assignments / (4 x workers), at least 50000)",
    )
    p.add_argument("--replan", metavar="CALENDAR", help="measure warm re-plans of a calendar")
    p.add_argument("--data", metavar="CUSTOMERS", help="the customers for --replan")
    p.add_argument(
        "--quick",
        action="store_true",
        help="with --replan: also the Plan page's quick answer and its background refinement",
    )
    args = p.parse_args(argv)
    if args.replan:
        if not args.data:
            p.error("--replan needs --data CUSTOMERS")
        rows = replans(args.replan, args.data, args.seed, args.time_limit or 1.0, args.quick)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(to_jsonable({"replans": rows}), indent=2))
        return 0
    names = [n for n in args.instances.split(",") if n] or [
        n for n, spec in INSTANCES.items() if spec[4] in args.tiers.split(",")
    ]
    unknown = [n for n in names if n not in INSTANCES]
    if unknown:
        p.error(f"unknown instance(s) {unknown}; choose from {list(INSTANCES)}")
    with open("/proc/loadavg", encoding="ascii") as fh:
        load = fh.read().split()[:3]
    print(
        f"# {platform.node()} {os.cpu_count()} cpus, load {' '.join(load)}, python "
        f"{platform.python_version()}, seed {args.seed}",
        flush=True,
    )
    print(
        f"{'inst':5s} {'solver':10s} {'objective':>15s} {'upper bound':>15s} {'gap':>9s} "
        f"{'feasible':>8s} {'broken':>6s} {'seconds':>9s} {'peak MB':>9s}"
    )
    results: list[dict] = []
    notes: list[str] = []
    stack = contextlib.ExitStack()
    executor = None
    if args.dask:
        from core.pipeline.batch import dask_planner

        t = time.perf_counter()
        executor = stack.enter_context(dask_planner(None, args.workers))
        print(
            f"# Dask LocalCluster of {args.workers} single-threaded worker processes started in "
            f"{time.perf_counter() - t:.1f} s",
            flush=True,
        )
    with stack:
        run_instances(names, args, executor, results, notes)
    with open("/proc/loadavg", encoding="ascii") as fh:
        print(f"# load at the end: {' '.join(fh.read().split()[:3])}")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(to_jsonable({"rows": results, "verdicts": notes}), indent=2))
    return 0


def run_instances(
    names: list[str], args: argparse.Namespace, executor: Any, results: list, notes: list
) -> None:
    """Every solver on every instance, one after the other; rows into ``results``."""
    for name in names:
        n_c, n_a, elig, n_p, tier = INSTANCES[name]
        tier = tier.rstrip("*")
        t = time.perf_counter()
        with PeakMemory() as mem:
            problem = benchmark_instance(n_c, n_a, elig, n_p, rng=args.seed, name=name)
        info = problem.summary()
        print(
            f"# {name}: {info['customers']:,} customers x {info['activities']} activities, "
            f"{info['assignments']:,} eligible ({info['eligibility']:.1%}), {n_p} patterns; "
            f"generated in {time.perf_counter() - t:.1f} s, {mem.peak:.0f} MB",
            flush=True,
        )
        limit = args.time_limit or PLANNER_TIME[tier]
        rows: dict[str, dict] = {}
        lag_opts: dict[str, Any] = {}
        if executor is not None:
            lag_opts["chunk_items"] = chunk_items_for(
                info["assignments"], args.workers, args.chunk_items
            )
        rows["lagrangian"] = run_solver(problem, "lagrangian", limit, args.seed, **lag_opts)
        print_row(name, rows["lagrangian"])
        if executor is not None:
            rows["dask"] = run_solver(
                problem, "lagrangian", limit, args.seed, executor, "lag-dask", **lag_opts
            )
            print_row(name, rows["dask"])
            lag, dk = rows["lagrangian"], rows["dask"]
            same = (
                lag["objective"] == dk["objective"]
                and lag["upper_bound"] == dk["upper_bound"]
                and lag["chosen_sha"] == dk["chosen_sha"]
            )
            peaks = executor.worker_peak_mb()
            note = (
                f"{name}: Dask engine ({args.workers} workers, {dk['stats']['chunks']} chunks of "
                f"<= {lag_opts['chunk_items']:,} items) {dk['seconds']:.2f} s vs serial "
                f"{lag['seconds']:.2f} s ({dk['seconds'] / max(lag['seconds'], 1e-9):.2f}x); "
                f"plan and bound identical: {same}; workers' peak MB "
                f"{', '.join(f'{v:.0f}' for v in peaks.values())}"
            )
            notes.append(note)
            print("# " + note, flush=True)
            dk["workers_peak_mb"] = peaks
        if not args.no_exact:
            rows["exact"] = run_solver(
                problem, "exact", args.exact_time_limit, args.seed, duals=False
            )
            print_row(name, rows["exact"])
        if not args.no_greedy:
            rows["greedy"] = run_solver(problem, "greedy", limit, args.seed)
            print_row(name, rows["greedy"])
        for v in verdicts(name, tier, rows, limit):
            notes.append(v)
            print("# " + v, flush=True)
        for row in rows.values():
            results.append({"instance": name, **info, **row})


if __name__ == "__main__":
    sys.exit(main())
