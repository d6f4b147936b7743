"""The synthetic population's past campaign and the true acceptance probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main as cli
from core.data.synthetic import (
    CONTROL,
    PRODUCTS,
    campaign_frame,
    campaign_truth,
    campaigns_path,
    generate,
    generate_frame,
    holdings_from_frame,
    write,
)
from core.data.synthetic.campaigns import CAMPAIGN_COLUMNS, CAMPAIGN_PRODUCTS, OUTCOMES

N = 8_000


@pytest.fixture(scope="module")
def pop() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_frame(N, seed=21)


@pytest.fixture(scope="module")
def log(pop: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return campaign_frame(*pop, seed=21)


def test_truth_gains_acceptance_probabilities(pop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = pop
    h = holdings_from_frame(customers)
    internet, phone = h[:, PRODUCTS.index("internet")], h[:, PRODUCTS.index("phone")]
    for k, p in enumerate(PRODUCTS):
        col = truth[f"p_accept__{p}"].to_numpy()
        assert ((col >= 0) & (col < 1)).all(), p
        assert (col[h[:, k]] == 0).all(), f"{p}: a held product cannot be accepted"
        can = ~h[:, k]
        if p == "multiple_lines":
            can &= phone
        elif k > PRODUCTS.index("internet"):
            can &= internet
        assert (col[~can] == 0).all() and (col[can] > 0).all(), p
        assert 0.08 < col[can].mean() < 0.35, (p, col[can].mean())
    # The columns follow the d_* effects, in PRODUCTS order.
    names = [c for c in truth.columns if c.startswith("p_accept__")]
    assert names == [f"p_accept__{p}" for p in PRODUCTS]
    assert list(truth.columns).index(names[0]) > list(truth.columns).index("d_satisfaction__offer")


def test_acceptance_depends_on_latent_traits_and_price(pop: tuple[pd.DataFrame, pd.DataFrame]):
    customers, truth = pop
    ps = truth["latent_price_sensitivity"]
    offer = truth["p_accept__offer"]
    eligible = offer > 0
    assert offer[eligible & (ps > 1)].mean() > offer[eligible & (ps < -1)].mean() + 0.1
    tv = truth["p_accept__streaming_tv"]
    young, old = truth["base_youth"] > 0.7, truth["base_youth"] < 0.1
    assert tv[(tv > 0) & young].mean() > tv[(tv > 0) & old].mean() + 0.05
    # Internet (~$26-50 a month) is harder to sell to price-sensitive phone-only customers.
    net = truth["p_accept__internet"]
    assert net[(net > 0) & (ps > 1)].mean() < net[(net > 0) & (ps < -1)].mean()


def test_campaign_log_columns_design_and_control(log: pd.DataFrame) -> None:
    assert tuple(log.columns) == CAMPAIGN_COLUMNS
    assert set(log["arm"]) == {CONTROL, *CAMPAIGN_PRODUCTS}
    k = len(CAMPAIGN_PRODUCTS)
    share = np.sqrt(k) / (k + np.sqrt(k))
    observed = (log["arm"] == CONTROL).mean()
    assert abs(observed - share) < 4 * np.sqrt(share * (1 - share) / N)
    props = log.groupby("arm")["propensity"].unique()
    assert props[CONTROL][0] == pytest.approx(share)
    assert all(len(v) == 1 for v in props)
    assert (log.loc[log["arm"] == CONTROL, "accepted"] == 0).all()
    assert set(log["accepted"]) | set(log["churned"]) <= {0, 1}
    assert (log["revenue"] >= 0).all() and log["revenue"].gt(0).mean() > 0.99


def test_log_outcomes_are_drawn_from_the_campaign_truth(
    pop: tuple[pd.DataFrame, pd.DataFrame], log: pd.DataFrame
) -> None:
    customers, truth = pop
    exp = campaign_truth(customers, truth)
    labels = [CONTROL, *CAMPAIGN_PRODUCTS]
    arm = log["arm"].map({a: i for i, a in enumerate(labels)}).to_numpy()
    rows = np.arange(N)
    for outcome in OUTCOMES:
        mu = exp[outcome][rows, arm]
        resid = log[outcome].to_numpy() - mu
        # mean residual is zero within 4 standard errors
        assert abs(resid.mean()) < 4 * resid.std() / np.sqrt(N), outcome
    np.testing.assert_array_equal(
        exp["accepted"][:, 1 + CAMPAIGN_PRODUCTS.index("offer")], truth["p_accept__offer"]
    )
    assert (exp["accepted"][:, 0] == 0).all()


def test_campaign_is_seeded_and_independent_of_chunking(
    pop: tuple[pd.DataFrame, pd.DataFrame], log: pd.DataFrame
) -> None:
    parts = [campaign_frame(c, t, seed=21) for c, t in generate(5000, 21, chunk_size=1300)]
    pd.testing.assert_frame_equal(pd.concat(parts), log.iloc[:5000], check_exact=True)
    other = campaign_frame(*pop, seed=22)
    assert (other["arm"] != log["arm"]).mean() > 0.5


def test_campaign_options_are_checked(pop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = pop
    with pytest.raises(ValueError, match="products"):
        campaign_frame(customers, truth, products=("offer", "yacht"))
    with pytest.raises(ValueError, match="control_share"):
        campaign_frame(customers, truth, control_share=1.0)
    small = campaign_frame(customers.iloc[:50], truth.iloc[:50], products=("offer",), horizon=3)
    assert set(small["arm"]) <= {CONTROL, "offer"} and small["revenue"].max() < 130 * 3


def test_demo_data_writes_the_campaign_beside_the_population(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo.parquet"
    assert cli(["demo-data", "--rows", "1500", "--seed", "4", "--out", str(out), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (
        summary["campaigns"] == str(campaigns_path(out)) == str(tmp_path / "demo.campaigns.parquet")
    )
    customers, truth = generate_frame(1500, seed=4)
    got = pd.read_parquet(campaigns_path(out))
    pd.testing.assert_frame_equal(got, campaign_frame(customers, truth, 4).reset_index(drop=True))
    # the population itself is what it was without the campaign
    pd.testing.assert_frame_equal(pd.read_parquet(out), customers.reset_index(drop=True))
    write(tmp_path / "plain.csv", 100, seed=4)
    assert not campaigns_path(tmp_path / "plain.csv").exists()
