"""Key-factor models (CLTV, churn, satisfaction) and offer-acceptance propensity models.

Both model families follow scikit-learn conventions: ``__init__`` only stores parameters,
``fit(frame)`` returns ``self`` and fitted attributes end in ``_``. They take the validated
canonical frame of :func:`core.data.io.load` directly and build their own model matrix.

The portfolio as explicit features
----------------------------------
Every product of the catalog enters the models as one 0/1 feature ``holds_<key>``, so a model can
be asked "what if this customer held that portfolio instead?" (the counterfactual / S-learner
estimator does exactly that through :meth:`KeyFactorModels.predict_factors`). The product's own
column (e.g. ``Internet Service``) is replaced by its holding feature. Columns that the portfolio
mechanically determines are rewritten consistently with the *counterfactual* portfolio, only on
rows where it differs from the observed one (see :class:`PortfolioFeatures`):

* ``Monthly Charge``: plus the catalog ``monthly_price`` of every service added, minus it for
  every service removed (prices of services outside the catalog come from the bundled ``full``
  catalog; a service without a price counts 0). Floored at 0.
* ``Multiple Lines`` (when not itself a product) is set to No when phone is removed;
  ``Avg Monthly Long Distance Charges`` becomes 0 when phone is removed and the median of phone
  customers (learnt in ``fit``) when phone is added.
* Internet add-ons that are not products are set to No when internet is removed;
  ``Internet Type`` becomes ``"None"`` when internet is removed and the most common type among
  internet customers when it is added; ``Avg Monthly GB Download`` becomes 0 / the median of
  internet customers.
* ``Offer`` (the type of offer, when the ``offer`` product is toggled) becomes ``"None"`` when
  removed and, when added, the offer most often accepted by customers with the same tenure
  (the IBM offers are tenure-banded).
* Histories (``Total Charges`` and the other totals) are the past and are never rewritten; the
  derived ``charge_increase`` (current monthly charge minus the average charged so far) moves
  with the adjusted Monthly Charge, ``n_services`` with the portfolio.

Holdings passed in are taken as given: keeping them consistent with the catalog's prerequisites
(no add-on without internet) is the caller's job, as the eligibility mask does.

Leakage guard
-------------
The model matrix is built from an explicit allow-list of canonical columns; no column of
:data:`core.data.schema.OUTCOME_COLUMNS` is ever read, and :meth:`PortfolioFeatures.transform`
asserts it. Geography (city, zip, coordinates, population) is not used. The key factors are
not features of one another, except ``Satisfaction Score`` in the churn model when
``include_satisfaction_in_churn=True`` (it is nearly a churn label in the IBM sample: scores 1-2
always churn, 4-5 never; :func:`cross_validate_models` reports the evidence).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    SplineTransformer,
    StandardScaler,
)

from core.common.errors import ModelError
from core.common.progress import Progress
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.common.threads import model_threads
from core.data import schema
from core.data.catalog import Catalog, load_catalog, resolve_catalog
from core.models.presets import PRESETS, Preset

__all__ = [
    "CLTV_MODELS",
    "AcceptanceModels",
    "KeyFactorModels",
    "OrdinalRegressor",
    "PortfolioFeatures",
    "cross_validate_models",
]


#: Model families selectable for CLTV.
CLTV_MODELS: tuple[str, ...] = ("hgb", "gbr", "mlp", "rf", "ridge")
SATISFACTION_MODELS: tuple[str, ...] = ("ordinal", "regression")
CHURN_MODELS: tuple[str, ...] = ("blend", "hgb", "logistic")


# ---- the canonical columns the model matrix may read (the allow-list) -----------------------

#: Customer attributes that do not depend on the portfolio.
CUSTOMER_BINARY: tuple[str, ...] = (
    "Under 30",
    "Senior Citizen",
    "Married",
    "Dependents",
    "Referred a Friend",
    "Paperless Billing",
)
CUSTOMER_CATEGORICAL: tuple[str, ...] = ("Gender", "Contract", "Payment Method")
CUSTOMER_NUMERIC: tuple[str, ...] = (
    "Age",
    "Number of Dependents",
    "Number of Referrals",
    "Tenure in Months",
)
#: Subscribable services and the service each one needs (IBM physics, enforced by core.data.io).
SERVICE_PREREQUISITE: dict[str, str | None] = {
    "Phone Service": None,
    "Multiple Lines": "Phone Service",
    "Internet Service": None,
    "Online Security": "Internet Service",
    "Online Backup": "Internet Service",
    "Device Protection Plan": "Internet Service",
    "Premium Tech Support": "Internet Service",
    "Streaming TV": "Internet Service",
    "Streaming Movies": "Internet Service",
    "Streaming Music": "Internet Service",
    "Unlimited Data": "Internet Service",
}
#: Usage that exists only with a service: column -> (service, value without the service).
USAGE: dict[str, str] = {
    "Avg Monthly Long Distance Charges": "Phone Service",
    "Avg Monthly GB Download": "Internet Service",
}
#: Totals to date: history, never rewritten by a counterfactual portfolio.
HISTORY: tuple[str, ...] = (
    "Total Charges",
    "Total Refunds",
    "Total Extra Data Charges",
    "Total Long Distance Charges",
    "Total Revenue",
)
MONTHLY_CHARGE = "Monthly Charge"
SATISFACTION = "Satisfaction Score"
ALLOWED_INPUTS: frozenset[str] = frozenset(
    (
        *CUSTOMER_BINARY,
        *CUSTOMER_CATEGORICAL,
        *CUSTOMER_NUMERIC,
        *SERVICE_PREREQUISITE,
        *USAGE,
        *HISTORY,
        MONTHLY_CHARGE,
        "Internet Type",
        "Offer",
        SATISFACTION,
    )
)
assert not ALLOWED_INPUTS & set(schema.OUTCOME_COLUMNS), "leakage guard: outcome column allowed"

_CHUNK = 50_000  # rows per prediction chunk (bounds memory of the spline/one-hot matrices)


def _reference_prices() -> dict[str, float]:
    try:
        full = load_catalog("full")
    except Exception:  # pragma: no cover - the bundled catalog always exists
        return {}
    return {p.column: float(p.monthly_price or 0.0) for p in full.products}


def _yes(values: pd.Series) -> np.ndarray:
    return values.astype(object).eq("Yes").to_numpy(dtype=bool)


def _mode(values: pd.Series, default: str) -> str:
    counts = values.astype(object).value_counts()
    return str(counts.index[0]) if len(counts) else default


class PortfolioFeatures(BaseEstimator, TransformerMixin):
    """Build the leakage-guarded model matrix of a frame *as if* customers held ``holdings``.

    Parameters
    ----------
    catalog
        The (restricted) product catalog; holdings are in its product order.
    include_satisfaction
        Add ``Satisfaction Score`` (observed, never rewritten) to the matrix.

    Notes
    -----
    ``fit`` learns the reference values used when a product is added (median long-distance
    charge, most common internet type, median download, offer by tenure) and the column lists;
    ``transform(frame, holdings)`` returns a DataFrame with numeric columns (binary 0/1 included)
    and the categorical columns listed in :attr:`categorical_`.
    """

    def __init__(self, catalog: Catalog, include_satisfaction: bool = False) -> None:
        self.catalog = catalog
        self.include_satisfaction = include_satisfaction

    # -- fit ----------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, y: Any = None) -> PortfolioFeatures:
        cols = set(frame.columns)
        cat = self.catalog
        self.product_keys_ = cat.keys
        self.product_columns_ = tuple(p.column for p in cat.products)
        missing = [p.key for p in cat.products if p.column not in cols]
        if missing:
            raise ModelError(f"the data lacks the holding column(s) of product(s) {missing}.")
        prices = _reference_prices()
        for p in cat.products:
            prices[p.column] = float(p.monthly_price or 0.0)
        self.prices_ = {c: v for c, v in prices.items() if c in SERVICE_PREREQUISITE}
        product_cols = set(self.product_columns_)
        self.binary_ = [c for c in CUSTOMER_BINARY if c in cols]
        self.services_ = [c for c in SERVICE_PREREQUISITE if c in cols and c not in product_cols]
        self.categorical_ = [c for c in CUSTOMER_CATEGORICAL if c in cols]
        if "Internet Type" in cols and "Internet Type" not in product_cols:
            self.categorical_.append("Internet Type")
        self.offer_product_ = next((p.key for p in cat.products if p.column == "Offer"), None)
        if "Offer" in cols and (self.offer_product_ is not None or "Offer" not in product_cols):
            self.categorical_.append("Offer")
        self.numeric_ = [c for c in CUSTOMER_NUMERIC if c in cols]
        self.numeric_ += [c for c in USAGE if c in cols]
        self.numeric_ += [c for c in HISTORY if c in cols]
        if MONTHLY_CHARGE in cols:
            self.numeric_.append(MONTHLY_CHARGE)
        self.satisfaction_ = bool(self.include_satisfaction and SATISFACTION in cols)
        if self.include_satisfaction and SATISFACTION not in cols:
            raise ModelError("include_satisfaction=True but the data has no Satisfaction Score.")
        # reference values used when a product is added
        self.reference_: dict[str, Any] = {}
        if "Phone Service" in cols and "Avg Monthly Long Distance Charges" in cols:
            has = _yes(frame["Phone Service"])
            v = frame.loc[has, "Avg Monthly Long Distance Charges"]
            self.reference_["Avg Monthly Long Distance Charges"] = (
                float(v.median()) if has.any() else 0.0
            )
        if "Internet Service" in cols:
            has = _yes(frame["Internet Service"])
            if "Avg Monthly GB Download" in cols:
                v = frame.loc[has, "Avg Monthly GB Download"]
                self.reference_["Avg Monthly GB Download"] = float(v.median()) if has.any() else 0.0
            if "Internet Type" in cols:
                self.reference_["Internet Type"] = _mode(
                    frame.loc[has, "Internet Type"], "Fiber Optic"
                )
        if self.offer_product_ is not None and "Tenure in Months" in cols:
            took = frame["Offer"].astype(object).ne("None").to_numpy()
            sub = frame.loc[took, ["Tenure in Months", "Offer"]]
            self.offer_default_ = _mode(sub["Offer"], "Offer A") if len(sub) else "Offer A"
            self.offer_by_tenure_ = {
                int(t): _mode(g["Offer"], self.offer_default_)
                for t, g in sub.groupby("Tenure in Months")
            }
        elif self.offer_product_ is not None:
            took = frame["Offer"].astype(object).ne("None")
            self.offer_default_ = _mode(frame.loc[took.to_numpy(), "Offer"], "Offer A")
            self.offer_by_tenure_ = {}
        self.feature_names_ = list(self.transform(frame.iloc[:0]).columns)
        return self

    # -- transform ----------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame, holdings: np.ndarray | None = None) -> pd.DataFrame:
        """The model matrix of ``frame`` as if customers held ``holdings`` (observed if None)."""
        base = self._prepare(frame)
        h = base["observed"] if holdings is None else self._check_holdings(base, holdings)
        return self._frame(self._assemble(base, h), frame.index)

    def transform_many(
        self, frame: pd.DataFrame, portfolios: Sequence[np.ndarray | None]
    ) -> pd.DataFrame:
        """The model matrices of ``frame`` under each of ``portfolios``, stacked row-wise.

        Equal to ``pd.concat([transform(frame, h) for h in portfolios], ignore_index=True)``
        (same values, same columns), but the portfolio-independent work (reading and encoding
        the customer columns) is done once and only the portfolio-dependent columns are
        recomputed per portfolio, in numpy. Rows ``k * n .. (k + 1) * n - 1`` belong to
        ``portfolios[k]``; the index is a RangeIndex.
        """
        base = self._prepare(frame)
        parts = [
            self._assemble(base, base["observed"] if h is None else self._check_holdings(base, h))
            for h in portfolios
        ]
        if not parts:
            return self.transform(frame.iloc[:0]).reset_index(drop=True)
        cols = list(parts[0])
        out = {c: np.concatenate([p[c] for p in parts]) for c in cols}
        return self._frame(out, pd.RangeIndex(len(frame) * len(parts)))

    def matrix_many(
        self,
        frame: pd.DataFrame,
        portfolios: Sequence[np.ndarray | None],
        columns: Sequence[str],
        categories: dict[str, np.ndarray],
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """``transform_many`` as a float matrix, encoded like a fitted tree preprocessor.

        Rows as in :meth:`transform_many`; ``columns`` in the given order; a column in
        ``categories`` becomes the position of its value in ``categories[column]`` (the
        ``OrdinalEncoder.categories_`` of that column; unknown or missing values become NaN), the
        others are their numbers. This is what ``ColumnTransformer([OrdinalEncoder, passthrough])``
        makes of ``transform_many(frame, portfolios)[columns]``, without the string frame: a
        categorical column that no portfolio changes is encoded once for all portfolios.
        ``rows`` (optional) scores ``frame.iloc[rows]`` (customers may repeat) without copying
        the frame: the customer columns are read once per customer.
        """
        base = self._prepare(frame)
        lookups = {c: _category_index(cats) for c, cats in categories.items()}
        once: dict[str, np.ndarray] = {}
        if rows is not None:
            rows = np.asarray(rows, dtype=np.intp)
            for c in lookups:  # encode the customers' categories before repeating them
                if c in base["cats"]:
                    once[c] = _encode(base["cats"][c], lookups[c])[rows]
            base = _take_rows(base, rows)
        n, k = base["n"], len(portfolios)
        Z = np.empty((k * n, len(columns)))
        for q, h in enumerate(portfolios):
            new = base["observed"] if h is None else self._check_holdings(base, h)
            out = self._assemble(base, new)
            block = slice(q * n, (q + 1) * n)
            for col_no, c in enumerate(columns):
                v = out[c]
                if c in lookups:
                    shared = v is base["cats"].get(c)  # not rewritten by this portfolio
                    codes = once.get(c) if shared else None
                    if codes is None:
                        codes = _encode(v, lookups[c])
                        if shared:
                            once[c] = codes
                    Z[block, col_no] = codes
                else:
                    Z[block, col_no] = v
        return Z

    def _check_holdings(self, base: dict[str, Any], holdings: np.ndarray) -> np.ndarray:
        observed = base["observed"]
        h = np.asarray(holdings)
        if h.shape != observed.shape:
            raise ModelError(
                f"holdings has shape {h.shape}; expected {observed.shape} "
                f"(rows, products {list(self.product_keys_)})."
            )
        return h.astype(bool)

    def _prepare(self, frame: pd.DataFrame) -> dict[str, Any]:
        """The portfolio-independent arrays of ``frame`` (read once per frame)."""
        cols = frame.columns
        base: dict[str, Any] = {"n": len(frame), "observed": self.catalog.holdings(frame)}
        base["binary"] = {c: _yes(frame[c]).astype(float) for c in self.binary_}
        base["svc_old"] = {c: _yes(frame[c]) for c in SERVICE_PREREQUISITE if c in cols}
        base["cats"] = {
            c: frame[c].astype(object).to_numpy(dtype=object) for c in self.categorical_
        }
        base["numeric"] = {c: frame[c].to_numpy(dtype=float) for c in self.numeric_}
        base["tenure"] = (
            frame["Tenure in Months"].to_numpy() if "Tenure in Months" in cols else None
        )
        if "Contract" in cols:
            base["month_to_month"] = (
                frame["Contract"].astype(object).eq("Month-to-Month").to_numpy(dtype=float)
            )
        if {"Total Charges", "Tenure in Months"} <= set(cols):
            months = np.maximum(frame["Tenure in Months"].to_numpy(dtype=float), 1.0)
            base["per_month"] = frame["Total Charges"].to_numpy(dtype=float) / months
        if self.satisfaction_:
            base["satisfaction"] = frame[SATISFACTION].to_numpy(dtype=float)
        return base

    def _assemble(self, base: dict[str, Any], new: np.ndarray) -> dict[str, np.ndarray]:
        """The columns of the model matrix under portfolio ``new`` (bool ``[n, P]``)."""
        n = base["n"]
        observed = base["observed"]
        out: dict[str, Any] = {}
        for c in self.binary_:
            out[c] = base["binary"][c]
        # services: observed value, then the counterfactual portfolio
        svc_old = base["svc_old"]
        svc_new = dict(svc_old)
        for j, col in enumerate(self.product_columns_):
            if col in svc_new:
                svc_new[col] = new[:, j]
        for col, pre in SERVICE_PREREQUISITE.items():
            if pre is not None and col in svc_new and pre in svc_new and col in self.services_:
                svc_new[col] = svc_new[col] & svc_new[pre]
        changed = {c: svc_new[c] != svc_old[c] for c in svc_new}
        for c in self.services_:
            out[c] = svc_new[c].astype(float)
        cats: dict[str, np.ndarray] = dict(base["cats"])
        if "Internet Type" in cats and "Internet Service" in svc_new:
            itype = cats["Internet Type"].copy()
            added = changed["Internet Service"] & svc_new["Internet Service"]
            itype[~svc_new["Internet Service"]] = "None"
            itype[added] = self.reference_.get("Internet Type", "Fiber Optic")
            cats["Internet Type"] = itype
        if self.offer_product_ is not None and "Offer" in cats:
            j = self.product_keys_.index(self.offer_product_)
            had, has = observed[:, j], new[:, j]
            offer = cats["Offer"].copy()
            offer[~has] = "None"
            add = has & ~had
            if add.any():
                if base["tenure"] is not None:
                    ten = base["tenure"][add]
                    offer[add] = [
                        self.offer_by_tenure_.get(int(t), self.offer_default_) for t in ten
                    ]
                else:
                    offer[add] = self.offer_default_
            cats["Offer"] = offer
        for c in self.categorical_:
            out[c] = cats[c]
        for c in self.numeric_:
            out[c] = base["numeric"][c]
        for col, service in USAGE.items():
            if col in out and service in svc_new:
                v = out[col].copy()
                v[~svc_new[service]] = 0.0
                v[changed[service] & svc_new[service]] = self.reference_.get(col, 0.0)
                out[col] = v
        if MONTHLY_CHARGE in out:
            delta = np.zeros(n)
            for c, ch in changed.items():
                if ch.any():
                    sign = svc_new[c].astype(float) - svc_old[c].astype(float)
                    delta += sign * self.prices_.get(c, 0.0)
            out[MONTHLY_CHARGE] = np.maximum(out[MONTHLY_CHARGE] + delta, 0.0)
        # derived features
        if "month_to_month" in base:
            out["month_to_month"] = base["month_to_month"]
        if svc_new:
            out["n_services"] = np.sum([v for v in svc_new.values()], axis=0, dtype=float)
        if "per_month" in base:
            per_month = base["per_month"]
            out["charges_per_month"] = per_month
            if MONTHLY_CHARGE in out:
                out["charge_increase"] = out[MONTHLY_CHARGE] - per_month
        for j, key in enumerate(self.product_keys_):
            out[f"holds_{key}"] = new[:, j].astype(float)
        if self.satisfaction_:
            out[SATISFACTION] = base["satisfaction"]
        return out

    @staticmethod
    def _frame(out: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
        result = pd.DataFrame(out, index=index)
        leaked = set(result.columns) & set(schema.OUTCOME_COLUMNS)
        if leaked:  # pragma: no cover - the allow-list makes this impossible
            raise ModelError(f"leakage guard: outcome column(s) {sorted(leaked)} in features")
        return result

    @property
    def numeric_features_(self) -> list[str]:
        return [c for c in self.feature_names_ if c not in self.categorical_]


# ---- estimators ---------------------------------------------------------------------------


def _take_rows(base: dict[str, Any], rows: np.ndarray) -> dict[str, Any]:
    """:meth:`PortfolioFeatures._prepare` output for the rows ``rows`` (numpy takes)."""
    out: dict[str, Any] = {"n": len(rows)}
    for key, value in base.items():
        if key == "n":
            continue
        if isinstance(value, dict):
            out[key] = {c: v[rows] for c, v in value.items()}
        elif isinstance(value, np.ndarray):
            out[key] = value[rows]
        else:
            out[key] = value
    return out


def _category_index(categories: np.ndarray) -> pd.Index:
    """Index of an ``OrdinalEncoder`` column's categories, a trailing NaN (missing) dropped."""
    values = [c for c in categories if not (isinstance(c, float) and np.isnan(c))]
    return pd.Index(values, dtype=object)


