"""What describes a subscriber for clustering: the features, their robust scaling, the RFM view.

Features (clustering inputs, all optional except tenure and monthly charge)
---------------------------------------------------------------------------
``tenure``          Tenure in Months
``monthly_charge``  Monthly Charge
``total_revenue``   Total Revenue (falls back to Total Charges in the classic export, with a note)
``n_products``      products held, counted over the ``full`` catalog's products whose columns exist
``referrals``       Number of Referrals
``cltv``            CLTV
``churn_proba``     *predicted* churn probability, only when passed as an argument
``satisfaction``    Satisfaction Score (only with ``features="all"``: in the IBM sample scores 1-2
                    always churn, so clustering on it rebuilds the churn label; it is always
                    *described* per segment)

Outcome columns (``Churn Value``, ``Churn Label``, ``Customer Status``, ``Churn Score``, ...) are
never clustering inputs; ``Churn Value`` is only used to *describe* segments (observed churn
rate, and revenue at risk when no prediction is given). A feature whose column is absent is left
out with a note, never invented.

Features are scaled robustly: ``(x - median) / (IQR / 1.349)`` (IQR falls back to the standard
deviation, then 1, for near-constant columns), clipped to [-5, 5] so a few extreme customers
cannot own a segment.

RFM view (:func:`rfm_view`)
---------------------------
Recency is not observable in subscription data: every active subscriber was billed this month.
The proxy is *tenure* ("months since joining"), scored so that a longer relationship scores
higher (the RFM convention that a high score marks the more valuable customer; i.e. tenure is
used as *inverse* recency). Frequency is the number of products held (breadth of the
relationship) and monetary is Total Revenue (or Total Charges).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.insights.segments._base import check_proba

#: Feature name -> (display label, description). Order is the order of the feature matrix.
FEATURES: dict[str, tuple[str, str]] = {
    "tenure": ("Tenure (months)", "Tenure in Months"),
    "monthly_charge": ("Monthly charge", "Monthly Charge"),
    "total_revenue": ("Total revenue", "Total Revenue, else Total Charges"),
    "n_products": ("Products held", "products of the full catalog held"),
    "referrals": ("Referrals", "Number of Referrals"),
    "cltv": ("CLTV", "CLTV"),
    "churn_proba": ("Predicted churn", "predicted churn probability (argument)"),
    "satisfaction": ("Satisfaction", "Satisfaction Score"),
}
RFM_FEATURES: tuple[str, ...] = ("tenure", "n_products", "total_revenue")

_COLUMNS = {
    "tenure": "Tenure in Months",
    "monthly_charge": "Monthly Charge",
    "referrals": "Number of Referrals",
    "cltv": "CLTV",
    "satisfaction": "Satisfaction Score",
}


def customer_ids(frame: pd.DataFrame) -> np.ndarray:
    """``Customer ID`` of each row as text (row numbers from 1 when the column is absent).

    Examples
    --------
    >>> customer_ids(pd.DataFrame({"Tenure in Months": [1, 40]})).tolist()
    ['1', '2']
    """
    if "Customer ID" in frame.columns:
        return frame["Customer ID"].astype(str).to_numpy(dtype=object)
    return np.array([str(i + 1) for i in range(len(frame))], dtype=object)


def _n_products(frame: pd.DataFrame) -> tuple[np.ndarray | None, str | None]:
    from core.data.catalog import load_catalog

    catalog = load_catalog("full")
    usable = catalog.restrict_to(list(frame.columns))
    if usable.n_products < 2:
        return None, "n_products left out: fewer than two product columns in the data."
    note = None
    if usable.n_products < catalog.n_products:
        missing = [k for k in catalog.keys if k not in usable.keys]
        note = f"n_products counts {usable.n_products} products; no columns for {missing}."
    return usable.holdings(frame).sum(axis=1).astype(np.float64), note


def segment_features(
    frame: pd.DataFrame,
    *,
    churn_proba: Any = None,
    features: str | Sequence[str] = "default",
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The clustering features of each customer, in raw units.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical customer frame (:func:`core.data.io.load` ``.frame``).
    churn_proba : array-like of float, optional
        Predicted churn probability per row; adds the ``churn_proba`` feature.
    features : {"default", "all", "rfm"} or sequence of str
        ``"default"``: every feature of :data:`FEATURES` the data provides except
        ``satisfaction``; ``"all"``: with it; ``"rfm"``: tenure (recency proxy), products held
        (frequency) and total revenue (monetary); or a list of names.

    Returns
    -------
    (DataFrame, notes)
        One float column per available feature (index = frame index) and notes naming each
        requested feature that was left out, or computed from a fallback.

    Examples
    --------
    >>> df = pd.DataFrame({"Tenure in Months": [1, 40], "Monthly Charge": [20.0, 90.0]})
    >>> segment_features(df)[0].columns.tolist()
    ['tenure', 'monthly_charge']
    """
    if isinstance(features, str):
        if features == "default":
            wanted = [f for f in FEATURES if f != "satisfaction"]
        elif features == "all":
            wanted = list(FEATURES)
        elif features == "rfm":
            wanted = list(RFM_FEATURES)
        else:
            raise CJOError(
                f"features={features!r}: use 'default', 'rfm' or a list of {list(FEATURES)}."
            )
    else:
        wanted = list(features)
        unknown = [f for f in wanted if f not in FEATURES]
        if unknown or not wanted:
            raise CJOError(f"unknown features {unknown or wanted}; choose from {list(FEATURES)}.")
    n = len(frame)
    proba = check_proba(churn_proba, n)
    out: dict[str, np.ndarray] = {}
    notes: list[str] = []
    explicit = not isinstance(features, str)
    for name in wanted:
        values: np.ndarray | None = None
        if name in _COLUMNS:
            col = _COLUMNS[name]
            if col in frame.columns:
                values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
            else:
                notes.append(f"{name} left out: no '{col}' column.")
        elif name == "total_revenue":
            if "Total Revenue" in frame.columns:
                values = frame["Total Revenue"].to_numpy(dtype=np.float64)
            elif "Total Charges" in frame.columns:
                values = pd.to_numeric(frame["Total Charges"], errors="coerce").to_numpy(
                    dtype=np.float64
                )
                notes.append("total_revenue uses Total Charges (no Total Revenue column).")
            else:
                notes.append("total_revenue left out: no Total Revenue or Total Charges.")
        elif name == "n_products":
            values, note = _n_products(frame)
            if note:
                notes.append(note)
        elif name == "churn_proba":
            if proba is not None:
                values = proba
            elif explicit:
                notes.append("churn_proba left out: no predicted churn probabilities given.")
        if values is not None:
            bad = ~np.isfinite(values)
            if bad.any():
                rows = np.flatnonzero(bad)[:5] + 1
                raise CJOError(
                    f"feature {name} has {int(bad.sum())} missing or non-numeric values "
                    f"(rows {', '.join(map(str, rows))}...). Fix: clean the data or leave "
                    "that feature out."
                )
            out[name] = values
    if not out:
        raise CJOError(
            "no segmentation feature is available in this data; it needs at least Tenure in "
            "Months or Monthly Charge."
        )
    return pd.DataFrame(out, index=frame.index), tuple(notes)


