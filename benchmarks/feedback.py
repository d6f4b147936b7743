"""Benchmark: scoring feedback texts at scale, and what texts add to churn and decisions on truth.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/feedback.py --texts 100000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/feedback.py --texts 0 --rows 5000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/feedback.py --texts 0 --rows 7043 --no-auc \
        --seed 11 --risk-levels 0.6,0.7,0.8

``--texts N`` scores N review look-alike texts (``core.data.synthetic.reviews``: varied wording,
typos; the same generator as ``tests/fixtures/make_reviews.py``) the way ``python -m core
feedback --out`` does: validation (:func:`read_feedback`), VADER lexicon, keyword topics and the
supervised unhappy model's probability (fitted on 4,000 other rated reviews beforehand: its fit
is reported apart). Target: at most 30 s for 100,000 texts on 2 cores. Peak resident memory of
the process is reported.

``--rows N`` draws a synthetic population of N customers and its feedback texts
(``core.data.synthetic.feedback``) and measures, side by side on the same customers:

* the churn model's 5-fold cross-validated ROC AUC without and with the ``text_*`` features
  (leakage-guarded: texts in the outcome quarter and exit surveys stay out);
* the share of the truth-optimal value captured by the recommended journeys (the
  ``opportunity-check`` decision report, seed catalog, for ``--estimators``: each at the
  product's default risk rule, ``dr`` also without risk control and at every ``--risk-levels``
  lower confidence bound) and the share of customers whose journey harms them, without and with
  texts. With ``--risk-levels``, ``dr_frontier`` also compares the with-texts default policy
  to the without-texts policies at the same share harmful. ``--no-auc`` skips the churn AUC (its cross-validation takes most of the time).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks._report import emit
from core.data import synthetic
from core.data.feedback import read_feedback
from core.data.synthetic.reviews import review_frame
from core.models.text import TextModel, score_texts, synthetic_text_features


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def bench_scoring(n: int, seed: int) -> dict[str, Any]:
    """Seconds to validate and score ``n`` texts (lexicon, topics, supervised probability)."""
    train = review_frame(4000, seed + 1)
    t0 = time.perf_counter()
    model = TextModel(random_state=seed).fit(
        train["text"].tolist(), (train["stars"] <= 2).to_numpy(dtype=float)
    )
    fit_s = time.perf_counter() - t0
    frame = review_frame(n, seed)
    t0 = time.perf_counter()
    table = read_feedback(frame, text="text", rating="stars", date="date")
    read_s = time.perf_counter() - t0
    scored = score_texts(table.frame, model=model)
    total = time.perf_counter() - t0
    return {
        "texts": n,
        "unique_texts": int(frame["text"].nunique()),
        "read_seconds": round(read_s, 2),
        "score_seconds": round(total, 2),
        "texts_per_second": round(n / total),
        "supervised_fit_seconds_4000_texts": round(fit_s, 2),
        "columns": [c for c in scored.columns if c not in table.frame.columns],
        "peak_rss_gib": round(_peak_gib(), 2),
        "target_seconds": 30,
        "met": total <= 30,
    }


def _churn_auc(frame: Any, seed: int) -> float:
    from core.models.validation import cross_validate_models

    rep = cross_validate_models(
        frame,
        "seed",
        random_state=seed,
        with_satisfaction=False,
        importance=False,
    )
    return float(rep["churn"]["roc_auc"])


def _captured(
    customers: Any,
    truth: Any,
    estimators: list[str],
    seed: int,
    levels: list[float],
    options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    from core.cli.opportunity_check import policies
    from core.insights.decision import decision_check, estimate_all

    comps = estimate_all(
        customers, truth, ["seed"], estimators, seed=seed, options=options, ceiling=False
    )
    rep = decision_check(customers, truth, comps, policies(estimators, levels, False))
    return {
        w: {p: {k: r[k] for k in ("captured", "share_harmful")} for p, r in row.items()}
        for w, row in rep["seed"].items()
    }


def _frontier(without: dict[str, Any], with_: dict[str, Any]) -> dict[str, Any]:
    """The dr default policy with texts against the without-texts harm/captured frontier.

    Per weight setting: the with-texts default (``dr``) captured share and share harmful, and
    the captured share the without-texts ``dr`` policies (every risk level judged) reach at that
    same share harmful (linear interpolation between their points; clamped at the ends).
    """
    out: dict[str, Any] = {}
    for w, row in with_.items():
        pts = sorted(
            (r["share_harmful"], r["captured"])
            for p, r in without[w].items()
            if p == "dr" or p.startswith("dr/")
        )
        if "dr" not in row or len(pts) < 2:
            continue
        harm = float(row["dr"]["share_harmful"])
        out[w] = {
            "share_harmful": harm,
            "with_texts_captured": float(row["dr"]["captured"]),
            "without_texts_captured_at_same_harm": float(
                np.interp(harm, [h for h, _ in pts], [c for _, c in pts])
            ),
            "interpolated": bool(pts[0][0] <= harm <= pts[-1][0]),  # False: clamped at an end
        }
    return out


def bench_effect(
    rows: int,
    seed: int,
    estimators: list[str],
    levels: list[float] | None = None,
    auc: bool = True,
    trait_prior: float | None = None,
) -> dict[str, Any]:
    """Churn AUC and captured true value without and with text features, same customers."""
    customers, truth = synthetic.generate_frame(rows, seed)
    t0 = time.perf_counter()
    with_texts, tf = synthetic_text_features(customers, truth, seed=seed)
    text_s = time.perf_counter() - t0
    out: dict[str, Any] = {
        "rows": rows,
        "texts_kept": tf.guard.n_kept,
        "texts_dropped_by_guard": tf.guard.n_in - tf.guard.n_kept,
        "share_with_texts": round(float((with_texts["text_n"] > 0).mean()), 3),
        "text_features": [c for c in with_texts.columns if c.startswith("text_")],
        "text_seconds": round(text_s, 2),
    }
    if auc:
        out["churn_auc"] = {
            "without_texts": _churn_auc(customers, seed),
            "with_texts": _churn_auc(with_texts, seed),
        }
    if estimators:
        lv = list(levels or [])
        opts = None if trait_prior is None else {"dr": {"trait_prior": trait_prior}}
        out["decision"] = {
            "without_texts": _captured(customers, truth, estimators, seed, lv),
            "with_texts": _captured(with_texts, truth, estimators, seed, lv, opts),
        }
        if "dr" in estimators and lv:
            out["dr_frontier"] = _frontier(
                out["decision"]["without_texts"], out["decision"]["with_texts"]
            )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=100_000, help="texts to score (0: skip)")
    p.add_argument(
        "--rows", type=int, default=0, help="synthetic customers for the effect (0: skip)"
    )
    p.add_argument("--estimators", default="dr", help="estimators judged on truth (comma list)")
    p.add_argument(
        "--risk-levels",
        default="",
        help="also judge dr at these lower-confidence-bound levels (comma list, e.g. 0.6,0.8)",
    )
    p.add_argument(
        "--trait-prior",
        type=float,
        help="dr's trait_prior (default: the estimator's; 0: raw text trait shares)",
    )
    p.add_argument("--no-auc", action="store_true", help="skip the churn AUC (decisions only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args(argv)
    report: dict[str, Any] = {}
    if args.texts:
        report["scoring"] = bench_scoring(args.texts, args.seed)
    if args.rows:
        names = [e.strip() for e in args.estimators.split(",") if e.strip()]
        levels = [float(v) for v in args.risk_levels.split(",") if v.strip()]
        report["effect"] = bench_effect(
            args.rows, args.seed, names, levels, not args.no_auc, args.trait_prior
        )
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
