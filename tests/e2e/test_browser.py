"""The dashboard in real headless Chromium: pages open and render without an exception."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import screenshot, wait_for_run

pytestmark = pytest.mark.e2e


def test_data_page_renders(page, app_url):
    page.goto(app_url)
    wait_for_run(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text("Customers").first.is_visible()
    screenshot(page, "data")
