"""Another business's files: the other operator's churn export, an e-commerce customer table.

Both are seeded look-alikes written by ``tests/fixtures/make_churn_export.py`` and
``make_ecommerce.py`` (invented numbers, no rows of any public dataset).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.common.errors import CatalogError, DataValidationError, MappingError
from core.data import schema
from core.data.catalog import load_catalog, parse_catalog
from core.data.io import load

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import make_churn_export  # noqa: E402
import make_ecommerce  # noqa: E402


@pytest.fixture(scope="module")
def churn_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("churn")
    data = make_churn_export.write(d / "churn.csv")
    mapping = d / "churn.toml"
    mapping.write_text(make_churn_export.MAPPING_TOML, encoding="utf-8")
    return data, mapping


@pytest.fixture(scope="module")
def churn(churn_files):
    data, mapping = churn_files
    return load(data, mapping=mapping, catalog="telecom_plans")


def test_fixture_has_the_other_operators_layout():
    raw = make_churn_export.generate(500, 1)
    assert len(raw.columns) == 20 and "Customer ID" not in raw
    assert set(raw["Churn"]) == {"True", "False"}
    assert set(raw["International plan"]) == {"Yes", "No"}
    assert np.allclose(raw["Total day charge"], np.round(raw["Total day minutes"] * 0.17, 2))
    no_vm = raw["Voice mail plan"] == "No"
    assert (raw.loc[no_vm, "Number vmail messages"] == 0).all()
    pd.testing.assert_frame_equal(raw, make_churn_export.generate(500, 1))  # seeded


def test_churn_export_validates_with_short_mapping_and_catalog(churn):
    assert churn.layout == "mapped" and churn.n_rows == 3333
    assert churn.id_generated and churn.frame["Customer ID"].iloc[0] == "1"
    assert any("row number" in n for n in churn.notes)
    assert churn.catalog is not None and churn.catalog.keys == ("intl_plan", "vmail_plan")
    assert set(churn.unavailable_factors) == {"cltv", "satisfaction"}
    assert 0.10 < churn.frame["Churn Value"].mean() < 0.17
    kinds = churn.extra_columns
    assert kinds["International plan"] == "boolean" and kinds["Total day minutes"] == "numeric"
    held = churn.catalog.holdings(churn.frame)
    assert held[:, 0].mean() == pytest.approx(0.097, abs=0.02)


def test_without_catalog_the_telecom_columns_are_still_required(churn_files):
    data, mapping = churn_files
    with pytest.raises(MappingError) as info:
        load(data, mapping=mapping)
    msg = str(info.value)
    assert "Contract" in msg and "--catalog" in msg


def test_user_catalog_must_find_its_columns(churn_files, tmp_path):
    data, mapping = churn_files
    cat = load_catalog("telecom_plans").to_dict()
    cat["products"][1]["column"] = "Voicemail subscription"
    path = tmp_path / "mine.toml"
    lines = ["[catalog]", 'name = "mine"', "[journey]", "max_length = 2"]
    for p in cat["products"]:
        lines += ["[[products]]"] + [f"{k} = {json.dumps(v)}" for k, v in p.items()]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(MappingError) as info:
        load(data, mapping=mapping, catalog=path)
    assert "Voicemail subscription" in str(info.value) and "Fix" in str(info.value)


def test_shipped_catalog_drops_products_the_file_lacks(fixtures_dir):
    data = load(fixtures_dir / "classic_telco.csv", catalog="seed")
    assert data.catalog is not None and "offer" not in data.catalog.keys
    assert any("dropped" in n for n in data.notes)
    with pytest.raises(CatalogError, match="none of its products"):
        load(fixtures_dir / "classic_telco.csv", catalog="retail")


@pytest.mark.parametrize(
    ("true", "false"),
    [("True", "False"), ("true", "false"), ("yes", "no"), ("Y", "N"), ("1", "0"), ("YES", "n")],
)
def test_each_boolean_spelling(tmp_path, true, false):
    raw = make_churn_export.generate(200, 2)
    churned = raw["Churn"] == "True"
    intl = raw["International plan"] == "Yes"
    raw["Churn"] = np.where(churned, true, false)
    raw["International plan"] = np.where(intl, f" {true} ", false)
    raw.to_csv(tmp_path / "c.csv", index=False)
    data = load(
        tmp_path / "c.csv", mapping={"columns": {"Churn": "Churn Label"}}, catalog="telecom_plans"
    )
    assert (data.frame["Churn Value"].to_numpy() == churned.to_numpy()).all()
    assert set(data.frame["Churn Label"]) <= {"Yes", "No"}
    assert data.catalog is not None
    held = data.catalog.holdings(data.frame)[:, data.catalog.index("intl_plan")]
    assert (held == intl.to_numpy()).all()


@pytest.mark.parametrize(
    "rename",
    [
        {"International plan": "International_plan", "Voice mail plan": "voice_mail_plan"},
        {"International plan": "INTERNATIONAL PLAN", "Churn": "churn"},
        {"International plan": "international-plan", "Account length": "Account_Length"},
    ],
)
def test_header_name_variants(tmp_path, churn, rename):
    raw = make_churn_export.generate(3333, 7).rename(columns=rename)
    raw.to_csv(tmp_path / "v.csv", index=False)
    mapping = tmp_path / "m.toml"
    mapping.write_text(make_churn_export.MAPPING_TOML)
    data = load(tmp_path / "v.csv", mapping=mapping, catalog="telecom_plans")
    assert data.catalog is not None and data.catalog.keys == ("intl_plan", "vmail_plan")
    assert "International plan" in data.frame  # read under the catalog's spelling
    np.testing.assert_array_equal(
        data.catalog.holdings(data.frame), churn.catalog.holdings(churn.frame)
    )
    assert (data.frame["Tenure in Months"] == churn.frame["Tenure in Months"]).all()


def test_file_without_id_gets_row_numbers_in_every_chunk(churn_files, tmp_path):
    from core.pipeline.batch import BatchOptions, plan
    from core.pipeline.batch.inputs import canonical_chunk, iter_chunks

    data, mapping = churn_files
    whole = load(data, mapping=mapping, catalog="telecom_plans").frame
    p = plan(data, 1000)
    opts = BatchOptions(chunk_rows=1000, mapping=str(mapping), catalog="telecom_plans")
    parts = [
        canonical_chunk(raw, c, mapping=opts.mapping, catalog=opts.catalog)
        for c, raw in iter_chunks(p, 1000)
    ]
    ids = pd.concat(parts)["Customer ID"].tolist()
    assert ids == whole["Customer ID"].tolist() == [str(i) for i in range(1, 3334)]


def test_user_outcomes_never_reach_the_models(tmp_path):
    from core.models import KeyFactorModels

    raw = make_churn_export.generate(600, 4)
    raw["Retention call made"] = np.where(raw["Churn"] == "True", "yes", "no")  # leaks churn
    raw.to_csv(tmp_path / "o.csv", index=False)
    mapping = {
        "columns": {"Churn": "Churn Label"},
        "outcomes": {"columns": ["retention_call_made"]},  # a header variant, too
    }
    data = load(tmp_path / "o.csv", mapping=mapping, catalog="telecom_plans")
    assert "Retention call made" in data.leakage_excluded
    assert "Retention call made" not in data.frame
    m = KeyFactorModels(data.catalog, factors=("churn",)).fit(data.frame)
    assert "Retention call made" not in m.churn_feature_names_
    assert not set(m.churn_feature_names_) & set(schema.ALL_OUTCOME_COLUMNS)


def test_catalog_column_may_name_the_file_column_before_mapping(tmp_path):
    raw = make_churn_export.generate(300, 5)
    raw.to_csv(tmp_path / "c.csv", index=False)
    # the mapping sends the plan to a canonical column; the catalog reads it by its file name
    mapping = {"columns": {"Churn": "Churn Label", "Voice mail plan": "Streaming Music"}}
    data = load(tmp_path / "c.csv", mapping=mapping, catalog="telecom_plans")
    assert "Voice mail plan" in data.frame and "Streaming Music" not in data.frame
    assert any("is not applied" in n for n in data.notes)


def test_catalog_values_match_case_and_blanks():
    cat = parse_catalog(
        {
            "products": [
                {"key": "a", "column": "International plan", "held_if": ["YES"]},
                {"key": "b", "column": "Tier", "held_unless": ["none "]},
            ]
        }
    )
    frame = pd.DataFrame(
        {"International plan": [" yes", "No", "True", None], "Tier": ["Gold", "NONE", None, "x"]}
    )
    np.testing.assert_array_equal(
        cat.holdings(frame), [[True, True], [False, False], [True, False], [False, True]]
    )


def test_churn_auc_at_least_plain_gradient_boosting(churn):
    """metrics.json's churn.roc_auc beats plain gradient boosting on the same 5 folds."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from churn_export import plain_gradient_boosting

    from core.models import cross_validate_models

    ours = cross_validate_models(churn.frame, churn.catalog, random_state=0, importance=False)
    plain = plain_gradient_boosting(3333, 7)
    assert ours["churn"]["roc_auc"] >= plain["roc_auc"] >= 0.91, (ours["churn"], plain)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_train_optimize_segment_on_the_export(churn_files, tmp_path):
    data, mapping = churn_files
    common = ["--mapping", str(mapping), "--catalog", "telecom_plans"]
    out = _cli("validate", str(data), *common)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["products"] == ["intl_plan", "vmail_plan"]
    out = _cli("train", str(data), *common, "--models", str(tmp_path / "m"), "--quiet")
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["churn"]["roc_auc"] > 0.9
    card = (tmp_path / "m" / "key_factors.md").read_text()
    assert "Feature types" in card and "Total day minutes**: numeric" in card
    out = _cli(
        "optimize", str(data), *common, "--out", str(tmp_path / "j.csv"), "--quiet",
        "--models", str(tmp_path / "m"), "--report", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    journeys = pd.read_csv(tmp_path / "j.csv")
    assert set(journeys["product"]) <= {"intl_plan", "vmail_plan"}
    out = _cli(
        "segment", str(data), *common, "--journeys", str(tmp_path / "j.csv"), "--quiet",
        "--report", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["k"] >= 2 and "n_products" in report["features"]
    assert "Contact first" in out.stdout


def test_cli_bad_catalog_column_exits_2(churn_files, tmp_path):
    data, mapping = churn_files
    bad = tmp_path / "bad.toml"
    bad.write_text('[[products]]\nkey = "x"\ncolumn = "No such column"\nheld_if = ["yes"]\n')
    out = _cli("validate", str(data), "--mapping", str(mapping), "--catalog", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "No such column" in out.stderr


# ---- the e-commerce customer table -------------------------------------------------------------


@pytest.fixture(scope="module")
def ecommerce(tmp_path_factory):
    d = tmp_path_factory.mktemp("ecom")
    path = make_ecommerce.write(d / "ecom.csv")
    mapping = d / "ecom.toml"
    mapping.write_text(make_ecommerce.MAPPING_TOML)
    catalog = d / "ecom_catalog.toml"
    catalog.write_text(make_ecommerce.CATALOG_TOML)
    return load(path, mapping=mapping, catalog=catalog)


def test_ecommerce_table_loads_with_a_mapping(ecommerce):
    f = ecommerce.frame
    assert ecommerce.layout == "mapped" and len(f) == 2000
    assert {"Frequency", "Average Order Value", "Days Between Purchases", "CLTV"} <= set(f)
    assert "Churn Probability" in ecommerce.leakage_excluded
    assert ecommerce.unavailable_factors == ("satisfaction",)
    assert ecommerce.extra_columns["Region"] == "categorical"
    assert ecommerce.catalog is not None and ecommerce.catalog.n_products == 6
    assert ecommerce.catalog.holdings(f).sum(axis=1).tolist() == [1] * 2000


def test_ecommerce_table_segments_by_rfm(ecommerce):
    from core.insights.segments import rfm_view, segment

    seg = segment(ecommerce.frame, features="rfm", n_stability=1, catalog=ecommerce.catalog)
    assert seg.features == ("recency", "frequency", "monetary")
    assert any("Days Between Purchases" in n for n in seg.notes)
    assert seg.k >= 2 and abs(sum(seg.shares.values()) - 1) < 1e-9
    rfm = rfm_view(ecommerce.frame)
    assert list(rfm.columns[:4]) == ["Customer ID", "recency_days", "frequency", "monetary"]
    quick = rfm.sort_values("recency_days")
    assert quick["R"].iloc[0] == 5 and quick["R"].iloc[-1] == 1  # recent buyers score high


def test_ecommerce_churn_probability_is_learnt_as_soft_labels(ecommerce):
    from core.models import KeyFactorModels, cross_validate_models

    m = KeyFactorModels(ecommerce.catalog, factors=("churn", "cltv")).fit(ecommerce.frame)
    assert m.churn_target_ == "probability" and m.churn_kind_ == "gb"
    p = m.predict_factor(ecommerce.frame, None, "churn")
    given = ecommerce.frame["Churn Probability"].to_numpy()
    assert np.corrcoef(p, given)[0, 1] > 0.8
    cv = cross_validate_models(
        ecommerce.frame, ecommerce.catalog, n_splits=3, importance=False, random_state=0
    )
    assert cv["churn"]["roc_auc"] is None and cv["churn"]["r2"] > 0.5
    assert cv["cltv"]["r2"] > 0.5


def test_bad_values_in_a_mapped_canonical_column_are_named(tmp_path):
    raw = make_ecommerce.generate(60, 1).astype(str)
    raw.loc[3, "Churn_Probability"] = "1.7"
    raw.to_csv(tmp_path / "e.csv", index=False)
    catalog = tmp_path / "c.toml"
    catalog.write_text(make_ecommerce.CATALOG_TOML)
    with pytest.raises(DataValidationError) as info:
        load(
            tmp_path / "e.csv", mapping=tomllib.loads(make_ecommerce.MAPPING_TOML), catalog=catalog
        )
    msg = str(info.value)
    assert "Churn Probability" in msg and "row 4" in msg and "Fix" in msg
