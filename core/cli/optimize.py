"""``python -m core optimize DATA --out FILE`` and ``rerun RUN_ID DATA``: journeys in batch."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.cli._util import (
    CATALOG_HELP,
    EXIT_ERROR,
    EXIT_OK,
    add_catalog,
    add_command,
    add_data,
    add_mapping,
    add_model_preset,
    add_models_dir,
    add_quiet,
    add_seed,
    catalog_of,
)
from core.cli._util import Progress as Bar
from core.cli._util import positive_int as _positive
from core.common.errors import CJOError
from core.opportunity.components import ESTIMATORS
from core.ops.store import Store, check_reproducible
from core.pipeline import (
    DEFAULT_BASELINES,
    RUN_KEY,
    Settings,
    parse_levers_text,
    parse_pairs,
    parse_weights_text,
    split_run_params,
)
from core.pipeline.batch import BatchError, BatchOptions, plan, run_batch
from core.pipeline.settings import RISKS
from core.solvers import SOLVERS
from core.solvers.schedules import SCHEDULES

_RERUN_HELP = "re-execute a saved run and check its journeys byte for byte"
_RERUN_DESCRIPTION = (
    "Re-run the run RUN_ID recorded by `optimize --save-run` on DATA with the "
    "saved settings and seed, and compare the journeys' sha256 with the saved one. Says "
    "whether the data file changed. Exits 0 when identical, 1 when not."
)

_OPTIMIZE_HELP = "optimize every customer's journey and write journeys + report"
_OPTIMIZE_DESCRIPTION = (
    "Load DATA chunk by chunk, estimate the opportunity of every offer, "
    "optimize each customer's journey and write one row per customer and step to --out "
    "(.csv, .parquet, or a directory of part-NNNNN.parquet files when --out has no suffix; "
    "CSV cells are neutralised against formula injection). The models are fitted once on a "
    "seeded sample of --train-rows customers, so the output does not depend on --chunk-rows "
    "or the engine. --engine dask runs the chunks on a Dask cluster (--scheduler ADDRESS, "
    "or a LocalCluster of --workers processes). --report writes n_customers, solver, "
    "schedule, seconds_optimize, seconds_total, baselines and, with --verify exact, "
    "share_optimal / mean_gap / max_gap, estimator_notes and data_notes. See docs/batch.md."
)


def _schedule_params(items: Sequence[str] | None) -> dict[str, float]:
    return parse_pairs(items or (), "--schedule-param", "alpha=0.95")


def settings_from_args(args: Any) -> Settings:
    """:class:`Settings` from the ``optimize`` command's options."""
    return Settings(
        catalog=catalog_of(args),
        estimator=args.estimator,
        weights=parse_weights_text(args.weights),
        levers=parse_levers_text(args.levers or ""),
        propensity=args.propensity,
        aggregation=args.aggregation,
        solver=args.solver,
        schedule=args.schedule,
        schedule_params=_schedule_params(args.schedule_param),
        t0=args.t0,
        iters=args.iters,
        restarts=args.restarts,
        seed=args.seed,
        model_preset=args.model_preset,
        refine=args.refine,
        risk=args.risk,
        risk_level=args.risk_level,
        confounding=args.confounding,
        campaign=args.campaign or "",
    )