def robust_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale columns to ``(x - median) / (IQR / 1.349)``, clipped to [-5, 5].

    Returns ``(scaled, center, scale)``; a column with zero IQR uses its standard deviation, and
    a constant column scale 1 (it then contributes nothing).
    """
    x = np.asarray(x, dtype=np.float64)
    center = np.median(x, axis=0)
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    scale = (q75 - q25) / 1.349
    std = x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, np.where(std > 1e-12, std, 1.0))
    return np.clip((x - center) / scale, -5.0, 5.0), center, scale


def scaled_features(
    frame: pd.DataFrame,
    *,
    churn_proba: Any = None,
    features: str | Sequence[str] = "default",
) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...]]:
    """:func:`segment_features` and their :func:`robust_scale` ``scaled`` matrix: what is clustered.

    Returns ``(features in raw units, scaled matrix, notes)``.
    """
    feats, notes = segment_features(frame, churn_proba=churn_proba, features=features)
    z, _, _ = robust_scale(feats.to_numpy())
    return feats, z, notes


def rfm_view(frame: pd.DataFrame) -> pd.DataFrame:
    """RFM-style table with documented proxies (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        ``Customer ID``, ``months_since_joining`` (recency proxy = tenure),
        ``products_held`` (frequency), ``referrals`` (when present), ``monetary`` (Total
        Revenue, else Total Charges) and quintile scores ``R``, ``F``, ``M`` in 1..5, where R
        rises with tenure (inverse recency: the longer relationship scores higher), plus
        ``RFM`` = the three digits as text.
    """
    feats, _ = segment_features(
        frame, features=["tenure", "n_products", "referrals", "total_revenue"]
    )
    missing = [f for f in ("tenure", "n_products", "total_revenue") if f not in feats]
    if missing:
        raise CJOError(f"the RFM view needs {missing}, which this data does not provide.")
    out = pd.DataFrame(
        {
            "Customer ID": customer_ids(frame),
            "months_since_joining": feats["tenure"].to_numpy(),
            "products_held": feats["n_products"].to_numpy().astype(np.int64),
            "monetary": feats["total_revenue"].to_numpy(),
        }
    )
    if "referrals" in feats:
        out.insert(3, "referrals", feats["referrals"].to_numpy().astype(np.int64))

    def score(v: pd.Series) -> np.ndarray:
        ranks = v.rank(method="average", pct=True).to_numpy()
        return np.clip(np.ceil(ranks * 5), 1, 5).astype(np.int64)

    out["R"] = score(out["months_since_joining"])
    out["F"] = score(out["products_held"])
    out["M"] = score(out["monetary"])
    out["RFM"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    return out
