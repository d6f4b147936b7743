"""Price response of the synthetic population: acceptance at a discount, and what it is worth.

An offer of product ``k`` at discount level ``d`` (a share off its monthly price, for as long as
the customer keeps it) is accepted with probability

    p_k(d) = logistic(L_k + d * softplus(ps + 0.3) * (0.06 * dprice_k + DEAL))

where ``L_k`` is the acceptance logit at list price (:mod:`~core.data.synthetic.acceptance`, so
``p_k(0)`` is the truth table's ``p_accept__k``), ``ps`` the customer's latent **price
sensitivity**, ``dprice_k`` the monthly price the product adds (the discount lowers the price
term of the acceptance logit) and :data:`DEAL` the extra pull of a deal on price-sensitive
customers. Insensitive customers barely react to a discount; sensitive ones react strongly.

The **margin-adjusted value** of the offer counts the margin given away for the customer's
expected tenure:

    V_k(d) = p_k(d) * (margin_k - d) * price_k * tenure

with ``tenure = 3 / churn probability`` months (the churn probability is per quarter), capped at
:data:`MAX_TENURE` months. A discount pays only when the acceptance it adds outweighs the margin
it gives away to *everyone* who accepts, including those who would have accepted at list price.

:func:`pricing_campaign_frame` draws a past campaign whose arms are product x discount (plus a
control group), from its own random stream of (seed, block): the population's columns are
unchanged and the log does not depend on chunking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.data.catalog import Catalog
from core.data.synthetic._base import PRODUCTS, expit, logit, softplus
from core.data.synthetic.calibration import INTERNET_PRICE
from core.data.synthetic.campaigns import CONTROL
from core.data.synthetic.draws import BLOCK_SIZE
from core.data.synthetic.structural import list_price
from core.data.synthetic.truth import holdings_from_frame

#: Logit per unit of discount and of softplus(price sensitivity + 0.3): the pull of a deal.
DEAL = 5.0
#: Price coefficient of the acceptance logit (as in :mod:`~core.data.synthetic.acceptance`).
PRICE_COEF = 0.06
#: Longest expected tenure counted, in months.
MAX_TENURE = 60.0
#: Columns of the pricing campaign log.
PRICING_COLUMNS: tuple[str, ...] = (
    "Customer ID",
    "arm",
    "product",
    "discount",
    "propensity",
    "accepted",
)
_STREAM = 0xD15C


def arm_label(product: str, level: float) -> str:
    """``"internet@0.1"``: the arm of an offer of ``product`` at discount ``level``."""
    return f"{product}@{level:g}"


def _check(catalog: Catalog, products: Sequence[str] | None) -> tuple[list[str], list[int]]:
    keys = list(products) if products is not None else [p.key for p in catalog.products]
    unknown = [k for k in keys if k not in PRODUCTS or k not in catalog.keys]
    if unknown or not keys:
        raise OptionError(f"products {keys}: need keys of the catalog and of {list(PRODUCTS)}.")
    for k in keys:
        p = catalog.products[catalog.index(k)]
        if not p.discounts or p.margin is None or p.monthly_price is None:
            raise OptionError(
                f"product '{k}' of catalog '{catalog.name}' lists no discount levels, margin or "
                "price: use a catalog with them (e.g. 'pricing')."
            )
    return keys, [PRODUCTS.index(k) for k in keys]


def acceptance_at(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    catalog: Catalog,
    products: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str], list[tuple[float, ...]]]:
    """True ``p_k(d)`` of every customer, product and level.

    Returns
    -------
    (p, products, levels)
        ``p`` float ``[n, K, L]`` with ``L`` the most levels of any product (unused levels
        NaN); 0 where the product cannot be taken (held, or its prerequisite missing).
    """
    keys, idx = _check(catalog, products)
    levels = [catalog.products[catalog.index(k)].discounts for k in keys]
    width = max(len(lv) for lv in levels)
    h = holdings_from_frame(customers)
    ps = truth["latent_price_sensitivity"].to_numpy(dtype=np.float64)
    sp = softplus(ps + 0.3)
    ip = INTERNET_PRICE[truth["base_internet_kind"].to_numpy(dtype=np.int64)]
    price0 = list_price(h, ip)
    out = np.full((len(customers), len(keys), width), np.nan)
    for a, (k, product) in enumerate(zip(idx, keys, strict=True)):
        p0 = truth[f"p_accept__{product}"].to_numpy(dtype=np.float64)
        h2 = h.copy()
        h2[:, k] = True
        added = list_price(h2, ip) - price0
        base = logit(np.clip(p0, 1e-12, 1 - 1e-12))
        for j, d in enumerate(levels[a]):
            p = expit(base + d * sp * (PRICE_COEF * added + DEAL))
            out[:, a, j] = np.where(p0 > 0, p, 0.0)
    return out, keys, levels


def expected_tenure(truth: pd.DataFrame) -> np.ndarray:
    """True expected tenure in months: ``3 / churn probability`` (quarterly), capped."""
    churn = truth["churn_prob"].to_numpy(dtype=np.float64)
    return np.minimum(3.0 / np.maximum(churn, 1e-9), MAX_TENURE)


def discount_value(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    catalog: Catalog,
    products: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], list[tuple[float, ...]]]:
    """True margin-adjusted value ``V_k(d)`` (dollars) and acceptance ``p_k(d)``, ``[n, K, L]``."""
    p, keys, levels = acceptance_at(customers, truth, catalog, products)
    tenure = expected_tenure(truth)
    value = np.full_like(p, np.nan)
    for a, k in enumerate(keys):
        prod = catalog.products[catalog.index(k)]
        assert prod.margin is not None and prod.monthly_price is not None
        for j, d in enumerate(levels[a]):
            value[:, a, j] = p[:, a, j] * (prod.margin - d) * prod.monthly_price * tenure
    return value, p, keys, levels


def _uniforms(seed: int, start: int, stop: int, width: int) -> np.ndarray:
    b0, b1 = start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1
    parts = []
    for b in range(b0, b1):
        ss = np.random.SeedSequence([seed, b], spawn_key=(_STREAM,))
        parts.append(np.random.default_rng(ss).random((BLOCK_SIZE, width)))
    off = start - b0 * BLOCK_SIZE
    return np.concatenate(parts)[off : off + stop - start]


def pricing_campaign_frame(
    customers: pd.DataFrame,
    truth: pd.DataFrame,
    catalog: Catalog,
    seed: int = 0,
    *,
    products: Sequence[str] | None = None,
    control_share: float = 0.1,
) -> pd.DataFrame:
    """A past campaign whose arms are product x discount level, with a control group.

    Every customer gets the control arm (share ``control_share``) or one (product, level) arm,
    all equally likely; an offer is accepted with the true ``p_k(d)``.

    Returns
    -------
    pandas.DataFrame
        :data:`PRICING_COLUMNS`: ``arm`` is ``"product@level"`` or ``"control"``; ``product``
        and ``discount`` are empty for control; ``propensity`` the design probability.

    Examples
    --------
    >>> from core.data.catalog import load_catalog
    >>> from core.data.synthetic import generate_frame
    >>> c, t = generate_frame(200, seed=0)
    >>> log = pricing_campaign_frame(c, t, load_catalog("pricing"), seed=0)
    >>> sorted(log["arm"].unique())[:2]
    ['control', 'device_protection@0']
    """
    if not 0 < control_share < 1:
        raise OptionError(f"control_share must be in (0, 1), got {control_share}")
    p, keys, levels = acceptance_at(customers, truth, catalog, products)
    arms = [(a, j) for a in range(len(keys)) for j in range(len(levels[a]))]
    n = len(customers)
    start = int(customers.index[0]) if n else 0
    if n and not (np.diff(customers.index.to_numpy()) == 1).all():
        raise OptionError("customers must keep the generator's consecutive global index")
    u = _uniforms(int(seed), start, start + n, 2) if n else np.zeros((0, 2))
    share = (1.0 - control_share) / len(arms)
    pick = np.floor((u[:, 0] - control_share) / share).astype(np.int64)
    treated = u[:, 0] >= control_share
    pick = np.clip(pick, 0, len(arms) - 1)
    a_idx = np.array([a for a, _ in arms])[pick]
    l_idx = np.array([j for _, j in arms])[pick]
    rows = np.arange(n)
    prob = np.where(treated, p[rows, a_idx, l_idx], 0.0)
    accepted = treated & (u[:, 1] < prob)
    prod = np.array(keys, dtype=object)[a_idx]
    level = np.array([levels[a][j] for a, j in zip(a_idx, l_idx, strict=True)], dtype=np.float64)
    labels = np.array([arm_label(k, d) for k, d in zip(prod, level, strict=True)], dtype=object)
    return pd.DataFrame(
        {
            "Customer ID": customers["Customer ID"].to_numpy(),
            "arm": np.where(treated, labels, CONTROL),
            "product": np.where(treated, prod, None),
            "discount": np.where(treated, level, np.nan),
            "propensity": np.where(treated, share, control_share),
            "accepted": accepted.astype(np.int64),
        },
        index=customers.index,
    )
