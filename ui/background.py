"""The dashboard's background threads, stopped cleanly when the process exits.

The warm-up (:mod:`ui.warmup`), the Segments page's segmentations built ahead
(:func:`ui.segments.prepare_in_background`), the Journeys page's next weight step
(:mod:`ui.journeys_ahead`), the Plan page's background re-plan (:mod:`ui.plan`) and its next
slider steps (:mod:`ui.plan_ahead`) run in daemon threads so that a server can always stop. A
daemon thread still inside native code (numpy, scikit-learn, OpenMP) while the interpreter tears
its objects down can crash the process on its way out (``free(): invalid pointer``, exit status
134: a test run that passed would be reported failed). So every such
thread is started here: at exit, :data:`STOP` is set, the threads' loops end after their current
step (they check :func:`stopping` between steps) and the process waits for them, at most
:data:`JOIN_SECONDS` in all; a step that takes longer is left as before.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable

#: Set when the process exits: background loops end after their current step.
STOP = threading.Event()
#: The longest the process waits at exit for its background threads, in all (seconds).
JOIN_SECONDS = 10.0
#: ``CJO_AHEAD=0`` in the server's environment: nothing is computed ahead of the user's next
#: step (what a change costs when nothing was prepared for it: ``benchmarks/ui_latency.py
#: --no-ahead``).
AHEAD_ENV = "CJO_AHEAD"

_THREADS: list[threading.Thread] = []
_LOCK = threading.Lock()


def start(target: Callable[[], object], name: str) -> threading.Thread:
    """Run ``target`` in a daemon thread named ``name`` that the exit waits for."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    with _LOCK:
        _THREADS[:] = [t for t in _THREADS if t.is_alive()]
        _THREADS.append(thread)
    thread.start()
    return thread


def ahead() -> bool:
    """Whether work ahead of the user's next step may run (the segmentations another minimum
    share can choose, the next weight step, the Plan slider's next steps): not when :data:`AHEAD_ENV` is ``0``."""
    return os.environ.get(AHEAD_ENV, "1").strip() != "0"


def stopping() -> bool:
    """True once the process is exiting: a background loop should end now."""
    return STOP.is_set()


def wait(event: threading.Event, seconds: float) -> bool:
    """``event.wait(seconds)``, cut short when the process exits; True if the event is set."""
    deadline = time.monotonic() + seconds
    while not STOP.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return event.is_set()
        if event.wait(min(left, 0.1)):
            return True
    return event.is_set()


def stop_all(seconds: float = JOIN_SECONDS) -> list[str]:
    """Set :data:`STOP` and wait for the background threads (at most ``seconds`` in all);
    returns the names of those still running (registered at exit)."""
    STOP.set()
    deadline = time.monotonic() + seconds
    with _LOCK:
        threads = list(_THREADS)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threads if t.is_alive()]


atexit.register(stop_all)
