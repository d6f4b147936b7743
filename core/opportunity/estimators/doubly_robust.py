"""Doubly robust estimator ("dr"): cross-fitted effects of each offer, with standard errors.

Who holds a product today is not random: loyal, long-tenure customers hold more add-ons and
churn less, so "holders churn less" is not "the product lowers churn". For every product ``j``
and key factor ``k`` this estimator adjusts for what the data shows about each customer, and
says how sure it is:

1. **Population.** Customers who could hold ``j`` (its prerequisites held, nothing excluded held).
   Treatment ``T = holds j``; covariates ``W`` = the pre-treatment customer features
   (:func:`core.opportunity.estimators._common.feature_matrix`) and the other holdings
   (:meth:`DoublyRobustEffects.covariates`), and a file's extra columns (those that do not
   move with the portfolio: :meth:`core.models.extra_features.ExtraFeatures.profile`), which
   may record confounders the schema does not know. With feedback texts, the text trait shares
   (``text_trait_...``: what a customer writes about, e.g. price or service, from texts before
   the outcome period) are among them, shrunk toward the writers' mean by ``trait_prior``
   pseudo-texts so that customers without texts sit at the average
   (:func:`~core.opportunity.estimators._common.shrunk_trait_share`). The traits that drive who
   holds a product also drive its effect, so they enter the propensity and outcome models
   (confounders) and the effect model (effect modifiers) alike. Sentiment, complaints and the
   other text features are consequences of the current portfolio and stay out; so does
   ``text_has`` (who writes depends on current satisfaction).
2. **Nuisances, cross-fitted** over ``folds`` groups of customers: the holding propensity
   ``e(W) = P(T = 1 | W)`` (logistic regression, clipped to ``[clip, 1 - clip]``) and the outcome
   of holders and non-holders ``mu_1(W)``, ``mu_0(W)`` (ridge regressions). A customer's
   nuisances always come from models that did not see it.
3. **Doubly robust pseudo-outcome** (AIPW)::

       phi = mu_1 - mu_0 + T (Y - mu_1) / e - (1 - T) (Y - mu_0) / (1 - e)

   whose mean is the average effect when either the propensity or the outcome models are right.
4. **Effect per customer** ``tau_j(z)``: a ridge regression of ``phi`` on the standardised
   features ``z = [W]`` with a strong penalty (``shrink`` times the population size) that pulls
   every customer toward the average effect unless the data say otherwise. Its intercept is not
   penalised.
5. **Uncertainty**: the heteroscedasticity-robust (sandwich) covariance of the ridge
   coefficients gives a standard error of ``tau_j(z)`` for every customer, portfolio and factor
   (``info["std"]``, raw units). It measures the estimation noise of the effect model; it cannot
   see confounding by traits the data does not record.
6. **Confounding benchmark**: ``info["bias"]`` (``[P, 3]``, raw units) is ``|naive - mean(phi)|``,
   how far adjusting for the recorded features moved each product's average effect. The
   do-no-harm rule may allow for unrecorded traits confounding a multiple of that
   (``Settings.confounding``, :func:`core.opportunity.spread`), the way a sensitivity analysis
   benchmarks unobserved confounders against observed ones.

Row 0 of the components is ``tau_j`` at the customer's portfolio; row ``1 + i`` is ``tau_j``
with ``i`` added to the portfolio (the other holdings are features of ``z``), so a journey's
later steps see the products offered before them.

Factors: CLTV (dollars), minus Churn Value (probability points of churn avoided), Satisfaction
Score (points). An absent factor gives zero components and a note.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import ModelError, OptionError
from core.common.progress import Progress
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.data.catalog import Catalog
from core.data.schema import FACTORS
from core.models.extra_features import ExtraFeatures
from core.opportunity.estimators._common import EstimatorResult, FeatureEncoder

#: Pseudo-texts of the writers' mean share added to every customer's text trait shares.
TRAIT_PRIOR = 1.0
#: Fewest holders and non-holders a product needs for its effects to be estimated.
MIN_ARM = 20
UNCERTAINTY = (
    "standard error of the cross-fitted doubly robust effect model (sandwich covariance of the "
    "ridge coefficients); it does not include confounding by unrecorded traits"
)


def _outcomes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``[n, 3]`` outcomes (higher is better), availability ``[3]`` and notes."""
    churn = "Churn Value" if "Churn Value" in frame.columns else "Churn Probability"
    cols = (("CLTV", 1.0), (churn, -1.0), ("Satisfaction Score", 1.0))
    y = np.zeros((len(frame), len(FACTORS)))
    ok = np.zeros(len(FACTORS), dtype=bool)
    notes: list[str] = []
    for k, (col, sign) in enumerate(cols):
        if col not in frame.columns:
            notes.append(f"{FACTORS[k]}: '{col}' is not in the data; its components are 0.")
            continue
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(v).any():
            notes.append(f"{FACTORS[k]}: '{col}' has no numbers; its components are 0.")
            continue
        bad = ~np.isfinite(v)
        if bad.any():
            notes.append(f"{FACTORS[k]}: {int(bad.sum())} missing values were set to the median.")
            v[bad] = np.nanmedian(v)
        y[:, k] = sign * v
        ok[k] = True
    return y, ok, notes


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Coefficients of a ridge regression with an unpenalised intercept (column 0 of ``x``)."""
    pen = np.eye(x.shape[1]) * lam
    pen[0, 0] = 0.0
    return np.linalg.solve(x.T @ x + pen, x.T @ y)


def _with_intercept(x: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((len(x), 1)), x])


def _nuisances(
    w: np.ndarray, t: np.ndarray, y: np.ndarray, fold: np.ndarray, folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-fitted propensity ``[m]`` and arm outcomes ``mu0, mu1`` ``[m, 3]``."""
    from sklearn.linear_model import LogisticRegression

    e = np.full(len(t), t.mean())
    mu = [np.zeros_like(y), np.zeros_like(y)]
    wi = _with_intercept(w)
    for k in range(folds):
        train, test = fold != k, fold == k
        if not test.any():
            continue
        tt = t[train]
        if 0 < tt.sum() < len(tt):
            model = LogisticRegression(C=0.5, max_iter=500, random_state=seed)
            e[test] = model.fit(w[train], tt).predict_proba(w[test])[:, 1]
        for arm in (0, 1):
            m = train & (t == arm)
            if m.sum() < 2:
                mu[arm][test] = y[train].mean(axis=0)
                continue
            beta = _ridge(wi[m], y[m], 1.0)
            mu[arm][test] = wi[test] @ beta
    return e, mu[0], mu[1]


