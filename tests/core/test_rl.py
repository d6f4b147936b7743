"""Tests of the RL journey environment, agents and evaluation (core.rl)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from core import rl
from core.common.errors import CJOError
from core.journeys import JourneyProblem, score, structured_instance
from core.solvers import solve


def _problem(opp_rows, *, n=1, held=None, requires=(), excludes=(), max_length=2, discount=1.0):
    """A problem whose every customer has the same opportunity rows ``[1 + P, P]``."""
    o = np.asarray(opp_rows, dtype=np.float32)
    p = o.shape[1]
    req = np.zeros((p, p), dtype=bool)
    for j, q in requires:
        req[j, q] = True
    exc = np.zeros((p, p), dtype=bool)
    for a, b in excludes:
        exc[a, b] = exc[b, a] = True
    h = np.zeros((n, p), dtype=bool) if held is None else np.asarray(held, dtype=bool)
    return JourneyProblem(
        np.broadcast_to(o, (n, *o.shape)).copy(), h, req, exc, max_length, discount
    )


def _chain_env(n=30, prop=1.0):
    """Base 0, add-on 1 (requires 0), standalone 2. Optimal: [0, 1] = 0.5 + 5 (myopic: [2, 0])."""
    o = np.zeros((4, 3))
    o[0] = [0.5, 0.0, 1.0]  # first offer
    o[1] = [0.0, 5.0, 0.2]  # after base
    o[2] = [0.1, 0.0, 0.1]  # after add-on
    o[3] = [0.3, 0.0, 0.0]  # after standalone
    pb = _problem(o, n=n, requires=[(1, 0)], max_length=2)
    return rl.JourneyEnv(pb, np.full((n, 3), prop))


def _additive_env(n=30):
    """Order-free values 1.0, -0.5, 0.3 and discount 0.9: optimal (and myopic) [0, 2]."""
    o = np.tile(np.array([1.0, -0.5, 0.3]), (4, 1))
    pb = _problem(o, n=n, max_length=2, discount=0.9)
    return rl.JourneyEnv(pb, np.ones((n, 3)))


def _greedy_journey(env, agent):
    """The journey the agent's greedy policy offers when everything is accepted (customer 0)."""
    b = env.reset(np.array([0]), seed=0, accept_all=True)
    seq = []
    while not b.done[0]:
        a = int(agent.act(env, b, env.valid_actions(b))[0])
        if a == env.stop:
            break
        seq.append(a)
        env.step(b, np.array([a]))
    return seq, float(b.ret[0])


# ---- environment ---------------------------------------------------------------------------


