"""Customer: what should we offer this one customer next, and why?"""

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


@st.fragment
def one_customer() -> None:
    """Everything about the customer whose id is entered: a new id reruns only this part."""
    top = [str(c) for c in ui.example_customers(5)]  # the longest, then the best journeys
    default = st.query_params.get("customer", top[0])
    cid = st.text_input(
        "Customer id", key=ui.bind("customer_id", default), help=f"e.g. {', '.join(top)}"
    )
    idx = ui.customer_index(cid)
    if idx is None:
        st.warning(f"No customer with id '{cid}' in this data. Try {', '.join(top[:3])}.")
        return
    st.query_params["customer"] = str(cid)
    v = ui.customer_view(idx)
    for col, (name, value) in zip(st.columns(len(v.numbers)), v.numbers.items(), strict=True):
        col.metric(name, "n/a" if value is None else f"{value:,.0f}", border=True)
    st.markdown(" · ".join(f"**{c}:** {word}" for c, word in v.words.items()))
    st.caption("Holds: " + (", ".join(v.held) or "none of the catalog's products"))
    with st.expander("Full profile"):
        st.dataframe(v.profile.astype(str).rename("value"), width="stretch")

    said, timing = st.columns(2)
    with said:
        st.subheader("What they wrote")
        texts = ui.customer_texts(cid)
        if texts is None:
            st.info(ui.NO_TEXTS)
        elif texts.empty:
            st.caption("This customer wrote no feedback.")
        else:
            st.table(ui.texts_table(texts))
    with timing:
        st.subheader("When they will buy")
        figures = ui.customer_timing(cid)
        if figures is None:
            st.info(ui.NO_DATES)
        elif not figures:
            st.caption("This customer has no purchase history in the timing file.")
        else:
            for col, (name, value) in zip(st.columns(len(figures)), figures.items(), strict=True):
                col.metric(
                    name, str(value)[:10] if not isinstance(value, float) else f"{value:.2f}"
                )

    left, right = st.columns(2)
    with left:
        st.subheader("Predicted key factors")
        if v.factors is None:
            st.info("Predictions need the trained models: choose the counterfactual estimator.")
        else:
            # a static table of three rows: drawn at once (a grid's screen-reader copy follows
            # ~0.2 s after each new customer)
            formats = {"now": "{:.3f}", "with the journey": "{:.3f}"}
            st.table(v.factors.style.format(formats).hide(axis="index"))
        st.subheader("Recommended journey")
        if v.journey.empty:
            st.info("No offer is worth making to this customer under the current weights.")
        else:
            title = "Each step's opportunity by factor"
            steps = ui.factor_bars(v.journey_parts, "step", title, "Opportunity", horizontal=True)
            ui.show_vega(steps, "cust_steps")
            st.caption(steps.summary)
    with right:
        st.subheader("O(i → j) for this customer")
        matrix = ui.customer_matrix(v.matrix)
        ui.show_vega(matrix, "cust_matrix")
        st.caption(matrix.summary)

    st.subheader("Why: what drives each possible next offer")
    if not v.first_parts.empty:
        title = "Weighted change per factor if offered next"
        why = ui.factor_bars(v.first_parts, "product", title, "Opportunity part")
        ui.show_vega(why, "cust_why")
        st.caption(f"{why.summary} The estimator's deltas, weighted by the scenario's weights.")


one_customer()
# The models' drivers are the same for every customer: drawn once, outside the fragment.
if (drivers := ui.drivers()) is not None:
    st.caption("What the models rely on most (held-out permutation importance, all customers):")
    groups = drivers.groupby("factor", sort=False)
    for col, (factor, part) in zip(st.columns(3), groups, strict=False):
        ui.plot(ui.importance_bar(part, str(factor)), col)
