"""Extra columns: their kinds, how the models use them, and the mapping assistant's proposal."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import CatalogError, MappingError
from core.data import synthetic
from core.data.assistant import draft_catalog, mapping_from_rows, propose
from core.data.catalog import parse_catalog
from core.data.extras import MAX_LEVELS, infer_kind, type_extras
from core.data.io import prepare
from core.data.mapping import ColumnMapping
from core.models.extra_features import MISSING, OTHER, ExtraFeatures

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

import make_churn_export
import make_ecommerce


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["yes", "No", " Y", "n", None], "boolean"),
        (["True", "false", "1", "0"], "boolean"),
        (["1.5", "2", "NA", "", "-3"], "numeric"),
        (["North", "South", "North", "East"], "categorical"),
        ([f"order note number {i} about the delivery" for i in range(80)], "text"),
        ([f"AB{i:05d}" for i in range(80)], "id"),
        ([str(i) for i in range(1, 81)], "id"),
        ([None, "", "n/a"], "empty"),
    ],
)
def test_infer_kind(values, kind):
    assert infer_kind(pd.Series(values, dtype=object)).kind == kind


def test_type_extras_converts_and_leaves_out_text_but_never_a_product_column():
    frame = pd.DataFrame(
        {
            "Plan": ["yes", "no"] * 40,
            "Minutes": [str(i * 1.5) for i in range(80)],
            "Note": [f"called about bill number {i} twice" for i in range(80)],
            "Code": [f"Z{i:04d}" for i in range(80)],
        }
    )
    out, kinds, notes, dropped = type_extras(frame, list(frame.columns), keep=["Code"])
    assert kinds == {"Plan": "boolean", "Minutes": "numeric", "Code": "categorical"}
    assert dropped == ["Note"] and "free text" in notes[0]
    assert out["Plan"].tolist()[:2] == ["Yes", "No"] and out["Minutes"].dtype == "float64"


def test_a_column_without_a_header_is_left_out_with_its_position():
    frame = pd.DataFrame({"Plan": ["yes", "no"] * 5, " ": ["x"] * 10, "Region": ["N", "S"] * 5})
    out, kinds, notes, dropped = type_extras(frame, list(frame.columns))
    assert dropped == [" "] and list(out.columns) == ["Plan", "Region"]
    assert kinds == {"Plan": "boolean", "Region": "categorical"}
    assert "without a header (column 2)" in notes[0]


def test_extra_features_fill_levels_and_usage():
    rng = np.random.default_rng(0)
    n = 400
    held = rng.random(n) < 0.3
    cats = np.array([f"c{i}" for i in rng.integers(0, MAX_LEVELS + 10, n)], dtype=object)
    frame = pd.DataFrame(
        {
            "Messages": np.where(held, rng.integers(5, 40, n), 0).astype(float),
            "Minutes": np.where(rng.random(n) < 0.05, np.nan, rng.normal(100, 10, n)),
            "Flag": np.where(rng.random(n) < 0.5, "Yes", "No").astype(object),
            "Kind": cats,
            "Plan": np.where(held, "Yes", "No"),
        }
    )
    frame.loc[0, "Kind"] = None
    ex = ExtraFeatures.fit(frame, ["Plan"], held[:, None])
    assert ex.numeric == ["Messages", "Minutes"] and ex.binary == ["Flag"]
    assert ex.categorical == ["Kind"] and len(ex.levels["Kind"]) == MAX_LEVELS - 1
    assert ex.usage == {
        "Messages": (0, pytest.approx(float(np.median(frame.loc[held, "Messages"]))))
    }
    base = ex.prepare(frame)
    assert np.isfinite(base["x_numeric"]["Minutes"]).all()
    assert base["cats"]["Kind"][0] == MISSING and OTHER in set(base["cats"]["Kind"])
    new = held[:, None].copy()
    new[:, 0] = ~held  # every customer's plan flipped
    cols = ex.assemble(base, held[:, None], new)
    assert (cols["Messages"][held] == 0).all()
    assert (cols["Messages"][~held] == ex.usage["Messages"][1]).all()
    assert "Kind" in ex.kinds() and "usage of product" in ex.kinds(["plan"])["Messages"]


def test_catalog_typo_of_a_canonical_column_is_refused_but_file_columns_are_fine():
    with pytest.raises(CatalogError, match="not a canonical column"):
        parse_catalog({"products": [{"key": "p", "column": "Phone Servise", "held_if": ["Yes"]}]})
    cat = parse_catalog(
        {"products": [{"key": "p", "column": "phone_service", "held_if": ["Yes"]},
                      {"key": "v", "column": "Voice mail plan", "held_if": ["yes"]}]}
    )  # fmt: skip
    assert [p.column for p in cat.products] == ["Phone Service", "Voice mail plan"]


def test_mapping_toml_round_trip_with_outcomes_and_ignore():
    m = ColumnMapping(
        {'Churn "flag"': "Churn Label"},
        {"Contract": {"M2M": "Month-to-Month"}},
        ("Why",),
        ("Notes",),
    )
    again = ColumnMapping.load(tomllib.loads(m.to_toml()))
    assert again == m
    with pytest.raises(MappingError, match="both in"):
        ColumnMapping({"Why": "Churn Label"}, outcomes=("Why",))


# ---- the assistant's proposal on the fixtures ---------------------------------------------------


def test_assistant_on_the_churn_export():
    raw = make_churn_export.generate(800, 1).astype(str)
    p = propose(raw)
    use = dict(zip(p.rows["your column"], p.rows["use as"], strict=True))
    assert p.catalog == "telecom_plans"
    assert p.product_columns == ("International plan", "Voice mail plan")
    assert use["Churn"] == "Churn Label" and use["Account length"] == "Tenure in Months"
    assert use["International plan"] == "product" and use["Total day charge"] == "feature"
    assert use["State"] == "State"
    examples = dict(zip(p.rows["your column"], p.rows["examples"], strict=True))
    assert set(examples["Churn"].split(", ")) == {"True", "False"}
    mapping = mapping_from_rows(p.rows)
    assert dict(mapping.columns) == {"Account length": "Tenure in Months", "Churn": "Churn Label"}
    assert dict(mapping.columns) == tomllib.loads(make_churn_export.MAPPING_TOML)["columns"]


def test_assistant_on_the_ecommerce_table():
    raw = make_ecommerce.generate(500, 2).astype(str)
    p = propose(raw)
    use = dict(zip(p.rows["your column"], p.rows["use as"], strict=True))
    assert p.catalog is None and "Most_Frequent_Category" in p.product_columns
    expected = tomllib.loads(make_ecommerce.MAPPING_TOML)["columns"]
    assert {k: use[k] for k in expected} == expected
    assert use["Customer_ID"] == "Customer ID" and use["Region"] == "feature"
    mapping = mapping_from_rows(p.rows)
    assert {k: v for k, v in mapping.columns.items() if k in expected} == expected
    toml = draft_catalog(raw, ["Most_Frequent_Category"], name="shop")
    cat = parse_catalog(tomllib.loads(toml))
    assert cat.n_products == len(make_ecommerce.CATEGORIES)
    assert cat.holdings(raw).sum(axis=1).tolist() == [1] * 500


def test_assistant_flags_values_that_need_translating_and_rejects_bad_uses():
    raw = pd.DataFrame({"cust": ["a", "b"], "Contract": ["M2M", "1Y"], "churned": ["y", "n"]})
    p = propose(raw)
    row = p.rows.set_index("your column").loc["Contract"]
    assert row["use as"] == "Contract" and "[values" in row["why"]
    edited = p.rows.copy()
    edited.loc[0, "use as"] = "Customer Identity"
    with pytest.raises(MappingError, match="Customer Identity"):
        mapping_from_rows(edited)
    with pytest.raises(MappingError, match="too many values|at most"):
        draft_catalog(pd.DataFrame({"x": [str(i) for i in range(40)]}), ["x"])


def test_drafted_catalog_quotes_names_and_values():
    raw = pd.DataFrame(
        {'Tier "x"': ['Gold "A"', "Silver", 'Gold "A"'], "Has\\plan": ["y", "n", "y"]}
    )
    cat = parse_catalog(tomllib.loads(draft_catalog(raw, list(raw.columns))))
    assert cat.keys == ("gold_a", "silver", "has_plan")
    np.testing.assert_array_equal(
        cat.holdings(raw), [[True, False, True], [False, True, False], [True, False, True]]
    )


# --- a batch chunk typed as its reference gives the rows the whole file gives -----------------


_BASE = synthetic.generate_frame(120, seed=8)[0].astype(str)
_CELLS = {
    "count": st.sampled_from(["0", "1", "2", "3", "", "NA"]),
    "binary": st.sampled_from(["0", "1", "", "yes", "No"]),
    "number": st.sampled_from(["1.5", "-2", "1e3", "", "n/a", "7"]),
    "category": st.sampled_from(["North", "South", " East", "", "?", "West"]),
}


@settings(max_examples=25, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(sorted(_CELLS)), min_size=1, max_size=3),
    data=st.data(),
    cuts=st.lists(st.integers(1, 119), max_size=4, unique=True),
)
def test_chunks_typed_as_the_whole_file_give_its_rows(kinds, data, cuts):
    """Whatever the extra columns hold and wherever the chunks are cut, the chunks typed as the
    whole file was (``prepare(..., extras=whole.extras)``) concatenate to the whole file's frame."""
    raw = _BASE.copy()
    for k, kind in enumerate(kinds):
        raw[f"Extra {k}"] = data.draw(st.lists(_CELLS[kind], min_size=120, max_size=120))
    whole = prepare(raw)
    bounds = [0, *sorted(cuts), 120]
    parts = [
        prepare(raw.iloc[lo:hi].reset_index(drop=True), extras=whole.extras).frame
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole.frame)
