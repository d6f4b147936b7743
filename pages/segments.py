"""Segments: whom should we contact first, and with what?"""

import streamlit as st

import ui

ui.intro(
    "Segments",
    "Groups of similar customers (tenure, charges, revenue, products held, referrals, CLTV and "
    "predicted churn), named from what sets them apart, and ranked by the expected value of "
    "their recommended journeys. The sentence in the blue box answers *whom to contact first, "
    "with what*. **Stability** says how much the segments survive re-fitting on resampled "
    "customers (1 = identical); trust segments with a stability near 1.",
)
ui.require_data()
ui.segment_controls()
page = ui.segments_page()
seg, ins = page.segmentation, page.insights

st.info(ins["contact_first"], icon=":material/campaign:")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Segments", seg.k, help=f"Method {seg.method}; features: {', '.join(seg.features)}.")
stab = seg.stability.get("ari_mean")
m2.metric(
    "Stability (ARI)",
    "n/a" if stab is None else f"{stab:.2f}",
    help="Mean adjusted Rand index between these segments and refits on bootstrap samples with "
    f"other seeds (min {seg.stability.get('ari_min') or float('nan'):.2f}). 1 = identical.",
)
m3.metric(
    "Silhouette",
    "n/a" if seg.silhouette is None else f"{seg.silhouette:.2f}",
    help="How well separated the segments are (-1 to 1; above 0.25 is a usable structure).",
)
m4.metric(
    "Noise share",
    "n/a" if seg.noise_share is None else f"{seg.noise_share:.1%}",
    help="DBSCAN only: customers in no segment ('unclustered').",
)

# keyed Vega-Lite views whose specifications hold no data: other segments swap their data in
charts = ui.segment_figures(page)
left, right = st.columns(2)
ui.show_vega(charts.sizes, "seg_sizes", left)
left.caption(charts.sizes.summary)
ui.show_vega(charts.projection, "seg_projection", right)
right.caption(charts.projection.summary)
st.markdown("**Key factors by segment**")
for row in range(0, len(charts.factors), 3):
    for i, (chart, where) in enumerate(
        zip(charts.factors[row : row + 3], st.columns(3), strict=False), start=row
    ):
        ui.show_vega(chart, f"seg_factor_{i}", where)
st.caption(
    "Box: quartiles; whiskers: 5th to 95th percentile; white line: median. "
    + " ".join(c.summary for c in charts.factors)
)

st.subheader("Ranked segments")
st.caption(f"Ranked by {ins['ranking_basis']}; revenue at risk over 12 months.")
st.table(ui.ranked_table(page))
if charts.crosstab is not None:
    st.subheader("Segment x recommended first offer")
    ui.show_vega(charts.crosstab, "seg_crosstab")
    st.caption(charts.crosstab.summary)
for note in [*seg.notes, *ins["notes"]]:
    st.caption(note)

st.subheader("What they say, and whether they still buy")
said, alive = ui.segment_signal_figures(page)
left, right = st.columns(2)
if said is None:
    left.info(ui.NO_TEXTS)
else:
    ui.show_vega(said, "seg_sentiment", left)
    left.caption(said.summary)
if alive is None:
    right.info(ui.NO_DATES)
else:
    ui.show_vega(alive, "seg_alive", right)
    right.caption(alive.summary)

with st.form("segment_names"):
    st.subheader("Segment names")
    st.caption("Rename segments in your own words; names are saved with the scenario.")
    # one set of fields per segmentation (ui.name_key): other segments mount their own fields
    # with their names instead of rewriting these after the page is drawn
    new = {
        str(sid): st.text_input(
            f"Segment {sid}", key=ui.bind(ui.name_key(seg, sid), seg.names[sid])
        )
        for sid in seg.segment_ids
    }
    if st.form_submit_button("Apply names", icon=":material/edit:") and ui.set_segment_names(
        seg, new
    ):
        st.rerun()

ui.prepare_in_background()  # the other segmentations the minimum share can choose, ahead
