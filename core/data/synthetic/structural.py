"""The structural outcome model: true churn, CLTV and satisfaction for any portfolio.

:func:`coefficients` turns a customer's latent traits and portfolio-free inputs (``x``) into
the per-product coefficients; :func:`outcomes` evaluates a portfolio ``h`` with them. The
equations are documented in docs/synthetic.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.data.synthetic._base import (
    DP,
    INTERNET,
    ML,
    MOVIES,
    MUSIC,
    OB,
    OFFER,
    OS,
    PHONE,
    TS,
    TV,
    UD,
    expit,
    softplus,
)
from core.data.synthetic.calibration import INTERNET_PRICE, PRICE, PRICE_INTERCEPT

# ---------------------------------------------------------------------------------------------
# Structural model parameters (documented in docs/synthetic.md).
# ---------------------------------------------------------------------------------------------
CLTV_LO, CLTV_HI, CLTV_NOISE = 2403.0, 6100.0, 400.0  # observed range 2003-6500
SAT_SCALE = 0.55  # logistic measurement noise of the Satisfaction Score
SAT_CUT_CHURNED = (0.1, 1.0)  # 1|2, 2|3 for churners
SAT_CUT_STAYED = (0.7, 1.9)  # 3|4, 4|5 for non-churners
CHURN_INTERCEPT = 0.47
CONTRACT_LOGIT = (0.0, -1.5, -2.6)
VALUE_INTERCEPT = 0.45


def list_price(h: np.ndarray, internet_price: np.ndarray) -> np.ndarray:
    """IBM list price of each customer's portfolio (without the customer's individual deviation).

    Parameters
    ----------
    h : numpy.ndarray, shape (n, 12)
        Portfolios over ``PRODUCTS`` (bool or 0/1 floats).
    internet_price : numpy.ndarray, shape (n,)
        Price of each customer's internet kind (``coefficients(x)["internet_price"]``).
    """
    hf = np.asarray(h, dtype=np.float64)
    return hf @ PRICE + hf[:, INTERNET] * internet_price + PRICE_INTERCEPT


_STREAM_GAIN = (1.0 - 0.55 ** np.arange(4)) / 0.45  # diminishing returns: 0, 1, 1.55, 1.85


def coefficients(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Portfolio-free per-customer coefficients of the structural model.

    Parameters
    ----------
    x : mapping
        The truth inputs ``latent_<trait>`` and ``base_<input>`` -> arrays of length n.

    Returns
    -------
    dict
        Coefficient name -> array of length n (prices, satisfaction values, churn effects).
    """
    ps = x["latent_price_sensitivity"]
    need = x["latent_service_need"]
    tech = x["latent_tech_affinity"]
    data = x["latent_data_appetite"]
    fiber = (x["base_internet_kind"] == 2).astype(np.float64)
    data_soft = softplus(data)
    return {
        "internet_price": INTERNET_PRICE[x["base_internet_kind"].astype(np.int64)],
        "burden_slope": softplus(ps + 0.3) / 30.0,
        # Satisfaction value of each product (benefits need the prerequisite).
        "s_internet": 0.15 + 0.2 * tech - 0.1 * fiber,
        "s_phone": 0.05 + 0.15 * (1.0 - x["base_youth"]) - 0.1 * tech,
        "s_lines": 0.25 * x["base_family"] - 0.08,
        "s_offer": 0.1 + 0.05 * ps,
        "s_security": 0.08 + 0.12 * need,
        "s_protect": 0.12 + 0.1 * need,
        "s_support": 0.05 + 0.15 * need + 0.2 * fiber - 0.08 * tech,
        "s_stream": 0.55 * x["base_youth"] + 0.15 * tech - 0.06,
        "s_unlimited": 0.25 * data_soft - 0.05,
        # Direct churn-logit effects.
        "e_internet": 0.2 + 0.7 * fiber,  # competitive broadband market, fiber most
        "e_support": 0.1 * fiber,
        "e_offer": (0.1 + 0.3 * ps) * (1.0 + 0.5 * (x["base_tenure"] <= 12)),
        "e_unlimited": 0.15 * data,
        # CLTV: extra-data charges lost with unlimited data, and the offer's cost.
        "extra_data": 2.0 + 4.0 * data_soft,
        "v_offer": 0.12 + 0.05 * x["latent_loyalty"],
    }


def outcomes(
    x: Mapping[str, np.ndarray], h: np.ndarray, prep: Mapping[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Churn probability, expected CLTV, expected satisfaction and latent satisfaction.

    Parameters
    ----------
    x : mapping
        The truth inputs (see :func:`coefficients`).
    h : numpy.ndarray, shape (n, 12)
        Portfolio per customer over ``PRODUCTS``.
    prep : mapping, optional
        ``coefficients(x)``, when the caller evaluates many portfolios of the same customers.

    Returns
    -------
    tuple of numpy.ndarray
        ``(churn, cltv, satisfaction, latent_satisfaction)``, each of length n.
    """
    c = coefficients(x) if prep is None else prep
    hf = h.astype(np.float64)
    inet = hf[:, INTERNET]
    phone = hf[:, PHONE]
    off, ml = hf[:, OFFER], hf[:, ML] * phone
    os_, ob, dp, ts, ud = (hf[:, k] * inet for k in (OS, OB, DP, TS, UD))
    tv, mv, mu = (hf[:, k] * inet for k in (TV, MOVIES, MUSIC))
    n_stream = (tv + mv + mu).astype(np.int64)
    n_held = off + phone + ml + inet + os_ + ob + dp + ts + ud + tv + mv + mu  # usable products

    price = list_price(hf, c["internet_price"])
    burden = c["burden_slope"] * (price - 60.0)

    # Latent satisfaction s(h).
    s = x["base_satisfaction"] + inet * c["s_internet"] + phone * c["s_phone"]
    s += ml * c["s_lines"] + off * c["s_offer"] + os_ * c["s_security"]
    s += (ob + dp - 0.75 * ob * dp) * c["s_protect"]  # substitutes
    s += ts * (c["s_support"] + 0.06 * (os_ + ob + dp))  # worth more with more add-ons
    s += c["s_stream"] * _STREAM_GAIN[n_stream]
    s += ud * c["s_unlimited"]
    s -= 0.15 * burden
    s -= 0.03 * np.maximum(n_held - 6.0, 0.0) ** 2  # overload

    # Churn logit.
    eta = x["base_churn_logit"] - 0.9 * s + 0.35 * burden
    eta += inet * c["e_internet"] - 0.3 * np.log1p(n_held)  # switching costs, diminishing
    eta -= os_ * 0.15 + ts * c["e_support"] + off * c["e_offer"] + ud * c["e_unlimited"]
    churn = expit(eta)

    # Expected CLTV (value index through a logistic link bounded to the observed range).
    revenue = np.maximum(price + inet * (1.0 - ud) * c["extra_data"], 5.0)
    zeta = x["base_value"] + 0.8 * np.log(revenue / 60.0) - 0.6 * churn - off * c["v_offer"]
    cltv = CLTV_LO + (CLTV_HI - CLTV_LO) * expit(zeta)

    # Expected Satisfaction Score: mixture of the churner and non-churner ordinal models.
    k = SAT_SCALE
    e_churned = 1.0 + expit((s - SAT_CUT_CHURNED[0]) / k) + expit((s - SAT_CUT_CHURNED[1]) / k)
    e_stayed = 3.0 + expit((s - SAT_CUT_STAYED[0]) / k) + expit((s - SAT_CUT_STAYED[1]) / k)
    sat = churn * e_churned + (1.0 - churn) * e_stayed
    return churn, cltv, sat, s
