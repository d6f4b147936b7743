"""Simulation: customers ``start..stop-1`` in the IBM schema with their truth rows, and the
public generators :func:`generate` (streamed chunks) and :func:`generate_frame` (in memory)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.common.errors import OptionError
from core.data.synthetic._base import (
    ADDONS,
    IBM_COLUMNS,
    INTERNET,
    ML,
    OFFER,
    PHONE,
    PRODUCT_COLUMNS,
    PRODUCTS,
    TV,
    UD,
    expit,
    logit,
    phi,
)
from core.data.synthetic.calibration import (
    ADDON_SHIFT,
    CATEGORIES,
    CATEGORY_WEIGHTS,
    CONTRACTS,
    INTERNET_TYPES,
    N_DEP_CDF,
    N_REF_CDF,
    OFFERS,
    P_ADDON,
    P_CABLE_GIVEN_NOT_FIBER,
    P_CARD_GIVEN_NOT_MAILED,
    P_DEP_GIVEN_MARRIED,
    P_EXTRA_GIVEN_NO_UD,
    P_FIBER,
    P_INTERNET,
    P_MAILED,
    P_MALE,
    P_MARRIED,
    P_ML_GIVEN_PHONE,
    P_OFFER_ACCEPT,
    P_PAPERLESS,
    P_PHONE_GIVEN_INTERNET,
    P_REFER_GIVEN_MARRIED,
    P_REFUND,
    P_SENIOR,
    PAYMENTS,
    REASONS,
    STATUSES,
    TENURE_CDF,
    YES_NO,
)
from core.data.synthetic.draws import Draws
from core.data.synthetic.geography import (
    CITY_NAMES,
    GEO_CITY,
    GEO_CUM,
    GEO_LAT,
    GEO_LON,
    GEO_POP,
    GEO_ZIP,
)
from core.data.synthetic.structural import (
    CHURN_INTERCEPT,
    CLTV_NOISE,
    CONTRACT_LOGIT,
    SAT_CUT_CHURNED,
    SAT_CUT_STAYED,
    SAT_SCALE,
    VALUE_INTERCEPT,
    coefficients,
    list_price,
    outcomes,
)
from core.data.synthetic.truth import truth_frame

_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # what read_csv infers for text
ID_PREFIX = "SYN-"
_ZQ = NormalDist().inv_cdf


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
    d = Draws(seed, start, stop)
    sq = math.sqrt

    # Demographics.
    male = d.u() < P_MALE
    u_age = d.u()
    senior = u_age < P_SENIOR
    age = np.where(
        senior,
        65 + np.floor(u_age / P_SENIOR * 16),
        19 + np.floor((u_age - P_SENIOR) / (1 - P_SENIOR) * 46),
    ).astype(np.int64)
    married = d.u() < P_MARRIED
    dependents = d.u() < np.where(married, P_DEP_GIVEN_MARRIED[1], P_DEP_GIVEN_MARRIED[0])
    n_dep = np.where(dependents, 1 + np.searchsorted(N_DEP_CDF, d.u(), side="right"), 0)
    referred = married & (d.u() < P_REFER_GIVEN_MARRIED)
    n_ref = np.where(referred, 1 + np.searchsorted(N_REF_CDF, d.u(), side="right"), 0)
    youth = np.clip((50.0 - age) / 30.0, 0.0, 1.0)
    age_std = (age - 46.5) / 16.75
    family = married * 0.5 + dependents * 0.5 + np.minimum(n_dep, 3) * 0.1

    # Latent traits, ~N(0, 1), partly explained by demographics.
    price_sens = 0.45 * (youth - 0.45) / 0.38 + 0.35 * (0.5 - married) * 2 + 0.82 * d.z()
    need = 0.5 * (senior - P_SENIOR) / 0.37 + 0.25 * (dependents - 0.23) / 0.42 + 0.83 * d.z()
    tech = -0.55 * age_std + 0.2 * senior + 0.8 * d.z()
    loyal = 0.35 * (married - 0.48) * 2 + 0.25 * (dependents - 0.23) / 0.42 + 0.9 * d.z()
    data = 0.6 * (age < 30) / 0.4 + 0.3 * tech - 0.3 + 0.75 * d.z()

    # Tenure: IBM marginal through a Gaussian copula with loyalty.
    u_t = phi(0.5 * loyal + sq(0.75) * d.z())
    tenure = 1 + np.minimum(np.searchsorted(TENURE_CDF, u_t, side="right"), 71)
    t_std = (tenure - 32.4) / 24.5

    # Contract: ordinal in tenure and loyalty.
    c_score = 1.35 * t_std + 0.45 * loyal + 0.25 * dependents + logit(d.u()) * 0.85
    contract = (c_score > 0.03).astype(np.int64) + (c_score > 1.5)

    # Services.
    internet = (
        0.35 * need + 0.3 * tech - 0.45 * loyal + sq(0.6) * d.z() > _threshold(P_INTERNET) + 0.02
    )
    phone = ~internet | (-0.35 * tech + sq(0.88) * d.z() > _threshold(P_PHONE_GIVEN_INTERNET))
    fiber = 0.45 * need + 0.3 * tech + sq(0.7) * d.z() > _threshold(P_FIBER) + 0.08
    kind = np.where(fiber, 2, (d.u() < P_CABLE_GIVEN_NOT_FIBER).astype(np.int64))
    ml = phone & (
        0.35 * family / 0.45 + 0.35 * t_std + sq(0.75) * d.z() > _threshold(P_ML_GIVEN_PHONE) + 0.28
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
    addons = np.zeros((n, len(ADDONS)), dtype=bool)
    for j, (score, p, shift) in enumerate(zip(loadings, P_ADDON, ADDON_SHIFT, strict=True)):
        z = score + 0.45 * shared + 0.75 * d.z()
        addons[:, j] = internet & (z > _threshold(p) * 1.13 + shift)

    # Offer: the type is fixed by tenure band, acceptance by price sensitivity.
    offer_type = np.select(
        [tenure >= 66, tenure >= 40, tenure >= 24, tenure >= 11, tenure == 10],
        [1, 2, 3, 4, np.where(d.u() < 0.5, 4, 5)],
        default=5,
    )
    accepted = 0.45 * price_sens + sq(0.8) * d.z() > _threshold(P_OFFER_ACCEPT) - 0.07
    offer = np.where(accepted, offer_type, 0)

    # Billing.
    paperless = 0.35 * tech + 0.5 * senior + sq(0.85) * d.z() > _threshold(P_PAPERLESS) + 0.05
    mailed = -0.4 * tech + sq(0.84) * d.z() > _threshold(P_MAILED) + 0.05
    card = 0.45 * (contract - 0.75) + 0.25 * loyal - 0.2 * price_sens + sq(0.8) * d.z()
    payment = np.where(mailed, 2, (card > _threshold(P_CARD_GIVEN_NOT_MAILED) + 0.02).astype(int))

    # Portfolio.
    h = np.zeros((n, 12), dtype=bool)
    h[:, OFFER] = offer > 0
    h[:, PHONE] = phone
    h[:, ML] = ml
    h[:, INTERNET] = internet
    for j, k in enumerate(ADDONS):
        h[:, k] = addons[:, j]

    # Baselines.
    base_logit = (
        CHURN_INTERCEPT
        + np.asarray(CONTRACT_LOGIT)[contract]
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
        VALUE_INTERCEPT + 0.45 * t_std + 0.12 * np.log1p(n_ref) + 0.15 * loyal + 1.7 * d.z()
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
    prep = coefficients(x)
    churn_p, cltv_e, sat_e, s_lat = outcomes(x, h, prep)

    # Observed outcomes drawn from the structural model at the current portfolio.
    churned = d.u() < churn_p
    s_obs = s_lat + SAT_SCALE * logit(d.u())
    cuts_c, cuts_s = SAT_CUT_CHURNED, SAT_CUT_STAYED
    satisfaction = np.where(
        churned,
        1 + (s_obs > cuts_c[0]) + (s_obs > cuts_c[1]),
        3 + (s_obs > cuts_s[0]) + (s_obs > cuts_s[1]),
    ).astype(np.int64)
    cltv = np.rint(cltv_e + CLTV_NOISE * (d.u() - d.u())).astype(np.int64)
    z_cs = d.z()
    churn_score = np.where(
        churned,
        np.rint(65 + 31 * expit(0.45 + 3.0 * (churn_p - 0.5) + 0.9 * z_cs)),
        np.rint(5 + 75 * expit(0.75 + 3.0 * (churn_p - 0.2) + 0.9 * z_cs)),
    ).astype(np.int64)
    status = np.where(churned, 1, np.where(tenure <= 3, 2, 0))

    # Churn category (drivers tilt the IBM shares) and reason within it.
    w = np.tile(CATEGORY_WEIGHTS, (n, 1))
    w[:, 0] *= np.exp(0.3 * fiber * internet)
    w[:, 2] *= np.exp(-0.6 * s_lat)
    w[:, 3] *= np.exp(0.5 * price_sens)
    cum = np.cumsum(w, axis=1)
    category = (d.u()[:, None] * cum[:, -1:] > cum).sum(axis=1)
    reason_vocab: list[str] = []
    reason_codes = np.zeros(n, dtype=np.int64)
    u_r = d.u()
    for c, name in enumerate(CATEGORIES):
        names = [r for r, _ in REASONS[name]]
        counts = np.array([k for _, k in REASONS[name]], dtype=float)
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
                    math.log(13.0) + 0.85 * (age < 30) + 0.2 * data + 0.08 * h[:, TV:UD].sum(axis=1)
                )
                * np.exp(0.55 * d.z())
            ),
            2,
            85,
        ),
        0,
    ).astype(np.int64)
    avg_ld = np.where(phone, np.round(1.0 + 48.99 * d.u(), 2), 0.0)
    monthly = list_price(h, prep["internet_price"]) + 1.2 * d.z()
    monthly = np.clip(np.round(monthly * 20.0) / 20.0, 18.25, 118.75)
    total_charges = np.round(
        monthly * tenure * (1.0 + 0.045 * np.clip(d.z(), -3, 3) * (tenure > 1)), 2
    )
    refund = np.minimum(np.round(1.0 + 48.8 * d.u(), 2), np.round(0.5 * total_charges, 2))
    refunds = np.where(d.u() < P_REFUND, refund, 0.0)
    extra_any = internet & ~h[:, UD] & (d.u() < P_EXTRA_GIVEN_NO_UD)
    extra_k = np.where(d.u() < 0.19, 1, 2 + np.floor(d.u() * 14)).astype(np.int64)
    extra = np.where(extra_any, 10 * extra_k, 0).astype(np.int64)
    total_ld = np.round(avg_ld * tenure, 2)
    total_revenue = np.round(total_charges - refunds + extra + total_ld, 2)

    # Geography.
    g = np.minimum(np.searchsorted(GEO_CUM, d.u(), side="right"), len(GEO_CUM) - 1)

    yn = YES_NO
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
        "City": _str_column(GEO_CITY[g], CITY_NAMES),
        "Zip Code": GEO_ZIP[g],
        "Latitude": GEO_LAT[g],
        "Longitude": GEO_LON[g],
        "Population": GEO_POP[g],
        "Quarter": _str_column(np.zeros(n, np.int8), ("Q3",)),
        "Referred a Friend": _str_column(referred.astype(np.int8), yn),
        "Number of Referrals": n_ref.astype(np.int64),
        "Tenure in Months": tenure.astype(np.int64),
        "Offer": _str_column(offer, OFFERS),
        "Phone Service": _str_column(phone.astype(np.int8), yn),
        "Avg Monthly Long Distance Charges": avg_ld,
        "Multiple Lines": _str_column(ml.astype(np.int8), yn),
        "Internet Service": _str_column(internet.astype(np.int8), yn),
        "Internet Type": _str_column(np.where(internet, kind, 3), (*INTERNET_TYPES, "None")),
        "Avg Monthly GB Download": gb,
    }
    for k in ADDONS:
        cols[PRODUCT_COLUMNS[PRODUCTS[k]]] = _str_column(h[:, k].astype(np.int8), yn)
    cols.update(
        {
            "Contract": _str_column(contract, CONTRACTS),
            "Paperless Billing": _str_column(paperless.astype(np.int8), yn),
            "Payment Method": _str_column(payment, PAYMENTS),
            "Monthly Charge": monthly,
            "Total Charges": total_charges,
            "Total Refunds": refunds,
            "Total Extra Data Charges": extra,
            "Total Long Distance Charges": total_ld,
            "Total Revenue": total_revenue,
            "Satisfaction Score": satisfaction,
            "Customer Status": _str_column(status, STATUSES),
            "Churn Label": _str_column(churned.astype(np.int8), yn),
            "Churn Value": churned.astype(np.int64),
            "Churn Score": churn_score,
            "CLTV": cltv,
            "Churn Category": _str_column(category, CATEGORIES, mask=~churned),
            "Churn Reason": _str_column(reason_codes, reason_vocab, mask=~churned),
        }
    )
    index = pd.RangeIndex(start, stop)
    customers = pd.DataFrame({c: cols[c] for c in IBM_COLUMNS})
    customers.index = index
    d.check_used()
    truth = truth_frame(cols["Customer ID"], x, h, prep, (churn_p, cltv_e, sat_e))
    truth.index = index
    return customers, truth


def check_counts(n_rows: int, seed: int, chunk_size: int, start: int) -> None:
    """Refuse non-integer or out-of-range sizes, seeds and offsets (TypeError / OptionError)."""
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
        portfolio (NaN where the product is already held; churn change < 0 is good);
        ``p_accept__{product}``: the true probability of accepting an offer of the product
        (0 where it is held or its prerequisite is missing).

    Examples
    --------
    >>> customers, truth = next(generate(5, seed=1))
    >>> customers.shape, list(customers["Customer ID"][:2])
    ((5, 51), ['SYN-0000000000', 'SYN-0000000001'])
    """
    check_counts(n_rows, seed, chunk_size, start)
    stop = start + n_rows
    for lo in range(start, stop, chunk_size):
        yield _simulate(int(seed), lo, min(lo + chunk_size, stop))


def generate_frame(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate the whole population in memory as ``(customers, truth)``; see :func:`generate`."""
    check_counts(n_rows, seed, 1, 0)
    if n_rows == 0:
        customers, truth = _simulate(int(seed), 0, 1)
        return customers.iloc[:0], truth.iloc[:0]
    return _simulate(int(seed), 0, n_rows)
