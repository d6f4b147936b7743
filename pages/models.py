"""Models: how far can we trust the churn, CLTV and satisfaction predictions?"""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import ui

ui.intro(
    "Models",
    "How well the key-factor models predict customers they were **not** trained on "
    "(stratified cross-validation), next to a naive baseline that predicts the average. The "
    "opportunity engine is only as good as these models: a churn ROC AUC near 0.5 or an R2 "
    "near 0 means that factor's opportunity is mostly noise. Curves, the features that drive "
    "each model and the model cards (what the models are for, and not for) follow.",
)
data = ui.require_data()
view = ui.model_summary()
if view["warning"]:
    st.warning(view["warning"], icon=":material/warning:")

for factor, rows in view["metrics"].groupby("factor", sort=False):
    st.subheader(ui.FACTOR_LABELS.get(factor, factor))
    cols = st.columns(len(rows))
    for col, (_, r) in zip(cols, rows.iterrows(), strict=True):
        value = "n/a" if not r["available"] or r["value"] != r["value"] else f"{r['value']:.3f}"
        delta = None
        if r["better"] is not None and r["baseline"] == r["baseline"]:
            delta = f"{r['value'] - r['baseline']:+.3f} vs baseline {r['baseline']:.3f}"
        lower = r["key"].endswith(("brier", "mae"))
        col.metric(
            r["metric"],
            value,
            delta,
            delta_color="inverse" if lower else "normal",
            help=r["help"],
        )
cv = view["cv"]
st.caption(
    f"{cv.get('n_splits', '?')}-fold {'stratified ' if cv.get('stratified') else ''}"
    f"cross-validation on {cv.get('rows', data.n_rows):,} customers, seed "
    f"{cv.get('random_state', 0)}; means over folds. Models in `{view['trained'].models_dir.name}`."
)

st.subheader("Churn: ROC, precision-recall and calibration")
left, mid, right = st.columns(3)
if (rel := view["reliability"]) is not None:
    fig = px.line(rel, x="mean_predicted", y="observed_rate", markers=True, hover_data=["count"])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line_dash="dot"))
    fig.update_layout(title="Reliability (calibration)", xaxis_title="predicted churn")
    right.plotly_chart(ui.style(fig), width="stretch")
if not ui.curves_requested():
    left.write(
        "ROC and precision-recall curves need out-of-fold predictions: one churn model per fold "
        "is refitted (about 10-20 s on 7,000 customers, then cached)."
    )
    if left.button("Compute the curves", icon=":material/show_chart:"):
        st.session_state[ui.CURVES] = True
        st.rerun()
elif (curves := ui.churn_curves()) is not None:
    fig = px.area(curves.roc, x="fpr", y="tpr", title=f"ROC (AUC {curves.roc_auc:.3f})")
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line_dash="dot"))
    fig.update_layout(xaxis_title="false positive rate", yaxis_title="true positive rate")
    left.plotly_chart(ui.style(fig), width="stretch")
    fig = px.line(
        curves.pr, x="recall", y="precision", title=f"Precision-recall (AP {curves.pr_auc:.3f})"
    )
    fig.add_hline(y=curves.base_rate, line_dash="dot", annotation_text="churn rate")
    mid.plotly_chart(ui.style(fig), width="stretch")
    st.caption(f"Curves from {curves.source}.")

imp = view["importance"]
if len(imp):
    st.subheader("What drives each model (permutation importance)")
    st.caption(
        "Drop in ROC AUC (churn) or R2 (CLTV, satisfaction) on held-out customers when one "
        "feature's values are shuffled: the bigger, the more the model relies on it."
    )
    factors = list(dict.fromkeys(imp["factor"]))
    for tab, factor in zip(
        st.tabs([ui.FACTOR_LABELS.get(f, f) for f in factors]), factors, strict=True
    ):
        sub = imp[imp["factor"] == factor].sort_values("importance")
        fig = px.bar(sub, x="importance", y="feature", orientation="h")
        fig.update_traces(marker_color=ui.FACTOR_COLOURS.get(factor, ui.GREYS[0]))
        tab.plotly_chart(ui.style(fig, 420), width="stretch")

st.subheader("Model cards")
for name, text in view["cards"].items():
    with st.expander(name.replace("_", " ").capitalize(), expanded=False):
        st.markdown(text)
