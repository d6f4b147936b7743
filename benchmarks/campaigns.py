"""Benchmark: campaign estimates judged against the synthetic truth (docs/campaigns.md).

    .venv/bin/python benchmarks/campaigns.py coverage  [--seeds 200] [--rows 2000]
    .venv/bin/python benchmarks/campaigns.py policy    [--seeds 0,1,2] [--rows 7043] [--learners t,x,dr]
    .venv/bin/python benchmarks/campaigns.py ceiling   [--rows 60000]
    .venv/bin/python benchmarks/campaigns.py estimator [--rows 7043]
    .venv/bin/python benchmarks/campaigns.py lookalike [--learners t,x,dr]

``coverage``  over many seeds of small synthetic campaign logs, how often the lift intervals
              (difference in means and regression-adjusted, 95%) cover the true lift: the
              population lift (every arm's expected outcome averaged over a 100,000-customer
              reference population) and the sample lift (averaged over the log's customers).
``policy``    the learned targeting (``analyze``, held-out half) judged on truth: its true
              value against the truth-optimal targeting (every customer's best arm by the
              true expected outcome), the best single arm and control; and whether its
              off-policy interval covers its true value.
``ceiling``   the best any targeting on the customer features can do: a model trained on the
              *true* acceptance probabilities of a large population, used to target.
``estimator`` the ``campaign`` opportunity estimator against the truth: Spearman correlation of
              the learnt acceptance probabilities and churn effects with the true ones.
``lookalike`` the command's analysis on a 64,000-row look-alike of the MineThatData e-mail
              experiment (tests/fixtures/make_hillstrom.py; NOT the public data), with the
              look-alike's true visit probabilities.

Everything is seeded; ``--json FILE`` also writes the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.campaigns import CampaignLog, analyze, lift_table, validate_log
from core.campaigns.features import FeatureEncoder
from core.common.jsonutil import to_jsonable
from core.data import schema
from core.data.synthetic import CONTROL, campaign_frame, campaign_truth, generate_frame
from core.data.synthetic.campaigns import CAMPAIGN_PRODUCTS

OUTCOMES = ("accepted", "revenue", "churned")
LABELS = (CONTROL, *CAMPAIGN_PRODUCTS)
REFERENCE_SEED = 1_000_003


def _log(rows: int, seed: int):
    customers, truth = generate_frame(rows, seed=seed)
    raw = campaign_frame(customers, truth, seed)
    log = validate_log(
        raw,
        arm="arm",
        control=CONTROL,
        outcomes=list(OUTCOMES),
        propensity="propensity",
        id="Customer ID",
        customers=customers,
    )
    exp = campaign_truth(customers, truth)
    order = [LABELS.index(a) for a in log.arms]
    return log, {k: v[:, order] for k, v in exp.items()}


def coverage(seeds: int, rows: int) -> dict:
    """Coverage of the 95% lift intervals over ``seeds`` logs of ``rows`` customers."""
    customers, truth = generate_frame(100_000, seed=REFERENCE_SEED)
    ref = campaign_truth(customers, truth)
    pate = {o: ref[o][:, 1:].mean(axis=0) - ref[o][:, 0].mean() for o in OUTCOMES}
    hits = {
        (m, t, o): 0
        for m in ("difference", "adjusted")
        for t in ("population", "sample")
        for o in OUTCOMES
    }
    widths = {m: [] for m in ("difference", "adjusted")}
    cells = 0
    start = time.perf_counter()
    for seed in range(seeds):
        log, exp = _log(rows, seed)
        for method in ("difference", "adjusted"):
            table = lift_table(log, method=method)
            for row in table.itertuples():
                j = LABELS.index(row.arm) - 1
                k = log.arms.index(row.arm)
                sate = exp[row.outcome][:, k].mean() - exp[row.outcome][:, 0].mean()
                pop = row.ci_low <= pate[row.outcome][j] <= row.ci_high
                hits[(method, "population", row.outcome)] += pop
                hits[(method, "sample", row.outcome)] += row.ci_low <= sate <= row.ci_high
                widths[method].append((row.outcome, row.ci_high - row.ci_low))
        cells += len(table)
    out = {
        "seeds": seeds,
        "rows": rows,
        "intervals_per_method": cells,
        "seconds": time.perf_counter() - start,
    }
    per = cells / len(OUTCOMES)
    for method in ("difference", "adjusted"):
        for target in ("population", "sample"):
            h = [hits[(method, target, o)] for o in OUTCOMES]
            out[f"{method}_{target}"] = sum(h) / cells
            for o, k in zip(OUTCOMES, h, strict=True):
                out[f"{method}_{target}_{o}"] = k / per
    for method, w in widths.items():
        for o in OUTCOMES:
            out[f"{method}_mean_width_{o}"] = float(np.mean([x for oo, x in w if oo == o]))
    return out


def _policy_truth(analysis, exp: dict, outcome: str) -> dict:
    test = analysis.holdout
    tru = exp[outcome][test]
    sign = -1.0 if outcome in ("churned",) else 1.0
    model = analysis.models[outcome]
    act = model.actions(None, analysis.uplift[outcome])
    learned = tru[np.arange(len(act)), act].mean()
    optimum = sign * (sign * tru).max(axis=1).mean()
    arms = tru.mean(axis=0)
    best = sign * (sign * arms).max()
    control = arms[0]
    pr = analysis.policies[outcome]
    return {
        "learned_true": learned,
        "optimal_true": optimum,
        "best_arm_true": best,
        "control_true": control,
        "ratio_to_optimal": learned / optimum if sign > 0 else optimum / learned,
        "captured_lift": (learned - control) / (optimum - control),
        "best_arm_captured_lift": (best - control) / (optimum - control),
        "estimate": pr.learned.value,
        "ci_low": pr.learned.ci_low,
        "ci_high": pr.learned.ci_high,
        "covered": bool(pr.learned.ci_low <= learned <= pr.learned.ci_high),
        "strength": pr.strength,
    }


def policy(seeds: list[int], rows: int, learners: list[str]) -> dict:
    """The learned targeting's true value per learner and seed."""
    runs = []
    for seed in seeds:
        log, exp = _log(rows, seed)
        for learner in learners:
            start = time.perf_counter()
            an = analyze(log, seed=seed, learner=learner, minimize=["churned"], n_bootstrap=0)
            run = {"seed": seed, "rows": rows, "learner": learner}
            run["seconds"] = time.perf_counter() - start
            for o in OUTCOMES:
                run[o] = _policy_truth(an, exp, o)
            runs.append(run)
            a = run["accepted"]
            print(
                f"  seed {seed} {learner:>2}: accepted {a['ratio_to_optimal']:.3f} of optimal "
                f"(best arm {a['best_arm_captured_lift']:.3f}), covered {a['covered']}, "
                f"revenue captured {run['revenue']['captured_lift']:+.3f}, "
                f"churn captured {run['churned']['captured_lift']:+.3f}, {run['seconds']:.0f}s",
                flush=True,
            )
    summary = {}
    for learner in learners:
        mine = [r for r in runs if r["learner"] == learner]
        summary[learner] = {
            o: {
                "ratio_to_optimal": float(np.mean([r[o]["ratio_to_optimal"] for r in mine])),
                "captured_lift": float(np.mean([r[o]["captured_lift"] for r in mine])),
                "best_arm_captured_lift": float(
                    np.mean([r[o]["best_arm_captured_lift"] for r in mine])
                ),
                "ope_covered": float(np.mean([r[o]["covered"] for r in mine])),
            }
            for o in OUTCOMES
        }
    return {"runs": runs, "summary": summary}


