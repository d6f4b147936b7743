"""Price response learned from randomized product x discount offers, and the level worth giving.

A past campaign whose arms are *product x discount level* (``arm = "internet@0.1"``, plus a
control group; :func:`core.data.synthetic.pricing.pricing_campaign_frame` draws one) tells how
acceptance moves with the discount:

* :func:`response_curves`: per segment, product and level, the acceptance rate with a Wilson
  interval (what the Campaigns page draws);
* :class:`DiscountModel`: per product, a logistic model of acceptance on the customer's
  pre-treatment features, the discount and their interaction (so price-sensitive customers can
  react more), refitted on ``n_boot`` bootstrap resamples of the log for intervals;
* :meth:`DiscountModel.choose`: each (customer, product)'s level by expected value **net of
  margin**. An offer at discount ``d`` is worth ``p(d) (margin - d) price`` per month kept: the
  discount is paid to *everyone* who accepts, including those who would have accepted at list
  price, so a level above the lowest is chosen only when the acceptance it adds pays for the
  margin given to all acceptors, and only when that gain is positive in at least
  ``confidence`` of the bootstrap fits (otherwise the lowest level, usually list price).
  The customer's expected tenure multiplies every level alike and does not change the choice.

:func:`discount_check` judges the choice on a synthetic population's truth (a fresh seed,
never the one the log was drawn from): the share of the truth-optimal margin-adjusted value it
captures and the share of customers who get a discount whose true uplift does not pay for its
margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, OptionError
from core.common.rng import as_generator
from core.data import schema
from core.data.catalog import Catalog
from core.data.feedback import text_feature_columns

#: Canonical columns the discount model never reads (geography: many levels, no price signal).
GEOGRAPHY: frozenset[str] = frozenset(
    {"Country", "State", "City", "Zip Code", "Latitude", "Longitude", "Population", "Quarter"}
)


def discount_features(columns: Sequence[str]) -> list[str]:
    """Default features of :class:`DiscountModel`: the canonical feature columns (holdings,
    usage, charges and demographics: all observed before the offer; no outcome, id or
    geography) plus the text trait features (``text_trait_...``)."""
    cols = [str(c) for c in columns]
    base = [c for c in schema.feature_columns(cols, target="cltv") if c not in GEOGRAPHY]
    return base + text_feature_columns(cols, pretreatment=True)


#: Columns of :func:`response_curves`.
CURVE_COLUMNS: tuple[str, ...] = (
    "segment",
    "product",
    "discount",
    "n",
    "accepted",
    "rate",
    "low",
    "high",
)


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    n = np.maximum(n, 1)
    p = k / n
    den = 1 + z**2 / n
    mid = (p + z**2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return np.clip(mid - half, 0, 1), np.clip(mid + half, 0, 1)


def _check_log(log: pd.DataFrame) -> None:
    need = {"Customer ID", "product", "discount", "accepted"}
    missing = sorted(need - set(log.columns))
    if missing:
        raise DataValidationError(
            f"discount campaign log: missing column(s) {missing}. Fix: one row per customer with "
            "the offered product, its discount level (empty for control) and accepted (0/1)."
        )
    d = pd.to_numeric(log["discount"], errors="coerce")
    bad = d.notna() & ~d.between(0, 1, inclusive="left")
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy())[:5] + 1).tolist()
        raise DataValidationError(
            f"discount campaign log: column 'discount' has levels outside [0, 1) in rows {rows} "
            f"(values {d[bad].head(3).tolist()}). Fix: write a level as a share, 0.1 = 10% off."
        )


def response_curves(
    log: pd.DataFrame, segments: pd.Series | np.ndarray | None = None
) -> pd.DataFrame:
    """Acceptance rate per segment, product and discount level, with 95% Wilson intervals.

    Parameters
    ----------
    log
        One row per customer: ``product`` and ``discount`` (empty for control), ``accepted``.
    segments
        Segment of each row (same order); None: one segment ``"all"``.

    Returns
    -------
    pandas.DataFrame
        :data:`CURVE_COLUMNS`, sorted by segment, product, discount; control rows left out.

    Examples
    --------
    >>> log = pd.DataFrame({"Customer ID": list("abcd"), "product": ["x", "x", "x", "x"],
    ...                     "discount": [0.0, 0.0, 0.2, 0.2], "accepted": [0, 1, 1, 1]})
    >>> response_curves(log)[["discount", "n", "rate"]].values.tolist()
    [[0.0, 2.0, 0.5], [0.2, 2.0, 1.0]]
    """
    _check_log(log)
    seg = (
        pd.Series("all", index=log.index)
        if segments is None
        else pd.Series(np.asarray(segments), index=log.index).astype(str)
    )
    frame = pd.DataFrame(
        {
            "segment": seg,
            "product": log["product"],
            "discount": pd.to_numeric(log["discount"], errors="coerce"),
            "accepted": log["accepted"].astype(np.float64),
        }
    ).dropna(subset=["product", "discount"])
    g = frame.groupby(["segment", "product", "discount"], sort=True)["accepted"]
    out = g.agg(n="size", accepted="sum").reset_index()
    out["n"] = out["n"].astype(np.float64)
    out["rate"] = out["accepted"] / out["n"]
    out["low"], out["high"] = _wilson(out["accepted"].to_numpy(), out["n"].to_numpy())
    return out[list(CURVE_COLUMNS)]


def offerable_products(catalog: Catalog, customers: pd.DataFrame) -> np.ndarray:
    """bool ``[n, P]`` (catalog order): the product is not held and its prerequisites are."""
    held = np.column_stack([p.held(customers) for p in catalog.products])
    out = ~held
    for j, p in enumerate(catalog.products):
        for req in p.requires:
            out[:, j] &= held[:, catalog.index(req)]
    return out


def _design(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Features, the level, its square and their interactions: a curve per customer."""
    d1, d2 = d[:, None], d[:, None] ** 2
    return np.hstack([x, d1, d2, x * d1, x * d2])


