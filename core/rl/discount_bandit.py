"""The discount level as the action of a contextual bandit, learned online and judged on truth.

Customers of a synthetic population arrive one after another; for each one and a product it
may take, :class:`DiscountBandit` picks a discount level of the catalog (LinUCB: one ridge
regression per level of the reward on the customer's standardised features, plus an upper
confidence bonus), sees whether the offer is accepted (drawn from the true ``p_k(d)`` of
:mod:`core.data.synthetic.pricing`) and earns ``accepted (margin - d) price``: the margin given
away to everyone who accepts, including those who would have accepted at list price. After
training the bandit picks without the bonus. :func:`bandit_check` judges the learned policy on a
fresh population's truth exactly as :func:`core.campaigns.discounts.discount_check` judges the
offline model: the share of the truth-optimal margin-adjusted value captured and the share of
customers given a discount that does not pay. It also records a learning curve: the captured
share of the greedy policy on that fresh population as training goes on.

:func:`discount_lab` is what the RL lab page shows for one product (:class:`DiscountLab`): the
bandit beside the offline model of :func:`core.campaigns.discounts.discount_check` (fitted on a
randomized campaign over the same number of customers), "always list price" and the
truth-optimal level, judged on the same fresh population.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.common.progress import Progress, stage
from core.common.rng import as_generator
from core.data.catalog import Catalog


@dataclass(eq=False)
class DiscountBandit:
    """LinUCB over discount levels for one product (see the module docstring).

    Parameters
    ----------
    levels : tuple of float
        The product's discount levels.
    net : tuple of float
        Reward of an acceptance at each level (``(margin - d) price``).
    alpha : float
        Width of the upper confidence bonus while learning.
    ridge : float
        Prior precision of each level's coefficients.
    """

    levels: tuple[float, ...]
    net: tuple[float, ...]
    alpha: float = 0.5
    ridge: float = 1.0
    A_: np.ndarray = field(init=False, repr=False)
    b_: np.ndarray = field(init=False, repr=False)

    def start(self, dim: int) -> DiscountBandit:
        """Reset to the prior for contexts of ``dim`` features (an intercept is added)."""
        if len(self.levels) != len(self.net) or not self.levels:
            raise OptionError("levels and net must be non-empty and of the same length.")
        d = dim + 1
        self.A_ = np.repeat(np.eye(d)[None] * self.ridge, len(self.levels), axis=0)
        self.b_ = np.zeros((len(self.levels), d))
        return self

    def _scores(self, x: np.ndarray, bonus: float) -> np.ndarray:
        z = np.hstack([np.ones((len(x), 1)), x])
        inv = np.linalg.inv(self.A_)
        theta = np.einsum("lij,lj->li", inv, self.b_)
        mean = z @ theta.T
        if bonus == 0:
            return mean
        width = np.sqrt(np.einsum("ni,lij,nj->nl", z, inv, z))
        return mean + bonus * width

    def act(self, x: np.ndarray, *, explore: bool) -> np.ndarray:
        """int ``[n]``: the level index picked for each context row."""
        return self._scores(x, self.alpha if explore else 0.0).argmax(1)

    def update(self, x: np.ndarray, level: np.ndarray, reward: np.ndarray) -> None:
        """Add observed rewards of the levels played."""
        z = np.hstack([np.ones((len(x), 1)), x])
        for j in range(len(self.levels)):
            m = level == j
            if m.any():
                self.A_[j] += z[m].T @ z[m]
                self.b_[j] += z[m].T @ reward[m]


def discount_products(catalog: Catalog) -> list[str]:
    """Keys of the catalog's products the synthetic truth can judge at discount levels: they list
    ``discounts``, a ``margin`` and a ``monthly_price`` and are products of the generator.

    Examples
    --------
    >>> from core.data.catalog import load_catalog
    >>> discount_products(load_catalog("pricing"))
    ['phone', 'internet', 'device_protection', 'tech_support']
    >>> discount_products(load_catalog("seed"))
    []
    """
    from core.data.synthetic import PRODUCTS

    return [
        p.key
        for p in catalog.products
        if p.discounts and p.margin is not None and p.monthly_price is not None
        if p.key in PRODUCTS
    ]


def _context(frame: pd.DataFrame, columns: list[str], enc: Any, mu: Any, sd: Any) -> np.ndarray:
    x = enc.transform(frame[columns]).astype(np.float64)
    return (x - mu) / sd


def _judge(bandit: DiscountBandit, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy picks on contexts ``x`` and their true values (``v``: ``[n, L]``)."""
    pick = bandit.act(x, explore=False)
    return pick, v[np.arange(len(v)), pick]


