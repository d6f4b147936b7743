"""Shared pieces of the estimators: result type, observed factors, customer feature matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data import schema
from core.data.catalog import Catalog
from core.data.extras import MAX_LEVELS
from core.data.feedback import TEXT_COUNT, TEXT_TRAIT_PREFIX, text_feature_columns

#: Columns that are consequences of the portfolio (prices, usage of held services). They are
#: not used to find similar customers or to smooth: conditioning on them would compare
#: customers *after* the treatment. The catalog's own product columns enter as holdings.
POST_TREATMENT: tuple[str, ...] = (
    "Monthly Charge",
    "Total Charges",
    "Total Revenue",
    "Total Refunds",
    "Total Extra Data Charges",
    "Total Long Distance Charges",
    "Avg Monthly Long Distance Charges",
    "Avg Monthly GB Download",
)


@dataclass(frozen=True, eq=False)
class EstimatorResult:
    """What an estimator returns: raw effects (positive = good) and how to read them."""

    raw: np.ndarray  # float [n, 1 + P, P, 3]
    units: dict[str, str]
    notes: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)


def observed_factors(
    frame: pd.DataFrame, models: Any = None
) -> tuple[dict[str, np.ndarray | None], dict[str, str], list[str]]:
    """Observed key factors oriented so that **higher is better**.

    ``cltv`` <- CLTV; ``churn`` <- minus Churn Score (the study's choice) or, without it, minus
    the predicted churn probability of ``models`` (when given) or minus Churn Value;
    ``satisfaction`` <- Satisfaction Score. A factor whose column is absent is ``None``.

    Returns
    -------
    (values, sources, notes)
    """
    values: dict[str, np.ndarray | None] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)

    values["cltv"] = col("CLTV") if "CLTV" in frame.columns else None
    sources["cltv"] = "CLTV"
    if "Churn Score" in frame.columns:
        values["churn"], sources["churn"] = -col("Churn Score"), "Churn Score (lower is better)"
    elif models is not None and hasattr(models, "predict_factors"):
        pred = models.predict_factors(frame, None)["churn"]
        values["churn"] = -np.asarray(pred, dtype=np.float64)
        sources["churn"] = "predicted churn probability (no Churn Score in the data)"
        notes.append("churn: no Churn Score column; used the churn model's predicted probability.")
    elif "Churn Value" in frame.columns:
        values["churn"] = -col("Churn Value")
        sources["churn"] = "Churn Value (no Churn Score in the data)"
        notes.append("churn: no Churn Score column; used the 0/1 Churn Value (many ties).")
    else:
        values["churn"] = None
        sources["churn"] = "unavailable"
    values["satisfaction"] = (
        col("Satisfaction Score") if "Satisfaction Score" in frame.columns else None
    )
    sources["satisfaction"] = "Satisfaction Score"
    for f, v in values.items():
        if v is None:
            notes.append(f"{f}: not observed in the data; its components are 0.")
        elif not np.all(np.isfinite(v)):
            bad = int((~np.isfinite(v)).sum())
            notes.append(f"{f}: {bad} missing values were set to the median.")
            v[~np.isfinite(v)] = np.nanmedian(v) if np.isfinite(v).any() else 0.0
    return values, sources, notes


def pretreatment_columns(columns: Any, catalog: Catalog) -> list[str]:
    """The leakage-guarded, pre-treatment feature columns of a frame (see :func:`feature_matrix`),
    with the pre-treatment text features (``text_trait_...``: what a customer cares about) last."""
    product_cols = {p.column for p in catalog.products}
    canonical = [
        c
        for c in schema.feature_columns(columns, target="cltv")
        if c not in product_cols
        and c not in POST_TREATMENT
        and c != "CLTV"
        and schema.BY_NAME[c].role == "feature"
    ]
    return canonical + text_feature_columns(columns, pretreatment=True)


def shrunk_trait_share(share: np.ndarray, n: np.ndarray, mean: float, prior: float) -> np.ndarray:
    """A text trait share pulled toward the writers' mean by ``prior`` pseudo-texts.

    ``(share * n + mean * prior) / (n + prior)``: a customer with one text says little about
    what they care about, one with five says more, and a customer without texts (``n = 0``)
    gets the writers' ``mean`` (no evidence), not a share of 0 (which would read as "never
    mentions price").
    """
    s = np.where(np.isfinite(share), share, 0.0)
    k = np.where(np.isfinite(n), np.maximum(n, 0.0), 0.0)
    return (s * k + mean * prior) / (k + prior)


@dataclass(frozen=True, eq=False)
class FeatureEncoder:
    """The numeric matrix of pre-treatment customer features, fitted once, applied to any rows.

    Numbers are z-scored with the fitted median (for missing values), mean and standard
    deviation; text columns are one-hot with the fitted categories (unseen ones are all 0).
    With ``trait_prior > 0`` and a :data:`TEXT_COUNT` column, every text trait share
    (``text_trait_...``) is first shrunk toward the fitted writers' mean
    (:func:`shrunk_trait_share`, ``traits`` holds column and mean), so customers without texts
    sit at the writers' average instead of at 0.
    """

    numeric: tuple[tuple[str, float, float, float], ...]  # column, median, mean, sd
    categorical: tuple[tuple[str, tuple[Any, ...]], ...]  # column, categories
    traits: tuple[tuple[str, float], ...] = ()  # text trait column, writers' mean share
    trait_prior: float = 0.0

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        catalog: Catalog,
        *,
        trait_prior: float = 0.0,
        extra_numeric: Sequence[str] = (),
        extra_categorical: Sequence[str] = (),
    ) -> FeatureEncoder:
        """Fit on ``frame``; ``trait_prior`` pseudo-texts shrink the text trait shares (0: raw).

        ``extra_numeric`` and ``extra_categorical`` are further pre-treatment columns of the
        frame beyond the schema (a file's extra columns; the caller vouches that they do not
        move with the portfolio), encoded after the schema's: numbers z-scored, anything else
        one-hot over its :data:`~core.data.extras.MAX_LEVELS` most frequent values.
        """
        numeric: list[tuple[str, float, float, float]] = []
        categorical: list[tuple[str, tuple[Any, ...]]] = []
        traits: list[tuple[str, float]] = []
        shrink = trait_prior > 0 and TEXT_COUNT in frame.columns
        n = _numbers(frame, TEXT_COUNT) if shrink else None
        for c in pretreatment_columns(frame.columns, catalog):
            s = frame[c]
            spec = schema.BY_NAME.get(c)
            if spec is None or spec.kind in ("int", "float"):  # text features are numbers
                x = _numbers(frame, c)
                if n is not None and c.startswith(TEXT_TRAIT_PREFIX):
                    writers = (n > 0) & np.isfinite(x)
                    mean = float(x[writers].mean()) if writers.any() else 0.0
                    traits.append((c, mean))
                    x = shrunk_trait_share(x, n, mean, trait_prior)
                numeric.append((c, *_standardiser(x)))
            else:
                _, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
                if len(uniques) >= 2:
                    categorical.append((c, tuple(uniques)))
        for c in extra_numeric:
            numeric.append((c, *_standardiser(_numbers(frame, c))))
        for c in extra_categorical:
            counts = frame[c].astype(object).dropna().value_counts()
            if len(counts) >= 2:
                categorical.append((c, tuple(counts.index[:MAX_LEVELS])))
        return cls(
            tuple(numeric), tuple(categorical), tuple(traits), trait_prior if traits else 0.0
        )

    @property
    def columns(self) -> list[str]:
        """Names of the matrix columns (``column=category`` for one-hot ones)."""
        out = [c for c, *_ in self.numeric]
        out += [f"{c}={v}" for c, cats in self.categorical for v in cats]
        return out or ["(no features: a column of zeros)"]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 ``[n, d]``."""
        parts: list[np.ndarray] = []
        traits = dict(self.traits)
        n = _numbers(frame, TEXT_COUNT) if traits else None
        for c, med, mean, sd in self.numeric:
            x = _numbers(frame, c)
            if n is not None and c in traits:
                x = shrunk_trait_share(x, n, traits[c], self.trait_prior)
            x = np.where(np.isfinite(x), x, med)
            parts.append(((x - mean) / sd)[:, None])
        for c, cats in self.categorical:
            codes = pd.Index(cats).get_indexer(frame[c].astype(object))
            onehot = np.zeros((len(frame), len(cats)), dtype=np.float64)
            ok = codes >= 0
            onehot[np.nonzero(ok)[0], codes[ok]] = 1.0
            parts.append(onehot)
        if not parts:
            return np.zeros((len(frame), 1), dtype=np.float32)
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float32)


def _standardiser(x: np.ndarray) -> tuple[float, float, float]:
    """Median (for missing values), mean and standard deviation (1 when constant) of ``x``."""
    med = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
    x = np.where(np.isfinite(x), x, med)
    sd = float(x.std())
    return med, float(x.mean()), sd if sd > 0 else 1.0


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)


def feature_matrix(frame: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    """Standardised numeric matrix of *pre-treatment* customer features, float32 ``[n, d]``.

    Uses the leakage-guarded feature columns (:func:`core.data.schema.feature_columns`), without
    Satisfaction Score and CLTV (factors), geography, the catalog's product columns and the
    :data:`POST_TREATMENT` columns. Numbers are z-scored; text columns are one-hot (0/1). The
    frame's own statistics are used (:class:`FeatureEncoder` fits them once for other rows).
    """
    return FeatureEncoder.fit(frame, catalog).transform(frame)
