"""Latency of every dashboard page that has a slider or a selector, measured in a real browser.

Serves ``app.py`` on a free port, opens each page of :data:`CASES` in headless Chromium
(Debian's ``chromium``) and changes its control ``--changes`` times, one step at a time, so that
sliders take values the caches have not seen. Per change, two figures:

* **browser**: key press (or click) to redrawn page: the rerun has finished (Streamlit's
  script-state attribute is back to ``notRunning``) and the main area's DOM has been quiet for
  :data:`QUIET_MS`; the figure is the time of its last change, charts drawn included.
* **server**: the script (or fragment) runs the change caused, timed inside the server process
  (``--serve-timed`` wraps Streamlit's script execution; the app itself is not changed, so a
  baseline commit is measured the same way).

And the first render of the Overview (navigation start to every KPI card and chart drawn):

* **cold start**: a fresh server with the trained models on disk and nothing else cached
  (:data:`COLD_CLEAR` is emptied first);
* **warm start**: a fresh server after a previous one has run (what a restart sees);
* **new session**: another browser session on a server that has served one.

``--baseline REV`` checks REV out in a temporary ``git worktree`` (with this checkout's demo
data and trained models) and measures it in the same run: cold and warm starts one after the
other, then every page on both servers alternately, so both see the same machine state.

Usage::

    .venv/bin/python benchmarks/ui_latency.py                            # every case, this tree
    .venv/bin/python benchmarks/ui_latency.py --baseline 87b3323         # and the baseline
    .venv/bin/python benchmarks/ui_latency.py --pages opportunity segments --changes 10
    .venv/bin/python benchmarks/ui_latency.py --pages journeys --no-ahead  # nothing built ahead

Adding a page: one entry in :data:`CASES`, e.g. ``Case("plan", "plan", Slider("Budget"))``
(the page's path, and the label of the control the user moves most).
"""

from __future__ import annotations

import sys


def _serve_timed(log: str, argv: list[str]) -> None:
    """``streamlit <argv>`` with every script and fragment run timed into ``log`` (JSON lines).

    Runs in the server process, before anything of the checkout under test is imported. A
    checkout whose ``app.py`` is its own launcher (``python app.py``, what its ``make run``
    does: it warms the caches while the browser loads) is started that way, so each commit
    is served as its users serve it.
    """
    import json
    import os
    import time

    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.web import cli

    inner = script_runner.exec_func_with_error_handling

    def timed(func, ctx):  # type: ignore[no-untyped-def]
        wall, start = time.time(), time.perf_counter()
        try:
            return inner(func, ctx)
        finally:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"t": wall, "s": time.perf_counter() - start}) + "\n")

    script_runner.exec_func_with_error_handling = timed
    app = os.path.abspath(argv[1]) if argv[:1] == ["run"] and len(argv) > 1 else ""
    if app and "cjo-prewarm" in open(app, encoding="utf-8").read():
        import runpy

        sys.path.insert(0, os.path.dirname(app))
        sys.argv = [app, *argv[2:]]
        runpy.run_path(app, run_name="__main__")
    sys.argv = ["streamlit", *argv]
    cli.main()


if __name__ == "__main__" and sys.argv[1:2] == ["--serve-timed"]:
    _serve_timed(sys.argv[2], sys.argv[3:])
    raise SystemExit(0)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS, open_page, serve  # noqa: E402

#: Extra environment of every server (``--no-ahead`` sets ``CJO_AHEAD=0``: the app computes
#: nothing ahead of the next change, so each change costs what an unforeseen one does; a
#: commit older than the switch ignores it).
SERVER_ENV: dict[str, str] = {}
QUIET_MS = 300  # the main area is redrawn once its DOM has not changed for this long
VIEWPORT = {"width": 1400, "height": 1000}
#: What a cold start removes: caches written next to the models (never the models themselves).
COLD_CLEAR = ("models/*/cache",)
DEMO = ROOT / "data" / "demo" / "customers.parquet"


# --------------------------------------------------------------------------------------------
# the controls a case moves, one distinct step per change
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slider:
    """A slider, set to its minimum first (Home), then one step up per change (ArrowRight)."""

    label: str
    expander: str | None = None

    def _thumb(self, page: Any) -> Any:
        return (
            page.get_by_test_id("stSlider").filter(has_text=self.label).first.get_by_role("slider")
        )

    def setup(self, page: Any) -> None:
        if self.expander:
            page.get_by_test_id("stExpander").filter(has_text=self.expander).locator(
                "summary"
            ).first.click()
        _change(page, lambda: self._thumb(page).press("Home"))

    def change(self, page: Any, i: int) -> None:
        self._thumb(page).press("ArrowRight")


