"""Synthetic telco population in the IBM 11.1.3+ schema, with stored causal ground truth.

The demo population replaces the IBM sample file (which may not be shipped) and referees the
opportunity estimators: every customer carries latent traits and a *structural outcome model*
that gives the true churn probability, expected CLTV and expected satisfaction for **any**
portfolio of the 12 product keys in :data:`PRODUCTS`. The observed outcome columns of the table
are drawn from that model at the customer's current portfolio, and the truth table stores, for
every customer and product, the true change from adding the product to the current portfolio.

What is modelled on the IBM file (``telco_ibm_11_1_3.csv``; summary figures only, no rows copied)
---------------------------------------------------------------------------------------------
* Schema: the 51 columns, their order, vocabularies and the dtypes pandas infers.
* Marginals: gender, age (piecewise uniform, 16% seniors), married, dependents given married and
  their count, referrals (only married customers refer; count distribution), tenure (banded
  distribution with the spikes at 1-3 and 72 months), contract, phone/internet shares, internet
  type, each add-on's share among internet customers, offer (tenure-banded: E 1-10, D 10-23,
  C 24-39, B 40-65, A 66-72 months, ~45% acceptance), payment method, paperless billing,
  long-distance and download volumes, extra-data charges (internet without unlimited data),
  refunds (7.5%), Customer Status (Joined = non-churner with tenure <= 3), churn categories and
  reasons, Churn Score ranges by outcome (churners 65-96, others 5-80), CLTV range 2003-6500.
* Correlations: contract with tenure and loyalty; add-ons with tenure and with each other;
  streaming and downloads with youth; seniors with internet, fiber and paperless billing;
  credit card with long contracts; Monthly Charge as the IBM price list of the services held
  (phone 20.90, multiple lines 5.27, DSL 25.62, cable 27.50, fiber 50.02, security/backup/
  protection/support ~4.6-5.0, streaming TV/movies ~10.3, music and unlimited data 0, a -1.00
  intercept) plus noise; Total Charges ~ tenure x monthly charge; Total Long Distance Charges =
  tenure x average exactly; Total Revenue identity (to 1e-6); churn strongly lower for long
  contracts, long tenure, families, referrers, credit card payers, and higher for fiber;
  Satisfaction 1-2 only for churners and 4-5 only for non-churners (as in IBM); CLTV rising
  with tenure and falling with churn.

The causal model (see docs/synthetic.md for the equations)
----------------------------------------------------------
Latent traits per customer (``latent_*``): price sensitivity, service need, tech affinity,
loyalty, data appetite (each ~N(0, 1), partly explained by demographics), plus portfolio-free
structural inputs (``base_*``: youth, internet kind, family, tenure, baseline churn logit,
baseline satisfaction, baseline value). For a portfolio ``h`` (bool over :data:`PRODUCTS`):

* price ``M(h)`` = IBM price list of ``h``; price burden raises churn and lowers satisfaction
  in proportion to ``softplus(price_sensitivity)``;
* latent satisfaction ``s(h)`` = baseline + product values (tech support worth more for fiber
  customers with many add-ons and high service need; online backup and device protection are
  substitutes; streaming with diminishing returns, valued by young / tech-affine customers;
  unlimited data valued by heavy users; multiple lines by families; overload past 6 products);
* churn logit = baseline + price burden - satisfaction + fiber competition - switching costs
  (diminishing in the number of products) - offer effect (helps price-sensitive customers,
  backfires for price-insensitive ones); churn probability = logistic(churn logit);
* expected CLTV = 2403 + 3697 * logistic(value index), the value index rising with monthly
  revenue (minus lost extra-data charges) and retention, minus the offer's cost;
* expected satisfaction = expected Satisfaction Score (1-5) given the churn probability and
  ``s(h)``, in closed form.

Internet add-ons deliver their benefits only together with internet service (and multiple lines
only with phone); without the prerequisite they only add their price. Effects stored in the
truth table are therefore "as if added" and consumers mask them by eligibility.

Randomness comes from fixed blocks of :data:`BLOCK_SIZE` customers: block ``b`` draws from
``np.random.default_rng([seed, b])``, so any chunking yields identical rows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from core.common.errors import OptionError
from core.data.schema import FACTORS

__all__ = [
    "BLOCK_SIZE",
    "FACTORS",
    "IBM_COLUMNS",
    "PRODUCT_COLUMNS",
    "PRODUCTS",
    "TRAITS",
    "generate",
    "generate_frame",
    "holdings_from_frame",
    "true_outcomes",
    "truth_path",
    "write",
]

PRODUCTS: tuple[str, ...] = (
    "offer",
    "phone",
    "multiple_lines",
    "internet",
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
    "streaming_music",
    "unlimited_data",
)

IBM_COLUMNS: tuple[str, ...] = (
    "Customer ID",
    "Gender",
    "Age",
    "Under 30",
    "Senior Citizen",
    "Married",
    "Dependents",
    "Number of Dependents",
    "Country",
    "State",
    "City",
    "Zip Code",
    "Latitude",
    "Longitude",
    "Population",
    "Quarter",
    "Referred a Friend",
    "Number of Referrals",
    "Tenure in Months",
    "Offer",
    "Phone Service",
    "Avg Monthly Long Distance Charges",
    "Multiple Lines",
    "Internet Service",
    "Internet Type",
    "Avg Monthly GB Download",
    "Online Security",
    "Online Backup",
    "Device Protection Plan",
    "Premium Tech Support",
    "Streaming TV",
    "Streaming Movies",
    "Streaming Music",
    "Unlimited Data",
    "Contract",
    "Paperless Billing",
    "Payment Method",
    "Monthly Charge",
    "Total Charges",
    "Total Refunds",
    "Total Extra Data Charges",
    "Total Long Distance Charges",
    "Total Revenue",
    "Satisfaction Score",
    "Customer Status",
    "Churn Label",
    "Churn Value",
    "Churn Score",
    "CLTV",
    "Churn Category",
    "Churn Reason",
)

#: Column read for each product key (offer is ``Offer != "None"``, the rest ``== "Yes"``).
PRODUCT_COLUMNS: dict[str, str] = {
    "offer": "Offer",
    "phone": "Phone Service",
    "multiple_lines": "Multiple Lines",
    "internet": "Internet Service",
    "online_security": "Online Security",
    "online_backup": "Online Backup",
    "device_protection": "Device Protection Plan",
    "tech_support": "Premium Tech Support",
    "streaming_tv": "Streaming TV",
    "streaming_movies": "Streaming Movies",
    "streaming_music": "Streaming Music",
    "unlimited_data": "Unlimited Data",
}

#: Latent traits stored in the truth table (as ``latent_<name>``).
TRAITS: tuple[str, ...] = (
    "price_sensitivity",
    "service_need",
    "tech_affinity",
    "loyalty",
    "data_appetite",
)
#: Portfolio-free structural inputs stored in the truth table (as ``base_<name>``).
_BASE: tuple[str, ...] = (
    "youth",
    "internet_kind",
    "family",
    "tenure",
    "churn_logit",
    "satisfaction",
    "value",
)

BLOCK_SIZE = 1024
_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # what read_csv infers for text
ID_PREFIX = "SYN-"
_N_UNIFORM = 23  # uniform draws per customer (exactly as many as _simulate uses)
_N_NORMAL = 29  # standard normal draws per customer

# Product indices.
(
    _OFFER,
    _PHONE,
    _ML,
    _INTERNET,
    _OS,
    _OB,
    _DP,
    _TS,
    _TV,
    _MOVIES,
    _MUSIC,
    _UD,
) = range(12)
_ADDONS = (_OS, _OB, _DP, _TS, _TV, _MOVIES, _MUSIC, _UD)

# ---------------------------------------------------------------------------------------------
# Marginals taken from the IBM file (aggregate figures only).
# ---------------------------------------------------------------------------------------------
_P_MALE = 3555 / 7043
_P_SENIOR = 1142 / 7043
_P_MARRIED = 3402 / 7043
_P_DEP_GIVEN_MARRIED = (0.0829, 0.3895)  # P(dependents | married = No, Yes)
_N_DEP_PMF = np.array([553, 531, 517, 9, 10, 3, 2, 1, 1], dtype=float)  # 1..9 given Yes
_P_REFER_GIVEN_MARRIED = 0.9471  # unmarried customers never refer in the IBM file
_N_REF_PMF = np.array([1086, 236, 255, 236, 264, 221, 248, 213, 238, 223, 2], dtype=float)
# Tenure: probability of each band, uniform within the band (months inclusive).
_TENURE_BANDS = (
    (1, 1, 0.0870),
    (2, 2, 0.0338),
    (3, 3, 0.0284),
    (4, 6, 0.0595),
    (7, 12, 0.1017),
    (13, 24, 0.1454),
    (25, 36, 0.1181),
    (37, 48, 0.1082),
    (49, 60, 0.1181),
    (61, 70, 0.1242),
    (71, 71, 0.0241),
    (72, 72, 0.0514),
)
_P_INTERNET = 5517 / 7043
_P_PHONE_GIVEN_INTERNET = (5517 - 682) / 5517
_INTERNET_TYPES = ("DSL", "Cable", "Fiber Optic")  # internet_kind codes 0, 1, 2
_P_FIBER = 3035 / 5517
_P_CABLE_GIVEN_NOT_FIBER = 830 / (830 + 1652)
_P_ML_GIVEN_PHONE = 2971 / 6361
# Share of internet customers holding each add-on, in _ADDONS order.
_P_ADDON = (
    2019 / 5517,
    2429 / 5517,
    2422 / 5517,
    2044 / 5517,
    2707 / 5517,
    2732 / 5517,
    2488 / 5517,
    4745 / 5517,
)
_ADDON_SHIFT = (0.0, 0.0, 0.0, 0.0, -0.08, -0.08, -0.08, 0.0)  # calibration to the shares
_P_OFFER_ACCEPT = (7043 - 3877) / 7043
_P_PAPERLESS = 4171 / 7043
_P_MAILED = 385 / 7043
_P_CARD_GIVEN_NOT_MAILED = 2749 / (7043 - 385)
_P_EXTRA_GIVEN_NO_UD = 728 / 772  # internet customers without unlimited data
_P_REFUND = 525 / 7043
# IBM price list (least-squares fit of Monthly Charge on the services held, R^2 = 0.993).
_PRICE_INTERCEPT = -1.0
_PRICE = np.array(
    [0.0, 20.90, 5.27, 0.0, 4.63, 4.89, 4.98, 4.63, 10.19, 10.46, 0.0, 0.0]
)  # internet itself is priced by kind:
_INTERNET_PRICE = np.array([25.62, 27.50, 50.02])  # DSL, Cable, Fiber
_CONTRACTS = ("Month-to-Month", "One Year", "Two Year")
_PAYMENTS = ("Bank Withdrawal", "Credit Card", "Mailed Check")
_OFFERS = ("None", "Offer A", "Offer B", "Offer C", "Offer D", "Offer E")
_STATUSES = ("Stayed", "Churned", "Joined")
_YES_NO = ("No", "Yes")
# Churn categories and, within each, the reasons with their IBM counts.
_CATEGORIES = ("Competitor", "Attitude", "Dissatisfaction", "Price", "Other")
_CATEGORY_WEIGHTS = np.array([841, 314, 303, 211, 200], dtype=float)
_REASONS: dict[str, tuple[tuple[str, int], ...]] = {
    "Competitor": (
        ("Competitor had better devices", 313),
        ("Competitor made better offer", 311),
        ("Competitor offered higher download speeds", 100),
        ("Competitor offered more data", 117),
    ),
    "Attitude": (
        ("Attitude of service provider", 94),
        ("Attitude of support person", 220),
    ),
    "Dissatisfaction": (
        ("Lack of self-service on Website", 29),
        ("Limited range of services", 37),
        ("Network reliability", 72),
        ("Poor expertise of online support", 13),
        ("Poor expertise of phone support", 12),
        ("Product dissatisfaction", 77),
        ("Service dissatisfaction", 63),
    ),
    "Price": (
        ("Extra data charges", 39),
        ("Lack of affordable download/upload speed", 30),
        ("Long distance charges", 64),
        ("Price too high", 78),
    ),
    "Other": (
        ("Deceased", 6),
        ("Don't know", 130),
        ("Moved", 46),
        ("Poor expertise of online support", 18),
    ),
}

# Synthetic California geography: (city, latitude, longitude, first zip, last zip, weight).
# Approximate public city-centre coordinates; zip codes inside each range are synthetic.
_CITIES: tuple[tuple[str, float, float, int, int, float], ...] = (
    ("Los Angeles", 34.0522, -118.2437, 90001, 90068, 12.0),
    ("San Diego", 32.7157, -117.1611, 92101, 92130, 5.0),
    ("San Jose", 37.3382, -121.8863, 95110, 95138, 4.0),
    ("San Francisco", 37.7749, -122.4194, 94102, 94134, 4.0),
    ("Fresno", 36.7378, -119.7871, 93701, 93728, 2.5),
    ("Sacramento", 38.5816, -121.4944, 95811, 95838, 2.5),
    ("Long Beach", 33.7701, -118.1937, 90802, 90815, 2.0),
    ("Oakland", 37.8044, -122.2712, 94601, 94621, 2.0),
    ("Bakersfield", 35.3733, -119.0187, 93301, 93314, 1.8),
    ("Anaheim", 33.8366, -117.9143, 92801, 92808, 1.5),
    ("Santa Ana", 33.7455, -117.8677, 92701, 92707, 1.5),
    ("Riverside", 33.9806, -117.3755, 92501, 92509, 1.5),
    ("Stockton", 37.9577, -121.2908, 95202, 95215, 1.4),
    ("Irvine", 33.6846, -117.8265, 92602, 92620, 1.2),
    ("Fremont", 37.5485, -121.9886, 94536, 94539, 1.0),
    ("San Bernardino", 34.1083, -117.2898, 92401, 92410, 1.0),
    ("Modesto", 37.6391, -120.9969, 95350, 95358, 1.0),
    ("Oxnard", 34.1975, -119.1771, 93030, 93036, 0.9),
    ("Glendale", 34.1425, -118.2551, 91201, 91210, 0.9),
    ("Pasadena", 34.1478, -118.1445, 91101, 91107, 0.8),
    ("Santa Rosa", 38.4405, -122.7144, 95401, 95409, 0.8),
    ("Salinas", 36.6777, -121.6555, 93901, 93908, 0.7),
    ("Berkeley", 37.8715, -122.2730, 94702, 94710, 0.6),
    ("Visalia", 36.3302, -119.2921, 93277, 93292, 0.6),
    ("Santa Barbara", 34.4208, -119.6982, 93101, 93111, 0.5),
    ("Merced", 37.3022, -120.4830, 95340, 95348, 0.5),
    ("Redding", 40.5865, -122.3917, 96001, 96003, 0.4),
    ("Chico", 39.7285, -121.8375, 95926, 95928, 0.4),
    ("Santa Cruz", 36.9741, -122.0308, 95060, 95065, 0.4),
    ("San Luis Obispo", 35.2828, -120.6596, 93401, 93405, 0.3),
    ("Palm Springs", 33.8303, -116.5453, 92262, 92264, 0.3),
    ("Monterey", 36.6002, -121.8947, 93940, 93943, 0.3),
    ("Eureka", 40.8021, -124.1637, 95501, 95503, 0.25),
    ("El Centro", 32.7920, -115.5631, 92243, 92244, 0.2),
    ("Ukiah", 39.1502, -123.2078, 95482, 95482, 0.15),
    ("Barstow", 34.8958, -117.0173, 92311, 92312, 0.15),
    ("South Lake Tahoe", 38.9399, -119.9772, 96150, 96151, 0.15),
    ("Bishop", 37.3635, -118.3951, 93514, 93515, 0.1),
    ("Crescent City", 41.7558, -124.2026, 95531, 95532, 0.1),
    ("Needles", 34.8481, -114.6141, 92363, 92363, 0.05),
)


def _build_geography() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list]:
    """Zip-level table: cumulative weight, city index, zip, latitude, longitude, population."""
    rng = np.random.default_rng(20190711)  # fixed: the geography is part of the model
    city_idx, zips, lat, lon, pop, weight = [], [], [], [], [], []
    for i, (_, clat, clon, z0, z1, w) in enumerate(_CITIES):
        n = z1 - z0 + 1
        big = w >= 1.0
        for z in range(z0, z1 + 1):
            city_idx.append(i)
            zips.append(z)
            lat.append(round(clat + rng.uniform(-0.08, 0.08), 6))
            lon.append(round(clon + rng.uniform(-0.08, 0.08), 6))
            mu = math.log(30000.0 if big else 9000.0)
            pop.append(int(np.clip(round(rng.lognormal(mu, 0.8)), 11, 105285)))
            weight.append(w / n)
    cum = np.cumsum(weight)
    cum /= cum[-1]
    names = [c[0] for c in _CITIES]
    return (
        cum,
        np.array(city_idx),
        np.array(zips, dtype=np.int64),
        np.array(lat),
        np.array(lon),
        [np.array(pop, dtype=np.int64), names],
    )


_GEO_CUM, _GEO_CITY, _GEO_ZIP, _GEO_LAT, _GEO_LON, (_GEO_POP, _CITY_NAMES) = _build_geography()


def _tenure_cdf() -> np.ndarray:
    pmf = np.zeros(72)
    for lo, hi, p in _TENURE_BANDS:
        pmf[lo - 1 : hi] = p / (hi - lo + 1)
    cdf = np.cumsum(pmf)
    return cdf / cdf[-1]


_TENURE_CDF = _tenure_cdf()
_N_DEP_CDF = np.cumsum(_N_DEP_PMF) / _N_DEP_PMF.sum()
_N_REF_CDF = np.cumsum(_N_REF_PMF) / _N_REF_PMF.sum()
_ZQ = NormalDist().inv_cdf


# ---------------------------------------------------------------------------------------------
# Structural model parameters (documented in docs/synthetic.md).
# ---------------------------------------------------------------------------------------------
_CLTV_LO, _CLTV_HI, _CLTV_NOISE = 2403.0, 6100.0, 400.0  # observed range 2003-6500
_SAT_SCALE = 0.55  # logistic measurement noise of the Satisfaction Score
_SAT_CUT_CHURNED = (0.1, 1.0)  # 1|2, 2|3 for churners
_SAT_CUT_STAYED = (0.7, 1.9)  # 3|4, 4|5 for non-churners
_CHURN_INTERCEPT = 0.47
_CONTRACT_LOGIT = (0.0, -1.5, -2.6)
_VALUE_INTERCEPT = 0.45


def _logit(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 1e-12, 1.0 - 1e-12)  # rng.random() can return exactly 0
    return np.log(u / (1.0 - u))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _phi(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def _monthly_price(x: Mapping[str, np.ndarray], h: np.ndarray) -> np.ndarray:
    """IBM list price of portfolio ``h`` (without the customer's individual deviation)."""
    kind = x["base_internet_kind"].astype(np.int64)
    price = h.astype(np.float64) @ _PRICE
    return price + h[:, _INTERNET] * _INTERNET_PRICE[kind] + _PRICE_INTERCEPT


_STREAM_GAIN = (1.0 - 0.55 ** np.arange(4)) / 0.45  # diminishing returns: 0, 1, 1.55, 1.85


def _prepare(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Portfolio-free per-customer coefficients of the structural model."""
    ps = x["latent_price_sensitivity"]
    need = x["latent_service_need"]
    tech = x["latent_tech_affinity"]
    data = x["latent_data_appetite"]
    fiber = (x["base_internet_kind"] == 2).astype(np.float64)
    data_soft = _softplus(data)
    return {
        "internet_price": _INTERNET_PRICE[x["base_internet_kind"].astype(np.int64)],
        "burden_slope": _softplus(ps + 0.3) / 30.0,
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


def _structural(
    x: Mapping[str, np.ndarray], h: np.ndarray, prep: Mapping[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Churn probability, expected CLTV, expected satisfaction and latent satisfaction."""
    c = _prepare(x) if prep is None else prep
    hf = h.astype(np.float64)
    inet = hf[:, _INTERNET]
    phone = hf[:, _PHONE]
    off, ml = hf[:, _OFFER], hf[:, _ML] * phone
    os_, ob, dp, ts, ud = (hf[:, k] * inet for k in (_OS, _OB, _DP, _TS, _UD))
    tv, mv, mu = (hf[:, k] * inet for k in (_TV, _MOVIES, _MUSIC))
    n_stream = (tv + mv + mu).astype(np.int64)
    n_held = off + phone + ml + inet + os_ + ob + dp + ts + ud + tv + mv + mu  # usable products

    price = hf @ _PRICE + inet * c["internet_price"] + _PRICE_INTERCEPT
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
    churn = _expit(eta)

    # Expected CLTV (value index through a logistic link bounded to the observed range).
    revenue = np.maximum(price + inet * (1.0 - ud) * c["extra_data"], 5.0)
    zeta = x["base_value"] + 0.8 * np.log(revenue / 60.0) - 0.6 * churn - off * c["v_offer"]
    cltv = _CLTV_LO + (_CLTV_HI - _CLTV_LO) * _expit(zeta)

    # Expected Satisfaction Score: mixture of the churner and non-churner ordinal models.
    k = _SAT_SCALE
    e_churned = 1.0 + _expit((s - _SAT_CUT_CHURNED[0]) / k) + _expit((s - _SAT_CUT_CHURNED[1]) / k)
    e_stayed = 3.0 + _expit((s - _SAT_CUT_STAYED[0]) / k) + _expit((s - _SAT_CUT_STAYED[1]) / k)
    sat = churn * e_churned + (1.0 - churn) * e_stayed
    return churn, cltv, sat, s


# ---------------------------------------------------------------------------------------------
# Randomness in fixed blocks.
# ---------------------------------------------------------------------------------------------
class _Draws:
    """Hands out the columns of the per-customer uniform and normal draws in a fixed order."""

    def __init__(self, seed: int, start: int, stop: int) -> None:
        b0, b1 = start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1
        us, zs = [], []
        for b in range(b0, b1):
            rng = np.random.default_rng([seed, b])
            us.append(rng.random((BLOCK_SIZE, _N_UNIFORM)))
            zs.append(rng.standard_normal((BLOCK_SIZE, _N_NORMAL)))
        off = start - b0 * BLOCK_SIZE
        self._u = np.concatenate(us)[off : off + stop - start]
        self._z = np.concatenate(zs)[off : off + stop - start]
        self._iu = 0
        self._iz = 0

    def u(self) -> np.ndarray:
        col = self._u[:, self._iu]
        self._iu += 1
        return col

    def z(self) -> np.ndarray:
        col = self._z[:, self._iz]
        self._iz += 1
        return col

    def check_used(self) -> None:
        if (self._iu, self._iz) != (_N_UNIFORM, _N_NORMAL):
            raise RuntimeError(f"draw budget mismatch: used {self._iu}/{self._iz} draws")


def _str_column(codes: np.ndarray, vocab: tuple[str, ...] | list[str], mask=None) -> pd.Series:
    """A pandas ``str`` column (pyarrow storage, NaN for missing) from integer codes."""
    arr = pa.array(vocab, type=pa.large_string()).take(pa.array(codes.astype(np.int32), mask=mask))
    return pd.Series(pd.array(arr, dtype=_STR_DTYPE), copy=False)


def _threshold(p: float) -> float:
    """z such that P(N(0,1) > z) = p."""
    return _ZQ(1.0 - p)


def _customer_ids(start: int, stop: int) -> pd.Series:
    """``SYN-`` + the global customer index zero-padded to 10 digits."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(start, stop)), pa.large_string()), 10, "0")
    prefix = pa.scalar(ID_PREFIX, pa.large_string())
    ids = pc.binary_join_element_wise(prefix, digits, pa.scalar("", pa.large_string()))
    return pd.Series(pd.array(ids, dtype=_STR_DTYPE), copy=False)


def _simulate(seed: int, start: int, stop: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers ``start..stop-1`` (global indices) and their truth rows."""
    n = stop - start
    d = _Draws(seed, start, stop)
    sq = math.sqrt

    # Demographics.
    male = d.u() < _P_MALE
    u_age = d.u()
    senior = u_age < _P_SENIOR
    age = np.where(
        senior,
        65 + np.floor(u_age / _P_SENIOR * 16),
        19 + np.floor((u_age - _P_SENIOR) / (1 - _P_SENIOR) * 46),
    ).astype(np.int64)
    married = d.u() < _P_MARRIED
    dependents = d.u() < np.where(married, _P_DEP_GIVEN_MARRIED[1], _P_DEP_GIVEN_MARRIED[0])
    n_dep = np.where(dependents, 1 + np.searchsorted(_N_DEP_CDF, d.u(), side="right"), 0)
    referred = married & (d.u() < _P_REFER_GIVEN_MARRIED)
    n_ref = np.where(referred, 1 + np.searchsorted(_N_REF_CDF, d.u(), side="right"), 0)
    youth = np.clip((50.0 - age) / 30.0, 0.0, 1.0)
    age_std = (age - 46.5) / 16.75
    family = married * 0.5 + dependents * 0.5 + np.minimum(n_dep, 3) * 0.1

    # Latent traits, ~N(0, 1), partly explained by demographics.
    price_sens = 0.45 * (youth - 0.45) / 0.38 + 0.35 * (0.5 - married) * 2 + 0.82 * d.z()
    need = 0.5 * (senior - _P_SENIOR) / 0.37 + 0.25 * (dependents - 0.23) / 0.42 + 0.83 * d.z()
    tech = -0.55 * age_std + 0.2 * senior + 0.8 * d.z()
    loyal = 0.35 * (married - 0.48) * 2 + 0.25 * (dependents - 0.23) / 0.42 + 0.9 * d.z()
    data = 0.6 * (age < 30) / 0.4 + 0.3 * tech - 0.3 + 0.75 * d.z()

    # Tenure: IBM marginal through a Gaussian copula with loyalty.
    u_t = _phi(0.5 * loyal + sq(0.75) * d.z())
    tenure = 1 + np.minimum(np.searchsorted(_TENURE_CDF, u_t, side="right"), 71)
    t_std = (tenure - 32.4) / 24.5

    # Contract: ordinal in tenure and loyalty.
    c_score = 1.35 * t_std + 0.45 * loyal + 0.25 * dependents + _logit(d.u()) * 0.85
    contract = (c_score > 0.03).astype(np.int64) + (c_score > 1.5)

    # Services.
    internet = (
        0.35 * need + 0.3 * tech - 0.45 * loyal + sq(0.6) * d.z() > _threshold(_P_INTERNET) + 0.02
    )
    phone = ~internet | (-0.35 * tech + sq(0.88) * d.z() > _threshold(_P_PHONE_GIVEN_INTERNET))
    fiber = 0.45 * need + 0.3 * tech + sq(0.7) * d.z() > _threshold(_P_FIBER) + 0.08
    kind = np.where(fiber, 2, (d.u() < _P_CABLE_GIVEN_NOT_FIBER).astype(np.int64))
    ml = phone & (
        0.35 * family / 0.45 + 0.35 * t_std + sq(0.75) * d.z()
        > _threshold(_P_ML_GIVEN_PHONE) + 0.28
    )
    shared = d.z()  # general add-on propensity
    stream = 0.55 * (youth - 0.45) / 0.38 + 0.35 * tech
    loadings = (
        0.35 * t_std + 0.3 * need,
        0.35 * t_std + 0.2 * need,
        0.35 * t_std + 0.25 * need,
        0.35 * t_std + 0.4 * need - 0.2 * tech,
        0.3 * t_std + 0.45 * stream,
        0.3 * t_std + 0.45 * stream,
        0.3 * t_std + 0.45 * stream,
        0.5 * data + 0.2 * t_std,
    )
    addons = np.zeros((n, len(_ADDONS)), dtype=bool)
    for j, (score, p, shift) in enumerate(zip(loadings, _P_ADDON, _ADDON_SHIFT, strict=True)):
        z = score + 0.45 * shared + 0.75 * d.z()
        addons[:, j] = internet & (z > _threshold(p) * 1.13 + shift)

    # Offer: the type is fixed by tenure band, acceptance by price sensitivity.
    offer_type = np.select(
        [tenure >= 66, tenure >= 40, tenure >= 24, tenure >= 11, tenure == 10],
        [1, 2, 3, 4, np.where(d.u() < 0.5, 4, 5)],
        default=5,
    )
    accepted = 0.45 * price_sens + sq(0.8) * d.z() > _threshold(_P_OFFER_ACCEPT) - 0.07
    offer = np.where(accepted, offer_type, 0)

    # Billing.
    paperless = 0.35 * tech + 0.5 * senior + sq(0.85) * d.z() > _threshold(_P_PAPERLESS) + 0.05
    mailed = -0.4 * tech + sq(0.84) * d.z() > _threshold(_P_MAILED) + 0.05
    card = 0.45 * (contract - 0.75) + 0.25 * loyal - 0.2 * price_sens + sq(0.8) * d.z()
    payment = np.where(mailed, 2, (card > _threshold(_P_CARD_GIVEN_NOT_MAILED) + 0.02).astype(int))

    # Portfolio.
    h = np.zeros((n, 12), dtype=bool)
    h[:, _OFFER] = offer > 0
    h[:, _PHONE] = phone
    h[:, _ML] = ml
    h[:, _INTERNET] = internet
    for j, k in enumerate(_ADDONS):
        h[:, k] = addons[:, j]

    # Baselines.
    base_logit = (
        _CHURN_INTERCEPT
        + np.asarray(_CONTRACT_LOGIT)[contract]
        - 0.25 * np.log(tenure)
        + 0.8 * senior
        - 1.1 * dependents
        - 0.15 * np.log1p(n_ref)
        - 0.3 * loyal
        + np.array([0.0, -0.25, 0.5])[payment]
        + 0.7 * paperless
    )
    base_sat = 0.5 * loyal + 0.1 * (married + 0.0) + 0.55 * d.z()
    base_value = (
        _VALUE_INTERCEPT + 0.45 * t_std + 0.12 * np.log1p(n_ref) + 0.15 * loyal + 1.7 * d.z()
    )
    x: dict[str, np.ndarray] = {
        "latent_price_sensitivity": price_sens,
        "latent_service_need": need,
        "latent_tech_affinity": tech,
        "latent_loyalty": loyal,
        "latent_data_appetite": data,
        "base_youth": youth,
        "base_internet_kind": kind.astype(np.float64),
        "base_family": family,
        "base_tenure": tenure.astype(np.float64),
        "base_churn_logit": base_logit,
        "base_satisfaction": base_sat,
        "base_value": base_value,
    }
    prep = _prepare(x)
    churn_p, cltv_e, sat_e, s_lat = _structural(x, h, prep)

    # Observed outcomes drawn from the structural model at the current portfolio.
    churned = d.u() < churn_p
    s_obs = s_lat + _SAT_SCALE * _logit(d.u())
    cuts_c, cuts_s = _SAT_CUT_CHURNED, _SAT_CUT_STAYED
    satisfaction = np.where(
        churned,
        1 + (s_obs > cuts_c[0]) + (s_obs > cuts_c[1]),
        3 + (s_obs > cuts_s[0]) + (s_obs > cuts_s[1]),
    ).astype(np.int64)
    cltv = np.rint(cltv_e + _CLTV_NOISE * (d.u() - d.u())).astype(np.int64)
    z_cs = d.z()
    churn_score = np.where(
        churned,
        np.rint(65 + 31 * _expit(0.45 + 3.0 * (churn_p - 0.5) + 0.9 * z_cs)),
        np.rint(5 + 75 * _expit(0.75 + 3.0 * (churn_p - 0.2) + 0.9 * z_cs)),
    ).astype(np.int64)
    status = np.where(churned, 1, np.where(tenure <= 3, 2, 0))

    # Churn category (drivers tilt the IBM shares) and reason within it.
    w = np.tile(_CATEGORY_WEIGHTS, (n, 1))
    w[:, 0] *= np.exp(0.3 * fiber * internet)
    w[:, 2] *= np.exp(-0.6 * s_lat)
    w[:, 3] *= np.exp(0.5 * price_sens)
    cum = np.cumsum(w, axis=1)
    category = (d.u()[:, None] * cum[:, -1:] > cum).sum(axis=1)
    reason_vocab: list[str] = []
    reason_codes = np.zeros(n, dtype=np.int64)
    u_r = d.u()
    for c, name in enumerate(_CATEGORIES):
        names = [r for r, _ in _REASONS[name]]
        counts = np.array([k for _, k in _REASONS[name]], dtype=float)
        rcum = np.cumsum(counts) / counts.sum()
        offset = len(reason_vocab)
        reason_vocab.extend(names)
        pick = np.minimum(np.searchsorted(rcum, u_r, side="right"), len(names) - 1)
        reason_codes = np.where(category == c, offset + pick, reason_codes)

    # Usage and money.
    gb = np.where(
        internet,
        np.clip(
            np.rint(
                np.exp(
                    math.log(13.0)
                    + 0.85 * (age < 30)
                    + 0.2 * data
                    + 0.08 * h[:, _TV:_UD].sum(axis=1)
                )
                * np.exp(0.55 * d.z())
            ),
            2,
            85,
        ),
        0,
    ).astype(np.int64)
    avg_ld = np.where(phone, np.round(1.0 + 48.99 * d.u(), 2), 0.0)
    monthly = _monthly_price(x, h) + 1.2 * d.z()
    monthly = np.clip(np.round(monthly * 20.0) / 20.0, 18.25, 118.75)
    total_charges = np.round(
        monthly * tenure * (1.0 + 0.045 * np.clip(d.z(), -3, 3) * (tenure > 1)), 2
    )
    refund = np.minimum(np.round(1.0 + 48.8 * d.u(), 2), np.round(0.5 * total_charges, 2))
    refunds = np.where(d.u() < _P_REFUND, refund, 0.0)
    extra_any = internet & ~h[:, _UD] & (d.u() < _P_EXTRA_GIVEN_NO_UD)
    extra_k = np.where(d.u() < 0.19, 1, 2 + np.floor(d.u() * 14)).astype(np.int64)
    extra = np.where(extra_any, 10 * extra_k, 0).astype(np.int64)
    total_ld = np.round(avg_ld * tenure, 2)
    total_revenue = np.round(total_charges - refunds + extra + total_ld, 2)

    # Geography.
    g = np.minimum(np.searchsorted(_GEO_CUM, d.u(), side="right"), len(_GEO_CUM) - 1)

    yn = _YES_NO
    cols: dict[str, object] = {
        "Customer ID": _customer_ids(start, stop),
        "Gender": _str_column(male.astype(np.int8), ("Female", "Male")),
        "Age": age,
        "Under 30": _str_column((age < 30).astype(np.int8), yn),
        "Senior Citizen": _str_column(senior.astype(np.int8), yn),
        "Married": _str_column(married.astype(np.int8), yn),
        "Dependents": _str_column(dependents.astype(np.int8), yn),
        "Number of Dependents": n_dep.astype(np.int64),
        "Country": _str_column(np.zeros(n, np.int8), ("United States",)),
        "State": _str_column(np.zeros(n, np.int8), ("California",)),
        "City": _str_column(_GEO_CITY[g], _CITY_NAMES),
        "Zip Code": _GEO_ZIP[g],
        "Latitude": _GEO_LAT[g],
        "Longitude": _GEO_LON[g],
        "Population": _GEO_POP[g],
        "Quarter": _str_column(np.zeros(n, np.int8), ("Q3",)),
        "Referred a Friend": _str_column(referred.astype(np.int8), yn),
        "Number of Referrals": n_ref.astype(np.int64),
        "Tenure in Months": tenure.astype(np.int64),
        "Offer": _str_column(offer, _OFFERS),
        "Phone Service": _str_column(phone.astype(np.int8), yn),
        "Avg Monthly Long Distance Charges": avg_ld,
        "Multiple Lines": _str_column(ml.astype(np.int8), yn),
        "Internet Service": _str_column(internet.astype(np.int8), yn),
        "Internet Type": _str_column(np.where(internet, kind, 3), (*_INTERNET_TYPES, "None")),
        "Avg Monthly GB Download": gb,
    }
    for k in _ADDONS:
        cols[PRODUCT_COLUMNS[PRODUCTS[k]]] = _str_column(h[:, k].astype(np.int8), yn)
    cols.update(
        {
            "Contract": _str_column(contract, _CONTRACTS),
            "Paperless Billing": _str_column(paperless.astype(np.int8), yn),
            "Payment Method": _str_column(payment, _PAYMENTS),
            "Monthly Charge": monthly,
            "Total Charges": total_charges,
            "Total Refunds": refunds,
            "Total Extra Data Charges": extra,
            "Total Long Distance Charges": total_ld,
            "Total Revenue": total_revenue,
            "Satisfaction Score": satisfaction,
            "Customer Status": _str_column(status, _STATUSES),
            "Churn Label": _str_column(churned.astype(np.int8), yn),
            "Churn Value": churned.astype(np.int64),
            "Churn Score": churn_score,
            "CLTV": cltv,
            "Churn Category": _str_column(category, _CATEGORIES, mask=~churned),
            "Churn Reason": _str_column(reason_codes, reason_vocab, mask=~churned),
        }
    )
    index = pd.RangeIndex(start, stop)
    customers = pd.DataFrame({c: cols[c] for c in IBM_COLUMNS})
    customers.index = index
    d.check_used()
    truth = _truth_frame(cols["Customer ID"], x, h, prep, (churn_p, cltv_e, sat_e))
    truth.index = index
    return customers, truth


def _truth_columns() -> list[str]:
    names = [f"latent_{t}" for t in TRAITS] + [f"base_{b}" for b in _BASE]
    names += ["churn_prob", "cltv_expected", "satisfaction_expected"]
    names += [f"d_{f}__{p}" for p in PRODUCTS for f in FACTORS]
    return names


def _truth_frame(
    ids: pd.Series,
    x: Mapping[str, np.ndarray],
    h: np.ndarray,
    prep: Mapping[str, np.ndarray],
    current: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """Truth rows: traits, structural inputs, current expected outcomes and d_* effects."""
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
    for k, product in enumerate(PRODUCTS):
        held = h[:, k]
        h2[:, k] = True
        churn, cltv, sat, _ = _structural(x, h2, prep)
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


def _check_counts(n_rows: int, seed: int, chunk_size: int, start: int) -> None:
    for name, value, low in (
        ("n_rows", n_rows, 0),
        ("seed", seed, 0),
        ("chunk_size", chunk_size, 1),
        ("start", start, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
        if value < low:
            raise OptionError(f"{name} must be >= {low}, got {value}")


def generate(
    n_rows: int, seed: int = 0, *, chunk_size: int = 100_000, start: int = 0
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Stream the synthetic population as ``(customers, truth)`` chunks.

    Parameters
    ----------
    n_rows : int
        Number of customers to generate (customers ``start`` .. ``start + n_rows - 1``).
    seed : int, default 0
        Non-negative seed. Customer ``i`` depends only on ``(seed, i)``.
    chunk_size : int, default 100_000
        Rows per yielded chunk; memory is bounded by it. The concatenated output does not
        depend on it.
    start : int, default 0
        Global index of the first customer, so a population can be produced in pieces.

    Yields
    ------
    customers : pandas.DataFrame
        IBM 11.1.3+ schema (:data:`IBM_COLUMNS`), indexed by global customer index.
    truth : pandas.DataFrame
        Same index: ``Customer ID``, ``latent_*`` traits, ``base_*`` structural inputs,
        ``churn_prob``, ``cltv_expected``, ``satisfaction_expected`` at the current portfolio
        and ``d_{factor}__{product}``: the true change from adding the product to the current
        portfolio (NaN where the product is already held; churn change < 0 is good).

    Examples
    --------
    >>> customers, truth = next(generate(5, seed=1))
    >>> customers.shape, list(customers["Customer ID"][:2])
    ((5, 51), ['SYN-0000000000', 'SYN-0000000001'])
    """
    _check_counts(n_rows, seed, chunk_size, start)
    stop = start + n_rows
    for lo in range(start, stop, chunk_size):
        yield _simulate(int(seed), lo, min(lo + chunk_size, stop))


def generate_frame(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate the whole population in memory as ``(customers, truth)``; see :func:`generate`."""
    _check_counts(n_rows, seed, 1, 0)
    if n_rows == 0:
        customers, truth = _simulate(int(seed), 0, 1)
        return customers.iloc[:0], truth.iloc[:0]
    return _simulate(int(seed), 0, n_rows)


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
    names = [f"latent_{t}" for t in TRAITS] + [f"base_{b}" for b in _BASE]
    missing = [c for c in names if c not in truth.columns]
    if missing:
        raise OptionError(f"truth frame lacks columns {missing}; pass the truth from generate()")
    x = {c: truth[c].to_numpy(dtype=np.float64) for c in names}
    churn, cltv, sat, _ = _structural(x, h)
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


def truth_path(path: str | os.PathLike[str]) -> Path:
    """Sibling file holding the truth of a population file: ``<stem>.truth.parquet``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.truth.parquet")


def write(
    path: str | os.PathLike[str],
    n_rows: int,
    seed: int = 0,
    chunk_size: int = 100_000,
    progress: Callable[[int, int], object] | None = None,
) -> tuple[Path, Path]:
    """Write a population to CSV or Parquet (by suffix) and its truth to ``<stem>.truth.parquet``.

    Chunks are streamed to temporary files that are renamed into place only when complete, so
    an interrupted run never leaves a file that looks finished.

    Parameters
    ----------
    path : path-like
        Target ending in ``.csv`` or ``.parquet``.
    n_rows, seed, chunk_size
        As in :func:`generate`; ``n_rows`` must be >= 1.
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk.

    Returns
    -------
    (customers_path, truth_path)
    """
    _check_counts(n_rows, seed, chunk_size, 0)
    if n_rows < 1:
        raise OptionError("n_rows must be >= 1")
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise OptionError(f"unsupported output suffix {out.suffix!r}; use .csv or .parquet")
    tpath = truth_path(out)
    tag = f".tmp-{os.getpid()}"
    tmp_out = out.with_name(f".{out.name}{tag}")
    tmp_truth = tpath.with_name(f".{tpath.name}{tag}")
    sinks = {
        "customers": _TableSink(tmp_out, suffix[1:]),
        "truth": _TableSink(tmp_truth, "truth"),
    }
    done = 0
    try:
        for customers, truth in generate(n_rows, seed, chunk_size=chunk_size):
            sinks["customers"].append(customers)
            sinks["truth"].append(truth)
            done += len(customers)
            if progress is not None:
                progress(done, n_rows)
        for sink in sinks.values():
            sink.close()
        os.replace(tmp_truth, tpath)  # truth first: a finished population implies its truth
        os.replace(tmp_out, out)
    finally:
        for sink in sinks.values():
            sink.close()
        for tmp in (tmp_out, tmp_truth):
            tmp.unlink(missing_ok=True)
    return out, tpath


class _TableSink:
    """Streams DataFrame chunks to one file: ``fmt`` is "csv" (IBM-like: unquoted, empty for
    missing), "parquet", or "truth" (Parquet without dictionary encoding)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._writer: pq.ParquetWriter | pcsv.CSVWriter | None = None
        self._schema: pa.Schema | None = None

    def append(self, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df, preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            if self.fmt == "csv":
                options = pcsv.WriteOptions(quoting_style="none", quoting_header="none")
                self._writer = pcsv.CSVWriter(self.path, table.schema, write_options=options)
            else:
                # Truth columns are unique floats: dictionary encoding only costs time there.
                self._writer = pq.ParquetWriter(
                    self.path,
                    table.schema,
                    compression="zstd",
                    use_dictionary=self.fmt != "truth",
                )
        self._writer.write_table(table.cast(self._schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
