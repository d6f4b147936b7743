"""Benchmark: discount levels learned from a product x discount campaign, judged on truth.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/discounts.py --rows 20000 --seed 0

Draws a synthetic population of ``--rows`` customers and a past campaign whose arms are product
x discount level of the ``pricing`` catalog (:func:`pricing_campaign_frame`), fits
:class:`core.campaigns.discounts.DiscountModel` and chooses every offerable (customer, product)'s
level for a fresh population (seed + 1) by expected value net of margin; reports
:func:`core.campaigns.discounts.discount_check`: the share of the truth-optimal margin-adjusted
value captured (goal >= 0.90) beside list price and the best single level per product, and the
share of customers who get a discount whose true uplift does not pay for its margin (goal
<= 0.05), for each ``--confidence``. ``--bandit`` also trains the RL lab's contextual bandit
(LinUCB over the levels, :func:`core.rl.discount_bandit.bandit_check`) online on the same
number of arriving customers and judges it the same way. ``--ceiling`` measures what the
observable columns can tell at all (:func:`core.campaigns.discounts.discount_ceiling`: a
learner trained on the true gains, at each ``--risk`` multiple of its error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import emit
from core.campaigns.discounts import discount_check


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--confidence", default="0.9,0.6", help="comma list")
    p.add_argument("--boot", type=int, default=20)
    p.add_argument("--bandit", action="store_true", help="also the contextual bandit")
    p.add_argument("--alpha", type=float, default=0.5, help="bandit's confidence bonus")
    p.add_argument(
        "--ceiling",
        action="store_true",
        help="also the information ceiling: a learner trained on the true gains",
    )
    p.add_argument(
        "--risk", default="0,0.5,1,1.5,2", help="the ceiling's comma list of RMSE multiples"
    )
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args(argv)
    report: dict[str, Any] = {}
    for c in (float(x) for x in args.confidence.split(",") if x.strip()):
        report[f"confidence={c:g}"] = discount_check(
            args.rows, args.seed, confidence=c, n_boot=args.boot
        )
    if args.bandit:
        from core.rl.discount_bandit import bandit_check

        report["bandit"] = bandit_check(args.rows, args.seed, alpha=args.alpha)
    if args.ceiling:
        from core.campaigns.discounts import discount_ceiling

        risk = [float(x) for x in args.risk.split(",") if x.strip()]
        report["ceiling"] = discount_ceiling(args.rows, args.seed, risk=risk)
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
