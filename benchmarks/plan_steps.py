"""The Plan page's slider steps, as ``benchmarks/ui_latency.py`` moves them, without a browser.

One plan of the shipped calendar on the demo population, the call-centre budget set to
``--start``, then ``--steps`` steps of ``--step`` (negative: down; the benchmark: Home, then
ArrowRight). Per step, from the same shown plan, side by side: the quick answer without using
the freed room (``quick_replan(..., use_room=False)``, the previous plan as it was: ms and
proved gap) and the page's quick answer (``core.planning.quick``: ms, proved gap, how much
better its plan is than the first's); whether the page takes it as final (gap within
``core.common.budgets.FINAL_GAP``, the planner's ``target_gap``: no background re-plan), else
the background refinement as ``ui.plan`` runs it (ms, gap, how much better its plan is than the
page's quick answer). The next step starts from what the page would show. The last lines sum it
up.

Usage::

    .venv/bin/python benchmarks/plan_steps.py                      # 0 -> 2,000 (the benchmark)
    .venv/bin/python benchmarks/plan_steps.py --start 6000         # above what the plan spends
    .venv/bin/python benchmarks/plan_steps.py --start 6000 --step -100   # the budget lowered
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from core.cli.plan import problem_from_calendar
    from core.common.budgets import (
        FINAL_GAP,
        FIRST_SECONDS,
        REFINE_GAP,
        REFINE_MORE_SECONDS,
        REPLAN_SECONDS,
    )
    from core.planning import replan, solve
    from core.planning.quick import quick_replan

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calendar", default=str(ROOT / "data" / "calendars" / "quarter.toml"))
    ap.add_argument("--data", default=str(ROOT / "data" / "demo" / "customers.parquet"))
    ap.add_argument("--bound", default="call-centre budget")
    ap.add_argument("--start", type=float, default=0.0)
    ap.add_argument("--step", type=float, default=100.0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ns = types.SimpleNamespace(
        data=args.data, catalog=None, seed=args.seed, model_preset="fast", models=None
    )
    problem = problem_from_calendar(args.calendar, ns)
    first = solve(problem, "lagrangian", time_limit=FIRST_SECONDS, rng=args.seed)
    cur, res = replan(
        problem, {args.bound: args.start}, warm_start=first, time_limit=FIRST_SECONDS, rng=0
    )
    value = args.start
    print(f"# {args.bound} from {value:,.0f}: plan {res.objective:,.0f}, gap {res.gap:.4%}")
    print("# step  bound | previous plan: ms gap | quick answer: ms gap plan | refinement")
    seen: dict[str, list[float]] = {"old_ms": [], "old_gap": [], "ms": [], "gap": [], "up": []}
    finals = [0, 0]  # quick answers final without / with the freed room used
    for i in range(args.steps):
        value += args.step
        t = time.perf_counter()
        _, old = quick_replan(cur, {args.bound: value}, warm_start=res, use_room=False)
        t_old = time.perf_counter() - t
        t = time.perf_counter()
        new, quick = quick_replan(cur, {args.bound: value}, warm_start=res)
        tq = time.perf_counter() - t
        if quick is None or old is None:
            cur, res = replan(cur, {args.bound: value}, warm_start=res, time_limit=REPLAN_SECONDS)
            print(f"{i:3d} {value:8,.0f}  no quick answer: re-planned on the page's run")
            continue
        gain = (quick.objective - old.objective) / abs(old.objective)
        seen["old_ms"].append(t_old)
        seen["old_gap"].append(old.gap)
        seen["ms"].append(tq)
        seen["gap"].append(quick.gap)
        finals[0] += old.gap <= FINAL_GAP
        finals[1] += quick.gap <= FINAL_GAP
        line = (
            f"{i:3d} {value:8,.0f} | {t_old * 1e3:4.0f} ms {old.gap:.4%} | "
            f"{tq * 1e3:4.0f} ms {quick.gap:.4%} {gain:+.3%}"
        )
        if quick.gap <= FINAL_GAP:
            print(f"{line} | final (no refinement)", flush=True)
            cur, res = new, quick
            continue
        t = time.perf_counter()
        ref_problem, ref = replan(new, {}, warm_start=quick, time_limit=REPLAN_SECONDS, rng=0)
        if not ref.feasible or ref.gap > REFINE_GAP:
            start, more = (ref, REFINE_MORE_SECONDS) if ref.feasible else (quick, FIRST_SECONDS)
            ref_problem, ref = replan(new, {}, warm_start=start, time_limit=more, rng=0)
        tr = time.perf_counter() - t
        better = (ref.objective - quick.objective) / abs(quick.objective)
        seen["up"].append(better)
        print(
            f"{line} | refined {tr * 1e3:5.0f} ms gap {ref.gap:.4%}, plan {better:+.3%}",
            flush=True,
        )
        cur, res = ref_problem, ref
    if seen["ms"]:
        print(
            f"# previous plan: median {np.median(seen['old_ms']) * 1e3:.0f} ms, gap median "
            f"{np.median(seen['old_gap']):.4%}, max {max(seen['old_gap']):.4%}, final "
            f"{finals[0]}/{len(seen['ms'])}"
        )
        print(
            f"# quick answer:  median {np.median(seen['ms']) * 1e3:.0f} ms (max "
            f"{max(seen['ms']) * 1e3:.0f}), gap median {np.median(seen['gap']):.4%}, max "
            f"{max(seen['gap']):.4%}, final {finals[1]}/{len(seen['ms'])}"
        )
    if seen["up"]:
        print(
            f"# refinements: {len(seen['up'])}, plan above the quick answer by median "
            f"{np.median(seen['up']):+.3%}, max {max(seen['up']):+.3%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