class _EffectModel:
    """Ridge CATE with a sandwich covariance: ``tau(z)`` and its standard error."""

    def __init__(self, z: np.ndarray, phi: np.ndarray, lam: float) -> None:
        self.mean_ = z.mean(axis=0)
        self.sd_ = z.std(axis=0)
        self.sd_[self.sd_ == 0] = 1.0
        d = self._design(z)
        pen = np.eye(d.shape[1]) * lam
        pen[0, 0] = 0.0
        inv = np.linalg.inv(d.T @ d + pen)
        self.beta_ = inv @ d.T @ phi  # [d, 3]
        resid = phi - d @ self.beta_
        self.cov_ = np.stack(
            [inv @ (d.T * resid[:, k] ** 2) @ d @ inv for k in range(phi.shape[1])]
        )  # [3, d, d]

    def _design(self, z: np.ndarray) -> np.ndarray:
        return _with_intercept((z - self.mean_) / self.sd_)

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self._design(z)
        mean = d @ self.beta_
        var = np.einsum("ij,kjl,il->ik", d, self.cov_, d)
        return mean, np.sqrt(np.maximum(var, 0.0))


def _extras_note(extras: ExtraFeatures, used: list[str]) -> str:
    """What the estimator did with the file's extra columns."""
    left = [c for c in extras.names if c not in used]
    note = f"adjusted for the file's extra columns {used}" if used else "no extra column used"
    if left:
        note += f"; left out as usage of a product or purchase history: {left}"
    return note + "."


