"""The dashboard's background threads end cleanly when the process exits (ui.background): the
exit waits for a running step and no new step starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ui import background

    out = Path(sys.argv[1])

    def work():
        steps = 0
        while not background.stopping():  # a loop of steps, as the warm-up's
            time.sleep(0.02)
            steps += 1
        time.sleep(0.5)  # the step under way when the process exits
        out.write_text(f"finished after {steps} steps")

    background.start(work, "cjo-test")
    time.sleep(0.2)
    """
)


def test_the_exit_waits_for_a_background_step_and_stops_the_loop(tmp_path: Path) -> None:
    out = tmp_path / "done.txt"
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(out)], cwd=ROOT, capture_output=True, timeout=120
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    # a plain daemon thread is killed mid-step at exit: the file would not exist
    assert out.read_text().startswith("finished after")


def test_wait_is_cut_short_by_the_exit_and_times_out_without_it() -> None:
    import threading

    from ui import background

    event = threading.Event()
    assert background.wait(event, 0.05) is False  # timed out, not set
    event.set()
    assert background.wait(event, 5.0) is True


def test_nothing_is_built_ahead_when_the_switch_says_so(monkeypatch) -> None:
    from ui import background, prepare_in_background

    monkeypatch.setenv(background.AHEAD_ENV, "0")
    assert background.ahead() is False
    assert prepare_in_background() is None  # before it even looks for the data
    monkeypatch.setenv(background.AHEAD_ENV, "1")
    assert background.ahead() is True
    monkeypatch.delenv(background.AHEAD_ENV)
    assert background.ahead() is True  # the default: build ahead
