"""Segments of the current data and scenario (core.insights.segments), cached, and their names.

The segmentation is cached per data, catalog, seed and options; renaming or a new scenario
only recomputes the insights (:func:`core.insights.segments.rename_page`). The options and the
user's names are session state (:func:`ui.state.segment_options`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.insights import first_offer_labels
from ui import background
from ui._base import guarded, show_error
from ui.cache import cached, json_key, scenario_key
from ui.data import require_data
from ui.pipeline import churn_proba, components, models_fingerprint, solved
from ui.state import segment_options, set_segments, settings

_LOG = logging.getLogger(__name__)


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


def _journey_inputs(data: Any = None, s: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Journey value and first offer (label, None for no offer) per customer, in frame order."""
    ctx, _ = components(data, s)
    _, result = solved(s, data)
    return np.asarray(result.scores, dtype=float), first_offer_labels(result, ctx.catalog.labels)


def _fits_key(data: Any, s: Any, opts: dict[str, Any]) -> tuple[str, ...]:
    """What the candidate fits depend on: data, catalog, seed, method and k."""
    return (data.sha256, s.catalog, s.seed, opts["method"], str(opts["k"]))


def _memo(data: Any, s: Any, opts: dict[str, Any]) -> dict[Any, Any]:
    """The kept fits (``memo`` of :func:`core.insights.segments.segment`) of these options."""
    key = (*_fits_key(data, s, opts), str(models_fingerprint(data, s)))
    return cached("segments-memo", key, dict)


