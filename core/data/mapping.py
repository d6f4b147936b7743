"""Column mappings: bringing other CRM exports into the canonical schema.

Three layouts are understood:

``ibm``      IBM Telco 11.1.3+ (the canonical schema itself; nothing to map).
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

                 [values."Contract"]  # optional value translations, per canonical column
                 "M2M" = "Month-to-Month"
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
    """A user mapping from an export's column names (and values) to the canonical schema."""

    columns: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

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
        bad_vals = sorted(c for c in self.values if c not in schema.BY_NAME)
        if bad_vals:
            raise MappingError(f"[values] names unknown canonical column(s) {bad_vals}.")

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
        if "columns" not in data or not isinstance(data["columns"], Mapping):
            raise MappingError(
                'mapping needs a [columns] table of "source name" = "canonical name" pairs.'
            )
        values = data.get("values", {})
        return cls(
            columns={str(k): str(v) for k, v in data["columns"].items()},
            values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": dict(self.columns),
            "values": {k: dict(v) for k, v in self.values.items()},
        }


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


def _user(raw: pd.DataFrame, mapping: ColumnMapping, name: str) -> tuple[pd.DataFrame, list[str]]:
    absent = [src for src in mapping.columns if src not in raw.columns]
    # Columns already named canonically pass through unless the mapping renames onto them.
    targets = set(mapping.columns.values())
    passthrough = [
        c
        for c in raw.columns
        if c in schema.BY_NAME and c not in targets and c not in mapping.columns
    ]
    mapped_targets = {mapping.columns[s] for s in mapping.columns if s in raw.columns}
    missing_required = [
        c for c in schema.REQUIRED if c not in mapped_targets and c not in passthrough
    ]
    if absent or missing_required:
        parts = []
        if absent:
            parts.append(f"the mapping names source column(s) not in the file: {absent}")
        if missing_required:
            parts.append(f"required canonical column(s) left unmapped: {missing_required}")
        raise MappingError(
            f"{name}: " + "; ".join(parts) + f". Found columns: "
            f"{list(raw.columns)[:60]}. Fix: edit the mapping so each required "
            "column is mapped from a column of the file."
        )
    df = raw[list(mapping.columns) + passthrough].rename(columns=dict(mapping.columns)).copy()
    for col, table in mapping.values.items():
        if col in df.columns:
            df[col] = (
                df[col]
                .astype(object)
                .map(lambda v, t=table: t.get(v.strip() if isinstance(v, str) else v, v))
            )
    ignored = [c for c in raw.columns if c not in mapping.columns and c not in passthrough]
    return df, ignored


def to_canonical(
    raw: pd.DataFrame, layout: str, mapping: ColumnMapping | None = None, *, name: str = "input"
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Return ``(canonical frame, ignored source columns, notes)`` for a raw table.

    Raises :class:`~core.common.errors.MappingError` when the layout is unknown and no mapping is given,
    or when the mapping leaves required columns unmapped; the message lists what is missing and
    what was found.
    """
    if layout == "mapped":
        assert mapping is not None
        df, ignored = _user(raw, mapping, name)
        return df, ignored, []
    if layout == "classic":
        return _classic(raw, name)
    if layout == "ibm":
        keep = [c for c in raw.columns if c in schema.BY_NAME]
        ignored = [c for c in raw.columns if c not in schema.BY_NAME]
        return raw[keep].copy(), ignored, []
    missing = [c for c in schema.REQUIRED if c not in raw.columns]
    raise MappingError(
        f"{name}: unknown layout: required column(s) {missing} not found. Found columns: "
        f"{list(raw.columns)[:60]}. Fix: supply a column mapping (--mapping FILE, or the "
        "dashboard's mapping editor) naming which of your columns holds each of "
        f"{list(schema.REQUIRED)}."
    )