class DoublyRobustEffects:
    """Fitted once on a population, then scores any customers (chunk independent).

    Parameters
    ----------
    catalog
        The products (their order is the ``P`` axis).
    folds, clip, shrink, trait_prior
        See :func:`estimate`.
    random_state
        Seed of the cross-fitting folds.

    Attributes
    ----------
    encoder_ : FeatureEncoder
        The pre-treatment features, fitted on the training population.
    effects_ : list
        One fitted effect model per product (None where too few holders or non-holders).
    available_ : numpy.ndarray
        bool ``[3]``: the factors the data observes.
    shift_ : numpy.ndarray
        ``[P, 3]`` raw units: each product's naive effect (mean outcome of holders minus
        non-holders among those who could hold it) minus its doubly robust average effect,
        i.e. how far adjusting for the recorded features moved it (0 where not estimated).
        The do-no-harm rule's allowance for unrecorded confounding is a multiple of it.
    notes_ : tuple of str
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        folds: int = 3,
        clip: float = 0.05,
        shrink: float = 1.0,
        trait_prior: float = TRAIT_PRIOR,
        random_state: int | np.random.Generator | None = 0,
    ) -> None:
        self.catalog = catalog
        self.folds = folds
        self.clip = clip
        self.shrink = shrink
        self.trait_prior = trait_prior
        self.random_state = random_state

    def fit(
        self, frame: pd.DataFrame, held: np.ndarray | None = None, progress: Progress | None = None
    ) -> DoublyRobustEffects:
        """Estimate every product's effect model on ``frame`` (cross-fitted nuisances)."""
        if int(self.folds) < 2:
            raise OptionError(f"folds={self.folds}: use at least 2.")
        if not 0 < self.clip < 0.5:
            raise OptionError(f"clip={self.clip}: use a number in (0, 0.5).")
        if not self.shrink > 0:
            raise OptionError(f"shrink={self.shrink}: use a positive number.")
        if not self.trait_prior >= 0:
            raise OptionError(f"trait_prior={self.trait_prior}: use 0 (raw shares) or more.")
        catalog = self.catalog
        held = catalog.holdings(frame) if held is None else np.asarray(held, dtype=bool)
        seed = seed_of(self.random_state, high=SKLEARN_SEED_HIGH)
        n, p = held.shape
        y, available, notes = _outcomes(frame)
        if not available.any():
            raise ModelError(
                "no key factor can be modelled: the data has no churn outcome (Churn Value or "
                "Churn Probability), no CLTV and no Satisfaction Score. Fix: map one of them, or "
                "optimise with the factors it has."
            )
        extras = ExtraFeatures.fit(frame, [q.column for q in catalog.products], held)
        numeric, binary, categorical = extras.profile()
        self.encoder_ = FeatureEncoder.fit(
            frame,
            catalog,
            trait_prior=float(self.trait_prior),
            extra_numeric=numeric,
            extra_categorical=[*binary, *categorical],
        )
        if extras.names:
            notes.append(_extras_note(extras, numeric + binary + categorical))
        x = self.encoder_.transform(frame).astype(np.float64)
        hf = held.astype(np.float64)
        req, excl = catalog.requires_matrix(), catalog.excludes_matrix()
        fold = np.asarray(np.random.default_rng(seed).integers(0, int(self.folds), size=n))
        effects: list[_EffectModel | None] = []
        skipped: list[str] = []
        shift = np.zeros((p, len(FACTORS)))
        for j in range(p):
            can = held[:, req[j]].all(axis=1) & ~(held & excl[j]).any(axis=1)
            idx = np.nonzero(can)[0]
            t = held[idx, j].astype(np.float64)
            if t.sum() < MIN_ARM or (1 - t).sum() < MIN_ARM:
                skipped.append(catalog.keys[j])
                effects.append(None)
            else:
                z = np.hstack([x[idx], np.delete(hf[idx], j, axis=1)])
                e, mu0, mu1 = _nuisances(z, t, y[idx], fold[idx], int(self.folds), seed)
                e = np.clip(e, self.clip, 1.0 - self.clip)
                phi = (
                    mu1
                    - mu0
                    + (t / e)[:, None] * (y[idx] - mu1)
                    - ((1.0 - t) / (1.0 - e))[:, None] * (y[idx] - mu0)
                )
                effects.append(_EffectModel(z, phi, self.shrink * len(idx)))
                yj = y[idx]
                naive = yj[t == 1].mean(axis=0) - yj[t == 0].mean(axis=0)
                shift[j] = naive - phi.mean(axis=0)  # what the recorded features explained
            if progress is not None:
                progress(j + 1, p)
        if skipped:
            notes.append(
                f"too few holders or non-holders (< {MIN_ARM}) to estimate {skipped}: their "
                "components are 0."
            )
        self.effects_ = effects
        self.shift_ = shift * available
        self.available_ = available
        self.notes_ = tuple(notes)
        return self

    def covariates(self, j: int) -> list[str]:
        """Names of the covariates of product ``j``'s propensity, outcome and effect models.

        The encoded pre-treatment features (:attr:`FeatureEncoder.columns`) and ``holds <key>``
        for every other product of the catalog, in the order of the model matrices.
        """
        others = [f"holds {k}" for q, k in enumerate(self.catalog.keys) if q != j]
        return self.encoder_.columns + others

    def predict(self, frame: pd.DataFrame, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw effects and standard errors, float32 ``[n, 1 + P, P, 3]`` each."""
        n, p = held.shape
        x = self.encoder_.transform(frame).astype(np.float64)
        hf = held.astype(np.float64)
        raw = np.zeros((n, 1 + p, p, len(FACTORS)), dtype=np.float32)
        std = np.zeros_like(raw)
        for j, model in enumerate(self.effects_):
            if model is None:
                continue
            z = np.hstack([x, np.delete(hf, j, axis=1)])
            mean, se = model.predict(z)
            raw[:, 0, j], std[:, 0, j] = mean, se
            for col, i in enumerate(q for q in range(p) if q != j):
                zi = z.copy()
                zi[:, x.shape[1] + col] = 1.0  # i taken before j
                m_i, s_i = model.predict(zi)
                keep = held[:, i][:, None]
                raw[:, 1 + i, j] = np.where(keep, mean, m_i)
                std[:, 1 + i, j] = np.where(keep, se, s_i)
        raw[:, :, :, ~self.available_] = 0.0
        std[:, :, :, ~self.available_] = 0.0
        return raw, std


def fit_models(
    frame: pd.DataFrame, catalog: Catalog, random_state: Any = 0, **options: Any
) -> DoublyRobustEffects:
    """Fit :class:`DoublyRobustEffects` on ``frame`` (the pipeline's fitted-once step)."""
    return DoublyRobustEffects(catalog, random_state=random_state, **options).fit(frame)


def estimate(
    frame: pd.DataFrame,
    catalog: Catalog,
    held: np.ndarray,
    *,
    models: Any = None,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    folds: int = 3,
    clip: float = 0.05,
    shrink: float = 1.0,
    trait_prior: float = TRAIT_PRIOR,
) -> EstimatorResult:
    """Doubly robust components and their standard errors (see the module docstring).

    Parameters
    ----------
    frame, catalog, held
        Customer data, catalog and its holdings ``[N, P]``.
    models
        A fitted :class:`DoublyRobustEffects` (e.g. fitted once on a reference population);
        fitted on ``frame`` when omitted.
    random_state
        Seed of the cross-fitting folds.
    folds
        Cross-fitting folds (>= 2).
    clip
        Propensities are clipped to ``[clip, 1 - clip]`` (0 < clip < 0.5).
    shrink
        Ridge penalty of the effect model per customer of the product's population: larger
        pulls every customer's effect harder toward the average effect.
    trait_prior
        Pseudo-texts at the writers' mean added to every customer's text trait shares
        (``text_trait_...``; only with a ``text_n`` column); 0 uses the raw shares (customers
        without texts at 0). Without text columns it has no effect.

    Returns
    -------
    EstimatorResult
        ``raw`` effects and ``info["std"]``, their standard errors (same shape, raw units).
    """
    if models is None or not isinstance(models, DoublyRobustEffects):
        models = DoublyRobustEffects(
            catalog,
            folds=folds,
            clip=clip,
            shrink=shrink,
            trait_prior=trait_prior,
            random_state=random_state,
        ).fit(frame, held, progress=progress)
    raw, std = models.predict(frame, held)
    shift = getattr(models, "shift_", None)  # absent from models pickled before it existed
    return EstimatorResult(
        raw=raw,
        units={
            "cltv": "CLTV",
            "churn": "churn probability points avoided",
            "satisfaction": "Satisfaction Score points",
        },
        notes=models.notes_,
        info={
            "std": std,
            "uncertainty": UNCERTAINTY,
            **({} if shift is None else {"bias": np.abs(shift)}),
        },
    )
