"""Customer page: a customer's feedback texts and purchase timing, or why they are missing.

The demo population comes with its feedback texts (``make demo`` writes
``customers.feedback.parquet``) but no purchase dates: the page shows the texts and says why the
timing is missing. Data without a feedback file gets the same explanation for the texts. A small
synthetic population written with its feedback (``demo-data --feedback``) shows a customer's texts
with their scores and topics.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

import ui
from core.data import synthetic

ROOT = Path(__file__).resolve().parents[2]
FAST = ui.DEFAULT_SETTINGS.with_(estimator="peer-bayes")


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in (at.info, at.success, at.warning, at.error) for e in kind]
    return "\n".join(str(p) for p in parts)


def _app_on(path: Path, page: str) -> AppTest:
    """The app on the customer file ``path`` (its sibling files with it), at ``page``, run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = FAST
    at.session_state["source"] = {"kind": "path", "name": str(path)}
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_customer_page_shows_the_demos_texts_and_says_it_has_no_purchase_dates(
    demo_models,
) -> None:
    fb = pd.read_parquet(synthetic.feedback_path(ui.DEMO_PATH))
    writer = str(fb["Customer ID"].value_counts().index[0])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.query_params["customer"] = writer
    at.switch_page("pages/customer.py").run()
    assert not at.exception, [e.message for e in at.exception]
    text = _texts(at)
    assert "no feedback texts" not in text and "no purchase dates" in text
    tables = [t.value for t in at.table if "sentiment" in getattr(t.value, "columns", [])]
    assert tables and len(tables[0]) == int((fb["Customer ID"] == writer).sum())


def test_customer_page_says_when_the_data_has_no_texts_or_purchase_dates(tmp_path: Path) -> None:
    path = tmp_path / "pop.parquet"
    synthetic.write(path, 300, 5)
    text = _texts(_app_on(path, "pages/customer.py"))
    assert "no feedback texts" in text and "no purchase dates" in text


def test_customer_page_shows_a_customers_texts_with_scores_and_topics(tmp_path: Path) -> None:
    path = tmp_path / "pop.parquet"
    synthetic.write(path, 300, 5, feedback=True)
    fb = pd.read_parquet(synthetic.feedback_path(path))
    cid = str(fb["Customer ID"].value_counts().index[0])
    timing = pd.DataFrame(
        {"id": [cid], "p_alive": [0.42], "expected_purchases": [1.5],
         "next_purchase_date": [pd.Timestamp("2030-01-15")]}
    )  # fmt: skip
    timing.to_parquet(tmp_path / "pop.timing.parquet")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = FAST
    at.session_state["source"] = {"kind": "path", "name": str(path)}
    at.query_params["customer"] = cid
    at.switch_page("pages/customer.py").run()
    assert not at.exception, [e.message for e in at.exception]
    tables = [t.value for t in at.table if "sentiment" in getattr(t.value, "columns", [])]
    assert tables, "no texts table"
    shown = tables[0]
    mine = fb.loc[fb["Customer ID"] == cid]
    assert len(shown) == len(mine)
    assert list(shown.columns)[:4] == ["date", "text", "sentiment", "topics"]
    assert sorted(shown["text"]) == sorted(mine["text"])  # each text whole
    assert all(len(str(d)) == 10 for d in shown["date"])  # a date, no time
    assert "no feedback texts" not in _texts(at) and "no purchase dates" not in _texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["P(alive)"] == "0.42" and metrics["Next purchase"] == "2030-01-15"


def test_segments_page_shows_sentiment_per_segment_or_says_why_not(tmp_path: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.switch_page("pages/segments.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "no feedback texts" not in _texts(at) and "no purchase dates" in _texts(at)

    bare = tmp_path / "bare.parquet"
    synthetic.write(bare, 400, 6)
    at = _app_on(bare, "pages/segments.py")
    assert "no feedback texts" in _texts(at) and "no purchase dates" in _texts(at)

    path = tmp_path / "pop.parquet"
    synthetic.write(path, 400, 6, feedback=True)
    at = _app_on(path, "pages/segments.py")
    assert "no feedback texts" not in _texts(at)
    titles = [str(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert any("Sentiment of each writer" in t for t in titles)


def test_campaigns_page_draws_discount_curves_or_says_the_log_has_no_discount_arms(
    demo_models,
) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = FAST
    at.switch_page("pages/campaigns.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "no discount arms" in _texts(at)

    from core.data.catalog import load_catalog
    from core.data.synthetic.pricing import pricing_campaign_frame

    customers, truth = synthetic.generate_frame(3000, 4)
    log = pricing_campaign_frame(customers, truth, load_catalog("pricing"), seed=4)
    log = log.drop(columns=["product", "discount"]).assign(Married=customers["Married"])
    payload = log.to_csv(index=False).encode()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = FAST
    at.session_state["campaign_source"] = {
        "kind": "upload", "name": "pricing_log.csv", "bytes": payload, "file_id": "p"
    }  # fmt: skip
    at.session_state["camp_source"] = "Upload a log"
    at.switch_page("pages/campaigns.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "no discount arms" not in _texts(at)
    specs = [str(c.proto.spec) for c in at.get("plotly_chart")]
    assert any("Acceptance by discount level" in s for s in specs)


def test_journeys_page_gives_step_dates_when_the_data_has_purchase_timing(
    tmp_path: Path, demo_models
) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["settings"] = FAST
    at.switch_page("pages/journeys.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "no purchase dates" in _texts(at) and "No discount levels" in _texts(at)

    path = tmp_path / "timed.parquet"
    synthetic.write(path, 400, 8)
    customers = pd.read_parquet(path)
    days = pd.to_timedelta((customers.index.to_numpy() % 90) + 10, unit="D")
    pd.DataFrame(
        {
            "id": customers["Customer ID"],
            "p_alive": 0.8,
            "next_purchase_date": pd.Timestamp.today().normalize() + days,
        }
    ).to_parquet(tmp_path / "timed.timing.parquet")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = FAST
    at.session_state["source"] = {"kind": "path", "name": str(path)}
    at.switch_page("pages/journeys.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "no purchase dates" not in _texts(at)
    tables = [d.value for d in at.dataframe if "reason" in getattr(d.value, "columns", [])]
    assert tables and (pd.to_datetime(tables[0]["date"]) >= pd.Timestamp.today().normalize()).all()


def test_journeys_page_gives_each_step_its_discount_level(tmp_path: Path) -> None:
    from core.data.catalog import load_catalog
    from core.data.synthetic.pricing import pricing_campaign_frame

    path = tmp_path / "priced.parquet"
    synthetic.write(path, 1500, 11)
    customers, truth = synthetic.generate_frame(1500, 11)
    log = pricing_campaign_frame(customers, truth, load_catalog("pricing"), seed=11)
    log.to_parquet(tmp_path / "priced.discounts.parquet")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = FAST.with_(catalog="pricing")
    at.session_state["source"] = {"kind": "path", "name": str(path)}
    at.switch_page("pages/journeys.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "No discount levels" not in _texts(at)
    tables = [d.value for d in at.dataframe if "discount" in getattr(d.value, "columns", [])]
    assert tables
    assert set(tables[0]["discount"]) <= {0.0, 0.1, 0.2, 0.3}
