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
``recency``         Recency Days (retail data; falls back to Days Between Purchases, with a note)
``frequency``       Frequency (orders, or purchases per period)
``monetary``        Monetary (net spend; falls back to CLTV, with a note)

The retail features join the default set only when the data has retail value columns; the
telecom ones are left out silently for retail data that has none of them. ``n_products`` counts
the products of the catalog passed in (``catalog=``), else of the ``full`` catalog. When the data
has no charge, revenue or value column at all (another operator's usage export), the default set
adds the file's own numeric columns (its extra columns), each named as in the file.

Outcome columns (``Churn Value``, ``Churn Label``, ``Customer Status``, ``Churn Score``, ...) are
never clustering inputs; ``Churn Value`` is only used to *describe* segments (observed churn
rate, and revenue at risk when no prediction is given). A feature whose column is absent is left
out with a note, never invented.

Features are scaled robustly: ``(x - median) / (IQR / 1.349)`` (IQR falls back to the standard
deviation, then 1, for near-constant columns), clipped to [-5, 5] so a few extreme customers
cannot own a segment.

RFM view (:func:`rfm_view`)
---------------------------
Retail data (``Recency Days``, ``Frequency``, ``Monetary``; :mod:`core.data.transactions` makes
them from invoice lines) gives the real RFM: R scores recent buyers higher (fewer days since the
last purchase), F more orders, M more net spend. Without ``Recency Days``, ``Days Between
Purchases`` stands in for recency (a shorter gap scores higher; noted).

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
    "recency": ("Recency (days)", "Recency Days, else Days Between Purchases"),
    "frequency": ("Frequency", "Frequency"),
    "monetary": ("Monetary", "Monetary"),
}
RFM_FEATURES: tuple[str, ...] = ("tenure", "n_products", "total_revenue")
#: The retail RFM features (used by ``features="rfm"`` when the data has them).
RETAIL_RFM: tuple[str, ...] = ("recency", "frequency", "monetary")
_TELECOM = ("tenure", "monthly_charge", "total_revenue", "n_products", "referrals")

_COLUMNS = {
    "tenure": "Tenure in Months",
    "monthly_charge": "Monthly Charge",
    "referrals": "Number of Referrals",
    "cltv": "CLTV",
    "satisfaction": "Satisfaction Score",
    "frequency": "Frequency",
    "monetary": "Monetary",
}
_VALUE_COLUMNS = ("Recency Days", "Frequency", "Monetary", "Days Between Purchases")
_MONEY = ("Monthly Charge", "Total Revenue", "Total Charges", "CLTV", "Monetary")
_MAX_EXTRA = 12  # most of the file's own numeric columns the default set adds


def _has_value_columns(frame: pd.DataFrame) -> bool:
    return any(c in frame.columns for c in _VALUE_COLUMNS)


def _extra_numeric(frame: pd.DataFrame) -> list[str]:
    """The file's own numeric columns (not canonical), in frame order.

    Constant columns, columns with missing values and near-copies of a column already taken
    (|correlation| > 0.98, e.g. a charge that is minutes times a rate) are skipped; at most
    ``_MAX_EXTRA`` are kept.
    """
    from core.data import schema

    out: list[str] = []
    taken: list[np.ndarray] = []
    for c in frame.columns:
        if c in schema.BY_NAME or not pd.api.types.is_numeric_dtype(frame[c]):
            continue
        x = frame[c].to_numpy(dtype=np.float64)
        if not np.isfinite(x).all() or np.std(x) == 0:
            continue
        if any(abs(np.corrcoef(x, t)[0, 1]) > 0.98 for t in taken):
            continue
        out.append(c)
        taken.append(x)
        if len(out) == _MAX_EXTRA:
            break
    return out


def _present(name: str, frame: pd.DataFrame, catalog: Any) -> bool:
    """Whether a telecom feature can be read from a retail frame (so it joins the default set)."""
    if name == "n_products":
        return catalog is not None
    if name == "total_revenue":
        return "Total Revenue" in frame.columns or "Total Charges" in frame.columns
    return _COLUMNS.get(name, "") in frame.columns


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


