"""`make run` serves the dashboard: start it on a free port and poll /_stcore/health."""

from __future__ import annotations

import subprocess

from tests.e2e.helpers import ROOT, free_port, stop, wait_healthy


def test_make_run_serves_health_endpoint():
    port = free_port()
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        try:
            body = wait_healthy(f"http://127.0.0.1:{port}", proc, poll=0.5)
        except RuntimeError:
            raise AssertionError(
                f"make run exited: {proc.stdout.read().decode()[-2000:]}"
            ) from None
        assert body.strip() == "ok"
    finally:
        stop(proc)
        proc.stdout.close()
