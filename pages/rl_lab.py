"""RL lab: does a policy learned by trial and error beat the optimizer's journeys?"""

import streamlit as st

import ui

ui.intro(
    "RL lab",
    "Reinforcement-learning agents learn, offer by offer, which product to propose next when a "
    "customer accepts an offer only with their acceptance propensity. They train on 70% of the "
    "customers; every policy (the learned ones, the optimizer's fixed journeys, an "
    "expected-value greedy rule and, when the catalog is small, the optimal adaptive policy) is "
    "then judged on the other 30% with the **same random acceptances**. Read the chart as "
    "expected weighted opportunity per customer with its 95% confidence interval: "
    "overlapping intervals mean no clear winner.",
)
ui.require_data()
labels = ui.RL_LABELS
c1, c2 = st.columns([2, 1])
agents = c1.multiselect(
    "Agents",
    list(ui.RL_EPISODES),
    default=["qlearning", "bandit"],
    format_func=labels.get,
    help="Fitted Q-iteration is the strongest learner and the slowest (about 10 s per 2,000 "
    "episodes on the demo population).",
)
eval_episodes = c2.number_input(
    "Evaluation episodes per customer", 2, 100, 10, help="More episodes, tighter intervals."
)
cols = st.columns(3)
episodes = {
    a: int(
        col.number_input(
            f"Training episodes: {labels[a]}", 100, 200_000, ui.RL_EPISODES[a], step=1_000
        )
    )
    for a, col in zip(agents, cols, strict=False)
}
go = st.button(
    "Train and compare", type="primary", disabled=not agents, icon=":material/play_arrow:"
)
lab = ui.rl_lab(agents, episodes, eval_episodes, train=go) if agents else None
if lab is None:
    st.info("Choose agents and press **Train and compare**.", icon=":material/science:")
else:
    ui.rl_results(lab)

st.subheader("Discount level (contextual bandit)")
st.markdown(
    "The level of a discount as the action: a LinUCB bandit offers each arriving customer of a "
    "synthetic population a level, sees whether they accept (drawn from the truth) and earns "
    "the margin kept. Beside it, the offline model fitted on a randomized product x discount "
    "campaign over the same customers; all are judged on the truth of "
    f"{ui.DISCOUNT_EVAL_ROWS:,} fresh customers (docs/discounts.md)."
)
products, why = ui.discount_products()
if why:
    st.info(why, icon=":material/info:")
    st.stop()
names = ui.label_of(ui.catalog())
d1, d2, d3 = st.columns(3)
product = d1.selectbox("Product", products, format_func=lambda k: names.get(k, k))
rows = d2.number_input("Training customers", 200, 50_000, ui.DISCOUNT_ROWS, step=500)
alpha = d3.number_input(
    "Exploration width (alpha)", 0.0, 5.0, 0.5, step=0.1, help="Upper confidence bonus."
)
train = st.button("Train the discount bandit", icon=":material/play_arrow:")
found = ui.discount_lab(product, int(rows), float(alpha), train=train)
if found is None:
    st.info("Choose a product and press **Train the discount bandit**.", icon=":material/sell:")
    st.stop()
ui.discount_results(found, product, int(rows), names)