def _encode(values: np.ndarray, index: pd.Index) -> np.ndarray:
    """Codes of ``values`` in ``index`` as floats; unknown and missing values are NaN."""
    codes = index.get_indexer(pd.Index(values, dtype=object)).astype(float)
    codes[codes < 0] = np.nan
    return codes


def _tree_layout(model: Any) -> tuple[list[str], dict[str, np.ndarray], Any] | None:
    """``(columns, categories, final)`` of a fitted ``[tree preprocessor, model]`` pipeline.

    None unless ``model`` is a two-step :class:`Pipeline` whose first step is the fitted
    :func:`_tree_preprocessor` (an ``OrdinalEncoder`` on the categorical columns with unknown and
    missing values encoded as NaN, the numeric columns passed through, nothing else): then
    ``final`` applied to :meth:`PortfolioFeatures.matrix_many` equals the pipeline.
    """
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    pre = model.steps[0][1]
    if not isinstance(pre, ColumnTransformer) or not hasattr(pre, "transformers_"):
        return None
    columns: list[str] = []
    categories: dict[str, np.ndarray] = {}
    for name, trans, cols in pre.transformers_:
        cols = list(cols) if not isinstance(cols, str) else [cols]
        if name == "remainder":
            if trans != "drop":
                return None
            continue
        if isinstance(trans, OrdinalEncoder):
            if not (
                trans.handle_unknown == "use_encoded_value"
                and np.isnan(trans.unknown_value)
                and np.isnan(trans.encoded_missing_value)
            ):
                return None
            categories.update(zip(cols, trans.categories_, strict=True))
        elif not (
            trans == "passthrough"
            or (isinstance(trans, FunctionTransformer) and trans.func is None)  # fitted form
        ):
            return None
        columns += cols
    return columns, categories, model.steps[1][1]


