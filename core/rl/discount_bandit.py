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
customers given a discount that does not pay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.common.rng import as_generator


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


def _context(frame: pd.DataFrame, columns: list[str], enc: Any, mu: Any, sd: Any) -> np.ndarray:
    x = enc.transform(frame[columns]).astype(np.float64)
    return (x - mu) / sd


def bandit_check(
    rows: int = 20_000,
    seed: int = 0,
    *,
    catalog: str = "pricing",
    eval_rows: int | None = None,
    batch: int = 250,
    alpha: float = 0.5,
) -> dict[str, Any]:
    """Train a bandit per product on ``rows`` arriving customers, judge it on a fresh population.

    Returns
    -------
    dict
        ``captured``, ``captured_list_price``, ``share_harmful_customers``,
        ``share_discounted``, ``training_reward_per_offer`` (first and last tenth of training),
        per product figures, ``seconds``.
    """
    from core.campaigns.discounts import discount_features
    from core.campaigns.features import FeatureEncoder
    from core.data.catalog import load_catalog
    from core.data.synthetic import generate_frame
    from core.data.synthetic.pricing import acceptance_at, discount_value

    t0 = time.perf_counter()
    cat = load_catalog(catalog)
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
    p_train, keys, levels = acceptance_at(train_c, train_t, cat)
    true_v, true_p, _, _ = discount_value(test_c, test_t, cat, keys)
    totals = {"chosen": 0.0, "optimal": 0.0, "list": 0.0}
    harmful = np.zeros(len(test_c), dtype=bool)
    n_offers = n_disc = 0
    per_product: dict[str, Any] = {}
    curve_first, curve_last = [], []
    for a, key in enumerate(keys):
        prod = cat.products[cat.index(key)]
        assert prod.margin is not None and prod.monthly_price is not None
        lv = levels[a]
        net = tuple((prod.margin - d) * prod.monthly_price for d in lv)
        bandit = DiscountBandit(lv, net, alpha=alpha).start(x_train.shape[1])
        rows_ok = np.flatnonzero(p_train[:, a, 0] > 0)
        rows_ok = rows_ok[g.permutation(len(rows_ok))]
        rewards = []
        for s in range(0, len(rows_ok), batch):
            idx = rows_ok[s : s + batch]
            pick = bandit.act(x_train[idx], explore=True)
            accepted = g.random(len(idx)) < p_train[idx, a, pick]
            reward = accepted * np.asarray(net)[pick]
            bandit.update(x_train[idx], pick, reward)
            rewards.append(reward)
        flat = np.concatenate(rewards) if rewards else np.zeros(0)
        tenth = max(1, len(flat) // 10)
        curve_first.append(float(flat[:tenth].mean()) if len(flat) else 0.0)
        curve_last.append(float(flat[-tenth:].mean()) if len(flat) else 0.0)
        ok = true_p[:, a, 0] > 0
        v = true_v[ok, a, : len(lv)]
        pick = bandit.act(x_test[ok], explore=False)
        chosen = v[np.arange(len(v)), pick]
        harm = (pick > 0) & (chosen < v[:, 0] - 1e-12)
        harmful[np.flatnonzero(ok)[harm]] = True
        n_offers += int(ok.sum())
        n_disc += int((pick > 0).sum())
        totals["chosen"] += float(chosen.sum())
        totals["optimal"] += float(v.max(1).sum())
        totals["list"] += float(v[:, 0].sum())
        per_product[key] = {
            "training_offers": len(rows_ok),
            "captured": float(chosen.sum() / v.max(1).sum()),
            "share_harmful": float(harm.mean()),
            "level_shares": {f"{d:g}": float((pick == j).mean()) for j, d in enumerate(lv)},
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