def _segment(
    data: Any, s: Any, opts: dict[str, Any], proba: Any, memo: dict[Any, Any], progress: Any = None
) -> Any:
    """:func:`core.insights.segments.segment` of ``data`` under ``s`` and ``opts`` (uncached,
    choosing among the kept fits ``memo``, :func:`_memo`); ``proba``: :func:`churn_proba`."""
    from core.insights import segments as core_segments

    return core_segments.segment(
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


def segmentation(data: Any, s: Any, opts: dict[str, Any]) -> Any:
    """:func:`core.insights.segments.segment` of ``data`` under ``s`` and the options ``opts``.

    Cached per data, catalog, seed and options, and every candidate fit is kept (``memo``), so
    moving the minimum share only chooses among fits already made.
    """
    proba = churn_proba(data, s)
    memo = _memo(data, s, opts)

    def fit(progress: Any) -> Any:
        return _segment(data, s, opts, proba, memo, progress)

    label = f"Segmenting {data.n_rows:,} customers ({opts['method']})..."
    key = (*_fits_key(data, s, opts), opts["min_share"])
    return guarded(lambda: cached("segments-fit", key, fit, label=label))


def segments_key(seg: Any) -> str:
    """Cache key of a segmentation's segments: a digest of its labels (the minimum share often
    chooses the same fit; everything the page draws then stays as it was)."""
    return hashlib.sha256(np.ascontiguousarray(seg.labels, dtype=np.int64).tobytes()).hexdigest()


def name_key(seg: Any, sid: Any) -> str:
    """Widget key of segment ``sid``'s name field: ``seg_name_<sid>_<segments>`` (the first 8
    digits of :func:`segments_key`). A field per segmentation: when the minimum share chooses
    other segments the page mounts their fields with their names (a field whose value the
    server changes is rewritten in the browser ~0.1-0.2 s after the rest of the page)."""
    return f"seg_name_{sid}_{segments_key(seg)[:8]}"


def _tables(data: Any, s: Any, opts: dict[str, Any], seg: Any) -> Any:
    """:func:`core.insights.segments.page_tables` of ``seg``, cached per data, catalog, seed,
    method, k and segments (:func:`segments_key`). Raises CJOError."""
    from core.insights import segments as core_segments

    key = (*_fits_key(data, s, opts), segments_key(seg))
    proba = churn_proba(data, s)
    memo = _memo(data, s, opts)
    return cached(
        "segments",
        key,
        lambda: core_segments.page_tables(data.frame, seg, s.seed, churn_proba=proba, memo=memo),
    )


def segments_base(data: Any, s: Any, opts: dict[str, Any]) -> Any:
    """The segments page's tables (:func:`core.insights.segments.page_tables`) under the
    default names of ``data``, ``s`` and the options ``opts``, without the insights.

    Cached per data, catalog, seed, method, k and segments (:func:`segments_key`): another
    minimum share that chooses the same fit reuses them.
    """
    seg = segmentation(data, s, opts)
    return guarded(lambda: _tables(data, s, opts, seg))


def _page_key(data: Any, s: Any, opts: dict[str, Any], seg: Any, horizon: int) -> tuple[str, ...]:
    """Everything the described page depends on but the minimum share (its segments instead)."""
    return (
        *_fits_key(data, s, opts),
        segments_key(seg),
        scenario_key(s),
        json_key(opts["names"]),
        str(int(horizon)),
    )


def _described(
    data: Any, s: Any, opts: dict[str, Any], seg: Any, horizon: int, journeys: Any
) -> Any:
    """The page of ``seg`` with the options' names and its insights
    (:func:`core.insights.segments.rename_page`), cached per :func:`_page_key`. ``journeys``:
    :func:`_journey_inputs`. Raises CJOError."""
    from core.insights import segments as core_segments

    value, first = journeys
    page = _tables(data, s, opts, seg)
    return cached(
        "segments-described",
        _page_key(data, s, opts, seg, horizon),
        lambda: core_segments.rename_page(
            page,
            opts["names"],
            data.frame,
            churn_proba=churn_proba(data, s),
            journey_value=value,
            first_offer=first,
            horizon_months=int(horizon),
        ),
    )


def _figures(data: Any, s: Any, opts: dict[str, Any], page: Any, horizon: int) -> Any:
    """:func:`ui.charts_segments.segment_charts` of ``page``, cached per :func:`_page_key`."""
    from ui.charts_segments import segment_charts

    key = _page_key(data, s, opts, page.segmentation, horizon)
    return cached("segments-figures", key, lambda: segment_charts(page, segment_boxes(page)))


def segments_page(horizon: int = 12) -> Any:
    """:class:`core.insights.segments.SegmentsPage` of the current data, scenario and segmentation.

    The tables are :func:`segments_base`; renaming or a new scenario only recomputes the
    insights (:func:`core.insights.segments.rename_page`), and another minimum share that
    chooses the same segments only brings its scores and notes
    (:func:`core.insights.segments.with_segmentation`).
    """
    from core.insights import segments as core_segments

    data = require_data()
    s = settings()
    opts = segment_options()
    seg = segmentation(data, s, opts)
    journeys = _journey_inputs()
    described = guarded(lambda: _described(data, s, opts, seg, horizon, journeys))
    key = (*_page_key(data, s, opts, seg, horizon), opts["min_share"])
    return cached("segments-page", key, lambda: core_segments.with_segmentation(described, seg))


def segment_figures(page: Any, horizon: int = 12) -> Any:
    """The charts of the current page (:class:`ui.charts_segments.SegmentCharts`: customers per
    segment, 2-D projection, key factors by segment, segment x first offer), cached per
    segments, names and scenario: the same objects while the minimum share keeps the segments.
    Their specifications hold no data: drawn under fixed keys, other segments only swap the
    data into the views the browser has."""
    return _figures(require_data(), settings(), segment_options(), page, horizon)


#: Every minimum share the page's slider offers (:func:`ui.widgets.segment_controls`).
SHARES: tuple[float, ...] = tuple(round(0.01 * i, 2) for i in range(26))


def prepare_segmentations(
    data: Any,
    s: Any,
    opts: dict[str, Any],
    horizon: int = 12,
    journeys: Any = None,
    *,
    claimed: bool = False,
) -> int:
    """Build ahead the page of every other segmentation the minimum share can choose.

    The candidate fits are kept (:func:`_memo`) and a share only decides which are admissible
    (every segment at least that large: the ``min_share`` column of ``k_scores``), so one share
    per admissible set of :data:`SHARES` chooses every segmentation the slider can reach. For
    each segments not seen yet this fills the caches the page reads: the tables, the described
    page (with the default names, which a change of the share sets) and the figures; a later
    change of the share to any of them is a cache hit. dbscan fits anew per share: nothing is
    prepared for it. ``journeys``: :func:`_journey_inputs` of ``data`` and ``s`` (computed here
    when None). Once per data, scenario, method, k, models and horizon (:func:`_claim`): the
    start-up warm-up and the page's background thread (:func:`prepare_in_background`, which
    claims first: ``claimed``) do not both do it. Returns the number of segmentations
    prepared (0 when another thread did or does it).
    """
    from core.insights.segments import with_segmentation

    if opts["method"] == "dbscan" or not (claimed or _claim(data, s, opts, horizon)):
        return 0
    journeys = _journey_inputs(data, s) if journeys is None else journeys
    proba = churn_proba(data, s)
    memo = _memo(data, s, opts)
    try:
        smallest = _segment(data, s, opts, proba, memo).k_scores["min_share"].to_numpy()
    except CJOError:
        smallest = (
            _segment(data, s, {**opts, "min_share": 0.0}, proba, memo)
            .k_scores["min_share"]
            .to_numpy()
        )
    shares: dict[tuple[bool, ...], float] = {}
    for share in SHARES:  # the first share of each admissible set
        shares.setdefault(tuple(bool(share == 0 or m >= share) for m in smallest), share)
    seen: set[str] = set()
    for share in shares.values():
        if background.stopping():  # the process is exiting
            break
        chosen = {**opts, "min_share": share, "names": {}}
        try:
            seg = _segment(data, s, chosen, proba, memo)
        except CJOError:
            continue  # no k with every segment this large: the page says so
        if (digest := segments_key(seg)) in seen:
            continue
        seen.add(digest)
        page = with_segmentation(_described(data, s, chosen, seg, horizon, journeys), seg)
        _figures(data, s, chosen, page, horizon)
    return len(seen)


class _Prepared:
    """Whether the other segmentations of a key are (being) prepared; one per cache life."""

    def __init__(self) -> None:
        self.started = False
        self.lock = threading.Lock()


def _claim(data: Any, s: Any, opts: dict[str, Any], horizon: int) -> bool:
    """Claim the preparation of the other segmentations of these data, scenario, method, k,
    models and horizon (:func:`prepare_segmentations`): True for the first caller while the
    caches keep the claim, False for every later one."""
    key = (*_fits_key(data, s, opts), str(models_fingerprint(data, s)), scenario_key(s))
    marker = cached("segments-prepared", (*key, str(int(horizon))), _Prepared)
    with marker.lock:
        if marker.started:
            return False
        marker.started = True
    return True


def prepare_in_background(horizon: int = 12) -> threading.Thread | None:
    """Start :func:`prepare_segmentations` of the current data, scenario and options in a
    daemon thread (``cjo-segments``), once per data, scenario, method, k and models while the
    caches keep them (called after the page is drawn, so it never delays it; not at all when
    the start-up warm-up prepares them). Returns the thread, or None when already started or
    when nothing may be built ahead (:func:`ui.background.ahead`)."""
    if not background.ahead():
        return None
    data = require_data()
    s = settings()
    opts = segment_options()
    if not _claim(data, s, opts, horizon):
        return None

    def run() -> None:  # no script runs here: nothing is drawn
        try:
            prepare_segmentations(data, s, opts, horizon, claimed=True)
        except BaseException as exc:  # a CJOError stops a page (st.stop): here it only ends
            _LOG.info("preparing the other segmentations failed: %r", exc)  # the page shows it

    return background.start(run, "cjo-segments")


def segment_boxes(page: Any) -> pd.DataFrame:
    """Percentiles of the key factors per segment (the page's box plots, without the points)."""
    from core.insights.segments import box_stats

    return box_stats(page.distributions, "factor", "segment")


def ranked_segments(page: Any) -> pd.DataFrame:
    """The segment insights table indexed by name, in the ranking's order (no segment id)."""
    ins = page.insights
    table = ins["segments"].set_index("name").loc[ins["segment_ranking"]]
    return table.drop(columns=["segment_id"])


#: Header and format of each column of the ranked segments table (:func:`ranked_table`).
SEGMENT_COLUMNS: dict[str, tuple[str, str]] = {
    "size": ("customers", "{:,.0f}"),
    "share": ("share", "{:.1%}"),
    "churn_rate": ("churn rate", "{:.1%}"),
    "predicted_churn": ("predicted churn", "{:.1%}"),
    "avg_cltv": ("avg CLTV", "{:,.0f}"),
    "avg_satisfaction": ("avg satisfaction", "{:.2f}"),
    "avg_monthly_charge": ("avg monthly", "{:.2f}"),
    "revenue_at_risk": ("revenue at risk", "{:,.0f}"),
    "opportunity_total": ("opportunity", "{:,.0f}"),
    "opportunity_per_customer": ("opportunity / customer", "{:.2f}"),
    "top_first_offer": ("top first offer", "{}"),
}


def ranked_table(page: Any) -> Any:
    """:func:`ranked_segments` formatted for ``st.table`` (a pandas Styler): headers and
    formats of :data:`SEGMENT_COLUMNS`, the segment names as the index, missing values blank.

    A static table (at most a dozen rows, in the ranking's order) is drawn by the browser at
    once; ``st.dataframe``'s grid updates its screen-reader copy 0.2 s after each change."""
    table = ranked_segments(page)
    labels = {c: SEGMENT_COLUMNS[c][0] for c in table.columns if c in SEGMENT_COLUMNS}
    formats = {labels[c]: SEGMENT_COLUMNS[c][1] for c in labels}
    shown = table.rename(columns=labels).rename_axis("segment")
    return shown.style.format(formats, na_rep="")


def segment_signal_figures(page: Any, horizon: int = 12) -> tuple[Any, Any]:
    """(sentiment, P(alive)) box plots per segment of the current page
    (:func:`ui.signals.segment_signals`, :func:`ui.charts_segments.signal_boxes`: Vega-Lite
    charts whose specification holds no data), None where the file is missing; cached per
    segments, names, scenario and files, like :func:`segment_figures`."""
    from ui.charts_segments import signal_boxes
    from ui.signals import segment_signals, signals_key

    def draw() -> tuple[Any, Any]:
        seg = page.segmentation
        said, alive = segment_signals(require_data().frame, seg.labels, seg.names, seg.customer_ids)
        order = [str(n) for n in page.sizes["segment"]]  # the other charts' order and colours
        return (
            None
            if said is None
            else signal_boxes(
                said, "sentiment", "Sentiment of each writer's texts (lexicon)", order
            ),
            None if alive is None else signal_boxes(alive, "p_alive", "P(alive)", order),
        )

    key = (
        *_page_key(require_data(), settings(), segment_options(), page.segmentation, horizon),
        signals_key(),
    )
    return cached("segments-signals", key, draw)
