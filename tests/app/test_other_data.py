"""The dashboard on other businesses' files: the mapping assistant, then every page.

The other operator's churn export (no id, plans as products) goes through the assistant's
proposal unchanged; the e-commerce table gets a catalog drafted from its category column; a
retail table without any churn outcome says what is missing instead of drawing empty charts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.synthetic.transactions import generate_transactions
from core.data.transactions import customers_from_transactions
from core.pipeline import Settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import make_churn_export  # noqa: E402
import make_ecommerce  # noqa: E402

PAGES = [
    "pages/overview.py",
    "pages/opportunity.py",
    "pages/journeys.py",
    "pages/customer.py",
    "pages/segments.py",
    "pages/models.py",
    "pages/export.py",
    "pages/rl_lab.py",
    "pages/data.py",
]


def _upload(name: str, payload: bytes) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["settings"] = Settings(solver="exact")
    at.session_state["source"] = {"kind": "upload", "name": name, "bytes": payload}
    return at


def _apply_assistant(at: AppTest) -> AppTest:
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert any(s.value == "Map your columns" for s in at.subheader)
    assert at.success, [e.value for e in at.error]  # the proposal validates as it is
    next(b for b in at.button if b.label == "Apply the mapping").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


@pytest.fixture(autouse=True)
def _drafts(tmp_path, monkeypatch) -> None:
    """Catalogs the assistant drafts go to a temporary folder, not data/catalogs/drafts."""
    import ui.assistant

    monkeypatch.setattr(ui.assistant, "DRAFTS", tmp_path / "drafts")


def test_churn_export_through_the_assistant_then_every_page():
    payload = make_churn_export.generate(3333, 7).to_csv(index=False).encode()
    at = _apply_assistant(_upload("churn.csv", payload))
    assert at.session_state["settings"].catalog == "telecom_plans"
    assert at.session_state["mapping"]["columns"] == {
        "Account length": "Tenure in Months",
        "Churn": "Churn Label",
    }
    assert any(m.value == "3,333" for m in at.metric)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
    at.switch_page("pages/models.py").run()
    notes = " ".join(i.value for i in at.info)
    assert "Not in this data" in notes and "CLTV" in notes  # said, not an empty chart


def test_ecommerce_table_with_a_drafted_catalog(tmp_path):
    payload = make_ecommerce.generate(1500, 5).to_csv(index=False).encode()
    at = _apply_assistant(_upload("shop.csv", payload))
    catalog = at.session_state["settings"].catalog
    assert catalog.endswith(".toml") and Path(catalog).parent == tmp_path / "drafts"
    mapping = at.session_state["mapping"]["columns"]
    assert mapping["Lifetime_Value"] == "CLTV" and mapping["Purchase_Frequency"] == "Frequency"
    for page in ("pages/segments.py", "pages/opportunity.py", "pages/models.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.error])


def test_retail_table_without_churn_says_what_is_missing(tmp_path):
    table = customers_from_transactions(generate_transactions(200, 2), as_of="2023-12-20")
    assert "Churn Label" not in table.customers  # the window is not observed
    path = tmp_path / "customers.parquet"
    table.customers.to_parquet(path)
    at = _upload("customers.parquet", path.read_bytes())
    at.session_state["mapping"] = {"catalog": "retail"}
    at.session_state["settings"] = Settings(solver="exact", catalog="retail")
    at.run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
    at.switch_page("pages/overview.py").run()
    assert any("no key factor can be modelled" in e.value for e in at.error)