@dataclass(frozen=True)
class Segmented:
    """A segmented control: a click on the next of ``options`` per change (without options:
    the next of the control's own, cycling from the second)."""

    label: str
    options: tuple[str, ...] = ()

    def setup(self, page: Any) -> None:
        pass

    def change(self, page: Any, i: int) -> None:
        group = page.get_by_test_id("stButtonGroup").filter(has_text=self.label).first
        if self.options:
            name = self.options[i % len(self.options)]
            group.get_by_role("radio", name=name, exact=True).click()
        else:
            radios = group.get_by_role("radio")
            radios.nth((i + 1) % radios.count()).click()


@dataclass(frozen=True)
class Select:
    """A selectbox: the next option (cycling) per change, chosen in its dropdown.

    The box is found by its exact label: a label that is also the start of another's (the
    Campaigns page's "Arm" beside its "Arm column") would otherwise match both boxes, and
    Playwright refuses to click an ambiguous locator.
    """

    label: str

    def setup(self, page: Any) -> None:
        pass

    def box(self, page: Any) -> Any:
        """The selectbox whose label is exactly :attr:`label`."""
        label = page.get_by_test_id("stWidgetLabel").get_by_text(self.label, exact=True)
        return page.get_by_test_id("stSelectbox").filter(has=label)

    def change(self, page: Any, i: int) -> None:
        box = self.box(page)
        box.scroll_into_view_if_needed()
        for attempt in range(3):  # a scroll of the page (charts still settling) closes the list
            # the box itself, where a user clicks: its chevron ("Open") toggles the list of a
            # box that still has the focus from the last choice (nothing else on the page took
            # it), so a click there opened nothing and the driver waited 5 s for the list
            box.get_by_role("combobox").click()
            try:
                page.get_by_role("option").first.wait_for(timeout=5_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        others = page.locator("[role='option']:not([aria-selected='true'])")
        others.nth(i % others.count()).click()  # never the current value (no rerun)


@dataclass(frozen=True)
class Number:
    """A number input: one step up per change."""

    label: str

    def setup(self, page: Any) -> None:
        pass

    def change(self, page: Any, i: int) -> None:
        box = page.get_by_test_id("stNumberInput").filter(has_text=self.label)
        box.get_by_test_id("stNumberInputStepUp").click()


@dataclass(frozen=True)
class Text:
    """A text input: another value per change (``values``), submitted with Enter."""

    label: str
    values: tuple[str, ...] = ()

    def setup(self, page: Any) -> None:
        pass

    def change(self, page: Any, i: int) -> None:
        box = page.get_by_test_id("stTextInput").filter(has_text=self.label).locator("input")
        box.fill(self.values[i % len(self.values)])
        box.press("Enter")


@dataclass(frozen=True)
class Case:
    """One page and the control its users move most."""

    name: str
    path: str
    control: Any


def _customer_ids(k: int = 40) -> tuple[str, ...]:
    import pandas as pd

    ids = pd.read_parquet(DEMO, columns=["Customer ID"])["Customer ID"].astype(str)
    return tuple(ids.sample(k, random_state=0))


#: Every page with a slider or a selector. Models and Data have only tabs (drawn in the
#: browser, no rerun), buttons and uploads.
CASES: tuple[Case, ...] = (
    Case("overview", "", Segmented("Horizon (months)", ("6", "24", "3", "36", "12"))),
    Case("opportunity", "opportunity", Slider("Weight: Churn risk")),
    Case("journeys", "journeys", Slider("Weight: Churn risk", expander="Weights")),
    Case("customer", "customer", Text("Customer id")),
    Case("segments", "segments", Slider("Minimum segment share")),
    Case("export", "export", Select("Customers")),
    Case("rl_lab", "rl_lab", Number("Evaluation episodes per customer")),
    Case("campaigns", "campaigns", Segmented("Outcome")),
    Case("campaigns_arm", "campaigns", Select("Arm")),
    Case("plan", "plan", Slider("call-centre budget")),
)


# --------------------------------------------------------------------------------------------
# timing in the browser
# --------------------------------------------------------------------------------------------

# Script-state changes of the app and the time of the main area's last DOM change. One observer
# of the whole document: Streamlit can re-create the app's root and main elements (a page
# switch), and observers of the old elements would never report again.
_INSTALL = """() => {
  if (!window.__cjo) {
    const w = window.__cjo = {states: [], last: performance.now()};
    const key = 'data-test-script-state';
    const log = el => w.states.push([performance.now(), el.getAttribute(key)]);
    new MutationObserver(muts => {
      for (const m of muts) {
        const t = m.target.nodeType === 1 ? m.target : m.target.parentElement;
        if (m.type === 'attributes' && m.attributeName === key) { log(t); continue; }
        if (m.type === 'childList') {
          for (const n of m.addedNodes) {
            if (n.nodeType !== 1) continue;
            if (n.hasAttribute(key)) log(n);
            n.querySelectorAll('[' + key + ']').forEach(log);
          }
        }
        if (t && t.closest && t.closest("[data-testid='stMain']")) w.last = performance.now();
      }
    }).observe(document.documentElement,
               {subtree: true, childList: true, attributes: true, characterData: true});
  }
  return performance.now();
}"""
# [milliseconds from t0 to the redrawn page, fallback] once the rerun finished and the DOM is
# quiet. The rerun's end is the script state back to notRunning; a rerun of a few milliseconds
# can leave the attribute unchanged (no mutation to see: the benchmark then waited forever), so
# when the server has logged a run that started after the change (``served``) and the app is
# idle, the last change of the main area is the end (``fallback`` true).
_REDRAWN = """([t0, quiet, served]) => {
  const w = window.__cjo;
  if (performance.now() - w.last < quiet) return false;
  const end = w.states.find(e => e[0] >= t0 && e[1] === 'notRunning');
  if (end) return [Math.max(end[0], w.last) - t0, false];
  const app = document.querySelector("[data-testid='stApp']");
  const idle = app && app.getAttribute('data-test-script-state') === 'notRunning';
  return served && idle && w.last > t0 ? [w.last - t0, true] : false;
}"""
#: Seconds after a change before a server-logged run may stand in for an unseen state change.
SERVED_GRACE_S = 2.0
# Navigation start to every KPI card and chart of the page drawn (false until then).
_DRAWN = """(metrics) => {
  const app = document.querySelector("[data-testid='stApp']");
  const main = document.querySelector("[data-testid='stMain']");
  if (!app || !main || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (main.querySelector("[data-testid='stSkeleton'],[data-testid='stSpinner']")) return false;
  if (main.querySelectorAll("[data-testid='stMetric']").length < metrics) return false;
  const charts = main.querySelectorAll("[data-testid='stPlotlyChart']");
  if (!charts.length) return false;
  for (const c of charts) if (!c.querySelector('.main-svg')) return false;
  return performance.now();
}"""


def _change(
    page: Any, action: Any, timeout: float = 120_000, served: Any = None
) -> tuple[float, bool]:
    """Run ``action`` and wait for the redrawn page: milliseconds from the action to it, and
    whether the server's log of a run (``served(wall)``: a run started at or after ``wall``)
    had to stand in for a script-state change the browser never showed."""
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout
    )
    t0 = page.evaluate(_INSTALL)
    wall = time.time()
    action()
    deadline = time.monotonic() + timeout / 1000
    while True:
        ran = served is not None and time.time() - wall > SERVED_GRACE_S and served(wall)
        got = page.evaluate(_REDRAWN, [t0, QUIET_MS, bool(ran)])
        if got:
            return float(got[0]), bool(got[1])
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page was not redrawn within {timeout / 1000:.0f} s")
        time.sleep(0.025)


