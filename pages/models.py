"""Models: how far can we trust the churn, CLTV and satisfaction predictions?"""

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
    if said := ui.factor_note(view["trained"].metrics, str(factor)):
        st.info(said, icon=":material/info:")
    for col, r in zip(st.columns(len(rows)), rows.itertuples(), strict=True):
        col.metric(
            r.metric,
            "n/a" if r.shown is None else f"{r.shown:.3f}",
            None if r.delta is None else f"{r.delta:+.3f} vs baseline {r.baseline:.3f}",
            delta_color="inverse" if r.lower_is_better else "normal",
            help=r.help,
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
    ui.plot(ui.reliability_chart(rel), right)
if "Churn Value" not in data.frame.columns:
    left.info("These curves need observed churn outcomes; this data has none.")
elif not ui.curves_requested():
    left.write(
        "ROC and precision-recall curves need out-of-fold predictions: one churn model per fold "
        "is refitted (about 10-20 s on 7,000 customers, then cached)."
    )
    if left.button("Compute the curves", icon=":material/show_chart:"):
        st.session_state[ui.CURVES] = True
        st.rerun()
elif (curves := ui.churn_curves()) is not None:
    ui.plot(ui.roc_chart(curves), left)
    ui.plot(ui.pr_chart(curves), mid)
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
        sub = imp[imp["factor"] == factor]
        label = ui.FACTOR_LABELS.get(factor, factor)
        ui.plot(ui.importance_bar(sub, f"What drives {label}", 420), tab)

st.subheader("Model cards")
for name, text in view["cards"].items():
    with st.expander(name.replace("_", " ").capitalize(), expanded=False):
        st.markdown(text)
