"""Past campaigns of the synthetic population: randomized offers, acceptance and what followed.

Every customer of the population was part of one past cross-sell campaign. The campaign
randomized each customer to one arm: the control group (no contact) or an offer of one catalog
product, with fixed shares (the control share defaults to ``sqrt(K) / (K + sqrt(K))`` for ``K``
offer arms, the allocation that minimises the variance of the ``K`` comparisons with control).
A customer offered product ``k`` accepts it with the **true acceptance probability**
``p_accept__k`` of the truth table (:mod:`~core.data.synthetic.acceptance`); an offer of a held
product, or of an add-on without its prerequisite, cannot be accepted. Then, over the
``horizon`` months after the campaign:

* ``churned``: the customer leaves with the structural churn probability of the portfolio they
  hold after the campaign (:func:`~core.data.synthetic.structural.outcomes`);
* ``revenue``: the monthly bill (the customer's ``Monthly Charge``, plus the list price the
  accepted product adds, or minus :data:`OFFER_DISCOUNT` for an accepted promotional offer)
  times the months the customer stays (a churner leaves in a month drawn uniformly from
  1..horizon);
* ``accepted``: 1 when the offer was taken (always 0 in the control group).

The log has one row per customer: ``Customer ID``, ``arm`` (a product key or
:data:`CONTROL`), ``propensity`` (the design probability of the arm received) and the three
outcomes. The customer features are not repeated: join them from the customers file by id.
:func:`campaign_truth` gives every customer's **expected** outcome under every arm, so any
targeting policy can be judged on truth.

Randomness: block ``b`` of :data:`~core.data.synthetic.draws.BLOCK_SIZE` customers draws from
its own child stream of ``(seed, b)`` (independent of the population's draws), so the log does
not depend on chunking and the population's columns are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.data.synthetic._base import OFFER, PRODUCTS
from core.data.synthetic.calibration import INTERNET_PRICE
from core.data.synthetic.draws import BLOCK_SIZE
from core.data.synthetic.structural import list_price, outcomes
from core.data.synthetic.truth import _INPUTS, holdings_from_frame

#: Label of the control group (no contact).
CONTROL = "control"
#: Products offered in the default campaign: the seed catalog's five and three add-ons.
CAMPAIGN_PRODUCTS: tuple[str, ...] = (
    "offer",
    "phone",
    "internet",
    "online_security",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "unlimited_data",
)
#: Months after the campaign over which revenue and churn are observed.
HORIZON = 12
#: Share of the monthly bill the promotional offer takes off.
OFFER_DISCOUNT = 0.10
#: Outcome columns of the log.
OUTCOMES: tuple[str, ...] = ("accepted", "revenue", "churned")
#: Columns of the log, in order.
CAMPAIGN_COLUMNS: tuple[str, ...] = ("Customer ID", "arm", "propensity", *OUTCOMES)
_STREAM = 0xCA4D  # spawn key of the campaign streams (the population uses none)
_N_DRAWS = 4  # uniforms per customer: arm, acceptance, churn, churn month
_DTYPES = (object, object, np.float64, np.int64, np.float64, np.int64)


def default_control_share(n_arms: int) -> float:
    """``sqrt(K) / (K + sqrt(K))``: the control share that best serves ``K`` comparisons."""
    if n_arms < 1:
        raise OptionError(f"a campaign needs at least one offer arm, got {n_arms}")
    return math.sqrt(n_arms) / (n_arms + math.sqrt(n_arms))


def _check_design(
    products: Sequence[str], control_share: float | None, horizon: int
) -> tuple[tuple[str, ...], np.ndarray]:
    prods = tuple(products)
    unknown = [p for p in prods if p not in PRODUCTS]
    if not prods or unknown or len(set(prods)) != len(prods):
        raise OptionError(f"products must be distinct keys of {list(PRODUCTS)}; got {list(prods)}")
    share = default_control_share(len(prods)) if control_share is None else float(control_share)
    if not 0.0 < share < 1.0:
        raise OptionError(f"control_share must be in (0, 1), got {control_share}")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise OptionError(f"horizon must be a whole number of months >= 1, got {horizon!r}")
    shares = np.array([share] + [(1.0 - share) / len(prods)] * len(prods))
    return prods, shares


def _uniforms(seed: int, start: int, stop: int) -> np.ndarray:
    """``[stop - start, 4]`` uniforms; block ``b`` from the campaign child stream of (seed, b)."""
    b0, b1 = start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1
    parts = []
    for b in range(b0, b1):
        ss = np.random.SeedSequence([seed, b], spawn_key=(_STREAM,))
        parts.append(np.random.default_rng(ss).random((BLOCK_SIZE, _N_DRAWS)))
    off = start - b0 * BLOCK_SIZE
    return np.concatenate(parts)[off : off + stop - start]


def _arm_effects(
    customers: pd.DataFrame, truth: pd.DataFrame, products: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Per customer: acceptance, churn and monthly bill under each offer, if accepted."""
    x = {c: truth[c].to_numpy(dtype=np.float64) for c in _INPUTS}
    h = holdings_from_frame(customers)
    n, k_arms = len(customers), len(products)
    churn0 = truth["churn_prob"].to_numpy(dtype=np.float64)
    bill0 = customers["Monthly Charge"].to_numpy(dtype=np.float64)
    internet_price = INTERNET_PRICE[truth["base_internet_kind"].to_numpy(dtype=np.int64)]
    price0 = list_price(h, internet_price)
    p_acc = np.empty((n, k_arms))
    churn1 = np.empty((n, k_arms))
    bill1 = np.empty((n, k_arms))
    for a, product in enumerate(products):
        k = PRODUCTS.index(product)
        h2 = h.copy()
        h2[:, k] = True
        churn1[:, a] = outcomes(x, h2)[0]
        p_acc[:, a] = truth[f"p_accept__{product}"].to_numpy(dtype=np.float64)
        if k == OFFER:
            bill1[:, a] = bill0 * (1.0 - OFFER_DISCOUNT)
        else:
            added = list_price(h2, internet_price) - price0
            bill1[:, a] = bill0 + added
    return {"p": p_acc, "churn0": churn0, "churn1": churn1, "bill0": bill0, "bill1": bill1}


