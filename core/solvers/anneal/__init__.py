"""Simulated annealing of journeys, vectorized across customers.

State. Each customer's state is a permutation of its candidate products
(:func:`core.journeys.candidates`) and a length ``l``: the journey is the first ``l`` entries,
the rest is the pool of unused candidates. Every move (swap, insert, reverse, replace, extend,
shorten: :data:`MOVES`) is a fixed rearrangement of positions, so all moves of all customers are
applied with one gather from a precomputed move table (:func:`move_table`).

Feasibility repair by decoding. A state decodes to the journey of its first ``l`` entries minus
the entries that are infeasible when reached (a prerequisite neither held nor kept earlier, or
excluded by a held or kept product); the score is the decoded journey's score
(:func:`core.journeys.evaluate_cols`, in the hot loop :class:`Scorer`). So every proposal is
feasible, nothing is rejected, and a product whose prerequisite is missing can wait in the
journey (worth nothing) until the prerequisite is inserted before it. Every feasible journey is
a state that decodes to itself.

Procedure. Start from a feasible journey and keep the best-so-far, so the result is never worse
than the start. The default start (``init="lookahead"``) is the best of greedy, greedy rollouts
from every first offer cut at their best prefix (:func:`lookahead_start`), the best walk of a
dynamic program that lets products repeat, repaired (:func:`walk_start`), and, for customers
with more candidates than the pool search covers exactly, a beam search over all their
candidates (:func:`beam_start`, ``beam`` partial journeys per step). Customers whose start
reaches every journey of their candidates in one move are not annealed when ``polish`` is on
(the polish examines that whole neighbourhood, so it finds their optimum), and with ``bound`` a
customer stops once its best reaches the walk's value, an upper bound (it is then optimal).
Each customer's Markov chain (Metropolis acceptance, per-customer random streams, temperature
calibrated by ``t0="auto"``, runs of ``min(iters, max(20, chain_factor * N))`` iterations,
``restarts`` reheats) is described in :mod:`core.solvers.anneal.chains`. Then ``polish`` runs
steepest-ascent local search over the full move neighbourhood (:func:`local_search`; not for
customers with at most ``pool`` candidates, whose first pool search covers every journey), and
the pool search (:func:`pool_search`, ``pool`` products, default the maximum length plus 4)
intensifies exactly: the best journey over the best journey's products plus the best-connected
unused candidates, by the Held-Karp DP of the exact solver restricted to that pool (a customer
with at most ``pool`` candidates is thereby solved exactly), then ``pool_units``
prerequisite-unit rounds whose pools are seeded with a base service other candidates require, so
that a base and its add-ons enter together; with ``pool_walk`` (off by default since the beam
start) the customers with more candidates get a second pool search from the walk start and keep
the better journey.

Modules
-------
:mod:`~core.solvers.anneal.options`
    :class:`AnnealOptions`: every option, validated in one place.
:mod:`~core.solvers.anneal.driver`
    :func:`anneal`: batches of customers through the phases below.
:mod:`~core.solvers.anneal.starts`
    Start journeys: :func:`lookahead_start`, :func:`walk_start`, :func:`beam_start`.
:mod:`~core.solvers.anneal.chains`
    The Markov chains, their random streams and the temperature calibration.
:mod:`~core.solvers.anneal.pool`
    The exact pool search, :func:`pool_search`.

The move table, the fast scorer and the local search are shared with the ``greedy+ls`` baseline
(:mod:`core.solvers._moves`, :mod:`core.solvers._scorer`, :mod:`core.solvers._local_search`) and
re-exported here.
"""

from core.solvers._local_search import local_search
from core.solvers._moves import MOVES, MoveTable, initial_perm, move_table
from core.solvers._scorer import Scorer
from core.solvers.anneal.driver import anneal
from core.solvers.anneal.options import DEFAULT_MOVES, INITS, AnnealOptions
from core.solvers.anneal.pool import pool_search
from core.solvers.anneal.starts import beam_start, lookahead_start, walk_start

__all__ = [
    "DEFAULT_MOVES",
    "INITS",
    "MOVES",
    "AnnealOptions",
    "MoveTable",
    "Scorer",
    "anneal",
    "beam_start",
    "initial_perm",
    "local_search",
    "lookahead_start",
    "move_table",
    "pool_search",
    "walk_start",
]
