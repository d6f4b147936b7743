"""The RL lab: train the agents on part of the customers, compare every policy on the rest.

Everything the dashboard's RL page and ``python -m core rl`` show: :func:`lab_data` splits the
customers, trains the agents, builds the optimizer's journeys and the baselines, evaluates them
all with common random numbers and explains each agent's first action per segment
(:class:`LabResult`); :func:`markdown_table` prints the comparison.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.jsonutil import to_jsonable
from core.common.progress import Progress
from core.common.rng import derive_seed
from core.rl._base import _ACCEPT
from core.rl.agents import AGENTS, train
from core.rl.env import JourneyEnv
from core.rl.evaluation import Comparison, evaluate, split_customers
from core.rl.explain import best_actions
from core.rl.policies import (
    SOLVERS,
    WEIGHTED_EXACT,
    ExpectimaxPolicy,
    MyopicPolicy,
    Policy,
    journey_policies,
)

DEFAULT_EPISODES: dict[str, int] = {"qlearning": 40_000, "fqi": 8_000, "bandit": 20_000}


@dataclass(frozen=True, eq=False)
class LabResult:
    """Everything the RL lab page shows.

    Attributes
    ----------
    comparison : Comparison
        Values with confidence intervals of every policy on the held-out customers.
    table : pandas.DataFrame
        ``comparison.table()`` with a ``label`` column for charts.
    curves : dict[str, pandas.DataFrame]
        Agent -> training curve (``episode``, ``return_ma``).
    best_actions : dict[str, pandas.DataFrame]
        Agent -> :func:`best_actions` on the held-out customers.
    agents : dict
        Agent name -> fitted agent.
    train_rows, test_rows : numpy.ndarray
        Customer rows used for training and evaluation.
    notes : tuple of str
        Caveats (solvers left out, state coverage of the tabular agent, ...).
    params : dict
        Options as run.
    seconds : dict
        Wall time per stage.
    """

    comparison: Comparison
    table: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    best_actions: dict[str, pd.DataFrame]
    agents: dict[str, Any]
    train_rows: np.ndarray
    test_rows: np.ndarray
    notes: tuple[str, ...]
    params: dict[str, Any]
    seconds: dict[str, float]

    def report(self) -> dict[str, Any]:
        """JSON-friendly summary (the CLI's ``--report``)."""
        out = self.comparison.report()
        out["eval_seed"] = out["seed"]
        out["seed"] = self.params["seed"]
        out["agents"] = list(self.agents)
        out["params"] = self.params
        out["notes"] = list(self.notes)
        out["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        out["best_actions"] = {
            name: [
                to_jsonable(r, digits=6)
                for r in df[df["rank"] == 1].drop(columns=["rank"]).to_dict(orient="records")
            ]
            for name, df in self.best_actions.items()
        }
        return out


POLICY_LABELS: dict[str, str] = {
    "qlearning": "Q-learning (tabular)",
    "fqi": "Fitted Q-iteration",
    "bandit": "Contextual bandit",
    "anneal": "Annealed journeys",
    "exact": "Exact optimum journeys",
    "greedy": "Greedy journeys",
    WEIGHTED_EXACT: "Exact journeys on p x O",
    "expected-greedy": "Expected-value greedy",
    "oracle": "Optimal adaptive (knows p)",
}


def lab_data(
    env: JourneyEnv,
    *,
    agents: Sequence[str] = AGENTS,
    episodes: int | Mapping[str, int] | None = None,
    seed: int = 0,
    test_size: float = 0.3,
    eval_episodes: int = 20,
    solvers: Sequence[str] = SOLVERS,
    myopic: bool = True,
    oracle: bool = True,
    progress: Progress | None = None,
) -> LabResult:
    """Train the agents on part of the customers and compare every policy on the rest.

    Parameters
    ----------
    env : JourneyEnv
        All customers (:func:`build_env`).
    agents : sequence of str
        Agents to train (``qlearning``, ``fqi``, ``bandit``).
    episodes : int, mapping or None
        Training episodes (one number for all, per agent, or :data:`DEFAULT_EPISODES`).
    seed : int
        Seed of the split, the training and the evaluation draws.
    test_size : float
        Share of customers held out for the evaluation.
    eval_episodes : int
        Monte-Carlo episodes per held-out customer.
    solvers : sequence of str
        Optimizer journeys to compare (:func:`core.solvers.solve` names).
    myopic : bool
        Also evaluate the expected-value greedy policy (offer the largest ``p * O_w``).
    oracle : bool
        Also evaluate the optimal adaptive policy (:class:`ExpectimaxPolicy`) when the catalog
        is small enough; otherwise a note says why not.
    progress : callable, optional
        ``progress(done, total)`` over training and evaluation.

    Returns
    -------
    LabResult
    """
    for a in agents:
        if a not in AGENTS:
            raise CJOError(f"unknown agent {a!r}; choose from {', '.join(AGENTS)}.")
    if isinstance(episodes, Mapping):
        eps = {a: int(episodes.get(a, DEFAULT_EPISODES[a])) for a in agents}
    else:
        eps = {a: int(episodes) if episodes is not None else DEFAULT_EPISODES[a] for a in agents}
    if any(v < 1 for v in eps.values()):
        raise CJOError(f"episodes must be >= 1, got {eps}.")
    timings: dict[str, float] = {}
    train_rows, test_rows = split_customers(env, test_size, seed=seed)
    train_env, test_env = env.subset(train_rows), env.subset(test_rows)
    eval_weight = max(1, sum(eps.values()) // 10)
    total = float(sum(eps.values()) + eval_weight)
    offset = 0.0

    def sub(k: float) -> Progress | None:
        if progress is None:
            return None
        return lambda d, t: progress(offset + k * (d / t if t else 1.0), total)

    fitted: dict[str, Any] = {}
    for a in agents:
        t0 = time.perf_counter()
        fitted[a] = train(train_env, a, episodes=eps[a], seed=seed, progress=sub(eps[a]))
        timings[f"train_{a}"] = time.perf_counter() - t0
        offset += eps[a]
    t0 = time.perf_counter()
    seqs, _, notes = journey_policies(test_env, solvers, seed=seed)
    timings["journeys"] = time.perf_counter() - t0
    policies: dict[str, Policy] = {**fitted, **seqs}
    kinds = {**dict.fromkeys(fitted, "learned"), **dict.fromkeys(seqs, "journeys")}
    if myopic:
        policies["expected-greedy"] = MyopicPolicy()
        kinds["expected-greedy"] = "baseline"
    if oracle:
        try:
            policies["oracle"] = ExpectimaxPolicy(test_env)
            kinds["oracle"] = "ceiling"
        except ValueError as exc:
            notes.append(f"oracle: not evaluated ({exc})")
    reference = "anneal" if "anneal" in seqs else None
    t0 = time.perf_counter()
    comp = evaluate(
        test_env,
        policies,
        episodes=eval_episodes,
        seed=derive_seed(seed, _ACCEPT),
        reference=reference,
        kinds=kinds,
        progress=sub(eval_weight),
    )
    timings["evaluate"] = time.perf_counter() - t0
    table = comp.table()
    table.insert(1, "label", [POLICY_LABELS.get(n, n) for n in table["name"]])
    curves = {a: pd.DataFrame(fitted[a].curve_) for a in fitted}
    best = {a: best_actions(test_env, comp.rollouts[a], policy=POLICY_LABELS[a]) for a in fitted}
    notes = list(notes)
    if "qlearning" in fitted:
        b = test_env.reset(np.arange(test_env.n_customers), seed=0)
        cov = float(fitted["qlearning"].coverage(test_env, b).mean()) if b.size else 1.0
        notes.append(
            f"qlearning: {cov:.0%} of held-out customers start in a state seen in training "
            f"({fitted['qlearning'].n_states_:,} states learned); unseen states stop."
        )
    if progress is not None:
        progress(total, total)
    params = {
        "agents": list(agents),
        "episodes": eps,
        "seed": seed,
        "test_size": test_size,
        "eval_episodes": eval_episodes,
        "solvers": list(solvers),
        "n_train": int(train_rows.size),
        "n_test": int(test_rows.size),
    }
    return LabResult(
        comparison=comp,
        table=table,
        curves=curves,
        best_actions=best,
        agents=fitted,
        train_rows=train_rows,
        test_rows=test_rows,
        notes=tuple(notes),
        params=params,
        seconds=timings,
    )


def markdown_table(result: LabResult) -> str:
    """The comparison as a Markdown table (README / CLI output)."""
    ref = result.comparison.reference
    head = "| policy | value (95% CI) | if all accepted | offers | accepted |"
    sep = "|---|---|---|---|---|"
    if ref:
        head += f" vs {ref} (95% CI) |"
        sep += "---|"
    lines = [head, sep]
    for _, r in result.table.iterrows():
        line = (
            f"| {r['label']} | {r['value']:.3f} ({r['ci_low']:.3f} to {r['ci_high']:.3f}) "
            f"| {r['deterministic']:.3f} | {r['mean_offers']:.2f} | {r['mean_accepted']:.2f} |"
        )
        if ref:
            line += (
                " reference |"
                if r["name"] == ref
                else f" {r['diff']:+.3f} ({r['diff_low']:+.3f} to {r['diff_high']:+.3f}) |"
            )
        lines.append(line)
    return "\n".join(lines)
