""":func:`segment`: fit a segmentation, choosing k, and judge its quality and stability.

The flow is :func:`~core.insights.segments.features.scaled_features` (what is clustered) -> one
fit per candidate k (:func:`~core.insights.segments.methods.fit_method`, labels relabelled by
size) -> the chosen k -> its stability -> the profile and names of each segment (a
:class:`~core.insights.segments.result.Segmentation`).

Choosing k
----------
``kmeans``         k over ``k_range`` (default 2..8): among the k whose smallest segment is at
                   least ``min_share`` of customers, the best mean rank of silhouette (on a
                   seeded sample of at most 2,000 customers) and Calinski-Harabasz (ties:
                   higher silhouette, then smaller k). Silhouette alone favours k=2 on most
                   customer data; the rank rule keeps its veto without that bias.
``dbscan``         ``eps`` is a percentile (60, 70, 80, 90 or 95) of the distance to the
                   min_samples-th neighbour, chosen like k above among the runs with at most 25%
                   noise; clusters smaller than ``min_share`` become noise, and the noise share
                   is reported. When no eps yields two segments, one segment plus noise is
                   reported, with a note.
``agglomerative``  k chosen as for k-means.
``gmm``            k chosen by BIC among admissible k.

Stability is the adjusted Rand index (ARI) between the reported labels and ``n_stability`` refits,
each on a bootstrap sample with its own seed, assigned back to every customer: mean and min.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress, ticker
from core.insights.segments._base import (
    NOISE,
    NOISE_NAME,
    check_proba,
    column,
    display_order,
    n_segments,
)
from core.insights.segments.features import customer_ids, scaled_features
from core.insights.segments.methods import (
    MAX_FIT,
    METHODS,
    centroids,
    dbscan_min_samples,
    fit_method,
    nearest,
    nearest_point,
)
from core.insights.segments.naming import name_segments
from core.insights.segments.result import Segmentation

_SIL_SAMPLE = 2_000
_DBSCAN_PERCENTILES = (60, 70, 80, 90, 95)
_MAX_NOISE = 0.25
_MIN_ROWS = 20


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


def _smallest_share(labels: np.ndarray) -> float:
    counts = np.bincount(labels[labels != NOISE]) if (labels != NOISE).any() else np.array([0])
    counts = counts[counts > 0]
    return float(counts.min() / len(labels)) if len(counts) else 0.0


def _quality(z: np.ndarray, labels: np.ndarray, seed: int) -> tuple[float | None, float | None]:
    """Silhouette (on a seeded sample) and Calinski-Harabasz of ``labels``, noise excluded."""
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
    """ARI of ``reference`` against ``n_runs`` bootstrap refits, every customer reassigned."""
    from sklearn.metrics import adjusted_rand_score

    scores = []
    n = len(z)
    for r in range(n_runs):
        rng = np.random.default_rng([seed, 2, r])
        boot = rng.choice(n, min(n, MAX_FIT), replace=True)
        run_seed = int(rng.integers(2**31 - 1))
        zb = z[boot]
        lb = fit_method(method, zb, k, run_seed, notes, min_share=min_share).labels
        ids = [c for c in np.unique(lb) if c != NOISE]
        if not ids:
            scores.append(0.0)
            tick()
            continue
        # assign every customer to the bootstrap fit's nearest point (dbscan) or centroid
        if method == "dbscan":
            labels = nearest_point(zb, lb, z)
        else:
            labels = np.asarray(ids)[nearest(z, centroids(zb, lb, ids))]
        scores.append(float(adjusted_rand_score(reference, labels)))
        tick()
    return {
        "ari_mean": float(np.mean(scores)) if scores else float("nan"),
        "ari_min": float(np.min(scores)) if scores else float("nan"),
        "n_runs": n_runs,
        "scheme": "bootstrap refits with their own seeds, every customer reassigned; ARI vs "
        "the reported labels",
    }


def _check_k(k: Any, method: str, n: int) -> tuple[int, ...] | None:
    """The fixed k as a 1-tuple, or None for "auto"; raises for a k the data cannot have."""
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


def _candidates(
    method: str, fixed: tuple[int, ...] | None, k_range: Sequence[int], n: int
) -> tuple[int, ...]:
    """The k to try (for dbscan: the k-distance percentiles that set eps)."""
    if method == "dbscan":
        return _DBSCAN_PERCENTILES
    if fixed is not None:
        return fixed
    candidates = tuple(sorted({int(c) for c in k_range if 2 <= int(c) <= n // 2}))
    if not candidates:
        raise CJOError(f"k_range {list(k_range)} has no usable k for {n} customers.")
    return candidates


def _try(
    method: str,
    z: np.ndarray,
    candidates: tuple[int, ...],
    seed: int,
    min_share: float,
    notes: list[str],
    tick: Callable[[], None],
    memo: dict[Any, Any] | None = None,
) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Fit every candidate: the ``k_scores`` table and the labels (by size) of each.

    ``memo`` keeps each candidate's fit and quality for a later call on the same data (only
    dbscan's fits depend on ``min_share``).
    """
    rows = []
    fits: dict[int, np.ndarray] = {}
    memo = {} if memo is None else memo
    for c in candidates:
        key = ("fit", c, min_share if method == "dbscan" else None)
        if key not in memo:
            added: list[str] = []
            fit = fit_method(method, z, c, seed, added, min_share=min_share)
            labels = _canonical(fit.labels, z)
            n_seg = n_segments(labels)
            quality = _quality(z, labels, seed) if n_seg >= 2 else (None, None)
            memo[key] = (fit, labels, quality, added)
        fit, labels, (sil, ch), added = memo[key]
        notes.extend(added)
        fits[c] = labels
        smallest = _smallest_share(labels)
        n_seg = n_segments(labels)
        noise_c = float((labels == NOISE).mean())
        row: dict[str, Any] = {
            "k": n_seg if method == "dbscan" else c,
            "min_share": smallest,
            "admissible": (smallest >= min_share or min_share == 0) and n_seg >= 1,
            "silhouette": sil,
            "calinski_harabasz": ch,
            "bic": fit.bic,
        }
        if method == "dbscan":
            row.update(eps_percentile=c, noise_share=noise_c, small_clusters_to_noise=fit.dropped)
            row["admissible"] = row["admissible"] and noise_c <= _MAX_NOISE
        rows.append(row)
        tick()
    return pd.DataFrame(rows), fits


