"""The original study's estimator ("peer-bayes"), computed in O(N log N) time and O(N) memory.

For customer ``c``, key factor ``k`` and a transition ``i -> j`` (``i`` = the start node, held by
everyone, or a product), the study asks how likely a customer holding ``i`` who (also) holds
``j`` ends up *better* than ``c`` on ``k`` (CLTV higher, Churn Score lower, Satisfaction Score
higher), by Bayes' theorem::

    P(better_k and p_j | p_i) = P(p_i | better_k and p_j) * P(better_k and p_j) / P(p_i)

with every probability a share of the N customers, and 0.5 where the expression is undefined
(nobody better holds ``j``, or nobody holds ``i``). The study built N x N "is better than"
matrices; here the counts come from one sort per factor: after sorting by the factor,
``searchsorted`` gives each customer's rank and cumulative sums of the holding indicators give,
for every customer at once, how many better customers hold ``i`` and ``j``. Ties count as not
better, exactly as in the N x N comparison ``y_d > y_c``. :func:`peer_bayes_bruteforce` is the
N x N version (tests prove equality; the benchmark compares speed and memory).

The result is a probability of ending up better, not an effect. To use it as a component it is
centred (option ``centre``):

``"baseline"`` (default)
    minus the value it would have if holding ``j`` were unrelated to being better than ``c``
    among ``i``-holders: ``P(better | p_i) * P(p_j | p_i)``. The result (a covariance, in
    probability units) is positive when ``j``-holders are over-represented among the customers
    who beat ``c``, zero when ``j`` says nothing.
``"half"``
    minus 0.5 (the study's "no information" value); ordering per customer is the study's.
``"none"``
    the study's probability as it is (every offer looks positive).

``smooth=True`` reproduces the study's last step: one small random-forest regressor per
(factor, i, j) fitted on customer features to the values plus a little Gaussian noise
(``noise``, default 0.01), then predicting every customer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError, OptionError
from core.common.progress import Progress
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.data.catalog import Catalog
from core.data.schema import FACTORS
from core.opportunity.estimators._common import EstimatorResult, feature_matrix, observed_factors

CENTRES = ("baseline", "half", "none")


def _start_and_products(held: np.ndarray) -> np.ndarray:
    """bool ``[N, 1 + P]``: column 0 is the start node (everyone), then the holdings."""
    n = held.shape[0]
    return np.concatenate([np.ones((n, 1), dtype=bool), held], axis=1)


def _bayes(better_ij: np.ndarray, better_j: np.ndarray, n_i: float, n: int) -> np.ndarray:
    """The study's formula from counts, 0.5 where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p_i_given = better_ij / better_j  # P(p_i | better and p_j)
        p_better_j = better_j / n  # P(better and p_j)
        p_i = n_i / n  # P(p_i)
        val = p_i_given * p_better_j / p_i
    return np.where((better_j > 0) & (n_i > 0), val, 0.5)


def _lift(better_ij: np.ndarray, better_i: np.ndarray, n_i: float, n_ij: np.ndarray) -> np.ndarray:
    """``P(better and p_j | p_i) - P(better | p_i) * P(p_j | p_i)`` (0 where ``n_i == 0``)."""
    if n_i <= 0:
        return np.zeros_like(better_ij, dtype=np.float64)
    return better_ij / n_i - (better_i[:, None] / n_i) * (n_ij[None, :] / n_i)


def peer_bayes_probabilities(
    y: np.ndarray, held: np.ndarray, *, centre: str = "none", out: np.ndarray | None = None
) -> np.ndarray:
    """Peer/Bayes values of every customer for one factor, by sorting (O(N log N), O(N P) memory).

    Parameters
    ----------
    y : numpy.ndarray
        ``[N]`` factor values, higher = better (negate Churn Score first).
    held : numpy.ndarray
        bool ``[N, P]`` holdings.
    centre : {"none", "half", "baseline"}
        See the module docstring.
    out : numpy.ndarray, optional
        ``[N, 1 + P, P]`` array to write into (any float dtype; may be a strided view).

    Returns
    -------
    numpy.ndarray
        ``[N, 1 + P, P]``: row 0 is the start node, row ``1 + i`` product ``i``.

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 3.0])
    >>> h = np.array([[True], [False], [True]])
    >>> peer_bayes_probabilities(y, h)[:, 0, 0].round(3).tolist()  # better AND holds product 0
    [0.333, 0.333, 0.5]
    """
    if centre not in CENTRES:
        raise CJOError(f"centre='{centre}': choose one of {list(CENTRES)}.")
    y = np.asarray(y, dtype=np.float64)
    held = np.asarray(held, dtype=bool)
    n, p = held.shape
    if y.shape != (n,):
        raise OptionError(f"y must have shape ({n},), got {y.shape}")
    if out is None:
        out = np.empty((n, 1 + p, p), dtype=np.float64)
    order = np.argsort(y, kind="stable")
    pos = np.searchsorted(y[order], y, side="right")  # customers with y <= y_c
    g = _start_and_products(held[order])  # [N, 1 + P], sorted by y
    hs = g[:, 1:]
    cum = np.zeros((n + 1, p + 1), dtype=np.int64)
    better_j = np.zeros((n, p))
    for i in range(1 + p):
        # columns 0..P-1: holds i and j; column P: holds i
        w = np.concatenate([hs & g[:, i : i + 1], g[:, i : i + 1]], axis=1)
        np.cumsum(w, axis=0, out=cum[1:])
        better = (cum[n] - cum[pos]).astype(np.float64)  # [N, P + 1]: strictly better
        better_ij, better_i = better[:, :p], better[:, p]
        if i == 0:
            better_j = better_ij
        n_i = float(cum[n, p])
        if centre == "baseline":
            out[:, i, :] = _lift(better_ij, better_i, n_i, cum[n, :p].astype(np.float64))
        else:
            val = _bayes(better_ij, better_j, n_i, n)
            out[:, i, :] = val - 0.5 if centre == "half" else val
    return out


