"""A file in the IBM layout keeps its other columns as features, and the leakage guard drops the
ones that reproduce an outcome (in any layout)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.extras import outcome_copies
from core.data.io.loader import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ibm_raw(ibm_path) -> pd.DataFrame:
    return pd.read_csv(ibm_path, dtype=str, keep_default_na=False)


def _with_extras(raw: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The real file plus what a business might add: a survey score, a region, a comment, and
    three columns derived from the outcomes (a CLTV copy, a churn date left blank for those who
    stay, a second churn-value column)."""
    rng = np.random.default_rng(seed)
    out = raw.copy()
    sat = pd.to_numeric(out["Satisfaction Score"])
    out["Survey Score"] = np.clip(np.round(2 * sat + rng.normal(0, 2.5, len(out))), 0, 10)
    out["Region Code"] = rng.choice(["N", "S", "E", "W"], len(out))
    words = rng.choice(["fine", "slow", "down", "great"], len(out))
    out["Comment"] = [f"customer {i} says the network was {w} today" for i, w in enumerate(words)]
    out["Lifetime Value Copy"] = out["CLTV"]
    churned = out["Churn Value"] == "1"
    months = rng.choice([f"2024-{m:02d}" for m in range(1, 13)], len(out))
    out["Churn Month"] = np.where(churned, months, "")
    out["churn value"] = out["Churn Value"]
    return out


def test_an_ibm_file_keeps_its_other_columns_and_drops_outcome_copies(ibm_raw, tmp_path):
    path = tmp_path / "ibm_plus.csv"
    _with_extras(ibm_raw).to_csv(path, index=False)
    data = load(path)
    assert data.layout == "ibm"
    assert data.extra_columns == {"Survey Score": "numeric", "Region Code": "categorical"}
    assert {"Survey Score", "Region Code"} <= set(data.frame.columns)
    # free text and the second copy of a canonical column are ignored; copies of outcomes are
    # left out of the data as leakage
    assert {"Comment", "churn value"} <= set(data.ignored_columns)
    for col in ("Lifetime Value Copy", "Churn Month"):
        assert col in data.leakage_excluded and col not in data.frame.columns
        assert any(col in n and "leakage guard" in n for n in data.notes)
    # the canonical columns are read exactly as without the extras
    ibm_raw.to_csv(tmp_path / "ibm.csv", index=False)
    plain = load(tmp_path / "ibm.csv")
    assert plain.ignored_columns == () and plain.extra_columns == {}
    pd.testing.assert_frame_equal(data.frame[list(plain.frame.columns)], plain.frame)


def test_a_canonical_name_in_another_spelling_takes_the_canonical_name(ibm_raw, tmp_path):
    raw = ibm_raw.iloc[:300].rename(
        columns={"CLTV": "cltv", "Satisfaction Score": "satisfaction_score"}
    )
    path = tmp_path / "spelled.csv"
    raw.to_csv(path, index=False)
    data = load(path)
    assert data.layout == "ibm" and data.extra_columns == {}
    assert {"CLTV", "Satisfaction Score"} <= set(data.frame.columns)
    expected = pd.to_numeric(ibm_raw["CLTV"].iloc[:300]).to_numpy()
    np.testing.assert_allclose(data.frame["CLTV"].to_numpy(dtype=float), expected)


def test_the_guard_judges_closeness_not_relevance(monkeypatch):
    rng = np.random.default_rng(1)
    n = 2000
    churn = (rng.random(n) < 0.27).astype(float)
    cltv = rng.normal(4400, 1200, n)
    frame = pd.DataFrame(
        {
            "Churn Value": churn,
            "CLTV": cltv,
            # strongly related but not copies: kept
            "Spend Index": cltv + rng.normal(0, 600, n),  # correlation ~0.9
            "Complaints": rng.poisson(0.5 + 2.0 * churn),  # churn AUC ~0.8
            "Zip": rng.integers(0, 900, n).astype(str),  # many small levels
            "Plan": np.where(churn == 1, rng.choice(["A", "B"], n), rng.choice(["B", "C"], n)),
            # copies: dropped
            "Value Rounded": np.round(cltv, -2),
            "Days Since Exit": np.where(churn == 1, rng.integers(1, 90, n), np.nan),
            "Exit Reason": np.where(churn == 1, rng.choice(["price", "network"], n), None),
            "Left": np.where(churn == 1, "Yes", "No"),
        }
    )
    kinds = {
        "Spend Index": "numeric", "Complaints": "numeric", "Zip": "categorical",
        "Plan": "categorical", "Value Rounded": "numeric", "Days Since Exit": "numeric",
        "Exit Reason": "categorical", "Left": "boolean",
    }  # fmt: skip
    found = outcome_copies(frame, kinds)
    assert set(found) == {"Value Rounded", "Days Since Exit", "Exit Reason", "Left"}, found
    assert "CLTV" in found["Value Rounded"] and "Churn Value" in found["Days Since Exit"]
    # a catalog's holding column is never judged, and without outcomes nothing is
    assert "Left" not in outcome_copies(frame, kinds, keep=["Left"])
    assert outcome_copies(frame.drop(columns=["Churn Value", "CLTV"]), kinds) == {}
    # a larger frame is judged on a seeded sample, to the same verdicts
    monkeypatch.setattr("core.data.extras.JUDGE_ROWS", 600)
    assert set(outcome_copies(frame, kinds)) == set(found)


def test_dr_adjusts_for_the_ibm_files_extra_columns(ibm_raw, tmp_path):
    """``optimize --report``'s ``estimator_notes`` name the kept extra columns, not the copies."""
    path = tmp_path / "ibm_plus.csv"
    _with_extras(ibm_raw.iloc[:1500]).to_csv(path, index=False)
    report = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "core", "optimize", str(path), "--estimator", "dr"]
    cmd += ["--out", str(tmp_path / "j.csv"), "--report", str(report), "--iters", "30", "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    notes = json.loads(report.read_text())["estimator_notes"]
    adjusted = next(n for n in notes if n.startswith("adjusted for the file's extra columns"))
    assert "Survey Score" in adjusted and "Region Code" in adjusted
    assert "Lifetime Value Copy" not in " ".join(notes) and "Churn Month" not in " ".join(notes)


def test_a_mapping_of_outcomes_alone_keeps_a_columns_file_column_out(ibm_raw, tmp_path):
    """A file already in the IBM layout names its own outcome-derived column in a mapping of
    just ``[outcomes]``; an empty mapping is refused with the fix."""
    from core.common.errors import MappingError
    from core.data.mapping import ColumnMapping

    path = tmp_path / "ibm_plus.csv"
    _with_extras(ibm_raw.sample(400, random_state=0)).to_csv(path, index=False)
    toml = tmp_path / "outcomes.toml"
    toml.write_text('[outcomes]\ncolumns = ["Region Code"]\n', encoding="utf-8")
    data = load(path, mapping=toml)
    assert "Region Code" in data.leakage_excluded and "Region Code" not in data.frame.columns
    assert data.extra_columns == {"Survey Score": "numeric"}
    with pytest.raises(MappingError, match=r"\[outcomes\], \[ignore\] or \[values\]"):
        ColumnMapping.load({})
