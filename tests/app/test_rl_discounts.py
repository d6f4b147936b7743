"""The RL lab's discount section in AppTest: the contextual bandit beside the offline model.

A few hundred training customers (the page's minimum is 200) keep it fast; the figures the page
shows are compared with the core functions' own (:mod:`core.rl.discount_bandit`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from core.campaigns.discounts import discount_check
from core.data.catalog import load_catalog
from core.rl.discount_bandit import LAB_POLICIES, bandit_check

ROOT = Path(__file__).resolve().parents[2]
PRICING = ui.DEFAULT_SETTINGS.with_(estimator="peer-bayes", catalog="pricing", seed=5)


@pytest.fixture(autouse=True)
def _models(demo_models) -> None:
    """The demo population's models on disk (the sidebar's scenario needs them)."""


def _page(settings) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = settings
    at.switch_page("pages/rl_lab.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _spec(chart) -> dict:
    return json.loads(chart.proto.spec)


def test_discount_bandit_section_shows_the_core_figures():
    at = _page(PRICING)
    [product] = [s for s in at.selectbox if s.label == "Product"]
    assert product.options == [
        "Phone Service", "Internet Service", "Device Protection Plan", "Premium Tech Support"
    ]  # fmt: skip
    assert not at.get("plotly_chart")  # nothing drawn before the user asks
    product.set_value("tech_support")
    [rows] = [n for n in at.number_input if n.label == "Training customers"]
    rows.set_value(300)
    [alpha] = [n for n in at.number_input if n.label.startswith("Exploration width")]
    alpha.set_value(0.7)
    [train] = [b for b in at.button if b.label == "Train the discount bandit"]
    train.click()
    at.run(timeout=300)
    assert not at.exception, [e.message for e in at.exception]

    cat = load_catalog("pricing")
    n_eval = ui.DISCOUNT_EVAL_ROWS
    bandit = bandit_check(
        300, 5, catalog=cat, products=["tech_support"], eval_rows=n_eval, alpha=0.7, batch=50
    )["products"]["tech_support"]
    offline = discount_check(300, 5, catalog=cat, eval_rows=n_eval, products=["tech_support"])
    offline = offline["products"]["tech_support"]
    [table] = [d.value for d in at.dataframe if "policy" in d.value.columns]
    shown = table.set_index("policy")
    assert list(shown.index) == list(LAB_POLICIES)
    assert shown.loc[LAB_POLICIES[0], "captured"] == bandit["captured"]
    assert shown.loc[LAB_POLICIES[0], "share_harmful"] == bandit["share_harmful"]
    assert shown.loc[LAB_POLICIES[1], "captured"] == offline["captured"]
    assert shown.loc[LAB_POLICIES[1], "share_harmful"] == offline["share_harmful"]
    assert shown.loc["Always list price", "captured"] == pytest.approx(
        offline["captured_list_price"]
    )

    offered = f"{bandit['training_offers']:,} of the 300 training customers could take"
    assert any(offered in c.value for c in at.caption)

    curve, levels = (_spec(c) for c in at.get("plotly_chart"))
    assert all(f["layout"]["meta"]["alt"] and f["layout"]["title"]["text"] for f in (curve, levels))
    learned = curve["data"][0]
    assert learned["x"] == bandit["curve"]["customers"]
    assert learned["y"] == bandit["curve"]["captured"]
    bars = {t["name"]: t["y"] for t in levels["data"]}
    assert bars["Contextual bandit"] == list(bandit["level_shares"].values())
    assert bars["Truth-optimal"] == list(offline["optimal_level_shares"].values())

    # the same options again: the cached result, no second training
    at.run()
    assert not at.exception and not at.get("progress")
    assert len(at.get("plotly_chart")) == 2


def test_discount_section_says_why_in_one_line_without_levels_or_truth(monkeypatch):
    at = _page(ui.DEFAULT_SETTINGS.with_(estimator="peer-bayes"))  # seed catalog: no levels
    assert any("lists no discount levels" in i.value for i in at.info)
    assert not [n for n in at.number_input if n.label == "Training customers"]

    monkeypatch.setattr("ui.decision.truth", lambda: None)
    at = _page(PRICING)
    assert any("judged on the synthetic truth" in i.value for i in at.info)
    assert not [s for s in at.selectbox if s.label == "Product"]
    assert not at.get("plotly_chart")
