"""One campaign analysed end to end: lifts, a learned targeting, its value and Qini curves.

:func:`analyze` is what ``python -m core campaign`` and a Campaigns page call:

1. **lift** of every arm against control on every outcome, on all rows (difference in means and
   regression-adjusted, :mod:`~core.campaigns.lift`);
2. the log is split into a **training** and a **held-out** part (``holdout`` share; the split
   is decided per customer id from the seed, so every row of a customer lands in the same
   part and the split does not depend on row order);
3. on the training part, an uplift model per outcome (:mod:`~core.campaigns.uplift`) learns
   every arm's effect per customer; the **learned targeting** gives each held-out customer the
   arm of largest predicted uplift (control when none is positive), with the personalisation
   strength chosen by cross-fitting on the training part (:mod:`~core.campaigns.targeting`);
4. on the held-out part, off-policy estimates with intervals (:mod:`~core.campaigns.ope`:
   IPW, SNIPW, DR) of the learned targeting and of every single arm for everyone; the **best
   single arm** is chosen on the training part (largest lift there) and valued on the
   held-out part, the same protocol as the learned targeting, so neither is flattered by being
   chosen on the rows it is judged on;
5. **Qini** curves of every arm's uplift scores on the held-out part (:mod:`~core.campaigns.qini`).

Outcomes named in ``minimize`` (e.g. churn) are better when lower: the targeting and the best
arm minimise them. The result, :class:`CampaignAnalysis`, also evaluates any other policy on
the held-out part (:meth:`CampaignAnalysis.evaluate`), e.g. the journeys' first offers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.campaigns._base import LEVEL, check_level
from core.campaigns.features import FeatureEncoder
from core.campaigns.lift import arm_summary, lift_table, weighted_mean
from core.campaigns.log import CampaignLog
from core.campaigns.ope import OPE_ESTIMATORS, PolicyValue
from core.campaigns.policy import actions_from_labels, from_actions, share_by_arm
from core.campaigns.qini import QiniResult, qini
from core.campaigns.targeting import MARGIN, Targeting, learn_targeting
from core.campaigns.uplift import DEFAULT_LEARNER
from core.common.errors import OptionError
from core.common.progress import Progress
from core.common.rng import customer_keys, seed_of, uniform_draws

#: The off-policy estimator whose value the report leads with.
PRIMARY = "dr"
#: Estimators reported for every policy.
REPORTED: tuple[str, ...] = ("ipw", "snipw", "dr")
_SPLIT_DOMAIN = 0x5EED


@dataclass(frozen=True, eq=False)
class PolicyReport:
    """The learned targeting of one outcome against everyone-one-arm, on the held-out part.

    Attributes
    ----------
    outcome : str
        The outcome targeted.
    learned : PolicyValue
        The learned targeting's value (:data:`PRIMARY` estimator).
    best_single_arm : str
        The arm with the best lift on the training part.
    best_single_arm_value : PolicyValue
        Its value for everyone, on the held-out part (same estimator).
    share_by_arm : dict
        Share of held-out customers the learned targeting gives each arm.
    table : pandas.DataFrame
        Every policy (``learned``, then ``everyone: <arm>``) by every estimator of
        :data:`REPORTED`: ``policy``, ``estimator``, ``value``, ``se``, ``ci_low``, ``ci_high``.
    minimize : bool
        Lower is better for this outcome.
    strength : float
        Personalisation strength of the learned targeting (0: the best average arm for all).
    validation : pandas.DataFrame
        Cross-fitted value of every strength tried on the training part.
    gain : PolicyValue
        The learned targeting's value minus the best single arm's, on the same held-out rows
        (paired interval: positive and excluding 0 = the targeting credibly beats the arm).
    """

    outcome: str
    learned: PolicyValue
    best_single_arm: str
    best_single_arm_value: PolicyValue
    share_by_arm: dict[str, float]
    table: pd.DataFrame
    minimize: bool = False
    strength: float = 1.0
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)
    gain: PolicyValue | None = None


@dataclass(frozen=True, eq=False)
class CampaignAnalysis:
    """Everything :func:`analyze` found; the Campaigns page reads its fields.

    Attributes
    ----------
    log : CampaignLog
        The analysed log.
    summary : pandas.DataFrame
        Rows, share and mean outcomes per arm (:func:`~core.campaigns.lift.arm_summary`).
    lifts : pandas.DataFrame
        Difference-in-means lift of every arm on every outcome, all rows.
    adjusted : pandas.DataFrame
        Regression-adjusted lifts, all rows.
    policies : dict
        Outcome -> :class:`PolicyReport`.
    qini : dict
        ``(arm, outcome)`` -> :class:`~core.campaigns.qini.QiniResult`, held-out part.
    learner : str
        The uplift learner used.
    holdout : numpy.ndarray of bool
        Rows of the held-out part.
    models : dict
        Outcome -> the learned :class:`~core.campaigns.targeting.Targeting` (uplift model and
        personalisation strength), fitted on the training part.
    encoder : FeatureEncoder
        Feature encoding fitted on the training part.
    uplift : dict
        Outcome -> predicted uplift ``[n_holdout, K]`` of the held-out rows (log arm order).
    outcome_predictions : dict
        Outcome -> predicted outcome ``[n_holdout, 1 + K]`` under every arm (held-out rows).
    seed, level, seconds, notes
        How it was computed.
    """

    log: CampaignLog
    summary: pd.DataFrame
    lifts: pd.DataFrame
    adjusted: pd.DataFrame
    policies: dict[str, PolicyReport]
    qini: dict[tuple[str, str], QiniResult]
    learner: str
    holdout: np.ndarray
    models: dict[str, Targeting]
    encoder: FeatureEncoder
    uplift: dict[str, np.ndarray]
    outcome_predictions: dict[str, np.ndarray]
    seed: int
    level: float
    seconds: float
    notes: tuple[str, ...] = field(default=())

    def evaluate(
        self,
        outcome: str,
        actions: Any,
        *,
        estimator: str = PRIMARY,
        level: float | None = None,
    ) -> PolicyValue:
        """Value of any policy on the held-out part.

        Parameters
        ----------
        outcome : str
            An outcome of the log.
        actions : array-like
            One arm per log row (or per held-out row): arm labels (``None`` = control, e.g. the
            journeys' first offers as product keys), or integer arm indices of ``log.arms``.
        estimator : {"ipw", "snipw", "dr", "dm"}
            Off-policy estimator.
        level : float, optional
            Interval level (default: the analysis's).

        Returns
        -------
        PolicyValue
        """
        est = OPE_ESTIMATORS.get(estimator)
        if est is None:
            raise OptionError(f"unknown estimator {estimator!r}; choose {list(OPE_ESTIMATORS)}")
        log = self.log
        a = np.asarray(actions)
        n_test = int(self.holdout.sum())
        if len(a) not in (log.n, n_test):
            raise OptionError(
                f"give one arm per log row ({log.n}) or per held-out row ({n_test}); got {len(a)}"
            )
        if not np.issubdtype(a.dtype, np.integer):
            a = actions_from_labels(list(a), log.arms)
        if len(a) == log.n:
            a = a[self.holdout]
        test = log.subset(self.holdout)
        return est().estimate_interval(
            test.y(outcome),
            test.arm,
            from_actions(a, log.n_arms),
            test.propensity,
            self.outcome_predictions[outcome],
            level=self.level if level is None else level,
        )


def split_holdout(log: CampaignLog, holdout: float, seed: int) -> np.ndarray:
    """bool ``[n]``: the held-out rows, decided per customer id from ``seed``.

    Raises
    ------
    OptionError
        ``holdout`` outside (0, 1), or an arm without rows in one of the parts.
    """
    try:
        share = float(holdout)
    except (TypeError, ValueError):
        raise OptionError(f"holdout must be a share in (0, 1), got {holdout!r}") from None
    if not 0.0 < share < 1.0:
        raise OptionError(f"holdout must be a share in (0, 1) (e.g. 0.5), got {holdout!r}")
    keys = customer_keys(np.asarray(log.ids), seed)
    u = uniform_draws(keys, _SPLIT_DOMAIN, np.zeros(log.n), np.zeros(log.n))
    mask = u < share
    for a, label in enumerate(log.arms):
        rows = log.arm == a
        if not (rows & mask).any() or not (rows & ~mask).any():
            raise OptionError(
                f"arm {label!r} has no rows in the training or the held-out part "
                f"(holdout {share}); choose a holdout nearer 0.5 or collect more rows"
            )
    return mask


def _best_arm(log: CampaignLog, outcome: str, sign: float) -> int:
    """The arm (control included) with the best weighted mean of ``outcome`` on ``log``."""
    y, w = log.y(outcome), 1.0 / log.propensity
    means = [weighted_mean(y[log.arm == a], w[log.arm == a])[0] for a in range(log.n_arms)]
    return int(np.argmax(sign * np.array(means)))


def _policy_report(
    test: CampaignLog,
    outcome: str,
    actions: np.ndarray,
    q: np.ndarray,
    best: int,
    level: float,
    targeting: Targeting,
) -> PolicyReport:
    y, pscore = test.y(outcome), test.propensity
    policies = {"learned": from_actions(actions, test.n_arms)}
    for a, label in enumerate(test.arms):
        policies[f"everyone: {label}"] = from_actions(
            np.full(test.n, a, dtype=np.int64), test.n_arms
        )
    rows, values = [], {}
    for name, pi in policies.items():
        for est in REPORTED:
            v = OPE_ESTIMATORS[est]().estimate_interval(
                y,
                test.arm,
                pi,
                pscore,
                q if OPE_ESTIMATORS[est].needs_model else None,
                level=level,
            )
            values[(name, est)] = v
            rows.append(
                {
                    "policy": name,
                    "estimator": est,
                    "value": v.value,
                    "se": v.se,
                    "ci_low": v.ci_low,
                    "ci_high": v.ci_high,
                }
            )
    best_label = test.arms[best]
    gain = OPE_ESTIMATORS[PRIMARY]().estimate_difference(
        y,
        test.arm,
        policies["learned"],
        policies[f"everyone: {best_label}"],
        pscore,
        q,
        level=level,
    )
    return PolicyReport(
        outcome=outcome,
        learned=values[("learned", PRIMARY)],
        best_single_arm=best_label,
        best_single_arm_value=values[(f"everyone: {best_label}", PRIMARY)],
        share_by_arm=share_by_arm(actions, test.arms),
        table=pd.DataFrame(rows),
        minimize=targeting.sign < 0,
        strength=targeting.strength,
        validation=targeting.validation,
        gain=gain,
    )


def analyze(
    log: CampaignLog,
    *,
    holdout: float = 0.5,
    seed: Any = 0,
    learner: str = DEFAULT_LEARNER,
    minimize: Sequence[str] = (),
    level: float = LEVEL,
    n_bootstrap: int = 200,
    margin: float = MARGIN,
    learner_params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> CampaignAnalysis:
    """Analyse a campaign log (see the module docstring).

    Parameters
    ----------
    log : CampaignLog
        A validated log (:func:`~core.campaigns.log.read_log`).
    holdout : float, default 0.5
        Share of customers held out to evaluate the learned targeting.
    seed : int, Generator or None
        Seed of the split, the models and the bootstrap.
    learner : {"t", "x", "dr"}
        Uplift learner (:data:`~core.campaigns.uplift.LEARNERS`).
    minimize : sequence of str
        Outcomes where lower is better (e.g. churn).
    level : float
        Interval level.
    n_bootstrap : int
        Bootstrap resamples of the Qini intervals.
    margin : float
        Standard errors the cross-fitted gain of personalising must clear
        (:data:`~core.campaigns.targeting.MARGIN`; 0 = the best estimated value).
    learner_params : dict, optional
        Extra parameters of the learner (e.g. ``learner=`` a scikit-learn estimator).
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    CampaignAnalysis
    """
    start = time.perf_counter()
    level = check_level(level)
    unknown = [o for o in minimize if o not in log.outcomes]
    if unknown:
        raise OptionError(
            f"minimize names unknown outcome(s) {unknown}; outcomes: {list(log.outcomes)}"
        )
    s = seed_of(seed)
    outcomes = log.outcome_names
    total = 2 + 2 * len(outcomes)
    step = 0

    def tick() -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(step, total)

    summary = arm_summary(log)
    lifts = lift_table(log, method="difference", level=level)
    adjusted = lift_table(log, method="adjusted", level=level)
    tick()
    mask = split_holdout(log, holdout, s)
    train, test = log.subset(~mask), log.subset(mask)
    encoder = FeatureEncoder().fit(train.features)
    x_tr, x_te = encoder.transform(train.features), encoder.transform(test.features)
    tick()
    notes = list(log.notes)
    if x_tr.shape[1] == 0:
        notes.append("no customer features: the targeting cannot personalise (one arm for all)")
    policies: dict[str, PolicyReport] = {}
    qinis: dict[tuple[str, str], QiniResult] = {}
    models: dict[str, Targeting] = {}
    uplifts: dict[str, np.ndarray] = {}
    preds: dict[str, np.ndarray] = {}
    labels_tr = train.labels().astype(str)
    for o in outcomes:
        sign = -1.0 if o in minimize else 1.0
        targeting = learn_targeting(
            x_tr,
            labels_tr,
            train.y(o),
            train.propensity,
            log.arms,
            learner=learner,
            minimize=o in minimize,
            margin=margin,
            random_state=s,
            learner_params=learner_params,
        )
        tau, q = targeting.uplift(x_te), targeting.outcomes(x_te)
        models[o], uplifts[o], preds[o] = targeting, tau, q
        tick()
        actions = targeting.actions(x_te, tau)
        best = _best_arm(train, o, sign)
        policies[o] = _policy_report(test, o, actions, q, best, level, targeting)
        w = 1.0 / test.propensity
        for j, arm in enumerate(log.arms[1:]):
            rows = (test.arm == j + 1) | (test.arm == 0)
            qinis[(arm, o)] = qini(
                sign * tau[rows, j],
                sign * test.y(o)[rows],
                test.arm[rows] == j + 1,
                weights=w[rows],
                level=level,
                n_bootstrap=n_bootstrap,
                rng=s,
            )
        tick()
    return CampaignAnalysis(
        log=log,
        summary=summary,
        lifts=lifts,
        adjusted=adjusted,
        policies=policies,
        qini=qinis,
        learner=learner,
        holdout=mask,
        models=models,
        encoder=encoder,
        uplift=uplifts,
        outcome_predictions=preds,
        seed=s,
        level=level,
        seconds=time.perf_counter() - start,
        notes=tuple(notes),
    )