def _exception(page: Any) -> str | None:
    found = page.get_by_test_id("stException")
    return found.first.inner_text()[:300] if found.count() else None


@dataclass
class Server:
    """A served checkout and the file its script runs are timed into."""

    name: str
    url: str
    log: Path

    def runs_since(self, wall: float) -> list[float]:
        """Seconds of every script run that started at or after ``wall`` (time.time())."""
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines() if line]
        return [r["s"] for r in rows if r["t"] >= wall - 0.005]


def first_render(browser: Any, server: Server, metrics: int = 8) -> dict[str, float]:
    """Navigation start to the Overview's KPI cards and charts drawn, in a new session."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        wall = time.time()
        page.goto(server.url, wait_until="commit", timeout=600_000)
        handle = page.wait_for_function(_DRAWN, arg=metrics, timeout=600_000, polling="raf")
        ms = float(handle.json_value())
        if err := _exception(page):
            raise RuntimeError(f"{server.name}: the Overview shows an exception: {err}")
        return {"browser_ms": round(ms, 1), "server_ms": round(1000 * _server_sum(server, wall), 1)}
    finally:
        context.close()


def _server_sum(server: Server, wall: float) -> float:
    time.sleep(0.2)  # the run's line is written when it ends
    return float(sum(server.runs_since(wall)))


def measure_case(browser: Any, server: Server, case: Case, changes: int) -> dict[str, Any]:
    """Browser and server milliseconds of ``changes`` changes of the case's control."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        open_page(page, server.url, case.path, timeout=600_000)
        case.control.setup(page)
        browser_ms, server_ms, fallbacks = [], [], 0
        for i in range(changes):
            wall = time.time()
            ms, fell_back = _change(
                page,
                lambda i=i: case.control.change(page, i),
                served=lambda w: bool(server.runs_since(w)),
            )
            browser_ms.append(ms)
            fallbacks += fell_back
            server_ms.append(1000 * _server_sum(server, wall))
            if err := _exception(page):
                raise RuntimeError(f"{server.name} {case.name}: exception after change {i}: {err}")
        return {"browser_ms": browser_ms, "server_ms": server_ms, "fallbacks": fallbacks}
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# checkouts and servers
# --------------------------------------------------------------------------------------------


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A temporary ``git worktree`` of ``rev`` with this checkout's demo data and models."""
    tmp = Path(tempfile.mkdtemp(prefix="cjo-baseline-"))
    tree = tmp / "tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), rev],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        shutil.copytree(ROOT / "data" / "demo", tree / "data" / "demo", dirs_exist_ok=True)
        for folder in (ROOT / "models").iterdir():
            if folder.is_dir():  # the trained artifacts only, no caches
                (tree / "models" / folder.name).mkdir(parents=True, exist_ok=True)
                for f in folder.iterdir():
                    if f.is_file():
                        shutil.copy2(f, tree / "models" / folder.name / f.name)
        yield tree
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def clear_caches(root: Path) -> None:
    """Remove the on-disk caches of a cold start (:data:`COLD_CLEAR`)."""
    for pattern in COLD_CLEAR:
        for path in root.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def timed_server(name: str, root: Path, logs: Path) -> Iterator[Server]:
    """A fresh server of ``root`` whose script runs are timed (with :data:`SERVER_ENV`)."""
    log = logs / f"{name}-{time.monotonic_ns()}.jsonl"
    launcher = [sys.executable, str(Path(__file__).resolve()), "--serve-timed", str(log)]
    with serve(None, root=root, launcher=launcher, env=SERVER_ENV) as url:
        yield Server(name, url, log)


