"""Customer segmentation: stable, named segments and the answer to "whom do we contact first?".

The flow is :func:`segment_features` (what describes a subscriber) -> :func:`segment` (a
:class:`Segmentation`: labels, names, quality and stability) -> :func:`insights` (per-segment
churn, CLTV, revenue at risk and journey opportunity, plus the "contact first" sentence).

Modules
-------
``features``  the clustering features (:data:`FEATURES`), their robust scaling, the RFM view
``methods``   the clustering methods (:data:`METHODS`): one fit of one method for one k
``fit``       :func:`segment`: choosing k, quality, stability, segments ordered by size
``naming``    names from the segment profiles; :func:`rename`, :func:`apply_names`
``result``    the :class:`Segmentation` result
``targeting`` :func:`insights`: what each segment is worth, and whom to contact first
``charts``    chart data: :func:`projection_2d` (scatter; :func:`projection_cells` per grid
              cell), :func:`distributions` and
              :func:`box_stats` (box plots)
``page``      :func:`page_data` / :func:`rename_page`: the dashboard's :class:`SegmentsPage`
              (:func:`page_tables`, :func:`with_segmentation`: its parts, for the dashboard's caches)
``report``    :func:`readme_table`: the Markdown table the CLI prints
"""

from core.insights.segments._base import NOISE, NOISE_NAME
from core.insights.segments.charts import (
    box_stats,
    distributions,
    projection_2d,
    projection_cells,
)
from core.insights.segments.features import (
    FEATURES,
    RFM_FEATURES,
    customer_ids,
    rfm_view,
    robust_scale,
    segment_features,
)
from core.insights.segments.fit import segment
from core.insights.segments.methods import METHODS
from core.insights.segments.naming import apply_names, name_segments, rename
from core.insights.segments.page import (
    SegmentsPage,
    page_data,
    page_tables,
    rename_page,
    with_segmentation,
)
from core.insights.segments.report import readme_table
from core.insights.segments.result import Segmentation
from core.insights.segments.targeting import insights

__all__ = [
    "FEATURES",
    "METHODS",
    "NOISE",
    "NOISE_NAME",
    "RFM_FEATURES",
    "Segmentation",
    "SegmentsPage",
    "apply_names",
    "box_stats",
    "customer_ids",
    "distributions",
    "insights",
    "name_segments",
    "page_data",
    "page_tables",
    "projection_2d",
    "projection_cells",
    "readme_table",
    "rename",
    "rename_page",
    "rfm_view",
    "robust_scale",
    "segment",
    "segment_features",
    "with_segmentation",
]
