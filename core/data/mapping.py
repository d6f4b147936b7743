"""Column mappings: bringing other CRM exports into the canonical schema.

Three layouts are understood:

``ibm``      IBM Telco 11.1.3+ (the canonical schema itself; nothing to map). The file's other
             columns are kept as extra columns, as a mapped file's are (a canonical name in
             another spelling, ``churn value``, takes the canonical name).
``classic``  the classic Kaggle/IBM export ``WA_Fn-UseC_-Telco-Customer-Churn.csv`` (21 columns).
             Its values are translated ("No internet service" -> "No", "Fiber optic" ->
             "Fiber Optic", ...). It has no CLTV, Satisfaction Score, Offer, Streaming Music or
             Unlimited Data: those are reported unavailable, never invented. ``TotalCharges`` is
             blank for brand-new customers (tenure 0): it becomes 0.0 for them, which is what they
             have been charged so far.
``mapped``   any other export, through a user :class:`ColumnMapping` (TOML or dict)::

                 [columns]            # source name = canonical name
                 "cust_id" = "Customer ID"
                 "months"  = "Tenure in Months"
                 "Churn"   = "Churn Label"    # True/False, yes/no, Y/N, 1/0 all read

                 [values."Contract"]  # optional value translations, per column
                 "M2M" = "Month-to-Month"

                 [outcomes]           # columns derived from the outcome: never features
                 columns = ["Churn reason", "Retention offer made"]

                 [ignore]             # columns to leave out altogether
                 columns = ["Notes"]

             Source names match the file's headers case-, space- and underscore-insensitively
             ("International_plan" is "International plan"); so do canonical names of columns
             the mapping does not list ("customer_id" is "Customer ID"). The file's other
             columns are kept as they are: :mod:`core.data.extras` types them and the models
             use them as features, unless they are outcomes, ignored, or free text.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import MappingError
from core.data import schema

CLASSIC_COLUMNS = (
    "customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
    "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies", "Contract", "PaperlessBilling",
    "PaymentMethod", "MonthlyCharges", "TotalCharges", "Churn",
)  # fmt: skip

_CLASSIC_RENAME = {
    "customerID": "Customer ID",
    "gender": "Gender",
    "SeniorCitizen": "Senior Citizen",
    "Partner": "Married",
    "Dependents": "Dependents",
    "tenure": "Tenure in Months",
    "PhoneService": "Phone Service",
    "MultipleLines": "Multiple Lines",
    "OnlineSecurity": "Online Security",
    "OnlineBackup": "Online Backup",
    "DeviceProtection": "Device Protection Plan",
    "TechSupport": "Premium Tech Support",
    "StreamingTV": "Streaming TV",
    "StreamingMovies": "Streaming Movies",
    "Contract": "Contract",
    "PaperlessBilling": "Paperless Billing",
    "PaymentMethod": "Payment Method",
    "MonthlyCharges": "Monthly Charge",
    "TotalCharges": "Total Charges",
    "Churn": "Churn Label",
}
_CLASSIC_VALUES = {
    "No internet service": "No",
    "No phone service": "No",
}
_CLASSIC_CONTRACT = {
    "month-to-month": "Month-to-Month",
    "one year": "One Year",
    "two year": "Two Year",
}
_CLASSIC_PAYMENT = {
    "bank transfer (automatic)": "Bank Withdrawal",
    "credit card (automatic)": "Credit Card",
    "mailed check": "Mailed Check",
    "electronic check": "Electronic Check",
}
_CLASSIC_INTERNET_TYPE = {
    "dsl": "DSL",
    "fiber optic": "Fiber Optic",
    "no": "None",
    "cable": "Cable",
}


@dataclass(frozen=True)
class ColumnMapping:
    """A user mapping from an export's column names (and values) to the canonical schema.

    Attributes
    ----------
    columns
        ``{source column: canonical column}``.
    values
        ``{column: {their value: our value}}``; the column is a canonical name or a column of
        the file (values match case- and blank-insensitively).
    outcomes
        Source columns derived from the outcome (the leakage guard drops them).
    ignore
        Source columns to leave out.
    """

    columns: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    outcomes: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted({c for c in self.columns.values() if c not in schema.BY_NAME})
        if unknown:
            raise MappingError(
                f"mapping targets unknown canonical column(s) {unknown}. Fix: use names from the "
                f"canonical schema, e.g. {list(schema.REQUIRED)}."
            )
        targets = list(self.columns.values())
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        if dupes:
            raise MappingError(
                f"mapping sends several source columns to {dupes}. Fix: map each "
                "canonical column from exactly one source column."
            )
        object.__setattr__(self, "outcomes", tuple(self.outcomes))
        object.__setattr__(self, "ignore", tuple(self.ignore))
        both = sorted(set(self.outcomes) & set(self.columns))
        if both:
            raise MappingError(
                f"mapping lists {both} both in [columns] and in [outcomes]. Fix: an outcome "
                "column is never mapped; remove it from one of the two."
            )

    @classmethod
    def load(cls, source: Mapping[str, Any] | str | Path) -> ColumnMapping:
        """Build a mapping from a dict (``{"columns": {...}, "values": {...}}``) or a TOML file."""
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
        if not isinstance(data.get("columns", {}), Mapping) or not any(
            k in data for k in ("columns", "values", "outcomes", "ignore")
        ):
            raise MappingError(
                'mapping needs a [columns] table of "source name" = "canonical name" pairs '
                "(or, for a file whose columns are already canonical, only [outcomes], "
                "[ignore] or [values] tables)."
            )
        values = data.get("values", {})
        if not isinstance(values, Mapping) or not all(
            isinstance(v, Mapping) for v in values.values()
        ):
            raise MappingError(
                '[values] needs one table per column: [values."Contract"] "M2M" = "Month-to-Month".'
            )
        return cls(
            columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
            values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
            outcomes=_names(data.get("outcomes"), "outcomes"),
            ignore=_names(data.get("ignore"), "ignore"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "columns": dict(self.columns),
            "values": {k: dict(v) for k, v in self.values.items()},
        }
        if self.outcomes:
            out["outcomes"] = {"columns": list(self.outcomes)}
        if self.ignore:
            out["ignore"] = {"columns": list(self.ignore)}
        return out

    def to_toml(self) -> str:
        """The mapping as a TOML file (what ``--mapping FILE`` reads back)."""
        lines = ["[columns]"]
        lines += [f"{_quote(k)} = {_quote(v)}" for k, v in self.columns.items()]
        for section, names in (("outcomes", self.outcomes), ("ignore", self.ignore)):
            if names:
                lines += ["", f"[{section}]", f"columns = [{', '.join(map(_quote, names))}]"]
        for col, table in self.values.items():
            lines += ["", f"[values.{_quote(col)}]"]
            lines += [f"{_quote(a)} = {_quote(b)}" for a, b in table.items()]
        return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    """A TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _names(value: Any, section: str) -> tuple[str, ...]:
    """Column names of an ``[outcomes]`` / ``[ignore]`` table (or a plain list)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = value.get("columns", [])
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise MappingError(
            f'[{section}] needs a list of column names: [{section}] columns = ["a", "b"].'
        )
    return tuple(str(v) for v in value)


def match_columns(names: Iterable[str], columns: Iterable[str]) -> dict[str, str | None]:
    """Each of ``names`` -> the column of ``columns`` it denotes (exact, else normalized), or None.

    Examples
    --------
    >>> match_columns(["International plan"], ["State", "International_plan"])
    {'International plan': 'International_plan'}
    """
    columns = list(columns)
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(schema.normalize_name(c), c)
    have = set(columns)
    return {n: n if n in have else by_norm.get(schema.normalize_name(n)) for n in names}


def detect_layout(columns: Iterable[str]) -> str:
    """Return ``"ibm"`` or ``"classic"`` from the header, or ``"unknown"``."""
    cols = set(columns)
    if set(schema.REQUIRED) <= cols:
        return "ibm"
    if {"customerID", "tenure", "InternetService", "MonthlyCharges"} <= cols:
        return "classic"
    return "unknown"


def _classic(raw: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    missing = [c for c in CLASSIC_COLUMNS if c not in raw.columns and c != "Churn"]
    if missing:
        raise MappingError(
            f"{name}: looks like the classic Telco export but lacks {missing}. "
            f"Found: {list(raw.columns)}."
        )
    ignored = [c for c in raw.columns if c not in _CLASSIC_RENAME and c != "InternetService"]
    df = raw.rename(columns=_CLASSIC_RENAME)[
        [v for k, v in _CLASSIC_RENAME.items() if k in raw.columns]
    ].copy()
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = (
                df[col]
                .astype(object)
                .map(lambda v: _CLASSIC_VALUES.get(v.strip(), v) if isinstance(v, str) else v)
            )

    def lower_map(s: pd.Series, table: Mapping[str, str]) -> pd.Series:
        return s.astype(object).map(
            lambda v: table.get(v.strip().lower(), v) if isinstance(v, str) else v
        )

    senior = raw["SeniorCitizen"].astype(str).str.strip()
    df["Senior Citizen"] = senior.map({"1": "Yes", "0": "No", "1.0": "Yes", "0.0": "No"}).fillna(
        senior
    )
    inet = raw["InternetService"].astype(object)
    df["Internet Type"] = lower_map(inet, _CLASSIC_INTERNET_TYPE)
    df["Internet Service"] = np.where(df["Internet Type"].eq("None"), "No", "Yes")
    df.loc[inet.isna(), "Internet Service"] = None
    df["Contract"] = lower_map(df["Contract"], _CLASSIC_CONTRACT)
    df["Payment Method"] = lower_map(df["Payment Method"], _CLASSIC_PAYMENT)
    notes = []
    if "Churn Label" in df.columns:
        label = (
            df["Churn Label"]
            .astype(object)
            .map(lambda v: v.strip().capitalize() if isinstance(v, str) else v)
        )
        df["Churn Label"] = label
        df["Churn Value"] = label.map({"Yes": 1, "No": 0})
        df.loc[label.notna() & df["Churn Value"].isna(), "Churn Value"] = -1  # flagged later
    tc = df["Total Charges"].astype(object)
    blank = tc.isna() | tc.map(lambda v: isinstance(v, str) and not v.strip())
    tenure = pd.to_numeric(df["Tenure in Months"], errors="coerce")
    fill = blank & (tenure == 0)
    if fill.any():
        df.loc[fill, "Total Charges"] = "0"
        notes.append(
            f"Total Charges was blank for {int(fill.sum())} brand-new customer(s) "
            "(tenure 0); set to 0.0, what they have been charged so far."
        )
    notes.append(
        "classic export: CLTV, Satisfaction Score, Offer, Streaming Music and Unlimited "
        "Data are not in this layout and are reported unavailable."
    )
    return df, ignored, notes


def _ibm(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The IBM layout: its canonical columns as they are, and the file's other columns kept.

    A column named like a canonical one up to case, spaces and underscores (``churn value``)
    takes that name when the file has no column of the exact name, and is ignored with a note
    when it has (a second copy, never a feature). Every other column is an *extra* column,
    typed by :mod:`core.data.extras` and used by the models like a mapped file's (a survey
    score, a usage count); one that reproduces an outcome is left out by the loader's guard
    (:func:`core.data.extras.outcome_copies`), and any other column derived from the outcome is
    named in a mapping's ``[outcomes]`` (``--mapping``: a file like this one needs no other
    section).
    """
    exact = {c for c in raw.columns if c in schema.BY_NAME}
    rename: dict[str, str] = {}
    ignored: list[str] = []
    notes: list[str] = []
    for c in raw.columns:
        if c in exact:
            continue
        canonical = schema.canonical_name(c)
        if canonical is None:
            continue
        if canonical in exact or canonical in rename.values():
            ignored.append(c)
            notes.append(f"'{c}' is a second column named like '{canonical}'; ignored.")
        else:
            rename[c] = canonical
    keep = [c for c in raw.columns if c not in ignored]
    return raw[keep].rename(columns=rename).copy(), ignored, notes


