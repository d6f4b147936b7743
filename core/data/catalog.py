"""Product catalogs: the products a journey may offer and the business rules between them.

A catalog is a TOML file (``data/catalogs/*.toml``; ``seed`` and ``full`` ship with the project)::

    [catalog]
    name = "seed"
    [journey]
    max_length = 5        # at most this many offers per journey
    discount = 1.0        # gamma in (0, 1]: step t is weighted gamma**(t-1)
    [[products]]
    key = "device_protection"          # identifier used everywhere
    label = "Device Protection Plan"   # shown to users
    column = "Device Protection Plan"  # the column that tells whether it is held
    held_if = ["Yes"]                  # or held_unless = ["None"]
    requires = ["internet"]            # prerequisites: held or offered earlier
    excludes = []                      # cannot be held/offered together (symmetric)
    monthly_price = 4.97               # optional
    margin = 0.7                       # optional: share of the price that is margin, (0, 1]
    discounts = [0.0, 0.1, 0.2]        # optional: discount levels an offer may carry, [0, 1)

A product's ``column`` is a canonical column (``Phone Service``) or a column of the customer file
as it is, before or without a mapping (``International plan``): catalogs for other businesses are
files their users write (``data/catalogs/telecom_plans.toml`` and ``retail.toml`` are examples).
Column names match case-, space- and underscore-insensitively (:func:`core.data.schema.normalize_name`),
and ``held_if`` / ``held_unless`` values case- and whitespace-insensitively, yes/no spellings
(True/False, Y/N, 1/0) alike: ``held_if = ["yes"]`` matches "Yes", " yes" and "True".
A name one typo away from a canonical column (``Phone Servise``) is refused as a likely typo.

:func:`load_catalog` validates everything (unknown keys, unknown products in rules, cycles in
prerequisites, a product both required and excluded, bad journey policy) and raises
:class:`~core.common.errors.CatalogError` with a message that names the product and the fix.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CatalogError
from core.data import schema

CATALOG_DIR = Path(__file__).resolve().parents[2] / "data" / "catalogs"
_PRODUCT_KEYS = {
    "key",
    "label",
    "column",
    "held_if",
    "held_unless",
    "requires",
    "excludes",
    "monthly_price",
    "description",
    "discounts",
    "margin",
}


@dataclass(frozen=True)
class Product:
    """One product of a catalog."""

    key: str
    label: str
    column: str
    held_if: tuple[str, ...] = ()
    held_unless: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    monthly_price: float | None = None
    description: str = ""
    discounts: tuple[float, ...] = ()
    margin: float | None = None

    def held(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean array: which rows of ``frame`` hold this product.

        Values are compared by :func:`value_token` (case, surrounding blanks and the yes/no
        spelling do not count). An empty cell holds nothing under ``held_if`` and is not held
        under ``held_unless`` either.
        """
        values = frame[self.column].astype(object)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if self.held_if:
            wanted = {value_token(v) for v in self.held_if}
            hit = np.array([value_token(u) in wanted for u in uniques] + [False], dtype=bool)
        else:
            refused = {value_token(v) for v in self.held_unless}
            hit = np.array([value_token(u) not in refused for u in uniques] + [False], dtype=bool)
        return hit[codes]