def peer_bayes_bruteforce(y: np.ndarray, held: np.ndarray, *, centre: str = "none") -> np.ndarray:
    """The study's N x N computation (quadratic time and memory): reference for tests/benchmarks.

    Builds the matrix ``B[c, d] = y_d > y_c`` and counts better holders with matrix products.
    Same parameters and result as :func:`peer_bayes_probabilities`.
    """
    if centre not in CENTRES:
        raise CJOError(f"centre='{centre}': choose one of {list(CENTRES)}.")
    y = np.asarray(y, dtype=np.float64)
    held = np.asarray(held, dtype=bool)
    n, p = held.shape
    # [N, N] comparison matrix; float32 counts are exact below 2**24 customers
    better = (y[None, :] > y[:, None]).astype(np.float32)
    g = _start_and_products(held).astype(np.float32)
    out = np.empty((n, 1 + p, p))

    def count(w: np.ndarray) -> np.ndarray:
        return (better @ w).astype(np.float64)

    better_j = count(g[:, 1:])
    for i in range(1 + p):
        gi = g[:, i]
        better_ij = count(g[:, 1:] * gi[:, None])
        n_i = float(gi.sum())
        if centre == "baseline":
            n_ij = (g[:, 1:] * gi[:, None]).sum(axis=0).astype(np.float64)
            out[:, i, :] = _lift(better_ij, count(gi), n_i, n_ij)
        else:
            val = _bayes(better_ij, better_j, n_i, n)
            out[:, i, :] = val - 0.5 if centre == "half" else val
    return out


def _smooth(
    values: np.ndarray,
    x: np.ndarray,
    *,
    seed: int,
    rows: int,
    noise: float,
    n_estimators: int,
    progress: Progress | None,
    step: tuple[int, int],
) -> None:
    """Replace ``values[:, i, j]`` by a random forest's prediction from ``x`` (in place)."""
    from sklearn.ensemble import RandomForestRegressor

    n, rows_i, p = values.shape
    rng = np.random.default_rng([seed, 0])
    sub = np.sort(rng.choice(n, size=min(rows, n), replace=False))
    done, total = step
    for i in range(rows_i):
        for j in range(p):
            target = values[sub, i, j].astype(np.float64)
            if np.ptp(target) > 0:
                pair_rng = np.random.default_rng([seed, 1, i, j])
                forest = RandomForestRegressor(
                    n_estimators=n_estimators,
                    max_depth=10,
                    min_samples_leaf=10,
                    random_state=int(pair_rng.integers(2**31 - 1)),
                    n_jobs=1,
                )
                forest.fit(x[sub], target + noise * pair_rng.standard_normal(len(sub)))
                values[:, i, j] = forest.predict(x)
            done += 1
            if progress is not None:
                progress(done, total)


def estimate(
    frame: pd.DataFrame,
    catalog: Catalog,
    held: np.ndarray,
    *,
    models: Any = None,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    centre: str = "baseline",
    smooth: bool = False,
    smooth_rows: int = 5000,
    noise: float = 0.01,
    n_estimators: int = 30,
) -> EstimatorResult:
    """Peer/Bayes components (raw: centred probabilities, see the module docstring).

    Parameters
    ----------
    frame, catalog, held
        Customer data, catalog and its holdings ``[N, P]``.
    models : optional
        Used only when the data has no Churn Score: churn is then ranked by the models'
        predicted churn probability (else by Churn Value).
    centre : {"baseline", "half", "none"}
    smooth : bool, default False
        Fit one random forest per (factor, i, j) on features (the study's final step).
    smooth_rows, noise, n_estimators
        Smoothing: training subsample size, noise sd added to the targets, trees per forest.
    """
    if centre not in CENTRES:
        raise CJOError(f"centre='{centre}': choose one of {list(CENTRES)}.")
    n, p = held.shape
    ys, sources, notes = observed_factors(frame, models)
    raw = np.zeros((n, 1 + p, p, len(FACTORS)), dtype=np.float32)
    x = feature_matrix(frame, catalog) if smooth else None
    seed = seed_of(random_state, high=SKLEARN_SEED_HIGH)
    n_pairs = (1 + p) * p
    total = len(FACTORS) * (1 + (n_pairs if smooth else 0))
    done = 0
    for k, f in enumerate(FACTORS):
        y = ys[f]
        if y is not None:
            vals = peer_bayes_probabilities(y, held, centre=centre, out=raw[..., k])
            if smooth and x is not None:
                _smooth(
                    vals,
                    x,
                    seed=seed + 7919 * k,
                    rows=smooth_rows,
                    noise=noise,
                    n_estimators=n_estimators,
                    progress=progress,
                    step=(done + 1, total),
                )
        done += 1 + (n_pairs if smooth else 0)
        if progress is not None:
            progress(done, total)
    unit = {
        "baseline": "probability of ending up better, minus its no-association value",
        "half": "probability of ending up better, minus 0.5",
        "none": "probability of ending up better",
    }[centre]
    return EstimatorResult(
        raw=raw,
        units={f: f"{unit} ({sources[f]})" for f in FACTORS},
        notes=tuple(notes),
        info={"centre": centre, "smooth": smooth, "sources": sources},
    )
