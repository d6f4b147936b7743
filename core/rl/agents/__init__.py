"""Next-best-action agents that learn by trial and error in a :class:`core.rl.JourneyEnv`.

No deep-learning dependency:

* :class:`QLearningAgent`: tabular Q-learning over ``(segment, portfolio, offered, prev)``
  states (the step is the number of offered products), epsilon-greedy exploration decaying
  linearly, learning rate ``1 / (1 + visits) ** lr_power``, updates in reverse time order over
  each batch of episodes. Generalises across customers only through the segment.
* :class:`FQIAgent`: fitted Q-iteration with a tree ensemble on (customer features, segment,
  portfolio, offered, prev, step, action one-hot, action context) from exploratory episodes,
  ``max_length + 1`` backups per round, several rounds of epsilon-greedy data collection.
* :class:`BanditAgent`: a contextual bandit (LinUCB, one ridge regression per product) for the
  *next* offer: myopic by design, it learns the immediate expected reward and stops when no
  offer is expected to pay.

``Q(s, stop) = 0`` for every agent; the greedy policies stop when no product has a positive value
(ties go to stop), and the tabular agent stops in a state it never visited in training.

Every agent follows the estimator conventions: ``__init__`` stores the options (each agent is a
dataclass of its keyword-only options), ``fit(env)`` returns self, fitted attributes end in ``_``;
``act(env, batch, valid)`` makes it a policy.
:func:`make_agent` and :func:`train` build one by name (:data:`AGENTS`).
"""

from core.rl.agents.bandit import BanditAgent
from core.rl.agents.factory import AGENTS, Agent, make_agent, train
from core.rl.agents.fqi import FQIAgent
from core.rl.agents.qlearning import MAX_TABULAR_PRODUCTS, QLearningAgent

__all__ = [
    "AGENTS",
    "MAX_TABULAR_PRODUCTS",
    "Agent",
    "BanditAgent",
    "FQIAgent",
    "QLearningAgent",
    "make_agent",
    "train",
]
