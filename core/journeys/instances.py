"""Random journey problems for tests and benchmarks.

:func:`structured_instance` follows a catalog's structure (base services and their add-ons,
structured opportunities); :func:`random_problem` is unstructured, for property tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.common.errors import OptionError
from core.journeys.problem import AGGREGATIONS, JourneyProblem


def catalog_structure(catalog: str | int) -> dict[str, Any]:
    """Products, prerequisites, exclusions and journey policy of a synthetic catalog.

    ``"seed"``: offer, phone, internet, device_protection, tech_support (the last two require
    internet), max_length 5, discount 1.0. ``"full"``: the 11 services (multiple_lines requires
    phone, eight add-ons require internet), max_length 5, discount 0.9. An int ``P``: families of
    one base service followed by four add-ons that require it (last family may be shorter), the
    last add-ons of families 2f and 2f+1 exclude each other, max_length 6, discount 0.9.
    """
    if catalog in ("seed", "full"):
        from core.data.catalog import load_catalog

        cat = load_catalog(str(catalog))  # the shipped catalog's products, rules and policy
        keys: tuple[str, ...] = cat.keys
        max_length, discount = cat.max_length, cat.discount
        if catalog == "seed":
            hold = {"offer": 0.45, "phone": 0.9, "internet": 0.78}
        else:
            hold = {"phone": 0.9, "internet": 0.78}
        addon_hold = 0.42
        return _structure(
            keys,
            cat.requires_matrix(),
            cat.excludes_matrix(),
            max_length,
            discount,
            hold,
            addon_hold,
        )
    elif isinstance(catalog, (int, np.integer)) and catalog >= 1:
        p = int(catalog)
        keys = tuple(f"p{j}" for j in range(p))
        roots = list(range(0, p, 5))
        req = {keys[a]: [keys[r]] for r in roots for a in range(r + 1, min(r + 5, p))}
        last = [min(r + 4, p - 1) for r in roots]
        excl = [
            (keys[last[f]], keys[last[f + 1]])
            for f in range(0, len(roots) - 1, 2)
            if last[f] != roots[f] and last[f + 1] != roots[f + 1]
        ]
        max_length, discount = 6, 0.9
        hold = {keys[r]: 0.6 for r in roots}
        addon_hold = 0.45
    else:
        raise OptionError(f"catalog must be 'seed', 'full' or an int >= 1, got {catalog!r}")
    index = {k: i for i, k in enumerate(keys)}
    requires = np.zeros((p, p), dtype=bool)
    for k, qs in req.items():
        for q in qs:
            requires[index[k], index[q]] = True
    excludes = np.zeros((p, p), dtype=bool)
    for a, b in excl:
        excludes[index[a], index[b]] = excludes[index[b], index[a]] = True
    return _structure(keys, requires, excludes, max_length, discount, hold, addon_hold)


def _structure(
    keys: tuple[str, ...],
    requires: np.ndarray,
    excludes: np.ndarray,
    max_length: int,
    discount: float,
    hold: dict[str, float],
    addon_hold: float,
) -> dict[str, Any]:
    return {
        "keys": keys,
        "requires": requires,
        "excludes": excludes,
        "max_length": max_length,
        "discount": discount,
        "hold": np.array([hold.get(k, addon_hold) for k in keys]),
    }


def structured_instance(
    n: int,
    catalog: str | int = "seed",
    *,
    rng: np.random.Generator | int | None = 0,
    max_length: int | None = None,
    discount: float | None = None,
    aggregation: str = "sum",
    scale: float = 100.0,
) -> JourneyProblem:
    """A random problem with catalog structure and structured opportunities.

    ``O[c, prev, j] = scale * (value_j + affinity[c, j] + synergy[prev, j] + noise)``: a product
    value shared by everyone, a customer affinity, a global transition synergy (offering an add-on
    right after its base service is worth more, other pairs random, some negative) and per-customer
    transition noise. Values have both signs, so optimal journeys vary in length. Holdings respect
    prerequisites and exclusions.

    Parameters
    ----------
    n
        Number of customers.
    catalog
        ``"seed"``, ``"full"`` or an int number of products (see :func:`catalog_structure`).
    rng
        Seed or generator.
    max_length, discount
        Override the catalog's journey policy.
    aggregation
        First-step aggregation of held rows.
    scale
        Multiplies every opportunity (think dollars).
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    s = catalog_structure(catalog)
    keys, requires, excludes = s["keys"], s["requires"], s["excludes"]
    p = len(keys)
    value = gen.normal(-0.2, 0.6, p)
    synergy = gen.normal(-0.1, 0.5, (p, p))
    synergy[requires.T] += 1.0  # add-on right after its base service
    np.fill_diagonal(synergy, 0.0)
    held = np.zeros((n, p), dtype=bool)
    order = np.argsort(requires.sum(axis=1), kind="stable")  # base services first
    for j in order:
        ok = np.all(held[:, requires[j]], axis=1) & ~np.any(held[:, excludes[j]], axis=1)
        held[:, j] = ok & (gen.random(n) < s["hold"][j])
    opp = np.empty((n, 1 + p, p), dtype=np.float32)
    chunk = 65536
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        affinity = gen.normal(0.0, 0.6, (m, 1, p))
        noise = gen.normal(0.0, 0.35, (m, 1 + p, p))
        block = value[None, None, :] + affinity + noise
        block[:, 1:] += synergy[None]
        opp[lo : lo + m] = (scale * block).astype(np.float32)
    return JourneyProblem(
        opportunity=opp,
        held=held,
        requires=requires,
        excludes=excludes,
        max_length=s["max_length"] if max_length is None else max_length,
        discount=s["discount"] if discount is None else discount,
        aggregation=aggregation,
        product_keys=keys,
    )


def random_problem(
    n: int,
    p: int,
    *,
    rng: np.random.Generator | int | None = 0,
    max_length: int | None = None,
    discount: float | None = None,
    aggregation: str | None = None,
    p_requires: float = 0.3,
    p_excludes: float = 0.15,
    p_held: float = 0.3,
) -> JourneyProblem:
    """An unstructured random problem for property tests: acyclic random prerequisites (a
    product may require lower-indexed ones), random symmetric exclusions, random holdings (not
    necessarily consistent with the rules) and standard-normal opportunities times 10. Unset
    policy values are drawn at random."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    requires = np.tril(gen.random((p, p)) < p_requires, k=-1)
    upper = np.triu(gen.random((p, p)) < p_excludes, k=1)
    excludes = (upper | upper.T) & ~requires & ~requires.T
    return JourneyProblem(
        opportunity=(10 * gen.standard_normal((n, 1 + p, p))).astype(np.float32),
        held=gen.random((n, p)) < p_held,
        requires=requires,
        excludes=excludes,
        max_length=int(gen.integers(1, p + 2)) if max_length is None else max_length,
        discount=float(gen.choice([1.0, 0.9, 0.5])) if discount is None else discount,
        aggregation=str(gen.choice(AGGREGATIONS)) if aggregation is None else aggregation,
    )
