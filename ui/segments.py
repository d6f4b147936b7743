"""Segments of the current data and scenario (core.insights.segments), cached, and their names.

The segmentation is cached per data, catalog, seed and options; renaming or a new scenario
only recomputes the insights (:func:`core.insights.segments.rename_page`). The options and the
user's names are session state (:func:`ui.state.segment_options`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.common.errors import CJOError
from core.insights import first_offer_labels
from ui._base import guarded, show_error
from ui.cache import cached, json_key, scenario_key
from ui.data import require_data
from ui.pipeline import churn_proba, components, models_fingerprint, solved
from ui.state import segment_options, set_segments, settings


def set_segment_names(segmentation: Any, names: dict[Any, str]) -> bool:
    """Keep the user's segment names (``{segment id: name}``) with the scenario.

    Checked first (:func:`core.insights.segments.rename`): empty or duplicate names are shown as an
    error and not kept. Returns True when kept.
    """
    from core.insights.segments import rename

    try:
        rename(segmentation, {int(k): v for k, v in names.items()})
    except CJOError as exc:
        show_error(exc)
        return False
    set_segments({**segment_options(), "names": {str(k): str(v).strip() for k, v in names.items()}})
    return True


def _journey_inputs() -> tuple[np.ndarray, np.ndarray]:
    """Journey value and first offer (label, None for no offer) per customer, in frame order."""
    ctx, _ = components()
    _, result = solved()
    return np.asarray(result.scores, dtype=float), first_offer_labels(result, ctx.catalog.labels)


def segments_base(data: Any, s: Any, opts: dict[str, Any]) -> Any:
    """The segments page under the default names of ``data``, ``s`` and the options ``opts``.

    Cached per data, catalog, seed and options, and every candidate fit is kept (``memo`` of
    :func:`core.insights.segments.segment`), so moving the minimum share only chooses among
    fits already made.
    """
    from core.insights import segments as core_segments

    proba = churn_proba(data, s)
    fits = (data.sha256, s.catalog, s.seed, opts["method"], str(opts["k"]))
    memo = cached("segments-memo", (*fits, str(models_fingerprint(data, s))), dict)

    def base(progress: Any) -> Any:
        return core_segments.page_data(
            data.frame,
            method=opts["method"],
            k=opts["k"],
            min_share=opts["min_share"],
            random_state=s.seed,
            churn_proba=proba,
            progress=progress,
            memo=memo,
            catalog=data.catalog,  # products held counted over the data's own catalog
        )

    label = f"Segmenting {data.n_rows:,} customers ({opts['method']})..."
    return guarded(lambda: cached("segments", (*fits, opts["min_share"]), base, label=label))


def segments_page(horizon: int = 12) -> Any:
    """:class:`core.insights.segments.SegmentsPage` of the current data, scenario and segmentation.

    The segmentation is :func:`segments_base`; renaming or a new scenario only recomputes the
    insights (:func:`core.insights.segments.rename_page`).
    """
    from core.insights import segments as core_segments

    data = require_data()
    s = settings()
    opts = segment_options()
    proba = churn_proba(data, s)
    page = segments_base(data, s, opts)
    base_key = (data.sha256, s.catalog, s.seed, opts["method"], str(opts["k"]), opts["min_share"])
    value, first = _journey_inputs()
    key = (*base_key, scenario_key(s), json_key(opts["names"]), int(horizon))
    return guarded(
        lambda: cached(
            "segments-described",
            key,
            lambda: core_segments.rename_page(
                page,
                opts["names"],
                data.frame,
                churn_proba=proba,
                journey_value=value,
                first_offer=first,
                horizon_months=int(horizon),
            ),
        )
    )


def segment_boxes(page: Any) -> pd.DataFrame:
    """Percentiles of the key factors per segment (the page's box plots, without the points)."""
    from core.insights.segments import box_stats

    return box_stats(page.distributions, "factor", "segment")


def ranked_segments(page: Any) -> pd.DataFrame:
    """The segment insights table indexed by name, in the ranking's order (no segment id)."""
    ins = page.insights
    table = ins["segments"].set_index("name").loc[ins["segment_ranking"]]
    return table.drop(columns=["segment_id"])


def segment_columns() -> dict[str, Any]:
    """Column formats of the segment insights table (:func:`core.insights.segments.insights`)."""
    num = st.column_config.NumberColumn
    return {
        "share": num(format="percent"),
        "churn_rate": num("churn rate", format="percent"),
        "predicted_churn": num("predicted churn", format="percent"),
        "avg_cltv": num("avg CLTV", format="%.0f"),
        "avg_satisfaction": num("avg satisfaction", format="%.2f"),
        "avg_monthly_charge": num("avg monthly", format="%.2f"),
        "revenue_at_risk": num("revenue at risk", format="%.0f"),
        "opportunity_total": num("opportunity", format="%.0f"),
        "opportunity_per_customer": num("opportunity / customer", format="%.2f"),
        "top_first_offer": st.column_config.TextColumn("top first offer"),
    }
