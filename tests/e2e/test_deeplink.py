"""A deep link opened first on a fresh server still goes through the router (app.py)."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import serve, wait_for_run

pytestmark = pytest.mark.e2e


def test_deep_link_on_a_fresh_server_uses_the_router(browser):
    with serve("streamlit-deeplink.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(f"{url}/segments")
            wait_for_run(page, timeout=300_000)
            nav = page.get_by_test_id("stSidebarNav")
            nav.get_by_text("Decide").wait_for(timeout=60_000)  # the router's grouped navigation
            text = nav.inner_text()
            assert "Export & scenarios" in text and "rl_lab" not in text
            # the heading may still be on its way after the first run on a fresh server
            heading = page.get_by_role("heading", name="Segments").first
            heading.wait_for(state="visible", timeout=60_000)
            assert heading.is_visible()
            assert page.get_by_test_id("stException").count() == 0
        finally:
            context.close()
