"""Every page at 1280 px and at 1920 px wide (screenshots, no horizontal overflow, every chart,
plotly or Vega-Lite, titled within its width and with a text alternative), and the Overview's
executive report: downloaded, opened without network, the same numbers as the page, its PDF the
same pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.insights.executive import SECTIONS, read_numbers
from core.ops.pdf import pdf_outline, pdf_pages
from tests.e2e.helpers import ARTIFACTS, open_page, rerun_after, screenshot, wait_for_run

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 1920)

# Per chart: its title's text, whether the title fits inside the chart, its two axis titles
# (where it has axes) and its text alternative.
_CHARTS = """() => [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stPlotlyChart']")]
  .map(c => {
    const box = c.getBoundingClientRect();
    const title = c.querySelector('.gtitle');
    const t = title ? title.getBoundingClientRect() : null;
    const labelled = c.closest('[aria-label]') || c.querySelector('[aria-label]');
    return {
      title: title ? title.textContent : '',
      fits: !!t && t.left >= box.left - 1 && t.right <= box.right + 1,
      axes: c.querySelectorAll('.xtitle, .ytitle').length,
      cartesian: !!c.querySelector('.cartesianlayer .xy'),
      alt: labelled ? labelled.getAttribute('aria-label') : '',
      width: box.width,
    };
  })"""
# The same for the keyed Vega-Lite charts (drawn as SVG: the title, its subtitle and the axis
# titles are text marks; the specification's description is the element's aria-label).
_VEGA = """() => [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stVegaLiteChart']")]
  .map(c => {
    const box = c.getBoundingClientRect();
    const titles = [...c.querySelectorAll('.role-title-text text')];
    const spans = titles.map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
    return {
      title: titles.map(e => e.textContent).join(' '),
      fits: spans.length > 0 && spans.every(r => r.left >= box.left - 1 && r.right <= box.right + 1),
      axes: c.querySelectorAll('.role-axis-title').length,
      cartesian: c.querySelectorAll('.role-axis').length > 0,
      alt: c.getAttribute('aria-label') || '',
      width: box.width,
    };
  })"""
_OVERFLOW = """() => { const m = document.querySelector("[data-testid='stMain']");
  return m.scrollWidth - m.clientWidth; }"""
# Texts cut short with an ellipsis (a KPI's value or label, a button's label).
_CUT = """() => [...document.querySelectorAll("[data-testid='stMain'] *")]
  .filter(e => getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1
               && e.closest("[data-testid='stMetric'], button"))
  .map(e => e.innerText.trim()).filter(t => t)"""
_METRICS = """() => [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stMetric']")]
  .map(m => [m.querySelector("[data-testid='stMetricLabel']").innerText.trim(),
             m.querySelector("[data-testid='stMetricValue']").innerText.trim(),
             (m.querySelector("[data-testid='stMetricDelta']") || {innerText: ''}).innerText.trim()])"""


def _no_exception(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert not page.get_by_text("Traceback (most recent call last)").count()


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_at_width(browser, app_url, width):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, app_url)
        nav = page.get_by_test_id("stSidebarNav")
        titles = [t.strip().split("\n")[-1] for t in nav.get_by_role("link").all_inner_texts()]
        assert len(titles) >= 9, titles
        for i, title in enumerate(titles):
            if i:  # the first is the default page, already open (a click would not rerun)
                link = nav.get_by_role("link", name=title, exact=True)
                rerun_after(page, link.click, timeout=300_000, repeatable=True)
                wait_for_run(page, 300_000)
            _no_exception(page)
            assert page.locator("h1").first.is_visible(), title
            assert page.evaluate(_OVERFLOW) <= 1, f"{title} overflows at {width} px"
            assert page.evaluate(_CUT) == [], f"{title}: texts cut short at {width} px"
            for chart in page.evaluate(_CHARTS) + page.evaluate(_VEGA):
                where = f"{title} at {width} px: {chart}"
                assert chart["title"].strip(), f"a chart without a title on {where}"
                assert chart["fits"], f"a title wider than its chart on {where}"
                assert chart["alt"], f"a chart without a text alternative on {where}"
                if chart["cartesian"]:
                    assert chart["axes"] >= 2, f"a chart without axis titles on {where}"
            screenshot(page, f"w{width}-{_slug(title)}")
    finally:
        context.close()


def test_executive_report_download(browser, app_url, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, app_url)
        _no_exception(page)
        shown = {label: (value, delta or None) for label, value, delta in page.evaluate(_METRICS)}
        buttons = page.get_by_test_id("stDownloadButton")
        with page.expect_download(timeout=120_000) as info:
            buttons.filter(has_text="Executive report").get_by_role("button").click()
        html_path = tmp_path / "report.html"
        html_path.write_bytes(Path(info.value.path()).read_bytes())
        text = html_path.read_text(encoding="utf-8")
        numbers = read_numbers(text)
        assert numbers.keys() == shown.keys()
        for label, (value, delta) in numbers.items():
            assert shown[label][0] == value, label
            if delta is not None:  # the page draws the delta with an arrow icon before it
                assert shown[label][1] and shown[label][1].endswith(delta), label
        pdf = None
        if buttons.filter(has_text="PDF").count():
            with page.expect_download(timeout=120_000) as got:
                buttons.filter(has_text="PDF").get_by_role("button").click()
            pdf = Path(got.value.path()).read_bytes()
    finally:
        context.close()

    offline = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    try:
        doc = offline.new_page()
        requests: list[str] = []
        doc.on("request", lambda r: requests.append(r.url))
        doc.goto(html_path.as_uri())
        assert [h.strip() for h in doc.locator("h2").all_inner_texts()] == list(SECTIONS)
        assert doc.locator("svg[role='img']").count() >= 2
        assert all(box["width"] > 100 for box in doc.locator("svg").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().toJSON())"))  # fmt: skip
        assert [u for u in requests if not u.startswith("file:")] == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        doc.screenshot(path=str(ARTIFACTS / "executive-report.png"), full_page=True)
        if pdf is not None:
            printed = doc.pdf(format="A4", prefer_css_page_size=True, print_background=True)
            assert pdf.startswith(b"%PDF")
            assert pdf_pages(pdf) == pdf_pages(printed) >= 1
            assert [t for t in pdf_outline(pdf) if t in SECTIONS] == list(SECTIONS)
    finally:
        offline.close()
