"""Chart functions of ui.charts on edge cases: every figure keeps its title, axis titles and
text alternative, and an all-empty matrix (a customer nothing can be offered) draws fine."""

from __future__ import annotations

import numpy as np
import pandas as pd

import ui

LABELS = ["Phone", "Internet"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(np.full((2, 2), np.nan), index=LABELS, columns=LABELS)


def test_all_empty_matrices_still_draw_with_a_text_alternative():
    for fig in (ui.customer_matrix(_empty()), ui.transition_heatmap(_empty())):
        assert ui.alt_text(fig) and fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_the_highest_cell_is_named_in_the_text_alternative():
    m = _empty()
    m.loc["Phone", "Internet"] = 0.7
    assert "Internet after Phone (0.70)" in ui.alt_text(ui.transition_heatmap(m))
