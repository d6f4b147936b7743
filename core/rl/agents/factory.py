"""Agents by name: :data:`AGENTS`, :func:`make_agent` and :func:`train`."""

from __future__ import annotations

from typing import Any

from core.common.errors import CJOError
from core.common.progress import Progress
from core.rl.agents.bandit import BanditAgent
from core.rl.agents.fqi import FQIAgent
from core.rl.agents.qlearning import QLearningAgent
from core.rl.env import JourneyEnv

AGENTS: tuple[str, ...] = ("qlearning", "fqi", "bandit")

Agent = QLearningAgent | FQIAgent | BanditAgent


def make_agent(
    name: str, *, episodes: int | None = None, random_state: Any = 0, **params: Any
) -> Agent:
    """An unfitted agent by name (``qlearning``, ``fqi``, ``bandit``)."""
    if episodes is not None:
        params["episodes"] = int(episodes)
    if name == "qlearning":
        return QLearningAgent(random_state=random_state, **params)
    if name == "fqi":
        return FQIAgent(random_state=random_state, **params)
    if name == "bandit":
        return BanditAgent(random_state=random_state, **params)
    raise CJOError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}.")


def train(
    env: JourneyEnv,
    agent: str = "qlearning",
    *,
    episodes: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    **params: Any,
) -> Agent:
    """Train one agent on ``env`` (the training customers); ``progress(done, total)``.

    Examples
    --------
    >>> import numpy as np
    >>> from core.journeys import JourneyProblem
    >>> from core.rl import rollout
    >>> O = np.zeros((1, 3, 2), np.float32); O[0, 0] = [1.0, -1.0]
    >>> no = np.zeros((2, 2), bool)
    >>> env = JourneyEnv(JourneyProblem(O, np.zeros((1, 2), bool), no, no, 2, 1.0),
    ...                  np.ones((1, 2)))
    >>> ag = train(env, "qlearning", episodes=200, batch_size=8)
    >>> rollout(env, ag).returns.tolist()
    [[1.0]]
    """
    return make_agent(agent, episodes=episodes, random_state=seed, **params).fit(
        env, progress=progress
    )
