"""The Segments page in one call: segment, name, describe and project (:func:`page_data`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress
from core.insights.segments.charts import distributions, projection_2d, projection_cells
from core.insights.segments.fit import segment
from core.insights.segments.naming import apply_names
from core.insights.segments.result import Segmentation
from core.insights.segments.targeting import insights

#: Cells per axis of the grid the page's projection is counted on (:func:`projection_cells`):
#: every customer, in a few hundred markers.
PAGE_BINS = 24


@dataclass(frozen=True, eq=False)
class SegmentsPage:
    """Everything the dashboard's Segments page draws (see :func:`page_data`)."""

    segmentation: Segmentation
    sizes: pd.DataFrame  # segment, size, share
    profile: pd.DataFrame
    k_scores: pd.DataFrame
    distributions: pd.DataFrame  # segment, factor, value (box plots)
    projection: pd.DataFrame  # x, y, segment, segment_id, customers (per grid cell)
    insights: dict[str, Any]
    report: dict[str, Any]


def _restore_names(seg: Segmentation, names: Mapping[int | str, str]) -> Segmentation:
    """``seg`` with a scenario's ``{segment id: name}`` applied; ids ``seg`` lacks are ignored."""
    stored = {int(i): v for i, v in names.items() if int(i) in seg.names}
    return apply_names(seg, stored) if stored else seg


def page_data(
    frame: pd.DataFrame,
    *,
    method: str = "kmeans",
    k: int | str = "auto",
    min_share: float = 0.05,
    random_state: int = 0,
    names: Mapping[int | str, str] | None = None,
    churn_proba: Any = None,
    journey_value: Any = None,
    first_offer: Any = None,
    horizon_months: int = 12,
    progress: Progress | None = None,
    memo: dict[Any, Any] | None = None,
    catalog: Any = None,
) -> SegmentsPage:
    """Segment, name (restoring a scenario's ``names``), describe and project in one call.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical customer frame.
    method, k, min_share, random_state, churn_proba, progress, catalog
        As for :func:`~core.insights.segments.fit.segment`.
    names : mapping of segment id (int or str) to str, optional
        Names a scenario stored; ids this segmentation does not have are ignored.
    journey_value, first_offer, horizon_months
        As for :func:`~core.insights.segments.targeting.insights` (``journey_value`` is also
        the ``opportunity`` described in the profile).
    memo
        As for :func:`~core.insights.segments.fit.segment` (the projection's fit is kept too).

    Returns
    -------
    SegmentsPage
    """
    seg = segment(
        frame,
        method=method,
        k=k,
        min_share=min_share,
        random_state=random_state,
        churn_proba=churn_proba,
        opportunity=journey_value,
        progress=progress,
        memo=memo,
        catalog=catalog,
    )
    tables = page_tables(frame, seg, random_state, churn_proba=churn_proba, memo=memo)
    return rename_page(
        tables,
        names or {},
        frame,
        churn_proba=churn_proba,
        journey_value=journey_value,
        first_offer=first_offer,
        horizon_months=horizon_months,
    )


def page_tables(
    frame: pd.DataFrame,
    seg: Segmentation,
    random_state: int = 0,
    *,
    churn_proba: Any = None,
    memo: dict[Any, Any] | None = None,
) -> SegmentsPage:
    """The page's tables of the segmentation ``seg`` of ``frame``, without the insights.

    Sizes, profile, key-factor distributions and the 2-D projection (every customer, counted
    per cell of a :data:`PAGE_BINS` grid: :func:`projection_cells`) depend on ``seg``'s segments
    (its labels and names) only; ``insights`` and ``report`` are empty until
    :func:`rename_page`. ``random_state``, ``churn_proba`` and ``memo`` as for
    :func:`page_data`.
    """
    return SegmentsPage(
        segmentation=seg,
        sizes=pd.DataFrame(
            {
                "segment": [seg.names[s] for s in seg.segment_ids],
                "size": [int((seg.labels == s).sum()) for s in seg.segment_ids],
                "share": [seg.shares[s] for s in seg.segment_ids],
            }
        ),
        profile=seg.profile,
        k_scores=seg.k_scores,
        distributions=distributions(frame, seg, churn_proba=churn_proba),
        projection=projection_cells(
            projection_2d(
                frame, seg, random_state, churn_proba=churn_proba, max_points=len(frame), memo=memo
            ),
            PAGE_BINS,
        ),
        insights={},  # the tables under the default names; rename_page adds the insights
        report={},
    )


def with_segmentation(page: SegmentsPage, seg: Segmentation) -> SegmentsPage:
    """``page`` for ``seg``, another segmentation with the very same segments (labels).

    Another minimum share often chooses the same fit: every table, the projection and the
    insights stay (they depend on the segments only) and ``seg`` brings its own scores, notes
    and parameters (``k_scores``, ``report``), under the page's names. Raises
    :class:`CJOError` when ``seg``'s labels differ from the page's.
    """
    if not np.array_equal(seg.labels, page.segmentation.labels):
        raise CJOError(
            "with_segmentation needs a segmentation with the page's segments (same labels); "
            "build the page with page_tables and rename_page instead."
        )
    names: dict[int | str, str] = {i: n for i, n in page.segmentation.names.items()}
    named = _restore_names(seg, names)
    return replace(
        page,
        segmentation=named,
        k_scores=named.k_scores,
        report=named.report() if page.report else {},
    )


def rename_page(
    page: SegmentsPage,
    names: Mapping[int | str, str],
    frame: pd.DataFrame,
    *,
    churn_proba: Any = None,
    journey_value: Any = None,
    first_offer: Any = None,
    horizon_months: int = 12,
) -> SegmentsPage:
    """``page`` with segments renamed, without segmenting again.

    ``names`` is ``{segment id: name}`` as a scenario stores it (ids may be strings; ids this
    segmentation does not have are ignored). Every table is relabelled and the insights (and so
    the "contact first" sentence) are recomputed with the new names; pass the same
    ``churn_proba``, ``journey_value``, ``first_offer`` and ``horizon_months`` as to
    :func:`page_data`. Raises :class:`CJOError` for empty or duplicate names (see
    :func:`rename`).
    """
    old = page.segmentation
    seg = _restore_names(old, names)
    relabel = {old.names[i]: seg.names[i] for i in old.names}
    ins = insights(
        frame,
        seg,
        churn_proba=churn_proba,
        journey_value=journey_value,
        first_offer=first_offer,
        horizon_months=horizon_months,
    )
    return SegmentsPage(
        segmentation=seg,
        sizes=page.sizes.assign(segment=page.sizes["segment"].map(relabel)),
        profile=seg.profile,
        k_scores=page.k_scores,
        distributions=page.distributions.assign(segment=page.distributions["segment"].map(relabel)),
        projection=page.projection.assign(segment=page.projection["segment"].map(relabel)),
        insights=ins,
        report=seg.report(),
    )