def test_prerequisites_and_exclusions_are_respected():
    o = np.ones((5, 4))
    # 1 requires 0; 2 and 3 exclude each other; customer 1 holds 3
    pb = _problem(
        o,
        n=2,
        held=[[0, 0, 0, 0], [0, 0, 0, 1]],
        requires=[(1, 0)],
        excludes=[(2, 3)],
        max_length=4,
    )
    env = rl.JourneyEnv(pb, np.array([[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]))
    b = env.reset(np.array([0, 1]), seed=3)
    valid = env.valid_actions(b)
    # add-on needs its base; a held product and a product it excludes are not offerable
    assert valid[0].tolist() == [True, False, True, True, True]
    assert valid[1].tolist() == [True, False, False, False, True]
    with pytest.raises(ValueError, match="invalid action"):
        env.step(b.copy(), np.array([1, 0]))
    env.step(b, np.array([0, 0]))  # customer 0 rejects the base (propensity 0), 1 accepts
    valid = env.valid_actions(b)
    assert valid[0].tolist() == [False, False, True, True, True]  # rejected base blocks add-on
    assert valid[1].tolist() == [False, True, False, False, True]
    env.step(b, np.array([2, 1]))  # customer 0 accepts 2, which excludes 3
    # nothing left to offer to either: 0 was offered, 1 is blocked, 3 excluded; 1 holds it all
    assert b.done.tolist() == [True, True]
    assert not env.valid_actions(b).any()
    assert b.t.tolist() == [2, 2]  # a rejected offer consumes a step
    assert b.ret.tolist() == [1.0, 2.0]


def test_episode_ends_at_max_length_and_on_stop():
    pb = _problem(np.ones((4, 3)), n=2, max_length=2)
    env = rl.JourneyEnv(pb, np.ones((2, 3)))
    b = env.reset(np.array([0, 1]), seed=0)
    env.step(b, np.array([0, env.stop]))
    assert b.done.tolist() == [False, True]
    env.step(b, np.array([1, env.stop]))
    assert b.done.tolist() == [True, True]
    assert b.ret.tolist() == [2.0, 0.0]
    assert not env.valid_actions(b).any()


def test_accept_all_return_equals_journey_score():
    pb = structured_instance(60, "full", rng=4)
    env = rl.JourneyEnv(pb, np.full((60, pb.n_products), 0.3))
    for solver in ("exact", "greedy"):
        res = solve(pb, solver)
        ro = rl.rollout(env, rl.SequencePolicy(res.journeys), accept_all=True)
        np.testing.assert_allclose(ro.returns[:, 0], score(pb, res.journeys), rtol=1e-9)
        np.testing.assert_array_equal(ro.lengths[:, 0], res.lengths)


def test_acceptance_draws_do_not_depend_on_batching_or_policy():
    pb = structured_instance(40, "seed", rng=1)
    env = rl.JourneyEnv(pb, np.full((40, pb.n_products), 0.5))
    pol = rl.MyopicPolicy()
    full = rl.rollout(env, pol, episodes=5, seed=11)
    part = rl.rollout(env.subset(np.arange(10, 25)), pol, episodes=5, seed=11)
    np.testing.assert_array_equal(full.returns[10:25], part.returns)
    other = rl.rollout(env, pol, episodes=5, seed=12)
    assert not np.array_equal(full.returns, other.returns)


def _analytic_sequence_value(o, held_first, prop, journey, requires, discount):
    """Expected return of a fixed journey by enumerating every acceptance outcome."""
    total = 0.0
    for outcome in itertools.product([False, True], repeat=len(journey)):
        prob, ret, prev, have, t = 1.0, 0.0, None, set(), 0
        for j, acc in zip(journey, outcome, strict=True):
            if any(q not in have for q in requires.get(j, ())):
                prob *= 0.0 if acc else 1.0  # skipped: no step used, count the outcome once
                continue
            prob *= prop[j] if acc else 1 - prop[j]
            if acc:
                ret += discount**t * (held_first[j] if prev is None else o[1 + prev][j])
                prev = j
                have.add(j)
            t += 1
        total += prob * ret
    return total


def test_monte_carlo_interval_covers_analytic_value():
    rng = np.random.default_rng(0)
    o = rng.normal(1.0, 1.0, (4, 3))
    prop = np.array([0.6, 0.5, 0.3])
    n = 3
    pb = _problem(o, n=n, requires=[(1, 0)], max_length=3, discount=0.9)
    env = rl.JourneyEnv(pb, np.tile(prop, (n, 1)))
    journey = [0, 1, 2]
    exact = _analytic_sequence_value(o, o[0], prop, journey, {1: [0]}, 0.9)
    pol = rl.SequencePolicy(np.tile(journey, (n, 1)))
    for seed in (0, 1, 2):
        comp = rl.evaluate(env, {"j": pol}, episodes=2000, seed=seed)
        v = comp.values["j"]
        assert v.ci_low <= exact <= v.ci_high
        assert v.ci_high - v.ci_low < 0.2  # and the interval is informative


def test_mc_interval_is_degenerate_without_randomness():
    env = _chain_env(n=4, prop=1.0)
    comp = rl.evaluate(env, {"j": rl.SequencePolicy(np.tile([0, 1], (4, 1)))}, episodes=3)
    v = comp.values["j"]
    assert v.value == pytest.approx(5.5)
    assert v.ci_low == pytest.approx(5.5) and v.ci_high == pytest.approx(5.5)
    assert v.deterministic == pytest.approx(5.5)


def test_sequence_policy_skips_products_whose_prerequisite_was_rejected():
    env = _chain_env(n=1, prop=0.0)
    pol = rl.SequencePolicy(np.array([[0, 1, 2]]))
    env3 = rl.JourneyEnv(
        _problem(env.problem.opportunity[0], requires=[(1, 0)], max_length=3),
        np.array([[0.0, 1.0, 1.0]]),
    )
    b = env3.reset(np.array([0]), seed=0)
    offered = []
    while not b.done[0]:
        a = int(pol.act(env3, b, env3.valid_actions(b))[0])
        offered.append(a)
        env3.step(b, np.array([a]))
    assert offered == [0, 2]  # add-on 1 skipped after its base was rejected
    assert b.ret[0] == pytest.approx(1.0)  # product 2 from the start row


# ---- agents ---------------------------------------------------------------------------------


def test_qlearning_finds_the_non_myopic_optimum():
    env = _chain_env()
    agent = rl.train(env, "qlearning", episodes=3000, seed=0, batch_size=32)
    assert _greedy_journey(env, agent) == ([0, 1], pytest.approx(5.5))
    assert agent.curve_["return_ma"][-1] > 5.0  # the training curve reaches the optimum


def test_fqi_finds_the_non_myopic_optimum():
    env = _chain_env()
    agent = rl.train(
        env, "fqi", episodes=600, seed=0, rounds=2, n_estimators=20, min_samples_leaf=1
    )
    assert _greedy_journey(env, agent) == ([0, 1], pytest.approx(5.5))


def test_bandit_finds_the_optimum_when_it_is_myopic_and_stays_myopic_otherwise():
    env = _additive_env()
    agent = rl.train(env, "bandit", episodes=2000, seed=0)
    seq, value = _greedy_journey(env, agent)
    assert seq == [0, 2] and value == pytest.approx(1.0 + 0.9 * 0.3)
    chain = _chain_env()
    myopic = rl.train(chain, "bandit", episodes=2000, seed=0)
    assert _greedy_journey(chain, myopic)[0][0] == 2  # takes the best immediate offer


@pytest.mark.parametrize("agent", ["qlearning", "fqi"])
def test_agents_solve_the_additive_environment_too(agent):
    env = _additive_env()
    opts = {"batch_size": 32} if agent == "qlearning" else {"rounds": 2, "n_estimators": 20}
    fitted = rl.train(env, agent, episodes=1500, seed=1, **opts)
    assert _greedy_journey(env, fitted) == ([0, 2], pytest.approx(1.27))


def test_qlearning_learns_to_hedge_against_rejection():
    # Two first offers: A (product 0) is accepted 30% of the time and worth 4, B (product 1)
    # 90% and worth 2; one offer only. Expected values 1.2 vs 1.8: B is optimal although the
    # deterministic optimizer (everything accepted) prefers A.
    o = np.zeros((3, 2))
    o[0] = [4.0, 2.0]
    pb = _problem(o, n=20, max_length=1)
    env = rl.JourneyEnv(pb, np.tile([0.3, 0.9], (20, 1)))
    agent = rl.train(env, "qlearning", episodes=4000, seed=0, batch_size=64)
    b = env.reset(np.arange(20), seed=0)
    assert agent.act(env, b, env.valid_actions(b)).tolist() == [1] * 20
    exact = rl.journey_policies(env, ("exact",))[0]["exact"]
    comp = rl.evaluate(env, {"q": agent, "exact": exact}, episodes=400, seed=5, reference="exact")
    assert comp.values["q"].diff_low > 0  # significantly better than the deterministic optimum
    assert comp.values["exact"].deterministic > comp.values["q"].deterministic


def test_unfitted_and_unknown_agents_fail_clearly():
    env = _chain_env(n=2)
    b = env.reset(np.array([0]), seed=0)
    with pytest.raises(ValueError, match="not fitted"):
        rl.QLearningAgent().act(env, b, env.valid_actions(b))
    with pytest.raises(CJOError, match="unknown agent"):
        rl.make_agent("dqn")


# ---- evaluation, lab, CLI -------------------------------------------------------------------


def _small_env(n=300, seed=2):
    pb = structured_instance(n, "seed", rng=seed)
    rng = np.random.default_rng(seed)
    prop = rng.uniform(0.2, 0.9, (n, pb.n_products))
    seg = (rng.random(n) < 0.4).astype(np.int64)
    feats = np.concatenate([pb.opportunity[:, 0], prop], axis=1)
    return rl.JourneyEnv(pb, prop, segments=seg, segment_names={0: "a", 1: "b"}, features=feats)


def test_lab_data_is_reproducible_per_seed():
    env = _small_env()
    kw = {"agents": ("qlearning", "bandit"), "episodes": 600, "eval_episodes": 4}
    a = rl.lab_data(env, seed=7, **kw)
    b = rl.lab_data(env, seed=7, **kw)
    c = rl.lab_data(env, seed=8, **kw)
    cols = ["name", "value", "ci_low", "ci_high", "deterministic"]
    assert a.table[cols].equals(b.table[cols])
    assert not a.table.set_index("name")["value"].equals(c.table.set_index("name")["value"])
    assert set(a.table["name"]) == {
        "qlearning",
        "bandit",
        "anneal",
        "exact",
        "greedy",
        "exact-weighted",
        "expected-greedy",
        "oracle",
    }
    assert a.comparison.values["anneal"].diff is None
    ba = a.best_actions["qlearning"]
    assert set(ba["segment"]) == {"a", "b"}
    top = ba[ba["rank"] == 1]
    assert top["explanation"].str.len().gt(20).all()
    shares = ba.groupby("segment")["share"].sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0)
    assert len(a.curves["qlearning"]) > 2
    assert np.intersect1d(a.train_rows, a.test_rows).size == 0


