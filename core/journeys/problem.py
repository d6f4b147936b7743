"""The journey problem: customers, products, rules and the journey arrays.

A *journey* for customer ``c`` is an ordered sequence ``(j_1, ..., j_L)`` of distinct products
(indices into the catalog) that

* are not held by ``c``,
* are not excluded by a held product or by another product of the journey,
* have every prerequisite held or offered earlier in the journey,
* number at most ``max_length``; shorter journeys (even the empty one) are allowed, because
  the optimizer maximizes the score and a product with negative opportunity need not be offered.

Its score is ``sum_t gamma**(t-1) * O[c, prev_t, j_t]`` with ``prev_t = 1 + j_(t-1)`` for
``t > 1``. The first step's predecessor is the start node (row 0) when ``c`` holds nothing, and
otherwise the aggregation (``sum`` | ``mean`` | ``max``, elementwise over the target product) of
the held products' rows ``O[c, 1 + i, :]`` (:mod:`core.journeys.scoring`).

Journeys are int arrays ``[n, width]`` padded with ``-1``; a journey's length is the number of
entries before the first ``-1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.common.errors import OptionError

if TYPE_CHECKING:
    from core.data.catalog import Catalog

AGGREGATIONS = ("sum", "mean", "max")
MAX_PRODUCTS = 63  # product sets are uint64 bitmasks


@dataclass(frozen=True, eq=False)
class JourneyProblem:
    """The journeys to optimize for ``n`` customers over a catalog of ``P`` products.

    Parameters
    ----------
    opportunity
        float32 ``[n, 1 + P, P]``: ``O[c, 0, j]`` is the value of offering product ``j`` first to a
        customer who holds nothing; ``O[c, 1 + i, j]`` the value of offering ``j`` right after
        ``i`` (or, for the first step, of ``j`` given that ``i`` is held).
    held
        bool ``[n, P]``: products each customer already holds.
    requires
        bool ``[P, P]``: ``requires[j, q]`` is True when ``j`` needs ``q`` held or offered earlier.
    excludes
        bool ``[P, P]``, symmetric: products that cannot both be held/offered.
    max_length
        Maximum number of offers per journey (>= 1).
    discount
        gamma in (0, 1]: step ``t`` is weighted ``gamma**(t-1)``.
    aggregation
        How held products' rows combine into the first step's predecessor: ``sum``, ``mean`` or
        ``max``.
    customer_ids
        int64 or str ids, one per customer; each customer's random stream derives from (seed, id)
        so results do not depend on batching. Default ``arange(n)``. Kept by :meth:`subset`.
    product_keys
        Names of the ``P`` products (default ``p0, p1, ...``).
    offerable
        Optional bool ``[P]`` or ``[n, P]``: products that may be offered (default all). A
        product switched off here never appears in a journey, and a product that requires it
        can then only be offered to customers who already hold it.

    Raises
    ------
    ValueError
        A shape, dtype or value that does not fit (the message names the field and the fix).
    """

    opportunity: np.ndarray
    held: np.ndarray
    requires: np.ndarray
    excludes: np.ndarray
    max_length: int
    discount: float
    aggregation: str = "sum"
    customer_ids: np.ndarray | None = None
    product_keys: tuple[str, ...] = field(default=())
    offerable: np.ndarray | None = None

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        opp = np.asarray(self.opportunity)
        if opp.ndim != 3 or opp.shape[1] != opp.shape[2] + 1:
            raise OptionError(
                f"opportunity must have shape [n, 1 + P, P] (row 0 = start node), got {opp.shape}"
            )
        n, _, p = opp.shape
        if p < 1:
            raise OptionError("opportunity must cover at least one product (P >= 1)")
        if p > MAX_PRODUCTS:
            raise OptionError(f"at most {MAX_PRODUCTS} products are supported, got P={p}")
        if not np.issubdtype(opp.dtype, np.floating):
            raise OptionError(f"opportunity must be a float array, got dtype {opp.dtype}")
        if opp.dtype != np.float32:
            opp = opp.astype(np.float32)
        if not np.all(np.isfinite(opp)):
            bad = np.unique(np.nonzero(~np.isfinite(opp))[0])[:5]
            raise OptionError(f"opportunity has NaN or infinite values (customers {bad.tolist()})")
        setattr_(self, "opportunity", opp)
        held = np.asarray(self.held)
        if held.shape != (n, p) or held.dtype != np.bool_:
            raise OptionError(
                f"held must be a bool array of shape {(n, p)}, got {held.dtype} {held.shape}"
            )
        setattr_(self, "held", held)
        for name in ("requires", "excludes"):
            mat = np.asarray(getattr(self, name))
            if mat.shape != (p, p) or mat.dtype != np.bool_:
                raise OptionError(
                    f"{name} must be a bool array of shape {(p, p)}, got {mat.dtype} {mat.shape}"
                )
            if mat.diagonal().any():
                raise OptionError(
                    f"{name} must have a False diagonal (a product cannot {name[:-1]} itself)"
                )
            setattr_(self, name, mat)
        if not np.array_equal(self.excludes, self.excludes.T):
            raise OptionError("excludes must be symmetric (excludes[i, j] == excludes[j, i])")
        if (self.requires & self.excludes).any():
            j, q = np.argwhere(self.requires & self.excludes)[0]
            raise OptionError(f"product {j} both requires and excludes product {q}")
        if int(self.max_length) != self.max_length or int(self.max_length) < 1:
            raise OptionError(f"max_length must be an integer >= 1, got {self.max_length}")
        setattr_(self, "max_length", int(self.max_length))
        if not 0.0 < float(self.discount) <= 1.0:
            raise OptionError(f"discount must be in (0, 1], got {self.discount}")
        setattr_(self, "discount", float(self.discount))
        if self.aggregation not in AGGREGATIONS:
            raise OptionError(
                f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}"
            )
        ids = (
            np.arange(n, dtype=np.int64)
            if self.customer_ids is None
            else np.asarray(self.customer_ids)
        )
        if ids.shape != (n,):
            raise OptionError(f"customer_ids must have shape ({n},), got {ids.shape}")
        if not (np.issubdtype(ids.dtype, np.integer) or ids.dtype.kind in "US"):
            raise OptionError(f"customer_ids must be integers or strings, got dtype {ids.dtype}")
        if np.issubdtype(ids.dtype, np.integer):
            ids = ids.astype(np.int64)
        setattr_(self, "customer_ids", ids)
        keys = tuple(self.product_keys) or tuple(f"p{j}" for j in range(p))
        if len(keys) != p:
            raise OptionError(f"product_keys must name {p} products, got {len(keys)}")
        setattr_(self, "product_keys", keys)
        if self.offerable is not None:
            off = np.asarray(self.offerable)
            if off.dtype != np.bool_ or off.shape not in ((p,), (n, p)):
                raise OptionError(
                    f"offerable must be a bool array of shape ({p},) or {(n, p)}, "
                    f"got {off.dtype} {off.shape}"
                )
            setattr_(self, "offerable", np.broadcast_to(off, (n, p)))

    @classmethod
    def from_catalog(cls, catalog: Catalog, **fields: Any) -> JourneyProblem:
        """The problem of ``fields`` (opportunity, held, ...) under ``catalog``'s rules.

        ``requires``, ``excludes``, ``max_length`` and ``discount`` come from the catalog; every
        other field is given as for the constructor.
        """
        return cls(
            requires=catalog.requires_matrix(),
            excludes=catalog.excludes_matrix(),
            max_length=catalog.max_length,
            discount=catalog.discount,
            **fields,
        )

    @property
    def n_customers(self) -> int:
        """Number of customers ``n``."""
        return int(self.opportunity.shape[0])

    @property
    def n_products(self) -> int:
        """Number of products ``P``."""
        return int(self.opportunity.shape[2])

    @property
    def ids(self) -> np.ndarray:
        """Customer ids (never None after validation)."""
        assert self.customer_ids is not None
        return self.customer_ids

    def subset(self, idx: Any) -> JourneyProblem:
        """The same problem for the customers ``idx`` (index array, slice or bool mask)."""
        return JourneyProblem(
            opportunity=self.opportunity[idx],
            held=self.held[idx],
            requires=self.requires,
            excludes=self.excludes,
            max_length=self.max_length,
            discount=self.discount,
            aggregation=self.aggregation,
            customer_ids=self.ids[idx],
            product_keys=self.product_keys,
            offerable=None if self.offerable is None else self.offerable[idx],
        )


def journey_lengths(journeys: np.ndarray) -> np.ndarray:
    """Length of each journey: the number of entries before the first -1."""
    j = np.asarray(journeys)
    if j.shape[1] == 0:
        return np.zeros(j.shape[0], dtype=np.int64)
    neg = j < 0
    return np.where(neg.any(axis=1), neg.argmax(axis=1), j.shape[1]).astype(np.int64)


def normalize_journeys(problem: JourneyProblem, journeys: np.ndarray) -> np.ndarray:
    """Return journeys as int16 ``[n, max_length]``, -1 after each journey's end.

    Raises
    ------
    ValueError
        Wrong number of rows, a journey longer than ``max_length`` or a product index out of range.
    """
    j = np.asarray(journeys)
    n, p, width = problem.n_customers, problem.n_products, problem.max_length
    if j.ndim != 2 or j.shape[0] != n or not np.issubdtype(j.dtype, np.integer):
        raise OptionError(f"journeys must be an int array with {n} rows, got {j.dtype} {j.shape}")
    lengths = journey_lengths(j)
    if lengths.size and lengths.max() > width:
        raise OptionError(f"a journey has {lengths.max()} offers, more than max_length={width}")
    out = np.full((n, width), -1, dtype=np.int16)
    w = min(width, j.shape[1])
    live = np.arange(w)[None, :] < lengths[:, None]
    block = j[:, :w]
    if (live & ((block < 0) | (block >= p))).any():
        raise OptionError(f"journeys contain product indices outside 0..{p - 1}")
    out[:, :w] = np.where(live, block, -1)
    return out
