"""Eligibility patterns and the feasible contact sets of each: the per-customer structure.

Customers who are eligible for the same activities share a *pattern*. Within a pattern the
per-customer rules (Maximum contact rows and conflicts) are the same, so the sets of activities
one customer may receive are the same too: they are enumerated once per pattern
(:func:`enumerate_sets`) and every customer of the pattern picks the best of them with one matrix
product (:mod:`core.planning._chunks`). The exact referee uses the patterns to write its conflict
rows as cliques (:func:`maximal_cliques`).

Both are cached on the problem object (its ``__dict__``), so a re-plan after a bound change
reuses them; :meth:`PlanningProblem.with_bounds` carries them over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.planning.problem import PlanningProblem

#: Largest number of feasible sets enumerated for one pattern before falling back to a greedy
#: choice with a relaxation bound.
MAX_SETS = 20_000


@dataclass(frozen=True, eq=False)
class Patterns:
    """Customers grouped by the set of activities they are eligible for.

    Attributes
    ----------
    pattern : numpy.ndarray
        int32 ``[C]`` pattern of each customer.
    order : numpy.ndarray
        int64 ``[C]`` customers sorted by pattern (stable).
    position : numpy.ndarray
        int64 ``[C]`` where each customer sits in ``order``.
    cust_ptr : numpy.ndarray
        int64 ``[n + 1]``: pattern ``p``'s customers are ``order[cust_ptr[p]:cust_ptr[p + 1]]``.
    perm : numpy.ndarray
        int64 ``[N]``: assignment index of each item in pattern order (customers in ``order``,
        each customer's items by activity).
    item_ptr : numpy.ndarray
        int64 ``[n + 1]``: pattern ``p``'s items in pattern order.
    activities : tuple of numpy.ndarray
        The activities of each pattern (sorted).
    """

    pattern: np.ndarray
    order: np.ndarray
    position: np.ndarray
    cust_ptr: np.ndarray
    perm: np.ndarray
    item_ptr: np.ndarray
    activities: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.activities)

    def sizes(self) -> np.ndarray:
        """int64 ``[n]`` customers per pattern."""
        return np.diff(self.cust_ptr)


def compute_patterns(problem: PlanningProblem) -> Patterns:
    """Group the customers of ``problem`` by eligibility pattern (vectorised)."""
    asg = problem.assignments
    n_c, n_a = problem.n_customers, problem.n_activities
    indptr = asg.indptr
    deg = np.diff(indptr)
    words = max((n_a + 63) // 64, 1)
    keys = np.zeros((n_c, words), dtype=np.uint64)
    nonempty = deg > 0
    if len(asg):
        act = asg.activity.astype(np.int64)
        bit = np.left_shift(np.uint64(1), (act % 64).astype(np.uint64))
        starts = indptr[:-1][nonempty]
        for w in range(words):
            vals = np.where(act // 64 == w, bit, np.uint64(0))
            keys[nonempty, w] = np.bitwise_or.reduceat(vals, starts)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    pattern = np.asarray(inverse).reshape(-1).astype(np.int32)
    n_p = int(pattern.max()) + 1 if n_c else 0
    order = np.argsort(pattern, kind="stable").astype(np.int64)
    position = np.empty(n_c, dtype=np.int64)
    position[order] = np.arange(n_c)
    counts = np.bincount(pattern, minlength=n_p)
    cust_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    lens = deg[order]
    starts = indptr[:-1][order]
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]]) if n_c else np.zeros(0, np.int64)
    perm = (np.repeat(starts - offsets, lens) + np.arange(int(lens.sum()))).astype(np.int64)
    first = order[cust_ptr[:-1]]  # one customer per pattern
    width = deg[first]
    item_ptr = np.concatenate([[0], np.cumsum(counts * width)]).astype(np.int64)
    acts = tuple(asg.activity[indptr[c] : indptr[c + 1]].copy() for c in first)
    return Patterns(pattern, order, position, cust_ptr, perm, item_ptr, acts)


def patterns_of(problem: PlanningProblem) -> Patterns:
    """The problem's patterns, computed once and cached on it."""
    cached = problem.__dict__.get("patterns")
    if cached is None:
        cached = problem.__dict__["patterns"] = compute_patterns(problem)
    return cached


# -------------------------------------------------------------------------------------------
# feasible sets of one pattern
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Family:
    """What one customer of a pattern may receive, and its per-customer rules.

    Attributes
    ----------
    activities : numpy.ndarray
        int32 ``[L]`` the pattern's activities.
    sets : numpy.ndarray
        bool ``[m, L]``: the feasible sets (the maximal ones when no rule is soft); empty when
        the enumeration was too large (``exact`` False).
    sets_t : numpy.ndarray
        float32 ``[L, m]``: ``sets`` transposed for the matrix product.
    penalty : numpy.ndarray
        float64 ``[m]``: soft Maximum contact penalties of each set.
    exact : bool
        Sets enumerated; else customers get a greedy choice and a relaxation bound.
    kmax : int
        Most items one customer can receive by the contact rows (for the relaxation bound).
    conflict : numpy.ndarray
        bool ``[L, L]`` the pattern's conflict graph.
    windows : numpy.ndarray
        bool ``[R, L]`` the Maximum contact rows that bind this pattern.
    caps : numpy.ndarray
        int64 ``[R]`` their bounds.
    soft : numpy.ndarray
        bool ``[R]``.
    row_penalty : numpy.ndarray
        float64 ``[R]`` penalties of the soft rows.
    """

    activities: np.ndarray
    sets: np.ndarray
    sets_t: np.ndarray
    penalty: np.ndarray
    exact: bool
    kmax: int
    conflict: np.ndarray
    windows: np.ndarray
    caps: np.ndarray
    soft: np.ndarray
    row_penalty: np.ndarray

    @property
    def width(self) -> int:
        return len(self.activities)

    def every_set(self, max_sets: int = MAX_SETS) -> np.ndarray | None:
        """bool ``[m, L]``: every feasible set (cached), or None beyond ``max_sets``."""
        if "every" not in self.__dict__:
            found = enumerate_sets(
                self.conflict,
                self.windows,
                self.caps,
                self.soft,
                self.row_penalty,
                max_sets=max_sets,
                every=True,
            )
            self.__dict__["every"] = None if found is None else found[0]
        return self.__dict__["every"]

    def set_penalty(self, picks: np.ndarray) -> np.ndarray:
        """float64 ``[n]``: soft contact penalty of arbitrary picks (bool ``[n, L]``)."""
        if not self.soft.any():
            return np.zeros(len(picks))
        counts = picks.astype(np.int64) @ self.windows.T.astype(np.int64)
        excess = np.maximum(counts - self.caps, 0) * self.soft
        return excess @ self.row_penalty


def enumerate_sets(
    conflict: np.ndarray,
    windows: np.ndarray,
    caps: np.ndarray,
    soft: np.ndarray,
    row_penalty: np.ndarray,
    *,
    max_sets: int = MAX_SETS,
    every: bool = False,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Feasible sets of ``L`` items under pairwise conflicts and contact rows, level by level.

    Parameters
    ----------
    conflict
        bool ``[L, L]`` symmetric.
    windows, caps
        bool ``[R, L]`` and int ``[R]``: at most ``caps[r]`` chosen items in row ``r``.
    soft, row_penalty
        Soft rows may be exceeded at ``row_penalty`` per item over the cap.
    max_sets
        Give up (return None) beyond this many sets.
    every
        Keep every feasible set, not only the maximal ones.

    Returns
    -------
    (sets, penalty) or None
        bool ``[m, L]`` and float64 ``[m]``. Without soft rows only the maximal sets are kept:
        every rule is closed under taking subsets, so with weights clipped at zero the best
        maximal set, less its non-positive items, is a best set.
    """
    n = conflict.shape[0]
    conf = conflict.astype(np.uint8)
    win = windows.astype(np.int64)
    keep_all = every or bool(soft.any())
    hard_rows = np.flatnonzero(~soft)
    mask = np.zeros((1, n), dtype=bool)
    counts = np.zeros((1, len(caps)), dtype=np.int64)
    last = np.full(1, -1, dtype=np.int64)
    later = np.arange(n)[None, :]
    out_sets, out_counts, total = [], [], 0
    while len(mask):
        ext = ~mask & ~((mask.astype(np.uint8) @ conf) > 0)
        for r in hard_rows:
            ext &= (counts[:, r, None] + win[r][None, :]) <= caps[r]
        keep = slice(None) if keep_all else ~ext.any(axis=1)
        out_sets.append(mask[keep])
        out_counts.append(counts[keep])
        total += len(out_sets[-1])
        s, j = np.nonzero(ext & (later > last[:, None]))
        if total > max_sets or len(s) > 4 * max_sets:
            return None
        mask = mask[s]
        mask[np.arange(len(s)), j] = True
        counts = counts[s] + win[:, j].T
        last = j
    sets = np.concatenate(out_sets)
    cnt = np.concatenate(out_counts)
    pen = (np.maximum(cnt - caps, 0) * soft) @ row_penalty if len(caps) else np.zeros(len(sets))
    return sets, np.asarray(pen, dtype=np.float64)


def _family(problem: PlanningProblem, acts: np.ndarray, max_sets: int) -> Family:
    cons = problem.constraints
    rows = problem.contact
    conflict = problem.conflict_matrix[np.ix_(acts, acts)]
    windows = problem.covers[rows][:, acts]
    caps = np.floor(cons.bound[rows] + 1e-9).astype(np.int64)
    binding = windows.sum(axis=1) > caps
    windows, caps = windows[binding], caps[binding]
    soft = cons.soft[rows][binding]
    pen = cons.penalty[rows][binding]
    full = windows.all(axis=1) & ~soft
    kmax = int(min(caps[full].min(initial=len(acts)), len(acts)))
    found = enumerate_sets(conflict, windows, caps, soft, pen, max_sets=max_sets)
    if found is None:
        sets, penalty, exact = np.zeros((0, len(acts)), bool), np.zeros(0), False
    else:
        (sets, penalty), exact = found, True
    return Family(
        activities=acts,
        sets=sets,
        sets_t=np.ascontiguousarray(sets.T, dtype=np.float32),
        penalty=penalty,
        exact=exact,
        kmax=kmax,
        conflict=conflict,
        windows=windows,
        caps=caps,
        soft=soft,
        row_penalty=pen,
    )


def families_of(problem: PlanningProblem, max_sets: int = MAX_SETS) -> tuple[Family, ...]:
    """The feasible-set family of every pattern, computed once and cached on the problem."""
    cached = problem.__dict__.get("families")
    if cached is None or cached[0] != max_sets:
        pats = patterns_of(problem)
        fams = tuple(_family(problem, acts, max_sets) for acts in pats.activities)
        cached = problem.__dict__["families"] = (max_sets, fams)
    return cached[1]


def greedy_picks(family: Family, weights: np.ndarray) -> np.ndarray:
    """bool ``[n, L]``: per customer, items by falling weight while every rule still holds.

    Used where the enumeration was too large; soft rows are treated as hard.
    """
    n, width = weights.shape
    picks = np.zeros((n, width), dtype=bool)
    counts = np.zeros((n, len(family.caps)), dtype=np.int64)
    conf = family.conflict.astype(np.uint8)
    win = family.windows.astype(np.int64)
    rows = np.arange(n)
    for _ in range(width):
        ok = (weights > 0) & ~picks & ~((picks.astype(np.uint8) @ conf) > 0)
        for r in range(len(family.caps)):
            ok &= (counts[:, r, None] + win[r][None, :]) <= family.caps[r]
        has = ok.any(axis=1)
        if not has.any():
            break
        j = np.where(ok, weights, -np.inf).argmax(axis=1)
        picks[rows[has], j[has]] = True
        counts[has] += win[:, j[has]].T
    return picks


# -------------------------------------------------------------------------------------------
# cliques of a small conflict graph (the exact referee's conflict rows)
# -------------------------------------------------------------------------------------------


def maximal_cliques(adj: np.ndarray) -> list[np.ndarray]:
    """Maximal cliques with at least two vertices (Bron-Kerbosch with pivoting, bitmasks)."""
    n = adj.shape[0]
    nbr = [sum(1 << int(j) for j in np.flatnonzero(adj[i])) for i in range(n)]
    out: list[np.ndarray] = []

    def expand(r: int, p: int, x: int) -> None:
        if not p and not x:
            if r & (r - 1):  # two or more vertices
                out.append(np.array([i for i in range(n) if r >> i & 1], dtype=np.int64))
            return
        pivot = max(_bits(p | x), key=lambda u: (p & nbr[u]).bit_count())
        for v in _bits(p & ~nbr[pivot]):
            expand(r | 1 << v, p & nbr[v], x & nbr[v])
            p &= ~(1 << v)
            x |= 1 << v

    expand(0, (1 << n) - 1, 0)
    return out


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


# -------------------------------------------------------------------------------------------
# small patterns hosted by larger ones (fewer, bigger matrix products)
# -------------------------------------------------------------------------------------------


#: Per-pattern overhead of the subproblem solve in multiply-adds (about 20 microseconds of numpy
#: calls against about 1 ns per multiply-add), for :func:`host_patterns`.
OVERHEAD = 20_000.0


@dataclass(frozen=True, eq=False)
class Hosting:
    """Patterns regrouped: each small pattern joins a larger pattern whose activities hold its own.

    A customer of a pattern ``p`` may use the feasible sets of any pattern ``h`` whose activities
    include ``p``'s: the rules are closed under taking subsets, so giving the activities it is
    not eligible for a weight that is never positive (padding slots) leaves its best set
    unchanged. With many small patterns (a population eligible by product) this turns hundreds
    of tiny products into a few larger ones.

    Attributes
    ----------
    patterns : Patterns
        The groups, laid out like patterns: every customer of a group has one slot per
        activity of the group; ``perm`` is -1 on padding slots.
    families : tuple of Family
        The family of each group (its host's).
    real : numpy.ndarray
        bool ``[slots]``: the slot holds one of the customer's assignments.
    """

    patterns: Patterns
    families: tuple[Family, ...]
    real: np.ndarray


def host_patterns(
    problem: PlanningProblem,
    families: tuple[Family, ...],
    *,
    min_customers: int = 32,
    max_factor: float = 8.0,
) -> Hosting:
    """Let every pattern with fewer than ``min_customers`` customers join the cheapest larger
    pattern (by ``sets x width``) whose activities include its own, unless its customers' product
    then costs more than ``max_factor`` times their own plus :data:`OVERHEAD` (what one more
    pattern's numpy calls cost, in the same units)."""
    pats = patterns_of(problem)
    sizes = pats.sizes()
    n_p, n_a = len(sizes), problem.n_activities
    member = np.zeros((n_p, n_a), dtype=bool)
    for p, acts in enumerate(pats.activities):
        member[p, acts] = True
    cost = np.array([max(len(f.sets), 1) * max(f.width, 1) for f in families], dtype=float)
    host = np.arange(n_p)
    big = np.flatnonzero(sizes >= min_customers)
    if len(big):
        for small in np.flatnonzero(sizes < min_customers):
            p = int(small)
            holds = (~member[p][None, :] | member[big]).all(axis=1) & (big != p)
            if not holds.any() or not families[p].exact:
                continue
            cand = big[holds]
            cand = cand[[families[int(h)].exact for h in cand]]
            if not len(cand):
                continue
            h = int(cand[np.argmin(cost[cand])])
            if sizes[p] * (cost[h] - max_factor * cost[p]) <= OVERHEAD:
                host[p] = h
    groups = np.unique(host)
    indptr = problem.assignments.indptr
    order, perm_parts, cust_sizes, widths, real_parts = [], [], [], [], []
    for g in groups:
        acts = pats.activities[g]
        width = len(acts)
        for member_ in np.flatnonzero(host == g):
            p = int(member_)
            who = pats.order[pats.cust_ptr[p] : pats.cust_ptr[p + 1]]
            local = np.searchsorted(acts, pats.activities[p])
            slots = np.full((len(who), width), -1, dtype=np.int64)
            items = indptr[who][:, None] + np.arange(len(local))[None, :]
            slots[:, local] = items
            order.append(who)
            perm_parts.append(slots.reshape(-1))
            real_parts.append(slots.reshape(-1) >= 0)
        cust_sizes.append(int(sizes[host == g].sum()))
        widths.append(width)
    cust_order = np.concatenate(order) if order else np.zeros(0, np.int64)
    position = np.empty(len(cust_order), dtype=np.int64)
    position[cust_order] = np.arange(len(cust_order))
    counts = np.array(cust_sizes, dtype=np.int64)
    cust_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    item_ptr = np.concatenate([[0], np.cumsum(counts * np.array(widths, dtype=np.int64))])
    virtual = Patterns(
        pattern=np.repeat(np.arange(len(groups), dtype=np.int32), counts),
        order=cust_order,
        position=position,
        cust_ptr=cust_ptr,
        perm=np.concatenate(perm_parts) if perm_parts else np.zeros(0, np.int64),
        item_ptr=item_ptr.astype(np.int64),
        activities=tuple(pats.activities[g] for g in groups),
    )
    return Hosting(
        virtual,
        tuple(families[g] for g in groups),
        np.concatenate(real_parts) if real_parts else np.zeros(0, bool),
    )