def test_exact_journeys_are_at_least_as_good_as_annealed_if_all_accepted():
    env = _small_env(n=120)
    pols, det, _ = rl.journey_policies(env, ("anneal", "exact", "greedy"), seed=0)
    comp = rl.evaluate(env, pols, episodes=3, seed=0)
    for name in ("anneal", "greedy"):
        assert comp.values[name].deterministic <= comp.values["exact"].deterministic + 1e-9
    assert comp.values["exact"].deterministic == pytest.approx(det["exact"])


@pytest.mark.slow  # fitting the acceptance models dominates (~10 s)
def test_cli_writes_the_report(tmp_path):
    from core import cli
    from core.data import synthetic

    frame, _ = synthetic.generate_frame(500, 3)
    data = tmp_path / "customers.csv"
    frame.to_csv(data, index=False)
    assert "core.cli.rl" in cli.COMMAND_MODULES  # `rl` is a built-in command
    out = tmp_path / "report.json"
    argv = [
        "rl",
        str(data),
        "--agent",
        "qlearning",
        "--episodes",
        "500",
        "--seed",
        "1",
        "--eval-episodes",
        "3",
        "--report",
        str(out),
        "--quiet",
    ]
    assert cli.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["agent"] == "qlearning" and report["episodes"] == 500 and report["seed"] == 1
    pol = report["policies"]
    assert {"qlearning", "anneal", "exact", "greedy"} <= set(pol)
    for v in pol.values():
        assert v["ci_low"] <= v["value"] <= v["ci_high"] and v["n"] == 150
    with pytest.raises(SystemExit):
        cli.main(["rl", str(data), "--agent", "dqn"])


