"""Latency of the dashboard's live re-optimization, measured in a real browser.

Serves ``app.py`` on a free port, opens a page in headless Chromium (Debian's ``chromium``),
waits for the first render (models and opportunity components are computed or loaded once),
then moves the churn-weight slider one step at a time (``--changes`` distinct values, so no
result comes from the cache) and times each change from the key press to the end of the rerun
(the app's script-state attribute turning ``notRunning``, observed with a MutationObserver).
Every change re-combines the weights, re-optimizes the journeys of the whole population and
redraws the page's KPIs and charts. Two figures per change: the browser's (key press to rerun
finished: websocket, server, and the browser drawing the charts) and the server's own time for
the page's live fragment (the figure the Opportunity page prints under its charts).

Usage::

    .venv/bin/python benchmarks/ui_latency.py                       # Opportunity page, 20 changes
    .venv/bin/python benchmarks/ui_latency.py --page journeys --changes 20
    .venv/bin/python benchmarks/ui_latency.py --data ../shared/data/telco_ibm_11_1_3.csv
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.parse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS, open_page, rerun_after, serve  # noqa: E402

#: page -> (url path, expander holding the weight sliders or None)
PAGES = {
    "opportunity": ("opportunity", None),
    "journeys": ("journeys", "Weights"),
}


def measure(
    url: str, page_name: str, changes: int, query: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Browser times (key press -> rerun finished) and, where the page reports it, the
    server's own time for each change, in milliseconds."""
    from playwright.sync_api import sync_playwright

    path, expander = PAGES[page_name]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(600_000)
            qs = ("?" + urllib.parse.urlencode(query)) if query else ""
            open_page(page, url, path + qs, timeout=900_000)
            if expander:
                page.get_by_text(expander, exact=True).click()
            slider = page.get_by_test_id("stSlider").filter(has_text="Weight: Churn risk")
            thumb = slider.get_by_role("slider")
            value = slider.get_by_test_id("stSliderThumbValue")
            rerun_after(page, lambda: thumb.press("Home"))  # 0.00, then +0.10 per change
            if value.inner_text() != "0.00":
                raise RuntimeError(f"the slider shows {value.inner_text()} after Home")
            server = page.get_by_text(re.compile(r"journeys and redrew in .* s \(server\)"))
            out, on_server = [], []
            for i in range(1, changes + 1):
                want = f"{0.1 * i:.2f}"
                ms = rerun_after(page, lambda: thumb.press("ArrowRight"), timeout=120_000)
                got = value.inner_text()
                if got != want:
                    raise RuntimeError(f"change {i}: slider shows {got}, expected {want}")
                out.append(ms)
                if server.count():
                    text = server.first.inner_text()
                    on_server.append(1000 * float(re.search(r"in ([0-9.]+) s", text).group(1)))
        finally:
            browser.close()
    return out, on_server


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", choices=sorted(PAGES), default="opportunity")
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--estimator", default=None, help="scenario estimator (default: the app's)")
    ap.add_argument("--solver", default=None, help="scenario solver (default: the app's)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    query = {k: v for k, v in (("estimator", args.estimator), ("solver", args.solver)) if v}
    with serve(log_name=None) as url:
        t = time.perf_counter()
        ms, server_ms = measure(url, args.page, args.changes, query)
        total = time.perf_counter() - t
    a = np.asarray(ms)
    result = {
        "page": args.page,
        "scenario": query or "default (counterfactual, exact)",
        "changes": len(a),
        "median_ms": round(float(np.median(a)), 1),
        "p95_ms": round(float(np.percentile(a, 95)), 1),
        "max_ms": round(float(a.max()), 1),
        "all_ms": [round(float(x), 1) for x in a],
        "server_median_ms": round(float(np.median(server_ms)), 1) if server_ms else None,
        "server_p95_ms": round(float(np.percentile(server_ms, 95)), 1) if server_ms else None,
        "server_ms": [round(x, 1) for x in server_ms],
        "cpus": os.cpu_count(),
        "session_seconds": round(total, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