@dataclass(frozen=True, eq=False)
class DiscountChoice:
    """Chosen discount level per customer and product.

    Attributes
    ----------
    products : list of str
    levels : list of tuple of float
        Levels of each product.
    level : numpy.ndarray
        float ``[n, K]``: the chosen level (NaN where the product is not offerable).
    p : numpy.ndarray
        float ``[n, K, L]``: estimated acceptance at every level (mean over bootstrap fits).
    value : numpy.ndarray
        float ``[n, K]``: estimated margin per month kept at the chosen level
        (``p (margin - d) price``).
    """

    products: list[str]
    levels: list[tuple[float, ...]]
    level: np.ndarray
    p: np.ndarray
    value: np.ndarray


@dataclass(eq=False)
class DiscountModel:
    """Acceptance as a function of the discount and the customer (see the module docstring).

    Parameters
    ----------
    catalog
        Products with ``discounts``, ``margin`` and ``monthly_price``.
    features
        Customer columns to use (default :func:`discount_features`).
    n_boot
        Bootstrap refits for intervals and the confidence rule.
    confidence
        Share of bootstrap fits in which a deeper discount must gain value to be chosen.
    C
        Inverse L2 strength of the logistic models.
    random_state
        Seed of the bootstrap.
    """

    catalog: Catalog
    features: Sequence[str] | None = None
    n_boot: int = 20
    confidence: float = 0.9
    C: float = 1.0
    random_state: int = 0
    fitted_: dict[str, Any] = field(default_factory=dict, repr=False)

    def _product(self, key: str) -> tuple[float, float, tuple[float, ...]]:
        p = self.catalog.products[self.catalog.index(key)]
        if not p.discounts or p.margin is None or p.monthly_price is None:
            raise OptionError(
                f"product '{key}' of catalog '{self.catalog.name}' lists no discounts, margin or "
                "monthly_price: the discount level needs all three."
            )
        return p.margin, p.monthly_price, p.discounts

    def _col(self, key: str) -> int:
        return self.catalog.index(key)

    def fit(self, customers: pd.DataFrame, log: pd.DataFrame) -> DiscountModel:
        """Fit on a product x discount campaign log joined to ``customers`` by Customer ID."""
        from sklearn.linear_model import LogisticRegression

        from core.campaigns.features import FeatureEncoder

        if not 0 < self.confidence < 1:
            raise OptionError(f"confidence must be in (0, 1), got {self.confidence}")
        _check_log(log)
        cols = (
            list(self.features)
            if self.features is not None
            else discount_features(list(customers.columns))
        )
        self.columns_ = cols
        by_id = customers.set_index(customers["Customer ID"].astype(str))
        treated = log.loc[log["product"].notna() & pd.to_numeric(log["discount"]).notna()]
        rows = by_id.loc[treated["Customer ID"].astype(str), cols]
        enc = FeatureEncoder().fit(rows)
        x = enc.transform(rows).astype(np.float64)
        mu, sd = x.mean(0), x.std(0)
        sd[sd == 0] = 1.0
        self.encoder_, self.mu_, self.sd_ = enc, mu, sd
        z = (x - mu) / sd
        can = offerable_products(self.catalog, by_id.loc[treated["Customer ID"].astype(str)])
        g = as_generator(self.random_state)
        products = list(dict.fromkeys(treated["product"].astype(str)))
        self.products_ = [k for k in (p.key for p in self.catalog.products) if k in products]
        for key in self.products_:
            self._product(key)
            # only offers the customer could take (not held, prerequisites held) say anything
            m = (treated["product"].astype(str) == key).to_numpy() & can[:, self._col(key)]
            d = pd.to_numeric(treated["discount"]).to_numpy(dtype=np.float64)[m]
            y = treated["accepted"].to_numpy(dtype=np.int64)[m]
            xd = _design(z[m], d)
            if len(np.unique(y)) < 2:
                raise DataValidationError(
                    f"discount campaign log: product '{key}' has no variation in accepted "
                    f"({len(y)} rows). Fix: a log with both accepted and declined offers."
                )
            fits = []
            for b in range(self.n_boot + 1):
                idx = np.arange(len(y)) if b == 0 else g.integers(0, len(y), len(y))
                if len(np.unique(y[idx])) < 2:
                    continue
                lr = LogisticRegression(C=self.C, max_iter=500).fit(xd[idx], y[idx])
                fits.append((lr.coef_[0].copy(), float(lr.intercept_[0])))
            self.fitted_[key] = fits
        return self

    def acceptance(self, customers: pd.DataFrame) -> tuple[np.ndarray, list[tuple[float, ...]]]:
        """float ``[B + 1, n, K, L]``: acceptance at every level by each fit (0: the full data)."""
        x = self.encoder_.transform(customers[self.columns_]).astype(np.float64)
        z = (x - self.mu_) / self.sd_
        levels = [self._product(k)[2] for k in self.products_]
        width = max(len(lv) for lv in levels)
        n_fit = min(len(f) for f in self.fitted_.values())
        out = np.full((n_fit, len(customers), len(self.products_), width), np.nan)
        for a, key in enumerate(self.products_):
            for j, d in enumerate(levels[a]):
                xd = _design(z, np.full(len(z), d))
                for b, (coef, icpt) in enumerate(self.fitted_[key][:n_fit]):
                    out[b, :, a, j] = 1.0 / (1.0 + np.exp(-(xd @ coef + icpt)))
        return out, levels

    def choose(
        self, customers: pd.DataFrame, offerable: np.ndarray | None = None
    ) -> DiscountChoice:
        """The level of every (customer, product) by expected value net of margin.

        Parameters
        ----------
        customers
            The customers (the fitted feature columns).
        offerable
            bool ``[n, K]`` (products in :attr:`products_` order); False gives NaN.
        """
        p_all, levels = self.acceptance(customers)
        n, k = len(customers), len(self.products_)
        level = np.full((n, k), np.nan)
        value = np.full((n, k), np.nan)
        for a, key in enumerate(self.products_):
            margin, price, lv = self._product(key)
            net = np.array([(margin - d) * price for d in lv])
            v = p_all[:, :, a, : len(lv)] * net  # [B + 1, n, L]
            gain = v - v[:, :, :1]
            mean_gain = gain.mean(0)
            sure = (gain[1:] > 0).mean(0) >= self.confidence if len(gain) > 1 else gain[0] > 0
            mean_gain = np.where(sure, mean_gain, -np.inf)
            mean_gain[:, 0] = 0.0
            pick = mean_gain.argmax(1)
            level[:, a] = np.asarray(lv)[pick]
            value[:, a] = v[0, np.arange(n), pick]
        if offerable is not None:
            level = np.where(offerable, level, np.nan)
            value = np.where(offerable, value, np.nan)
        return DiscountChoice(list(self.products_), levels, level, p_all.mean(0), value)


