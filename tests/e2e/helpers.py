"""Helpers for end-to-end tests and the UI benchmark: serve the app on a free port, wait for
Streamlit's script to finish, take screenshots."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = os.environ.get("CJO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180, poll: float = 0.3) -> str:
    """Poll ``url``'s ``/_stcore/health`` until it answers 200; returns the answer's body.

    Raises RuntimeError when ``proc`` exits first and TimeoutError after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited before becoming healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return r.read().decode()
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    """Stop ``proc``'s process group (started with ``start_new_session``): SIGTERM, then SIGKILL
    after 20 s."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@contextmanager
def serve(
    log_name: str | None = "streamlit.log",
    *,
    root: Path = ROOT,
    launcher: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """``streamlit run app.py`` on a free port (a fresh server); yields its base URL.

    Parameters
    ----------
    log_name
        The server's output goes to ``ARTIFACTS / log_name`` (``None``: discarded).
    root
        The checkout whose ``app.py`` is served (another worktree for a benchmark baseline).
    launcher
        The command that stands for ``python -m streamlit`` (e.g. a timing wrapper).
    env
        Extra environment variables of the server.

    The server is stopped on exit.
    """
    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    if log_name is not None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
    command = launcher or [sys.executable, "-m", "streamlit"]
    with open(os.devnull if log_name is None else ARTIFACTS / log_name, "wb") as fh:
        proc = subprocess.Popen(
            [*command, "run", "app.py", "--server.port", str(port)]
            + ["--server.headless", "true", "--server.address", "127.0.0.1"],
            cwd=root,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            yield url
        finally:
            stop(proc)


# Records every change of the app's script-state attribute with its time (installed once per
# page), and the time of the last change of the main area's content. It watches the whole document, not one
# element: when Streamlit re-creates the app's root element (it can on a page switch), an
# observer of the old element would wait forever. A rerun fast enough for the browser to batch
# "running" and "notRunning" into one render changes no attribute at all: then the rerun's end
# is the main area's new content settling (no change for SETTLE_MS) with the script not
# running.
_OBSERVE = """() => {
  if (!window.__cjoStates) {
    window.__cjoStates = [];
    const key = 'data-test-script-state';
    const log = el => window.__cjoStates.push([performance.now(), el.getAttribute(key)]);
    window.__cjoLastChange = 0;
    new MutationObserver(muts => {
      for (const m of muts) {
        const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
        if (m.type !== 'attributes' && el && el.closest("[data-testid='stMain']")) {
          window.__cjoLastChange = performance.now();
        }
        if (m.type === 'attributes') { if (m.attributeName === key) log(m.target); continue; }
        for (const n of m.addedNodes) {
          if (n.nodeType !== 1) continue;
          if (n.hasAttribute(key)) log(n);
          n.querySelectorAll('[' + key + ']').forEach(log);
        }
      }
    }).observe(document.documentElement,
               {attributes: true, subtree: true, childList: true, characterData: true});
  }
  return performance.now();
}"""
SETTLE_MS = 1500
_FINISHED_AFTER = (
    """t0 => {
  if ((window.__cjoStates || []).some(e => e[0] >= t0 && e[1] === 'notRunning')) return true;
  const app = document.querySelector("[data-testid='stApp']");
  const last = window.__cjoLastChange || 0;
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && last >= t0 && performance.now() - last > """
    + str(SETTLE_MS)
    + """;
}"""
)
_FINISHED_AT = """t0 => {
  const e = (window.__cjoStates || []).find(e => e[0] >= t0 && e[1] === 'notRunning');
  return e ? e[0] : window.__cjoLastChange;
}"""


def wait_for_run(page, timeout: float = 90_000) -> None:
    """Wait until the app's script has finished (Streamlit's own script-state attribute)."""
    app = page.locator("[data-testid='stApp']")
    try:  # a rerun may take a moment to start after an interaction
        page.locator("[data-testid='stApp'][data-test-script-state='running']").wait_for(
            state="attached", timeout=1_500
        )
    except Exception:
        pass
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout
    )
    page.get_by_test_id("stSkeleton").first.wait_for(state="detached", timeout=timeout)
    assert app.count() == 1


_STARTED_AFTER = """t0 => (window.__cjoStates || []).some(e => e[0] >= t0)
  || (window.__cjoLastChange || 0) >= t0"""


_DIAGNOSE = """t0 => ({t0: t0, now: performance.now(),
  states: (window.__cjoStates || []).slice(-8),
  lastChange: window.__cjoLastChange || 0,
  state: (document.querySelector("[data-testid='stApp']") || {getAttribute: () => 'no stApp'})
    .getAttribute('data-test-script-state')})"""


def rerun_after(
    page,
    action: Callable[[], object],
    timeout: float = 90_000,
    *,
    repeatable: bool = False,
    start_timeout: float = 10_000,
) -> float:
    """Run ``action`` (an interaction that reruns the script) and wait until that rerun finished.

    Uses a MutationObserver on the script-state attribute, so it neither misses a fast rerun
    nor waits a fixed time. Returns milliseconds from the action to the end of the rerun.

    ``repeatable``: the action may safely run twice (a key press that sets a value, not a
    click that adds something). When nothing on the page has reacted within ``start_timeout``
    (a key press the browser dropped while it was busy), the action runs once more. When the
    wait fails, a screenshot ``timeout-<page>.png`` shows the state the page was left in.
    """
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout
    )
    t0 = page.evaluate(_OBSERVE)
    action()
    try:
        if repeatable:
            try:
                page.wait_for_function(_STARTED_AFTER, arg=t0, timeout=start_timeout)
            except Exception:
                action()
        page.wait_for_function(_FINISHED_AFTER, arg=t0, timeout=timeout)
    except Exception as exc:
        name = page.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "home"
        seen = page.evaluate(_DIAGNOSE, t0)
        screenshot(page, f"timeout-{name}")
        raise AssertionError(f"no end of the rerun seen on {page.url}: {seen}") from exc
    return float(page.evaluate(_FINISHED_AT, t0)) - t0


def open_page(page, app_url: str, path: str = "", timeout: float = 300_000) -> None:
    """Go to a page of the app (``""`` is the default page) and wait for it to render."""
    page.goto(f"{app_url}/{path}")
    page.locator("[data-testid='stApp']").wait_for(state="attached", timeout=timeout)
    wait_for_run(page, timeout)


def screenshot(page, name: str, max_height: int = 4000) -> Path:
    """Save the whole page: Streamlit scrolls inside its main container, so the viewport is
    stretched to the content's height for the shot and restored afterwards."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector(\"[data-testid='stMain']\");"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), max_height)})
    try:
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path
