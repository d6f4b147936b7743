"""Calibration: what the synthetic population takes from the IBM file (aggregate figures only).

Marginal shares and counts, the tenure bands, the price list, the vocabularies and the churn
categories and reasons of ``telco_ibm_11_1_3.csv``; no row of the file is copied.
"""

from __future__ import annotations

import numpy as np

P_MALE = 3555 / 7043
P_SENIOR = 1142 / 7043
P_MARRIED = 3402 / 7043
P_DEP_GIVEN_MARRIED = (0.0829, 0.3895)  # P(dependents | married = No, Yes)
N_DEP_PMF = np.array([553, 531, 517, 9, 10, 3, 2, 1, 1], dtype=float)  # 1..9 given Yes
P_REFER_GIVEN_MARRIED = 0.9471  # unmarried customers never refer in the IBM file
N_REF_PMF = np.array([1086, 236, 255, 236, 264, 221, 248, 213, 238, 223, 2], dtype=float)
# Tenure: probability of each band, uniform within the band (months inclusive).
TENURE_BANDS = (
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
P_INTERNET = 5517 / 7043
P_PHONE_GIVEN_INTERNET = (5517 - 682) / 5517
INTERNET_TYPES = ("DSL", "Cable", "Fiber Optic")  # internet_kind codes 0, 1, 2
P_FIBER = 3035 / 5517
P_CABLE_GIVEN_NOT_FIBER = 830 / (830 + 1652)
P_ML_GIVEN_PHONE = 2971 / 6361
# Share of internet customers holding each add-on, in ADDONS order.
P_ADDON = (
    2019 / 5517,
    2429 / 5517,
    2422 / 5517,
    2044 / 5517,
    2707 / 5517,
    2732 / 5517,
    2488 / 5517,
    4745 / 5517,
)
ADDON_SHIFT = (0.0, 0.0, 0.0, 0.0, -0.08, -0.08, -0.08, 0.0)  # calibration to the shares
P_OFFER_ACCEPT = (7043 - 3877) / 7043
P_PAPERLESS = 4171 / 7043
P_MAILED = 385 / 7043
P_CARD_GIVEN_NOT_MAILED = 2749 / (7043 - 385)
P_EXTRA_GIVEN_NO_UD = 728 / 772  # internet customers without unlimited data
P_REFUND = 525 / 7043
# IBM price list (least-squares fit of Monthly Charge on the services held, R^2 = 0.993).
PRICE_INTERCEPT = -1.0
PRICE = np.array(
    [0.0, 20.90, 5.27, 0.0, 4.63, 4.89, 4.98, 4.63, 10.19, 10.46, 0.0, 0.0]
)  # internet itself is priced by kind:
INTERNET_PRICE = np.array([25.62, 27.50, 50.02])  # DSL, Cable, Fiber
CONTRACTS = ("Month-to-Month", "One Year", "Two Year")
PAYMENTS = ("Bank Withdrawal", "Credit Card", "Mailed Check")
OFFERS = ("None", "Offer A", "Offer B", "Offer C", "Offer D", "Offer E")
STATUSES = ("Stayed", "Churned", "Joined")
YES_NO = ("No", "Yes")
# Churn categories and, within each, the reasons with their IBM counts.
CATEGORIES = ("Competitor", "Attitude", "Dissatisfaction", "Price", "Other")
CATEGORY_WEIGHTS = np.array([841, 314, 303, 211, 200], dtype=float)
REASONS: dict[str, tuple[tuple[str, int], ...]] = {
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


def _tenure_cdf() -> np.ndarray:
    pmf = np.zeros(72)
    for lo, hi, p in TENURE_BANDS:
        pmf[lo - 1 : hi] = p / (hi - lo + 1)
    cdf = np.cumsum(pmf)
    return cdf / cdf[-1]


TENURE_CDF = _tenure_cdf()
N_DEP_CDF = np.cumsum(N_DEP_PMF) / N_DEP_PMF.sum()
N_REF_CDF = np.cumsum(N_REF_PMF) / N_REF_PMF.sum()
