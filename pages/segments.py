"""Segments: whom should we contact first, and with what?"""

import plotly.express as px
import streamlit as st

import ui
from core.insights.segments import METHODS

ui.intro(
    "Segments",
    "Groups of similar customers (tenure, charges, revenue, products held, referrals, CLTV and "
    "predicted churn), named from what sets them apart, and ranked by the expected value of "
    "their recommended journeys. The sentence in the blue box answers *whom to contact first, "
    "with what*. **Stability** says how much the segments survive re-fitting on resampled "
    "customers (1 = identical); trust segments with a stability near 1.",
)
ui.require_data()
opts = ui.segment_options()
c1, c2, c3, c4 = st.columns(4)
method = c1.selectbox(
    "Method",
    METHODS,
    key=ui.bind("seg_method", opts["method"]),
    help="k-means (default), DBSCAN (density; finds k itself and leaves noise), "
    "agglomerative (Ward) or a Gaussian mixture.",
)
auto = c2.toggle(
    "Choose k automatically",
    key=ui.bind("seg_auto", opts["k"] == "auto"),
    help="Pick the number of segments by silhouette and Calinski-Harabasz (BIC for the mixture).",
)
k = c3.number_input(
    "Segments (k)",
    2,
    12,
    key=ui.bind("seg_k", 4 if opts["k"] == "auto" else int(opts["k"])),
    disabled=auto or method == "dbscan",
)
min_share = c4.slider(
    "Minimum segment share",
    0.0,
    0.25,
    step=0.01,
    key=ui.bind("seg_min_share", float(opts["min_share"])),
    help="No segment smaller than this share of customers (0 disables the rule).",
)
ui.set_segment_options(method, "auto" if auto or method == "dbscan" else int(k), min_share)
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

order = list(page.sizes["segment"])
look = {"color": "segment", "color_discrete_map": ui.segment_colours(order)}
look["category_orders"] = {"segment": order}
left, right = st.columns(2)
fig = px.bar(
    page.sizes, x="segment", y="size", text_auto=True, title="Customers per segment", **look
)
left.plotly_chart(ui.style(fig.update_layout(showlegend=False)), width="stretch")
fig = px.scatter(page.projection, x="x", y="y", opacity=0.6, title="2-D projection (PCA)", **look)
right.plotly_chart(ui.style(fig.update_traces(marker_size=4)), width="stretch")
fig = px.box(
    page.distributions,
    x="segment",
    y="value",
    facet_col="factor",
    facet_col_wrap=3,
    title="Key factors by segment",
    **look,
)
fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
fig.update_yaxes(matches=None, showticklabels=True, title=None).update_xaxes(title=None)
st.plotly_chart(ui.style(fig.update_layout(showlegend=False), 560), width="stretch")

st.subheader("Ranked segments")
st.caption(f"Ranked by {ins['ranking_basis']}; revenue at risk over 12 months.")
table = ins["segments"].set_index("name").loc[ins["segment_ranking"]]
st.dataframe(
    table.drop(columns=["segment_id"]), width="stretch", column_config=ui.segment_columns()
)
if ins["crosstab"] is not None:
    st.subheader("Segment x recommended first offer")
    fig = px.imshow(ins["crosstab"], text_auto=True, aspect="auto", color_continuous_scale="Blues")
    st.plotly_chart(ui.style(fig, 320), width="stretch")
for note in [*seg.notes, *ins["notes"]]:
    st.caption(note)

with st.form("segment_names"):
    st.subheader("Segment names")
    st.caption("Rename segments in your own words; names are saved with the scenario.")
    new = {
        str(sid): st.text_input(f"Segment {sid}", key=ui.bind(f"seg_name_{sid}", seg.names[sid]))
        for sid in seg.segment_ids
    }
    if st.form_submit_button("Apply names", icon=":material/edit:") and ui.set_segment_names(
        seg, new
    ):
        st.rerun()