def _cmd_optimize(args: Any) -> int:

    settings = settings_from_args(args)
    options = BatchOptions(
        chunk_rows=args.chunk_rows,
        train_rows=args.train_rows,
        scale_rows=args.scale_rows,
        engine=args.engine,
        scheduler=args.scheduler,
        workers=args.workers,
        verify=args.verify,
        baselines=tuple(b for b in (args.baselines or "").split(",") if b),
        bom=args.bom,
        mapping=args.mapping,
        catalog=args.catalog,
    )
    bar = None if args.quiet else Bar(f"optimize ({options.engine})")
    try:
        outcome = run_batch(
            args.data, args.out, settings, options, models_dir=args.models, progress=bar
        )
    except BatchError as exc:
        if not exc.interrupted:
            raise
        print(f"\ninterrupted: {exc}", file=sys.stderr)
        return 130
    rep, written = outcome.report, outcome.written
    for note in rep.get("data_notes", ()):  # what the loader decided, as the Data page says
        print(f"note: {note}", file=sys.stderr)
    if args.save_run:
        with Store() as store:
            store.save_scenario(args.save_run, settings.to_dict())
            saved = store.record_run(
                args.save_run,
                seed=settings.seed,
                data_hash=outcome.plan.sha256,
                journeys_sha256=written.sha256,
                params={**settings.to_dict(), RUN_KEY: _run_options(options, written.format)},
                summary={
                    k: rep.get(k) for k in ("n_customers", "total_opportunity", "share_with_offer")
                },
            )
            store.record_export(saved, written.format, written.row_count, written.sha256)
            rep["run_id"] = saved.id
    text = json.dumps(rep, indent=2, default=float)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(text + "\n", encoding="utf-8")
    keys = ("n_customers", "solver", "engine", "n_chunks", "seconds_optimize", "seconds_total")
    summary = {k: rep.get(k) for k in (*keys, "rows")}
    if "share_optimal" in rep:
        summary["share_optimal"] = rep["share_optimal"]
    print(json.dumps({**summary, "out": str(written.path), "report": args.report}))
    return EXIT_OK


def _run_options(options: Any, fmt: str) -> dict[str, Any]:
    """What besides the Settings decides a run's bytes (chunking and engine do not)."""
    return {
        "train_rows": options.train_rows,
        "scale_rows": options.scale_rows,
        "bom": options.bom,
        "format": fmt,
        "baselines": [],
    }


def _cmd_rerun(args: Any) -> int:

    with Store() as store:
        run_ = store.get_run(args.run_id)
    if run_ is None:
        raise CJOError(f"run {args.run_id}: no such run in the store (see JOURNEY_DB_URL).")
    settings, opts = split_run_params(run_.params)
    if not opts:
        raise CJOError(
            f"run {run_.id} was recorded by the dashboard; re-check it on the Export & "
            "scenarios page (it re-runs the journeys in the app)."
        )
    options = BatchOptions(
        train_rows=int(opts.get("train_rows", 50_000)),
        scale_rows=int(opts.get("scale_rows", 10_000)),
        bom=bool(opts.get("bom", False)),
        baselines=(),
        mapping=args.mapping,
        catalog=settings.catalog,
    )
    data_sha = plan(args.data, options.chunk_rows).sha256
    check = check_reproducible(run_, data_sha)
    fmt = str(opts.get("format", "csv"))
    with tempfile.TemporaryDirectory(prefix="cjo-rerun-") as tmp:
        out = Path(args.out) if args.out else Path(tmp) / f"journeys.{fmt}"
        written = run_batch(args.data, out, settings, options, models_dir=args.models).written
    identical = written.sha256 == run_.journeys_sha256
    print(
        json.dumps(
            {
                "run_id": run_.id,
                "scenario": run_.scenario_name,
                "identical": identical,
                "data_changed": check.data_changed,
                "journeys_sha256": written.sha256,
                "saved_sha256": run_.journeys_sha256,
                "message": check.message
                if not check.ok
                else "same data, code and libraries as the saved run",
            },
            indent=2,
        )
    )
    return EXIT_OK if identical else EXIT_ERROR


