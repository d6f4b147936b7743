"""The canonical customer schema: IBM "Telco customer churn (11.1.3+)".

Every data source is brought into this schema (see :mod:`core.data.io` and :mod:`core.data.mapping`). Each
column has a kind (``str``/``int``/``float``), an allowed vocabulary or range, and a *role*:

``id``       the customer identifier (unique, never a feature)
``feature``  usable as a model input
``factor``   a key factor the opportunity engine predicts (CLTV, Satisfaction Score); a factor may be
             a feature of *other* models only where the model says so
``outcome``  derived from the churn outcome; the leakage guard keeps these out of every feature set
``constant`` a single value in the IBM sample (Country, State, Quarter): carried, never a feature
``geo``      location detail (City, Zip Code, Latitude, Longitude, Population)

Each column also belongs to a *family*: ``telecom`` (the 51 IBM columns, :data:`IBM`) or
``value`` (what a retailer knows of a customer: recency, frequency, monetary value, average order
value, a given churn probability; :mod:`core.data.transactions` computes them from invoice
lines).

Which columns a file must provide depends on how it is read (:mod:`core.data.io`): without a
catalog, the :data:`REQUIRED` telecom columns; with a catalog, only the columns the catalog reads
holdings from, plus an id (generated from the row number when absent). Every other column is
optional and, when absent, is reported as unavailable (never invented).

Header names are compared by :func:`normalize_name` (case, spaces, underscores and hyphens do not
count), and yes/no values by :func:`boolean_token` (True/False, yes/no, Y/N, 1/0 in any case).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

YES_NO = ("Yes", "No")


@dataclass(frozen=True)
class Column:
    """Specification of one canonical column."""

    name: str
    kind: str  # "str" | "int" | "float"
    role: str
    values: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    doc: str = ""
    family: str = "telecom"  # "telecom" (IBM 11.1.3+) | "value" (retail customer value)


def _yn(name: str, doc: str, role: str = "feature") -> Column:
    return Column(name, "str", role, YES_NO, doc=doc)


COLUMNS: tuple[Column, ...] = (
    Column("Customer ID", "str", "id", doc="Unique customer identifier."),
    Column("Gender", "str", "feature", ("Male", "Female"), doc="Male / Female."),
    Column("Age", "int", "feature", min=0, max=120, doc="Age in years."),
    _yn("Under 30", "Age < 30."),
    _yn("Senior Citizen", "Age >= 65."),
    _yn("Married", "Married (the classic export's 'Partner')."),
    _yn("Dependents", "Lives with any dependents."),
    Column("Number of Dependents", "int", "feature", min=0, max=50, doc="Dependents at home."),
    Column("Country", "str", "constant", doc="Country (a single value in the IBM sample)."),
    Column("State", "str", "constant", doc="State (a single value in the IBM sample)."),
    Column("City", "str", "geo", doc="City of residence."),
    Column("Zip Code", "int", "geo", min=0, max=99999, doc="Zip code."),
    Column("Latitude", "float", "geo", min=-90, max=90, doc="Latitude of residence."),
    Column("Longitude", "float", "geo", min=-180, max=180, doc="Longitude of residence."),
    Column("Population", "int", "geo", min=0, doc="Population of the zip code."),
    Column("Quarter", "str", "constant", doc="Fiscal quarter of the snapshot."),
    _yn("Referred a Friend", "Has ever referred a friend."),
    Column("Number of Referrals", "int", "feature", min=0, max=1000, doc="Referrals to date."),
    Column("Tenure in Months", "int", "feature", min=0, max=1200, doc="Months with the company."),
    Column(
        "Offer",
        "str",
        "feature",
        ("None", "Offer A", "Offer B", "Offer C", "Offer D", "Offer E"),
        doc='Last marketing offer accepted; the literal "None" means no offer.',
    ),
    _yn("Phone Service", "Home phone service."),
    Column(
        "Avg Monthly Long Distance Charges",
        "float",
        "feature",
        min=0,
        doc="Average monthly long-distance charges (USD).",
    ),
    _yn("Multiple Lines", "Multiple phone lines."),
    _yn("Internet Service", "Internet service."),
    Column(
        "Internet Type",
        "str",
        "feature",
        ("DSL", "Fiber Optic", "Cable", "None"),
        doc='Internet type; the literal "None" means no internet.',
    ),
    Column("Avg Monthly GB Download", "int", "feature", min=0, doc="Average monthly GB download."),
    _yn("Online Security", "Online security add-on."),
    _yn("Online Backup", "Online backup add-on."),
    _yn("Device Protection Plan", "Device protection add-on."),
    _yn("Premium Tech Support", "Premium technical support add-on."),
    _yn("Streaming TV", "Streams TV."),
    _yn("Streaming Movies", "Streams movies."),
    _yn("Streaming Music", "Streams music."),
    _yn("Unlimited Data", "Unlimited data plan."),
    Column(
        "Contract",
        "str",
        "feature",
        ("Month-to-Month", "One Year", "Two Year"),
        doc="Contract term.",
    ),
    _yn("Paperless Billing", "Paperless billing."),
    Column(
        "Payment Method",
        "str",
        "feature",
        ("Bank Withdrawal", "Credit Card", "Mailed Check", "Electronic Check"),
        doc="Payment method (Electronic Check occurs only in the classic export).",
    ),
    Column("Monthly Charge", "float", "feature", min=0, max=100_000, doc="Monthly charge (USD)."),
    Column("Total Charges", "float", "feature", min=0, doc="Total charges to date (USD)."),
    Column("Total Refunds", "float", "feature", min=0, doc="Total refunds to date (USD)."),
    Column("Total Extra Data Charges", "float", "feature", min=0, doc="Extra data charges (USD)."),
    Column("Total Long Distance Charges", "float", "feature", min=0, doc="Long distance (USD)."),
    Column("Total Revenue", "float", "feature", min=0, doc="Total revenue to date (USD)."),
    Column(
        "Satisfaction Score",
        "int",
        "factor",
        min=1,
        max=5,
        doc="Satisfaction 1-5; nearly a churn label in the IBM sample (1-2 always churn).",
    ),
    Column(
        "Customer Status",
        "str",
        "outcome",
        ("Stayed", "Churned", "Joined"),
        doc="Status at quarter end (derived from the outcome).",
    ),
    _yn("Churn Label", "Left this quarter: the churn target.", role="outcome"),
    Column("Churn Value", "int", "outcome", min=0, max=1, doc="1/0 twin of Churn Label."),
    Column("Churn Score", "int", "outcome", min=0, max=100, doc="IBM SPSS churn score (leaky)."),
    Column("CLTV", "float", "factor", min=0, doc="Customer lifetime value index."),
    Column("Churn Category", "str", "outcome", nullable=True, doc="Why they left (churners)."),
    Column("Churn Reason", "str", "outcome", nullable=True, doc="Specific reason (churners)."),
)

#: The IBM 11.1.3+ columns, in the order of the IBM file (the synthetic population's layout).
IBM: tuple[str, ...] = tuple(c.name for c in COLUMNS)

#: Customer-value columns of retail data (what :mod:`core.data.transactions` writes).
VALUE_COLUMNS: tuple[Column, ...] = (
    Column(
        "Recency Days",
        "float",
        "feature",
        min=0,
        doc="Days from the last purchase to the snapshot (as-of) date.",
        family="value",
    ),
    Column(
        "Frequency",
        "float",
        "feature",
        min=0,
        doc="Orders (invoices) to date, or purchases per period when the export says so.",
        family="value",
    ),
    Column(
        "Monetary",
        "float",
        "feature",
        doc="Net spend to date (returns netted).",
        family="value",
    ),
    Column(
        "Average Order Value",
        "float",
        "feature",
        doc="Net spend per order.",
        family="value",
    ),
    Column(
        "Days Between Purchases",
        "float",
        "feature",
        min=0,
        nullable=True,
        doc="Mean days between consecutive orders (empty for one-order customers).",
        family="value",
    ),
    Column(
        "Churn Probability",
        "float",
        "outcome",
        min=0,
        max=1,
        doc="A churn probability the export gives (the churn factor when there is no label).",
        family="value",
    ),
)
COLUMNS = COLUMNS + VALUE_COLUMNS

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
CANONICAL: tuple[str, ...] = tuple(c.name for c in COLUMNS)
ID = "Customer ID"
TARGET = "Churn Value"
CHURN_PROBABILITY = "Churn Probability"

#: Columns a file must provide (after mapping) for the product to work at all.
REQUIRED: tuple[str, ...] = (
    "Customer ID",
    "Tenure in Months",
    "Contract",
    "Monthly Charge",
    "Phone Service",
    "Internet Service",
)

#: The IBM columns derived from the churn outcome: never features of any model (leakage guard;
#: :data:`ALL_OUTCOME_COLUMNS` adds the retail ones, and a mapping's ``[outcomes]`` the user's).
OUTCOME_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in COLUMNS if c.role == "outcome" and c.family == "telecom"
)
#: Every outcome-derived canonical column, the retail ``Churn Probability`` included.
ALL_OUTCOME_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.role == "outcome")

#: The three key factors and the canonical columns that observe them.
FACTORS: tuple[str, ...] = ("cltv", "churn", "satisfaction")
FACTOR_COLUMNS: dict[str, str] = {
    "cltv": "CLTV",
    "churn": "Churn Value",
    "satisfaction": "Satisfaction Score",
}


def leakage_excluded(columns: Iterable[str]) -> list[str]:
    """Return the columns among ``columns`` that the leakage guard removes from features."""
    return [c for c in columns if c in ALL_OUTCOME_COLUMNS]


def feature_columns(
    columns: Iterable[str], *, target: str, include_satisfaction: bool = False
) -> list[str]:
    """Columns usable as features for a model of ``target`` (a factor name or canonical column).

    Outcome-derived columns, identifiers, constants and the target itself are always excluded.
    ``Satisfaction Score`` is excluded unless ``include_satisfaction`` (it is nearly a churn label);
    ``CLTV`` is excluded when it is the target.
    """
    target_col = FACTOR_COLUMNS.get(target, target)
    out = []
    for c in columns:
        spec = BY_NAME.get(c)
        if spec is None or c == target_col:
            continue
        if spec.role in {"outcome", "id", "constant"}:
            continue
        if c == "Satisfaction Score" and not include_satisfaction:
            continue
        out.append(c)
    return out


def unavailable(columns: Iterable[str]) -> list[str]:
    """Canonical columns absent from ``columns`` (reported to the user, never invented).

    Only the family the data belongs to is reported: a telecom file is not told it lacks the
    retail columns, nor a retail table (one with a retail value column) the 51 IBM columns it
    never had.
    """
    have = set(columns)
    value = any(c.name in have for c in VALUE_COLUMNS)
    family = "value" if value else "telecom"  # retail tables borrow a few telecom names
    return [c.name for c in COLUMNS if c.family == family and c.name not in have]


def unavailable_factors(columns: Iterable[str]) -> list[str]:
    """Key factors whose observing column is absent.

    The churn factor is observed by ``Churn Value`` or, failing that, by a given
    ``Churn Probability``.
    """
    have = set(columns)
    return [
        f
        for f, col in FACTOR_COLUMNS.items()
        if col not in have and not (f == "churn" and CHURN_PROBABILITY in have)
    ]


# ---- header names and yes/no values ----------------------------------------------------------

_NAME_DROP = str.maketrans("", "", " _-\t\u00a0")
_TRUE = frozenset({"yes", "y", "true", "t", "1", "1.0"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "0.0"})


def normalize_name(name: str) -> str:
    """A header name without case, spaces, underscores or hyphens.

    Examples
    --------
    >>> normalize_name("International_plan") == normalize_name(" international Plan")
    True
    >>> normalize_name("customerID") == normalize_name("Customer ID")
    True
    """
    return str(name).strip().lstrip("\ufeff").lower().translate(_NAME_DROP)


def boolean_token(value: object) -> str | None:
    """``"Yes"`` / ``"No"`` for a yes/no spelling (True/False, yes/no, Y/N, 1/0, any case), else None.

    Examples
    --------
    >>> [boolean_token(v) for v in ("TRUE", " y", 0, "No", "maybe", None)]
    ['Yes', 'Yes', 'No', 'No', None, None]
    """
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip().lower()
    if text in _TRUE:
        return "Yes"
    if text in _FALSE:
        return "No"
    return None


def canonical_name(name: str) -> str | None:
    """The canonical column whose :func:`normalize_name` equals ``name``'s, or None."""
    return _BY_NORMAL.get(normalize_name(name))


_BY_NORMAL: dict[str, str] = {normalize_name(c.name): c.name for c in COLUMNS}
