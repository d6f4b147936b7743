"""Synthetic California geography: 40 cities, zip codes in each city's range, coordinates and
population per zip (fixed: the geography is part of the model, not of the seed)."""

from __future__ import annotations

import math

import numpy as np

# Synthetic California geography: (city, latitude, longitude, first zip, last zip, weight).
# Approximate public city-centre coordinates; zip codes inside each range are synthetic.
CITIES: tuple[tuple[str, float, float, int, int, float], ...] = (
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
    for i, (_, clat, clon, z0, z1, w) in enumerate(CITIES):
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
    names = [c[0] for c in CITIES]
    return (
        cum,
        np.array(city_idx),
        np.array(zips, dtype=np.int64),
        np.array(lat),
        np.array(lon),
        [np.array(pop, dtype=np.int64), names],
    )


GEO_CUM, GEO_CITY, GEO_ZIP, GEO_LAT, GEO_LON, (GEO_POP, CITY_NAMES) = _build_geography()
