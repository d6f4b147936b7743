"""Customer tables from transactions: invoice lines -> one row per customer.

A retailer's export lists invoice lines (invoice, item code, description, quantity, invoice date,
unit price, customer id, country; the public "online retail" files look like this).
:func:`customers_from_transactions` turns them into the customer table the rest of the product
reads (``python -m core customers-from-transactions FILE --out customers.parquet``):

``Customer ID``             the customer
``Country``                 the country of most of their lines
``Recency Days``            days from the last purchase to the as-of date
``Frequency``               purchase invoices (an invoice with at least one bought item)
``Monetary``                net spend: quantity x unit price summed, returns netted
``Average Order Value``     Monetary / Frequency
``Tenure in Months``        whole months (of 30.4375 days) from the first purchase to the as-of date
``Days Between Purchases``  (last - first purchase day) / (Frequency - 1); empty for one order
``Returned Value``          value of the returned lines (negative quantities), as a positive sum
``Returned Lines``          how many returned lines
``Bought <Category>``       Yes/No per category: bought at least once (the holdings of the
                            ``retail`` catalog)
``Most Frequent Category``  the category of most of their purchase lines (ties: alphabetical)
``Churn Label``             Yes when the customer bought nothing in the churn window
                            (as-of date, as-of date + churn-after days]; only when the data
                            covers the whole window (else reported unavailable, never invented)

Only lines dated on or before the as-of date describe a customer; the default as-of date is the
last invoice date minus the churn window, so the window is observed. Lines without a customer id
are excluded and reported (count and value), and so are customers who only appear after the as-of
date. Categories come from a ``category`` column when the file has one, else from keywords in the
description (:data:`DEFAULT_CATEGORIES`, or a mapping's ``[categories]`` table).

The mapping (``--mapping FILE``) names the file's columns and, optionally, the categories::

    [columns]
    "InvoiceNo" = "invoice"
    "CustomerID" = "customer_id"

    [categories]
    "Kitchen" = ["MUG", "TEAPOT"]

Without it, the usual header names are recognised (:data:`SYNONYMS`), up to case, spaces and
underscores.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataValidationError, MappingError, format_rows
from core.data.schema import normalize_name

#: The fields of an invoice line; ``REQUIRED_FIELDS`` must be found.
FIELDS: tuple[str, ...] = (
    "invoice", "item_code", "description", "quantity", "invoice_date", "unit_price",
    "customer_id", "country", "category",
)  # fmt: skip
REQUIRED_FIELDS: tuple[str, ...] = (
    "invoice", "quantity", "invoice_date", "unit_price", "customer_id",
)  # fmt: skip
#: Header names recognised for each field (compared by :func:`core.data.schema.normalize_name`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "invoice": ("invoice", "invoiceno", "invoicenumber", "invoiceid", "orderid", "order"),
    "item_code": ("stockcode", "itemcode", "item", "sku", "productcode", "productid"),
    "description": ("description", "itemdescription", "productname", "product"),
    "quantity": ("quantity", "qty", "units"),
    "invoice_date": ("invoicedate", "date", "orderdate", "transactiondate"),
    "unit_price": ("unitprice", "price", "priceeach", "itemprice"),
    "customer_id": ("customerid", "customer", "custid", "clientid"),
    "country": ("country",),
    "category": ("category", "productcategory"),
}
#: Categories from description keywords (whole words, upper case), in order of priority.
DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Christmas": ("CHRISTMAS", "XMAS", "SANTA", "ADVENT", "SNOWFLAKE"),
    "Bags": ("BAG", "BAGS", "TOTE", "PURSE", "SHOPPER"),
    "Kitchen": ("MUG", "MUGS", "CUP", "CUPS", "TEA", "TEAPOT", "PLATE", "PLATES", "BOWL", "SPOON",
                "CAKE", "BAKING", "LUNCH", "JAR", "BOTTLE", "TIN", "NAPKINS"),
    "Stationery": ("CARD", "CARDS", "PAPER", "WRAP", "NOTEBOOK", "PENCIL", "PENCILS", "PEN",
                   "STICKER", "STICKERS", "ENVELOPE", "ENVELOPES"),
    "Toys": ("TOY", "TOYS", "GAME", "DOLL", "PUZZLE", "PLAYHOUSE", "SKITTLES", "SOLDIER"),
    "Home decor": ("CANDLE", "CANDLES", "HOLDER", "LANTERN", "LIGHT", "LIGHTS", "FRAME", "CLOCK",
                   "SIGN", "CUSHION", "VASE", "DOORMAT", "HANGING", "ORNAMENT", "MIRROR"),
}  # fmt: skip
OTHER_CATEGORY = "Other"
#: The extra columns of the customer table that summarise the purchase lines themselves: like
#: the schema's value columns they reveal what a customer bought, so the models that must not
#: see the portfolio (acceptance, the ``dr`` estimator's covariates) leave them out.
HISTORY_COLUMNS: tuple[str, ...] = ("Returned Value", "Returned Lines", "Most Frequent Category")
_MONTH_DAYS = 30.4375


@dataclass(frozen=True)
class TransactionMapping:
    """Which column holds each field, and optional category keywords."""

    columns: Mapping[str, str] = field(default_factory=dict)  # source -> field
    categories: Mapping[str, tuple[str, ...]] | None = None

    def __post_init__(self) -> None:
        bad = sorted({f for f in self.columns.values() if f not in FIELDS})
        if bad:
            raise MappingError(
                f"the transactions mapping names unknown field(s) {bad}. Fix: map columns to "
                f"{list(FIELDS)}."
            )

    @classmethod
    def load(cls, source: Mapping[str, Any] | str | Path | None) -> TransactionMapping:
        """From a dict (``{"columns": ..., "categories": ...}``), a TOML path, or None."""
        if source is None:
            return cls()
        if isinstance(source, Mapping):
            data: Mapping[str, Any] = source
        else:
            path = Path(source)
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise MappingError(f"mapping file not found: {path}") from None
            except tomllib.TOMLDecodeError as exc:
                raise MappingError(f"mapping file {path} is not valid TOML: {exc}") from None
        cats = data.get("categories")
        categories = None
        if cats is not None:
            if not isinstance(cats, Mapping):
                raise MappingError('[categories] needs "Category" = ["KEYWORD", ...] entries.')
            categories = {str(k): tuple(str(w).upper() for w in v) for k, v in cats.items()}
        columns = data.get("columns", {})
        return cls({str(k): str(v) for k, v in columns.items()}, categories)


@dataclass(frozen=True)
class CustomerTable:
    """What :func:`customers_from_transactions` returns: the table and what was done."""

    customers: pd.DataFrame
    report: dict[str, Any]


def _resolve(raw: pd.DataFrame, mapping: TransactionMapping, name: str) -> dict[str, str]:
    """field -> column of ``raw``."""
    by_norm = {normalize_name(c): c for c in raw.columns}
    found: dict[str, str] = {}
    for src, fld in mapping.columns.items():
        col = src if src in raw.columns else by_norm.get(normalize_name(src))
        if col is None:
            raise MappingError(
                f"{name}: the mapping names column '{src}', which the file does not have. "
                f"Found columns: {list(raw.columns)[:40]}."
            )
        found[fld] = col
    for fld in FIELDS:
        if fld in found:
            continue
        for alias in SYNONYMS[fld]:
            if alias in by_norm and by_norm[alias] not in found.values():
                found[fld] = by_norm[alias]
                break
    missing = [f for f in REQUIRED_FIELDS if f not in found]
    if missing:
        raise MappingError(
            f"{name}: no column found for {missing}. Found columns: {list(raw.columns)[:40]}. "
            'Fix: name them in a mapping ([columns] "their name" = "invoice", ...) or '
            f"rename them; recognised names: { {f: SYNONYMS[f][:3] for f in missing} }."
        )
    return found


def _numbers(values: pd.Series, column: str, name: str) -> np.ndarray:
    text = values.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna().to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 1).tolist()
        sample = text[bad].astype(str).unique()[:3].tolist()
        raise DataValidationError(
            f"{name}: column '{column}' is not a number in {format_rows(rows)} (values: "
            f"{sample}). Fix: use plain numbers (dot as decimal separator, no currency signs)."
        )
    return num.to_numpy(dtype=float)


def _dates(values: pd.Series, column: str, name: str) -> pd.Series:
    text = values.astype(str).str.strip()
    dates = pd.to_datetime(text, errors="coerce", format="mixed")
    bad = dates.isna().to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 1).tolist()
        raise DataValidationError(
            f"{name}: column '{column}' is not a date in {format_rows(rows)} (values: "
            f"{text[bad].unique()[:3].tolist()}). Fix: write dates like 2024-01-31 or "
            "2024-01-31 14:05."
        )
    return dates


def _customer_ids(values: pd.Series) -> pd.Series:
    """Ids as text ("12346.0" -> "12346"); empty cells as None."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        t = str(v).strip()
        if not t or t.lower() in {"nan", "none", "null"}:
            return None
        if t.endswith(".0") and t[:-2].isdigit():
            return t[:-2]
        return t

    return values.astype(object).map(one)


