"""Benchmark: what limits the decision quality of the default estimator, judged on truth.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/decision_limits.py --rows 7043 --seed 303 \\
        --scale 6 --ceiling --out limits303.json   # about 6 minutes

The default estimator (``dr``) learns each offer's effect from who holds what today and the
outcomes that followed. Two things stand between it and the truth-optimal journeys: traits
the data does not record (confounding) and the noise of realised outcomes (a churn is 0 or 1,
a satisfaction score a whole number) on a population of a given size. This benchmark
measures the recommended journeys of the unchanged product (exact solver, do-no-harm rule at
each ``--risk-levels`` level, and without risk control) on the synthetic population of
``--seed`` under:

``recorded``         the population as a user's file would give it;
``traits_recorded``  the generator's hidden traits (price sensitivity, service need, tech
                     affinity, loyalty, data appetite) added as extra columns, as a survey
                     would record them (``dr`` adjusts for a file's extra columns);
``noise_free``       CLTV, Churn Value and Satisfaction Score replaced by their expected values
                     given each customer's traits and portfolio (no outcome noise);
``both``             both of the above;
``rows_xK``          ``--scale`` K times as many customers, recorded as they are;
``ceiling``          the information ceiling of ``opportunity-check`` (a learner trained on
                     the true effects, cross-fitted; with ``--ceiling``).

For every catalog (under ``catalogs``), condition and weight setting it reports ``captured`` and
``share_harmful`` per level (keys ``none`` and the levels), and ``best_within_5pct``: the
largest captured share among them whose ``share_harmful`` is at most 5%.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks._report import emit
from core.data import synthetic
from core.data.catalog import load_catalog
from core.insights.decision import WEIGHTS, judge
from core.opportunity import build_components
from core.opportunity.groundtruth import ceiling_components
from core.opportunity.truevalue import portfolio_table, truth_optimal
from core.pipeline import Settings

HARM_GOAL = 0.05
#: Outcome column -> the truth column of its expected value.
EXPECTED = {
    "CLTV": "cltv_expected",
    "Churn Value": "churn_prob",
    "Satisfaction Score": "satisfaction_expected",
}


def with_traits(customers: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with the hidden traits as extra columns (``Survey <trait>``)."""
    out = customers.copy()
    for c in truth.columns:
        if c.startswith("latent_"):
            out["Survey " + c.removeprefix("latent_")] = truth[c].to_numpy()
    return out


def noise_free(customers: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with every outcome replaced by its expected value under the truth."""
    out = customers.copy()
    for column, expected in EXPECTED.items():
        out[column] = truth[expected].to_numpy()
    return out


def curve(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    catalog_name: str,
    levels: list[float],
    seed: int,
    estimator: str = "dr",
) -> dict[str, Any]:
    """Per weight setting: captured / share_harmful at each level and the best within 5%."""
    catalog = load_catalog(catalog_name)
    start = time.perf_counter()
    if estimator == "ceiling":
        comp = ceiling_components(customers, truth, catalog, seed=seed)
    else:
        comp = build_components(customers, catalog, estimator, random_state=seed)
    fit = time.perf_counter() - start
    table = portfolio_table(truth, customers, catalog)
    out: dict[str, Any] = {"fit_seconds": fit}
    for name, w in WEIGHTS.items():
        optimal, _ = truth_optimal(table, w)
        rows: dict[str, Any] = {}
        for level in [None, *levels]:
            s = Settings(catalog=catalog_name, solver="exact")
            s = s.with_(risk="none") if level is None else s.with_(risk_level=level)
            r = judge(comp, catalog, table, w, optimal, settings=s)
            rows["none" if level is None else f"{level:g}"] = {
                "captured": float(r["captured"]),
                "share_harmful": float(r["share_harmful"]),
            }
        within = [v["captured"] for v in rows.values() if v["share_harmful"] <= HARM_GOAL]
        out[name] = {"levels": rows, "best_within_5pct": max(within) if within else None}
    return out


def summary(report: dict[str, Any], catalogs: list[str]) -> str:
    """A markdown table: the best captured share within 5% harmed per condition."""
    conditions = list(report["catalogs"][catalogs[0]])
    lines = [
        "| catalog, weights | " + " | ".join(conditions) + " |",
        "|---|" + "---:|" * len(conditions),
    ]
    for catalog in catalogs:
        for name in WEIGHTS:
            cells = []
            for c in conditions:
                best = report["catalogs"][catalog][c][name]["best_within_5pct"]
                cells.append("none" if best is None else f"{100 * best:.0f}%")
            lines.append(f"| {catalog}, {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=7043)
    p.add_argument("--seed", type=int, default=303)
    p.add_argument("--catalogs", default="full,seed", help="comma list")
    p.add_argument("--risk-levels", default="0.6,0.7,0.8,0.9,0.95", help="comma list in [0.5, 1)")
    p.add_argument("--scale", type=int, default=0, help="also K times the rows (0: not)")
    p.add_argument("--ceiling", action="store_true", help="also the information ceiling")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args(argv)
    levels = [float(x) for x in args.risk_levels.split(",") if x.strip()]
    catalogs = [c.strip() for c in args.catalogs.split(",") if c.strip()]
    customers, truth = synthetic.generate_frame(args.rows, args.seed)
    conditions: dict[str, tuple[pd.DataFrame, pd.DataFrame, str]] = {
        "recorded": (customers, truth, "dr"),
        "traits_recorded": (with_traits(customers, truth), truth, "dr"),
        "noise_free": (noise_free(customers, truth), truth, "dr"),
        "both": (noise_free(with_traits(customers, truth), truth), truth, "dr"),
    }
    if args.ceiling:
        conditions["ceiling"] = (customers, truth, "ceiling")
    if args.scale > 1:
        big, big_truth = synthetic.generate_frame(args.rows * args.scale, args.seed)
        conditions[f"rows_x{args.scale}"] = (big, big_truth, "dr")
    report: dict[str, Any] = {
        "rows": args.rows,
        "seed": args.seed,
        "risk_levels": levels,
        "harm_goal": HARM_GOAL,
        "catalogs": {},
    }
    total, start = len(catalogs) * len(conditions), time.perf_counter()
    for catalog in catalogs:
        report["catalogs"][catalog] = got = {}
        for name, (frame, t, estimator) in conditions.items():
            got[name] = curve(frame, t, catalog, levels, args.seed, estimator)
            done = sum(len(v) for v in report["catalogs"].values())
            print(
                f"[{done}/{total}] {catalog} {name} ({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    emit(report, args.out)
    print(summary(report, catalogs), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