@dataclass(frozen=True)
class Catalog:
    """A validated product catalog and its journey policy."""

    name: str
    products: tuple[Product, ...]
    max_length: int
    discount: float
    description: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.products)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.products)

    @property
    def n_products(self) -> int:
        return len(self.products)

    def index(self, key: str) -> int:
        """Position of product ``key``."""
        try:
            return self.keys.index(key)
        except ValueError:
            raise CatalogError(
                f"catalog '{self.name}' has no product '{key}'; it has {list(self.keys)}."
            ) from None

    def requires_matrix(self) -> np.ndarray:
        """``R[j, q]`` is True when product j needs product q held or offered earlier."""
        n = self.n_products
        r = np.zeros((n, n), dtype=bool)
        for j, p in enumerate(self.products):
            for q in p.requires:
                r[j, self.index(q)] = True
        return r

    def excludes_matrix(self) -> np.ndarray:
        """Symmetric ``E[j, q]``: products j and q cannot both be held or offered."""
        n = self.n_products
        e = np.zeros((n, n), dtype=bool)
        for j, p in enumerate(self.products):
            for q in p.excludes:
                e[j, self.index(q)] = e[self.index(q), j] = True
        return e

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        """Products whose holding column is absent from ``columns`` (names compared normalized)."""
        have = {schema.normalize_name(c) for c in columns}
        return [p.key for p in self.products if schema.normalize_name(p.column) not in have]

    def bind(self, columns: Sequence[str]) -> Catalog:
        """The catalog with each product's ``column`` spelt as in ``columns``.

        ``International_plan`` in a file binds a product that names ``International plan``;
        products whose column is absent are left as they are.
        """
        by_norm: dict[str, str] = {}
        for c in columns:
            by_norm.setdefault(schema.normalize_name(c), c)
        products = tuple(
            p
            if p.column in columns or schema.normalize_name(p.column) not in by_norm
            else replace(p, column=by_norm[schema.normalize_name(p.column)])
            for p in self.products
        )
        if products == self.products:
            return self
        return replace(self, products=products)

    def holdings(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean ``[n_customers, n_products]`` matrix of what each customer holds."""
        missing = self.missing_columns(list(frame.columns))
        if missing:
            cols = [self.products[self.index(k)].column for k in missing]
            raise CatalogError(
                f"catalog '{self.name}': product(s) {missing} read column(s) {cols}, which this "
                "data does not have. Fix: choose a catalog without them (see "
                "Catalog.restrict_to), map those columns, or edit the catalog."
            )
        bound = self.bind(list(frame.columns))
        return (
            np.column_stack([p.held(frame) for p in bound.products])
            if self.products
            else (np.zeros((len(frame), 0), dtype=bool))
        )

    def restrict_to(self, columns: Sequence[str]) -> Catalog:
        """The catalog without products whose column is absent (and rules naming them)."""
        drop = set(self.missing_columns(columns))
        if not drop:
            return self.bind(list(columns))
        kept = []
        for p in self.products:
            if p.key in drop:
                continue
            if set(p.requires) & drop:
                drop.add(p.key)
                continue
            kept.append(p)
        products = tuple(
            Product(**{**p.__dict__, "excludes": tuple(q for q in p.excludes if q not in drop)})
            for p in kept
        )
        return Catalog(
            self.name,
            products,
            min(self.max_length, max(len(products), 1)),
            self.discount,
            self.description,
        ).bind(list(columns))

    def to_dict(self) -> dict[str, Any]:
        return {
            "catalog": {"name": self.name, "description": self.description},
            "journey": {"max_length": self.max_length, "discount": self.discount},
            "products": [
                {
                    k: (list(v) if isinstance(v, tuple) else v)
                    for k, v in p.__dict__.items()
                    if v not in ((), None, "")
                }
                for p in self.products
            ],
        }


def value_token(value: Any) -> str:
    """How a holding value compares: yes/no spellings as ``"yes"``/``"no"``, whole numbers
    without decimals, other text stripped and lower-cased.

    Examples
    --------
    >>> [value_token(v) for v in (" Yes", True, "1", 0.0, "Offer A", 3.0)]
    ['yes', 'yes', 'yes', 'no', 'offer a', '3']
    """
    token = schema.boolean_token(value)
    if token is not None:
        return token.lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _check_column(column: Any, where: str) -> str:
    """The product's column: a canonical name (respelt canonically) or a column of the file.

    Raises :class:`CatalogError` for an empty name or one that looks like a typo of a canonical
    column (close to it, but not the same name).
    """
    if not isinstance(column, str) or not column.strip():
        raise CatalogError(
            f"{where}: 'column' = {column!r} is not a canonical column nor a column name. "
            "Fix: name the column that tells whether a customer holds the product, e.g. "
            "'Phone Service' or a column of your file such as 'International plan'."
        )
    canonical = schema.canonical_name(column)
    if canonical is not None:
        return canonical
    close = difflib.get_close_matches(column.strip(), schema.CANONICAL, n=1, cutoff=0.88)
    if close:
        raise CatalogError(
            f"{where}: 'column' = {column!r} is not a canonical column, and so close to "
            f"{close[0]!r} that it looks like a typo. Fix: write {close[0]!r}; if your file "
            "really has a column of that name, rename it there or map it in the mapping."
        )
    return column.strip()


def _as_tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CatalogError(f"{where}: expected a list of strings, got {value!r}.")


def _discount_levels(value: Any, where: str) -> tuple[float, ...]:
    """The sorted discount levels of a product, each in [0, 1) (0 = list price)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise CatalogError(f"{where}: discounts must be a list of levels such as [0.0, 0.1, 0.2].")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1:
            raise CatalogError(
                f"{where}: discount level {v!r} is outside [0, 1) (0.1 = 10% off; 1 would give "
                "the product away). Fix: use levels such as [0.0, 0.1, 0.2]."
            )
        out.append(float(v))
    if len(set(out)) != len(out):
        raise CatalogError(f"{where}: discount levels {value} repeat a level.")
    return tuple(sorted(out))


def _find_cycle(requires: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(k: str) -> list[str] | None:
        state[k] = 1
        stack.append(k)
        for q in requires.get(k, ()):
            if state.get(q) == 1:
                return stack[stack.index(q) :] + [q]
            if q not in state:
                found = visit(q)
                if found:
                    return found
        stack.pop()
        state[k] = 2
        return None

    for key in requires:
        if key not in state:
            found = visit(key)
            if found:
                return found
    return None


def parse_catalog(data: Mapping[str, Any], *, source: str = "catalog") -> Catalog:
    """Validate a catalog given as a dict (the parsed TOML) and build a :class:`Catalog`."""
    meta = data.get("catalog", {})
    journey = data.get("journey", {})
    raw_products = data.get("products")
    name = str(meta.get("name", Path(source).stem))
    if not isinstance(raw_products, list) or not raw_products:
        raise CatalogError(f"{source}: no [[products]] entries. Fix: add at least one product.")
    products: list[Product] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_products, start=1):
        where = f"{source}: product #{i}"
        if not isinstance(raw, Mapping):
            raise CatalogError(f"{where}: must be a table.")
        unknown = sorted(set(raw) - _PRODUCT_KEYS)
        if unknown:
            raise CatalogError(
                f"{where}: unknown field(s) {unknown}; allowed: {sorted(_PRODUCT_KEYS)}."
            )
        key = raw.get("key")
        if not isinstance(key, str) or not key.strip():
            raise CatalogError(f"{where}: needs a non-empty 'key'.")
        where = f"{source}: product '{key}'"
        if key in seen:
            raise CatalogError(f"{where}: duplicate key. Fix: give every product its own key.")
        seen.add(key)
        column = _check_column(raw.get("column"), where)
        held_if = _as_tuple(raw.get("held_if"), where)
        held_unless = _as_tuple(raw.get("held_unless"), where)
        if bool(held_if) == bool(held_unless):
            raise CatalogError(f"{where}: give exactly one of held_if or held_unless.")
        price = raw.get("monthly_price")
        if price is not None and (not isinstance(price, int | float) or price < 0):
            raise CatalogError(f"{where}: monthly_price must be a number >= 0, got {price!r}.")
        discounts = _discount_levels(raw.get("discounts"), where)
        margin = raw.get("margin")
        if margin is not None and (
            isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 < margin <= 1
        ):
            raise CatalogError(
                f"{where}: margin must be the share of the price that is margin, in (0, 1], "
                f"got {margin!r}."
            )
        products.append(
            Product(
                key=key,
                label=str(raw.get("label", key)),
                column=column,
                held_if=held_if,
                held_unless=held_unless,
                requires=_as_tuple(raw.get("requires"), where),
                excludes=_as_tuple(raw.get("excludes"), where),
                monthly_price=None if price is None else float(price),
                description=str(raw.get("description", "")),
                discounts=discounts,
                margin=None if margin is None else float(margin),
            )
        )
    keys = {p.key for p in products}
    for p in products:
        for rule, targets in (("requires", p.requires), ("excludes", p.excludes)):
            unknown = [t for t in targets if t not in keys]
            if unknown:
                raise CatalogError(
                    f"{source}: product '{p.key}' {rule} unknown product(s) "
                    f"{unknown}. Known: {sorted(keys)}."
                )
            if p.key in targets:
                raise CatalogError(f"{source}: product '{p.key}' {rule} itself.")
        both = set(p.requires) & set(p.excludes)
        if both:
            raise CatalogError(
                f"{source}: product '{p.key}' both requires and excludes {sorted(both)}."
            )
    cycle = _find_cycle({p.key: p.requires for p in products})
    if cycle:
        raise CatalogError(
            f"{source}: prerequisites form a cycle: {' -> '.join(cycle)}. Fix: "
            "remove one of these requirements."
        )
    max_length = journey.get("max_length", len(products))
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
        raise CatalogError(
            f"{source}: journey.max_length must be a whole number >= 1, got {max_length!r}."
        )
    discount = journey.get("discount", 1.0)
    if not isinstance(discount, int | float) or not 0 < float(discount) <= 1:
        raise CatalogError(f"{source}: journey.discount must be in (0, 1], got {discount!r}.")
    return Catalog(
        name=name,
        products=tuple(products),
        max_length=min(max_length, len(products)),
        discount=float(discount),
        description=str(meta.get("description", "")),
    )


def available_catalogs() -> list[str]:
    """Names of the catalogs shipped in ``data/catalogs``."""
    return sorted(p.stem for p in CATALOG_DIR.glob("*.toml"))


def load_catalog(name_or_path: str | Path = "seed") -> Catalog:
    """Load a shipped catalog by name (``"seed"``, ``"full"``) or any catalog TOML by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CATALOG_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise CatalogError(
                f"no catalog named '{name_or_path}'. Shipped: "
                f"{available_catalogs()}; or give a path to a .toml file."
            )
    if not path.is_file():
        raise CatalogError(f"catalog file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path.name}: not valid TOML ({exc}).") from None
    return parse_catalog(data, source=path.name)


def is_shipped(catalog: str | Path) -> bool:
    """Whether ``catalog`` names a shipped catalog (``seed``, ``full``, ...), not a user's file."""
    path = Path(catalog)
    return not path.suffix and not path.exists() and (CATALOG_DIR / f"{catalog}.toml").is_file()


def resolve_catalog(catalog: Catalog | str | Path, columns: Sequence[str] | None = None) -> Catalog:
    """Load ``catalog`` (a name, a path or a :class:`Catalog`) and drop products absent from data.

    Products whose holding column is not in ``columns`` are removed (see
    :meth:`Catalog.restrict_to`), so the classic export, which has no ``Offer``, still works
    with the ``seed`` catalog (four products); the others are bound to the data's spelling of
    their column (:meth:`Catalog.bind`).

    Raises
    ------
    CatalogError
        When none of the catalog's products can be read from ``columns``.
    """
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    if columns is None:
        return cat
    out = cat.restrict_to(list(columns))
    if out.n_products == 0:
        raise CatalogError(
            f"catalog '{cat.name}': none of its products' columns are in the data "
            f"(it needs {sorted({p.column for p in cat.products})}), so no portfolio can be "
            "modelled. Fix: map those columns or choose another catalog."
        )
    return out