def _expected_revenue(bill: np.ndarray, churn: np.ndarray, horizon: int) -> np.ndarray:
    """Bill times the expected months stayed: ``H (1 - c) + c (H + 1) / 2``."""
    return bill * (horizon * (1.0 - churn) + churn * (horizon + 1) / 2.0)


def campaign_frame(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    seed: int = 0,
    *,
    products: Sequence[str] = CAMPAIGN_PRODUCTS,
    control_share: float | None = None,
    horizon: int = HORIZON,
) -> pd.DataFrame:
    """The past campaign's log for customers of a synthetic population.

    Parameters
    ----------
    customers, truth : pandas.DataFrame
        A chunk of :func:`~core.data.synthetic.generate` (or all of
        :func:`~core.data.synthetic.generate_frame`), indexed by global customer index; the
        index decides each customer's random stream, so chunks give the rows of the whole.
    seed : int, default 0
        Seed of the campaign (use the population's seed).
    products : sequence of str
        The offer arms (product keys of :data:`~core.data.synthetic.PRODUCTS`).
    control_share : float, optional
        Share of the control group; default :func:`default_control_share`.
    horizon : int, default 12
        Months of revenue and churn after the campaign.

    Returns
    -------
    pandas.DataFrame
        :data:`CAMPAIGN_COLUMNS`, same index as ``customers``.

    Examples
    --------
    >>> from core.data.synthetic import generate_frame
    >>> customers, truth = generate_frame(4, seed=0)
    >>> list(campaign_frame(customers, truth, seed=0).columns)
    ['Customer ID', 'arm', 'propensity', 'accepted', 'revenue', 'churned']
    """
    prods, shares = _check_design(products, control_share, horizon)
    n = len(customers)
    labels = np.array([CONTROL, *prods], dtype=object)
    if n == 0:
        empty = {c: pd.Series([], dtype=t) for c, t in zip(CAMPAIGN_COLUMNS, _DTYPES, strict=True)}
        return pd.DataFrame(empty, index=customers.index)
    start = int(customers.index[0])
    if not (np.diff(customers.index.to_numpy()) == 1).all():
        raise OptionError("customers must keep the generator's consecutive global index")
    u = _uniforms(int(seed), start, start + n)
    arm = np.minimum(np.searchsorted(np.cumsum(shares), u[:, 0], side="right"), len(prods))
    eff = _arm_effects(customers, truth, prods)
    rows = np.arange(n)
    treated = arm > 0
    a = np.maximum(arm - 1, 0)
    p = np.where(treated, eff["p"][rows, a], 0.0)
    accepted = u[:, 1] < p
    churn_p = np.where(accepted, eff["churn1"][rows, a], eff["churn0"])
    bill = np.where(accepted, eff["bill1"][rows, a], eff["bill0"])
    churned = u[:, 2] < churn_p
    months = np.where(churned, 1 + np.floor(u[:, 3] * horizon), horizon)
    return pd.DataFrame(
        {
            "Customer ID": customers["Customer ID"].to_numpy(),
            "arm": labels[arm],
            "propensity": shares[arm],
            "accepted": accepted.astype(np.int64),
            "revenue": np.round(bill * months, 2),
            "churned": churned.astype(np.int64),
        },
        index=customers.index,
    )


def campaign_truth(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    products: Sequence[str] = CAMPAIGN_PRODUCTS,
    horizon: int = HORIZON,
) -> dict[str, np.ndarray]:
    """Every customer's expected outcome under every arm of the campaign.

    Parameters
    ----------
    customers, truth : pandas.DataFrame
        The population (or rows of it) and its truth.
    products : sequence of str
        The offer arms, in the log's order.
    horizon : int
        Months, as in :func:`campaign_frame`.

    Returns
    -------
    dict
        ``{"accepted", "revenue", "churned"}`` -> float ``[n, 1 + K]``: column 0 is the control
        group, column ``1 + a`` the offer of ``products[a]``. The mean of a column over the
        log's customers is the true value of giving everyone that arm; a policy's true value
        is the mean of the columns it picks.
    """
    prods, _ = _check_design(products, None, horizon)
    eff = _arm_effects(customers, truth, prods)
    n = len(customers)
    p = eff["p"]
    churn0 = eff["churn0"][:, None]
    rev0 = _expected_revenue(eff["bill0"], eff["churn0"], horizon)[:, None]
    rev1 = _expected_revenue(eff["bill1"], eff["churn1"], horizon)
    zero = np.zeros((n, 1))
    return {
        "accepted": np.hstack([zero, p]),
        "revenue": np.hstack([rev0, p * rev1 + (1.0 - p) * rev0]),
        "churned": np.hstack([churn0, p * eff["churn1"] + (1.0 - p) * churn0]),
    }