def categorise(descriptions: pd.Series, table: Mapping[str, Sequence[str]]) -> pd.Series:
    """The category of each description: the first of ``table`` with a keyword in it, else Other.

    Examples
    --------
    >>> categorise(pd.Series(["WHITE MUG", "CHRISTMAS CARD", "SPOTTY SOCKS"]),
    ...            DEFAULT_CATEGORIES).tolist()
    ['Kitchen', 'Christmas', 'Other']
    """
    lookup = [(cat, {w.upper() for w in words}) for cat, words in table.items()]

    def one(text: Any) -> str:
        words = set(str(text).upper().replace("-", " ").replace("/", " ").split())
        for cat, keys in lookup:
            if words & keys:
                return cat
        return OTHER_CATEGORY

    codes, uniques = pd.factorize(descriptions.astype(object).fillna(""))
    cats = np.array([one(u) for u in uniques] + [OTHER_CATEGORY], dtype=object)
    return pd.Series(cats[codes], index=descriptions.index)


def _as_of(
    dates: pd.Series, as_of: Any, churn_after: int, name: str
) -> tuple[pd.Timestamp, str | None]:
    """The as-of day and, when the churn window is not fully observed, why."""
    last = dates.max().normalize()
    if as_of is None:
        day = last - pd.Timedelta(days=churn_after)
    else:
        try:
            day = pd.Timestamp(as_of).normalize()
        except (ValueError, TypeError):
            raise DataValidationError(
                f"--as-of {as_of!r} is not a date. Fix: write it like 2024-06-30."
            ) from None
    if (dates.min().normalize() > day) or pd.isna(day):
        raise DataValidationError(
            f"{name}: no purchase on or before the as-of date {day.date()} (the lines run from "
            f"{dates.min().date()} to {dates.max().date()}). Fix: choose a later --as-of or a "
            "shorter --churn-after."
        )
    end = day + pd.Timedelta(days=churn_after)
    if last < end:
        return day, (
            f"the churn window runs to {end.date()} but the lines end on {last.date()}: the "
            "churn label is unavailable (never invented). Fix: an earlier --as-of or a shorter "
            "--churn-after."
        )
    return day, None