def discount_check(
    rows: int = 20_000,
    seed: int = 0,
    *,
    catalog: Catalog | str = "pricing",
    eval_rows: int | None = None,
    confidence: float = 0.9,
    n_boot: int = 20,
    products: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Learn levels from a synthetic product x discount campaign and judge them on truth.

    The campaign log is drawn for a population of ``rows`` customers (seed ``seed``); the
    choice is judged on a fresh population (seed ``seed + 1``, ``eval_rows`` customers) for
    every offerable (customer, product) pair, against its true margin-adjusted value
    (:func:`core.data.synthetic.pricing.discount_value`). ``products`` limits the campaign's
    arms to these products' levels (default every product of the catalog).

    Returns
    -------
    dict
        ``captured`` (true value of the chosen levels / of the truth-optimal levels),
        ``captured_list_price`` and ``captured_best_single_level`` (the same for list price and
        for the best one level per product), ``share_harmful_offers`` and
        ``share_harmful_customers`` (offers with a discount whose true value is below list
        price's, and customers with at least one), ``share_discounted``, per product figures,
        ``seconds``.
    """
    import time

    from core.data.catalog import load_catalog
    from core.data.synthetic import generate_frame
    from core.data.synthetic.pricing import discount_value, pricing_campaign_frame

    t0 = time.perf_counter()
    cat = load_catalog(catalog) if isinstance(catalog, str) else catalog
    train_c, train_t = generate_frame(rows, seed)
    log = pricing_campaign_frame(train_c, train_t, cat, seed=seed, products=products)
    model = DiscountModel(cat, n_boot=n_boot, confidence=confidence, random_state=seed)
    model.fit(train_c, log)
    test_c, test_t = generate_frame(eval_rows or rows, seed + 1)
    true_v, true_p, keys, levels = discount_value(test_c, test_t, cat, model.products_)
    offerable = true_p[:, :, 0] > 0
    choice = model.choose(test_c, offerable)
    judged = _judge(true_v, offerable, keys, levels, choice.level)
    return {
        "rows": rows,
        "eval_rows": len(test_c),
        "seed": seed,
        "catalog": cat.name,
        "confidence": confidence,
        "n_boot": n_boot,
        **judged,
        "seconds": time.perf_counter() - t0,
    }


def _judge(
    true_v: np.ndarray,
    offerable: np.ndarray,
    keys: Sequence[str],
    levels: Sequence[tuple[float, ...]],
    chosen_level: np.ndarray,
) -> dict[str, Any]:
    """Captured share of the truth-optimal value and harmful discounts of ``chosen_level``."""
    total = {"chosen": 0.0, "optimal": 0.0, "list": 0.0, "single": 0.0}
    harmful = np.zeros(len(true_v), dtype=bool)
    n_harm = n_offers = n_disc = 0
    per_product: dict[str, Any] = {}
    for a, key in enumerate(keys):
        ok = offerable[:, a]
        v = true_v[ok, a, : len(levels[a])]
        pick = np.searchsorted(np.asarray(levels[a]), chosen_level[ok, a])
        chosen = v[np.arange(len(v)), pick]
        best_single = v.sum(0).max()
        harm = (pick > 0) & (chosen < v[:, 0] - 1e-12)
        harmful[np.flatnonzero(ok)[harm]] = True
        n_harm += int(harm.sum())
        n_offers += int(ok.sum())
        n_disc += int((pick > 0).sum())
        total["chosen"] += float(chosen.sum())
        total["optimal"] += float(v.max(1).sum())
        total["list"] += float(v[:, 0].sum())
        total["single"] += float(best_single)
        per_product[key] = {
            "offers": int(ok.sum()),
            "captured": float(chosen.sum() / v.max(1).sum()),
            "captured_list_price": float(v[:, 0].sum() / v.max(1).sum()),
            "share_discounted": float((pick > 0).mean()),
            "share_harmful": float(harm.mean()),
            "level_shares": {f"{d:g}": float((pick == j).mean()) for j, d in enumerate(levels[a])},
            "optimal_level_shares": {
                f"{d:g}": float((v.argmax(1) == j).mean()) for j, d in enumerate(levels[a])
            },
        }
    return {
        "captured": total["chosen"] / total["optimal"],
        "captured_list_price": total["list"] / total["optimal"],
        "captured_best_single_level": total["single"] / total["optimal"],
        "share_harmful_offers": n_harm / max(n_offers, 1),
        "share_harmful_customers": float(harmful.mean()),
        "share_discounted": n_disc / max(n_offers, 1),
        "products": per_product,
    }


def discount_ceiling(
    rows: int = 20_000,
    seed: int = 0,
    *,
    catalog: Catalog | str = "pricing",
    eval_rows: int | None = None,
    risk: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    folds: int = 3,
    max_iter: int = 200,
) -> dict[str, Any]:
    """The information ceiling of the discount choice: a learner trained on the **true** gains.

    Per product and level above the lowest, a gradient-boosting regressor learns the true gain
    in value over the lowest level (:func:`core.data.synthetic.pricing.discount_value`, dollars)
    from the same observable columns as :class:`DiscountModel` (:func:`discount_features`), on
    the population of seed ``seed``; on the fresh population of seed ``seed + 1`` every
    offerable (customer, product) gets the level of highest predicted gain among those whose
    gain is credibly positive: predicted gain minus ``r`` times the learner's out-of-fold RMSE
    (``folds``-fold on the training population) above zero, for each ``r`` in ``risk``
    (0: the plain argmax). No campaign log can teach more than the true gains do: what this
    misses is what the observable columns do not tell. ``max_iter``: boosting rounds.

    Returns
    -------
    dict
        ``{"risk=r": judged}`` with the keys of :func:`discount_check` (``captured``,
        ``share_harmful_customers``, ...), plus ``rows``, ``eval_rows``, ``seed``, ``seconds``.
    """
    import time

    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import cross_val_predict

    from core.campaigns.features import FeatureEncoder
    from core.common.threads import model_threads
    from core.data.catalog import load_catalog
    from core.data.synthetic import generate_frame
    from core.data.synthetic.pricing import discount_value

    t0 = time.perf_counter()
    cat = load_catalog(catalog) if isinstance(catalog, str) else catalog
    train_c, train_t = generate_frame(rows, seed)
    test_c, test_t = generate_frame(eval_rows or rows, seed + 1)
    train_v, train_p, keys, levels = discount_value(train_c, train_t, cat)
    test_v, test_p, _, _ = discount_value(test_c, test_t, cat, keys)
    cols = discount_features(list(train_c.columns))
    enc = FeatureEncoder().fit(train_c[cols])
    x_train = enc.transform(train_c[cols]).astype(np.float64)
    x_test = enc.transform(test_c[cols]).astype(np.float64)
    ok_train, ok_test = train_p[:, :, 0] > 0, test_p[:, :, 0] > 0
    n, k = len(test_c), len(keys)
    width = max(len(lv) for lv in levels)
    pred = np.zeros((n, k, width))
    rmse = np.zeros((k, width))
    for a in range(k):
        m = ok_train[:, a]
        for j in range(1, len(levels[a])):
            y = train_v[m, a, j] - train_v[m, a, 0]
            model = HistGradientBoostingRegressor(max_iter=max_iter, random_state=seed)
            with model_threads():
                oof = cross_val_predict(model, x_train[m], y, cv=folds)
                pred[:, a, j] = model.fit(x_train[m], y).predict(x_test)
            rmse[a, j] = float(np.sqrt(np.mean((oof - y) ** 2)))
    out: dict[str, Any] = {"rows": rows, "eval_rows": n, "seed": seed}
    for r in risk:
        level = np.full((n, k), np.nan)
        for a in range(k):
            lv = len(levels[a])
            gain = pred[:, a, :lv].copy()
            credible = gain - r * rmse[a, :lv] > 0
            credible[:, 0] = True
            gain[~credible] = -np.inf
            gain[:, 0] = 0.0  # the lowest level: the reference, always allowed
            level[:, a] = np.asarray(levels[a])[gain.argmax(1)]
        out[f"risk={r:g}"] = _judge(test_v, ok_test, keys, levels, level)
    out["seconds"] = time.perf_counter() - t0
    return out


def journey_discounts(
    journeys: pd.DataFrame, choice: DiscountChoice, customer_ids: Sequence[object]
) -> pd.DataFrame:
    """Each journey step with the discount level chosen for its (customer, product).

    Parameters
    ----------
    journeys
        One row per step with ``customer_id`` and ``product`` (a catalog key).
    choice
        :meth:`DiscountModel.choose` for the customers ``customer_ids`` (same order).

    Returns
    -------
    pandas.DataFrame
        ``journeys`` plus ``discount`` (the level; 0 for a product without discount levels or
        not offerable) and ``value_net_of_margin`` (estimated margin per month kept, NaN when
        the product has no levels).

    Examples
    --------
    >>> ch = DiscountChoice(["phone"], [(0.0, 0.2)], np.array([[0.2], [0.0]]),
    ...                     np.zeros((2, 1, 2)), np.array([[3.0], [1.0]]))
    >>> j = pd.DataFrame({"customer_id": ["a", "b", "b"], "product": ["phone", "phone", "tv"]})
    >>> journey_discounts(j, ch, ["a", "b"])["discount"].tolist()
    [0.2, 0.0, 0.0]
    """
    ids = pd.Index(pd.Series(np.asarray(customer_ids, dtype=object)).astype(str))
    row = ids.get_indexer(journeys["customer_id"].astype(str))
    col_of = {k: i for i, k in enumerate(choice.products)}
    col = journeys["product"].astype(str).map(col_of).to_numpy()
    ok = (row >= 0) & pd.notna(col)
    level = np.zeros(len(journeys))
    value = np.full(len(journeys), np.nan)
    r, c = row[ok], col[ok].astype(np.int64)
    level[ok] = np.nan_to_num(choice.level[r, c], nan=0.0)
    value[ok] = choice.value[r, c]
    return journeys.assign(discount=level, value_net_of_margin=value)


def discount_arms(arms: Sequence[str]) -> dict[str, tuple[str, float]]:
    """Arms named ``"product@level"`` (as :func:`core.data.synthetic.pricing.arm_label` writes
    them) -> ``(product, level)``; other arms (control, plain offers) are left out.

    Examples
    --------
    >>> discount_arms(["control", "internet@0.1", "phone@0", "tv", "x@2"])
    {'internet@0.1': ('internet', 0.1), 'phone@0': ('phone', 0.0)}
    """
    out: dict[str, tuple[str, float]] = {}
    for a in arms:
        product, sep, level = str(a).rpartition("@")
        if not sep or not product:
            continue
        try:
            d = float(level)
        except ValueError:
            continue
        if 0 <= d < 1:
            out[str(a)] = (product, d)
    return out


def log_curves(log: Any, outcome: str, segment: str | None = None) -> pd.DataFrame | None:
    """:func:`response_curves` of a :class:`~core.campaigns.log.CampaignLog` whose arms are
    product x discount (``"internet@0.1"``), for a binary ``outcome``; None when the log has no
    such arms. ``segment`` names a feature column of the log to split by."""
    parsed = discount_arms(log.arms)
    if not parsed:
        return None
    labels = np.asarray(log.arms, dtype=object)[log.arm]
    keep = np.isin(labels, list(parsed))
    frame = pd.DataFrame(
        {
            "Customer ID": np.asarray(log.ids)[keep],
            "product": [parsed[a][0] for a in labels[keep]],
            "discount": [parsed[a][1] for a in labels[keep]],
            "accepted": np.asarray(log.outcomes[outcome])[keep],
        }
    )
    seg = None if segment is None else log.features[segment].astype(str).to_numpy()[keep]
    return response_curves(frame, seg)
