"""The mapping assistant: a proposed mapping (and catalog) for a file of unknown layout.

:func:`propose` looks at each column of a raw table and proposes how to use it:

* a canonical column, by name (up to case, spaces and underscores), by a known synonym
  (:data:`SYNONYMS`: ``Churn`` -> ``Churn Label``, ``Account length`` -> ``Tenure in Months``,
  ``Lifetime_Value`` -> ``CLTV``, ...) or by fuzzy matching (difflib ratio >= 0.9);
* ``product``: a column the suggested catalog reads holdings from;
* ``feature``: any other usable column (the models use it as it is);
* ``ignore``: free text, an identifier or an empty column.

Each row carries the column's kind (:mod:`core.data.extras`), a preview of its values and why
it was proposed, and a warning when the values will not fit the target (a vocabulary the
mapping must translate in a ``[values]`` table). The catalog proposed is the shipped catalog
whose products' columns are all in the file (most products first), else none, with the yes/no
and few-valued columns that a catalog of the user's own could read (:func:`draft_catalog`
writes one). :func:`mapping_from_rows` turns an edited table back into a
:class:`~core.data.mapping.ColumnMapping` (the dashboard validates it live and offers it as TOML).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from core.common.errors import MappingError
from core.data import schema
from core.data.catalog import available_catalogs, load_catalog
from core.data.extras import FEATURE_KINDS, infer_kind
from core.data.mapping import ColumnMapping

#: What a row may say besides a canonical column name.
PRODUCT, FEATURE, OUTCOME, IGNORE = "product", "feature", "outcome", "ignore"
USES: tuple[str, ...] = (FEATURE, PRODUCT, OUTCOME, IGNORE, *schema.CANONICAL)

#: Other exports' names of canonical columns (compared by normalize_name).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "Customer ID": ("customer", "customer id", "client id", "account id", "custid", "user id"),
    "Churn Label": ("churn", "churned", "exited", "attrition", "left", "is churn", "cancelled"),
    "Tenure in Months": ("tenure", "account length", "months", "tenure months", "lifetime months"),
    "Monthly Charge": ("monthly charges", "monthly fee", "monthly bill", "mrc"),
    "Total Charges": ("total charges", "total spend", "total billed"),
    "CLTV": ("lifetime value", "customer lifetime value", "clv", "ltv", "cltv"),
    "Satisfaction Score": ("satisfaction", "csat", "satisfaction score"),
    "Gender": ("gender", "sex"),
    "Age": ("age", "customer age"),
    "Frequency": ("purchase frequency", "frequency", "orders", "number of orders", "order count"),
    "Average Order Value": ("average order value", "aov", "avg order value", "basket size"),
    "Days Between Purchases": ("time between purchases", "days between purchases", "purchase gap"),
    "Recency Days": ("recency", "days since last purchase", "last purchase days ago"),
    "Monetary": ("monetary", "total spend", "revenue", "total revenue net"),
    "Churn Probability": ("churn probability", "churn risk", "churn propensity", "churn score pct"),
    "Contract": ("contract", "contract type", "plan term"),
    "Country": ("country",),
}
_FUZZY = 0.9
_PREVIEW = 4
_MAX_PRODUCT_LEVELS = 12


@dataclass(frozen=True)
class Proposal:
    """What :func:`propose` suggests for a file.

    Attributes
    ----------
    rows
        One row per file column: ``your column``, ``use as`` (a canonical name or one of
        ``feature``, ``product``, ``outcome``, ``ignore``), ``kind``, ``examples``, ``why``.
    catalog
        The shipped catalog whose products' columns the file has, or None.
    product_columns
        The columns that catalog reads; without one, the columns a catalog of the user's own
        could read (yes/no and few-valued columns), for :func:`draft_catalog`.
    """

    rows: pd.DataFrame
    catalog: str | None
    product_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _words(name: str) -> str:
    """Lower-case words of a header (``Account_length`` -> ``account length``)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    return " ".join(re.split(r"[\s_\-.]+", spaced.strip().lower())).strip()