def customers_from_transactions(
    lines: pd.DataFrame,
    *,
    as_of: Any = None,
    churn_after: int = 90,
    mapping: TransactionMapping | Mapping[str, Any] | str | Path | None = None,
    name: str = "transactions",
) -> CustomerTable:
    """One row per customer from invoice lines (see the module docstring for the columns).

    Parameters
    ----------
    lines
        The invoice lines as read (text or typed columns).
    as_of
        The snapshot date (``"2024-06-30"``); default: the last invoice date minus
        ``churn_after`` days.
    churn_after
        Length of the churn window in days (> 0).
    mapping
        A :class:`TransactionMapping`, a dict, a TOML path, or None (usual header names).
    name
        Name used in messages.

    Returns
    -------
    CustomerTable
        ``customers`` (sorted by Customer ID) and ``report``: lines read, lines without a
        customer id (excluded) and their value, return lines and value, customers, as-of date,
        churn window, churn rate (or why it is unavailable), categories.

    Raises
    ------
    DataValidationError
        Missing columns (:class:`~core.common.errors.MappingError`), non-numeric quantities or
        prices, unreadable dates, no purchase before the as-of date.
    """
    if int(churn_after) < 1:
        raise DataValidationError(f"--churn-after {churn_after}: use a number of days >= 1.")
    churn_after = int(churn_after)
    tmap = mapping if isinstance(mapping, TransactionMapping) else TransactionMapping.load(mapping)
    col = _resolve(lines, tmap, name)
    n_lines = len(lines)
    qty = _numbers(lines[col["quantity"]], col["quantity"], name)
    price = _numbers(lines[col["unit_price"]], col["unit_price"], name)
    dates = _dates(lines[col["invoice_date"]], col["invoice_date"], name)
    ids = _customer_ids(lines[col["customer_id"]])
    if "category" in col:
        category = lines[col["category"]].astype(object).fillna(OTHER_CATEGORY).astype(str)
        category = category.str.strip().replace("", OTHER_CATEGORY)
        source = f"column '{col['category']}'"
    else:
        table = tmap.categories or DEFAULT_CATEGORIES
        desc = lines[col["description"]] if "description" in col else pd.Series([""] * n_lines)
        category = categorise(desc.reset_index(drop=True), table)
        source = "description keywords" if "description" in col else "none (no description)"
    df = pd.DataFrame(
        {
            "customer": ids.to_numpy(),
            "invoice": lines[col["invoice"]].astype(str).str.strip().to_numpy(),
            "date": dates.to_numpy(),
            "day": dates.dt.normalize().to_numpy(),
            "qty": qty,
            "value": qty * price,
            "category": category.to_numpy(),
            "country": (
                lines[col["country"]].astype(str).str.strip().to_numpy()
                if "country" in col
                else np.full(n_lines, None, dtype=object)
            ),
        }
    )
    anonymous = df["customer"].isna()
    report: dict[str, Any] = {
        "source": name,
        "lines": n_lines,
        "lines_without_customer_id": int(anonymous.sum()),
        "value_without_customer_id": round(float(df.loc[anonymous, "value"].sum()), 2),
        "return_lines": int((df["qty"] < 0).sum()),
        "returned_value": round(float(-df.loc[df["qty"] < 0, "value"].sum()), 2),
        "categories_from": source,
    }
    df = df[~anonymous]
    if df.empty:
        raise DataValidationError(
            f"{name}: every line lacks a customer id ({col['customer_id']}). Fix: export the "
            "customer id of each line."
        )
    day, unavailable = _as_of(df["date"], as_of, churn_after, name)
    past = df[df["day"] <= day]
    bought = past[past["qty"] > 0]
    customers = np.sort(bought["customer"].unique())
    only_returns = sorted(set(past["customer"]) - set(customers))
    later = sorted(set(df["customer"]) - set(past["customer"]))
    known_cats = list(tmap.categories or DEFAULT_CATEGORIES) + [OTHER_CATEGORY]
    all_cats = sorted(
        set(bought["category"]) | (set(known_cats) if "category" not in col else set())
    )
    table = _per_customer(past, bought, customers, day, all_cats)
    window_end = day + pd.Timedelta(days=churn_after)
    if unavailable is None:
        in_window = df[(df["day"] > day) & (df["day"] <= window_end) & (df["qty"] > 0)]
        came_back = table["Customer ID"].isin(set(in_window["customer"]))
        table["Churn Label"] = np.where(came_back, "No", "Yes")
    report.update(
        {
            "customers": len(table),
            "customers_only_after_as_of": len(later),
            "customers_with_only_returns": len(only_returns),
            "as_of": str(day.date()),
            "churn_after_days": churn_after,
            "churn_window": f"{(day + pd.Timedelta(days=1)).date()} to {window_end.date()}",
            "churn_rate": (
                None if unavailable else round(float((table["Churn Label"] == "Yes").mean()), 6)
            ),
            "churn_unavailable": unavailable,
            "categories": sorted(c for c in bought["category"].unique()),
        }
    )
    return CustomerTable(table, report)


