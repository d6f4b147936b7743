"""``python -m core plan INSTANCE --out plan.csv --report report.json``: the campaign plan.

INSTANCE is a folder (or ``.zip``) with the public benchmark's four tables, or a campaign
calendar ``.toml`` with ``--data CUSTOMERS``: then the expected values and acceptance
probabilities come from the pipeline (counterfactual CLTV gain of each first offer times the
acceptance models' probability; see docs/planning.md).

``--windows CONTACTS`` (with a calendar) narrows each customer's offers to their timing
windows: CONTACTS is a contact plan (``customer_id, product, date``; what ``python -m core timing
--journeys J --contacts CONTACTS`` writes), and a product may be offered by an activity only
from ``--window-before`` days (7) before the customer's date for it to ``--window-after`` days
(21) after. The calendar's day 1 is ``--calendar-start``, by default the earliest date in the
file (the first suggested contact; never "today", which would change the plan from one day to
the next). The report's ``windows`` says so and how many assignments the windows removed.

``--engine dask`` runs the Lagrangian planner's per-customer subproblems on a Dask cluster
(``--scheduler ADDRESS``, or a LocalCluster of ``--workers`` processes); the plan and its figures
are those of the local engine.

Exit codes: 0 a plan that keeps every hard constraint; 2 bad input or a proved-infeasible
instance (the least-violation plan and the report are still written); 1 no feasible plan found
within the time limit (not proved impossible).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.cli._util import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    date_option,
    positive_int,
    print_json,
    write_json,
)
from core.common.errors import CJOError
from core.ops.export import write_export
from core.planning import (
    SOLVERS,
    TYPES,
    PlanningProblem,
    build_problem,
    load_calendar,
    read_instance,
    solve,
    window_removals,
)
from core.planning.problem import type_code
from core.planning.solve import pick_solver

#: Where ``--engine`` runs the Lagrangian planner's per-customer subproblems.
ENGINES = ("local", "dask")
#: Smallest chunk ``--engine dask`` cuts by default (eligible assignments): smaller tasks cost
#: more in scheduling than they compute.
MIN_DASK_CHUNK = 50_000


def chunk_items_for(n_assignments: int, workers: int, given: int | None) -> int | None:
    """Items per chunk: ``given``, else on Dask (``workers`` > 0) about four chunks per worker
    (at least :data:`MIN_DASK_CHUNK`), else None (the planner's default)."""
    if given is not None:
        return int(given)
    if workers <= 0:
        return None
    return max(-(-int(n_assignments) // (4 * workers)), MIN_DASK_CHUNK)


def parse_soft(items: Sequence[str] | None) -> dict[str, float]:
    """``["Minimum sales=50", "budget=2"]`` -> ``{"Minimum sales": 50.0, "Budget": 2.0}``."""
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        code = type_code(name.replace("_", " ").replace("-", " "))
        if not sep or code < 0:
            raise CJOError(
                f"--soft {item!r}: write TYPE=PENALTY with TYPE one of {', '.join(TYPES)} "
                "(e.g. --soft 'Minimum sales=50')."
            )
        try:
            penalty = float(value)
        except ValueError:
            raise CJOError(f"--soft {item!r}: the penalty {value!r} is not a number.") from None
        if not (np.isfinite(penalty) and penalty > 0):
            raise CJOError(f"--soft {item!r}: the penalty must be a number > 0.")
        out[TYPES[code]] = penalty
    return out


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what native code prints on stdout (HiGHS) to stderr, keeping stdout for JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@dataclass(frozen=True)
class CalendarProblem:
    """A calendar's problem on ``--data`` and, with ``--windows``, what the windows did."""

    problem: PlanningProblem
    windows: dict[str, Any] | None = None


def read_contacts(path: str, *, before: int = 7, after: int = 21) -> pd.DataFrame:
    """The contact plan at ``path`` (``customer_id, product, date``), checked before any model
    is fitted: a missing column, a date that does not parse or a negative ``before``/``after``
    is a :class:`CJOError` (exit 2)."""
    from core.data.io import read_table
    from core.models.timing import read_contact_plan

    for name, days in (("--window-before", before), ("--window-after", after)):
        if days < 0:
            raise CJOError(f"{name} {days}: give a number of days >= 0.")
    raw, _ = read_table(path)
    table = read_contact_plan(raw, name=f"--windows {Path(path).name}")
    table.attrs["path"] = str(path)
    return table


def read_windows(
    contacts: pd.DataFrame,
    customer_ids: np.ndarray,
    product_keys: Sequence[str],
    *,
    horizon: int,
    calendar_start: str | None = None,
    before: int = 7,
    after: int = 21,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The contact windows (int ``[n, P, 2]``) of a contact plan (:func:`read_contacts`) and
    what was read (the report's ``windows``).

    Raises a :class:`CJOError` (exit 2) for a product outside ``product_keys`` or a plan none
    of whose customers are in ``customer_ids``.
    """
    from core.models.timing import contact_windows, read_contact_plan

    path = str(contacts.attrs.get("path", "contact plan"))
    name = f"--windows {Path(path).name}"
    table = read_contact_plan(contacts, products=product_keys, name=name)
    ids = pd.Index(pd.Series(np.asarray(customer_ids, dtype=object)).astype(str))
    known = table["customer_id"].isin(ids)
    if not known.any():
        raise CJOError(
            f"{name}: none of its {table['customer_id'].nunique():,} customer ids (e.g. "
            f"{table['customer_id'].iloc[0]!r}) is a customer of --data. Fix: give the contact "
            "plan of these customers (the ids of 'Customer ID')."
        )
    start = (
        date_option(calendar_start, "--calendar-start")
        if calendar_start
        else table["date"].min().normalize()
    )
    windows = contact_windows(
        table,
        customer_ids,
        product_keys,
        calendar_start=start,
        before_days=before,
        after_days=after,
        horizon_days=horizon,
    )
    info = {
        "used": True,
        "file": path,
        "rows": int(len(table)),
        "rows_unknown_customer": int((~known).sum()),
        "customers_with_dates": int(table.loc[known, "customer_id"].nunique()),
        "calendar_start": start.strftime("%Y-%m-%d"),
        "calendar_start_from": "--calendar-start" if calendar_start else "earliest date",
        "before_days": int(before),
        "after_days": int(after),
    }
    return windows, info


def problem_from_calendar(path: str, args: Any) -> PlanningProblem:
    """A calendar with the customers of ``--data``: values and acceptance from the pipeline."""
    return calendar_problem(path, args).problem


def calendar_problem(path: str, args: Any) -> CalendarProblem:
    """:func:`problem_from_calendar` with, given ``args.windows``, the customers' contact
    windows (see the module docstring) and the report's ``windows`` entry."""
    from core.data.io import load
    from core.opportunity.components import offerable_now
    from core.pipeline.run import Settings, components_for, fit_context, propensity_for

    if not args.data:
        raise CJOError(
            f"{path} is a campaign calendar: give the customers with --data CUSTOMERS "
            "(CSV or Parquet), or pass a folder with the four benchmark tables."
        )
    hint = load_calendar(path)
    contacts = None
    if getattr(args, "windows", None):  # bad windows input fails before any model is fitted
        contacts = read_contacts(args.windows, before=args.window_before, after=args.window_after)
        if args.calendar_start:
            date_option(args.calendar_start, "--calendar-start")
    catalog = args.catalog or hint.catalog or "full"
    data = load(args.data)
    frame = data.frame
    settings = Settings(
        catalog=catalog,
        estimator="counterfactual",
        propensity=True,
        seed=args.seed,
        model_preset=args.model_preset,
    )
    models = acceptance = None
    if args.models:
        from core.models.train import load_or_train

        trained = load_or_train(
            frame,
            args.models,
            data.sha256,
            catalog,
            preset=args.model_preset,
            random_state=args.seed,
        )
        models, acceptance = trained.key_factors, trained.acceptance
    ctx = fit_context(frame, settings, models=models, acceptance=acceptance, with_acceptance=True)
    comps = components_for(frame, settings, ctx)
    accept = propensity_for(frame, ctx).astype(np.float64)
    gain = comps.raw()[:, 0, :, 0].astype(np.float64)  # CLTV gain of each first offer
    calendar = load_calendar(path, products=comps.product_keys)
    ids = np.asarray(comps.customer_ids)
    eligible = offerable_now(ctx.catalog, comps.held)
    windows = info = None
    if contacts is not None:
        windows, info = read_windows(
            contacts,
            ids,
            comps.product_keys,
            horizon=calendar.horizon,
            calendar_start=args.calendar_start,
            before=args.window_before,
            after=args.window_after,
        )
    problem = build_problem(
        calendar, ids, comps.product_keys, gain * accept, accept, eligible=eligible, windows=windows
    )
    if windows is not None and info is not None:
        removed = window_removals(calendar, comps.product_keys, windows, eligible=eligible)
        info.update(
            assignments_removed=removed,
            assignments_without_windows=problem.n_assignments + removed,
            assignments=problem.n_assignments,
        )
    return CalendarProblem(problem, info)


def check_engine(args: Any) -> None:
    """Refuse engine options that cannot work together, before any work is done."""
    if args.engine != "dask":
        if args.scheduler:
            raise CJOError(
                f"--scheduler {args.scheduler}: the scheduler is for --engine dask; add it."
            )
        return
    if args.solver in ("exact", "greedy"):
        raise CJOError(
            f"--engine dask runs the Lagrangian planner's per-customer subproblems on a cluster; "
            f"--solver {args.solver} runs in this process. Fix: use --solver lagrangian (or "
            "auto) with --engine dask, or drop --engine dask."
        )
    if args.scheduler:
        from core.pipeline.batch.dask import check_scheduler_address

        check_scheduler_address(args.scheduler)


@contextlib.contextmanager
def _executor(args: Any) -> Iterator[Any]:
    """None (this process) for the local engine; a Dask executor, closed on exit."""
    if args.engine != "dask":
        yield None
        return
    from core.pipeline.batch.plan_engine import dask_planner

    with dask_planner(args.scheduler, args.workers) as executor:
        yield executor


def _cmd_plan(args: Any) -> int:
    check_engine(args)
    instance = Path(args.instance)
    windows: dict[str, Any] | None = None
    if not args.windows:
        given = [
            name
            for name, value, default in (
                ("--calendar-start", args.calendar_start, None),
                ("--window-before", args.window_before, 7),
                ("--window-after", args.window_after, 21),
            )
            if value != default
        ]
        if given:
            raise CJOError(
                f"{', '.join(given)} without --windows: give the contact plan with --windows "
                "CONTACTS, or drop them."
            )
    if instance.suffix.lower() == ".toml":
        built = calendar_problem(str(instance), args)
        problem, windows = built.problem, built.windows
    else:
        for option, value in (("--data", args.data), ("--windows", args.windows)):
            if value:
                raise CJOError(
                    f"{option} is for a campaign calendar (.toml); the four tables already hold "
                    "the customers' expected profits."
                )
        problem = read_instance(instance)
    soft = parse_soft(args.soft)
    if soft:
        problem = problem.with_soft(soft)
    if args.time_limit <= 0:
        raise CJOError(f"--time-limit {args.time_limit}: give a number of seconds > 0.")
    solver = args.solver
    chunk_items: int | None = None
    if args.engine == "dask" and solver == "auto":
        solver = "lagrangian"  # the only planner whose subproblems run on the cluster
    engine = "dask" if args.engine == "dask" else "local"
    workers_peak: dict[str, float] = {}
    with stdout_to_stderr(), _executor(args) as executor:
        runs = solver if solver != "auto" else pick_solver(problem, args.time_limit)
        workers = executor.n_workers if executor is not None else 0
        chunk_items = (
            chunk_items_for(problem.n_assignments, workers, args.chunk_items)
            if runs == "lagrangian"
            else None
        )
        options = {"chunk_items": chunk_items} if chunk_items else None
        result = solve(
            problem,
            solver,
            time_limit=args.time_limit,
            rng=args.seed,
            executor=executor,
            options=options,
        )
        if executor is not None:
            workers_peak = executor.worker_peak_mb()
    written = write_export(result.plan_table(problem), args.out)
    report = result.report()
    report["engine"] = engine
    report["chunk_items"] = chunk_items
    if engine == "dask":
        report["dask"] = {
            "scheduler": args.scheduler,
            "workers": workers,
            "peak_memory_mb_workers": workers_peak,
        }
    report["instance"] = problem.summary()
    report["windows"] = windows or {"used": False}
    report["seed"] = args.seed
    report["time_limit"] = args.time_limit
    report["plan"] = {
        "path": str(written.path),
        "rows": written.row_count,
        "sha256": written.sha256,
    }
    if args.report:
        write_json(args.report, report)
    summary = {
        k: report[k]
        for k in (
            "objective",
            "upper_bound",
            "gap",
            "feasible",
            "solver",
            "engine",
            "seconds",
            "status",
        )
    }
    print_json({**summary, "out": str(written.path), "report": args.report})
    if result.feasible:
        return EXIT_OK
    print(f"error: {result.message}", file=sys.stderr)
    return EXIT_USAGE if result.status == "infeasible" else EXIT_ERROR


def add_cli(subparsers: Any) -> None:
    """Register ``plan INSTANCE --out FILE [--report FILE] ...``."""
    p = subparsers.add_parser(
        "plan",
        help="plan a whole campaign under budgets, caps, contact rules and conflicts",
        description="Choose which customers get which activity so that expected profit is "
        "largest while every budget, minimum and maximum, contact limit and conflict rule "
        "holds; report the plan's value, a proved upper bound, the gap and the shadow price of "
        "every constraint. INSTANCE is a folder (or .zip) with table1.csv .. table4.csv in the "
        "public customer-assignment benchmark's layout, or a campaign calendar .toml with "
        "--data. Writes one row per chosen assignment (Customer,Activity) to --out. Exits 0 "
        "with a feasible plan, 2 on bad input or a proved-infeasible instance (the "
        "least-violation plan and the report are still written), 1 when no feasible plan was "
        "found in time. --windows CONTACTS (with a calendar) offers each product only inside "
        "each customer's timing window around their contact date. --engine dask runs the "
        "Lagrangian planner's per-customer subproblems on a "
        "Dask cluster (--scheduler ADDRESS, or a LocalCluster of --workers processes). See "
        "docs/planning.md.",
    )
    p.add_argument("instance", metavar="INSTANCE", help="tables folder/.zip or calendar .toml")
    p.add_argument("--out", required=True, metavar="FILE", help="plan .csv (or .parquet)")
    p.add_argument("--report", metavar="FILE", help="write the JSON report here")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S", help="seconds (60)")
    p.add_argument("--solver", default="auto", choices=[s for s in SOLVERS], help="(auto)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--soft",
        action="append",
        metavar="TYPE=PENALTY",
        help="make every constraint of TYPE soft at PENALTY per unit of violation, "
        "repeatable (e.g. --soft 'Minimum sales=50')",
    )
    p.add_argument("--data", metavar="CUSTOMERS", help="customers (with a calendar .toml)")
    p.add_argument(
        "--catalog", metavar="NAME", help="catalog for --data (the calendar's, else full)"
    )
    p.add_argument("--models", metavar="DIR", help="trusted models folder (load or train)")
    p.add_argument("--model-preset", default="fast", choices=("accurate", "fast"), help="(fast)")
    w = p.add_argument_group("contact windows (with a calendar)")
    w.add_argument(
        "--windows",
        metavar="CONTACTS",
        help="contact plan (.csv or .parquet: customer_id, product, date; what `timing "
        "--journeys J --contacts FILE` writes): an activity may offer a customer a product only "
        "inside the window around the customer's date for it",
    )
    w.add_argument(
        "--calendar-start",
        metavar="DATE",
        help="the date of the calendar's day 1 (default: the earliest date in --windows)",
    )
    w.add_argument(
        "--window-before",
        type=int,
        default=7,
        metavar="DAYS",
        help="days before a contact date its window opens (7)",
    )
    w.add_argument(
        "--window-after",
        type=int,
        default=21,
        metavar="DAYS",
        help="days after a contact date its window closes (21)",
    )
    g = p.add_argument_group("cluster")
    g.add_argument(
        "--engine",
        default="local",
        choices=ENGINES,
        help="where the Lagrangian planner's per-customer subproblems run: this process "
        "(local) or a Dask cluster (dask; --solver auto then means lagrangian)",
    )
    g.add_argument(
        "--scheduler", metavar="ADDRESS", help="existing Dask scheduler, e.g. tcp://host:8786"
    )
    g.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        help="LocalCluster worker processes when no --scheduler is given (2)",
    )
    g.add_argument(
        "--chunk-items",
        type=positive_int,
        metavar="N",
        help="eligible assignments per chunk of customers' subproblems, the unit of work of a "
        "Dask worker (local: 2000000; dask: assignments / (4 x workers), at least 50000); "
        "both engines give the same plan for the same N",
    )
    p.set_defaults(func=_cmd_plan)