def _n_products(frame: pd.DataFrame, catalog: Any = None) -> tuple[np.ndarray | None, str | None]:
    from core.data.catalog import load_catalog, resolve_catalog

    if catalog is not None:
        catalog = resolve_catalog(catalog)
    else:
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
    catalog: Any = None,
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
        ``satisfaction``; ``"all"``: with it; ``"rfm"``: recency, frequency and monetary
        value for retail data, else tenure (recency proxy), products held (frequency) and total
        revenue (monetary); or a list of names (a name may also be a numeric column of the
        frame).
    catalog : Catalog or str, optional
        The catalog whose products ``n_products`` counts (default: the ``full`` catalog).

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
    retail = _has_value_columns(frame)
    if isinstance(features, str):
        if features in ("default", "all"):
            wanted = [f for f in FEATURES if f != "satisfaction" or features == "all"]
            if not retail:
                wanted = [f for f in wanted if f not in RETAIL_RFM]
            else:
                wanted = [f for f in wanted if f not in _TELECOM or _present(f, frame, catalog)]
            if not any(c in frame.columns for c in _MONEY) and not retail:
                wanted += [c for c in _extra_numeric(frame) if c not in wanted]
        elif features == "rfm":
            wanted = list(RETAIL_RFM if retail else RFM_FEATURES)
        else:
            raise CJOError(
                f"features={features!r}: use 'default', 'rfm' or a list of {list(FEATURES)}."
            )
    else:
        wanted = list(features)
        unknown = [f for f in wanted if f not in FEATURES and f not in frame.columns]
        if unknown or not wanted:
            raise CJOError(f"unknown features {unknown or wanted}; choose from {list(FEATURES)}.")
    n = len(frame)
    proba = check_proba(churn_proba, n)
    out: dict[str, np.ndarray] = {}
    notes: list[str] = []
    explicit = not isinstance(features, str)
    for name in wanted:
        values: np.ndarray | None = None
        if name not in FEATURES:  # a numeric column of the file itself
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        elif name == "recency":
            if "Recency Days" in frame.columns:
                values = frame["Recency Days"].to_numpy(dtype=np.float64)
            elif "Days Between Purchases" in frame.columns:
                gap = frame["Days Between Purchases"].to_numpy(dtype=np.float64)
                longest = np.nanmax(gap) if np.isfinite(gap).any() else 0.0
                values = np.where(np.isfinite(gap), gap, longest)
                notes.append(
                    "recency uses Days Between Purchases (no Recency Days column); customers "
                    "with a single order count as the longest gap."
                )
            else:
                notes.append("recency left out: no Recency Days or Days Between Purchases.")
        elif name == "monetary" and "Monetary" not in frame.columns and "CLTV" in frame.columns:
            values = frame["CLTV"].to_numpy(dtype=np.float64)
            notes.append("monetary uses CLTV (no Monetary column).")
        elif name in _COLUMNS:
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
            values, note = _n_products(frame, catalog)
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
            "Months or Monthly Charge (telecom), or Recency Days, Frequency or Monetary (retail)."
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
    catalog: Any = None,
) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...]]:
    """:func:`segment_features` and their :func:`robust_scale` ``scaled`` matrix: what is clustered.

    Returns ``(features in raw units, scaled matrix, notes)``.
    """
    feats, notes = segment_features(
        frame, churn_proba=churn_proba, features=features, catalog=catalog
    )
    z, _, _ = robust_scale(feats.to_numpy())
    return feats, z, notes


def _quintile(v: pd.Series) -> np.ndarray:
    """Scores 1..5 by quintile of ``v`` (higher values score higher; ties share a score)."""
    ranks = v.rank(method="average", pct=True).to_numpy()
    return np.clip(np.ceil(ranks * 5), 1, 5).astype(np.int64)


def rfm_view(frame: pd.DataFrame, catalog: Any = None) -> pd.DataFrame:
    """RFM table: the real one for retail data, else the documented subscription proxies.

    Returns
    -------
    pandas.DataFrame
        Retail data (``Recency Days`` or ``Days Between Purchases``, ``Frequency``,
        ``Monetary`` or ``CLTV``): ``Customer ID``, ``recency_days``, ``frequency``, ``monetary`` and
        quintile scores ``R`` (fewer days scores higher), ``F``, ``M`` in 1..5.
        Subscription data: ``Customer ID``, ``months_since_joining`` (recency proxy = tenure),
        ``products_held`` (frequency), ``referrals`` (when present), ``monetary`` (Total
        Revenue, else Total Charges) and ``R``, ``F``, ``M``, where R rises with tenure
        (inverse recency: the longer relationship scores higher). Both end with ``RFM``, the
        three digits as text.
    """
    if _has_value_columns(frame):
        feats, _ = segment_features(frame, features=list(RETAIL_RFM))
        missing = [f for f in RETAIL_RFM if f not in feats]
        if missing:
            raise CJOError(
                f"the RFM view needs {missing}: Recency Days (or Days Between Purchases), "
                "Frequency and Monetary (or CLTV)."
            )
        out = pd.DataFrame(
            {
                "Customer ID": customer_ids(frame),
                "recency_days": feats["recency"].to_numpy(),
                "frequency": feats["frequency"].to_numpy(),
                "monetary": feats["monetary"].to_numpy(),
            }
        )
        out["R"] = _quintile(-out["recency_days"])
        out["F"] = _quintile(out["frequency"])
        out["M"] = _quintile(out["monetary"])
        out["RFM"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
        return out
    feats, _ = segment_features(
        frame, features=["tenure", "n_products", "referrals", "total_revenue"], catalog=catalog
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
    out["R"] = _quintile(out["months_since_joining"])
    out["F"] = _quintile(out["products_held"])
    out["M"] = _quintile(out["monetary"])
    out["RFM"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    return out