def _per_customer(
    past: pd.DataFrame,
    bought: pd.DataFrame,
    customers: np.ndarray,
    day: pd.Timestamp,
    categories: Sequence[str],
) -> pd.DataFrame:
    """The customer table of the lines on or before the as-of ``day``.

    ``categories`` get a ``Bought <Category>`` column each, bought by someone or not.
    """
    g = bought.groupby("customer")
    first, last = g["day"].min(), g["day"].max()
    frequency = g["invoice"].nunique().astype(float)
    monetary = past.groupby("customer")["value"].sum().reindex(customers).fillna(0.0)
    returns = past[past["qty"] < 0].groupby("customer")
    returned_value = (-returns["value"].sum()).reindex(customers).fillna(0.0)
    returned_lines = returns.size().reindex(customers).fillna(0).astype(int)
    span = (last - first).dt.days.astype(float)
    between = (span / (frequency - 1)).where(frequency > 1)
    tenure = ((day - first).dt.days // _MONTH_DAYS).astype(int).reindex(customers)
    out = pd.DataFrame(
        {
            "Customer ID": customers,
            "Country": _mode(past, "country").reindex(customers).to_numpy(),
            "Recency Days": (day - last).dt.days.astype(float).reindex(customers).to_numpy(),
            "Frequency": frequency.reindex(customers).to_numpy(),
            "Monetary": monetary.round(2).to_numpy(),
            "Average Order Value": (monetary / frequency.reindex(customers)).round(2).to_numpy(),
            "Tenure in Months": tenure.to_numpy(),
            "Days Between Purchases": between.reindex(customers).round(2).to_numpy(),
            "Returned Value": returned_value.round(2).to_numpy(),
            "Returned Lines": returned_lines.to_numpy(),
        }
    )
    lines_per_cat = bought.groupby(["customer", "category"]).size().unstack(fill_value=0)
    lines_per_cat = lines_per_cat.reindex(index=customers, columns=list(categories)).fillna(0)
    for cat in categories:
        out[f"Bought {cat}"] = np.where(lines_per_cat[cat].to_numpy() > 0, "Yes", "No")
    out["Most Frequent Category"] = lines_per_cat.idxmax(axis=1).to_numpy()
    if out["Country"].isna().all():
        out = out.drop(columns="Country")
    return out.reset_index(drop=True)


def _mode(frame: pd.DataFrame, column: str) -> pd.Series:
    """Most frequent value of ``column`` per customer (ties: alphabetical)."""
    known = frame.dropna(subset=[column])
    if known.empty:
        return pd.Series(dtype=object)
    counts = known.groupby(["customer", column]).size().reset_index(name="n")
    counts = counts.sort_values(["customer", "n", column], ascending=[True, False, True])
    return counts.drop_duplicates("customer").set_index("customer")[column]
