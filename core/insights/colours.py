"""The colours of every chart: one per product on every page and in the executive report.

Products take the Okabe-Ito palette first (the seed catalog's five products get its most
distinct colours), then Paul Tol's colour-blind safe indigo, wine, brown and green: every pair
of a shipped catalog's products stays apart for protan, deutan and tritan vision
(:func:`min_distance` measures it; ``tests/core/test_executive.py`` checks it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np

#: One colour per product key (unknown keys fall back to :data:`GREYS`).
PRODUCT_COLOURS: dict[str, str] = {
    "offer": "#0072B2",  # Okabe-Ito blue
    "phone": "#E69F00",  # orange
    "internet": "#009E73",  # bluish green
    "device_protection": "#CC79A7",  # reddish purple
    "tech_support": "#D55E00",  # vermillion
    "multiple_lines": "#56B4E9",  # sky blue
    "online_security": "#332288",  # Tol indigo
    "online_backup": "#882255",  # Tol wine
    "streaming_tv": "#F0E442",  # Okabe-Ito yellow
    "streaming_movies": "#661100",  # Tol brown
    "streaming_music": "#117733",  # Tol green
    "unlimited_data": "#000000",
}
GREYS = ("#7a8696", "#9aa5b1", "#5c6773")
#: Colours of the three key factors.
FACTOR_COLOURS = {"cltv": "#0072B2", "churn": "#D55E00", "satisfaction": "#009E73"}
#: "No offer" in charts of offers.
NO_OFFER_COLOUR = "#c9d1db"

# Colour-vision deficiency simulation (Machado, Oliveira & Fernandes 2009, severity 1) in
# linear RGB, and distances in CIELAB.
_CVD = {
    "normal": np.eye(3),
    "protan": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deutan": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritan": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def product_colour(key: str, i: int = 0) -> str:
    """The colour of product ``key`` (the ``i``-th grey when it has none)."""
    return PRODUCT_COLOURS.get(key, GREYS[i % len(GREYS)])


#: Colours of products without one of their own (another business's catalog), in order.
SAFE_COLOURS: tuple[str, ...] = tuple(dict.fromkeys(PRODUCT_COLOURS.values()))


def colour_map(catalog: Any, by: str = "label") -> dict[str, str]:
    """{label (or key, ``by="key"``): colour} of a catalog's products.

    Products of :data:`PRODUCT_COLOURS` keep their colour; the others take, in catalog order,
    the first :data:`SAFE_COLOURS` no product of the catalog uses yet (greys when none is left),
    so every catalog's products are told apart, and the same catalog gives the same colours on
    every page.
    """
    names = catalog.labels if by == "label" else catalog.keys
    used = {PRODUCT_COLOURS[k] for k in catalog.keys if k in PRODUCT_COLOURS}
    spare = iter([c for c in SAFE_COLOURS if c not in used])
    out = {}
    for i, (n, k) in enumerate(zip(names, catalog.keys, strict=True)):
        out[n] = PRODUCT_COLOURS.get(k) or next(spare, None) or GREYS[i % len(GREYS)]
    return out


def _lab(hex_colour: str, vision: str) -> np.ndarray:
    rgb = np.array([int(hex_colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]) / 255.0
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    t = _XYZ @ np.clip(_CVD[vision] @ lin, 0.0, 1.0) / _WHITE
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def min_distance(colours: Iterable[str]) -> dict[str, float]:
    """Smallest CIELAB distance (Delta E 1976) between two of ``colours``, per vision.

    Keys ``normal``, ``protan``, ``deutan``, ``tritan``; about 10 or more reads as distinct.
    """
    cols = list(colours)
    out = {}
    for vision in _CVD:
        labs = [_lab(c, vision) for c in cols]
        pairs = itertools.combinations(labs, 2)
        out[vision] = min((float(np.linalg.norm(a - b)) for a, b in pairs), default=float("inf"))
    return out
