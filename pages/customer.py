"""Customer: what should we offer this one customer next, and why?"""

import numpy as np
import plotly.express as px
import streamlit as st

import ui

ui.intro(
    "Customer",
    "One customer's recommendation, explained. Enter a customer id to see their profile, the "
    "key factors the models predict for them now and once they hold the recommended products, "
    "the value of every offer after every other one (the O(i→j) matrix: row = what they "
    "hold or were just offered, column = the next offer) and the journey with the part of each "
    "step that comes from lifetime value, churn risk and satisfaction.",
)
ui.require_data()
out = ui.outcome()
order = np.lexsort((-out.result.scores, -out.result.lengths))  # longest, then best journeys
top = out.problem.ids[order[:5]]
default = st.query_params.get("customer", str(top[0]))
cid = st.text_input(
    "Customer id", key=ui.bind("customer_id", default), help=f"e.g. {', '.join(map(str, top))}"
)
idx = ui.customer_index(cid)
if idx is None:
    st.warning(f"No customer with id '{cid}' in this data. Try {', '.join(map(str, top[:3]))}.")
    st.stop()
st.query_params["customer"] = str(cid)
v = ui.customer_view(idx)
profile = v["profile"]
cols = st.columns(len(ui.PROFILE_NUMBERS))
for col, name in zip(cols, ui.PROFILE_NUMBERS, strict=True):
    value = profile.get(name)
    col.metric(name, "n/a" if value is None else f"{value:,.0f}", border=True)
words = [f"**{c}:** {profile[c]}" for c in ui.PROFILE_WORDS if c in profile.index]
st.markdown(" · ".join(words))
st.caption("Holds: " + (", ".join(v["held"]) or "none of the catalog's products"))
with st.expander("Full profile"):
    st.dataframe(profile.astype(str).rename("value"), width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Predicted key factors")
    if v["factors"] is None:
        st.info("Predictions need the trained models: choose the counterfactual estimator.")
    else:
        st.dataframe(
            v["factors"],
            hide_index=True,
            width="stretch",
            column_config={
                "now": st.column_config.NumberColumn(format="%.3f"),
                "with the journey": st.column_config.NumberColumn(format="%.3f"),
            },
        )
    st.subheader("Recommended journey")
    j = v["journey"]
    if j.empty:
        st.info("No offer is worth making to this customer under the current weights.")
    else:
        long = j.melt(["step", "product_label"], ["cltv", "churn", "satisfaction"], "factor")
        long["factor"] = long["factor"].map(ui.FACTOR_LABELS)
        long["step"] = long["step"].astype(str) + ". " + long["product_label"]
        fig = px.bar(
            long,
            x="step",
            y="value",
            color="factor",
            barmode="relative",
            color_discrete_map={ui.FACTOR_LABELS[k]: c for k, c in ui.FACTOR_COLOURS.items()},
            title="Each step's opportunity, by factor",
        )
        fig.update_layout(xaxis_title=None, yaxis_title="Opportunity")
        st.plotly_chart(ui.style(fig, 320), width="stretch")
with right:
    st.subheader("O(i → j) for this customer")
    fig = px.imshow(
        v["matrix"],
        text_auto=".2f",
        color_continuous_scale="RdBu",
        aspect="auto",
        color_continuous_midpoint=0.0,
        labels={"x": "next offer j", "y": "after i", "color": "O(i→j)"},
    )
    st.plotly_chart(ui.style(fig, 360), width="stretch")

st.subheader("Why: what drives each possible next offer")
if not v["first_parts"].empty:
    fig = px.bar(
        v["first_parts"],
        x="product",
        y="value",
        color="factor",
        barmode="relative",
        color_discrete_map={ui.FACTOR_LABELS[k]: c for k, c in ui.FACTOR_COLOURS.items()},
        title="Weighted change in each factor if offered next (estimator's deltas)",
    )
    fig.update_layout(xaxis_title=None, yaxis_title="Opportunity part")
    st.plotly_chart(ui.style(fig, 320), width="stretch")
drivers = ui.drivers()
if drivers is not None:
    st.caption("What the models rely on most (held-out permutation importance, all customers):")
    for col, (factor, part) in zip(
        st.columns(3), drivers.groupby("factor", sort=False), strict=False
    ):
        colour = next(c for k, c in ui.FACTOR_COLOURS.items() if ui.FACTOR_LABELS[k] == factor)
        fig = px.bar(part, x="importance", y="feature", orientation="h", title=factor)
        fig.update_traces(marker_color=colour)
        fig.update_layout(yaxis={"categoryorder": "total ascending", "title": None})
        col.plotly_chart(ui.style(fig, 320), width="stretch")