def _translate(series: pd.Series, table: Mapping[str, str]) -> pd.Series:
    """``series`` with the values of ``table`` replaced (exact, else case-insensitive match)."""
    lower = {str(k).strip().lower(): v for k, v in table.items()}

    def one(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        t = v.strip()
        return table.get(t, lower.get(t.lower(), v))

    return series.astype(object).map(one)


def _user(
    raw: pd.DataFrame,
    mapping: ColumnMapping,
    name: str,
    required: Iterable[str] = schema.REQUIRED,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Apply a user mapping: ``(frame, ignored source columns, notes)``.

    Mapped columns are renamed, columns named canonically (up to case, spaces and underscores)
    pass through, ``[outcomes]`` and ``[ignore]`` columns are dropped, and every other column
    is kept under its own name (an *extra* column, typed by :mod:`core.data.extras`).
    """
    found = match_columns(mapping.columns, raw.columns)
    absent = [src for src, col in found.items() if col is None]
    targets = set(mapping.columns.values())
    rename = {col: mapping.columns[src] for src, col in found.items() if col is not None}
    notes: list[str] = []
    dropped: dict[str, str] = {}
    for section, names in (("outcomes", mapping.outcomes), ("ignore", mapping.ignore)):
        hits = match_columns(names, raw.columns)
        for col in hits.values():
            if col is not None and col not in rename:
                dropped[col] = section
        missing = [src for src, col in hits.items() if col is None]
        if missing:
            notes.append(f"[{section}] names column(s) not in this file: {missing}.")
    passthrough: dict[str, str] = {}
    extras: list[str] = []
    ignored: list[str] = []
    for c in raw.columns:
        if c in rename or c in dropped:
            continue
        canonical = schema.canonical_name(c)
        if canonical is not None and canonical not in targets:
            if canonical in passthrough.values():
                ignored.append(c)
                notes.append(f"'{c}' is a second column named like '{canonical}'; ignored.")
                continue
            passthrough[c] = canonical
        elif canonical is not None:
            ignored.append(c)  # the mapping sends another column to this canonical name
        else:
            extras.append(c)
    have = set(rename.values()) | set(passthrough.values())
    missing_required = [c for c in required if c not in have]
    if absent or missing_required:
        parts = []
        if absent:
            parts.append(f"the mapping names source column(s) not in the file: {absent}")
        if missing_required:
            parts.append(f"required canonical column(s) left unmapped: {missing_required}")
        raise MappingError(
            f"{name}: " + "; ".join(parts) + f". Found columns: "
            f"{list(raw.columns)[:60]}. Fix: edit the mapping so each required "
            "column is mapped from a column of the file"
            + (
                ", or pass a catalog (--catalog) naming the products your file holds: then "
                "only the catalog's columns (and an id, generated when absent) are required."
                if missing_required
                else "."
            )
        )
    keep = list(rename) + list(passthrough) + extras
    df = raw[keep].rename(columns={**rename, **passthrough}).copy()
    for col, table in mapping.values.items():
        target = mapping.columns.get(col, col)
        hit = match_columns([target], df.columns)[target]
        if hit is not None:
            df[hit] = _translate(df[hit], table)
    leaked = [c for c, section in dropped.items() if section == "outcomes"]
    if leaked:
        notes.append(
            f"leakage guard: {leaked} named as outcomes in the mapping; left out of the data "
            "and of every model."
        )
    ignored += [c for c, section in dropped.items() if section == "ignore"]
    return df, ignored, notes


def outcome_columns(raw_columns: Iterable[str], mapping: ColumnMapping | None) -> list[str]:
    """The file's columns that the mapping names as outcomes (``[outcomes]``)."""
    if mapping is None:
        return []
    hits = match_columns(mapping.outcomes, raw_columns)
    return [c for c in hits.values() if c is not None]


def to_canonical(
    raw: pd.DataFrame,
    layout: str,
    mapping: ColumnMapping | None = None,
    *,
    name: str = "input",
    required: Iterable[str] = schema.REQUIRED,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Return ``(canonical frame, ignored source columns, notes)`` for a raw table.

    ``layout`` is ``"ibm"`` (the IBM columns as they are, the others kept as extra columns),
    ``"classic"``, ``"mapped"`` (with ``mapping``) or ``"generic"`` (the file's columns as they
    are: canonical names recognised up to case, spaces and underscores, the others kept as
    extra columns). ``required`` are the canonical columns a
    mapped or generic file must provide (the telecom :data:`~core.data.schema.REQUIRED` unless
    a catalog says otherwise).

    Raises :class:`~core.common.errors.MappingError` when the layout is unknown and no mapping is given,
    or when the mapping leaves required columns unmapped; the message lists what is missing and
    what was found.
    """
    if layout == "mapped":
        assert mapping is not None
        return _user(raw, mapping, name, required)
    if layout == "generic":
        return _user(raw, ColumnMapping({}), name, required)
    if layout == "classic":
        return _classic(raw, name)
    if layout == "ibm":
        return _ibm(raw)
    missing = [c for c in schema.REQUIRED if c not in raw.columns]
    raise MappingError(
        f"{name}: unknown layout: required column(s) {missing} not found. Found columns: "
        f"{list(raw.columns)[:60]}. Fix: supply a column mapping (--mapping FILE, or the "
        "dashboard's mapping assistant) naming which of your columns holds each of "
        f"{list(schema.REQUIRED)}; or, for a business whose products are not IBM's, a catalog "
        "(--catalog FILE) naming the columns that say which products a customer holds."
    )
