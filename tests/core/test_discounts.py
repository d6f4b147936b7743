"""Discount levels: catalog fields, the synthetic price response, response curves and the level
chosen by value net of margin. The measured figures on truth come from
``benchmarks/discounts.py`` (README), not from these small runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.campaigns.discounts import (
    CURVE_COLUMNS,
    DiscountModel,
    discount_check,
    offerable_products,
    response_curves,
)
from core.common.errors import CatalogError, DataValidationError
from core.data.catalog import load_catalog, parse_catalog
from core.data.synthetic import generate_frame
from core.data.synthetic.pricing import (
    acceptance_at,
    discount_value,
    expected_tenure,
    pricing_campaign_frame,
)


def _catalog(**product) -> dict:
    base = {"key": "x", "label": "X", "column": "Phone Service", "held_if": ["Yes"]}
    return {"catalog": {"name": "t"}, "products": [{**base, **product}]}


def test_catalog_reads_discounts_and_margin() -> None:
    cat = parse_catalog(_catalog(discounts=[0.2, 0.0, 0.1], margin=0.6, monthly_price=10))
    p = cat.products[0]
    assert p.discounts == (0.0, 0.1, 0.2) and p.margin == 0.6
    pricing = load_catalog("pricing")
    assert all(p.discounts and p.margin for p in pricing.products)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"discounts": [0.0, 1.0]}, "outside [0, 1)"),
        ({"discounts": [-0.1]}, "outside [0, 1)"),
        ({"discounts": ["10%"]}, "outside [0, 1)"),
        ({"discounts": [0.1, 0.1]}, "repeat"),
        ({"discounts": []}, "list of levels"),
        ({"margin": 1.5}, "margin"),
        ({"margin": 0}, "margin"),
    ],
)
def test_catalog_refuses_bad_levels_and_margins(fields, needle) -> None:
    with pytest.raises(CatalogError, match=needle.replace("[", r"\[").replace(")", r"\)")):
        parse_catalog(_catalog(**fields))


@pytest.fixture(scope="module")
def population():
    return generate_frame(3000, seed=2)


def test_true_acceptance_rises_with_the_discount_and_value_counts_the_margin(population) -> None:
    customers, truth = population
    cat = load_catalog("pricing")
    p, keys, levels = acceptance_at(customers, truth, cat)
    ok = p[:, :, 0] > 0
    assert (np.diff(p, axis=2)[ok] >= 0).all()
    # list price acceptance is the truth table's p_accept
    for a, k in enumerate(keys):
        assert np.allclose(p[:, a, 0], truth[f"p_accept__{k}"].to_numpy())
    value, _, _, _ = discount_value(customers, truth, cat)
    tenure = expected_tenure(truth)
    prod = cat.products[cat.index(keys[0])]
    expect = p[:, 0, 1] * (prod.margin - levels[0][1]) * prod.monthly_price * tenure
    assert np.allclose(value[:, 0, 1], expect)
    # sensitive customers react more to the same discount
    ps = truth["latent_price_sensitivity"].to_numpy()
    lift = (p[:, 0, -1] - p[:, 0, 0])[ok[:, 0]]
    assert np.corrcoef(ps[ok[:, 0]], lift)[0, 1] > 0.2


def test_campaign_log_and_response_curves(population) -> None:
    customers, truth = population
    cat = load_catalog("pricing")
    log = pricing_campaign_frame(customers, truth, cat, seed=2)
    assert (log["arm"] == "control").mean() == pytest.approx(0.1, abs=0.03)
    again = pricing_campaign_frame(customers, truth, cat, seed=2)
    pd.testing.assert_frame_equal(log, again)
    curves = response_curves(log, customers["Married"])
    assert tuple(curves.columns) == CURVE_COLUMNS
    assert set(curves["segment"]) == {"Yes", "No"}
    assert ((curves["low"] <= curves["rate"]) & (curves["rate"] <= curves["high"])).all()


def test_response_curves_refuse_levels_outside_the_range() -> None:
    log = pd.DataFrame(
        {
            "Customer ID": ["a", "b"],
            "product": ["x", "x"],
            "discount": [0.1, 1.2],
            "accepted": [1, 0],
        }
    )
    with pytest.raises(DataValidationError, match="row"):
        response_curves(log)


def _toy(n: int, slope: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers who may take 'phone'; acceptance logit -1.5 + slope * d (a known truth)."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame(
        {
            "Customer ID": [f"c{i}" for i in range(n)],
            "Age": rng.integers(20, 80, n),
            "Phone Service": "No",
        }
    )
    d = rng.choice([0.0, 0.1, 0.2, 0.3], n)
    p = 1 / (1 + np.exp(-(-1.5 + slope * d)))
    log = pd.DataFrame(
        {
            "Customer ID": customers["Customer ID"],
            "product": "phone",
            "discount": d,
            "accepted": (rng.random(n) < p).astype(int),
        }
    )
    return customers, log


def _one_product_catalog():
    return parse_catalog(
        {
            "catalog": {"name": "toy"},
            "products": [
                {
                    "key": "phone",
                    "label": "Phone",
                    "column": "Phone Service",
                    "held_if": ["Yes"],
                    "monthly_price": 20.0,
                    "margin": 0.5,
                    "discounts": [0.0, 0.1, 0.2, 0.3],
                }
            ],
        }
    )


def test_no_discount_when_it_does_not_pay_and_the_deepest_when_it_does() -> None:
    cat = _one_product_catalog()
    # barely any response: every discount gives margin away to people who would buy anyway
    customers, log = _toy(6000, slope=0.5)
    flat = DiscountModel(cat, features=["Age"], n_boot=8).fit(customers, log)
    assert (flat.choose(customers).level == 0.0).mean() > 0.95
    # a strong response: the level of the known curve with the highest p(d) (margin - d)
    customers, log = _toy(6000, slope=8.0)
    levels = np.array([0.0, 0.1, 0.2, 0.3])
    best = levels[np.argmax((0.5 - levels) / (1 + np.exp(-(-1.5 + 8.0 * levels))))]
    assert best > 0
    steep = DiscountModel(cat, features=["Age"], n_boot=8).fit(customers, log)
    assert (steep.choose(customers).level == best).mean() > 0.95
    assert offerable_products(cat, customers).all()


def test_discount_check_beats_list_price_on_truth() -> None:
    rep = discount_check(4000, 5, eval_rows=2000, n_boot=4)
    assert rep["captured"] > rep["captured_list_price"]
    assert 0 <= rep["share_harmful_customers"] <= 1
    assert set(rep["products"]) == {"phone", "internet", "device_protection", "tech_support"}


def test_the_ceiling_learns_the_true_gains_and_abstains_with_its_risk_level() -> None:
    from core.campaigns.discounts import discount_ceiling

    rep = discount_ceiling(1200, 5, eval_rows=600, risk=(0.0, 1.0, 1e9), folds=2, max_iter=40)
    plain, careful, never = rep["risk=0"], rep["risk=1"], rep["risk=1e+09"]
    assert plain["captured"] > plain["captured_list_price"] + 0.05  # it learned something
    # a larger risk multiple only removes levels: fewer discounts, never more
    assert plain["share_discounted"] >= careful["share_discounted"] >= never["share_discounted"]
    assert never["share_discounted"] == 0 and never["share_harmful_customers"] == 0
    assert never["captured"] == pytest.approx(never["captured_list_price"])


def test_journey_steps_get_the_chosen_level() -> None:
    from core.campaigns.discounts import journey_discounts

    cat = _one_product_catalog()
    customers, log = _toy(3000, slope=8.0)
    choice = DiscountModel(cat, features=["Age"], n_boot=4).fit(customers, log).choose(customers)
    ids = customers["Customer ID"].tolist()
    steps = pd.DataFrame({"customer_id": ids[:3] + ["nobody"], "product": ["phone"] * 4})
    out = journey_discounts(steps, choice, ids)
    assert out["discount"].tolist()[:3] == choice.level[:3, 0].tolist()
    assert out["discount"].iloc[3] == 0.0 and np.isnan(out["value_net_of_margin"].iloc[3])


def test_curves_from_a_campaign_log_with_product_x_discount_arms(population) -> None:
    from core.campaigns.discounts import discount_arms, log_curves
    from core.campaigns.log import read_log

    customers, truth = population
    raw = pricing_campaign_frame(customers, truth, load_catalog("pricing"), seed=2)
    raw = raw.assign(Married=customers["Married"].to_numpy())
    log = read_log(
        raw[["Customer ID", "arm", "accepted", "Married"]], arm="arm", control="control",
        outcomes=["accepted"], id="Customer ID",
    )  # fmt: skip
    curves = log_curves(log, "accepted", "Married")
    assert curves is not None and set(curves["segment"]) == {"Yes", "No"}
    assert set(curves["product"]) == set(raw["product"].dropna())
    assert discount_arms(["control", "tv"]) == {}


def test_bandit_learns_levels_that_beat_list_price_on_truth() -> None:
    from core.rl.discount_bandit import DiscountBandit, bandit_check

    rep = bandit_check(3000, 3, eval_rows=1500, batch=100)
    assert rep["captured"] > rep["captured_list_price"]
    first, last = rep["training_reward_per_offer"].values()
    assert last > first  # it learns while it plays
    # a level that never pays is never picked once learned
    b = DiscountBandit((0.0, 0.2), (10.0, 0.0)).start(1)
    x = np.zeros((50, 1))
    b.update(x, np.zeros(50, dtype=int), np.full(50, 3.0))
    b.update(x, np.ones(50, dtype=int), np.zeros(50))
    assert (b.act(x, explore=False) == 0).all()


def test_bandit_learning_curve_starts_at_list_price_and_ends_at_the_learned_policy() -> None:
    from core.rl.discount_bandit import bandit_check

    ticks: list[tuple[float, float]] = []
    rep = bandit_check(
        1500, 4, products=["internet"], eval_rows=800, batch=50, checkpoints=5,
        progress=lambda d, t: ticks.append((d, t)),
    )  # fmt: skip
    assert list(rep["products"]) == ["internet"]
    one = rep["products"]["internet"]
    curve = one["curve"]
    # before any update every level scores 0 and the lowest (list price) is picked
    assert curve["customers"][0] == 0 and curve["captured"][0] == one["captured_list_price"]
    assert curve["customers"][-1] == one["training_offers"]
    assert curve["captured"][-1] == one["captured"]
    assert np.all(np.diff(curve["customers"]) > 0) and 3 <= len(curve["customers"]) <= 7
    assert ticks[-1][0] == ticks[-1][1] == -(-one["training_offers"] // 50)
    assert sum(one["level_shares"].values()) == pytest.approx(1.0)
    assert sum(one["optimal_level_shares"].values()) == pytest.approx(1.0)


def test_discount_lab_sets_the_bandit_beside_the_offline_model_on_one_truth() -> None:
    from core.common.errors import OptionError
    from core.rl.discount_bandit import (
        LAB_POLICIES,
        bandit_check,
        discount_lab,
        discount_products,
    )

    assert discount_products(load_catalog("seed")) == []
    lab = discount_lab("internet", 1200, 2, eval_rows=600, n_boot=2, alpha=0.3)
    offline = discount_check(1200, 2, eval_rows=600, n_boot=2, products=["internet"])
    bandit = bandit_check(1200, 2, products=["internet"], eval_rows=600, alpha=0.3, batch=50)
    o, b = offline["products"]["internet"], bandit["products"]["internet"]
    assert list(offline["products"]) == ["internet"]
    t = lab.table.set_index("policy")
    assert list(t.index) == list(LAB_POLICIES)
    assert t.loc[LAB_POLICIES[0], "captured"] == b["captured"]
    assert t.loc[LAB_POLICIES[1], "captured"] == o["captured"]
    assert t.loc[LAB_POLICIES[1], "share_harmful"] == o["share_harmful"]
    # one judging population: list price is worth the same share in both checks
    assert o["offers"] == b["offers"]
    assert t.loc["Always list price", "captured"] == pytest.approx(o["captured_list_price"])
    assert (t["captured"] <= 1.0 + 1e-12).all() and t.loc["Truth-optimal level", "captured"] == 1
    assert lab.levels["optimal"].tolist() == list(o["optimal_level_shares"].values())
    assert lab.curve["captured"].tolist() == b["curve"]["captured"]
    with pytest.raises(OptionError, match="tv"):
        discount_lab("tv", 300, 0)


def test_a_level_outside_the_range_exits_2_on_the_command_line(tmp_path, capsys) -> None:
    from pathlib import Path

    from core.cli.main import main as cli

    root = Path(__file__).resolve().parents[2]
    text = (root / "data" / "catalogs" / "pricing.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("discounts = [0.0, 0.1, 0.2, 0.3]", "discounts = [0.0, 1.2]", 1))
    customers, _ = generate_frame(60, seed=1)
    data = tmp_path / "c.csv"
    customers.to_csv(data, index=False)
    assert cli(["validate", str(data), "--catalog", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "discount level 1.2 is outside [0, 1)" in err and "Traceback" not in err
