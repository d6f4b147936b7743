"""Best first actions per segment: what a policy does, how often, and one sentence why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.rl.env import STOP_LABEL, JourneyEnv
from core.rl.evaluation import Rollout


def best_actions(env: JourneyEnv, roll: Rollout, *, policy: str = "policy") -> pd.DataFrame:
    """Which first action a policy picks in each segment, how often, and what it is worth.

    Parameters
    ----------
    env : JourneyEnv
        The customers the rollout ran on.
    roll : Rollout
        The policy's rollout (:func:`rollout` or ``Comparison.rollouts[name]``).
    policy : str
        Policy name used in the explanations.

    Returns
    -------
    pandas.DataFrame
        One row per (segment, first action), most frequent first within each segment:
        ``segment_id``, ``segment``, ``customers``, ``rank``, ``action``, ``label``, ``share``
        (of the segment's customers), ``value`` (mean journey return of those customers),
        ``propensity`` (their mean acceptance of that product), ``gain`` (weighted value if
        accepted as first offer) and ``explanation`` (one sentence, on the top row of each
        segment; empty on the others).
    """
    assert env.segments is not None and env.segment_names is not None
    first = roll.first_actions[:, 0] if roll.first_actions.size else np.zeros(0, np.int64)
    value = roll.returns.mean(axis=1) if roll.returns.size else np.zeros(0)
    firstrow = env.first_gains
    rows: list[dict[str, Any]] = []
    for s in sorted(np.unique(env.segments).tolist()):
        who = env.segments == s
        n_s = int(who.sum())
        acts, counts = np.unique(first[who], return_counts=True)
        order = np.lexsort((acts, -counts))
        for rank, k in enumerate(order, start=1):
            a = int(acts[k])
            sel = who & (first == a)
            prop = float(env.propensity[sel, a].mean()) if a < env.stop else float("nan")
            gain = float(firstrow[sel, a].mean()) if a < env.stop else float("nan")
            row = {
                "segment_id": s,
                "segment": env.segment_names[s],
                "customers": n_s,
                "rank": rank,
                "action": env.product_keys[a] if a < env.stop else STOP_LABEL,
                "label": env.action_label(a),
                "share": counts[k] / n_s,
                "value": float(value[sel].mean()),
                "propensity": prop,
                "gain": gain,
                "explanation": "",
            }
            if rank == 1:
                row["explanation"] = _explain(row, policy)
            rows.append(row)
    return pd.DataFrame(rows)


def _explain(row: Mapping[str, Any], policy: str) -> str:
    seg, share = row["segment"], row["share"]
    if row["action"] == STOP_LABEL:
        return (
            f"In '{seg}' the {policy} policy makes no offer to {share:.0%} of customers: no "
            "offerable product is expected to add value for them."
        )
    return (
        f"In '{seg}' the {policy} policy opens with {row['label']} for {share:.0%} of customers: "
        f"they accept it {row['propensity']:.0%} of the time and it adds {row['gain']:+.2f} "
        f"(weighted opportunity) when taken, for an expected journey value of {row['value']:.2f}."
    )