def _choose(
    method: str,
    k_scores: pd.DataFrame,
    candidates: tuple[int, ...],
    fixed: tuple[int, ...] | None,
    min_share: float,
    notes: list[str],
) -> pd.Series:
    """The row of ``k_scores`` to report; raises when no candidate is admissible."""
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
        return ok.sort_values(["bic", "k"]).iloc[0]
    if len(ok) > 1:  # best mean rank of silhouette and Calinski-Harabasz
        sil_s = ok["silhouette"].astype(float).fillna(-2.0)
        ch_s = ok["calinski_harabasz"].astype(float).fillna(0.0)
        ranked = ok.assign(_r=sil_s.rank(ascending=False) + ch_s.rank(ascending=False), _s=sil_s)
        return ranked.sort_values(["_r", "_s", "k"], ascending=[True, False, True]).iloc[0]
    return ok.iloc[0]


def _describe(
    feats: pd.DataFrame, labels: np.ndarray, opp: np.ndarray | None, risk: np.ndarray | None
) -> tuple[pd.DataFrame, dict[int, float], dict[int, str]]:
    """Profile (size, share, feature means), shares and names of each segment.

    ``risk`` (predicted churn, else observed) only decides which names say "at risk".
    """
    shares: dict[int, float] = {}
    prof_rows = []
    feat_values = feats.to_numpy()
    for sid in display_order(np.unique(labels).tolist()):
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
    churn_desc: dict[int, float] | None = None
    overall_risk: float | None = None
    if risk is not None:
        churn_desc = {int(s): float(risk[labels == s].mean()) for s in shares}
        overall_risk = float(risk.mean())
    names = name_segments(
        profile,
        {f: float(feats[f].mean()) for f in feats.columns},
        {f: float(feats[f].std(ddof=0)) for f in feats.columns},
        churn_desc,
        overall_risk,
    )
    profile.insert(1, "name", profile["segment_id"].map(names))
    return profile, shares, names


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
    memo: dict[Any, Any] | None = None,
    catalog: Any = None,
) -> Segmentation:
    """Segment customers into stable, named groups.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical customer frame (:func:`core.data.io.load` ``.frame``).
    method : {"kmeans", "dbscan", "agglomerative", "gmm"}
    k : "auto" or int
        Number of segments; "auto" chooses over ``k_range`` (best mean rank of silhouette and
        Calinski-Harabasz for kmeans and agglomerative, BIC for gmm); dbscan needs "auto".
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
        See :func:`~core.insights.segments.features.segment_features`. The default leaves
        Satisfaction Score out (as :func:`core.data.schema.feature_columns` does): in the IBM
        sample scores 1-2 always churn, so clustering on it yields a segment that is the churn
        label in disguise. Use "all" to include it.
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
    memo : dict, optional
        A dict the caller keeps between calls on the same ``frame``, ``method``, ``k``,
        ``random_state``, ``churn_proba`` and ``features``: the scaled features, every
        candidate's fit and the stability of a chosen k are kept in it, so a call that only
        changes ``min_share`` chooses among the kept fits (milliseconds instead of a second).
        The result is the same as without it.
    catalog : Catalog or str, optional
        The catalog whose products the ``n_products`` feature counts (default ``full``).

    Returns
    -------
    Segmentation

    Examples
    --------
    >>> from core.data import synthetic
    >>> customers, _ = synthetic.generate_frame(600, seed=1)  # doctest: +SKIP
    >>> seg = segment(customers, k=3)  # doctest: +SKIP
    >>> sorted(seg.shares) == [0, 1, 2]  # doctest: +SKIP
    True
    """
    import sklearn.cluster  # noqa: F401  (load its OpenMP runtime so the limit applies to it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads):
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
        memo = {} if memo is None else memo
        if "features" not in memo:
            memo["features"] = scaled_features(
                frame, churn_proba=churn_proba, features=features, catalog=catalog
            )
        feats, z, feat_notes = memo["features"]
        notes = list(feat_notes)
        candidates = _candidates(method, fixed, k_range, n)
        tick = ticker(progress, len(candidates) + n_stability)
        k_scores, fits = _try(method, z, candidates, seed, min_share, notes, tick, memo)
        best = _choose(method, k_scores, candidates, fixed, min_share, notes)
        chosen = candidates[int(np.flatnonzero(k_scores.index == best.name)[0])]
        labels = fits[chosen]
        if method == "dbscan":
            eps_note = (
                f"dbscan: eps = {int(chosen)}th percentile of the "
                f"{dbscan_min_samples(z.shape[1])}-distance"
            )
            dropped = int(k_scores.loc[best.name, "small_clusters_to_noise"])
            if dropped:
                eps_note += f"; {dropped} cluster(s) below min_share={min_share:.0%} became noise"
            notes.append(eps_note + ".")
        key = ("stability", chosen, n_stability, min_share if method == "dbscan" else None)
        if key not in memo:
            added: list[str] = []
            memo[key] = (
                _stability(method, z, chosen, labels, seed, n_stability, min_share, added, tick),
                added,
            )
        stability, added = memo[key]
        notes.extend(added)
        risk = check_proba(churn_proba, n)
        if risk is None:
            risk = column(frame, "Churn Value")
        if risk is None:
            risk = column(frame, "Churn Probability")
        profile, shares, names = _describe(feats, labels, opp, risk)
        noise = float((labels == NOISE).mean()) if method == "dbscan" else None
        if method == "dbscan":
            notes.append(f"dbscan: noise share {noise:.1%} (segment id -1, '{NOISE_NAME}').")
        sil = best["silhouette"]
        ch = best["calinski_harabasz"]
        return Segmentation(
            labels=labels,
            customer_ids=customer_ids(frame),
            names=names,
            method=method,
            k=n_segments(labels),
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