def test_expectimax_oracle_matches_hand_computed_values():
    # chain with every propensity 0.5, two offers: base first is worth
    # 0.5 * (0.5 + 0.5 * 5) + 0.5 * (0.5 * 1.0) = 1.75; the standalone first only 0.7
    env = _chain_env(n=3, prop=0.5)
    oracle = rl.ExpectimaxPolicy(env)
    np.testing.assert_allclose(oracle.value(), 1.75)
    b = env.reset(np.arange(3), seed=0)
    assert oracle.act(env, b, env.valid_actions(b)).tolist() == [0, 0, 0]
    comp = rl.evaluate(env, {"oracle": oracle}, episodes=3000, seed=1)
    assert comp.values["oracle"].ci_low <= 1.75 <= comp.values["oracle"].ci_high
    with pytest.raises(ValueError, match="max_work"):
        rl.ExpectimaxPolicy(env, max_work=10)


def test_qlearning_reaches_the_oracle_under_random_acceptance():
    env = _chain_env(n=30, prop=0.5)
    agent = rl.train(env, "qlearning", episodes=6000, seed=0, batch_size=64)
    oracle = rl.ExpectimaxPolicy(env)
    comp = rl.evaluate(
        env, {"q": agent, "oracle": oracle}, episodes=200, seed=2, reference="oracle"
    )
    # same draws: an identical policy gives identical returns
    assert comp.values["q"].diff == pytest.approx(0.0, abs=1e-12)
