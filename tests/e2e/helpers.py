"""Helpers for end-to-end tests: wait for Streamlit's script to finish, take screenshots."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"


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


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
