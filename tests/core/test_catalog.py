"""Product catalogs: shipped catalogs are valid; malformed ones fail with a clear message."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from core.common.errors import CatalogError
from core.data.catalog import available_catalogs, load_catalog, parse_catalog


def test_shipped_catalogs():
    assert {"seed", "full"} <= set(available_catalogs())
    seed = load_catalog("seed")
    assert seed.keys == ("offer", "phone", "internet", "device_protection", "tech_support")
    full = load_catalog("full")
    assert full.n_products == 11 and "offer" not in full.keys
    for cat in (seed, full):
        req = cat.requires_matrix()
        internet = cat.index("internet")
        for key in cat.keys:
            p = cat.products[cat.index(key)]
            if p.column in {
                "Device Protection Plan",
                "Premium Tech Support",
                "Online Security",
                "Online Backup",
                "Streaming TV",
                "Streaming Movies",
                "Streaming Music",
                "Unlimited Data",
            }:
                assert req[cat.index(key), internet], key
    assert full.requires_matrix()[full.index("multiple_lines"), full.index("phone")]
    assert 0 < full.discount <= 1 and 1 <= full.max_length <= full.n_products


def test_holdings_read_rules():
    df = pd.DataFrame(
        {
            "Offer": ["None", "Offer A"],
            "Phone Service": ["Yes", "No"],
            "Internet Service": ["No", "Yes"],
            "Device Protection Plan": ["No", "Yes"],
            "Premium Tech Support": ["No", "No"],
        }
    )
    held = load_catalog("seed").holdings(df)
    np.testing.assert_array_equal(held, [[0, 1, 0, 0, 0], [1, 0, 1, 1, 0]])
    with pytest.raises(CatalogError, match="Offer"):
        load_catalog("seed").holdings(df.drop(columns="Offer"))


BASE = load_catalog("seed").to_dict()


def mutate(fn):
    data = copy.deepcopy(BASE)
    fn(data)
    return data


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["products"][3].update(requires=["nope"]), ["unknown product", "nope"]),
        (lambda d: d["products"][2].update(requires=["tech_support"]), ["cycle"]),
        (lambda d: d["products"][1].update(requires=["phone"]), ["itself"]),
        (lambda d: d["products"][1].update(column="Phone Servise"), ["not a canonical column"]),
        (lambda d: d["products"][1].update(key="offer"), ["duplicate key"]),
        (lambda d: d["products"][1].update(colour="red"), ["unknown field"]),
        (lambda d: d["products"][3].update(excludes=["internet"]), ["both requires and excludes"]),
        (lambda d: d["products"][1].pop("held_if"), ["held_if or held_unless"]),
        (lambda d: d["journey"].update(max_length=0), ["max_length"]),
        (lambda d: d["journey"].update(discount=1.5), ["discount"]),
        (lambda d: d["products"][1].update(monthly_price=-3), ["monthly_price"]),
        (lambda d: d.update(products=[]), ["no [[products]]"]),
    ],
)
def test_invalid_catalogs(change, words):
    with pytest.raises(CatalogError) as info:
        parse_catalog(mutate(change), source="bad.toml")
    for w in words:
        assert w in str(info.value)


def test_unknown_catalog_name_and_bad_toml(tmp_path):
    with pytest.raises(CatalogError, match="no catalog named"):
        load_catalog("premium")
    bad = tmp_path / "bad.toml"
    bad.write_text("[catalog\nname=")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(bad)


def test_restrict_to_drops_products_and_dependants():
    full = load_catalog("full")
    cols = [p.column for p in full.products if p.key not in {"internet"}]
    small = full.restrict_to(cols)
    assert "internet" not in small.keys
    assert all("internet" not in p.requires for p in small.products)
    assert small.keys == ("phone", "multiple_lines")