def add_cli(subparsers: Any) -> None:
    """Register ``optimize DATA --out FILE [--report FILE] ...`` and ``rerun RUN_ID DATA``."""
    p = add_command(subparsers, "rerun", _cmd_rerun, _RERUN_HELP, _RERUN_DESCRIPTION)
    p.add_argument("run_id", type=int, metavar="RUN_ID")
    add_data(p, "the customer data the run used")
    p.add_argument("--out", metavar="FILE", help="also keep the re-run's journeys here")
    add_models_dir(p)
    add_mapping(p)

    p = add_command(subparsers, "optimize", _cmd_optimize, _OPTIMIZE_HELP, _OPTIMIZE_DESCRIPTION)
    add_data(p, "CSV, Parquet or Excel (.xlsx) file, or a directory of Parquet files")
    p.add_argument(
        "--out",
        required=True,
        metavar="OUT",
        help="journeys .csv, .parquet or .xlsx, or a directory (partitioned Parquet)",
    )
    p.add_argument("--report", metavar="FILE", help="write the JSON report here")
    add_catalog(p, CATALOG_HELP, metavar="seed|full|FILE", default=None)
    p.add_argument(
        "--weights",
        default="cltv=1,churn=1,satisfaction=1",
        help="factor weights (cltv=1,churn=1,satisfaction=1)",
    )
    p.add_argument("--levers", default="", help="product multipliers, e.g. tech_support=1.5")
    p.add_argument(
        "--estimator",
        default="dr",
        choices=ESTIMATORS,
        help="(dr); campaign: learn acceptance and effects from a randomized campaign (--campaign)",
    )
    p.add_argument(
        "--campaign",
        metavar="LOG",
        help="campaign log of --estimator campaign (CSV or Parquet: arm, propensity, accepted, "
        "revenue, churned, Customer ID; e.g. data/demo/customers.campaigns.parquet)",
    )
    p.add_argument(
        "--risk",
        default="lcb",
        choices=RISKS,
        help="lcb (default): maximise the lower confidence bound and never offer a step whose "
        "upper bound is below zero (estimators with standard errors: dr); none: the estimate",
    )
    p.add_argument(
        "--risk-level",
        type=float,
        default=0.9,
        metavar="LEVEL",
        help="one-sided confidence level of the bounds, in [0.5, 1) (0.9)",
    )
    p.add_argument(
        "--confounding",
        type=float,
        default=0.0,
        metavar="K",
        help="with --risk lcb: allow for traits the data does not record confounding the effects "
        "this many times as strongly as the recorded features (>= 0; 0, the default: no "
        "allowance; the dr estimator measures the recorded ones)",
    )
    p.add_argument("--propensity", action="store_true", help="weight offers by acceptance")
    p.add_argument("--aggregation", default="sum", choices=("sum", "mean", "max"))
    p.add_argument("--solver", default="anneal", choices=SOLVERS, help="(anneal)")
    p.add_argument("--schedule", default="geometric", choices=SCHEDULES, help="(geometric)")
    p.add_argument(
        "--schedule-param",
        action="append",
        metavar="NAME=VALUE",
        help="schedule parameter, repeatable (e.g. alpha=0.95)",
    )
    p.add_argument("--t0", default="auto", help="initial temperature: auto or a number")
    p.add_argument("--iters", type=int, default=250, help="iterations per run (250)")
    p.add_argument("--restarts", type=int, default=1, help="reheating restarts (1)")
    p.add_argument(
        "--no-refine",
        dest="refine",
        action="store_false",
        help="anneal with the temperature schedule alone: no beam start, pool search or polish",
    )
    p.add_argument("--verify", choices=("exact",), help="compare with the exact optimum")
    p.add_argument(
        "--baselines",
        default=",".join(DEFAULT_BASELINES),
        help="comma-separated baselines to compare with (add seed-style for the study's SA)",
    )
    add_models_dir(p)
    add_model_preset(
        p, "counterfactual models: accurate (default) or fast (60-round boosting, for millions)"
    )
    add_mapping(p)
    p.add_argument("--bom", action="store_true", help="UTF-8 BOM in the CSV (Excel)")
    p.add_argument("--save-run", metavar="SCENARIO", help="record the run in the store")
    add_seed(p, "random seed (0)")
    add_quiet(p)
    g = p.add_argument_group("batch and cluster")
    g.add_argument("--engine", default="local", choices=("local", "dask"), help="(local)")
    g.add_argument(
        "--scheduler", metavar="ADDRESS", help="existing Dask scheduler, e.g. tcp://host:8786"
    )
    g.add_argument("--workers", type=_positive, default=2, help="LocalCluster worker processes (2)")
    g.add_argument(
        "--chunk-rows", type=_positive, default=100_000, help="customers per chunk (100000)"
    )
    g.add_argument(
        "--train-rows",
        type=_positive,
        default=50_000,
        help="seeded sample the models are fitted on (50000)",
    )
    g.add_argument(
        "--scale-rows",
        type=_positive,
        default=10_000,
        help="customers of that sample that fix the normalisation scale (10000)",
    )
