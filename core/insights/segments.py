"""Customer segmentation: stable, named segments and the answer to "whom do we contact first?".

The flow is ``segment_features`` (what describes a subscriber) -> :func:`segment` (a
:class:`Segmentation`: labels, names, quality and stability) -> :func:`insights` (per-segment
churn, CLTV, revenue at risk and journey opportunity, plus the "contact first" sentence).

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

Methods
-------
``kmeans``         k over ``k_range`` (default 2..8): among the k whose smallest segment is at
                   least ``min_share`` of customers, the best mean rank of silhouette (on a
                   seeded sample of at most 2,000 customers) and Calinski-Harabasz (ties:
                   higher silhouette, then smaller k). Silhouette alone favours k=2 on most
                   customer data; the rank rule keeps its veto without that bias.
``dbscan``         DBSCAN with ``min_samples = 2 x n_features`` (at least 4); ``eps`` is a
                   percentile (60, 70, 80, 90 or 95) of the distance to the min_samples-th
                   neighbour, chosen like k above among the runs with at most 25% noise;
                   clusters smaller than ``min_share`` become noise. Noise customers get
                   segment id -1 ("unclustered"); the noise share is reported. When no eps
                   yields two segments, one segment plus noise is reported, with a note.
``agglomerative``  Ward linkage on a seeded sample of at most 2,500 customers, every customer
                   then assigned to the nearest sample centroid (O(N)); k chosen as for k-means.
``gmm``            Gaussian mixture (full covariance), k chosen by BIC among admissible k.

Fits use at most 100,000 customers (a seeded sample) and assign the rest, so cost stays linear.
Stability is the adjusted Rand index (ARI) between the reported labels and ``n_stability`` refits,
each on a bootstrap sample with its own seed, assigned back to every customer: mean and min.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress

METHODS: tuple[str, ...] = ("kmeans", "dbscan", "agglomerative", "gmm")
NOISE = -1
NOISE_NAME = "unclustered"

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
_SIL_SAMPLE = 2_000
_WARD_SAMPLE = 2_500
_MAX_FIT = 100_000
_DBSCAN_PERCENTILES = (60, 70, 80, 90, 95)
_MAX_NOISE = 0.25
_MIN_ROWS = 20


# --------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class Segmentation:
    """One segmentation of a customer table.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape (n,)
        Segment id per customer, in the frame's row order; ids are 0..k-1 ordered by size
        (largest first); -1 marks DBSCAN noise.
    customer_ids : numpy.ndarray of str, shape (n,)
        ``Customer ID`` per row (row numbers as text when the column is absent).
    names : dict[int, str]
        Segment id -> name; unique; edit with :func:`rename`, store it with a scenario.
    method, k
        The method and the number of segments (noise excluded).
    silhouette, calinski_harabasz : float or None
        Quality on the scaled features (silhouette on a seeded sample; noise excluded).
    stability : dict
        ``{"ari_mean", "ari_min", "n_runs", "scheme"}``.
    shares : dict[int, float]
        Segment id -> share of customers (noise included under -1 when present).
    profile : pandas.DataFrame
        One row per segment: ``segment_id``, ``name``, ``size``, ``share`` and the mean of each
        feature (raw units).
    features : tuple[str, ...]
        Clustering features used (see :data:`FEATURES`).
    k_scores : pandas.DataFrame
        The k candidates tried: ``k``, ``min_share``, ``admissible``, ``silhouette``,
        ``calinski_harabasz`` and ``bic`` (gmm).
    noise_share : float or None
        Share of noise customers (``dbscan`` only).
    params, seed, notes
        Parameters as called, the seed, and notes (features left out, fallbacks, warnings).
    """

    labels: np.ndarray
    customer_ids: np.ndarray
    names: dict[int, str]
    method: str
    k: int
    silhouette: float | None
    calinski_harabasz: float | None
    stability: dict[str, Any]
    shares: dict[int, float]
    profile: pd.DataFrame
    features: tuple[str, ...]
    k_scores: pd.DataFrame
    noise_share: float | None
    params: dict[str, Any]
    seed: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_customers(self) -> int:
        return len(self.labels)

    @property
    def segment_ids(self) -> list[int]:
        """Segment ids in display order (by size, noise last)."""
        ids = [i for i in sorted(self.names) if i != NOISE]
        return ids + ([NOISE] if NOISE in self.names else [])

    def label_names(self) -> np.ndarray:
        """Segment name per customer."""
        ids = np.array(sorted(self.names), dtype=np.int64)
        names = np.array([self.names[int(i)] for i in ids], dtype=object)
        return names[np.searchsorted(ids, self.labels)]

    def name_shares(self) -> dict[str, float]:
        """Segment name -> share of customers, in display order."""
        return {self.names[i]: self.shares[i] for i in self.segment_ids}

    def to_frame(self) -> pd.DataFrame:
        """``Customer ID``, ``Segment ID``, ``Segment Name`` per customer (the CLI's CSV)."""
        return pd.DataFrame(
            {
                "Customer ID": self.customer_ids,
                "Segment ID": self.labels,
                "Segment Name": self.label_names(),
            }
        )

    def report(self) -> dict[str, Any]:
        """A JSON-friendly summary: method, k, silhouette, stability, segment shares, ..."""
        return {
            "method": self.method,
            "k": self.k,
            "silhouette": _round(self.silhouette),
            "calinski_harabasz": _round(self.calinski_harabasz),
            "stability": {
                k: (_round(v) if isinstance(v, float) else v) for k, v in self.stability.items()
            },
            "segment_shares": {n: round(s, 6) for n, s in self.name_shares().items()},
            "noise_share": _round(self.noise_share),
            "names": {str(i): n for i, n in self.names.items()},
            "features": list(self.features),
            "seed": self.seed,
            "params": self.params,
            "notes": list(self.notes),
        }


def _round(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


# --------------------------------------------------------------------------------------------
# features


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


def _check_proba(churn_proba: Any, n: int) -> np.ndarray | None:
    if churn_proba is None:
        return None
    p = np.asarray(churn_proba, dtype=np.float64).reshape(-1)
    if p.shape != (n,):
        raise CJOError(f"churn_proba has {p.size} values for {n} customers; pass one per row.")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise CJOError("churn_proba must be probabilities in [0, 1] without NaN.")
    return p


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
    proba = _check_proba(churn_proba, n)
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
            "Customer ID": _ids(frame),
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


def _ids(frame: pd.DataFrame) -> np.ndarray:
    if "Customer ID" in frame.columns:
        return frame["Customer ID"].astype(str).to_numpy(dtype=object)
    return np.array([str(i + 1) for i in range(len(frame))], dtype=object)


# --------------------------------------------------------------------------------------------
# methods


def _quiet(fn: Callable[[], Any], notes: list[str]) -> Any:
    """Run ``fn`` turning library warnings (convergence, ...) into one note each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
        if text not in notes:
            notes.append(text)
    return out


def _nearest(z: np.ndarray, centers: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    out = np.empty(len(z), dtype=np.int64)
    c2 = (centers**2).sum(axis=1)
    for s in range(0, len(z), chunk):
        block = z[s : s + chunk]
        d = c2[None, :] - 2.0 * block @ centers.T
        out[s : s + chunk] = d.argmin(axis=1)
    return out


@dataclass
class _Fit:
    labels: np.ndarray
    bic: float | None = None


def _fit(
    method: str, z: np.ndarray, k: int, seed: int, notes: list[str], *, max_fit: int = _MAX_FIT
) -> _Fit:
    """Fit ``method`` with ``k`` segments (ignored by dbscan) and label every row of ``z``."""
    from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    n = len(z)
    cap = {"agglomerative": _WARD_SAMPLE, "dbscan": min(max_fit, 20_000)}.get(method, max_fit)
    fit_idx = np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)
    zf = z[fit_idx]
    if method == "kmeans":
        km = _quiet(lambda: KMeans(k, n_init=3, random_state=seed).fit(zf), notes)
        return _Fit(km.labels_ if n == len(zf) else _nearest(z, km.cluster_centers_))
    if method == "gmm":
        gm = _quiet(
            lambda: GaussianMixture(
                k, covariance_type="full", reg_covar=1e-3, random_state=seed
            ).fit(zf),
            notes,
        )
        labels = _quiet(lambda: gm.predict(z), notes)
        return _Fit(np.asarray(labels, dtype=np.int64), bic=float(gm.bic(zf)))
    if method == "agglomerative":
        ward = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(zf)
        centers = np.vstack([zf[ward.labels_ == c].mean(axis=0) for c in range(k)])
        return _Fit(_nearest(z, centers))
    if method == "dbscan":
        m = max(2 * z.shape[1], 4)
        nn = NearestNeighbors(n_neighbors=min(m, len(zf))).fit(zf)
        kdist = nn.kneighbors(zf)[0][:, -1]
        eps = float(np.percentile(kdist, k))  # for dbscan, k is the k-distance percentile
        eps = eps if eps > 0 else 1e-6
        db = DBSCAN(eps=eps, min_samples=m).fit(zf)
        if len(zf) == n:
            labels = db.labels_.astype(np.int64)
        else:  # border rule: within eps of a core sample -> its cluster, else noise
            core = db.core_sample_indices_
            labels = np.full(n, NOISE, dtype=np.int64)
            if len(core):
                d, j = NearestNeighbors(n_neighbors=1).fit(zf[core]).kneighbors(z)
                near = d[:, 0] <= eps
                labels[near] = db.labels_[core][j[near, 0]]
        return _Fit(labels)
    raise CJOError(f"unknown method {method!r}; choose one of {list(METHODS)}.")


def _canonical(labels: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..k-1 by size (largest first; ties by centroid), keeping noise -1."""
    ids = [c for c in np.unique(labels) if c != NOISE]
    key = sorted(
        ids,
        key=lambda c: (-int((labels == c).sum()), tuple(np.round(z[labels == c].mean(axis=0), 9))),
    )
    out = np.full_like(labels, NOISE)
    for new, old in enumerate(key):
        out[labels == old] = new
    return out


def _drop_small(labels: np.ndarray, min_share: float) -> tuple[np.ndarray, int]:
    n = len(labels)
    out = labels.copy()
    dropped = 0
    for c in np.unique(labels):
        if c != NOISE and (labels == c).sum() < min_share * n:
            out[labels == c] = NOISE
            dropped += 1
    return out, dropped


def _smallest_share(labels: np.ndarray) -> float:
    counts = np.bincount(labels[labels != NOISE]) if (labels != NOISE).any() else np.array([0])
    counts = counts[counts > 0]
    return float(counts.min() / len(labels)) if len(counts) else 0.0


def _quality(z: np.ndarray, labels: np.ndarray, seed: int) -> tuple[float | None, float | None]:
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    keep = labels != NOISE
    zk, lk = z[keep], labels[keep]
    if len(np.unique(lk)) < 2 or len(lk) < 3:
        return None, None
    rng = np.random.default_rng([seed, 1])
    idx = rng.choice(len(zk), _SIL_SAMPLE, replace=False) if len(zk) > _SIL_SAMPLE else slice(None)
    ls = lk[idx]
    sil = None
    if 2 <= len(np.unique(ls)) <= len(ls) - 1:
        sil = float(silhouette_score(zk[idx], ls))
    return sil, float(calinski_harabasz_score(zk, lk))


def _stability(
    method: str,
    z: np.ndarray,
    k: int,
    reference: np.ndarray,
    seed: int,
    n_runs: int,
    min_share: float,
    notes: list[str],
    tick: Callable[[], None],
) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score

    scores = []
    n = len(z)
    for r in range(n_runs):
        rng = np.random.default_rng([seed, 2, r])
        boot = rng.choice(n, min(n, _MAX_FIT), replace=True)
        run_seed = int(rng.integers(2**31 - 1))
        fit = _fit(method, z[boot], k, run_seed, notes)
        # assign every customer to the bootstrap fit's nearest cluster centroid
        zb, lb = z[boot], fit.labels
        if method == "dbscan":
            lb, _ = _drop_small(lb, min_share)
        ids = [c for c in np.unique(lb) if c != NOISE]
        if not ids:
            scores.append(0.0)
            tick()
            continue
        if method == "dbscan":
            from sklearn.neighbors import NearestNeighbors

            d, j = NearestNeighbors(n_neighbors=1).fit(zb).kneighbors(z)
            labels = lb[j[:, 0]]
        else:
            centers = np.vstack([zb[lb == c].mean(axis=0) for c in ids])
            labels = np.asarray(ids)[_nearest(z, centers)]
        scores.append(float(adjusted_rand_score(reference, labels)))
        tick()
    return {
        "ari_mean": float(np.mean(scores)) if scores else float("nan"),
        "ari_min": float(np.min(scores)) if scores else float("nan"),
        "n_runs": n_runs,
        "scheme": "bootstrap refits with their own seeds, every customer reassigned; ARI vs "
        "the reported labels",
    }


# --------------------------------------------------------------------------------------------
# names

_THRESHOLD = 0.5
_RISK_RATIO = 1.3


def _traits(profile_z: Mapping[str, float]) -> list[tuple[float, str]]:
    """(strength, word) candidates of one segment, strongest first."""
    cand: list[tuple[float, str]] = []
    value = profile_z.get("cltv", profile_z.get("total_revenue"))
    if value is not None and abs(value) >= _THRESHOLD:
        cand.append((abs(value), "high-value" if value > 0 else "low-value"))
    t = profile_z.get("tenure")
    if t is not None and abs(t) >= _THRESHOLD:
        cand.append((abs(t), "loyal" if t > 0 else "new"))
    m = profile_z.get("monthly_charge")
    if m is not None and abs(m) >= _THRESHOLD:
        cand.append((abs(m), "premium-plan" if m > 0 else "budget"))
    p = profile_z.get("n_products")
    if p is not None and abs(p) >= _THRESHOLD:
        cand.append((abs(p), "multi-product" if p > 0 else "few-product"))
    r = profile_z.get("referrals")
    if r is not None and r >= _THRESHOLD:
        cand.append((r, "referrers"))
    s = profile_z.get("satisfaction")
    if s is not None and abs(s) >= _THRESHOLD:
        cand.append((abs(s), "satisfied" if s > 0 else "dissatisfied"))
    cand.sort(key=lambda c: (-round(c[0], 9), c[1]))
    return cand


_ORDER = (
    "dissatisfied",
    "satisfied",
    "high-value",
    "low-value",
    "loyal",
    "new",
    "multi-product",
    "few-product",
    "premium-plan",
    "budget",
    "referrers",
)


def _compose(words: list[str], at_risk: bool) -> str:
    words = sorted(words, key=_ORDER.index)  # the strongest words, in a fixed reading order
    if "premium-plan" in words and at_risk:  # paying a lot and leaving
        rest = [w for w in words if w != "premium-plan"]
        return " ".join(["price-sensitive", *rest])
    if not words:
        return "at-risk mainstream" if at_risk else "mainstream"
    base = " ".join(words)
    return f"{base} and at risk" if at_risk else base


def name_segments(
    profile: pd.DataFrame,
    overall_mean: Mapping[str, float],
    overall_std: Mapping[str, float],
    risk: Mapping[int, float] | None = None,
    overall_risk: float | None = None,
) -> dict[int, str]:
    """Deterministic, unique names from segment mean profiles.

    Each feature mean is compared with the population (z = (segment mean - mean) / std); a
    |z| >= 0.5 gives a word (high-/low-value from CLTV or revenue, loyal/new from tenure,
    premium-plan/budget from the monthly charge, multi-/few-product, referrers,
    satisfied/dissatisfied); the two strongest are kept. A segment whose churn (predicted, else
    observed) is at least 1.3 x the population's is "at risk" ("price-sensitive" when it also
    pays a premium). Colliding names get the next strongest word, then a number.
    """
    info: dict[int, tuple[list[str], bool]] = {}
    for _, row in profile.iterrows():
        sid = int(row["segment_id"])
        if sid == NOISE:
            continue
        z = {
            f: (float(row[f]) - overall_mean[f]) / overall_std[f]
            for f in overall_mean
            if overall_std[f] > 0
        }
        at_risk = bool(
            risk is not None
            and overall_risk is not None
            and overall_risk > 0
            and risk.get(sid, 0.0) >= _RISK_RATIO * overall_risk
        )
        info[sid] = ([w for _, w in _traits(z)], at_risk)
    base = {sid: _compose(words[:2], at_risk) for sid, (words, at_risk) in info.items()}
    final: dict[int, str] = {}
    for sid in sorted(info):  # ids are ordered by size: the largest keeps the short name
        words, at_risk = info[sid]
        name = base[sid]
        if name in final.values():
            for extra in range(3, len(words) + 1):
                cand = _compose(words[:extra], at_risk)
                if cand not in final.values() and cand not in base.values():
                    name = cand
                    break
            stem, i = name, 2
            while name in final.values():
                name = f"{stem} ({i})"
                i += 1
        final[sid] = name
    if (profile["segment_id"].astype(int) == NOISE).any():
        final[NOISE] = NOISE_NAME
    return final


def rename(segmentation: Segmentation, mapping: Mapping[str | int, str]) -> Segmentation:
    """Return ``segmentation`` with segments renamed (``{old name or id: new name}``).

    Raises :class:`CJOError` when an old name is unknown, a new name is empty, or names would
    collide. The names dict (``.names``) is what a scenario stores.

    Examples
    --------
    >>> seg = rename(seg, {"new and at risk": "Rescue"})  # doctest: +SKIP
    """
    names = dict(segmentation.names)
    by_name = {v: k for k, v in names.items()}
    for old, new in mapping.items():
        sid = old if isinstance(old, int) and old in names else by_name.get(str(old))
        if sid is None:
            raise CJOError(f"no segment named {old!r}; segments are {list(names.values())}.")
        new = str(new).strip()
        if not new:
            raise CJOError(f"the new name for {old!r} is empty.")
        names[int(sid)] = new
    if len(set(names.values())) != len(names):
        dup = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
        raise CJOError(f"segment names must be unique; {dup} would be used twice.")
    profile = segmentation.profile.copy()
    profile["name"] = profile["segment_id"].map(names)
    return dataclasses.replace(segmentation, names=names, profile=profile)


def apply_names(segmentation: Segmentation, names: Mapping[Any, str]) -> Segmentation:
    """Restore names stored with a scenario (``{segment id: name}``, ids may be strings)."""
    return rename(segmentation, {int(k): v for k, v in names.items()})


# --------------------------------------------------------------------------------------------
# segment


def _check_k(k: Any, method: str, n: int) -> tuple[int, ...] | None:
    if isinstance(k, str):
        if k.strip().lower() == "auto":
            return None
        try:
            k = int(k)
        except ValueError:
            raise CJOError(f"k={k!r}: use 'auto' or a whole number >= 2.") from None
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise CJOError(f"k={k!r}: use 'auto' or a whole number >= 2.")
    if method == "dbscan":
        raise CJOError("dbscan finds the number of segments itself; use k='auto'.")
    if k < 2 or k > max(2, n // 2):
        raise CJOError(f"k={k}: choose 2 to {max(2, n // 2)} segments for {n} customers.")
    return (int(k),)


def segment(
    frame: pd.DataFrame,
    *,
    method: str = "kmeans",
    k: int | str = "auto",
    min_share: float = 0.05,
    random_state: int = 0,
    churn_proba: Any = None,
    opportunity: Any = None,
    features: str | Sequence[str] = "default",
    k_range: Sequence[int] = range(2, 9),
    n_stability: int = 5,
    n_threads: int | None = 1,
    progress: Progress | None = None,
) -> Segmentation:
    """Segment customers into stable, named groups.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical customer frame (:func:`core.data.io.load` ``.frame``).
    method : {"kmeans", "dbscan", "agglomerative", "gmm"}
    k : "auto" or int
        Number of segments; "auto" chooses over ``k_range`` (silhouette for kmeans and
        agglomerative, BIC for gmm); dbscan needs "auto".
    min_share : float
        Smallest allowed segment share (default 5%). A k with a smaller segment is rejected
        (auto) or refused with an error (fixed k); dbscan turns such clusters into noise.
        ``min_share=0`` disables the rule.
    random_state : int
        Seed: the same data and seed give identical labels and names.
    churn_proba : array-like, optional
        Predicted churn probability per row: a clustering feature, and the "at risk" signal of
        the names (otherwise the observed ``Churn Value`` is used for names, never to cluster).
    opportunity : array-like, optional
        Expected journey value per customer (from the optimizer); only *described* in the
        profile (column ``opportunity``), never a clustering input.
    features : {"default", "all", "rfm"} or sequence of str
        See :func:`segment_features`. The default leaves Satisfaction Score out (as
        :func:`core.data.schema.feature_columns` does): in the IBM sample scores 1-2 always churn, so
        clustering on it yields a segment that is the churn label in disguise. Use "all" to
        include it.
    k_range : sequence of int
        Candidates for k="auto" (default 2..8).
    n_stability : int
        Bootstrap refits for the stability ARI (0 skips it).
    n_threads : int or None
        Threads for the numerical libraries during the call (default 1: these small dense
        problems run faster single-threaded, and OpenMP spin-waiting is very costly on busy
        machines); None leaves the libraries' defaults.
    progress : callable(done, total), optional
        Progress callback.

    Returns
    -------
    Segmentation

    Examples
    --------
    >>> from core import synthetic
    >>> customers, _ = synthetic.generate_frame(600, seed=1)  # doctest: +SKIP
    >>> seg = segment(customers, k=3)  # doctest: +SKIP
    >>> sorted(seg.shares) == [0, 1, 2]  # doctest: +SKIP
    True
    """
    import sklearn.cluster  # noqa: F401  (load its OpenMP runtime so the limit applies to it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads):
        return _segment(
            frame,
            method=method,
            k=k,
            min_share=min_share,
            random_state=random_state,
            churn_proba=churn_proba,
            opportunity=opportunity,
            features=features,
            k_range=k_range,
            n_stability=n_stability,
            progress=progress,
        )


def _segment(
    frame: pd.DataFrame,
    *,
    method: str = "kmeans",
    k: int | str = "auto",
    min_share: float = 0.05,
    random_state: int = 0,
    churn_proba: Any = None,
    opportunity: Any = None,
    features: str | Sequence[str] = "default",
    k_range: Sequence[int] = range(2, 9),
    n_stability: int = 5,
    progress: Progress | None = None,
) -> Segmentation:
    if method not in METHODS:
        raise CJOError(f"unknown method {method!r}; choose one of {list(METHODS)}.")
    if not isinstance(frame, pd.DataFrame):
        raise CJOError("segment() needs a pandas DataFrame in the canonical schema.")
    n = len(frame)
    if n < _MIN_ROWS:
        raise CJOError(f"{n} customers are too few to segment; need at least {_MIN_ROWS}.")
    if not 0 <= float(min_share) < 0.5:
        raise CJOError(f"min_share={min_share}: choose a share in [0, 0.5).")
    fixed = _check_k(k, method, n)
    seed = int(random_state)
    opp = None
    if opportunity is not None:
        opp = np.asarray(opportunity, dtype=np.float64).reshape(-1)
        if opp.shape != (n,):
            raise CJOError(f"opportunity has {opp.size} values for {n} customers.")
    feats, feat_notes = segment_features(frame, churn_proba=churn_proba, features=features)
    notes = list(feat_notes)
    z, _, _ = robust_scale(feats.to_numpy())

    if method == "dbscan":
        candidates: tuple[int, ...] = _DBSCAN_PERCENTILES
    elif fixed is not None:
        candidates = fixed
    else:
        candidates = tuple(sorted({int(c) for c in k_range if 2 <= int(c) <= n // 2}))
        if not candidates:
            raise CJOError(f"k_range {list(k_range)} has no usable k for {n} customers.")
    total = len(candidates) + n_stability
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    rows = []
    fits: dict[int, np.ndarray] = {}
    for c in candidates:
        fit = _fit(method, z, c, seed, notes)
        labels, dropped = fit.labels, 0
        if method == "dbscan":
            labels, dropped = _drop_small(labels, min_share)
        labels = _canonical(labels, z)
        fits[c] = labels
        smallest = _smallest_share(labels)
        n_seg = int(len(np.unique(labels[labels != NOISE])))
        noise_c = float((labels == NOISE).mean())
        sil, ch = _quality(z, labels, seed) if n_seg >= 2 else (None, None)
        row: dict[str, Any] = {
            "k": n_seg if method == "dbscan" else c,
            "min_share": smallest,
            "admissible": (smallest >= min_share or min_share == 0) and n_seg >= 1,
            "silhouette": sil,
            "calinski_harabasz": ch,
            "bic": fit.bic,
        }
        if method == "dbscan":
            row.update(eps_percentile=c, noise_share=noise_c, small_clusters_to_noise=dropped)
            row["admissible"] = row["admissible"] and noise_c <= _MAX_NOISE
        rows.append(row)
        tick()
    k_scores = pd.DataFrame(rows)
    ok = k_scores[k_scores["admissible"]]
    if method == "dbscan" and (ok["k"] >= 2).any():
        ok = ok[ok["k"] >= 2]
    elif method == "dbscan" and not ok.empty:
        ok = ok.sort_values(["min_share", "eps_percentile"], ascending=[False, True]).iloc[:1]
        notes.append(
            "dbscan found no density structure with two or more segments at any eps; one "
            "segment plus noise is reported. Use kmeans for a partition."
        )
    if ok.empty:
        if fixed is not None:
            raise CJOError(
                f"k={fixed[0]} with {method} gives a segment of "
                f"{k_scores['min_share'].iloc[0]:.1%} of customers, below min_share="
                f"{min_share:.0%}. Fix: choose a smaller k, or set min_share=0 to allow it."
            )
        if method == "dbscan":
            raise CJOError(
                f"dbscan found no eps giving a cluster of at least {min_share:.0%} of customers "
                f"with at most {_MAX_NOISE:.0%} noise. Fix: lower min_share or use kmeans."
            )
        raise CJOError(
            f"no k in {list(candidates)} gives segments all >= {min_share:.0%} of customers with "
            f"{method}. Fix: lower min_share (0 disables it) or try another method."
        )
    if method == "gmm" and len(ok) > 1:
        best = ok.sort_values(["bic", "k"]).iloc[0]
    elif len(ok) > 1:  # best mean rank of silhouette and Calinski-Harabasz
        sil_s = ok["silhouette"].astype(float).fillna(-2.0)
        ch_s = ok["calinski_harabasz"].astype(float).fillna(0.0)
        ranked = ok.assign(_r=sil_s.rank(ascending=False) + ch_s.rank(ascending=False), _s=sil_s)
        best = ranked.sort_values(["_r", "_s", "k"], ascending=[True, False, True]).iloc[0]
    else:
        best = ok.iloc[0]
    chosen = candidates[int(np.flatnonzero(k_scores.index == best.name)[0])]
    labels = fits[chosen]
    if method == "dbscan":
        chosen_row = k_scores.loc[best.name]
        eps_note = (
            f"dbscan: eps = {int(chosen)}th percentile of the {max(2 * z.shape[1], 4)}-distance"
        )
        if int(chosen_row["small_clusters_to_noise"]):
            eps_note += (
                f"; {int(chosen_row['small_clusters_to_noise'])} cluster(s) below "
                f"min_share={min_share:.0%} became noise"
            )
        notes.append(eps_note + ".")
    k_final = int(len(np.unique(labels[labels != NOISE])))

    stability = _stability(method, z, chosen, labels, seed, n_stability, min_share, notes, tick)

    # describe
    churn_desc: dict[int, float] | None = None
    overall_risk: float | None = None
    if churn_proba is not None:
        risk_vec = np.asarray(churn_proba, dtype=np.float64)
    elif "Churn Value" in frame.columns:
        risk_vec = frame["Churn Value"].to_numpy(dtype=np.float64)
    else:
        risk_vec = None
    shares: dict[int, float] = {}
    prof_rows = []
    feat_values = feats.to_numpy()
    for sid in sorted(np.unique(labels).tolist(), key=lambda s: (s == NOISE, s)):
        mask = labels == sid
        shares[int(sid)] = float(mask.mean())
        prow: dict[str, Any] = {"segment_id": int(sid), "size": int(mask.sum())}
        prow["share"] = shares[int(sid)]
        for j, f in enumerate(feats.columns):
            prow[f] = float(feat_values[mask, j].mean())
        if opp is not None:
            prow["opportunity"] = float(opp[mask].mean())
        prof_rows.append(prow)
    profile = pd.DataFrame(prof_rows)
    if risk_vec is not None:
        churn_desc = {int(s): float(risk_vec[labels == s].mean()) for s in shares}
        overall_risk = float(risk_vec.mean())
    names = name_segments(
        profile,
        {f: float(feats[f].mean()) for f in feats.columns},
        {f: float(feats[f].std(ddof=0)) for f in feats.columns},
        churn_desc,
        overall_risk,
    )
    profile.insert(1, "name", profile["segment_id"].map(names))
    noise = float((labels == NOISE).mean()) if method == "dbscan" else None
    if method == "dbscan":
        notes.append(f"dbscan: noise share {noise:.1%} (segment id -1, '{NOISE_NAME}').")
    sil = best["silhouette"]
    ch = best["calinski_harabasz"]
    return Segmentation(
        labels=labels,
        customer_ids=_ids(frame),
        names=names,
        method=method,
        k=k_final,
        silhouette=None if sil is None or pd.isna(sil) else float(sil),
        calinski_harabasz=None if ch is None or pd.isna(ch) else float(ch),
        stability=stability,
        shares=shares,
        profile=profile,
        features=tuple(feats.columns),
        k_scores=k_scores,
        noise_share=noise,
        params={
            "method": method,
            "k": k if isinstance(k, str) else int(k),
            "min_share": float(min_share),
            "features": features if isinstance(features, str) else list(features),
            "k_range": list(candidates),
            "n_stability": n_stability,
            "churn_proba": churn_proba is not None,
        },
        seed=seed,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# insights


def _product_labels() -> dict[str, str]:
    from core.data.catalog import load_catalog

    labels = {"offer": "Promotional offer"}
    for name in ("seed", "full"):
        labels.update({p.key: p.label for p in load_catalog(name).products})
    return labels


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def insights(
    frame: pd.DataFrame,
    seg: Segmentation,
    *,
    churn_proba: Any = None,
    journey_value: Any = None,
    first_offer: Any = None,
    horizon_months: int = 12,
) -> dict[str, Any]:
    """What each segment is worth and whom to contact first, with what.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame that was segmented (same rows, same order).
    seg : Segmentation
    churn_proba : array-like, optional
        Predicted churn probability per customer. Revenue at risk is
        ``churn probability x Monthly Charge x horizon_months`` summed over the segment; without
        a prediction the observed ``Churn Value`` (0/1) stands in for the probability, so the
        figure is then the revenue of the customers who actually left, over the horizon.
    journey_value : array-like, optional
        Expected value of each customer's recommended journey (from the optimizer, any unit).
    first_offer : array-like of str, optional
        Recommended first product per customer (product key or label; empty/None = nothing).
    horizon_months : int
        Horizon of the revenue at risk (default 12).

    Returns
    -------
    dict
        ``segments`` DataFrame (segment_id, name, size, share, churn_rate, predicted_churn,
        avg_cltv, avg_satisfaction, avg_monthly_charge, revenue_at_risk, opportunity_total,
        opportunity_per_customer, top_first_offer); ``crosstab`` (segment x first offer counts,
        or None); ``segment_ranking`` (names, best first); ``customer_ranking`` DataFrame
        (Customer ID, segment, score, first_offer; best first); ``ranking_basis``;
        ``contact_first`` (the sentence) and ``notes``.

    Segments are ranked by expected journey opportunity per customer when ``journey_value`` is
    given (ties: total), else by revenue at risk per customer. Customers are ranked by their
    journey value, else by their own revenue at risk. Noise customers (dbscan) are ranked but
    never chosen as the segment to contact first.
    """
    n = len(frame)
    if n != seg.n_customers:
        raise CJOError(
            f"the frame has {n} rows but the segmentation {seg.n_customers}; pass the same frame."
        )
    if horizon_months <= 0:
        raise CJOError(f"horizon_months={horizon_months}: use a positive number of months.")
    notes: list[str] = []
    proba = _check_proba(churn_proba, n)
    observed = (
        frame["Churn Value"].to_numpy(dtype=np.float64) if "Churn Value" in frame.columns else None
    )
    risk_p = proba if proba is not None else observed
    if proba is None and observed is not None:
        notes.append(
            "revenue at risk uses the observed churn (Churn Value) as the probability: no "
            "predicted churn was given."
        )
    elif risk_p is None:
        notes.append("revenue at risk unavailable: no churn prediction and no Churn Value.")
    monthly = frame["Monthly Charge"].to_numpy(dtype=np.float64)
    at_risk = risk_p * monthly * horizon_months if risk_p is not None else None
    value = None
    if journey_value is not None:
        value = np.asarray(journey_value, dtype=np.float64).reshape(-1)
        if value.shape != (n,) or not np.isfinite(value).all():
            raise CJOError(f"journey_value needs {n} finite numbers, one per customer.")
    offers = None
    if first_offer is not None:
        labels_map = _product_labels()
        raw = pd.Series(np.asarray(first_offer, dtype=object).reshape(-1))
        if len(raw) != n:
            raise CJOError(f"first_offer has {len(raw)} entries for {n} customers.")
        offers = raw.map(
            lambda v: "(none)" if v is None or v == "" or pd.isna(v) else labels_map.get(v, str(v))
        )
    cltv = frame["CLTV"].to_numpy(dtype=np.float64) if "CLTV" in frame.columns else None
    sat = (
        frame["Satisfaction Score"].to_numpy(dtype=np.float64)
        if "Satisfaction Score" in frame.columns
        else None
    )
    names = seg.label_names()
    rows = []
    for sid in seg.segment_ids:
        mask = seg.labels == sid
        size = int(mask.sum())
        row: dict[str, Any] = {
            "segment_id": sid,
            "name": seg.names[sid],
            "size": size,
            "share": size / n,
            "churn_rate": float(observed[mask].mean()) if observed is not None else np.nan,
            "predicted_churn": float(proba[mask].mean()) if proba is not None else np.nan,
            "avg_cltv": float(cltv[mask].mean()) if cltv is not None else np.nan,
            "avg_satisfaction": float(sat[mask].mean()) if sat is not None else np.nan,
            "avg_monthly_charge": float(monthly[mask].mean()),
            "revenue_at_risk": float(at_risk[mask].sum()) if at_risk is not None else np.nan,
            "opportunity_total": float(value[mask].sum()) if value is not None else np.nan,
            "opportunity_per_customer": float(value[mask].mean()) if value is not None else np.nan,
            "top_first_offer": None,
        }
        if offers is not None:
            counts = offers[mask].value_counts()
            counts = counts.drop("(none)", errors="ignore")
            if len(counts):
                top = counts.max()
                row["top_first_offer"] = sorted(counts.index[counts == top])[0]
        rows.append(row)
    table = pd.DataFrame(rows)
    ranked = table[table["segment_id"] != NOISE].copy()
    if value is not None:
        basis = "expected journey opportunity per customer"
        ranked = ranked.sort_values(
            ["opportunity_per_customer", "opportunity_total", "segment_id"],
            ascending=[False, False, True],
        )
        score = value
    elif at_risk is not None:
        basis = "revenue at risk per customer (no journey values given)"
        ranked = ranked.assign(_r=ranked["revenue_at_risk"] / ranked["size"]).sort_values(
            ["_r", "segment_id"], ascending=[False, True]
        )
        score = at_risk
    else:
        basis = "size (no journey values and no churn information given)"
        ranked = ranked.sort_values(["size", "segment_id"], ascending=[False, True])
        score = np.zeros(n)
    customers = pd.DataFrame({"Customer ID": seg.customer_ids, "segment": names, "score": score})
    if offers is not None:
        customers["first_offer"] = offers.to_numpy()
    customers = customers.iloc[np.lexsort((np.arange(n), -score))].reset_index(drop=True)
    crosstab = None
    if offers is not None:
        crosstab = pd.crosstab(pd.Series(names, name="segment"), offers.rename("first_offer"))
        order = [seg.names[s] for s in seg.segment_ids if seg.names[s] in crosstab.index]
        crosstab = crosstab.loc[order]
    sentence = _contact_first(
        ranked.iloc[0] if len(ranked) else None, value, at_risk, horizon_months
    )
    return {
        "segments": table,
        "crosstab": crosstab,
        "segment_ranking": ranked["name"].tolist(),
        "customer_ranking": customers,
        "ranking_basis": basis,
        "contact_first": sentence,
        "horizon_months": horizon_months,
        "notes": notes,
    }


def _contact_first(
    top: pd.Series | None, value: np.ndarray | None, at_risk: np.ndarray | None, horizon: int
) -> str:
    if top is None:
        return "Contact first: no segment (every customer is noise); try another method."
    offer = top["top_first_offer"] or "(no first offer given: run the optimizer)"
    parts = [f"Contact first: {top['name']}, {int(top['size']):,} customers, offer {offer} first"]
    if value is not None:
        parts.append(
            f": expected journey value {_fmt(top['opportunity_per_customer'])} per customer "
            f"({_fmt(top['opportunity_total'])} in total)"
        )
    if at_risk is not None and pd.notna(top["revenue_at_risk"]):
        sep = "; " if value is not None else ": "
        parts.append(
            f"{sep}{_fmt(top['revenue_at_risk'])} of revenue at risk over {horizon} months"
        )
    return "".join(parts) + "."


def projection_2d(
    frame: pd.DataFrame,
    seg: Segmentation,
    random_state: int = 0,
    *,
    churn_proba: Any = None,
    max_points: int = 5_000,
) -> pd.DataFrame:
    """PCA 2-D coordinates of the scaled features, for a scatter coloured by segment.

    Returns a DataFrame ``Customer ID``, ``x``, ``y``, ``segment`` (name), ``segment_id``, with
    at most ``max_points`` customers: a seeded sample stratified by segment (each segment keeps
    its share). Pass ``churn_proba`` again when the segmentation used it.
    """
    from sklearn.decomposition import PCA

    if len(frame) != seg.n_customers:
        raise CJOError("projection_2d needs the frame that was segmented (same rows).")
    if "churn_proba" in seg.features and churn_proba is None:
        raise CJOError("this segmentation used churn_proba; pass it to projection_2d too.")
    feats, _ = segment_features(frame, churn_proba=churn_proba, features=list(seg.features))
    z, _, _ = robust_scale(feats.to_numpy())
    n = len(z)
    rng = np.random.default_rng([int(random_state), 3])
    if n > max_points:
        keep = []
        for sid in seg.segment_ids:
            idx = np.flatnonzero(seg.labels == sid)
            m = max(1, round(max_points * len(idx) / n))
            keep.append(rng.choice(idx, min(m, len(idx)), replace=False))
        take = np.sort(np.concatenate(keep))[:max_points]
    else:
        take = np.arange(n)
    if z.shape[1] >= 2:
        xy = PCA(n_components=2, random_state=int(random_state)).fit(z).transform(z[take])
    else:
        xy = np.column_stack([z[take, 0], np.zeros(len(take))])
    return pd.DataFrame(
        {
            "Customer ID": seg.customer_ids[take],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "segment": seg.label_names()[take],
            "segment_id": seg.labels[take],
        }
    )


def distributions(
    frame: pd.DataFrame,
    seg: Segmentation,
    *,
    churn_proba: Any = None,
    max_points: int = 5_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Long table ``segment``, ``factor``, ``value`` of the key factors, for box plots.

    Factors: CLTV, predicted churn (if given), Satisfaction Score, Monthly Charge and Tenure, in
    that order, whichever exist; sampled to at most ``max_points`` customers (seeded).
    """
    cols = {"CLTV": "CLTV", "Satisfaction Score": "Satisfaction"}
    data: dict[str, np.ndarray] = {}
    if "CLTV" in frame.columns:
        data["CLTV"] = frame["CLTV"].to_numpy(dtype=np.float64)
    if churn_proba is not None:
        data["Predicted churn"] = _check_proba(churn_proba, len(frame))  # type: ignore[assignment]
    for col, label in (
        ("Satisfaction Score", cols["Satisfaction Score"]),
        ("Monthly Charge", "Monthly charge"),
        ("Tenure in Months", "Tenure (months)"),
    ):
        if col in frame.columns:
            data[label] = frame[col].to_numpy(dtype=np.float64)
    n = len(frame)
    rng = np.random.default_rng([int(random_state), 4])
    take = np.sort(rng.choice(n, max_points, replace=False)) if n > max_points else np.arange(n)
    names = seg.label_names()[take]
    parts = [
        pd.DataFrame({"segment": names, "factor": label, "value": values[take]})
        for label, values in data.items()
    ]
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True, eq=False)
class SegmentsPage:
    """Everything the dashboard's Segments page draws (see :func:`page_data`)."""

    segmentation: Segmentation
    sizes: pd.DataFrame  # segment, size, share
    profile: pd.DataFrame
    k_scores: pd.DataFrame
    distributions: pd.DataFrame  # segment, factor, value (box plots)
    projection: pd.DataFrame  # x, y, segment (scatter)
    insights: dict[str, Any]
    report: dict[str, Any]


def page_data(
    frame: pd.DataFrame,
    *,
    method: str = "kmeans",
    k: int | str = "auto",
    min_share: float = 0.05,
    random_state: int = 0,
    names: Mapping[int | str, str] | None = None,
    churn_proba: Any = None,
    journey_value: Any = None,
    first_offer: Any = None,
    horizon_months: int = 12,
    progress: Progress | None = None,
) -> SegmentsPage:
    """Segment, name (restoring a scenario's ``names``), describe and project in one call."""
    seg = segment(
        frame,
        method=method,
        k=k,
        min_share=min_share,
        random_state=random_state,
        churn_proba=churn_proba,
        opportunity=journey_value,
        progress=progress,
    )
    if names:
        stored = {int(i): v for i, v in names.items() if int(i) in seg.names}
        if stored:
            seg = apply_names(seg, stored)
    ins = insights(
        frame,
        seg,
        churn_proba=churn_proba,
        journey_value=journey_value,
        first_offer=first_offer,
        horizon_months=horizon_months,
    )
    sizes = pd.DataFrame(
        {
            "segment": [seg.names[s] for s in seg.segment_ids],
            "size": [int((seg.labels == s).sum()) for s in seg.segment_ids],
            "share": [seg.shares[s] for s in seg.segment_ids],
        }
    )
    return SegmentsPage(
        segmentation=seg,
        sizes=sizes,
        profile=seg.profile,
        k_scores=seg.k_scores,
        distributions=distributions(frame, seg, churn_proba=churn_proba),
        projection=projection_2d(frame, seg, random_state, churn_proba=churn_proba),
        insights=ins,
        report=seg.report(),
    )


def rename_page(
    page: SegmentsPage,
    names: Mapping[int | str, str],
    frame: pd.DataFrame,
    *,
    churn_proba: Any = None,
    journey_value: Any = None,
    first_offer: Any = None,
    horizon_months: int = 12,
) -> SegmentsPage:
    """``page`` with segments renamed, without segmenting again.

    ``names`` is ``{segment id: name}`` as a scenario stores it (ids may be strings; ids this
    segmentation does not have are ignored). Every table is relabelled and the insights (and so
    the "contact first" sentence) are recomputed with the new names; pass the same
    ``churn_proba``, ``journey_value``, ``first_offer`` and ``horizon_months`` as to
    :func:`page_data`. Raises :class:`CJOError` for empty or duplicate names (see
    :func:`rename`).
    """
    old = page.segmentation
    stored = {int(i): v for i, v in names.items() if int(i) in old.names}
    seg = apply_names(old, stored) if stored else old
    relabel = {old.names[i]: seg.names[i] for i in old.names}
    ins = insights(
        frame,
        seg,
        churn_proba=churn_proba,
        journey_value=journey_value,
        first_offer=first_offer,
        horizon_months=horizon_months,
    )
    return SegmentsPage(
        segmentation=seg,
        sizes=page.sizes.assign(segment=page.sizes["segment"].map(relabel)),
        profile=seg.profile,
        k_scores=page.k_scores,
        distributions=page.distributions.assign(segment=page.distributions["segment"].map(relabel)),
        projection=page.projection.assign(segment=page.projection["segment"].map(relabel)),
        insights=ins,
        report=seg.report(),
    )


def readme_table(ins: Mapping[str, Any]) -> str:
    """Markdown table of :func:`insights` ``segments`` plus the contact-first sentence."""
    t = ins["segments"]
    cols = [
        ("Segment", lambda r: str(r["name"])),
        ("Customers", lambda r: f"{int(r['size']):,}"),
        ("Share", lambda r: f"{r['share']:.1%}"),
        ("Churn rate", lambda r: "n/a" if pd.isna(r["churn_rate"]) else f"{r['churn_rate']:.1%}"),
        ("Avg CLTV", lambda r: "n/a" if pd.isna(r["avg_cltv"]) else f"{r['avg_cltv']:,.0f}"),
        (
            "Avg satisfaction",
            lambda r: "n/a" if pd.isna(r["avg_satisfaction"]) else f"{r['avg_satisfaction']:.2f}",
        ),
        ("Avg monthly", lambda r: f"{r['avg_monthly_charge']:,.2f}"),
        (
            f"Revenue at risk ({ins['horizon_months']} mo)",
            lambda r: "n/a" if pd.isna(r["revenue_at_risk"]) else f"{r['revenue_at_risk']:,.0f}",
        ),
    ]
    if t["opportunity_total"].notna().any():
        cols.append(("Opportunity / customer", lambda r: f"{r['opportunity_per_customer']:,.2f}"))
        cols.append(("Top first offer", lambda r: str(r["top_first_offer"] or "-")))
    head = "| " + " | ".join(c for c, _ in cols) + " |"
    sep = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|"
    body = ["| " + " | ".join(f(r) for _, f in cols) + " |" for _, r in t.iterrows()]
    return "\n".join([head, sep, *body, "", str(ins["contact_first"])])


# --------------------------------------------------------------------------------------------
# CLI