def _stats(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "median_ms": round(float(np.median(a)), 1),
        "p95_ms": round(float(np.percentile(a, 95)), 1),
        "max_ms": round(float(a.max()), 1),
    }


@dataclass
class Results:
    """Every figure of a run, per checkout."""

    meta: dict[str, Any]
    starts: dict[str, dict[str, list[dict[str, float]]]] = field(default_factory=dict)
    cases: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def run(trees: dict[str, Path], cases: list[Case], changes: int, starts: int) -> Results:
    """Cold and warm starts of every tree, then every case on every tree alternately."""
    from playwright.sync_api import sync_playwright

    res = Results(meta={"load_start": os.getloadavg(), "cpus": os.cpu_count()})
    logs = Path(tempfile.mkdtemp(prefix="cjo-ui-latency-"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            with ExitStack() as stack:
                servers = {}
                for name, root in trees.items():
                    got: dict[str, list[dict[str, float]]] = {"cold": [], "warm": [], "session": []}
                    res.starts[name] = got
                    for _ in range(starts):
                        clear_caches(root)
                        with timed_server(name, root, logs) as server:
                            got["cold"].append(first_render(browser, server))
                    for _ in range(starts - 1):
                        with timed_server(name, root, logs) as server:
                            got["warm"].append(first_render(browser, server))
                    servers[name] = stack.enter_context(timed_server(name, root, logs))
                    got["warm"].append(first_render(browser, servers[name]))
                    got["session"].append(first_render(browser, servers[name]))
                    print(f"{name}: first renders {got}", file=sys.stderr)
                for case in cases:
                    for name, server in servers.items():
                        out = measure_case(browser, server, case, changes)
                        res.cases.setdefault(case.name, {})[name] = {
                            "browser": _stats(out["browser_ms"]),
                            "server": _stats(out["server_ms"]),
                            "all_browser_ms": [round(x, 1) for x in out["browser_ms"]],
                            "all_server_ms": [round(x, 1) for x in out["server_ms"]],
                            "redrawn_without_state_change": out["fallbacks"],
                        }
                        b, s = res.cases[case.name][name]["browser"], res.cases[case.name][name]
                        print(
                            f"{name} {case.name}: browser {b} server {s['server']}; redrawn "
                            f"without a script-state change {s['redrawn_without_state_change']}",
                            file=sys.stderr,
                        )
        finally:
            browser.close()
            shutil.rmtree(logs, ignore_errors=True)
    res.meta["load_end"] = os.getloadavg()
    return res


def table(res: Results) -> str:
    """The README table: median / p95 per page and tree, then the first renders."""
    names = list(res.starts)
    head = "| page | " + " | ".join(
        f"{n}: browser median / p95 ms | {n}: server median / p95 ms" for n in names
    )
    lines = [head + " |", "|---|" + "---:|" * (2 * len(names))]
    for case, per in res.cases.items():
        cells = []
        for n in names:
            b, s = per[n]["browser"], per[n]["server"]
            cells += [f"{b['median_ms']:,.0f} / {b['p95_ms']:,.0f}"]
            cells += [f"{s['median_ms']:,.0f} / {s['p95_ms']:,.0f}"]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    for kind, label in (("cold", "cold start"), ("warm", "warm start"), ("session", "new session")):
        cells = []
        for n in names:
            rows = res.starts[n][kind]
            b = np.median([r["browser_ms"] for r in rows]) if rows else float("nan")
            s = np.median([r["server_ms"] for r in rows]) if rows else float("nan")
            cells += [f"first render {b:,.0f}", f"{s:,.0f}"]
        lines.append(f"| Overview, {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", nargs="+", choices=[c.name for c in CASES], help="(all)")
    ap.add_argument("--changes", type=int, default=20, help="changes per page (20)")
    ap.add_argument("--starts", type=int, default=1, help="cold and warm starts per tree (1)")
    ap.add_argument("--baseline", metavar="REV", help="also measure this commit, same run")
    ap.add_argument("--json", type=Path, help="also write every figure here")
    ap.add_argument(
        "--no-ahead",
        action="store_true",
        help="serve with CJO_AHEAD=0: nothing computed ahead of the next change (the next "
        "weight step, other segmentations, the Plan slider's next steps), so every change is "
        "an unforeseen one",
    )
    args = ap.parse_args(argv)
    if args.no_ahead:
        SERVER_ENV["CJO_AHEAD"] = "0"
    cases = [c for c in CASES if not args.pages or c.name in args.pages]
    if any(isinstance(c.control, Text) and not c.control.values for c in cases):
        ids = _customer_ids(args.changes)
        cases = [
            Case(c.name, c.path, Text(c.control.label, ids))
            if isinstance(c.control, Text) and not c.control.values
            else c
            for c in cases
        ]
    with ExitStack() as stack:
        trees = {}
        if args.baseline:
            trees[f"baseline {args.baseline}"] = stack.enter_context(checkout(args.baseline))
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        trees[f"this tree ({head or 'HEAD'})"] = ROOT
        res = run(trees, cases, args.changes, args.starts)
    res.meta.update(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        changes=args.changes,
        ahead=not args.no_ahead,
        command="python benchmarks/ui_latency.py " + " ".join(argv or sys.argv[1:]),
    )
    out = {"meta": res.meta, "starts": res.starts, "cases": res.cases}
    print(json.dumps(out, indent=2))
    print(table(res))
    print(
        f"load average {res.meta['load_start'][0]:.2f} at the start, "
        f"{res.meta['load_end'][0]:.2f} at the end; {res.meta['cpus']} CPUs"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
