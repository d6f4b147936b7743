"""The true acceptance probability of an offer: would this customer take product ``k`` if offered?

A customer accepts an offer of product ``k`` with probability::

    p_accept[c, k] = logistic(a_k + 4 * ds_k - 0.06 * dprice_k * softplus(ps + 0.3)
                              + 0.35 * loyalty + [k = offer] * 0.6 * ps)

* ``ds_k = s(h + k) - s(h)``: the latent satisfaction the product adds to the customer's current
  portfolio (:func:`core.data.synthetic.structural.outcomes`), so acceptance inherits every
  driver of the product's value: service need (security, protection, support), tech affinity
  and youth (streaming), data appetite (unlimited data), family (multiple lines), substitutes
  (backup and protection), diminishing returns of streaming and overload;
* ``dprice_k``: the monthly list price the product adds, weighed by price sensitivity ``ps``;
* loyalty: trust in the provider makes any offer more welcome;
* the promotional offer (a discount) appeals to price-sensitive customers.

The probability is 0 where the customer already holds ``k`` or lacks its prerequisite (internet
for the internet add-ons, phone for multiple lines): that offer cannot be taken. The intercepts
``a_k`` put the mean acceptance among eligible customers between 10% and 30% (a cross-sell
campaign's usual range); docs/campaigns.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.data.synthetic._base import INTERNET, ML, OFFER, PHONE, PRODUCTS, expit, softplus

#: Intercept ``a_k`` of each product's acceptance logit, in :data:`PRODUCTS` order.
ACCEPT_INTERCEPT = np.array(
    [-0.77, -1.03, -1.46, -1.16, -1.87, -1.88, -1.88, -2.07, -1.10, -1.09, -1.53, -1.50]
)
ACCEPT_VALUE = 4.0  # logit per unit of latent satisfaction added
ACCEPT_PRICE = 0.06  # logit per dollar of monthly price, times softplus(ps + 0.3)
ACCEPT_LOYALTY = 0.35
ACCEPT_OFFER_PS = 0.6  # the discount's extra appeal per unit of price sensitivity


def prerequisite_met(h: np.ndarray, k: int) -> np.ndarray:
    """bool ``[n]``: the customer holds what product ``k`` needs (internet, or phone)."""
    if k == ML:
        return np.asarray(h[:, PHONE], dtype=bool)
    if k > INTERNET:
        return np.asarray(h[:, INTERNET], dtype=bool)
    return np.ones(len(h), dtype=bool)


def acceptance_probability(
    k: int,
    x: Mapping[str, np.ndarray],
    h: np.ndarray,
    gained: np.ndarray,
    added_price: np.ndarray,
) -> np.ndarray:
    """True probability that each customer accepts an offer of product ``k``.

    Parameters
    ----------
    k : int
        Product index in :data:`PRODUCTS`.
    x : mapping
        The truth inputs (``latent_*``, ``base_*``).
    h : numpy.ndarray of bool, shape (n, 12)
        Current portfolios.
    gained : numpy.ndarray, shape (n,)
        Latent satisfaction added by the product, ``s(h + k) - s(h)``.
    added_price : numpy.ndarray, shape (n,)
        Monthly list price added by the product.

    Returns
    -------
    numpy.ndarray
        Probabilities in [0, 1); exactly 0 where ``k`` is held or its prerequisite is missing.
    """
    if not 0 <= k < len(PRODUCTS):
        raise IndexError(f"product index {k} outside 0..{len(PRODUCTS) - 1}")
    ps = x["latent_price_sensitivity"]
    logit = (
        ACCEPT_INTERCEPT[k]
        + ACCEPT_VALUE * gained
        - ACCEPT_PRICE * added_price * softplus(ps + 0.3)
        + ACCEPT_LOYALTY * x["latent_loyalty"]
    )
    if k == OFFER:
        logit = logit + ACCEPT_OFFER_PS * ps
    can = ~np.asarray(h[:, k], dtype=bool) & prerequisite_met(h, k)
    return np.where(can, expit(logit), 0.0)
