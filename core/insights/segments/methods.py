"""The clustering methods: one fit of one method for one k, labelling every customer.

Methods
-------
``kmeans``         k-means (3 seeded initialisations).
``dbscan``         DBSCAN with ``min_samples = 2 x n_features`` (at least 4); ``eps`` is a
                   percentile of the distance to the min_samples-th neighbour (the ``k`` argument
                   carries the percentile); clusters smaller than ``min_share`` become noise.
                   Noise customers get segment id -1 ("unclustered").
``agglomerative``  Ward linkage on a seeded sample of at most 2,500 customers, every customer
                   then assigned to the nearest sample centroid (O(N)).
``gmm``            Gaussian mixture (full covariance); its BIC is returned to choose k.

Fits use at most 100,000 customers (a seeded sample; DBSCAN at most 20,000) and assign the rest,
so cost stays linear. How k is chosen is :mod:`core.insights.segments.fit`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.common.errors import CJOError
from core.insights.segments._base import NOISE

METHODS: tuple[str, ...] = ("kmeans", "dbscan", "agglomerative", "gmm")
#: Most customers a method is fitted on; the others are assigned to the fitted segments.
MAX_FIT = 100_000
_WARD_SAMPLE = 2_500
_DBSCAN_MAX_FIT = 20_000


@dataclass(frozen=True)
class MethodFit:
    """Labels of every customer from one fit, and what the fit reports besides.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape (n,)
        The method's cluster per customer (not yet ordered by size); -1 is noise.
    bic : float or None
        Bayesian information criterion of the fit (``gmm`` only).
    dropped : int
        Clusters below ``min_share`` turned into noise (``dbscan`` only).
    """

    labels: np.ndarray
    bic: float | None = None
    dropped: int = 0


def quiet(fn: Callable[[], Any], notes: list[str]) -> Any:
    """Run ``fn`` turning library warnings (convergence, ...) into one note each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
        if text not in notes:
            notes.append(text)
    return out


def dbscan_min_samples(n_features: int) -> int:
    """DBSCAN's ``min_samples`` (and the neighbour whose distance sets ``eps``)."""
    return max(2 * n_features, 4)


def centroids(z: np.ndarray, labels: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Mean of the rows of ``z`` in each segment of ``ids``, one row per id."""
    return np.vstack([z[labels == c].mean(axis=0) for c in ids])


def nearest(z: np.ndarray, centers: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Index of the nearest of ``centers`` for each row of ``z`` (squared Euclidean)."""
    out = np.empty(len(z), dtype=np.int64)
    c2 = (centers**2).sum(axis=1)
    for s in range(0, len(z), chunk):
        block = z[s : s + chunk]
        d = c2[None, :] - 2.0 * block @ centers.T
        out[s : s + chunk] = d.argmin(axis=1)
    return out


def nearest_point(
    points: np.ndarray, labels: np.ndarray, z: np.ndarray, eps: float | None = None
) -> np.ndarray:
    """Label of the nearest of ``points`` for each row of ``z``; noise beyond ``eps`` if given."""
    from sklearn.neighbors import NearestNeighbors

    d, j = NearestNeighbors(n_neighbors=1).fit(points).kneighbors(z)
    out = np.asarray(labels, dtype=np.int64)[j[:, 0]]
    if eps is not None:
        out[d[:, 0] > eps] = NOISE
    return out


def drop_small(labels: np.ndarray, min_share: float) -> tuple[np.ndarray, int]:
    """``labels`` with every segment below ``min_share`` of the rows turned into noise.

    Returns the new labels and the number of segments dropped.
    """
    n = len(labels)
    out = labels.copy()
    dropped = 0
    for c in np.unique(labels):
        if c != NOISE and (labels == c).sum() < min_share * n:
            out[labels == c] = NOISE
            dropped += 1
    return out, dropped


def fit_method(
    method: str,
    z: np.ndarray,
    k: int,
    seed: int,
    notes: list[str],
    *,
    min_share: float,
    max_fit: int = MAX_FIT,
) -> MethodFit:
    """Fit ``method`` with ``k`` segments on ``z`` (scaled features) and label every row.

    For ``dbscan``, ``k`` is the percentile of the k-distance that sets ``eps``, and clusters
    smaller than ``min_share`` become noise; the other methods ignore ``min_share``. Library
    warnings become ``notes``.
    """
    from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    n = len(z)
    cap = {"agglomerative": _WARD_SAMPLE, "dbscan": min(max_fit, _DBSCAN_MAX_FIT)}.get(
        method, max_fit
    )
    fit_idx = np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)
    zf = z[fit_idx]
    if method == "kmeans":
        km = quiet(lambda: KMeans(k, n_init=3, random_state=seed).fit(zf), notes)
        return MethodFit(km.labels_ if n == len(zf) else nearest(z, km.cluster_centers_))
    if method == "gmm":
        gm = quiet(
            lambda: GaussianMixture(
                k, covariance_type="full", reg_covar=1e-3, random_state=seed
            ).fit(zf),
            notes,
        )
        labels = quiet(lambda: gm.predict(z), notes)
        return MethodFit(np.asarray(labels, dtype=np.int64), bic=float(gm.bic(zf)))
    if method == "agglomerative":
        ward = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(zf)
        return MethodFit(nearest(z, centroids(zf, ward.labels_, range(k))))
    if method == "dbscan":
        m = dbscan_min_samples(z.shape[1])
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
                labels = nearest_point(zf[core], db.labels_[core], z, eps)
        labels, dropped = drop_small(labels, min_share)
        return MethodFit(labels, dropped=dropped)
    raise CJOError(f"unknown method {method!r}; choose one of {list(METHODS)}.")
