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
