"""The dashboard renders in AppTest on the demo population and reports bad uploads clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def test_app_renders_demo_population():
    at = _app().run()
    assert not at.exception
    assert any("Customers" in m.label for m in at.metric)


@pytest.mark.parametrize("payload", [b"", b"Customer ID,Contract\nA,Weekly\n", b"\x00\x01" * 50])
def test_malformed_upload_shows_clear_error_not_exception(payload):
    at = _app()
    at.session_state["source"] = {"kind": "upload", "name": "bad.csv", "bytes": payload}
    at.run()
    assert not at.exception
    assert at.error, "the error box is shown"
    assert "bad.csv" in at.error[0].value


@pytest.mark.real_data
def test_app_renders_ibm_file(ibm_path):
    at = _app()
    at.session_state["source"] = {"kind": "path", "name": str(ibm_path)}
    at.run()
    assert not at.exception
    assert not at.error
    assert any(m.value == "7,043" for m in at.metric)
