"""segments.rename_page: renaming a page's segments gives what page_data with those names gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import CJOError
from core.insights import segments


@pytest.fixture(scope="module")
def frame(synthetic_frame):
    return synthetic_frame(800, 9)


@pytest.fixture(scope="module")
def inputs(frame):
    rng = np.random.default_rng(1)
    value = rng.gamma(2.0, 1.0, len(frame))
    offers = rng.choice(np.array(["Offer", "Tech support", None], dtype=object), len(frame))
    return {"journey_value": value, "first_offer": offers}


def test_rename_page_equals_page_data_with_names(frame, inputs):
    page = segments.page_data(frame, k=3, **inputs)
    names = {str(sid): f"Group {sid}" for sid in page.segmentation.names}
    renamed = segments.rename_page(page, names, frame, **inputs)
    direct = segments.page_data(frame, k=3, names=names, **inputs)
    assert renamed.segmentation.names == direct.segmentation.names
    assert renamed.insights["contact_first"] == direct.insights["contact_first"]
    assert "Group" in renamed.insights["contact_first"]
    pd.testing.assert_frame_equal(renamed.sizes, direct.sizes)
    pd.testing.assert_frame_equal(renamed.projection, direct.projection)
    pd.testing.assert_frame_equal(renamed.distributions, direct.distributions)
    pd.testing.assert_frame_equal(renamed.insights["segments"], direct.insights["segments"])
    assert renamed.report["names"] == direct.report["names"]
    assert set(renamed.projection["segment"]) == set(names.values())
    # the original page is untouched
    assert set(page.sizes["segment"]) != set(names.values())


def test_rename_page_ignores_unknown_ids_and_refuses_duplicates(frame, inputs):
    page = segments.page_data(frame, k=3, **inputs)
    same = segments.rename_page(page, {"99": "nobody"}, frame, **inputs)
    assert same.segmentation.names == page.segmentation.names
    with pytest.raises(CJOError, match="unique"):
        segments.rename_page(page, {"0": "Same", "1": "Same"}, frame, **inputs)


def test_page_tables_then_rename_page_is_page_data(frame, inputs):
    seg = segments.segment(frame, k=3, opportunity=inputs["journey_value"])
    tables = segments.page_tables(frame, seg)
    assert tables.insights == {} and tables.report == {}
    page = segments.rename_page(tables, {"1": "Ones"}, frame, **inputs)
    direct = segments.page_data(frame, k=3, names={"1": "Ones"}, **inputs)
    pd.testing.assert_frame_equal(page.projection, direct.projection)
    pd.testing.assert_frame_equal(page.insights["segments"], direct.insights["segments"])


def test_with_segmentation_keeps_the_tables_and_takes_the_new_scores_and_parameters(frame, inputs):
    memo: dict = {}
    page = segments.page_data(frame, k=3, min_share=0.0, names={"0": "Mine"}, memo=memo, **inputs)
    same = segments.segment(
        frame, k=3, min_share=0.02, memo=memo, opportunity=inputs["journey_value"]
    )
    assert np.array_equal(same.labels, page.segmentation.labels)
    moved = segments.with_segmentation(page, same)
    assert moved.segmentation.params["min_share"] == 0.02
    assert moved.report["names"]["0"] == "Mine" and moved.segmentation.names[0] == "Mine"
    assert moved.insights is page.insights and moved.projection is page.projection
    pd.testing.assert_frame_equal(moved.k_scores, same.k_scores)
    other = segments.segment(frame, k=2, memo={}, opportunity=inputs["journey_value"])
    with pytest.raises(CJOError, match="same labels"):
        segments.with_segmentation(page, other)
