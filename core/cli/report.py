"""``python -m core report DATA --out report.html [--pdf report.pdf]``: the executive report."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.cli._util import (
    EXIT_OK,
    Progress,
    add_catalog,
    add_command,
    add_data,
    add_mapping,
    add_model_preset,
    add_models_dir,
    add_quiet,
    add_seed,
)
from core.common.provenance import ROOT
from core.insights.overview import HORIZONS
from core.opportunity.components import ESTIMATORS
from core.pipeline import Settings, parse_levers_text, parse_weights_text
from core.pipeline.settings import RISKS
from core.solvers import SOLVERS

_HELP = "write the executive report (the Overview page) as self-contained HTML, and PDF"
_DESCRIPTION = (
    "Compute the Overview page's KPI cards, their deltas against the best baseline strategy "
    "and its charts for DATA and one scenario, with the same functions as the dashboard, and "
    "write them to --out as one self-contained HTML file (inline CSS and SVG charts: it opens "
    "without network access). --pdf also prints it with headless Chromium (Debian's chromium, "
    "or the browser named by CJO_CHROMIUM). The models are loaded from the folder the "
    "dashboard uses (models/<data sha256 prefix>-<catalog>, or --models DIR) and trained there "
    "when missing; the defaults are the dashboard's default scenario."
)


def settings_from_args(args: Any) -> Settings:
    """The scenario of the ``report`` command's options (defaults: the dashboard's)."""
    return Settings(
        catalog=args.catalog,
        estimator=args.estimator,
        weights=parse_weights_text(args.weights),
        levers=parse_levers_text(args.levers or ""),
        propensity=args.propensity,
        aggregation=args.aggregation,
        solver=args.solver,
        seed=args.seed,
        model_preset=args.model_preset,
        risk=args.risk,
        risk_level=args.risk_level,
        confounding=args.confounding,
    )


def build(args: Any) -> Any:
    """The :class:`core.insights.executive.ExecutiveReport` of the command's data and scenario."""
    from core import pipeline
    from core.data.catalog import resolve_catalog
    from core.data.io import load
    from core.insights.executive import executive_report
    from core.models.persist import models_folder
    from core.models.train import load_or_train
    from core.opportunity import offerable_now

    s = settings_from_args(args)
    data = load(args.data, mapping=args.mapping)
    frame = data.frame
    cat = resolve_catalog(s.catalog, list(frame.columns))
    folder = (
        Path(args.models) if args.models else models_folder(ROOT / "models", data.sha256, s.catalog)
    )
    bar = None if args.quiet else Progress("models")
    trained = load_or_train(frame, folder, data.sha256, cat, progress=bar)
    ctx = pipeline.Context(catalog=cat, models=trained.key_factors, acceptance=trained.acceptance)
    bar = None if args.quiet else Progress(f"opportunity ({s.estimator})")
    comps = pipeline.components_for(frame, s, ctx, progress=bar)
    prop = pipeline.propensity_for(frame, ctx) if s.propensity else None
    problem = pipeline.problem_for(comps, cat, s, prop)
    result = pipeline.optimize(problem, s, components=comps)
    base = {
        name: pipeline.optimize(problem, s, solver=name, components=comps)
        for name in pipeline.DEFAULT_BASELINES
    }
    best = max(base, key=lambda k: float(base[k].scores.sum()))
    table = pipeline.journeys_table(result, problem, comps, s, cat, prop)
    churn = None
    if "churn" in trained.key_factors.factors_:
        churn = np.asarray(trained.key_factors.predict_factor(frame, None, "churn"), dtype=float)
    return executive_report(
        frame,
        result,
        base[best],
        best,
        table,
        cat,
        s,
        churn_proba=churn,
        offerable=np.asarray(offerable_now(cat, comps.held).any(axis=1)),
        horizon_months=args.horizon,
        data_name=Path(args.data).name,
        data_sha256=data.sha256,
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cmd_report(args: Any) -> int:
    from core.insights.executive import as_json, render_html
    from core.ops.pdf import print_to_pdf

    report = build(args)
    out = Path(args.out)
    _write(out, render_html(report))
    summary = {"out": str(out), "pdf": None, "kpis": as_json(report)["kpis"]}
    if args.pdf:
        summary["pdf"] = str(print_to_pdf(out, args.pdf))
    print(json.dumps(summary, default=float))
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``report DATA --out FILE [--pdf FILE] ...``."""
    p = add_command(subparsers, "report", _cmd_report, _HELP, _DESCRIPTION)
    add_data(p)
    p.add_argument("--out", required=True, metavar="FILE", help="the HTML report")
    p.add_argument("--pdf", metavar="FILE", help="also print it to this PDF (needs Chromium)")
    add_catalog(p, "catalog (seed)", metavar="seed|full|FILE")
    p.add_argument(
        "--weights",
        default="cltv=1,churn=1,satisfaction=1",
        help="factor weights (cltv=1,churn=1,satisfaction=1)",
    )
    p.add_argument("--levers", default="", help="product multipliers, e.g. tech_support=1.5")
    p.add_argument("--estimator", default="dr", choices=ESTIMATORS, help="(dr)")
    p.add_argument("--risk", default="lcb", choices=RISKS, help="lcb (default, do no harm) or none")
    p.add_argument(
        "--risk-level", type=float, default=0.9, metavar="LEVEL", help="confidence level (0.9)"
    )
    p.add_argument(
        "--confounding",
        type=float,
        default=0.0,
        metavar="K",
        help="allowance for unrecorded confounding, a multiple of the recorded (0)",
    )
    p.add_argument("--propensity", action="store_true", help="weight offers by acceptance")
    p.add_argument("--aggregation", default="sum", choices=("sum", "mean", "max"))
    p.add_argument("--solver", default="exact", choices=SOLVERS, help="(exact, as the dashboard)")
    p.add_argument(
        "--horizon",
        type=int,
        default=12,
        choices=HORIZONS,
        help="months of the revenue-at-risk card (12)",
    )
    add_models_dir(p)
    add_model_preset(p, "counterfactual models: accurate (default) or fast")
    add_mapping(p)
    add_seed(p, "random seed (0)")
    add_quiet(p)
