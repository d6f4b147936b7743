"""Customer tables from invoice lines: a hand-computed example, returns, guests, the churn window."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.common.errors import DataValidationError, MappingError
from core.data.catalog import load_catalog
from core.data.io import load
from core.data.synthetic.transactions import ITEMS, generate_transactions
from core.data.transactions import DEFAULT_CATEGORIES, categorise, customers_from_transactions

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "CustomerID", "Country"]  # fmt: skip


def lines() -> pd.DataFrame:
    """Nine invoice lines, as exported (text), worked out by hand below."""
    return pd.DataFrame(
        [
            ("536365", "85123A", "WHITE MUG", "2", "2024-01-05 10:00", "3.00", "A", "United Kingdom"),
            ("536365", "71053", "WHITE CANDLE HOLDER", "1", "2024-01-05 10:00", "5.00", "A", "United Kingdom"),
            ("536400", "85123A", "WHITE MUG", "1", "2024-02-04 09:00", "3.00", "A", "United Kingdom"),
            ("C536401", "85123A", "WHITE MUG", "-1", "2024-02-10 12:00", "3.00", "A", "United Kingdom"),
            ("536500", "22086", "CHRISTMAS CARD", "10", "2024-03-01 08:00", "0.50", "B", "France"),
            ("536550", "22111", "RED SHOPPER BAG", "1", "2024-01-10 08:00", "10.00", "C", "Germany"),
            ("536600", "21212", "TEA SET", "3", "2024-02-20 08:00", "2.00", "", "United Kingdom"),
            ("536700", "22111", "RED SHOPPER BAG", "1", "2024-04-15 08:00", "10.00", "C", "Germany"),
            ("536800", "22086", "CHRISTMAS CARD", "4", "2024-05-15 08:00", "0.50", "B", "France"),
        ],
        columns=COLUMNS,
    )  # fmt: skip


def test_rfm_figures_match_the_hand_computed_example():
    t = customers_from_transactions(lines(), as_of="2024-03-31", churn_after=30)
    c = t.customers.set_index("Customer ID")
    assert list(c.index) == ["A", "B", "C"]  # the guest's line is not a customer
    # A: bought on Jan 5 (2 mugs at 3.00 + a candle holder at 5.00 = 11.00) and Feb 4 (3.00),
    # returned a mug on Feb 10 (-3.00): last purchase Feb 4 -> Mar 31 is 56 days (2024 is leap)
    assert c.loc["A", "Recency Days"] == 56
    assert c.loc["A", "Frequency"] == 2  # the return invoice is not a purchase
    assert c.loc["A", "Monetary"] == pytest.approx(11.00)  # 11 + 3 - 3: the return is netted
    assert c.loc["A", "Average Order Value"] == pytest.approx(5.50)
    assert c.loc["A", "Tenure in Months"] == 2  # Jan 5 -> Mar 31 = 86 days
    assert c.loc["A", "Days Between Purchases"] == 30  # Jan 5 -> Feb 4
    assert c.loc["A", "Returned Value"] == pytest.approx(3.00) and c.loc["A", "Returned Lines"] == 1
    assert (c.loc["A", "Bought Kitchen"], c.loc["A", "Bought Home decor"]) == ("Yes", "Yes")
    assert c.loc["A", "Most Frequent Category"] == "Kitchen"  # two mug lines, one candle line
    # B: one order of 10 cards at 0.50 on Mar 1; next purchase May 15, after the window
    assert (c.loc["B", "Recency Days"], c.loc["B", "Frequency"]) == (30, 1)
    assert c.loc["B", "Monetary"] == pytest.approx(5.00)
    assert np.isnan(c.loc["B", "Days Between Purchases"])
    assert c.loc["B", "Bought Christmas"] == "Yes" and c.loc["B", "Bought Stationery"] == "No"
    # C: one bag on Jan 10 (81 days before Mar 31), back on Apr 15, inside the window
    assert (c.loc["C", "Recency Days"], c.loc["C", "Monetary"]) == (81, 10.0)
    assert c.loc["C", "Country"] == "Germany"
    # churn: no purchase in (Mar 31, Apr 30]
    assert c["Churn Label"].to_dict() == {"A": "Yes", "B": "Yes", "C": "No"}
    r = t.report
    assert r["lines_without_customer_id"] == 1 and r["value_without_customer_id"] == 6.0
    assert r["return_lines"] == 1 and r["returned_value"] == 3.0
    assert r["churn_window"] == "2024-04-01 to 2024-04-30" and r["churn_rate"] == pytest.approx(
        2 / 3
    )


def test_churn_label_is_unavailable_when_the_window_is_not_observed():
    t = customers_from_transactions(lines(), as_of="2024-04-30", churn_after=60)
    assert "Churn Label" not in t.customers
    assert t.report["churn_rate"] is None and "unavailable" in t.report["churn_unavailable"]


def test_default_as_of_leaves_the_window_observed():
    t = customers_from_transactions(lines(), churn_after=30)
    assert t.report["as_of"] == "2024-04-15"  # May 15 minus 30 days
    assert "Churn Label" in t.customers


def test_header_synonyms_and_mapping():
    raw = lines().rename(columns={"InvoiceNo": "Invoice", "UnitPrice": "Price",
                                  "CustomerID": "Customer ID"})  # fmt: skip
    a = customers_from_transactions(raw, as_of="2024-03-31", churn_after=30).customers
    b = customers_from_transactions(lines(), as_of="2024-03-31", churn_after=30).customers
    pd.testing.assert_frame_equal(a, b)
    odd = lines().rename(columns={"InvoiceNo": "Beleg", "CustomerID": "Kunde"})
    with pytest.raises(MappingError, match="invoice"):
        customers_from_transactions(odd)
    mapping = {"columns": {"Beleg": "invoice", "Kunde": "customer_id"},
               "categories": {"Mugs": ["MUG"]}}  # fmt: skip
    c = customers_from_transactions(odd, as_of="2024-03-31", churn_after=30, mapping=mapping)
    assert "Bought Mugs" in c.customers and c.customers["Bought Mugs"].tolist() == [
        "Yes",
        "No",
        "No",
    ]


def test_bad_numbers_and_dates_are_named():
    bad = lines()
    bad.loc[2, "Quantity"] = "two"
    with pytest.raises(DataValidationError, match="Quantity.*row 3"):
        customers_from_transactions(bad)
    bad = lines()
    bad.loc[4, "InvoiceDate"] = "yesterday"
    with pytest.raises(DataValidationError, match="InvoiceDate.*row 5"):
        customers_from_transactions(bad)
    with pytest.raises(DataValidationError, match="no purchase on or before"):
        customers_from_transactions(lines(), as_of="2023-01-01")


def test_generator_is_seeded_and_its_items_categorise_as_labelled():
    a, b = generate_transactions(80, 3), generate_transactions(80, 3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_transactions(80, 4))
    assert (a["Quantity"] < 0).any() and (a["CustomerID"] == "").any()
    assert a["InvoiceNo"].str.startswith("C").sum() == (a["Quantity"] < 0).sum()
    got = categorise(pd.Series([d for _, d, _, _ in ITEMS]), DEFAULT_CATEGORIES)
    assert got.tolist() == [c for *_, c in ITEMS]


def test_generated_table_loads_with_the_retail_catalog(tmp_path):
    t = customers_from_transactions(generate_transactions(300, 1))
    path = tmp_path / "customers.parquet"
    t.customers.to_parquet(path)
    data = load(path, catalog="retail")
    assert data.layout == "generic" and data.n_rows == 300 and not data.id_generated
    assert data.catalog is not None and data.catalog.keys == load_catalog("retail").keys
    assert 0.1 < data.frame["Churn Value"].mean() < 0.9
    assert data.extra_columns["Most Frequent Category"] == "categorical"
    assert data.unavailable_columns == ("Churn Probability",)


def test_cli_customers_from_transactions(tmp_path):
    src = tmp_path / "lines.csv"
    lines().to_csv(src, index=False)
    out = tmp_path / "customers.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "core", "customers-from-transactions", str(src), "--out", str(out),
         "--as-of", "2024-03-31", "--churn-after", "30"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["customers"] == 3 and report["lines_without_customer_id"] == 1
    table = pd.read_csv(out)
    assert table.loc[0, "Monetary"] == pytest.approx(11.0)
    bad = subprocess.run(
        [sys.executable, "-m", "core", "customers-from-transactions", str(src), "--out",
         str(out), "--as-of", "someday"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--as-of" in bad.stderr
