"""The RL lab: the journey environment of the current scenario and the cached lab result.

The environment reuses the dashboard's own components, acceptance propensities and segments;
training (with a progress bar) happens only when the user asks for it, and the result is
kept per data, scenario, segmentation and options (:func:`ui.cache.cached`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui._base import guarded, progress_bar
from ui.cache import cached, json_key, peek, scenario_key
from ui.data import require_data
from ui.pipeline import acceptance_propensity, context_and_components
from ui.segments import segments_page
from ui.state import segment_options, settings

RL_EPISODES = {"qlearning": 20_000, "bandit": 10_000, "fqi": 2_000}  # < 30 s on the demo
RL_LABELS = {"qlearning": "Q-learning (tabular)", "bandit": "Contextual bandit", "fqi": "Fitted Q"}


def rl_action_columns() -> dict[str, Any]:
    """Column formats of the RL lab's best-actions table (:func:`core.rl.best_actions`)."""
    num = st.column_config.NumberColumn
    return {
        "label": st.column_config.TextColumn("first action"),
        "share": num("share of segment", format="percent"),
        "propensity": num("acceptance", format="percent"),
        "gain": num("gain if accepted", format="%.2f"),
        "value": num("journey value", format="%.2f"),
    }


def rl_env(horizon: int = 12) -> Any:
    """The journey environment of the current scenario: the dashboard's own components,
    acceptance propensities and segments (cached)."""
    from core import rl

    data = require_data()
    s = settings()
    ctx, comps, _ = context_and_components()
    prop = acceptance_propensity()
    seg = segments_page(horizon).segmentation
    key = (data.sha256, scenario_key(s), json_key(segment_options()))
    return guarded(
        lambda: cached(
            "rl-env",
            key,
            lambda: rl.build_env(
                data.frame,
                ctx.catalog,
                weights=s.weights,
                levers=s.levers or None,
                aggregation=s.aggregation,
                random_state=s.seed,
                components=comps,
                propensity=prop,
                segmentation=seg,
            ),
        )
    )


def rl_lab(agents: list[str], episodes: dict[str, int], eval_episodes: int, *, train: bool) -> Any:
    """The RL lab result for these options: cached; trained (progress bar) only when ``train``.

    Returns None when it was not trained yet and ``train`` is False.
    """
    from core import rl

    s = settings()
    data = require_data()
    options = (tuple(agents), json_key(episodes), int(eval_episodes))
    key = (data.sha256, scenario_key(s), json_key(segment_options()), *options)
    done = peek("rl-lab", key)
    if done is not None or not train:
        return done
    env = rl_env()  # only to train: a rerun that shows a result or nothing does not build it

    def compute() -> Any:
        bar, tick = progress_bar(f"Training {', '.join(agents)} and evaluating every policy...")
        try:
            return rl.lab_data(
                env,
                agents=agents,
                episodes=episodes,
                seed=s.seed,
                eval_episodes=int(eval_episodes),
                progress=tick,
            )
        finally:
            bar.empty()

    return guarded(lambda: cached("rl-lab", key, compute))


def versus_journeys(lab: Any) -> list[dict[str, Any]]:
    """Each learned agent against the annealed journeys: ``agent``, ``diff``, ``low``,
    ``high`` (paired difference per customer and its 95% CI) and ``clear`` (the interval
    leaves out 0). Empty when the annealed journeys were not evaluated."""
    table = lab.table
    if not (table["name"] == "anneal").any():
        return []
    out = []
    for name in lab.agents:
        row = table[table["name"] == name].iloc[0]
        low, high = float(row["diff_low"]), float(row["diff_high"])
        out.append(
            {"agent": name, "diff": float(row["diff"]), "low": low, "high": high}
            | {"clear": low > 0 or high < 0}
        )
    return out


#: Customers of the population every discount policy is judged on (seed: the scenario's + 1).
DISCOUNT_EVAL_ROWS = 5_000
#: Default training customers of the discount bandit and the offline model.
DISCOUNT_ROWS = 5_000


def discount_products() -> tuple[list[str], str | None]:
    """Products of the catalog in use whose discount level the RL lab can learn, or the one-line
    reason it cannot (no synthetic truth beside the data, or no discount levels)."""
    from core.rl.discount_bandit import discount_products as judged
    from ui.decision import truth
    from ui.pipeline import catalog

    cat = catalog()
    if truth() is None:
        return [], (
            "The discount bandit is judged on the synthetic truth: load a synthetic population "
            "with its truth file (the demo) to run it."
        )
    keys = judged(cat)
    if not keys:
        return [], (
            f"The catalog in use ('{cat.name}') lists no discount levels with a margin and a "
            "price: choose one with them (e.g. 'pricing') on the Opportunity page."
        )
    return keys, None