class SegmentInteraction(BaseEstimator, TransformerMixin):
    """Encode with ``preprocessor`` and append the encoded columns multiplied by ``column``.

    With ``column="month_to_month"`` a linear model gets separate slopes for month-to-month
    customers, whose churn behaves differently from contract customers.
    """

    def __init__(self, preprocessor: Any, column: str) -> None:
        self.preprocessor = preprocessor
        self.column = column

    def fit(self, X: pd.DataFrame, y: Any = None) -> SegmentInteraction:
        self.preprocessor_ = clone(self.preprocessor).fit(X, y)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        z = np.asarray(self.preprocessor_.transform(X), dtype=float)
        if self.column not in X.columns:
            return z
        m = X[self.column].to_numpy(dtype=float)[:, None]
        return np.hstack([z, z * m])


_BLOCK = 2048  # rows per tree-ensemble call: the rows' features stay in the CPU cache


def _in_blocks(fn: Callable[[Any], Any], X: Any) -> np.ndarray:
    """``fn(X)`` computed on blocks of ``_BLOCK`` rows of the array ``X`` and stacked.

    For row-wise predictors (tree ensembles score each row on its own) the numbers are the same
    as ``fn(X)``; blocks keep a block's features in the cache while all trees are evaluated
    (sklearn walks the rows once per tree), about 1.5-2x faster on large matrices.
    """
    if not isinstance(X, np.ndarray) or len(X) <= _BLOCK:
        return np.asarray(fn(X))
    return np.concatenate([np.asarray(fn(X[s : s + _BLOCK])) for s in range(0, len(X), _BLOCK)])


