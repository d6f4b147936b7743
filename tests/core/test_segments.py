"""Segmentation: minimum share, reproducibility, stability, names, methods, insights, CLI."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from core.cli import segment as segment_cli
from core.common.errors import CJOError
from core.data.io import load
from core.insights import segments as S


def blobs(sizes=(150, 120, 90), seed=0, noise_points=0, spread=1.0) -> pd.DataFrame:
    """A customer frame of well-separated groups (tenure, charge, revenue, referrals, CLTV)."""
    rng = np.random.default_rng(seed)
    centers = np.array(
        [
            [6.0, 30.0, 200.0, 0.0, 2500.0],
            [60.0, 95.0, 6000.0, 6.0, 6000.0],
            [30.0, 60.0, 2000.0, 2.0, 4200.0],
            [70.0, 20.0, 1500.0, 10.0, 3000.0],
        ]
    )
    sd = np.array([2.0, 3.0, 150.0, 0.5, 150.0]) * spread
    parts, truth = [], []
    for g, size in enumerate(sizes):
        parts.append(centers[g] + rng.normal(size=(size, 5)) * sd)
        truth += [g] * size
    x = np.vstack(parts)
    if noise_points:
        lo, hi = centers.min(axis=0) - 10 * sd, centers.max(axis=0) + 10 * sd
        x = np.vstack([x, rng.uniform(lo, hi, size=(noise_points, 5))])
        truth += [-1] * noise_points
    x = np.clip(x, 0, None)
    n = len(x)
    return pd.DataFrame(
        {
            "Customer ID": [f"C{i:05d}" for i in range(n)],
            "Tenure in Months": np.round(x[:, 0]).astype(int),
            "Monthly Charge": x[:, 1],
            "Total Revenue": x[:, 2],
            "Number of Referrals": np.round(x[:, 3]).astype(int),
            "CLTV": x[:, 4],
            "Churn Value": (rng.random(n) < np.where(np.array(truth) == 0, 0.6, 0.1)).astype(int),
            "_truth": truth,
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return blobs()


@pytest.fixture(scope="module")
def seg(frame) -> S.Segmentation:
    return S.segment(frame, random_state=3, n_stability=3)


# ---------------------------------------------------------------------------------------------
# minimum share


def test_auto_k_rejects_segments_below_min_share():
    df = blobs(sizes=(250, 230, 10))  # a far-away group of 2% of customers
    seg = S.segment(df, min_share=0.05, n_stability=0)
    assert min(seg.shares.values()) >= 0.05
    # the rule did something: some k with the tiny group was tried and rejected
    rejected = seg.k_scores[~seg.k_scores["admissible"]]
    assert len(rejected) > 0 and (rejected["min_share"] < 0.05).all()


def test_min_share_zero_lets_the_user_keep_a_tiny_segment():
    df = blobs(sizes=(250, 230, 10))
    seg = S.segment(df, min_share=0, k=3, n_stability=0)
    assert min(seg.shares.values()) < 0.05
    tiny = min(seg.shares, key=seg.shares.get)
    members = df["_truth"].to_numpy()[seg.labels == tiny]
    assert set(members) == {2}  # the tiny segment is exactly the small far group


def test_fixed_k_below_min_share_is_refused_with_the_fix():
    df = blobs(sizes=(250, 230, 10))
    with pytest.raises(CJOError, match="min_share"):
        S.segment(df, k=3, min_share=0.05, n_stability=0)


def test_impossible_min_share_raises_clear_error(frame):
    with pytest.raises(CJOError, match="lower min_share"):
        S.segment(frame, k_range=[8], min_share=0.2, n_stability=0)


# ---------------------------------------------------------------------------------------------
# reproducibility, stability, recovery


def test_same_seed_same_labels_and_names(frame, seg):
    again = S.segment(frame, random_state=3, n_stability=3)
    np.testing.assert_array_equal(again.labels, seg.labels)
    assert again.names == seg.names
    assert again.stability == seg.stability


def test_recovers_well_separated_groups_with_high_stability(frame, seg):
    from sklearn.metrics import adjusted_rand_score

    assert seg.k == 3
    assert adjusted_rand_score(frame["_truth"], seg.labels) > 0.95
    assert -1 <= seg.stability["ari_min"] <= seg.stability["ari_mean"] <= 1
    assert seg.stability["ari_min"] > 0.9
    assert seg.stability["n_runs"] == 3


def test_stability_is_lower_on_structureless_data():
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame(
        {
            "Customer ID": [f"U{i}" for i in range(n)],
            "Tenure in Months": rng.integers(1, 72, n),
            "Monthly Charge": rng.uniform(20, 110, n),
            "Total Revenue": rng.uniform(20, 8000, n),
            "Number of Referrals": rng.integers(0, 10, n),
        }
    )
    noise_seg = S.segment(df, k=6, min_share=0, n_stability=4)
    blob_seg = S.segment(blobs(), k=3, n_stability=4)
    assert noise_seg.stability["ari_mean"] < blob_seg.stability["ari_mean"]


def test_segment_ids_ordered_by_size(seg):
    sizes = [int((seg.labels == s).sum()) for s in seg.segment_ids]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(seg.shares.values()) == pytest.approx(1.0)


def test_outcome_columns_never_drive_the_clustering(frame, seg):
    shuffled = frame.copy()
    shuffled["Churn Value"] = np.random.default_rng(1).permutation(shuffled["Churn Value"])
    shuffled["Churn Score"] = np.random.default_rng(2).integers(0, 100, len(frame))
    other = S.segment(shuffled, random_state=3, n_stability=0)
    np.testing.assert_array_equal(other.labels, seg.labels)
    assert "Churn Value" not in other.features and "churn" not in other.features


# ---------------------------------------------------------------------------------------------
# methods


@pytest.mark.parametrize("method", S.METHODS)
def test_each_method_runs_on_a_small_frame(method):
    df = blobs(sizes=(80, 70, 60), seed=2)
    seg = S.segment(df, method=method, n_stability=2, random_state=1)
    assert seg.method == method
    assert len(seg.labels) == len(df)
    assert seg.k >= 1
    real = [s for s in seg.shares if s != S.NOISE]
    assert min(seg.shares[s] for s in real) >= 0.05
    assert set(seg.names) == set(np.unique(seg.labels).tolist())
    assert seg.silhouette is None or -1 <= seg.silhouette <= 1
    assert -1 <= seg.stability["ari_mean"] <= 1


def test_dbscan_reports_noise_share():
    df = blobs(sizes=(200, 200, 200), noise_points=40, seed=4, spread=0.6)
    seg = S.segment(df, method="dbscan", n_stability=2)
    assert seg.noise_share is not None
    assert seg.noise_share == pytest.approx(float((seg.labels == S.NOISE).mean()))
    assert 0 < seg.noise_share <= 0.25
    assert seg.names[S.NOISE] == S.NOISE_NAME
    assert seg.k == 3
    assert "noise_share" in seg.report() and seg.report()["noise_share"] > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "spectral"}, "unknown method"),
        ({"k": 1}, "choose 2 to"),
        ({"k": "many"}, "auto"),
        ({"k": 4, "method": "dbscan"}, "auto"),
        ({"min_share": 0.7}, "min_share"),
        ({"churn_proba": [0.5, 0.2]}, "churn_proba"),
        ({"features": ["tenure", "shoe_size"]}, "unknown features"),
    ],
)
def test_bad_arguments_raise_cjo_error(frame, kwargs, match):
    with pytest.raises(CJOError, match=match):
        S.segment(frame, n_stability=0, **kwargs)


def test_too_few_rows_and_non_numeric_values_are_refused(frame):
    with pytest.raises(CJOError, match="too few"):
        S.segment(frame.head(5))
    bad = frame.copy()
    bad["CLTV"] = bad["CLTV"].astype(object)
    bad.loc[3, "CLTV"] = "n/a"
    with pytest.raises(CJOError, match="cltv"):
        S.segment(bad)


def test_churn_proba_is_a_feature_and_missing_factors_are_noted(frame):
    p = np.linspace(0.05, 0.9, len(frame))
    seg = S.segment(frame, churn_proba=p, n_stability=0)
    assert "churn_proba" in seg.features
    assert any("n_products" in note for note in seg.notes)  # no product columns in `frame`
    assert "churn_proba" not in S.segment(frame, n_stability=0).features


# ---------------------------------------------------------------------------------------------
# names


def test_names_are_deterministic_unique_and_descriptive(frame, seg):
    assert len(set(seg.names.values())) == len(seg.names)
    by_truth = {
        g: seg.names[int(np.bincount(seg.labels[frame["_truth"] == g]).argmax())] for g in range(3)
    }
    # group 0: short tenure, low charge and CLTV, churn 60% (others 10%)
    assert "at risk" in by_truth[0] and "low-value" in by_truth[0]
    assert "at risk" not in by_truth[1] + by_truth[2]
    # group 1: longest tenure, highest CLTV and referrals
    assert {"loyal", "high-value"} & set(by_truth[1].split())
    other = S.segment(frame, random_state=11, n_stability=0)
    # different seed, same structure: the same names for the same groups
    assert sorted(other.names.values()) == sorted(seg.names.values())


def test_colliding_names_get_a_qualifier():
    profile = pd.DataFrame(
        {
            "segment_id": [0, 1, 2],
            "tenure": [5.0, 6.0, 50.0],
            "referrals": [0.0, 5.0, 1.0],
        }
    )
    names = S.name_segments(
        profile, {"tenure": 30.0, "referrals": 1.0}, {"tenure": 20.0, "referrals": 2.0}
    )
    assert names[0] == "new"
    assert names[1] != "new" and "new" in names[1]
    assert len(set(names.values())) == 3


def test_rename_and_apply_stored_names(seg):
    old = seg.names[0]
    renamed = S.rename(seg, {old: "Rescue team"})
    assert renamed.names[0] == "Rescue team"
    assert seg.names[0] == old  # the original is untouched (frozen result)
    assert renamed.profile.loc[renamed.profile["segment_id"] == 0, "name"].item() == "Rescue team"
    assert (renamed.label_names() == "Rescue team").sum() == (seg.labels == 0).sum()
    stored = json.loads(json.dumps(renamed.names))  # a scenario stores ids as text
    restored = S.apply_names(seg, stored)
    assert restored.names == renamed.names
    with pytest.raises(CJOError, match="unique"):
        S.rename(seg, {seg.names[0]: seg.names[1]})
    with pytest.raises(CJOError, match="no segment"):
        S.rename(seg, {"nobody": "x"})


# ---------------------------------------------------------------------------------------------
# insights


def test_insights_contact_first_sentence_names_segment_size_and_product(frame, seg):
    rng = np.random.default_rng(0)
    value = rng.normal(10, 1, len(frame))
    best_seg = seg.segment_ids[-1]
    value[seg.labels == best_seg] += 50  # this segment has the best journeys
    offers = np.where(seg.labels == best_seg, "tech_support", "online_backup").astype(object)
    offers[:3] = None
    ins = S.insights(frame, seg, journey_value=value, first_offer=offers)
    name, size = seg.names[best_seg], int((seg.labels == best_seg).sum())
    sentence = ins["contact_first"]
    assert sentence.startswith(f"Contact first: {name}, {size:,} customers")
    assert "offer Premium Tech Support first" in sentence
    assert ins["segment_ranking"][0] == name
    ranking = ins["customer_ranking"]
    assert (ranking["segment"].iloc[:size] == name).all()
    assert ranking["score"].is_monotonic_decreasing
    ct = ins["crosstab"]
    assert ct.loc[name, "Premium Tech Support"] == size - int((seg.labels[:3] == best_seg).sum())
    table = ins["segments"].set_index("name")
    assert table.loc[name, "opportunity_total"] == pytest.approx(
        value[seg.labels == best_seg].sum()
    )


def test_revenue_at_risk_uses_prediction_else_observed_churn(frame, seg):
    p = np.full(len(frame), 0.25)
    ins = S.insights(frame, seg, churn_proba=p, horizon_months=6)
    t = ins["segments"].set_index("segment_id")
    for sid in seg.segment_ids:
        m = seg.labels == sid
        expect = (0.25 * frame["Monthly Charge"].to_numpy()[m] * 6).sum()
        assert t.loc[sid, "revenue_at_risk"] == pytest.approx(expect)
        assert t.loc[sid, "churn_rate"] == pytest.approx(frame["Churn Value"].to_numpy()[m].mean())
    observed = S.insights(frame, seg)
    t2 = observed["segments"].set_index("segment_id")
    m = seg.labels == 0
    churned = frame["Churn Value"].to_numpy()[m] == 1
    assert t2.loc[0, "revenue_at_risk"] == pytest.approx(
        frame["Monthly Charge"].to_numpy()[m][churned].sum() * 12
    )
    assert "observed churn" in " ".join(observed["notes"])
    assert (
        "Contact first:" in observed["contact_first"]
        and "run the optimizer" in (observed["contact_first"])
    )


def test_insights_refuses_mismatched_inputs(frame, seg):
    with pytest.raises(CJOError, match="same frame"):
        S.insights(frame.head(50), seg)
    with pytest.raises(CJOError, match="journey_value"):
        S.insights(frame, seg, journey_value=[1.0, 2.0])


def test_projection_is_sampled_by_segment(frame, seg):
    proj = S.projection_2d(frame, seg, max_points=100)
    assert len(proj) <= 100 and set(proj.columns) >= {"x", "y", "segment"}
    shares = proj["segment"].value_counts(normalize=True)
    for sid in seg.segment_ids:
        assert shares[seg.names[sid]] == pytest.approx(seg.shares[sid], abs=0.03)
    full = S.projection_2d(frame, seg)
    assert len(full) == len(frame) and full["x"].std() > full["y"].std() > 0


def test_projection_cells_count_every_customer_once_per_segment_and_cell(frame, seg):
    full = S.projection_2d(frame, seg)
    cells = S.projection_cells(full, bins=8)
    assert cells["customers"].sum() == len(frame)
    by_segment = cells.groupby("segment_id")["customers"].sum()
    for sid in seg.segment_ids:
        assert by_segment[sid] == int((seg.labels == sid).sum())
        assert len(cells[cells["segment_id"] == sid]) <= 8 * 8
    assert len(cells) < len(frame)
    assert list(dict.fromkeys(cells["segment"])) == list(dict.fromkeys(full["segment"]))
    one = S.projection_cells(full, bins=1)
    assert len(one) == seg.k and one["x"].tolist() == pytest.approx(
        full.groupby("segment_id", sort=False)["x"].mean().tolist()
    )
    with pytest.raises(CJOError, match="bins=0"):
        S.projection_cells(full, bins=0)


def test_rfm_view_scores_follow_documented_proxies(fixtures_dir):
    df = load(fixtures_dir / "classic_telco.csv").frame
    rfm = S.rfm_view(df)
    assert rfm[["R", "F", "M"]].isin(range(1, 6)).all().all()
    by_tenure = rfm.sort_values("months_since_joining")
    assert by_tenure["R"].is_monotonic_increasing  # longer tenure scores higher (inverse recency)
    assert "referrals" not in rfm  # classic export: no referrals column, left out


def test_page_data_has_everything_the_page_draws(frame):
    page = S.page_data(frame, random_state=3, names={"0": "Focus"})
    assert page.segmentation.names[0] == "Focus"
    assert list(page.sizes.columns) == ["segment", "size", "share"]
    assert set(page.distributions["factor"]) >= {"CLTV", "Monthly charge", "Tenure (months)"}
    assert not page.projection.empty and "Contact first" in page.insights["contact_first"]
    assert "Focus" in S.readme_table(page.insights)


# ---------------------------------------------------------------------------------------------
# CLI


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    segment_cli.add_cli(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_writes_segments_and_report(tmp_path, fixtures_dir, capsys):
    out, report = tmp_path / "seg.csv", tmp_path / "r" / "report.json"
    data = str(fixtures_dir / "classic_telco.csv")
    code = _run_cli(["segment", data, "--k", "2", "--out", str(out), "--report", str(report)])
    assert code == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["Customer ID", "Segment ID", "Segment Name"]
    assert len(table) == 40
    rep = json.loads(report.read_text())
    assert {"method", "k", "silhouette", "stability", "segment_shares"} <= set(rep)
    assert rep["k"] == 2 and sum(rep["segment_shares"].values()) == pytest.approx(1.0)
    assert any("cltv left out" in n for n in rep["notes"])  # classic export has no CLTV
    assert "Contact first:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "match"),
    [(["--method", "magic"], "method"), (["--k", "zero"], "auto"), (["--k", "1"], "choose 2")],
)
def test_cli_user_errors_are_cjo_errors(fixtures_dir, extra, match):
    with pytest.raises(CJOError, match=match):
        _run_cli(["segment", str(fixtures_dir / "classic_telco.csv"), "--quiet", *extra])


def test_cli_reads_optimizer_journeys(tmp_path, fixtures_dir, capsys):
    ids = load(fixtures_dir / "classic_telco.csv").frame["Customer ID"]
    journeys = pd.DataFrame(
        {
            "Customer ID": ids,
            "journey_value": np.arange(len(ids), dtype=float),
            "first_offer": "phone",
        }
    )
    path = tmp_path / "journeys.csv"
    journeys.to_csv(path, index=False)
    code = _run_cli(
        ["segment", str(fixtures_dir / "classic_telco.csv"), "--quiet", "--journeys", str(path)]
    )
    assert code == 0
    assert "offer Phone Service first: expected journey value" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# real data


@pytest.mark.real_data
def test_ibm_kmeans_auto_segments_are_all_above_five_percent(ibm_path):
    frame = load(ibm_path).frame
    seg = S.segment(frame, method="kmeans", k="auto", n_stability=3)
    assert 2 <= seg.k <= 8
    assert min(seg.shares.values()) >= 0.05
    assert seg.silhouette is not None and 0 < seg.silhouette <= 1
    assert seg.stability["ari_mean"] > 0.8
    assert set(seg.features) == {
        "tenure",
        "monthly_charge",
        "total_revenue",
        "n_products",
        "referrals",
        "cltv",
    }
    ins = S.insights(frame, seg)
    assert ins["segments"]["size"].sum() == len(frame)
    assert ins["contact_first"].startswith(f"Contact first: {ins['segment_ranking'][0]}")
