"""The Plan page's next slider steps, planned ahead in the background (issue 19).

A manager stepping a budget or cap with the keyboard (or clicking it up twice) moves one slider
one step at a time in one direction. Once a step was taken (exactly one bound moved, by its
slider's step), a thread (``cjo-plan-ahead``) plans the next :data:`LEAD` steps in that
direction, each as the page would (:func:`plan_step`: the quick answer, final when proved
within :data:`ui.plan.FINAL_GAP`, else its full re-plan), each warm-started from the one
before, and stays :data:`LEAD` steps ahead of the page while the user follows it. When the
user gets there, the page shows that plan at once; a step still being planned is waited for at
most :data:`WAIT_SECONDS`, then shown as a quick answer that the step's plan replaces when done
(the page's background refinement, :class:`ui.plan.Refinement`, is that step). Any other move (a
jump, a change of direction, another slider) cancels the chain and is answered as before.
``CJO_AHEAD=0`` switches it off (:func:`ui.background.ahead`).

The thread writes only to its :class:`Chain` (never to session state) and runs at the
refinement's low priority, one plan at a time with it (``ui.plan._ONE_AT_A_TIME``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ui import background
from ui.plan import (
    _ONE_AT_A_TIME,
    FINAL_GAP,
    Refinement,
    _refined_plan,
    _same,
    finish_job,
    lower_priority,
)

if TYPE_CHECKING:
    from core.planning import PlanningProblem, PlanResult

#: Steps planned ahead of the page.
LEAD = 2
#: The longest a page run waits for a step being planned before it shows a quick answer.
WAIT_SECONDS = 0.25
#: Seconds the thread waits for the page to reach its steps before it ends.
IDLE_SECONDS = 120.0
THREAD = "cjo-plan-ahead"


@dataclass(eq=False)
class Chain:
    """The next steps of one slider, planned ahead: ``jobs[i]`` is ``origin`` with ``name``
    moved ``i + 1`` steps of ``step`` (signed), within ``[low, high]``."""

    name: str
    step: float
    low: float
    high: float
    origin: dict[str, float]
    seed: int
    jobs: list[Refinement] = field(default_factory=list)
    #: Steps of the chain the page has reached (the thread stays :data:`LEAD` ahead of it).
    reached: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)

    def bounds_at(self, i: int) -> dict[str, float] | None:
        """The bounds of step ``i`` (0: one step from ``origin``), or None past the slider's end."""
        value = round(self.origin[self.name] + (i + 1) * self.step, 9)
        if not self.low - 1e-9 <= value <= self.high + 1e-9:
            return None
        return {**self.origin, self.name: value}

    def find(self, bounds: dict[str, float]) -> int | None:
        """The step of the chain with ``bounds`` (planned or being planned), or None."""
        for i, job in enumerate(list(self.jobs)):
            if _same(job.bounds, bounds) and _same(bounds, job.bounds):
                return i
        return None

    def stop(self) -> None:
        """Cancel the chain and every step still being planned."""
        self.cancel.set()
        self.wake.set()
        for job in list(self.jobs):
            job.cancel.set()


def one_step(
    before: dict[str, float], after: dict[str, float], steps: dict[str, float]
) -> tuple[str, float] | None:
    """``(name, signed step)`` when exactly one bound moved from ``before`` to ``after``, by its
    slider's step (``steps``), else None."""
    if set(before) != set(after):
        return None
    moved = [n for n in after if abs(after[n] - before[n]) > 1e-9]
    if len(moved) != 1 or moved[0] not in steps:
        return None
    name = moved[0]
    delta, step = after[name] - before[name], float(steps[name])
    if step <= 0 or abs(abs(delta) - step) > 1e-6 * max(1.0, step):
        return None
    return name, float(np.sign(delta)) * step


def plan_step(
    problem: PlanningProblem,
    result: PlanResult,
    bounds: dict[str, float],
    seed: int,
    stale: Callable[[dict], bool],
) -> tuple[PlanningProblem, PlanResult] | None:
    """The plan the page would end with for ``bounds`` from ``result``: its quick answer when
    proved within :data:`ui.plan.FINAL_GAP`, else the quick answer's full re-plan; None when
    there is no quick answer (the page re-plans those itself)."""
    from core.planning.quick import quick_replan

    changes: dict[int | str, float] = {k: v for k, v in bounds.items()}
    new, quick = quick_replan(problem, changes, warm_start=result)
    if quick is None or not quick.feasible:
        return None
    if quick.gap <= FINAL_GAP:
        return new, quick
    return _refined_plan(new, quick, seed, stale)


def run(chain: Chain, problem: PlanningProblem, result: PlanResult, after: Refinement | None):
    """The chain's thread: from the plan on the page (``after``: its refinement, waited for),
    plan step after step while the page is within :data:`LEAD` steps."""

    def stale(_: object = None) -> bool:
        return chain.cancel.is_set() or background.stopping()

    lower_priority()
    if after is not None:
        while not after.done.is_set():
            if stale() or after.cancel.is_set():
                return
            background.wait(after.done, 0.1)
        if after.result is not None and after.result[1].feasible:
            problem, result = after.result
    i, idle = 0, 0.0
    while not stale():
        if i >= chain.reached + LEAD:
            if idle >= IDLE_SECONDS:  # the user left the slider (or the session): end here
                return
            t = time.monotonic()
            background.wait(chain.wake, 0.5)
            chain.wake.clear()
            idle += time.monotonic() - t
            continue
        idle = 0.0
        bounds = chain.bounds_at(i)
        if bounds is None:
            return
        job = Refinement(bounds)
        chain.jobs.append(job)

        def job_stale(info: dict | None = None, job: Refinement = job) -> bool:
            return stale() or job.cancel.is_set()

        try:
            with _ONE_AT_A_TIME:
                if job_stale():
                    return
                job.result = plan_step(problem, result, bounds, chain.seed, job_stale)
        except BaseException as exc:  # the page that reaches this step shows it
            job.error = exc
        finally:
            finish_job(job)
        if job.error is not None or job.result is None or not job.result[1].feasible:
            return
        problem, result = job.result
        i += 1


def start(
    chain: Chain, problem: PlanningProblem, result: PlanResult, after: Refinement | None
) -> threading.Thread:
    """Start planning ``chain`` in a background thread (:func:`run`)."""
    return background.start(lambda: run(chain, problem, result, after), THREAD)