def ceiling(rows: int) -> dict:
    """Targeting on a model of the TRUE acceptance probabilities from the customer features."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    customers, truth = generate_frame(rows, seed=REFERENCE_SEED + 1)
    guard = {c.name for c in schema.COLUMNS if c.role in ("outcome", "id", "constant")}
    feats = [c for c in customers.columns if c not in guard]
    enc = FeatureEncoder().fit(customers[feats])
    x = enc.transform(customers[feats])
    tru = campaign_truth(customers, truth)["accepted"]
    half = rows // 2
    pred = np.zeros((rows - half, tru.shape[1]))
    for k in range(1, tru.shape[1]):
        model = HistGradientBoostingRegressor(max_iter=300, random_state=0)
        pred[:, k] = model.fit(x[:half], tru[:half, k]).predict(x[half:])
    act = pred.argmax(axis=1)
    test = tru[half:]
    return {
        "rows": rows,
        "accepted_ratio_to_optimal": float(test[np.arange(len(act)), act].mean())
        / float(test.max(axis=1).mean()),
        "best_arm_ratio_to_optimal": float(test.mean(axis=0).max() / test.max(axis=1).mean()),
    }


def estimator(rows: int, seed: int = 0) -> dict:
    """Learnt acceptance and churn effects of the seed catalog's products against the truth."""
    from scipy.stats import spearmanr

    from core.campaigns import fit_offer_response
    from core.data.catalog import load_catalog
    from core.opportunity import build_components
    from core.opportunity.components import offerable_now
    from core.opportunity.estimators.campaign import campaign_propensity

    customers, truth = generate_frame(rows, seed=seed)
    raw = campaign_frame(customers, truth, seed)
    log = validate_log(
        raw,
        arm="arm",
        control=CONTROL,
        outcomes=list(OUTCOMES),
        propensity="propensity",
        id="Customer ID",
        customers=customers,
    )
    cat = load_catalog("seed")
    start = time.perf_counter()
    response = fit_offer_response(log, seed=seed)
    comp = build_components(customers, cat, "campaign", campaign=response)
    prop = campaign_propensity(customers, cat, response)
    now = offerable_now(cat, comp.held)
    out: dict = {"rows": rows, "seconds": time.perf_counter() - start, "products": {}}
    churn = comp.raw()[:, 0, :, 1]  # churn avoided if the offer is taken
    for j, key in enumerate(cat.keys):
        m = now[:, j]
        true_p = truth[f"p_accept__{key}"].to_numpy()[m]
        true_churn = -truth[f"d_churn__{key}"].to_numpy()[m]
        out["products"][key] = {
            "offerable": int(m.sum()),
            "acceptance_spearman": float(spearmanr(prop[m, j], true_p).statistic),
            "churn_effect_spearman": float(spearmanr(churn[m, j], true_churn).statistic),
        }
    print(json.dumps(out["products"], indent=1))
    return out


