"""Targeting policies over the arms of a campaign: who gets which arm.

A policy is an action distribution ``[n, K]`` over the log's arms (control first): row ``i``
gives the probability that customer ``i`` receives each arm. The off-policy estimators
(:mod:`core.campaigns.ope`) evaluate any of them:

* :func:`single_arm`: everyone gets the same arm (the "best single arm" baseline; arm 0 is
  the control group, i.e. nobody is contacted);
* :func:`greedy`: each customer gets the arm of largest predicted uplift, or control when no
  uplift exceeds the arm's cost: the learned targeting;
* :func:`from_actions` / :func:`actions_from_labels`: any given assignment, e.g. the journeys'
  first offers as product keys (``None``, ``""`` or the control label = no offer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.common.errors import OptionError


def from_actions(actions: Any, n_arms: int) -> np.ndarray:
    """One-hot action distribution ``[n, n_arms]`` of integer actions."""
    a = np.asarray(actions)
    if a.ndim != 1 or (a.size and (not np.issubdtype(a.dtype, np.integer))):
        raise OptionError("actions must be a 1-D array of arm indices")
    if a.size and (a.min() < 0 or a.max() >= n_arms):
        raise OptionError(f"actions must be arm indices 0..{n_arms - 1}")
    out = np.zeros((len(a), n_arms))
    out[np.arange(len(a)), a] = 1.0
    return out


def single_arm(n: int, n_arms: int, arm: int) -> np.ndarray:
    """Everyone gets ``arm``: ``[n, n_arms]``."""
    if not 0 <= arm < n_arms:
        raise OptionError(f"arm must be in 0..{n_arms - 1}, got {arm}")
    return from_actions(np.full(n, arm, dtype=np.int64), n_arms)


def greedy(uplift: Any, cost: Sequence[float] | None = None) -> np.ndarray:
    """Integer actions: the arm of largest ``uplift - cost``, control (0) when none is > 0.

    Parameters
    ----------
    uplift : array-like, shape (n, K)
        Predicted uplift of each treatment arm against control.
    cost : sequence of float, optional
        Cost of each treatment arm in the outcome's units (default 0).

    Returns
    -------
    numpy.ndarray
        int ``[n]`` in 0..K (0 = control, ``1 + j`` = treatment arm ``j``).

    Examples
    --------
    >>> greedy([[0.1, 0.3], [-0.2, -0.1], [0.2, 0.2]]).tolist()
    [2, 0, 1]
    """
    u = np.asarray(uplift, dtype=np.float64)
    if u.ndim != 2:
        raise OptionError(f"uplift must be [n, K], got shape {u.shape}")
    if cost is not None:
        c = np.asarray(cost, dtype=np.float64)
        if c.shape != (u.shape[1],):
            raise OptionError(f"cost must have one value per treatment arm ({u.shape[1]})")
        u = u - c
    net = np.hstack([np.zeros((len(u), 1)), u])
    return np.argmax(net, axis=1).astype(np.int64)


def actions_from_labels(labels: Any, arms: Sequence[str]) -> np.ndarray:
    """Arm indices of given labels (``None``, ``""``, NaN or the control label -> 0).

    Raises
    ------
    OptionError
        Labels that are not arms of the campaign: such a policy cannot be evaluated on it.
    """
    arms = [str(a) for a in arms]
    code = {a: i for i, a in enumerate(arms)}
    out = np.empty(len(labels), dtype=np.int64)
    unknown: list[str] = []
    for i, v in enumerate(labels):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v) == "":
            out[i] = 0
            continue
        k = code.get(str(v))
        if k is None:
            unknown.append(str(v))
            out[i] = 0
        else:
            out[i] = k
    if unknown:
        raise OptionError(
            f"the policy gives arm(s) {sorted(set(unknown))[:5]} the campaign never tried "
            f"(its arms: {arms}); the log cannot tell what they would earn"
        )
    return out


def share_by_arm(actions: Any, arms: Sequence[str]) -> dict[str, float]:
    """Share of customers each arm gets under integer ``actions``."""
    a = np.asarray(actions, dtype=np.int64)
    counts = np.bincount(a, minlength=len(arms)) / max(len(a), 1)
    return {str(arm): float(c) for arm, c in zip(arms, counts, strict=True)}
