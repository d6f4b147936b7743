"""The ground truth: the truth table of a population and the true outcomes of any portfolio.

The truth table holds, per customer, the latent traits (``latent_*``), the portfolio-free
structural inputs (``base_*``), the expected outcomes at the current portfolio, the true
change ``d_{factor}__{product}`` from adding each product and the true probability
``p_accept__{product}`` that the customer accepts an offer of it
(:mod:`~core.data.synthetic.acceptance`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.data.schema import FACTORS
from core.data.synthetic._base import BASE_INPUTS, PRODUCT_COLUMNS, PRODUCTS, TRAITS
from core.data.synthetic.acceptance import acceptance_probability
from core.data.synthetic.structural import list_price, outcomes

#: What the structural model reads from a truth row: the traits and the portfolio-free inputs.
_INPUTS: tuple[str, ...] = (
    *(f"latent_{t}" for t in TRAITS),
    *(f"base_{b}" for b in BASE_INPUTS),
)


def _truth_columns() -> list[str]:
    names = list(_INPUTS)
    names += ["churn_prob", "cltv_expected", "satisfaction_expected"]
    names += [f"d_{f}__{p}" for p in PRODUCTS for f in FACTORS]
    names += [f"p_accept__{p}" for p in PRODUCTS]
    return names


def truth_frame(
    ids: pd.Series,
    x: Mapping[str, np.ndarray],
    h: np.ndarray,
    prep: Mapping[str, np.ndarray],
    current: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """Truth rows: traits, structural inputs, current outcomes, d_* effects and p_accept__*.

    Parameters
    ----------
    ids : pandas.Series
        The customers' IDs (the first column).
    x : mapping
        The structural inputs ``latent_*`` and ``base_*`` -> arrays of length n.
    h : numpy.ndarray of bool, shape (n, 12)
        The current portfolios.
    prep : mapping
        ``structural.coefficients(x)``.
    current : tuple of numpy.ndarray
        Churn probability, expected CLTV and expected satisfaction at ``h``.

    Returns
    -------
    pandas.DataFrame
        ``Customer ID`` and the float truth columns, in their fixed order.
    """
    names = _truth_columns()
    mat = np.empty((len(ids), len(names)))  # one float block, no consolidation copy
    col = {name: j for j, name in enumerate(names)}
    for name, values in x.items():
        mat[:, col[name]] = values
    churn0, cltv0, sat0 = current
    mat[:, col["churn_prob"]] = churn0
    mat[:, col["cltv_expected"]] = cltv0
    mat[:, col["satisfaction_expected"]] = sat0
    h2 = h.copy()
    s0 = outcomes(x, h, prep)[3]
    price0 = list_price(h, prep["internet_price"])
    for k, product in enumerate(PRODUCTS):
        held = h[:, k]
        h2[:, k] = True
        churn, cltv, sat, s1 = outcomes(x, h2, prep)
        added = list_price(h2, prep["internet_price"]) - price0
        mat[:, col[f"p_accept__{product}"]] = acceptance_probability(k, x, h, s1 - s0, added)
        h2[:, k] = held
        for factor, value, base in (
            ("cltv", cltv, cltv0),
            ("churn", churn, churn0),
            ("satisfaction", sat, sat0),
        ):
            delta = value - base
            delta[held] = np.nan
            mat[:, col[f"d_{factor}__{product}"]] = delta
    truth = pd.DataFrame(mat, columns=names, copy=False)
    truth.insert(0, "Customer ID", ids.array)
    return truth


def true_outcomes(truth: pd.DataFrame, holdings: np.ndarray) -> dict[str, np.ndarray]:
    """True expected outcomes of every customer under an arbitrary portfolio.

    Parameters
    ----------
    truth : pandas.DataFrame
        Truth rows from :func:`generate` (only the ``latent_*`` and ``base_*`` columns are used).
    holdings : numpy.ndarray of bool, shape (n, 12)
        Portfolio per customer over :data:`PRODUCTS`, aligned with ``truth`` rows.

    Returns
    -------
    dict
        ``{"cltv", "churn", "satisfaction"}`` -> float arrays of length n: expected CLTV, churn
        probability and expected Satisfaction Score. Products whose prerequisite (internet, or
        phone for multiple lines) is absent add their price but no benefit.

    Examples
    --------
    >>> from core.data.synthetic import generate_frame
    >>> customers, truth = generate_frame(3, seed=0)
    >>> h = holdings_from_frame(customers)
    >>> bool(np.allclose(true_outcomes(truth, h)["churn"], truth["churn_prob"]))
    True
    """
    h = np.asarray(holdings)
    if h.ndim != 2 or h.shape != (len(truth), len(PRODUCTS)):
        raise OptionError(
            f"holdings must have shape ({len(truth)}, {len(PRODUCTS)}), got {h.shape}"
        )
    if h.dtype != np.bool_:
        if not np.isin(h, (0, 1)).all():
            raise OptionError("holdings must be boolean (or 0/1)")
        h = h.astype(bool)
    missing = [c for c in _INPUTS if c not in truth.columns]
    if missing:
        raise OptionError(f"truth frame lacks columns {missing}; pass the truth from generate()")
    x = {c: truth[c].to_numpy(dtype=np.float64) for c in _INPUTS}
    churn, cltv, sat, _ = outcomes(x, h)
    return {"cltv": cltv, "churn": churn, "satisfaction": sat}


def holdings_from_frame(df: pd.DataFrame) -> np.ndarray:
    """Read the 12 product holdings from an IBM-schema frame.

    ``offer`` is ``Offer != "None"`` (missing counts as no offer); every other product is its
    column ``== "Yes"`` (see :data:`PRODUCT_COLUMNS`).

    Returns
    -------
    numpy.ndarray of bool, shape (n, 12), columns in :data:`PRODUCTS` order.
    """
    missing = [c for c in PRODUCT_COLUMNS.values() if c not in df.columns]
    if missing:
        raise OptionError(f"frame lacks product columns {missing}")
    out = np.zeros((len(df), len(PRODUCTS)), dtype=bool)
    for k, product in enumerate(PRODUCTS):
        col = df[PRODUCT_COLUMNS[product]]
        held = col.notna() & (col != "None") if product == "offer" else col == "Yes"
        out[:, k] = held.to_numpy(dtype=bool, na_value=False)
    return out
