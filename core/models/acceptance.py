"""Offer-acceptance propensity: P(customer takes product j | profile, other products)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from core.common.errors import ModelError
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.common.threads import model_threads
from core.data.catalog import Catalog, resolve_catalog
from core.models._base import _check_choice, _yes
from core.models.extra_features import ExtraFeatures
from core.models.factory import hgb_classifier, linear_preprocessor
from core.models.features import CUSTOMER_BINARY, CUSTOMER_CATEGORICAL, CUSTOMER_NUMERIC

__all__ = ["AcceptanceModels"]


class AcceptanceModels(BaseEstimator):
    """Offer-acceptance propensity: P(customer holds/takes product j | profile, other products).

    One calibrated classifier per product (``CalibratedClassifierCV``, sigmoid, 3 folds) on the
    portfolio-free customer profile (demographics, tenure, contract, billing, referrals, and a
    mapped or catalog-read file's extra columns: :class:`~core.models.extra_features.
    ExtraFeatures`) plus the holdings of the catalog's *other* products. Charges, usage and
    histories are not used: they reveal the portfolio mechanically (an extra column that is the
    usage of a product, and the retail value columns, stay out too). Each product's classifier
    is trained on the customers who meet its prerequisites (e.g. internet customers for Device
    Protection), so :meth:`predict_proba` returns the propensity *given the prerequisites are
    met* unless ``given_prerequisites=False``.

    Parameters
    ----------
    catalog
        Catalog or its name/path (restricted to the data's columns at fit time).
    base
        ``"logistic"`` (default) or ``"hgb"``.
    cv
        Folds of the calibration.
    random_state
        Seed.

    Attributes
    ----------
    catalog_, product_keys_, feature_names_
    extras_ : ExtraFeatures
        The file's extra columns; only their portfolio-free part (:meth:`profile_extras`) is used.
    models_ : list
        Per product: a fitted CalibratedClassifierCV, or a float (the smoothed rate) when a
        product has too few holders or non-holders to fit a classifier (see ``constant_``).
    constant_ : dict
        Product -> reason a constant rate was used.
    """

    def __init__(
        self,
        catalog: Catalog | str = "seed",
        base: str = "logistic",
        cv: int = 3,
        random_state: int | np.random.Generator | None = 0,
    ) -> None:
        self.catalog = catalog
        self.base = base
        self.cv = cv
        self.random_state = random_state

    def _profile(self, frame: pd.DataFrame, holdings: np.ndarray) -> pd.DataFrame:
        out: dict[str, Any] = {}
        for c in self.binary_:
            out[c] = _yes(frame[c]).astype(float)
        for c in self.categorical_:
            out[c] = frame[c].astype(object).to_numpy(dtype=object)
        for c in self.numeric_:
            out[c] = frame[c].to_numpy(dtype=float)
        extras = self._extras()
        if extras.names:
            prepared = extras.prepare(frame)
            numeric, binary, _ = self.profile_extras()
            for c in numeric:
                out[c] = prepared["x_numeric"][c]
            for c in binary:
                out[c] = prepared["x_binary"][c]
            out.update(prepared["cats"])
        for j, key in enumerate(self.product_keys_):
            out[f"holds_{key}"] = holdings[:, j].astype(float)
        return pd.DataFrame(out, index=frame.index)

    def fit(self, frame: pd.DataFrame, y: Any = None) -> AcceptanceModels:
        """Fit one calibrated classifier per product; returns ``self``."""
        with model_threads():
            return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> AcceptanceModels:
        _check_choice("base", self.base, ("logistic", "hgb"))
        seed = seed_of(self.random_state, high=SKLEARN_SEED_HIGH)
        self.catalog_ = resolve_catalog(self.catalog, list(frame.columns))
        self.product_keys_ = self.catalog_.keys
        cols = set(frame.columns)
        self.binary_ = [c for c in CUSTOMER_BINARY if c in cols]
        self.categorical_ = [c for c in CUSTOMER_CATEGORICAL if c in cols]
        self.numeric_ = [c for c in CUSTOMER_NUMERIC if c in cols]
        held = self.catalog_.holdings(frame)
        columns = tuple(p.column for p in self.catalog_.products)
        self.extras_ = ExtraFeatures.fit(frame, columns, held)
        X = self._profile(frame, held)
        self.feature_names_ = list(X.columns)
        categorical = [*self.categorical_, *self.extras_.categorical]
        req = self.catalog_.requires_matrix()
        self.models_: list[Any] = []
        self.constant_: dict[str, str] = {}
        for j, key in enumerate(self.product_keys_):
            eligible = held[:, req[j]].all(axis=1) if req[j].any() else np.ones(len(X), bool)
            yj = held[eligible, j].astype(int)
            cols_j = [c for c in X.columns if c != f"holds_{key}"]
            Xj = X.loc[eligible, cols_j]
            n_pos, n_neg = int(yj.sum()), int(len(yj) - yj.sum())
            if min(n_pos, n_neg) < 2 * self.cv:
                rate = (n_pos + 1) / (len(yj) + 2)
                self.models_.append(float(rate))
                self.constant_[key] = (
                    f"{n_pos} holders and {n_neg} non-holders among {len(yj)} eligible "
                    f"customers: too few to fit, the smoothed rate {rate:.3f} is used"
                )
                continue
            num = [c for c in cols_j if c not in categorical]
            if self.base == "hgb":
                est: Any = hgb_classifier(list(categorical), num, seed)
            else:
                est = make_pipeline(
                    linear_preprocessor(Xj, list(categorical), num),
                    LogisticRegression(C=1.0, max_iter=5000),
                )
            cal = CalibratedClassifierCV(est, method="sigmoid", cv=self.cv)
            self.models_.append(cal.fit(Xj, yj))
        return self

    def _extras(self) -> ExtraFeatures:
        """The fitted extra columns (none for models pickled before they existed)."""
        return getattr(self, "extras_", None) or ExtraFeatures()

    def profile_extras(self) -> tuple[list[str], list[str], list[str]]:
        """The extra columns the profile uses: ``(numeric, yes/no, categorical)``.

        See :meth:`~core.models.extra_features.ExtraFeatures.profile`: the usage of a product
        and the purchase histories are left out (they reveal the portfolio).
        """
        return self._extras().profile()

    def predict_proba(
        self,
        frame: pd.DataFrame,
        holdings: np.ndarray | None = None,
        *,
        given_prerequisites: bool = True,
    ) -> np.ndarray:
        """Propensity ``[n, P]`` that each customer takes each product.

        Parameters
        ----------
        frame
            Validated canonical frame.
        holdings
            Bool ``[n, P]`` portfolio to condition on (observed if None); column j itself is
            ignored for product j.
        given_prerequisites
            If True (default) the propensity assumes the product's prerequisites are met; if
            False it is 0 where they are not held in ``holdings``.
        """
        if not hasattr(self, "models_"):
            raise ModelError("AcceptanceModels is not fitted yet: call fit(frame) first.")
        observed = self.catalog_.holdings(frame)
        h = observed if holdings is None else np.asarray(holdings, dtype=bool)
        if h.shape != observed.shape:
            raise ModelError(f"holdings has shape {h.shape}; expected {observed.shape}.")
        with model_threads():
            return self._predict(frame, h, given_prerequisites)

    def _predict(self, frame: pd.DataFrame, h: np.ndarray, given_prerequisites: bool) -> np.ndarray:
        X = self._profile(frame, h)
        out = np.empty(h.shape, dtype=float)
        req = self.catalog_.requires_matrix()
        for j, key in enumerate(self.product_keys_):
            model = self.models_[j]
            if isinstance(model, float):
                out[:, j] = model
            else:
                cols_j = [c for c in X.columns if c != f"holds_{key}"]
                out[:, j] = model.predict_proba(X[cols_j])[:, 1]
            if not given_prerequisites and req[j].any():
                out[:, j] *= h[:, req[j]].all(axis=1)
        return out
