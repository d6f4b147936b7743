"""``python -m core segment DATA``: named segments and whom to contact first."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.cli._util import (
    CATALOG_HELP,
    add_catalog,
    add_command,
    add_data,
    add_mapping,
    add_quiet,
    add_seed,
)
from core.cli._util import Progress as Bar
from core.common.errors import CJOError
from core.data.io import load
from core.insights.segments import METHODS, customer_ids, insights, readme_table, segment
from core.pipeline import per_customer

_HELP = "segment customers and say whom to contact first"
_DESCRIPTION = (
    "Segment the customers of DATA into named groups (k-means, DBSCAN, Ward "
    "or Gaussian mixture on tenure, charges, revenue, products held, referrals and CLTV; "
    "recency, frequency and monetary value for retail data; "
    "satisfaction with --features all; outcome columns only describe segments). "
    "Prints the segment table and the "
    "'contact first' answer; writes per-customer segments (--out) and a JSON report "
    "(--report: method, k, silhouette, stability, segment shares, ...)."
)


def _read_journeys(path: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    p = Path(path)
    if not p.is_file():
        raise CJOError(f"--journeys {path}: no such file.")
    table = pd.read_parquet(p) if p.suffix.lower() == ".parquet" else pd.read_csv(p)
    if {"customer_id", "step", "product", "opportunity"} <= set(table.columns):
        summary = per_customer(table, list(ids))
        return summary["journey_value"].to_numpy(), summary["first_offer"].to_numpy()
    if "Customer ID" not in table.columns or "journey_value" not in table.columns:
        raise CJOError(
            f"--journeys {path}: needs the output of `python -m core optimize` or columns "
            "'Customer ID' and 'journey_value' (and optionally 'first_offer')."
        )
    table = table.set_index(table["Customer ID"].astype(str))
    missing = [i for i in ids if i not in table.index]
    if missing:
        raise CJOError(
            f"--journeys {path}: {len(missing)} customers have no row, e.g. {missing[:3]}."
        )
    table = table.loc[ids]
    value = pd.to_numeric(table["journey_value"], errors="coerce").to_numpy(dtype=np.float64)
    offers = table["first_offer"].to_numpy(dtype=object) if "first_offer" in table else None
    return value, offers


def _cmd_segment(args: argparse.Namespace) -> int:

    if args.method not in METHODS:
        raise CJOError(f"--method {args.method}: choose one of {list(METHODS)}.")
    data = load(args.data, mapping=args.mapping, catalog=args.catalog)
    frame = data.frame
    value = offers = None
    if args.journeys:
        value, offers = _read_journeys(args.journeys, customer_ids(frame))
    seg = segment(
        frame,
        method=args.method,
        k=args.k,
        min_share=args.min_share,
        random_state=args.seed,
        opportunity=value,
        features=args.features,
        progress=None if args.quiet else Bar(f"segment {args.method}"),
        catalog=data.catalog,
    )
    ins = insights(frame, seg, journey_value=value, first_offer=offers, horizon_months=args.horizon)
    report = seg.report()
    report["data"] = {"source": data.source, "sha256": data.sha256, "rows": data.n_rows}
    if data.catalog is not None:
        report["data"]["catalog"] = data.catalog.name
    report["segments"] = json.loads(ins["segments"].to_json(orient="records"))
    report["segment_ranking"] = ins["segment_ranking"]
    report["ranking_basis"] = ins["ranking_basis"]
    report["contact_first"] = ins["contact_first"]
    report["notes"] = report["notes"] + ins["notes"]
    for target in (args.out, args.report):
        if target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
    if args.out:
        seg.to_frame().to_csv(args.out, index=False)
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(readme_table(ins))
    return 0


def add_cli(subparsers: Any) -> None:
    """Register ``python -m core segment``."""

    def share(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not 0 <= v < 0.5:
            raise argparse.ArgumentTypeError(f"{text!r}: use a share in [0, 0.5)")
        return v

    p = add_command(subparsers, "segment", _cmd_segment, _HELP, _DESCRIPTION)
    add_data(p)
    p.add_argument("--method", default="kmeans", help=f"one of {', '.join(METHODS)}")
    p.add_argument("--k", default="auto", help="number of segments, or 'auto' (default)")
    p.add_argument(
        "--min-share",
        type=share,
        default=0.05,
        help="smallest allowed segment share (default 0.05; 0 disables)",
    )
    add_seed(p)
    p.add_argument(
        "--features",
        default="default",
        choices=["default", "all", "rfm"],
        help="feature set: default (no satisfaction), all (with Satisfaction Score), rfm "
        "(recency, frequency, monetary; tenure, products and revenue for subscriptions)",
    )
    p.add_argument("--out", metavar="CSV", help="write Customer ID, Segment ID, Segment Name")
    p.add_argument("--report", metavar="JSON", help="write the JSON report")
    p.add_argument(
        "--journeys",
        metavar="FILE",
        help="optimizer output (CSV/Parquet: Customer ID, journey_value[, first_offer])",
    )
    p.add_argument("--horizon", type=int, default=12, help="months of revenue at risk (12)")
    add_mapping(p)
    add_catalog(p, CATALOG_HELP, metavar="seed|full|FILE", default=None)
    add_quiet(p)
