"""``python -m core train DATA --models DIR``: cross-validated models, metrics.json, model cards."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.cli._util import (
    CATALOG_HELP,
    EXIT_OK,
    Progress,
    add_catalog,
    add_command,
    add_data,
    add_mapping,
    add_model_preset,
    add_quiet,
    add_seed,
)
from core.common.errors import CJOError
from core.data import schema
from core.data.io import load
from core.models import CLTV_MODELS
from core.models.train import train

_HELP = "train the key-factor and acceptance models, with cross-validated metrics"
_DESCRIPTION = (
    "Load DATA (CSV, Parquet or Excel .xlsx), cross-validate and fit the key-factor models "
    "(churn, CLTV, satisfaction) and the offer-acceptance models, and write them to DIR "
    "with JSON sidecars, model cards and DIR/metrics.json (churn.roc_auc, churn.pr_auc, "
    "churn.brier, cltv.r2, satisfaction.r2, ...). Exits 2 with a message on bad data."
)


def _cmd_train(args: argparse.Namespace) -> int:

    data = load(args.data, mapping=args.mapping, catalog=args.catalog)
    if args.folds < 2:
        raise CJOError(f"--folds {args.folds}: use at least 2.")
    progress = None if args.quiet else Progress(f"train {data.n_rows:,} customers")
    result = train(
        data.frame,
        args.models,
        catalog=data.catalog or "seed",
        data_sha256=data.sha256,
        cltv_model=args.cltv_model,
        preset=args.model_preset,
        n_splits=args.folds,
        random_state=args.seed,
        progress=progress,
        mapping=args.mapping,
    )
    m = result["metrics"]
    summary = {
        "models": str(args.models),
        "rows": data.n_rows,
        "metrics": m["dotted_names"],
        "churn_roc_auc_with_satisfaction": (m["churn"].get("with_satisfaction") or {}).get(
            "roc_auc"
        ),
        "unavailable_factors": [f for f in schema.FACTORS if not m[f].get("available")],
        "churn_model": m["churn"].get("model"),
        "files": result["files"],
        "seconds": result["seconds"],
    }
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``train DATA --models DIR`` on an argparse subparsers object."""
    p = add_command(subparsers, "train", _cmd_train, _HELP, _DESCRIPTION)
    add_data(p)
    p.add_argument("--models", required=True, metavar="DIR", help="output models folder")
    add_catalog(p, CATALOG_HELP, metavar="seed|full|FILE", default=None)
    p.add_argument(
        "--cltv-model", default="hgb", choices=CLTV_MODELS, help="CLTV model family (hgb)"
    )
    add_model_preset(
        p, "accurate (default) or fast: 60-round boosting for batch scoring of millions"
    )
    add_mapping(p)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (5)")
    add_seed(p, "random seed (0)")
    add_quiet(p)