def _target(column: str) -> tuple[str | None, str]:
    """The canonical column ``column`` most likely holds, and why (None when nothing fits)."""
    exact = schema.canonical_name(column)
    if exact is not None:
        return exact, "same name"
    words = _words(column)
    norm = schema.normalize_name(column)
    for target, names in SYNONYMS.items():
        if words in names or norm in {schema.normalize_name(n) for n in names}:
            return target, f"'{column}' is a usual name for it"
    by_norm = {schema.normalize_name(c): c for c in schema.CANONICAL}
    close = difflib.get_close_matches(norm, list(by_norm), n=1, cutoff=_FUZZY)
    if close:
        return by_norm[close[0]], "similar name"
    return None, ""


def _fits(values: pd.Series, target: str) -> str:
    """Empty when ``values`` can fill ``target``; else what the user must fix."""
    spec = schema.BY_NAME[target]
    present = values.dropna().astype(str).str.strip()
    present = present[present != ""]
    if present.empty:
        return "the column is empty"
    if spec.kind in ("int", "float"):
        nums = pd.to_numeric(present, errors="coerce")
        if spec.min == 0 and spec.max == 1:
            nums = nums.fillna(present.map(schema.boolean_token).map({"Yes": 1.0, "No": 0.0}))
        if nums.isna().any():
            return f"not all numbers (e.g. {present[nums.isna()].iloc[0]!r})"
        return ""
    if spec.values:
        allowed = {v.lower() for v in spec.values}
        odd = [
            v
            for v in pd.unique(present)
            if v.lower() not in allowed
            and not (spec.values == schema.YES_NO and schema.boolean_token(v) is not None)
        ]
        if odd:
            return (
                f'values {odd[:3]} are not {list(spec.values)}: add a [values."{target}"] '
                "table to translate them"
            )
    return ""


