"""What the synthetic family shares: product keys and indices, truth inputs, small link functions.

Product ``k`` of a portfolio ``h`` (bool, shape ``(n, 12)``) is ``PRODUCTS[k]``; the constants
``OFFER`` .. ``UD`` name those indices.
"""

from __future__ import annotations

import math

import numpy as np

from core.data.schema import IBM

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

#: The 51 columns of the IBM 11.1.3+ file, in its order (the telecom family of the schema).
IBM_COLUMNS: tuple[str, ...] = IBM

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
BASE_INPUTS: tuple[str, ...] = (
    "youth",
    "internet_kind",
    "family",
    "tenure",
    "churn_logit",
    "satisfaction",
    "value",
)

# Index of each product in PRODUCTS (the columns of a portfolio ``h``).
(
    OFFER,
    PHONE,
    ML,
    INTERNET,
    OS,
    OB,
    DP,
    TS,
    TV,
    MOVIES,
    MUSIC,
    UD,
) = range(12)
ADDONS = (OS, OB, DP, TS, TV, MOVIES, MUSIC, UD)


def logit(u: np.ndarray) -> np.ndarray:
    """log(u / (1 - u)), with ``u`` clipped away from 0 and 1."""
    u = np.clip(u, 1e-12, 1.0 - 1e-12)  # rng.random() can return exactly 0
    return np.log(u / (1.0 - u))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), without overflow."""
    return np.logaddexp(0.0, x)


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x)), through tanh (no overflow)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def phi(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)
