"""Reinforcement-learning lab: next-best-action agents judged against the optimizer's journeys.

The question managers ask: *which offer should come next for this customer, and does a policy
learned by trial and error beat the optimizer's journeys?* The lab answers it on one yardstick:
the expected value of a policy when every offer is accepted only with the customer's acceptance
propensity, estimated by Monte-Carlo on the same held-out customers with the same random draws
for every policy.

* :mod:`core.rl.env`: the offer-by-offer :class:`JourneyEnv` (its :class:`EnvBatch` of
  episodes) and :func:`build_env`, the environment of a customer table.
* :mod:`core.rl.policies`: the :class:`Policy` protocol, the optimizer's journeys as
  :class:`SequencePolicy` (:func:`journey_policies`), the expected-value greedy
  :class:`MyopicPolicy` and the optimal adaptive :class:`ExpectimaxPolicy`.
* :mod:`core.rl.agents`: :class:`QLearningAgent`, :class:`FQIAgent`, :class:`BanditAgent`;
  :func:`make_agent` and :func:`train` by name.
* :mod:`core.rl.evaluation`: :func:`rollout`, :func:`evaluate` (values with 95% intervals,
  paired differences), :func:`mc_interval`, :func:`split_customers`.
* :mod:`core.rl.explain`: :func:`best_actions`, the first action per segment and why.
* :mod:`core.rl.lab`: :func:`lab_data`, everything the RL page and ``python -m core rl`` show
  (:class:`LabResult`), and :func:`markdown_table`.
"""

from core.rl.agents import (
    AGENTS,
    MAX_TABULAR_PRODUCTS,
    Agent,
    BanditAgent,
    FQIAgent,
    QLearningAgent,
    make_agent,
    train,
)
from core.rl.env import STOP_LABEL, EnvBatch, JourneyEnv, build_env
from core.rl.evaluation import (
    Z95,
    Comparison,
    PolicyValue,
    Rollout,
    evaluate,
    mc_interval,
    rollout,
    split_customers,
)
from core.rl.explain import best_actions
from core.rl.lab import DEFAULT_EPISODES, POLICY_LABELS, LabResult, lab_data, markdown_table
from core.rl.policies import (
    SOLVERS,
    WEIGHTED_EXACT,
    ExpectimaxPolicy,
    MyopicPolicy,
    Policy,
    SequencePolicy,
    expectimax_states,
    journey_policies,
)

__all__ = [
    "AGENTS",
    "DEFAULT_EPISODES",
    "MAX_TABULAR_PRODUCTS",
    "POLICY_LABELS",
    "SOLVERS",
    "STOP_LABEL",
    "WEIGHTED_EXACT",
    "Z95",
    "Agent",
    "BanditAgent",
    "Comparison",
    "EnvBatch",
    "ExpectimaxPolicy",
    "FQIAgent",
    "JourneyEnv",
    "LabResult",
    "MyopicPolicy",
    "Policy",
    "PolicyValue",
    "QLearningAgent",
    "Rollout",
    "SequencePolicy",
    "best_actions",
    "build_env",
    "evaluate",
    "expectimax_states",
    "journey_policies",
    "lab_data",
    "make_agent",
    "markdown_table",
    "mc_interval",
    "rollout",
    "split_customers",
    "train",
]
