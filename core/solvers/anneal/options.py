"""The annealer's options: one frozen dataclass, validated in one place.

:func:`core.solvers.anneal.anneal` takes them as keywords (``anneal(problem, iters=200)``) or
as an object (``anneal(problem, options=AnnealOptions(iters=200))``); either way they become an
:class:`AnnealOptions`, whose ``__post_init__`` checks every value (an
:class:`~core.common.errors.OptionError` names the option, the value and what is allowed). Only
the checks that need the problem (a journeys array as ``init``) are left to the annealer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.common.rng import seed_of
from core.solvers._moves import MOVES
from core.solvers.schedules import check_params

DEFAULT_MOVES: dict[str, float] = {
    "swap": 1.0,
    "insert": 1.0,
    "reverse": 0.5,
    "replace": 1.5,
    "extend": 1.0,
    "shorten": 1.0,
}
INITS: tuple[str, ...] = ("lookahead", "greedy", "empty")
POOL_EXTRA = 4  # default pool: the maximum journey length plus this many products
_NOT_RECORDED = ("rng", "callback", "callback_every")  # options a result's params leave out


@dataclass(frozen=True, eq=False)
class AnnealOptions:
    """Options of :func:`core.solvers.anneal.anneal`.

    Attributes
    ----------
    schedule
        Temperature schedule name (:data:`core.solvers.schedules.SCHEDULES`).
    schedule_params
        Its parameters. ``steps`` defaults to each customer's run length, so ``geometric``
        (``alpha = final_ratio ** (1 / steps)``), ``linear``, ``lundy-mees`` and ``adaptive``
        span one run whatever its length.
    t0
        Initial temperature (opportunity units), or ``"auto"``: per customer, so that an average
        worsening move from the start is accepted with probability ``t0_acceptance``.
    t0_acceptance
        Target acceptance of the average worsening move for ``t0="auto"``.
    iters
        Maximum iterations per run.
    chain_factor
        Chain length proportional to the neighbourhood: a customer's run lasts
        ``min(iters, max(20, ceil(chain_factor * N)))`` iterations, ``N`` the largest number of
        moves of any state of that customer (few candidates, short runs). None: ``iters`` for all.
        ``"auto"`` (default): 1 when the exact pool search follows (it, not the chain, settles
        the last details), 2 without it (``pool=0`` or ``pool_rounds=0``: the schedule alone).
        Measured on 7,043 full-catalog customers: 1 instead of 2 saves a quarter of the time at
        the same 100% optimum with the pool search; alone the chains reach 73% vs 77%.
    proposals
        Moves proposed per chain and iteration; the best of them faces the Metropolis test
        (1: classic simulated annealing).
    restarts
        Reheats after the first run (each restarts from the customer's best at ``reheat * T0``).
    stall
        End a customer's run once it is frozen: this many consecutive iterations without an
        accepted move (None: never; runs then last ``iters``).
    reheat
        Temperature factor of the restarts, relative to ``T0``.
    moves
        Weights of the move types (:data:`core.solvers.anneal.MOVES`); unavailable moves are
        skipped. None: :data:`DEFAULT_MOVES`. Stored with every move type filled in.
    init
        ``"lookahead"`` (default: the best of greedy, :func:`~core.solvers.anneal.lookahead_start`,
        :func:`~core.solvers.anneal.walk_start` and, with ``beam``,
        :func:`~core.solvers.anneal.beam_start`), ``"greedy"``, ``"empty"`` or a feasible
        journeys array ``[n, width]`` (checked against the problem by the annealer).
    polish
        Finish with steepest-ascent local search from the best journey (skipped for the
        customers the pool search covers completely: at most ``pool`` candidates).
    pool
        Products in the exact pool search that ends the run
        (:func:`~core.solvers.anneal.pool_search`): the best journey's products plus the
        best-connected unused candidates, optimized by Held-Karp over that pool. None (default):
        the maximum journey length plus 4 (9 for the seed and full catalogs, 10 for journeys of
        6). 0 turns it off. A customer with at most ``pool`` candidates is solved exactly. Runs
        when ``iters > 0`` or ``polish``.
    pool_rounds
        Maximum ranked-window pool-search rounds per customer (each with a new pool).
    pool_walk
        Also run the pool search from the walk start (:func:`~core.solvers.anneal.walk_start`)
        for the customers with more than ``pool`` candidates that are not certified optimal, and
        keep the better journey (a second, differently placed pool: diversification at the cost
        of a second search). Default False: with the beam start it adds nothing measurable (it
        was True before).
    pool_units
        Maximum prerequisite-unit rounds per customer in each pool search: pools seeded with an
        unused candidate that other candidates require (a base service) plus the candidates
        that connect best to the journey and it (its add-ons), which ranked windows rarely
        hold together (:func:`~core.solvers.anneal.pool_search`). 0 turns them off.
    beam
        Width of the beam search start (:func:`~core.solvers.anneal.beam_start`) of
        ``init="lookahead"``: partial journeys kept per step, ranked by value so far plus an
        admissible bound of the rest, one per (set offered, last product). It runs only for
        customers with more candidates than the pool search solves exactly (more than ``pool``,
        or every customer with at least two candidates when the pool search is off), at about
        ``beam * K * length`` children per customer. 0 turns it off.
    bound
        Stop annealing (and polishing) a customer once its best journey reaches the upper bound
        of :func:`~core.solvers.anneal.walk_start`: it is then provably optimal. Customers whose
        start reaches it are not annealed at all.
    rng
        Seed (int), Generator (an int seed is drawn from it when the annealer runs) or None
        (fresh entropy). The seed used is stored in the result.
    batch_size
        Customers per batch (memory only: results do not depend on it).
    callback
        Called every ``callback_every`` iterations with a dict (``batch``, ``n_batches``,
        ``iteration``, ``iterations``, ``customers_done``, ``n_customers``, ``best_mean``,
        ``current_mean``, ``temperature``, ``acceptance_rate``, ``active``; means over the
        current batch); returning True stops annealing (the customers not annealed yet keep their
        polished start journey).
    callback_every
        Iterations between callback calls.

    Raises
    ------
    OptionError
        A value out of range, an unknown schedule, move or start (the message names the
        option).

    Examples
    --------
    >>> AnnealOptions(iters=200, restarts=0).iters
    200
    >>> AnnealOptions(beam=-1)
    Traceback (most recent call last):
    ...
    core.common.errors.OptionError: beam must be >= 0, got -1
    """

    schedule: str = "geometric"
    schedule_params: Mapping[str, Any] | None = None
    t0: float | str = "auto"
    t0_acceptance: float = 0.9
    iters: int = 500
    chain_factor: float | str | None = "auto"
    proposals: int = 1
    restarts: int = 1
    stall: int | None = None
    reheat: float = 1.0
    moves: Mapping[str, float] | None = None
    init: str | np.ndarray = "lookahead"
    polish: bool = True
    pool: int | None = None
    pool_rounds: int = 8
    pool_walk: bool = False
    pool_units: int = 8
    beam: int = 32
    bound: bool = True
    rng: np.random.Generator | int | None = None
    batch_size: int = 65536
    callback: Callable[[dict[str, Any]], bool | None] | None = None
    callback_every: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.t0_acceptance < 1.0:
            raise OptionError(f"t0_acceptance must be in (0, 1), got {self.t0_acceptance}")
        if int(self.iters) < 0 or int(self.restarts) < 0:
            raise OptionError("iters and restarts must be >= 0")
        if self.stall is not None and int(self.stall) < 1:
            raise OptionError(f"stall must be >= 1 or None, got {self.stall}")
        if int(self.batch_size) < 1:
            raise OptionError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.reheat > 0:
            raise OptionError(f"reheat must be > 0, got {self.reheat}")
        t0 = self.t0
        if isinstance(t0, str):
            if t0 != "auto":
                raise OptionError(f"t0 must be a number >= 0 or 'auto', got {t0!r}")
        elif not (np.isfinite(t0) and t0 >= 0):
            raise OptionError(f"t0 must be a finite number >= 0 or 'auto', got {t0}")
        if (self.pool is not None and int(self.pool) < 0) or int(self.pool_rounds) < 0:
            raise OptionError(
                f"pool and pool_rounds must be >= 0, got {self.pool}, {self.pool_rounds}"
            )
        if int(self.beam) < 0:
            raise OptionError(f"beam must be >= 0, got {self.beam}")
        if int(self.proposals) < 1:
            raise OptionError(f"proposals must be >= 1, got {self.proposals}")
        chain = self.chain_factor
        if isinstance(chain, str):
            if chain != "auto":
                raise OptionError(f"chain_factor must be > 0, 'auto' or None, got {chain!r}")
        elif chain is not None and not chain > 0:
            raise OptionError(f"chain_factor must be > 0, 'auto' or None, got {chain}")
        sparams = dict(self.schedule_params or {})
        check_params(self.schedule, {"steps": max(int(self.iters), 1), **sparams})
        weights = check_moves(self.moves)
        if isinstance(self.init, str) and self.init not in INITS:
            raise OptionError(
                f"init must be one of {', '.join(INITS)} or a journeys array, got {self.init!r}"
            )
        if self.rng is not None and not isinstance(self.rng, np.random.Generator):
            seed_of(self.rng)  # an int seed >= 0 (a Generator is drawn from when the run starts)
        setattr_ = object.__setattr__
        setattr_(self, "schedule_params", sparams)
        setattr_(self, "moves", weights)
        for name in (
            "iters",
            "proposals",
            "restarts",
            "pool_rounds",
            "pool_units",
            "beam",
            "batch_size",
            "callback_every",
        ):
            setattr_(self, name, int(getattr(self, name)))
        setattr_(self, "pool", None if self.pool is None else int(self.pool))
        setattr_(self, "pool_walk", bool(self.pool_walk))

    @property
    def move_weights(self) -> dict[str, float]:
        """Weight of every move type (``moves`` after validation, never None)."""
        assert self.moves is not None
        return dict(self.moves)

    def resolved(self, length: int) -> AnnealOptions:
        """These options with the defaults that depend on the problem filled in.

        ``pool=None`` becomes ``length + 4`` (``length``: the effective maximum journey length)
        and ``chain_factor="auto"`` becomes 1.0 when the pool search runs, else 2.0.
        """
        pool = length + POOL_EXTRA if self.pool is None else self.pool
        chain = self.chain_factor
        if isinstance(chain, str):  # "auto"
            chain = 1.0 if pool > 0 and self.pool_rounds > 0 else 2.0
        return dataclasses.replace(self, pool=pool, chain_factor=chain)

    def params(self) -> dict[str, Any]:
        """The options a result records, in field order (after :meth:`resolved`; ``init`` is
        ``"array"`` for a journeys array; ``rng`` and the callback are not recorded)."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _NOT_RECORDED
        }
        out["schedule_params"] = dict(self.schedule_params or {})
        out["moves"] = self.move_weights
        out["init"] = self.init if isinstance(self.init, str) else "array"
        return out


def check_moves(moves: Mapping[str, float] | None) -> dict[str, float]:
    """Move weights with every type of :data:`MOVES` filled in (None: :data:`DEFAULT_MOVES`)."""
    out = dict(DEFAULT_MOVES if moves is None else moves)
    unknown = set(out) - set(MOVES)
    if unknown:
        raise OptionError(f"unknown moves {sorted(unknown)}; choose from {', '.join(MOVES)}")
    if any(v < 0 for v in out.values()) or not any(v > 0 for v in out.values()):
        raise OptionError("move weights must be >= 0 and not all zero")
    if out.get("extend", 0.0) <= 0 and out.get("replace", 0.0) <= 0:
        raise OptionError("give 'extend' or 'replace' a positive weight, or no journey can grow")
    return {m: float(out.get(m, 0.0)) for m in MOVES}