def _predict_encoded(final: Any, Z: np.ndarray, proba: bool) -> np.ndarray:
    """A pipeline's last step on its encoded matrix ``Z``, in row blocks (:func:`_in_blocks`)."""
    if proba:
        return _in_blocks(final.predict_proba, Z)[:, 1]
    return _in_blocks(final.predict, Z)


def _predict_rows(model: Any, X: pd.DataFrame, proba: bool) -> np.ndarray:
    """``model.predict_proba(X)[:, 1]`` (``proba``) or ``model.predict(X)``, tree steps in blocks.

    A pipeline ending in a histogram gradient boosting model is preprocessed on the whole
    matrix and its final step scored in row blocks (:func:`_in_blocks`); other models are
    called as they are. The numbers are those of the plain call.
    """
    final = model.steps[-1][1] if isinstance(model, Pipeline) else None
    if isinstance(final, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        return _predict_encoded(final, model[:-1].transform(X), proba)
    if proba:
        return np.asarray(model.predict_proba(X))[:, 1]
    return np.asarray(model.predict(X))


class _StackedScorer:
    """Scores models on one chunk of customers under several portfolios, stacked row-wise.

    A ``[tree preprocessor, model]`` pipeline (:func:`_tree_layout`) is fed the encoded matrix
    of :meth:`PortfolioFeatures.matrix_many` (no string frame, no per-call column transformer); a
    soft :class:`VotingClassifier` without weights is the mean of its members' probabilities,
    each scored the cheapest way; anything else gets the model matrix frame of
    :meth:`PortfolioFeatures.transform_many`. The numbers are those of the plain pipeline calls
    (tested), only the work is less.
    """

    def __init__(
        self,
        part: pd.DataFrame,
        portfolios: list[np.ndarray | None],
        rows: np.ndarray | None = None,
    ) -> None:
        self.part = part
        self.portfolios = portfolios
        self.rows = rows
        self._frames: dict[tuple[str, ...], pd.DataFrame] = {}
        self._matrices: dict[tuple[tuple[str, ...], tuple[str, ...]], np.ndarray] = {}

    def _frame(self, builder: PortfolioFeatures) -> pd.DataFrame:
        key = tuple(builder.feature_names_)  # same columns, same matrix (as before)
        if key not in self._frames:
            part = self.part if self.rows is None else self.part.iloc[self.rows]
            self._frames[key] = builder.transform_many(part, self.portfolios)
        return self._frames[key]

    def predict(self, model: Any, builder: PortfolioFeatures, proba: bool) -> np.ndarray:
        layout = _tree_layout(model)
        if layout is not None:
            columns, categories, final = layout
            key = (tuple(builder.feature_names_), tuple(columns))
            if key not in self._matrices:
                self._matrices[key] = builder.matrix_many(
                    self.part, self.portfolios, columns, categories, rows=self.rows
                )
            return _predict_encoded(final, self._matrices[key], proba)
        if (
            proba
            and isinstance(model, VotingClassifier)
            and model.voting == "soft"
            and model.weights is None
            and hasattr(model, "estimators_")
        ):
            members = [self.predict(m, builder, proba=True) for m in model.estimators_]
            return np.average(np.stack(members), axis=0)
        return _predict_rows(model, self._frame(builder), proba)


class OrdinalRegressor(BaseEstimator, RegressorMixin):
    """Ordinal regression by cumulative binary classifiers (Frank and Hall, 2001).

    One clone of ``classifier`` per threshold estimates ``P(y >= level_k)``; the cumulative
    probabilities are made non-increasing and :meth:`predict` returns the expected level
    ``level_0 + sum_k (level_k - level_{k-1}) P(y >= level_k)``.
    """

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def fit(self, X: Any, y: Any) -> OrdinalRegressor:
        y = np.asarray(y, dtype=float)
        self.levels_ = np.unique(y)
        self.estimators_: list[Any] = []
        for level in self.levels_[1:]:
            target = (y >= level).astype(int)
            if target.min() == target.max():
                self.estimators_.append(float(target[0]))
            else:
                self.estimators_.append(clone(self.classifier).fit(X, target))
        return self

    def cumulative_proba(self, X: Any) -> np.ndarray:
        """``[n, K-1]`` non-increasing ``P(y >= level_k)`` for k = 1..K-1."""
        n = len(X)
        cols = [
            np.full(n, e) if isinstance(e, float) else _in_blocks(e.predict_proba, X)[:, 1]
            for e in self.estimators_
        ]
        if not cols:
            return np.zeros((n, 0))
        return np.minimum.accumulate(np.column_stack(cols), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        cum = self.cumulative_proba(X)
        steps = np.diff(self.levels_)
        return self.levels_[0] + cum @ steps


def _spline_columns(frame: pd.DataFrame, numeric: Sequence[str]) -> list[str]:
    return [c for c in numeric if frame[c].nunique() > 4]


def _linear_preprocessor(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> Any:
    parts: list[tuple[str, Any, list[str]]] = []
    if categorical:
        parts.append(
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float),
                categorical,
            )
        )
    if numeric:
        parts.append(("num", StandardScaler(), numeric))
    spl = _spline_columns(frame, numeric)
    if spl:
        parts.append(
            ("spline", SplineTransformer(n_knots=5, degree=3, extrapolation="constant"), spl)
        )
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _tree_preprocessor(categorical: list[str], numeric: list[str]) -> Any:
    parts: list[tuple[str, Any, list[str]]] = []
    if categorical:
        parts.append(
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                categorical,
            )
        )
    if numeric:
        parts.append(("num", "passthrough", numeric))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _hgb_classifier(
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Pipeline:
    return make_pipeline(
        _tree_preprocessor(categorical, numeric),
        _hgb(HistGradientBoostingClassifier, len(categorical), random_state, preset, 3),
    )


def _hgb(cls: Any, n_categorical: int, random_state: int, preset: Preset, depth: int) -> Any:
    """A histogram gradient boosting model after :func:`_tree_preprocessor` (categories first)."""
    native = preset.native_categorical and n_categorical > 0
    return cls(
        learning_rate=preset.learning_rate,
        max_iter=preset.rounds,
        max_depth=depth,
        min_samples_leaf=30,
        categorical_features=list(range(n_categorical)) if native else None,
        random_state=random_state,
    )


def _logistic(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> Pipeline:
    pre = _linear_preprocessor(frame, categorical, numeric)
    return make_pipeline(
        SegmentInteraction(pre, "month_to_month"),
        LogisticRegression(C=0.3, max_iter=5000),
    )


def _churn_estimator(
    kind: str,
    frame: pd.DataFrame,
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Any:
    if kind == "logistic":
        return _logistic(frame, categorical, numeric)
    if kind == "hgb":
        return _hgb_classifier(categorical, numeric, random_state, preset)
    return VotingClassifier(
        [
            ("logistic", _logistic(frame, categorical, numeric)),
            ("hgb", _hgb_classifier(categorical, numeric, random_state, preset)),
        ],
        voting="soft",
    )


def _regressor(
    kind: str,
    frame: pd.DataFrame,
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Any:
    if kind == "hgb":
        return make_pipeline(
            _tree_preprocessor(categorical, numeric),
            _hgb(HistGradientBoostingRegressor, len(categorical), random_state, preset, 4),
        )
    if kind == "gbr":
        return make_pipeline(
            _linear_preprocessor(frame, categorical, numeric),
            GradientBoostingRegressor(
                n_estimators=200, max_depth=3, learning_rate=0.05, random_state=random_state
            ),
        )
    if kind == "rf":
        return make_pipeline(
            _tree_preprocessor(categorical, numeric),
            RandomForestRegressor(
                n_estimators=200, min_samples_leaf=10, max_features=0.5, random_state=random_state
            ),
        )
    if kind == "ridge":
        return make_pipeline(
            _linear_preprocessor(frame, categorical, numeric),
            RidgeCV(alphas=np.logspace(-2, 3, 12)),
        )
    if kind == "mlp":
        return TransformedTargetRegressor(
            regressor=make_pipeline(
                _linear_preprocessor(frame, categorical, numeric),
                MLPRegressor(
                    hidden_layer_sizes=(64, 32),
                    alpha=1e-3,
                    learning_rate_init=1e-3,
                    max_iter=500,
                    early_stopping=True,
                    n_iter_no_change=15,
                    random_state=random_state,
                ),
            ),
            transformer=StandardScaler(),
        )
    raise ModelError(f"cltv_model={kind!r}: choose one of {list(CLTV_MODELS)}.")


def _satisfaction_estimator(
    kind: str,
    frame: pd.DataFrame,
    categorical: list[str],
    numeric: list[str],
    random_state: int,
    preset: Preset = PRESETS["accurate"],
) -> Any:
    if kind == "ordinal":
        # encode once, then one boosted classifier per threshold on the encoded matrix
        return make_pipeline(
            _tree_preprocessor(categorical, numeric),
            OrdinalRegressor(
                _hgb(HistGradientBoostingClassifier, len(categorical), random_state, preset, 3)
            ),
        )
    if kind == "regression":
        return _regressor("hgb", frame, categorical, numeric, random_state, preset)
    raise ModelError(f"satisfaction_model={kind!r}: choose one of {list(SATISFACTION_MODELS)}.")


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ModelError(f"{name}={value!r}: choose one of {list(allowed)}.")


def _factor_target(frame: pd.DataFrame, factor: str) -> np.ndarray | None:
    col = schema.FACTOR_COLUMNS[factor]
    if col not in frame.columns:
        return None
    y = frame[col]
    if y.isna().any():
        raise ModelError(
            f"{col} has {int(y.isna().sum())} empty value(s); the {factor} model needs every row. "
            "Fix: fill or drop those rows."
        )
    return y.to_numpy(dtype=float)


class KeyFactorModels(BaseEstimator):
    """Models of the three key factors from customer features plus portfolio.

    Parameters
    ----------
    catalog
        A :class:`~core.data.catalog.Catalog` or a catalog name/path; products whose column is not in
        the data are dropped at fit time (``product_keys_`` lists those kept).
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
        and histogram gradient boosting), ``"hgb"`` or ``"logistic"``; None: the preset's
        (``blend`` for ``accurate``, ``hgb`` for ``fast``).
    preset
        :data:`core.models.presets.PRESETS`: ``"accurate"`` (default; every gradient boosting model has 200 rounds
        at learning rate 0.05 and splits on category sets) or ``"fast"`` (60 rounds at 0.15 on
        the ordinal codes, churn ``hgb`` and satisfaction ``regression`` unless given): about
        7x fewer trees to evaluate per prediction, for scoring millions of customers in batch.
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
    features_ : PortfolioFeatures
        Builder of the model matrix (without Satisfaction Score).
    churn_features_ : PortfolioFeatures
        Builder of the churn model matrix.
    feature_names_ : list of str
        Columns of the model matrix of the CLTV and satisfaction models.
    churn_feature_names_ : list of str
        Columns of the churn model matrix.
    metrics_ : dict
        In-sample figures (optimistic; honest figures come from :func:`cross_validate_models`).

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
        super().__setstate__(state)

    def fit(self, frame: pd.DataFrame, y: Any = None) -> KeyFactorModels:
        """Fit every key-factor model the data supports; returns ``self``."""
        with model_threads():
            return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> KeyFactorModels:
        _check_choice("preset", self.preset, tuple(PRESETS))
        preset = PRESETS[self.preset]
        self.churn_kind_ = self.churn_model or preset.churn_model
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
        if "churn" not in wanted:
            pass
        elif y_churn is None:
            self.unavailable_factors_["churn"] = "the data has no Churn Value / Churn Label column"
        elif np.unique(y_churn).size < 2:
            self.unavailable_factors_["churn"] = "every customer has the same churn outcome"
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
            return _churn_estimator(self.churn_kind_, X, cat, num, seed, preset)
        if factor == "cltv":
            return _regressor(self.cltv_model, X, cat, num, seed, preset)
        return _satisfaction_estimator(self.satisfaction_kind_, X, cat, num, seed, preset)

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
                    scorer = _StackedScorer(frame.iloc[start:stop], sub)
                else:
                    r = rows[start:stop]
                    lo, hi = int(r.min()), int(r.max()) + 1
                    scorer = _StackedScorer(frame.iloc[lo:hi], sub, r - lo)
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
        picture (:func:`cross_validate_models` does). Returns a DataFrame sorted by importance.
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
        return _importance(model, X, y, factor, n_repeats, random_state)


def _importance(
    model: Any, X: pd.DataFrame, y: np.ndarray, factor: str, n_repeats: int, seed: int | None
) -> pd.DataFrame:
    """Permutation importance, batched: all shuffled copies are scored in a few large calls.

    Same definition as :func:`sklearn.inspection.permutation_importance` (drop of ROC AUC for
    churn, of R2 otherwise, when one column is shuffled; mean and std over ``n_repeats``), but
    the shuffled copies are stacked and predicted together (up to ~50,000 rows per call), which
    removes the per-call overhead of the pipelines (about 20x faster on the IBM sample).
    """
    rng = np.random.default_rng(seed)
    n, cols = len(X), list(X.columns)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        if factor == "churn":
            return np.asarray(model.predict_proba(frame)[:, 1], dtype=float)
        return np.asarray(model.predict(frame), dtype=float)

    def score(pred: np.ndarray) -> float:
        if factor == "churn":
            return float(roc_auc_score(y, pred))
        return float(r2_score(y, pred))

    jobs = [(c, r) for c in cols for r in range(n_repeats)]
    perms = {job: rng.permutation(n) for job in jobs}
    drops = {c: [] for c in cols}  # type: dict[str, list[float]]
    per_call = max(1, 50_000 // max(n, 1))
    with model_threads():
        base = score(predict(X))
        for start in range(0, len(jobs), per_call):
            batch = jobs[start : start + per_call]
            copies = []
            for c, r in batch:
                shuffled = X.copy()
                shuffled[c] = X[c].to_numpy()[perms[(c, r)]]
                copies.append(shuffled)
            pred = predict(pd.concat(copies, ignore_index=True))
            for b, (c, _) in enumerate(batch):
                drops[c].append(base - score(pred[b * n : (b + 1) * n]))
    return (
        pd.DataFrame(
            {
                "feature": cols,
                "importance_mean": [float(np.mean(drops[c])) for c in cols],
                "importance_std": [float(np.std(drops[c])) for c in cols],
            }
        )
        .sort_values("importance_mean", ascending=False)
        .reset_index(drop=True)
    )


# ---- acceptance propensity -----------------------------------------------------------------


class AcceptanceModels(BaseEstimator):
    """Offer-acceptance propensity: P(customer holds/takes product j | profile, other products).

    One calibrated classifier per product (``CalibratedClassifierCV``, sigmoid, 3 folds) on the
    portfolio-free customer profile (demographics, tenure, contract, billing, referrals) plus the
    holdings of the catalog's *other* products. Charges, usage and histories are not used: they
    reveal the portfolio mechanically. Each product's classifier is trained on the customers who
    meet its prerequisites (e.g. internet customers for Device Protection), so
    :meth:`predict_proba` returns the propensity *given the prerequisites are met* unless
    ``given_prerequisites=False``.

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
        X = self._profile(frame, held)
        self.feature_names_ = list(X.columns)
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
            num = [c for c in cols_j if c not in self.categorical_]
            if self.base == "hgb":
                est: Any = _hgb_classifier(list(self.categorical_), num, seed)
            else:
                est = make_pipeline(
                    _linear_preprocessor(Xj, list(self.categorical_), num),
                    LogisticRegression(C=1.0, max_iter=5000),
                )
            cal = CalibratedClassifierCV(est, method="sigmoid", cv=self.cv)
            self.models_.append(cal.fit(Xj, yj))
        return self

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


# ---- cross-validation ---------------------------------------------------------------------


def _reliability(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    frac, mean_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    nonempty = np.flatnonzero(counts)
    return [
        {
            "bin_lower": float(edges[b]),
            "bin_upper": float(edges[b + 1]),
            "mean_predicted": float(mp),
            "observed_rate": float(fr),
            "count": int(counts[b]),
        }
        for b, mp, fr in zip(nonempty, mean_pred, frac, strict=True)
    ]


def _summary(values: list[float]) -> dict[str, Any]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "folds": values}


def satisfaction_label_evidence(frame: pd.DataFrame) -> dict[str, Any]:
    """How close Satisfaction Score is to a churn label: churn rate per score and its AUC.

    ``flag`` is True when at least half the customers have a score whose churn rate is below 1%
    or above 99% (the score alone decides their label), or when the score alone ranks churners
    with ROC AUC >= 0.9.
    """
    if SATISFACTION not in frame.columns or "Churn Value" not in frame.columns:
        return {"available": False}
    s = frame[SATISFACTION].to_numpy(dtype=float)
    y = frame["Churn Value"].to_numpy(dtype=int)
    table = pd.DataFrame({"s": s, "y": y}).groupby("s")["y"].agg(["mean", "size"])
    decided = table[(table["mean"] <= 0.01) | (table["mean"] >= 0.99)]["size"].sum()
    share = float(decided / len(y))
    auc = float(roc_auc_score(y, -s)) if np.unique(y).size == 2 else float("nan")
    return {
        "available": True,
        "flag": bool(share >= 0.5 or auc >= 0.9),
        "churn_rate_by_score": {str(int(k)): float(v) for k, v in table["mean"].items()},
        "customers_by_score": {str(int(k)): int(v) for k, v in table["size"].items()},
        "share_with_score_deciding_churn": share,
        "roc_auc_of_score_alone": auc,
    }


def cross_validate_models(
    frame: pd.DataFrame,
    catalog: Catalog | str = "seed",
    *,
    cltv_model: str = "hgb",
    satisfaction_model: str | None = None,
    churn_model: str | None = None,
    preset: str = "accurate",
    n_splits: int = 5,
    random_state: int = 0,
    with_satisfaction: bool = True,
    importance: bool = True,
    importance_repeats: int = 2,
    importance_folds: int = 1,
    top_features: int = 15,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Stratified k-fold cross-validated metrics of the key-factor models.

    Folds are stratified on churn when the data has it (else plain shuffled k-fold) and shared by
    all factors. Each fold fits fresh models on the training part only.

    Returns
    -------
    dict
        JSON-able. ``churn``: ``roc_auc``, ``pr_auc``, ``brier`` (means over folds), ``base_rate``,
        ``folds`` (per-fold figures), ``reliability`` (10 uniform bins of out-of-fold
        predictions), ``with_satisfaction`` (the same metrics with Satisfaction Score as a
        feature) and ``satisfaction_is_nearly_a_label`` (evidence, see
        :func:`satisfaction_label_evidence`). ``cltv`` and ``satisfaction``: ``r2``, ``mae``,
        ``baseline_r2``, ``baseline_mae`` (predicting the training mean). A factor the data
        lacks has ``{"available": False, "reason": ...}`` and null metrics.
        ``permutation_importance`` (per factor, top features by mean drop of ROC AUC / R2 when
        the column is shuffled, on the first ``importance_folds`` held-out folds) and ``cv``
        (splits, rows, seconds).
    """
    t0 = time.perf_counter()
    cat = resolve_catalog(catalog, list(frame.columns))
    n = len(frame)
    y_churn = _factor_target(frame, "churn")
    has_churn = y_churn is not None and np.unique(y_churn).size == 2
    if has_churn:
        assert y_churn is not None
        min_class = int(min(y_churn.sum(), n - y_churn.sum()))
        k = min(n_splits, min_class)
        if k < 2:
            raise ModelError(
                f"only {min_class} customer(s) in the rarer churn class: cross-validation needs "
                "at least 2."
            )
        splitter: Any = StratifiedKFold(k, shuffle=True, random_state=random_state)
        splits = list(splitter.split(np.zeros(n), y_churn.astype(int)))
    else:
        k = min(n_splits, n // 10)
        if k < 2:
            raise ModelError(f"{n} rows: too few for cross-validation.")
        splits = list(KFold(k, shuffle=True, random_state=random_state).split(np.zeros(n)))
    sat_churn = with_satisfaction and has_churn and SATISFACTION in frame.columns
    steps = k * (1 + int(sat_churn)) + 1
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, steps)

    targets = {f: _factor_target(frame, f) for f in schema.FACTORS}
    oof = {f: np.full(n, np.nan) for f in schema.FACTORS}
    oof_sat = np.full(n, np.nan)
    per_fold: dict[str, list[dict[str, float]]] = {f: [] for f in schema.FACTORS}
    per_fold_sat: list[dict[str, float]] = []
    importances: dict[str, list[pd.DataFrame]] = {f: [] for f in schema.FACTORS}
    for fold, (tr, te) in enumerate(splits):
        train, test = frame.iloc[tr], frame.iloc[te]
        m = KeyFactorModels(
            cat,
            cltv_model=cltv_model,
            satisfaction_model=satisfaction_model,
            churn_model=churn_model,
            preset=preset,
            random_state=random_state + fold,
        ).fit(train)
        for f in m.factors_:
            y_te = targets[f]
            assert y_te is not None
            y_te = y_te[te]
            pred = m.predict_factor(test, None, f)
            oof[f][te] = pred
            if f == "churn":
                per_fold[f].append(_churn_scores(y_te, pred))
            else:
                base = float(np.mean(targets[f][tr]))  # type: ignore[index]
                per_fold[f].append(
                    {
                        "r2": float(r2_score(y_te, pred)),
                        "mae": float(mean_absolute_error(y_te, pred)),
                        "baseline_r2": float(r2_score(y_te, np.full(len(te), base))),
                        "baseline_mae": float(np.mean(np.abs(y_te - base))),
                    }
                )
            if importance and fold < importance_folds:
                X_te = m.features(test, None, factor=f)
                model = getattr(m, f"{f}_model_")
                imp = _importance(model, X_te, y_te, f, importance_repeats, random_state + fold)
                importances[f].append(imp.set_index("feature")["importance_mean"])
        tick()
        if sat_churn:
            ms = KeyFactorModels(
                cat,
                churn_model=churn_model,
                preset=preset,
                include_satisfaction_in_churn=True,
                factors=("churn",),
                random_state=random_state + fold,
            )
            ms.fit(train)
            p = ms.predict_factor(test, None, "churn")
            oof_sat[te] = p
            assert y_churn is not None
            per_fold_sat.append(_churn_scores(y_churn[te], p))
            tick()

    result: dict[str, Any] = {}
    for f in schema.FACTORS:
        if not per_fold[f]:
            col = schema.FACTOR_COLUMNS[f]
            reason = (
                f"the data has no {col} column"
                if targets[f] is None
                else "every customer has the same churn outcome"
            )
            keys = ("roc_auc", "pr_auc", "brier") if f == "churn" else ("r2", "mae")
            result[f] = {"available": False, "reason": reason, **dict.fromkeys(keys)}
            continue
        names = per_fold[f][0].keys()
        entry: dict[str, Any] = {"available": True}
        for name in names:
            entry[name] = float(np.mean([d[name] for d in per_fold[f]]))
        entry["folds"] = {name: [d[name] for d in per_fold[f]] for name in names}
        entry["std"] = {name: float(np.std([d[name] for d in per_fold[f]])) for name in names}
        if f == "churn":
            assert y_churn is not None
            entry["base_rate"] = float(np.mean(y_churn))
            entry["reliability"] = _reliability(y_churn.astype(int), oof[f])
            entry["model"] = churn_model or PRESETS[preset].churn_model
            entry["features"] = "customer profile + portfolio, without Satisfaction Score"
            if per_fold_sat:
                entry["with_satisfaction"] = {
                    name: float(np.mean([d[name] for d in per_fold_sat]))
                    for name in per_fold_sat[0]
                }
                entry["with_satisfaction"]["folds"] = {
                    name: [d[name] for d in per_fold_sat] for name in per_fold_sat[0]
                }
            entry["satisfaction_is_nearly_a_label"] = satisfaction_label_evidence(frame)
        else:
            entry["model"] = (
                cltv_model
                if f == "cltv"
                else satisfaction_model or PRESETS[preset].satisfaction_model
            )
            entry["n_levels"] = int(np.unique(targets[f]).size)  # type: ignore[arg-type]
        result[f] = entry
    if importance:
        result["permutation_importance"] = {
            f: [
                {"feature": str(name), "importance": float(v)}
                for name, v in pd.concat(importances[f], axis=1)
                .mean(axis=1)
                .sort_values(ascending=False)
                .head(top_features)
                .items()
            ]
            for f in schema.FACTORS
            if importances[f]
        }
    result["cv"] = {
        "n_splits": k,
        "stratified": bool(has_churn),
        "rows": n,
        "random_state": random_state,
        "catalog": cat.name,
        "products": list(cat.keys),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    tick()
    return result


def _churn_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = y.astype(int)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }
