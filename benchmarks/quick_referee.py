"""The Plan page's quick answer (``core.planning.quick``) refereed by HiGHS on generated instances.

Per seed: an instance in the public benchmark's shape, its Lagrangian plan, then every hard
maximum of the coupling rows raised and lowered by ``--move`` (one at a time). For each quick
answer: feasible (the independent checker), its value as a share of HiGHS's optimum for the new
bounds (``core.planning.exact``), its proved gap (to its own dual bound) and whether that bound
is above HiGHS's optimum (it must be); beside it, the share of the quick answer without the
freed room's use (``use_room=False``: the previous plan, less its drops). Seeds are not ones the quick answer was tuned on.

Usage::

    .venv/bin/python benchmarks/quick_referee.py                          # seeds 21 22 23
    .venv/bin/python benchmarks/quick_referee.py --seeds 31 32 --customers 3000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from core.planning import benchmark_instance, solve
    from core.planning.quick import quick_replan

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[21, 22, 23])
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--activities", type=int, default=20)
    ap.add_argument("--move", type=float, default=0.1, help="relative move of each bound")
    ap.add_argument("--time-limit", type=float, default=60.0, help="HiGHS seconds per problem")
    args = ap.parse_args(argv)
    shares, olds, gaps, bad = [], [], [], 0
    print(
        "seed  row  move  quick_ms  feasible  share_of_highs  proved_gap  bound>=opt  without_room"
    )
    for seed in args.seeds:
        problem = benchmark_instance(args.customers, args.activities, 0.1, 20, rng=seed)
        first = solve(problem, "lagrangian", time_limit=60, rng=0)
        cons = problem.constraints
        for k in problem.coupling:
            if cons.is_min[k] or cons.soft[k]:
                continue
            for factor in (1 + args.move, 1 - args.move):
                t = time.perf_counter()
                new, quick = quick_replan(
                    problem, {int(k): float(cons.bound[k]) * factor}, warm_start=first
                )
                ms = 1000 * (time.perf_counter() - t)
                if quick is None:
                    print(f"{seed:4d} {k:4d} {factor:5.2f}  no quick answer")
                    continue
                exact = solve(new, "exact", time_limit=args.time_limit)
                share = quick.objective / exact.objective
                _, old = quick_replan(
                    problem, {int(k): float(cons.bound[k]) * factor}, warm_start=first,
                    use_room=False,
                )  # fmt: skip
                olds.append(old.objective / exact.objective if old is not None else float("nan"))
                above = quick.upper_bound >= exact.objective - 1e-6 * abs(exact.objective)
                bad += int(not above or not quick.feasible)
                shares.append(share)
                gaps.append(quick.gap)
                print(
                    f"{seed:4d} {k:4d} {factor:5.2f}  {ms:8.1f}  {quick.feasible!s:8}  "
                    f"{share:14.4%}  {quick.gap:10.4%}  {above!s:10}  {olds[-1]:12.4%}",
                    flush=True,
                )
    if shares:
        print(
            f"# {len(shares)} quick answers: share of HiGHS's optimum median "
            f"{statistics.median(shares):.4%}, min {min(shares):.4%} (without the room: median "
            f"{statistics.median(olds):.4%}, min {min(olds):.4%}); proved gap median "
            f"{statistics.median(gaps):.4%}, max {max(gaps):.4%}; infeasible or bound below "
            f"the optimum: {bad}"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
