"""``benchmarks/decision_limits.py`` on a tiny population: its conditions and its report.

The figures themselves come from the full-size runs quoted in README and docs/opportunity.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks import decision_limits as dl
from core.data import synthetic

ROOT = Path(__file__).resolve().parents[2]


def test_conditions_record_the_traits_and_remove_the_outcome_noise():
    customers, truth = synthetic.generate_frame(200, 3)
    traits = dl.with_traits(customers, truth)
    added = [c for c in traits.columns if c not in customers.columns]
    assert added == [f"Survey {t}" for t in synthetic.TRAITS]
    np.testing.assert_array_equal(
        traits["Survey loyalty"].to_numpy(), truth["latent_loyalty"].to_numpy()
    )
    clean = dl.noise_free(customers, truth)
    np.testing.assert_allclose(clean["Churn Value"], truth["churn_prob"])
    np.testing.assert_allclose(clean["CLTV"], truth["cltv_expected"])
    assert set(np.unique(customers["Churn Value"])) <= {0, 1}
    assert customers.equals(synthetic.generate_frame(200, 3)[0])  # inputs left as they were


def test_the_report_holds_every_catalog_condition_and_weight(tmp_path):
    out = tmp_path / "limits.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "decision_limits.py"), "--rows", "300",
         "--seed", "1", "--catalogs", "seed,full", "--risk-levels", "0.9", "--scale", "2",
         "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["seed"] == 1 and report["rows"] == 300
    conditions = {"recorded", "traits_recorded", "noise_free", "both", "rows_x2"}
    for catalog in ("seed", "full"):
        got = report["catalogs"][catalog]
        assert set(got) == conditions
        for cond in conditions:
            for weights in ("cltv_only", "churn_only", "satisfaction_only", "1/1/1"):
                row = got[cond][weights]
                assert set(row["levels"]) == {"none", "0.9"}
                within = [
                    v["captured"] for v in row["levels"].values() if v["share_harmful"] <= 0.05
                ]
                assert row["best_within_5pct"] == (max(within) if within else None)
    assert "| full, 1/1/1 |" in run.stderr  # the summary table
