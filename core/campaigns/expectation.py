"""Journeys valued in expectation: each offer is accepted only with its probability.

A journey offers products ``j_1, j_2, ...`` in order. With acceptance probabilities
``p[c, j]``, each offer is accepted independently; a declined offer changes nothing, an accepted
one earns ``O[c, prev, j]`` where ``prev`` is the customer's last *accepted* product (row 0: the
start, before any product of the journey was taken), discounted by ``discount ** (t - 1)`` for
the ``t``-th contact. An offer whose prerequisites (``requires``) are neither held nor accepted
earlier cannot be accepted. :func:`expected_journey_value` propagates the joint distribution of
the last accepted product and of which prerequisite products have been taken along the
journey (``(1 + P) * 2^R`` states per customer for ``R`` products that are someone's
prerequisite: one or two in the shipped catalogs), so the expectation is exact.

It works on plain arrays (the opportunity of :func:`core.opportunity.combine` without the
propensity, and the journeys of a solver), so any page or report can call it.
"""

from __future__ import annotations

import numpy as np

from core.common.errors import OptionError


def expected_journey_value(
    opportunity: np.ndarray,
    journeys: np.ndarray,
    propensity: np.ndarray,
    *,
    discount: float = 1.0,
    held: np.ndarray | None = None,
    requires: np.ndarray | None = None,
) -> np.ndarray:
    """Expected value of each customer's journey when offers may be declined.

    Parameters
    ----------
    opportunity : numpy.ndarray
        ``[n, 1 + P, P]`` value of offering ``j`` after ``i`` was taken (row 0: first step).
    journeys : numpy.ndarray
        int ``[n, width]``, product indices in order, padded with -1.
    propensity : numpy.ndarray
        ``[n, P]`` acceptance probabilities in [0, 1].
    discount : float
        Per-contact discount in (0, 1].
    held : numpy.ndarray, optional
        bool ``[n, P]`` current holdings (prerequisites already met).
    requires : numpy.ndarray, optional
        bool ``[P, P]``: ``requires[j, q]`` when ``j`` needs ``q``.

    Returns
    -------
    numpy.ndarray
        float ``[n]``.

    Examples
    --------
    >>> o = np.zeros((1, 3, 2)); o[0, 0] = [10, 4]; o[0, 1, 1] = 6  # b is worth 6 after a
    >>> p = np.array([[0.5, 0.5]])
    >>> expected_journey_value(o, np.array([[0, 1]]), p).tolist()  # 0.5*10 + 0.5*(0.5*6 + 0.5*4)
    [7.5]
    """
    opp = np.asarray(opportunity, dtype=np.float64)
    j = np.asarray(journeys)
    prop = np.asarray(propensity, dtype=np.float64)
    if opp.ndim != 3 or opp.shape[1] != opp.shape[2] + 1:
        raise OptionError(f"opportunity must be [n, 1 + P, P], got {opp.shape}")
    n, _, p = opp.shape
    if j.ndim != 2 or j.shape[0] != n or not np.issubdtype(j.dtype, np.integer):
        raise OptionError(f"journeys must be int [n={n}, width], got {j.dtype} {j.shape}")
    if prop.shape != (n, p) or np.any(prop < 0) or np.any(prop > 1):
        raise OptionError(f"propensity must be probabilities of shape {(n, p)}")
    if not 0 < discount <= 1:
        raise OptionError(f"discount must be in (0, 1], got {discount}")
    if j.size and (j.max() >= p or j.min() < -1):
        raise OptionError(f"journey entries must be product indices 0..{p - 1} or -1")
    have = np.zeros((n, p), dtype=bool) if held is None else np.asarray(held, dtype=bool)
    req = np.zeros((p, p), dtype=bool) if requires is None else np.asarray(requires, dtype=bool)
    if have.shape != (n, p) or req.shape != (p, p):
        raise OptionError(f"held must be [n, P] = {(n, p)} and requires [P, P]")
    pre = np.flatnonzero(req.any(axis=0))  # products that are someone's prerequisite
    if len(pre) > 10:
        raise OptionError(f"{len(pre)} prerequisite products: at most 10 are supported")
    bit = np.zeros(p, dtype=np.int64)
    bit[pre] = 1 << np.arange(len(pre))
    need = req.astype(np.int64) @ bit  # [P]: mask of the prerequisites each product needs
    masks = np.arange(1 << len(pre))
    rows = np.arange(n)
    state = np.zeros((n, len(masks), 1 + p))  # P(prerequisites taken = mask, last = s)
    state[rows, have.astype(np.int64) @ bit, 0] = 1.0
    value = np.zeros(n)
    for t in range(j.shape[1]):
        live = j[:, t] >= 0
        cur = np.where(live, j[:, t], 0)
        ok = (masks[None, :] & need[cur][:, None]) == need[cur][:, None]  # [n, M]
        held_cur = have[rows, cur]
        acc = np.where((live & ~held_cur)[:, None] & ok, prop[rows, cur][:, None], 0.0)
        gain = np.einsum("nms,ns->nm", state, opp[rows, :, cur])
        value += discount**t * (acc * gain).sum(axis=1)
        moved = acc * state.sum(axis=2)  # [n, M]: mass that accepts
        state *= (1.0 - acc)[:, :, None]
        target = masks[None, :] | bit[cur][:, None]  # [n, M]
        for m in masks:
            np.add.at(state, (rows, target[:, m], 1 + cur), moved[:, m])
    return value
