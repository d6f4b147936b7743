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
    table = lab.table
    best = table.iloc[0]
    st.markdown(
        f"**Best on the {lab.params['n_test']:,} held-out customers:** {best['label']}, "
        f"{best['value']:.3f} per customer (95% CI {best['ci_low']:.3f} to {best['ci_high']:.3f})."
    )
    if versus := ui.versus_journeys(lab):
        for col, row in zip(st.columns(len(versus)), versus, strict=True):
            col.metric(
                f"{labels[row['agent']]} vs annealed journeys",
                f"{row['diff']:+.3f}",
                f"{row['low']:+.3f} to {row['high']:+.3f}",
                delta_color="normal" if row["clear"] else "off",
                help="Paired difference in expected value per customer with its 95% CI (same "
                "customers, same acceptance draws). Grey: the interval contains 0, no clear winner.",
            )
    ui.plot(ui.policy_values_chart(table))

    st.subheader("Best first action per segment")
    tabs = st.tabs([labels[a] for a in lab.best_actions])
    for tab, df in zip(tabs, lab.best_actions.values(), strict=True):
        top = df[df["rank"] == 1]
        for text in top["explanation"]:
            tab.markdown(f"- {text}")
        tab.dataframe(
            top[["segment", "customers", "label", "share", "propensity", "gain", "value"]],
            hide_index=True,
            width="stretch",
            column_config=ui.rl_action_columns(),
        )

    st.subheader("Training curves")
    if (curves := ui.training_curves_chart(lab.curves, labels)) is not None:
        ui.plot(curves)
    with st.expander("All policies and notes"):
        st.dataframe(table, hide_index=True, width="stretch")
        for note in lab.notes:
            st.caption(note)
        st.caption(
            f"Seconds per stage: {', '.join(f'{k} {v:.1f}' for k, v in lab.seconds.items())}."
        )

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
st.dataframe(
    found.table, hide_index=True, width="stretch", column_config=ui.discount_policy_columns()
)
st.caption(
    f"{found.bandit['products'][product]['training_offers']:,} of the {int(rows):,} training "
    f"customers could take {names.get(product, product)} (not held, prerequisites held) and "
    f"were offered it; {found.bandit['products'][product]['offers']:,} of the judging "
    "population's. Harmful: a discount whose true value is below list price's."
)
left, right = st.columns(2)
ui.plot(ui.bandit_curve_chart(found.curve, found.table), left)
ui.plot(ui.level_shares_chart(found.levels), right)
