"""Reading real and realistic files: the IBM file, the classic export, encodings, delimiters."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data import schema
from core.data.catalog import load_catalog
from core.data.io import load, read_ibm_csv

pytestmark = []


@pytest.mark.real_data
def test_ibm_file_loads_with_documented_facts(ibm_path):
    data = load(ibm_path)
    df = data.frame
    assert data.layout == "ibm"
    assert len(df) == 7043
    assert df["Customer ID"].is_unique
    assert round(df["Churn Value"].mean() * 100, 2) == 26.54
    assert (df["Customer Status"] == "Churned").sum() == 1869
    # "None" is a value, not missing
    assert (df["Offer"] == "None").sum() == 3877
    assert (df["Internet Type"] == "None").sum() == 1526
    assert df["Offer"].notna().all() and df["Internet Type"].notna().all()
    # the only empty cells are the churn reasons of non-churners
    assert df["Churn Reason"].isna().sum() == 5174
    assert data.unavailable_factors == ()
    assert set(data.leakage_excluded) == set(schema.OUTCOME_COLUMNS)
    assert data.sha256 == "3c3428a06966ef86326c8aa84a93e2654045125b40e26e3dfbc851869d9d83f8"


@pytest.mark.real_data
def test_ibm_catalog_holdings(ibm_path):
    df = load(ibm_path).frame
    seed = load_catalog("seed")
    held = seed.holdings(df)
    assert held.shape == (7043, 5)
    assert held[:, seed.index("offer")].sum() == 7043 - 3877
    full = load_catalog("full")
    h = full.holdings(df)
    assert h.shape == (7043, 11)
    # prerequisites visible in the data hold for every row
    req = full.requires_matrix()
    for j, q in zip(*req.nonzero(), strict=True):
        assert not (h[:, j] & ~h[:, q]).any()


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("encoding", "sep"),
    [("utf-8-sig", ","), ("cp1252", ";"), ("utf-16", "\t"), ("utf-8", ";"), ("utf-16-le", ",")],
)
def test_encodings_and_delimiters(ibm_path, tmp_path, encoding, sep):
    df = read_ibm_csv(ibm_path).head(200).copy()
    df.loc[0, "City"] = "San José"  # a non-ASCII character that each encoding must carry
    path = tmp_path / "export.csv"
    text = df.to_csv(index=False, sep=sep)
    path.write_bytes(text.encode(encoding))
    data = load(path)
    assert len(data.frame) == 200
    assert data.frame.loc[0, "City"] == "San José"
    assert data.delimiter == sep
    assert data.frame["Monthly Charge"].dtype == "float64"


@pytest.mark.real_data
def test_parquet_round_trip(ibm_path, tmp_path):
    df = read_ibm_csv(ibm_path).head(300)
    path = tmp_path / "c.parquet"
    df.to_parquet(path)
    data = load(path)
    assert data.file_format == "parquet"
    assert len(data.frame) == 300
    pd.testing.assert_series_equal(
        data.frame["Monthly Charge"], df["Monthly Charge"], check_names=False
    )


def test_classic_fixture_loads_via_builtin_mapping(fixtures_dir):
    data = load(fixtures_dir / "classic_telco.csv")
    df = data.frame
    assert data.layout == "classic"
    assert len(df) == 40
    assert set(data.unavailable_factors) == {"cltv", "satisfaction"}
    assert "CLTV" not in df and "Satisfaction Score" not in df  # never invented
    assert set(df["Multiple Lines"]) <= {"Yes", "No"}
    assert set(df["Online Security"]) <= {"Yes", "No"}
    assert set(df["Internet Type"]) <= {"DSL", "Fiber Optic", "None"}
    assert (df["Internet Service"].eq("No") == df["Internet Type"].eq("None")).all()
    assert set(df["Contract"]) <= {"Month-to-Month", "One Year", "Two Year"}
    assert set(df["Senior Citizen"]) <= {"Yes", "No"}
    new = df["Tenure in Months"] == 0
    assert new.sum() == 2 and (df.loc[new, "Total Charges"] == 0).all()
    assert set(df["Churn Value"]) <= {0, 1}
    assert (df["Churn Value"] == (df["Churn Label"] == "Yes")).all()
    # the full catalog works on it once the products it lacks are dropped
    full = load_catalog("full").restrict_to(list(df.columns))
    assert "streaming_music" not in full.keys and "internet" in full.keys
    assert full.holdings(df).shape == (40, full.n_products)


def test_user_mapping_dict_and_toml(fixtures_dir, tmp_path):
    raw = pd.read_csv(fixtures_dir / "classic_telco.csv", dtype=str, keep_default_na=False)
    raw = raw.rename(columns={"customerID": "id", "tenure": "months", "MonthlyCharges": "fee"})
    raw["phone"] = raw["PhoneService"]
    raw["net"] = raw["InternetService"].map({"No": "No"}).fillna("Yes")
    raw["term"] = raw["Contract"].map({"Month-to-month": "M2M", "One year": "1Y", "Two year": "2Y"})
    src = raw[["id", "months", "fee", "phone", "net", "term"]]
    path = tmp_path / "crm.csv"
    src.to_csv(path, index=False)
    mapping = {
        "columns": {
            "id": "Customer ID",
            "months": "Tenure in Months",
            "fee": "Monthly Charge",
            "phone": "Phone Service",
            "net": "Internet Service",
            "term": "Contract",
        },
        "values": {"Contract": {"M2M": "Month-to-Month", "1Y": "One Year", "2Y": "Two Year"}},
    }
    data = load(path, mapping=mapping)
    assert data.layout == "mapped" and len(data.frame) == 40
    assert set(data.frame["Contract"]) <= {"Month-to-Month", "One Year", "Two Year"}
    toml = tmp_path / "map.toml"
    toml.write_text(
        "[columns]\n"
        + "".join(f'"{k}" = "{v}"\n' for k, v in mapping["columns"].items())
        + '[values."Contract"]\n"M2M" = "Month-to-Month"\n"1Y" = "One Year"\n"2Y" = "Two Year"\n'
    )
    again = load(path, mapping=toml)
    pd.testing.assert_frame_equal(again.frame, data.frame)


def test_values_are_normalised_case_and_space(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "Customer ID,Tenure in Months,Contract,Monthly Charge,Phone Service,Internet Service\n"
        "A1, 5 ,month-to-month,20.5, yes ,NO\n"
    )
    df = load(path).frame
    assert df.loc[0, "Contract"] == "Month-to-Month"
    assert df.loc[0, "Phone Service"] == "Yes" and df.loc[0, "Internet Service"] == "No"
    assert df.loc[0, "Tenure in Months"] == 5


def test_leakage_guard_feature_columns():
    cols = list(schema.CANONICAL)
    feats = schema.feature_columns(cols, target="churn")
    assert not set(feats) & set(schema.OUTCOME_COLUMNS)
    assert "Satisfaction Score" not in feats and "Customer ID" not in feats
    assert "Satisfaction Score" in schema.feature_columns(
        cols, target="churn", include_satisfaction=True
    )
    assert "CLTV" not in schema.feature_columns(cols, target="cltv")
    assert "Tenure in Months" in feats
