"""Acceptance in expectation: a refused base service blocks its add-ons.

With the acceptance propensity (``Settings.propensity``) each offer counts with the probability
that the customer accepts it: ``O[c, i, j] * p[c, j]`` (:func:`~core.opportunity.combine`). An
add-on ``j`` whose prerequisite ``q`` the customer does not hold can only be accepted if ``q``
was: in every feasible journey ``q`` is offered before ``j`` (the journey rules), so ``j`` is
accepted with probability ``p[c, j] * p[c, q]``, and with ``p[c, q]``'s own missing
prerequisites in turn. :func:`prerequisite_propensity` folds that into one factor per customer
and product, independent of the order of the journey, so the journey problem keeps its shape.

Exactness: a journey's value with these factors equals its exact expected value
(:func:`core.campaigns.expected_journey_value`, which follows every accept / refuse path) when
an offer's value does not depend on the product offered just before it; otherwise the problem
keeps valuing a step after the previous *offer* (its order effect), the exact expectation after
the last *accepted* product (tested in ``tests/core/test_campaign_expectation.py``).
"""

from __future__ import annotations

import numpy as np

from core.common.errors import OptionError


def prerequisite_propensity(
    propensity: np.ndarray, held: np.ndarray, requires: np.ndarray
) -> np.ndarray:
    """Probability that an offer of each product can be and is accepted, ``[n, P]``.

    ``f[c, j] = p[c, j] * prod(f[c, q] for q required by j and not held by c)``: the offer's own
    acceptance times the acceptance of every missing prerequisite (recursively), which every
    feasible journey offers before it.

    Parameters
    ----------
    propensity : numpy.ndarray
        ``[n, P]`` acceptance probabilities in [0, 1].
    held : numpy.ndarray
        bool ``[n, P]`` current holdings (a held prerequisite blocks nothing).
    requires : numpy.ndarray
        bool ``[P, P]``: ``requires[j, q]`` when ``j`` needs ``q`` held or offered earlier
        (:meth:`core.data.catalog.Catalog.requires_matrix`); acyclic.

    Returns
    -------
    numpy.ndarray
        ``[n, P]`` in the propensity's float dtype; equal to ``propensity`` where nothing is
        missing.

    Examples
    --------
    >>> p = np.array([[0.5, 0.4]])            # product 1 needs product 0
    >>> req = np.array([[False, False], [True, False]])
    >>> prerequisite_propensity(p, np.zeros((1, 2), bool), req).tolist()
    [[0.5, 0.2]]
    >>> prerequisite_propensity(p, np.array([[True, False]]), req).tolist()
    [[0.5, 0.4]]
    """
    prop = np.asarray(propensity)
    dtype = prop.dtype if np.issubdtype(prop.dtype, np.floating) else np.float64
    prop = prop.astype(dtype, copy=False)
    have = np.asarray(held, dtype=bool)
    req = np.asarray(requires, dtype=bool)
    if prop.ndim != 2:
        raise OptionError(f"propensity must be [n, P], got shape {prop.shape}")
    n, p = prop.shape
    if have.shape != (n, p) or req.shape != (p, p):
        raise OptionError(f"held must be [n, P] = {(n, p)} and requires [P, P] = {(p, p)}")
    if not req.any():
        return prop
    out = prop.copy()
    done = np.zeros(p, dtype=bool)
    for _ in range(p):  # topological order: a product after all of its prerequisites
        ready = ~done & ~(req & ~done[None, :]).any(axis=1)
        if not ready.any():
            raise OptionError("the prerequisites form a cycle; a catalog must not")
        for j in np.flatnonzero(ready):
            for q in np.flatnonzero(req[j]):
                out[:, j] *= np.where(have[:, q], 1.0, out[:, q]).astype(dtype)
        done |= ready
        if done.all():
            break
    return out