def bandit_check(
    rows: int = 20_000,
    seed: int = 0,
    *,
    catalog: Catalog | str = "pricing",
    products: Sequence[str] | None = None,
    eval_rows: int | None = None,
    batch: int = 250,
    alpha: float = 0.5,
    checkpoints: int = 20,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train a bandit per product on ``rows`` arriving customers, judge it on a fresh population.

    Parameters
    ----------
    rows
        Customers of the training population (seed ``seed``); those who may take a product
        (not held, prerequisites held) arrive for it one batch after another.
    seed
        Seed of the training population and of the bandit's draws; the judging population
        has seed ``seed + 1`` (``eval_rows`` customers, default ``rows``).
    catalog
        A catalog (or its name) whose ``products`` list discount levels, margin and price.
    products
        Products to train (default every product of the catalog).
    batch
        Customers per update of the bandit.
    alpha
        Width of the upper confidence bonus while learning.
    checkpoints
        About this many points of the learning curve per product (plus the start).
    progress
        ``progress(done, total)`` over the training batches.

    Returns
    -------
    dict
        ``captured``, ``captured_list_price``, ``share_harmful_customers``,
        ``share_discounted``, ``training_reward_per_offer`` (first and last tenth of training),
        per product figures (``products``: ``offers``, ``captured``, ``captured_list_price``,
        ``share_discounted``, ``share_harmful``, ``level_shares`` and
        ``optimal_level_shares`` of the judging population, and ``curve``: ``customers``
        offered so far and the greedy policy's ``captured`` share after them), ``seconds``.

    Examples
    --------
    >>> rep = bandit_check(400, 0, products=["phone"], eval_rows=300, batch=100, checkpoints=2)
    >>> curve = rep["products"]["phone"]["curve"]
    >>> curve["customers"][0], curve["customers"][-1] == rep["products"]["phone"]["training_offers"]
    (0, True)
    """
    from core.campaigns.discounts import discount_features
    from core.campaigns.features import FeatureEncoder
    from core.data.catalog import load_catalog
    from core.data.synthetic import generate_frame
    from core.data.synthetic.pricing import acceptance_at, discount_value

    if rows < 1 or batch < 1 or checkpoints < 1 or alpha < 0:
        raise OptionError(
            f"rows, batch and checkpoints must be >= 1 and alpha >= 0 (got rows={rows}, "
            f"batch={batch}, checkpoints={checkpoints}, alpha={alpha})."
        )
    t0 = time.perf_counter()
    cat = load_catalog(catalog) if isinstance(catalog, str) else catalog
    g = as_generator(seed)
    train_c, train_t = generate_frame(rows, seed)
    test_c, test_t = generate_frame(eval_rows or rows, seed + 1)
    cols = discount_features(list(train_c.columns))
    enc = FeatureEncoder().fit(train_c[cols])
    x_all = enc.transform(train_c[cols]).astype(np.float64)
    mu, sd = x_all.mean(0), x_all.std(0)
    sd[sd == 0] = 1.0
    x_train = (x_all - mu) / sd
    x_test = _context(test_c, cols, enc, mu, sd)
    p_train, keys, levels = acceptance_at(train_c, train_t, cat, products)
    true_v, true_p, _, _ = discount_value(test_c, test_t, cat, keys)
    totals = {"chosen": 0.0, "optimal": 0.0, "list": 0.0}
    harmful = np.zeros(len(test_c), dtype=bool)
    n_offers = n_disc = 0
    per_product: dict[str, Any] = {}
    curve_first, curve_last = [], []
    total_batches = sum(-(-int((p_train[:, a, 0] > 0).sum()) // batch) for a in range(len(keys)))
    done = 0
    for a, key in enumerate(keys):
        prod = cat.products[cat.index(key)]
        assert prod.margin is not None and prod.monthly_price is not None
        lv = levels[a]
        net = tuple((prod.margin - d) * prod.monthly_price for d in lv)
        bandit = DiscountBandit(lv, net, alpha=alpha).start(x_train.shape[1])
        rows_ok = np.flatnonzero(p_train[:, a, 0] > 0)
        rows_ok = rows_ok[g.permutation(len(rows_ok))]
        ok = true_p[:, a, 0] > 0
        v = true_v[ok, a, : len(lv)]
        best = float(v.max(1).sum())
        n_batches = -(-len(rows_ok) // batch)
        marks = set(np.linspace(0, n_batches, checkpoints + 1).round().astype(int).tolist())
        seen, captured = [0], [float(_judge(bandit, x_test[ok], v)[1].sum() / best)]
        rewards = []
        for b, s in enumerate(range(0, len(rows_ok), batch), start=1):
            idx = rows_ok[s : s + batch]
            pick = bandit.act(x_train[idx], explore=True)
            accepted = g.random(len(idx)) < p_train[idx, a, pick]
            reward = accepted * np.asarray(net)[pick]
            bandit.update(x_train[idx], pick, reward)
            rewards.append(reward)
            if b in marks:
                seen.append(min(s + batch, len(rows_ok)))
                captured.append(float(_judge(bandit, x_test[ok], v)[1].sum() / best))
            done += 1
            if progress is not None:
                progress(done, total_batches)
        flat = np.concatenate(rewards) if rewards else np.zeros(0)
        tenth = max(1, len(flat) // 10)
        curve_first.append(float(flat[:tenth].mean()) if len(flat) else 0.0)
        curve_last.append(float(flat[-tenth:].mean()) if len(flat) else 0.0)
        pick, chosen = _judge(bandit, x_test[ok], v)
        harm = (pick > 0) & (chosen < v[:, 0] - 1e-12)
        harmful[np.flatnonzero(ok)[harm]] = True
        n_offers += int(ok.sum())
        n_disc += int((pick > 0).sum())
        totals["chosen"] += float(chosen.sum())
        totals["optimal"] += best
        totals["list"] += float(v[:, 0].sum())
        per_product[key] = {
            "training_offers": len(rows_ok),
            "offers": int(ok.sum()),
            "captured": float(chosen.sum() / best),
            "captured_list_price": float(v[:, 0].sum() / best),
            "share_discounted": float((pick > 0).mean()),
            "share_harmful": float(harm.mean()),
            "level_shares": {f"{d:g}": float((pick == j).mean()) for j, d in enumerate(lv)},
            "optimal_level_shares": {
                f"{d:g}": float((v.argmax(1) == j).mean()) for j, d in enumerate(lv)
            },
            "curve": {"customers": seen, "captured": captured},
        }
    return {
        "rows": rows,
        "eval_rows": len(test_c),
        "seed": seed,
        "alpha": alpha,
        "captured": totals["chosen"] / totals["optimal"],
        "captured_list_price": totals["list"] / totals["optimal"],
        "share_harmful_customers": float(harmful.mean()),
        "share_discounted": n_disc / max(n_offers, 1),
        "training_reward_per_offer": {
            "first_tenth": float(np.mean(curve_first)),
            "last_tenth": float(np.mean(curve_last)),
        },
        "products": per_product,
        "seconds": time.perf_counter() - t0,
    }


#: Rows of :attr:`DiscountLab.table`, in order.
LAB_POLICIES: tuple[str, ...] = (
    "Contextual bandit (LinUCB)",
    "Offline model (campaign log)",
    "Always list price",
    "Truth-optimal level",
)


@dataclass(frozen=True, eq=False)
class DiscountLab:
    """What the RL lab shows for one product's discount level (:func:`discount_lab`).

    Attributes
    ----------
    product : str
    table : pandas.DataFrame
        One row per policy of :data:`LAB_POLICIES`: ``policy``, ``captured`` (share of the
        truth-optimal margin-adjusted value), ``share_harmful`` (customers offered the product
        who get a discount whose true value is below list price's), ``share_discounted``.
    curve : pandas.DataFrame
        ``customers`` (training customers offered so far) and ``captured`` (the bandit's greedy
        policy on the judging population after them).
    levels : pandas.DataFrame
        ``level`` and the share of the judging population's offers at it: ``bandit``,
        ``offline`` and ``optimal`` (truth-optimal).
    bandit, offline : dict
        :func:`bandit_check` and :func:`core.campaigns.discounts.discount_check` as returned.
    """

    product: str
    table: pd.DataFrame
    curve: pd.DataFrame
    levels: pd.DataFrame
    bandit: dict[str, Any]
    offline: dict[str, Any]


def discount_lab(
    product: str,
    rows: int,
    seed: int = 0,
    *,
    catalog: Catalog | str = "pricing",
    alpha: float = 0.5,
    eval_rows: int | None = None,
    n_boot: int = 20,
    batch: int = 50,
    progress: Progress | None = None,
) -> DiscountLab:
    """The bandit and the offline model for one product, trained on ``rows`` customers each
    and judged on the same fresh population's truth (seed ``seed + 1``).

    Parameters
    ----------
    product
        A key of :func:`discount_products` of ``catalog``.
    rows
        Training customers: the bandit's arrivals, and the offline model's randomized
        product x discount campaign (:func:`core.campaigns.discounts.discount_check`).
    seed
        Seed of both training populations (the same customers) and of every draw.
    alpha
        The bandit's exploration width.
    eval_rows
        Customers of the judging population (default ``rows``).
    n_boot
        Bootstrap fits of the offline model.
    batch
        Customers per update of the bandit.
    progress
        ``progress(done, total)``: the offline model, then the bandit's batches.

    Examples
    --------
    >>> lab = discount_lab("phone", 400, 0, eval_rows=300, n_boot=2)
    >>> lab.table["policy"].tolist() == list(LAB_POLICIES)
    True
    """
    from core.campaigns.discounts import discount_check
    from core.data.catalog import load_catalog

    cat = load_catalog(catalog) if isinstance(catalog, str) else catalog
    if product not in discount_products(cat):
        raise OptionError(
            f"product '{product}' of catalog '{cat.name}' has no discount levels the synthetic "
            f"truth can judge. Fix: one of {discount_products(cat)} (e.g. catalog 'pricing')."
        )
    first = stage(progress, 0.0, 0.5)
    if first is not None:
        first(0, 1)
    offline = discount_check(
        rows, seed, catalog=cat, eval_rows=eval_rows, n_boot=n_boot, products=[product]
    )
    if first is not None:
        first(1, 1)
    bandit = bandit_check(
        rows,
        seed,
        catalog=cat,
        products=[product],
        eval_rows=eval_rows,
        alpha=alpha,
        batch=batch,
        progress=stage(progress, 0.5, 1.0),
    )
    b, o = bandit["products"][product], offline["products"][product]
    optimal = b["optimal_level_shares"]
    table = pd.DataFrame(
        {
            "policy": list(LAB_POLICIES),
            "captured": [b["captured"], o["captured"], b["captured_list_price"], 1.0],
            "share_harmful": [b["share_harmful"], o["share_harmful"], 0.0, 0.0],
            "share_discounted": [
                b["share_discounted"],
                o["share_discounted"],
                0.0,
                1.0 - next(iter(optimal.values())),
            ],
        }
    )
    levels = pd.DataFrame(
        {
            "level": [float(k) for k in optimal],
            "bandit": list(b["level_shares"].values()),
            "offline": list(o["level_shares"].values()),
            "optimal": list(optimal.values()),
        }
    )
    curve = pd.DataFrame(b["curve"])
    return DiscountLab(product, table, curve, levels, bandit, offline)