def discount_lab(product: str, rows: int, alpha: float, *, train: bool) -> Any:
    """The discount bandit beside the offline model for ``product``
    (:func:`core.rl.discount_bandit.discount_lab`): cached per catalog, product, training
    customers, alpha and seed; trained (progress bar) only when ``train``, else None until then.
    """
    from core.rl.discount_bandit import discount_lab as run
    from ui.pipeline import catalog

    s = settings()
    cat = catalog()
    key = (s.catalog, cat.name, product, int(rows), float(alpha), int(s.seed))
    done = peek("rl-discounts", key)
    if done is not None or not train:
        return done

    def compute() -> Any:
        bar, tick = progress_bar(f"Training the discount bandit on {int(rows):,} customers...")
        try:
            return run(
                product,
                int(rows),
                s.seed,
                catalog=cat,
                alpha=float(alpha),
                eval_rows=DISCOUNT_EVAL_ROWS,
                progress=tick,
            )
        finally:
            bar.empty()

    return guarded(lambda: cached("rl-discounts", key, compute))


def discount_policy_columns() -> dict[str, Any]:
    """Column formats of the discount section's policy table (:attr:`DiscountLab.table`)."""
    num = st.column_config.NumberColumn
    return {
        "captured": num("captured value", format="percent", help="Share of the truth-optimal "
                        "margin-adjusted value (acceptance x (margin - discount) x price x tenure)."),
        "share_harmful": num("harmful discounts", format="percent", help="Customers offered "
                             "the product who get a discount worth less than list price."),
        "share_discounted": num("discounted", format="percent"),
    }  # fmt: skip


def rl_results(lab: Any) -> None:
    """Draw a trained lab (:func:`rl_lab`): the best policy, each agent against the annealed
    journeys, the policy values, the best first action per segment, the training curves and
    every policy with the notes."""
    from ui.charts import plot, policy_values_chart, training_curves_chart

    labels = RL_LABELS
    table = lab.table
    best = table.iloc[0]
    st.markdown(
        f"**Best on the {lab.params['n_test']:,} held-out customers:** {best['label']}, "
        f"{best['value']:.3f} per customer (95% CI {best['ci_low']:.3f} to {best['ci_high']:.3f})."
    )
    if versus := versus_journeys(lab):
        for col, row in zip(st.columns(len(versus)), versus, strict=True):
            col.metric(
                f"{labels[row['agent']]} vs annealed journeys",
                f"{row['diff']:+.3f}",
                f"{row['low']:+.3f} to {row['high']:+.3f}",
                delta_color="normal" if row["clear"] else "off",
                help="Paired difference in expected value per customer with its 95% CI (same "
                "customers, same acceptance draws). Grey: the interval contains 0, no clear winner.",
            )
    plot(policy_values_chart(table))

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
            column_config=rl_action_columns(),
        )

    st.subheader("Training curves")
    if (curves := training_curves_chart(lab.curves, labels)) is not None:
        plot(curves)
    with st.expander("All policies and notes"):
        st.dataframe(table, hide_index=True, width="stretch")
        for note in lab.notes:
            st.caption(note)
        st.caption(
            f"Seconds per stage: {', '.join(f'{k} {v:.1f}' for k, v in lab.seconds.items())}."
        )


def discount_results(found: Any, product: str, rows: int, names: dict[str, str]) -> None:
    """Draw a trained discount lab (:func:`discount_lab`) of ``product`` on ``rows`` training
    customers: the policies' table, how many customers could take the product, the bandit's
    learning curve and the levels each policy chose."""
    from ui.charts import plot
    from ui.charts_rl import bandit_curve_chart, level_shares_chart

    st.dataframe(
        found.table, hide_index=True, width="stretch", column_config=discount_policy_columns()
    )
    st.caption(
        f"{found.bandit['products'][product]['training_offers']:,} of the {rows:,} training "
        f"customers could take {names.get(product, product)} (not held, prerequisites held) and "
        f"were offered it; {found.bandit['products'][product]['offers']:,} of the judging "
        "population's. Harmful: a discount whose true value is below list price's."
    )
    left, right = st.columns(2)
    plot(bandit_curve_chart(found.curve, found.table), left)
    plot(level_shares_chart(found.levels), right)
