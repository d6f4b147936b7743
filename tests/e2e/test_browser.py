"""The dashboard in real headless Chromium: every page renders, a weight slider re-optimizes the
journeys, and the journey CSV downloads with one row per customer and step."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest

from core.pipeline import INTERVAL_COLUMNS, TABLE_COLUMNS
from tests.e2e.helpers import open_page, rerun_after, screenshot, wait_for_run

COLUMNS = [*TABLE_COLUMNS, *INTERVAL_COLUMNS]  # the default dr estimator gives intervals

pytestmark = pytest.mark.e2e

#: (sidebar title, url path, screenshot name or None)
PAGES = [
    ("Overview", "", "overview"),
    ("Opportunity", "opportunity", "opportunity"),
    ("Journeys", "journeys", "journeys"),
    ("Customer", "customer", "customer"),
    ("Segments", "segments", None),
    ("Models", "models", None),
    ("Export & scenarios", "export", None),
    ("RL lab", "rl_lab", None),
    ("Data", "data", "data"),
]


def _no_exception(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert not page.get_by_text("Traceback (most recent call last)").count()


def test_every_page_renders(page, app_url):
    open_page(page, app_url)
    _no_exception(page)
    nav = page.get_by_test_id("stSidebarNav")
    for i, (title, _, shot) in enumerate(PAGES):
        if i:  # the first is the default page, already open (a click need not rerun it)
            rerun_after(
                page,
                lambda t=title: nav.get_by_role("link", name=t, exact=True).click(),
                repeatable=True,
            )
            wait_for_run(page, 300_000)
        _no_exception(page)
        assert page.locator("h1").first.is_visible()
        if shot:
            page.wait_for_load_state("networkidle")
            screenshot(page, shot)
    assert page.get_by_text("Customers").first.is_visible()  # the Data page's metrics


def _download_csv(page) -> pd.DataFrame:
    with page.expect_download() as info:
        # the journey table's button (the strategies' table has one too)
        page.locator(".st-key-j_table_csv").get_by_role("button").click()
    return pd.read_csv(io.BytesIO(Path(info.value.path()).read_bytes()))


def test_weight_slider_changes_journeys_and_csv(page, app_url):
    open_page(page, app_url, "journeys")
    _no_exception(page)
    before = _download_csv(page)
    caption = page.get_by_text(re.compile(r"rows \(one per customer and step\)")).inner_text()
    assert list(before.columns) == COLUMNS
    assert len(before) == int(caption.split()[0].replace(",", ""))
    assert (before.groupby("customer_id")["step"].min() == 1).all()

    page.get_by_text("Weights", exact=True).click()
    slider = page.get_by_test_id("stSlider").filter(has_text="Weight: Churn risk")
    thumb = slider.get_by_role("slider")
    rerun_after(
        page, lambda: thumb.press("End"), repeatable=True
    )  # 1.0 -> 3.0: one change, one rerun
    assert slider.get_by_test_id("stSliderThumbValue").inner_text() == "3.00"
    _no_exception(page)
    assert "w=1,3,1" in unquote(page.url)  # the scenario is in the URL
    after = _download_csv(page)
    assert list(after.columns) == COLUMNS
    merged = before.merge(after, on=["customer_id", "step"], how="outer", indicator=True)
    changed = (merged["_merge"] != "both") | (merged["product_x"] != merged["product_y"])
    changed |= (merged["churn_x"] - merged["churn_y"]).abs() > 1e-9
    assert changed.any(), "a heavier churn weight changes the journeys"
    assert (after["churn"].sum()) > before["churn"].sum()


def test_the_value_harm_tradeoff_draws_in_the_browser(page, app_url):
    open_page(page, app_url, "opportunity")
    _no_exception(page)
    button = page.get_by_role("button", name="Show the value / harm trade-off")
    rerun_after(page, button.click)
    wait_for_run(page, 300_000)
    _no_exception(page)
    page.get_by_text("Within 5% made worse off").first.wait_for(timeout=60_000)
    button.wait_for(state="detached", timeout=60_000)  # drawn: the button is gone
    chart = page.locator("[data-testid='stVegaLiteChart']").filter(has_text="Value against harm")
    assert chart.count() == 1
    chart.first.scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    screenshot(page, "opportunity-tradeoff")
