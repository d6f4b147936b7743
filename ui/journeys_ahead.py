"""The Journeys page's next weight step, computed ahead in the background (issue 19).

A weight change re-solves the journeys of every customer, builds their table, runs the
annealer and the study's baselines on the check sample and judges the journeys on the truth
(~0.12 s of the server's CPU). A user stepping a weight slider with the keyboard (or clicking
it up twice) moves it one step at a time in one direction, so once the page is drawn a daemon
thread (``cjo-journeys-ahead``) fills the same caches for the next step in that direction
(:func:`next_weights`): when the user gets there, the page finds everything computed. Any other
move (a jump, a change of direction, another factor) is computed as before, and so is a step
the background has not finished (the page waits for the value being computed instead of
computing it twice: Streamlit's caches lock per key). ``CJO_AHEAD=0`` switches it off
(:func:`ui.background.ahead`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

import streamlit as st

from core.pipeline import Settings
from ui import background

_LOG = logging.getLogger(__name__)
#: Session-state key of the weights the page was last drawn with.
LAST_WEIGHTS = "_j_ahead_last_weights"
#: The weight sliders' range and step (:func:`ui.widgets.weight_sliders`).
LOW, HIGH, STEP = 0.0, 3.0, 0.1
THREAD = "cjo-journeys-ahead"


def next_weights(
    last: Mapping[str, float] | None, now: Mapping[str, float]
) -> dict[str, float] | None:
    """The weights one more step the way the user moved from ``last`` to ``now``.

    Only when exactly one factor moved, by one slider step (:data:`STEP`): that factor one
    step further (within [:data:`LOW`, :data:`HIGH`]), the others as they are. None otherwise
    (nothing moved, a jump, several factors, or the end of the slider). A slider's steps added
    in the browser (0.1 + 0.2 = 0.30000000000000004) and here (0.3) are the same weights once in
    :class:`core.pipeline.Settings` (float32 weights), so the same cache keys.
    """
    if last is None or set(last) != set(now):
        return None
    moved = [k for k in now if abs(float(now[k]) - float(last[k])) > 1e-9]
    if len(moved) != 1:
        return None
    k = moved[0]
    delta = float(now[k]) - float(last[k])
    if abs(abs(delta) - STEP) > 1e-6:
        return None
    step = round(float(now[k]) + (STEP if delta > 0 else -STEP), 9)
    if not LOW - 1e-9 <= step <= HIGH + 1e-9:
        return None
    return {**{f: round(float(v), 9) for f, v in now.items()}, k: step}


def prepare_next(s: Settings, flow_steps: int) -> threading.Thread | None:
    """After the page is drawn with ``s``: start filling the caches of the next weight step
    (:func:`next_weights` from the weights the page was drawn with before) in a daemon thread.

    What is filled is what the page reads for those weights: the journeys and their table
    (:func:`ui.pipeline.outcome`), the annealer's check (:func:`ui.pipeline.annealer_check`),
    the offer flows of ``flow_steps`` steps and the judgement on the truth
    (:func:`ui.decision.quality_for`). Returns the thread, or None when there is no next step.
    """
    from ui import decision
    from ui.cache import peek, results_key
    from ui.data import require_data
    from ui.pipeline import annealer_check, components, outcome, solved
    from ui.views import _journey_flows

    last = st.session_state.get(LAST_WEIGHTS)
    st.session_state[LAST_WEIGHTS] = dict(s.weights)
    weights = next_weights(last, s.weights)
    if weights is None or not background.ahead():  # CJO_AHEAD=0: nothing ahead
        return None
    ahead = s.with_(weights=weights)
    # what the session knows, read here: the thread has no session
    data = require_data()
    labels = components(data, s)[0].catalog.labels
    frame = decision.truth()
    ceil = peek("ceiling", decision._ceiling_key()) if frame is not None else None

    def run() -> None:  # no script runs here: nothing is drawn
        try:
            outcome(ahead, data)
            annealer_check(ahead, data, reuse_exact=ahead.solver == "exact")
            solution = solved(ahead, data)
            _journey_flows(data.sha256, results_key(ahead), int(flow_steps), solution, labels)
            if frame is not None:
                decision.quality_for(data, ahead, frame, ceil)
        except BaseException as exc:  # a CJOError stops a page (st.stop): here it only ends
            _LOG.info("preparing the next weights failed: %r", exc)  # the page shows it

    return background.start(run, THREAD)
