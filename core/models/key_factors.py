"""Key-factor models: churn, CLTV and satisfaction from customer features plus portfolio.

:class:`KeyFactorModels` follows scikit-learn conventions (like
:class:`~core.models.acceptance.AcceptanceModels`): ``__init__`` only stores parameters,
``fit(frame)`` returns ``self`` and fitted attributes end in ``_``. It takes the validated
canonical frame of :func:`core.data.io.load` directly and builds its own model matrix with
:class:`~core.models.features.PortfolioFeatures` (the portfolio as features, the leakage guard).
The estimators come from :mod:`core.models.factory`, scoring several portfolios at once goes
through :mod:`core.models.scoring`, and honest metrics from
:func:`core.models.validation.cross_validate_models`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.metrics import r2_score, roc_auc_score

from core.common.errors import ModelError
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.common.threads import model_threads
from core.data import schema
from core.data.catalog import Catalog, resolve_catalog
from core.models._base import _check_choice, _factor_target, _is_binary
from core.models.factory import (
    CHURN_MODELS,
    CLTV_MODELS,
    SATISFACTION_MODELS,
    SOFT_LABEL_MODELS,
    churn_estimator,
    fit_soft,
    regressor,
    satisfaction_estimator,
)
from core.models.features import PortfolioFeatures
from core.models.importance import permutation_importance
from core.models.presets import PRESETS
from core.models.scoring import StackedScorer

__all__ = ["KeyFactorModels"]

_CHUNK = 50_000  # rows per prediction chunk (bounds memory of the spline/one-hot matrices)


class KeyFactorModels(BaseEstimator):
    """Models of the three key factors from customer features plus portfolio.

    Parameters
    ----------
    catalog
        A :class:`~core.data.catalog.Catalog` or a catalog name/path; products whose column is
        not in the data are dropped at fit time (``product_keys_`` lists those kept).
    cltv_model
        ``"hgb"`` (histogram gradient boosting), ``"gbr"`` (gradient boosting), ``"mlp"``
        (neural network, MLPRegressor), ``"rf"`` (random forest) or ``"ridge"``.
    satisfaction_model
        ``"ordinal"`` (cumulative classifiers; expected score) or ``"regression"``; None: the
        preset's (``ordinal`` for ``accurate``, ``regression`` for ``fast``).
    include_satisfaction_in_churn
        Use the observed Satisfaction Score as a churn feature (it is nearly a churn label;
        counterfactual predictions then hold it at its observed value). Default False.
    churn_model
        ``"blend"`` (soft vote of a spline logistic regression with month-to-month interactions
        and histogram gradient boosting), ``"hgb"``, ``"logistic"`` or ``"gb"`` (exact-split
        gradient boosting); None: the preset's (``blend`` for ``accurate``, ``hgb`` for
        ``fast``; on data without a ``Contract`` column, another business's file,
        ``gb`` for ``accurate``: see :class:`core.models.presets.Preset`).
    preset
        :data:`core.models.presets.PRESETS`: ``"accurate"`` (default; every gradient boosting
        model has 200 rounds at learning rate 0.05 and splits on category sets) or ``"fast"``
        (60 rounds at 0.15 on the ordinal codes, churn ``hgb`` and satisfaction ``regression``
        unless given): about 7x fewer trees to evaluate per prediction, for scoring millions of
        customers in batch.
    factors
        Factors to fit (default: every factor the data observes).
    random_state
        Seed of the stochastic learners.

    Attributes
    ----------
    catalog_ : Catalog
        The catalog restricted to the data's columns.
    product_keys_ : tuple of str
        Products in holdings order.
    factors_ : tuple of str
        Factors fitted (those whose column is in the data), in ``schema.FACTORS`` order.
    unavailable_factors_ : dict
        Factor -> reason it was not fitted.
    churn_model_, cltv_model_, satisfaction_model_ : estimator or None
        Fitted models (None when the factor is unavailable).
    churn_kind_, satisfaction_kind_ : str
        The churn and satisfaction model choices used (the preset's when None was given).
    churn_target_ : str
        ``"label"`` (Churn Value) or ``"probability"`` (a given Churn Probability, learnt as
        soft labels by a boosting model of :data:`core.models.factory.SOFT_LABEL_MODELS`).
    features_ : PortfolioFeatures
        Builder of the model matrix (without Satisfaction Score).
    churn_features_ : PortfolioFeatures
        Builder of the churn model matrix.
    feature_names_ : list of str
        Columns of the model matrix of the CLTV and satisfaction models.
    churn_feature_names_ : list of str
        Columns of the churn model matrix.
    metrics_ : dict
        In-sample figures (optimistic; honest figures come from
        :func:`core.models.cross_validate_models`).

    Examples
    --------
    >>> from core.data.io import load
    >>> data = load("customers.csv")  # doctest: +SKIP
    >>> m = KeyFactorModels("seed").fit(data.frame)  # doctest: +SKIP
    >>> h = m.catalog_.holdings(data.frame)  # doctest: +SKIP
    >>> h[:, m.product_keys_.index("tech_support")] = True  # doctest: +SKIP
    >>> m.predict_factors(data.frame, h)["churn"]  # doctest: +SKIP
    """

    def __init__(
        self,
        catalog: Catalog | str = "seed",
        cltv_model: str = "hgb",
        satisfaction_model: str | None = None,
        include_satisfaction_in_churn: bool = False,
        churn_model: str | None = None,
        factors: Sequence[str] | None = None,
        random_state: int | np.random.Generator | None = 0,
        preset: str = "accurate",
    ) -> None:
        self.preset = preset
        self.catalog = catalog
        self.cltv_model = cltv_model
        self.satisfaction_model = satisfaction_model
        self.include_satisfaction_in_churn = include_satisfaction_in_churn
        self.churn_model = churn_model
        self.factors = factors
        self.random_state = random_state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # artifacts written before presets existed were fitted with the accurate preset
        state.setdefault("preset", "accurate")
        if "factors_" in state:
            state.setdefault("churn_kind_", state.get("churn_model") or "blend")
            state.setdefault("satisfaction_kind_", state.get("satisfaction_model") or "ordinal")
            state.setdefault("churn_target_", "label")
        super().__setstate__(state)

    def fit(self, frame: pd.DataFrame, y: Any = None) -> KeyFactorModels:
        """Fit every key-factor model the data supports; returns ``self``."""
        with model_threads():
            return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> KeyFactorModels:
        _check_choice("preset", self.preset, tuple(PRESETS))
        preset = PRESETS[self.preset]
        default = preset.churn_model if "Contract" in frame.columns else preset.churn_model_generic
        self.churn_kind_ = self.churn_model or default
        self.satisfaction_kind_ = self.satisfaction_model or preset.satisfaction_model
        _check_choice("cltv_model", self.cltv_model, CLTV_MODELS)
        _check_choice("satisfaction_model", self.satisfaction_kind_, SATISFACTION_MODELS)
        _check_choice("churn_model", self.churn_kind_, CHURN_MODELS)
        wanted = tuple(schema.FACTORS if self.factors is None else self.factors)
        for f in wanted:
            _check_choice("factor", f, schema.FACTORS)
        if len(frame) < 20:
            raise ModelError(f"{len(frame)} rows: at least 20 customers are needed to fit models.")
        seed = seed_of(self.random_state, high=SKLEARN_SEED_HIGH)
        self.catalog_ = resolve_catalog(self.catalog, list(frame.columns))
        self.product_keys_ = self.catalog_.keys
        self.features_ = PortfolioFeatures(self.catalog_).fit(frame)
        self.feature_names_ = list(self.features_.feature_names_)
        self.churn_features_ = PortfolioFeatures(
            self.catalog_, include_satisfaction=self.include_satisfaction_in_churn
        ).fit(frame)
        self.churn_feature_names_ = list(self.churn_features_.feature_names_)
        X = self.features_.transform(frame)
        self.unavailable_factors_: dict[str, str] = {}
        self.churn_model_ = self.cltv_model_ = self.satisfaction_model_ = None
        metrics: dict[str, Any] = {"n_rows": len(frame)}
        for f in schema.FACTORS:
            if f not in wanted:
                self.unavailable_factors_[f] = "not requested (factors parameter)"
        y_churn = _factor_target(frame, "churn")
        self.churn_target_ = "label"
        if "churn" not in wanted:
            pass
        elif y_churn is None:
            self.unavailable_factors_["churn"] = (
                "the data has no Churn Value / Churn Label (or Churn Probability) column"
            )
        elif np.unique(y_churn).size < 2:
            self.unavailable_factors_["churn"] = "every customer has the same churn outcome"
        elif not _is_binary(y_churn):
            # a given churn probability: soft labels, learnt by boosting (fit_soft)
            self.churn_target_ = "probability"
            if self.churn_kind_ not in SOFT_LABEL_MODELS:
                self.churn_kind_ = preset.churn_model_generic
            Xc = self.churn_features_.transform(frame)
            self.churn_model_ = fit_soft(self._make("churn", Xc, seed), Xc, y_churn)
            p = self.churn_model_.predict_proba(Xc)[:, 1]
            metrics["churn"] = {"train_brier": float(np.mean((p - y_churn) ** 2))}
        else:
            Xc = self.churn_features_.transform(frame)
            self.churn_model_ = self._make("churn", Xc, seed).fit(Xc, y_churn.astype(int))
            p = self.churn_model_.predict_proba(Xc)[:, 1]
            metrics["churn"] = {"train_roc_auc": float(roc_auc_score(y_churn, p))}
        for factor, attr in (("cltv", "cltv_model_"), ("satisfaction", "satisfaction_model_")):
            if factor not in wanted:
                continue
            y_f = _factor_target(frame, factor)
            if y_f is None:
                col = schema.FACTOR_COLUMNS[factor]
                self.unavailable_factors_[factor] = f"the data has no {col} column"
                continue
            model = self._make(factor, X, seed).fit(X, y_f)
            setattr(self, attr, model)
            metrics[factor] = {"train_r2": float(r2_score(y_f, model.predict(X)))}
        self.factors_ = tuple(f for f in schema.FACTORS if f not in self.unavailable_factors_)
        if not self.factors_:
            raise ModelError(
                "no key factor can be modelled: the data has no churn outcome with both classes, "
                "no CLTV and no Satisfaction Score."
            )
        self.metrics_ = metrics
        return self

    def _make(self, factor: str, X: pd.DataFrame, seed: int) -> Any:
        builder = self.churn_features_ if factor == "churn" else self.features_
        cat = list(builder.categorical_)
        num = [c for c in X.columns if c not in cat]
        preset = PRESETS[self.preset]
        if factor == "churn":
            return churn_estimator(self.churn_kind_, X, cat, num, seed, preset)
        if factor == "cltv":
            return regressor(self.cltv_model, X, cat, num, seed, preset)
        return satisfaction_estimator(self.satisfaction_kind_, X, cat, num, seed, preset)

    # -- prediction ------------------------------------------------------------------------
    def features(
        self, frame: pd.DataFrame, holdings: np.ndarray | None = None, *, factor: str = "churn"
    ) -> pd.DataFrame:
        """The model matrix of ``factor``'s model as if customers held ``holdings``.

        ``holdings`` is bool ``[n, P]`` in :attr:`product_keys_` order (observed if None).
        Never contains a column of :data:`core.data.schema.OUTCOME_COLUMNS`; contains
        ``Satisfaction Score`` only for the churn model with ``include_satisfaction_in_churn``.
        """
        self._check_fitted()
        builder = self.churn_features_ if factor == "churn" else self.features_
        return builder.transform(frame, holdings)

    def _check_fitted(self) -> None:
        if not hasattr(self, "factors_"):
            raise ModelError("KeyFactorModels is not fitted yet: call fit(frame) first.")

    def predict_factor(
        self, frame: pd.DataFrame, holdings: np.ndarray | None, factor: str
    ) -> np.ndarray:
        """One factor as if customers held ``holdings``; raises ModelError if not fitted."""
        self._check_fitted()
        if factor not in schema.FACTORS:
            raise ModelError(f"unknown factor {factor!r}; factors are {list(schema.FACTORS)}.")
        if factor in self.unavailable_factors_:
            raise ModelError(
                f"no {factor} model: {self.unavailable_factors_[factor]}. "
                "Unavailable factors are reported, never invented."
            )
        model = {
            "churn": self.churn_model_,
            "cltv": self.cltv_model_,
            "satisfaction": self.satisfaction_model_,
        }[factor]
        out = np.empty(len(frame), dtype=float)
        with model_threads():
            self._predict_into(out, model, frame, holdings, factor)
        if factor == "satisfaction":
            np.clip(out, 1.0, 5.0, out=out)
        return out

    def _predict_into(
        self,
        out: np.ndarray,
        model: Any,
        frame: pd.DataFrame,
        holdings: np.ndarray | None,
        factor: str,
    ) -> None:
        for start in range(0, len(frame), _CHUNK):
            stop = min(start + _CHUNK, len(frame))
            part = frame.iloc[start:stop]
            h = None if holdings is None else np.asarray(holdings)[start:stop]
            X = self.features(part, h, factor=factor)
            if factor == "churn":
                out[start:stop] = model.predict_proba(X)[:, 1]
            else:
                out[start:stop] = model.predict(X)

    def predict_factors(
        self, frame: pd.DataFrame, holdings: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Predicted key factors of each row as if the customer held ``holdings``.

        Parameters
        ----------
        frame
            Validated canonical frame (customer features; the observed portfolio is replaced).
        holdings
            Bool ``[n, P]`` in :attr:`product_keys_` order; None means the observed portfolio.

        Returns
        -------
        dict
            ``"cltv"`` (expected CLTV), ``"churn"`` (churn probability) and ``"satisfaction"``
            (expected score, 1-5), each float ``[n]``, for the factors in :attr:`factors_` only;
            an unavailable factor is absent (see :attr:`unavailable_factors_`), never invented.
        """
        self._check_fitted()
        return {f: self.predict_factor(frame, holdings, f) for f in self.factors_}

    def predict_portfolios(
        self,
        frame: pd.DataFrame,
        portfolios: Sequence[np.ndarray | None],
        rows: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Predicted key factors under several portfolios at once: factor -> float ``[K, n]``.

        Row ``k`` equals ``predict_factors(frame, portfolios[k])[factor]`` (the same numbers),
        but the customer features are read once and every model is called on all ``K``
        portfolios of a chunk of customers stacked together (one call per model and chunk of
        about ``50,000 / K`` customers instead of ``K`` calls), which removes most of the
        per-call overhead of the pipelines. Each portfolio is bool ``[n, P]`` in
        :attr:`product_keys_` order (None = observed). With ``rows`` the customers are
        ``frame.iloc[rows]`` (repeats allowed; portfolios then have ``len(rows)`` rows), read
        from ``frame`` once each.
        """
        self._check_fitted()
        hs = [None if h is None else np.asarray(h) for h in portfolios]
        if rows is not None:
            rows = np.asarray(rows, dtype=np.intp)
        k, n = len(hs), len(frame) if rows is None else len(rows)
        out = {f: np.empty((k, n), dtype=float) for f in self.factors_}
        if k == 0 or n == 0:
            return out
        models: dict[str, Any] = {
            "churn": self.churn_model_,
            "cltv": self.cltv_model_,
            "satisfaction": self.satisfaction_model_,
        }
        step = max(1, _CHUNK // k)
        with model_threads():
            for start in range(0, n, step):
                stop = min(start + step, n)
                sub = [None if h is None else h[start:stop] for h in hs]
                if rows is None:
                    scorer = StackedScorer(frame.iloc[start:stop], sub)
                else:
                    r = rows[start:stop]
                    lo, hi = int(r.min()), int(r.max()) + 1
                    scorer = StackedScorer(frame.iloc[lo:hi], sub, r - lo)
                for f in self.factors_:
                    builder = self.churn_features_ if f == "churn" else self.features_
                    pred = scorer.predict(models[f], builder, proba=f == "churn")
                    out[f][:, start:stop] = np.asarray(pred, dtype=float).reshape(k, stop - start)
        if "satisfaction" in out:
            np.clip(out["satisfaction"], 1.0, 5.0, out=out["satisfaction"])
        return out

    def permutation_importance(
        self,
        frame: pd.DataFrame,
        factor: str = "churn",
        *,
        n_repeats: int = 5,
        max_rows: int | None = 3000,
        random_state: int | None = 0,
    ) -> pd.DataFrame:
        """Permutation importance of the model matrix columns for ``factor`` on ``frame``.

        Scores: ROC AUC for churn, R2 for CLTV and satisfaction. Use held-out rows for an honest
        picture (:func:`core.models.cross_validate_models` does). Returns a DataFrame sorted by
        importance.
        """
        self.predict_factor(frame.iloc[:1], None, factor)  # raises for unavailable factors
        rng = np.random.default_rng(random_state)
        if max_rows is not None and len(frame) > max_rows:
            frame = frame.iloc[np.sort(rng.choice(len(frame), max_rows, replace=False))]
        X = self.features(frame, None, factor=factor)
        y = _factor_target(frame, factor)
        if y is None:
            raise ModelError(f"the frame has no {schema.FACTOR_COLUMNS[factor]} column.")
        model = getattr(self, f"{factor}_model_")
        return permutation_importance(model, X, y, factor, n_repeats, random_state)
