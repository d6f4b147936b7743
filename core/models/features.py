"""The model matrix: the canonical columns the models may read, and the portfolio as features.

The portfolio as explicit features
----------------------------------
Every product of the catalog enters the models as one 0/1 feature ``holds_<key>``, so a model can
be asked "what if this customer held that portfolio instead?" (the counterfactual / S-learner
estimator does exactly that through :meth:`core.models.KeyFactorModels.predict_factors`). The
product's own column (e.g. ``Internet Service``) is replaced by its holding feature. Columns that
the portfolio mechanically determines are rewritten consistently with the *counterfactual*
portfolio, only on rows where it differs from the observed one (see :class:`PortfolioFeatures`):

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

Text features
-------------
Columns named ``text_...`` (:data:`core.data.feedback.TEXT_PREFIX`: per-customer aggregates of
feedback texts, :func:`core.models.text.text_features_for`) are numeric customer features of
every model. They are made leakage-guarded: texts dated on or after the outcome period and
outcome texts (exit surveys, churn reasons) never enter them (:mod:`core.data.feedback.guard`).

Other businesses' columns
-------------------------
Whatever else the frame has (a mapped or catalog-read file's extra columns, the retail value
columns) becomes features through :class:`~core.models.extra_features.ExtraFeatures`: numeric,
yes/no and capped categorical, missing values filled from the training data, and a column that
is usage of a catalog product (zero without it) following the portfolio like the telecom usage
columns above.

Leakage guard
-------------
The model matrix is built from an explicit allow-list of canonical columns (plus the text
features above); no column of
:data:`core.data.schema.OUTCOME_COLUMNS` is ever read, and :meth:`PortfolioFeatures.transform`
asserts it. Geography (city, zip, coordinates, population) is not used. The key factors are
not features of one another, except ``Satisfaction Score`` in the churn model when
``include_satisfaction_in_churn=True`` (it is nearly a churn label in the IBM sample: scores 1-2
always churn, 4-5 never; :func:`core.models.cross_validate_models` reports the evidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from core.common.errors import ModelError
from core.data import schema
from core.data.catalog import Catalog, load_catalog
from core.data.feedback import text_feature_columns
from core.models._base import _yes
from core.models.extra_features import VALUE_FEATURES, ExtraFeatures

__all__ = [
    "ALLOWED_INPUTS",
    "CUSTOMER_BINARY",
    "CUSTOMER_CATEGORICAL",
    "CUSTOMER_NUMERIC",
    "HISTORY",
    "MONTHLY_CHARGE",
    "SATISFACTION",
    "SERVICE_PREREQUISITE",
    "USAGE",
    "PortfolioFeatures",
]


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
        *VALUE_FEATURES,
    )
)
assert not ALLOWED_INPUTS & set(schema.ALL_OUTCOME_COLUMNS), "leakage guard: outcome allowed"


def _reference_prices() -> dict[str, float]:
    try:
        full = load_catalog("full")
    except Exception:  # pragma: no cover - the bundled catalog always exists
        return {}
    return {p.column: float(p.monthly_price or 0.0) for p in full.products}


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
        # per-customer text features (core.data.feedback.TEXT_PREFIX), made leakage-guarded
        self.numeric_ += text_feature_columns(frame.columns)
        self.satisfaction_ = bool(self.include_satisfaction and SATISFACTION in cols)
        if self.include_satisfaction and SATISFACTION not in cols:
            raise ModelError("include_satisfaction=True but the data has no Satisfaction Score.")
        self.extras_ = ExtraFeatures.fit(frame, self.product_columns_, cat.holdings(frame))
        self.categorical_ += self.extras_.categorical
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
        extras = self._extras()
        base["cats"] = {
            c: frame[c].astype(object).to_numpy(dtype=object)
            for c in self.categorical_
            if c not in extras.levels
        }
        extra = extras.prepare(frame)
        base["cats"].update(extra["cats"])
        base["x_numeric"], base["x_binary"] = extra["x_numeric"], extra["x_binary"]
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
        out.update(self._extras().assemble(base, observed, new))
        for j, key in enumerate(self.product_keys_):
            out[f"holds_{key}"] = new[:, j].astype(float)
        if self.satisfaction_:
            out[SATISFACTION] = base["satisfaction"]
        return out

    def _extras(self) -> ExtraFeatures:
        """The fitted extra features (none for models pickled before they existed)."""
        return getattr(self, "extras_", None) or ExtraFeatures()

    @staticmethod
    def _frame(out: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
        result = pd.DataFrame(out, index=index)
        leaked = set(result.columns) & set(schema.ALL_OUTCOME_COLUMNS)
        if leaked:  # pragma: no cover - the allow-list makes this impossible
            raise ModelError(f"leakage guard: outcome column(s) {sorted(leaked)} in features")
        return result

    @property
    def numeric_features_(self) -> list[str]:
        return [c for c in self.feature_names_ if c not in self.categorical_]

    def feature_types(self) -> dict[str, str]:
        """``{feature: type}`` of the model matrix (what the model card lists)."""
        extra = self._extras().kinds(self.product_keys_)
        out: dict[str, str] = {}
        for c in self.feature_names_:
            if c in extra:
                out[c] = f"{extra[c]} (from the file)"
            elif c.startswith("holds_") and c[6:] in self.product_keys_:
                out[c] = "holding of a catalog product (0/1)"
            elif c in self.binary_ or c in self.services_:
                out[c] = "yes/no"
            elif c in self.categorical_:
                out[c] = "categorical"
            elif c in self.numeric_ or c == SATISFACTION:
                out[c] = "numeric"
            else:
                out[c] = "derived"
        return out


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
