"""``python -m core train DATA --models DIR``: cross-validated models, metrics.json, model cards."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.cli._util import EXIT_OK, Progress
from core.common.errors import CJOError
from core.data import schema
from core.data.io import load
from core.models import CLTV_MODELS
from core.models.presets import PRESETS
from core.models.train import train


def _cmd_train(args: argparse.Namespace) -> int:

    data = load(args.data, mapping=args.mapping)
    if args.folds < 2:
        raise CJOError(f"--folds {args.folds}: use at least 2.")
    progress = None if args.quiet else Progress(f"train {data.n_rows:,} customers")
    result = train(
        data.frame,
        args.models,
        catalog=args.catalog,
        data_sha256=data.sha256,
        cltv_model=args.cltv_model,
        preset=args.model_preset,
        n_splits=args.folds,
        random_state=args.seed,
        progress=progress,
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
        "files": result["files"],
        "seconds": result["seconds"],
    }
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``train DATA --models DIR`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "train",
        help="train the key-factor and acceptance models, with cross-validated metrics",
        description="Load DATA (CSV or Parquet), cross-validate and fit the key-factor models "
        "(churn, CLTV, satisfaction) and the offer-acceptance models, and write them to DIR "
        "with JSON sidecars, model cards and DIR/metrics.json (churn.roc_auc, churn.pr_auc, "
        "churn.brier, cltv.r2, satisfaction.r2, ...). Exits 2 with a message on bad data.",
    )
    p.add_argument("data", metavar="DATA", help="CSV or Parquet customer file")
    p.add_argument("--models", required=True, metavar="DIR", help="output models folder")
    p.add_argument(
        "--catalog", default="seed", metavar="seed|full|FILE", help="product catalog (seed)"
    )
    p.add_argument(
        "--cltv-model", default="hgb", choices=CLTV_MODELS, help="CLTV model family (hgb)"
    )
    p.add_argument(
        "--model-preset",
        default="accurate",
        choices=tuple(PRESETS),
        help="accurate (default) or fast: 60-round boosting for batch scoring of millions",
    )
    p.add_argument("--mapping", metavar="FILE", help="TOML column mapping for other exports")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)