def _catalog_for(columns: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    """The shipped catalog reading only columns of the file (most products), and its columns."""
    have = {schema.normalize_name(c): c for c in columns}
    best: tuple[int, str | None, tuple[str, ...]] = (0, None, ())
    for name in available_catalogs():
        cat = load_catalog(name)
        found = [have.get(schema.normalize_name(p.column)) for p in cat.products]
        if all(found) and cat.n_products > best[0]:
            best = (cat.n_products, name, tuple(str(f) for f in found))
    return best[1], best[2]


def propose(raw: pd.DataFrame, *, sample: int = 5000) -> Proposal:
    """Propose how to use each column of ``raw`` (see the module docstring).

    ``sample`` rows are looked at (the first ones), so a large file is quick.
    """
    head = raw.head(sample)
    catalog, product_cols = _catalog_for(list(raw.columns))
    taken: set[str] = set()
    rows = []
    notes: list[str] = []
    for col in raw.columns:
        values = head[col]
        kind = infer_kind(values)
        preview = ", ".join(str(v) for v in pd.unique(values.dropna().astype(str))[:_PREVIEW])
        target, why = _target(col)
        warn = ""
        if col in product_cols:
            use, why = PRODUCT, f"the '{catalog}' catalog reads it"
        elif target is not None and target not in taken:
            use = target
            warn = _fits(values, target)
            taken.add(target)
        elif kind.kind in FEATURE_KINDS:
            use, why = FEATURE, f"{kind.kind}: the models use it as it is"
        else:
            use, why = IGNORE, kind.reason
        if use in schema.BY_NAME and schema.BY_NAME[use].role == "outcome":
            why += "; an outcome, never a feature"
        rows.append(
            {
                "your column": col,
                "use as": use,
                "kind": kind.kind,
                "examples": preview,
                "why": why + (f". Check: {warn}" if warn else ""),
            }
        )
    drafts: tuple[str, ...] = product_cols
    if catalog is None:
        drafts = tuple(
            r["your column"]
            for r in rows
            if r["use as"] == FEATURE
            and (r["kind"] == "boolean" or _few_levels(head[r["your column"]]))
        )
        notes.append(
            "no shipped catalog reads this file's columns: choose the columns that say which "
            "products a customer holds, and a catalog is drafted from them."
        )
    return Proposal(pd.DataFrame(rows), catalog, drafts, tuple(notes))


def _few_levels(values: pd.Series) -> bool:
    kind = infer_kind(values).kind
    n = values.dropna().astype(str).str.strip().nunique()
    return kind == "categorical" and 2 <= n <= _MAX_PRODUCT_LEVELS


def mapping_from_rows(rows: pd.DataFrame) -> ColumnMapping:
    """The :class:`ColumnMapping` of an (edited) proposal table.

    Rows whose ``use as`` is a canonical name become ``[columns]`` entries (unless the column
    already has that name), ``outcome`` rows ``[outcomes]`` and ``ignore`` rows ``[ignore]``;
    ``feature`` and ``product`` rows need no entry.

    Raises
    ------
    MappingError
        For an unknown ``use as`` value or two columns sent to one canonical name.
    """
    columns: dict[str, str] = {}
    outcomes: list[str] = []
    ignore: list[str] = []
    for _, r in rows.iterrows():
        col, use = str(r["your column"]), str(r["use as"] or FEATURE).strip()
        if use not in USES:
            raise MappingError(
                f"'{col}': 'use as' = {use!r} is not a canonical column nor one of "
                f"{[FEATURE, PRODUCT, OUTCOME, IGNORE]}. Fix: pick a value from the list."
            )
        if use == OUTCOME:
            outcomes.append(col)
        elif use == IGNORE:
            ignore.append(col)
        elif use in schema.BY_NAME and use != col:
            columns[col] = use
    return ColumnMapping(columns, {}, tuple(outcomes), tuple(ignore))


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def draft_catalog(raw: pd.DataFrame, columns: Sequence[str], *, name: str = "my_products") -> str:
    """A catalog TOML reading holdings from ``columns`` of ``raw``.

    A yes/no column becomes one product (held when yes); a column with a few values becomes one
    product per value (held when the customer's value is that one). Prices, prerequisites and
    exclusions are left for the user to add.

    Raises
    ------
    MappingError
        When no column is given, or a column has too many values to be products.
    """
    if not columns:
        raise MappingError("choose at least one column that says which products a customer holds.")
    lines = [
        "[catalog]",
        f"name = {_toml(name)}",
        'description = "Drafted by the mapping assistant: add prices, requires and excludes."',
        "",
        "[journey]",
        f"max_length = {min(3, max(1, len(columns)))}",
        "discount = 1.0",
    ]
    keys: set[str] = set()

    def product(key: str, label: str, column: str, value: str) -> None:
        base = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_") or "product"
        k, i = base, 2
        while k in keys:
            k, i = f"{base}_{i}", i + 1
        keys.add(k)
        lines.extend(
            [
                "",
                "[[products]]",
                f"key = {_toml(k)}",
                f"label = {_toml(label)}",
                f"column = {_toml(column)}",
                f"held_if = [{_toml(value)}]",
            ]
        )

    for col in columns:
        if col not in raw.columns:
            raise MappingError(f"'{col}' is not a column of the file.")
        values = raw[col]
        if infer_kind(values).kind == "boolean":
            product(col, col, col, "yes")
            continue
        levels = sorted(pd.unique(values.dropna().astype(str).str.strip()))
        levels = [v for v in levels if v]
        if len(levels) > _MAX_PRODUCT_LEVELS:
            raise MappingError(
                f"'{col}' has {len(levels)} values; a catalog reads yes/no columns or columns "
                f"of at most {_MAX_PRODUCT_LEVELS} values (one product each)."
            )
        for v in levels:
            product(f"{v}", v, col, v)
    return "\n".join(lines) + "\n"