def lookalike(learners: list[str], seed: int = 0) -> dict:
    """The analysis of the e-mail experiment look-alike, with its true visit probabilities."""
    path = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "make_hillstrom.py"
    spec = importlib.util.spec_from_file_location("make_hillstrom", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame = module.make(64_000, seed=seed)
    log: CampaignLog = validate_log(
        frame, arm="segment", control="No E-Mail", outcomes=["visit", "conversion", "spend"]
    )
    true_visit = module.true_visit_probability(frame)
    order = [module.SEGMENTS.index(a) for a in log.arms]
    true_visit = true_visit[:, order]
    out = {}
    for learner in learners:
        an = analyze(log, seed=seed, learner=learner, n_bootstrap=200)
        tru = true_visit[an.holdout]
        act = an.models["visit"].actions(None, an.uplift["visit"])
        res = {"seconds": an.seconds}
        for o in ("visit", "spend"):
            pr = an.policies[o]
            res[o] = {
                "value": pr.learned.value,
                "ci": [pr.learned.ci_low, pr.learned.ci_high],
                "best_single_arm": pr.best_single_arm,
                "best_single_arm_value": pr.best_single_arm_value.value,
                "best_single_arm_ci": [
                    pr.best_single_arm_value.ci_low,
                    pr.best_single_arm_value.ci_high,
                ],
                "gain": [pr.gain.value, pr.gain.ci_low, pr.gain.ci_high] if pr.gain else None,
                "strength": pr.strength,
                "share_by_arm": pr.share_by_arm,
            }
        res["visit"]["learned_true"] = float(tru[np.arange(len(act)), act].mean())
        res["visit"]["optimal_true"] = float(tru.max(axis=1).mean())
        res["visit"]["best_arm_true"] = float(tru.mean(axis=0).max())
        out[learner] = res
        v = res["visit"]
        print(
            f"  {learner:>2}: visit {v['value']:.4f} [{v['ci'][0]:.4f}, {v['ci'][1]:.4f}] vs "
            f"{v['best_single_arm']} {v['best_single_arm_value']:.4f}; true {v['learned_true']:.4f} "
            f"(best arm {v['best_arm_true']:.4f}, optimum {v['optimal_true']:.4f}); spend "
            f"{res['spend']['value']:.3f} vs {res['spend']['best_single_arm_value']:.3f}",
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("section", choices=["coverage", "policy", "ceiling", "estimator", "lookalike"])
    ap.add_argument("--seeds", default=None, help="coverage: a count; policy: a list 0,1,2")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--learners", default="t,x,dr")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    learners = [x.strip() for x in args.learners.split(",") if x.strip()]
    if args.section == "coverage":
        result = coverage(int(args.seeds or 200), args.rows or 2000)
    elif args.section == "policy":
        seeds = [int(s) for s in (args.seeds or "0,1,2").split(",")]
        result = policy(seeds, args.rows or 7043, learners)
    elif args.section == "ceiling":
        result = ceiling(args.rows or 60_000)
    elif args.section == "estimator":
        result = estimator(args.rows or 7043)
    else:
        result = lookalike(learners)
    text = json.dumps(
        to_jsonable(result if args.section != "policy" else result["summary"]), indent=2
    )
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(to_jsonable(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
