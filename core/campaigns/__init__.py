"""Campaigns: learn from the responses to offers actually made.

Everything else in core infers effects from who holds what today, which is confounded (loyal,
long-tenure customers hold more and churn less). A campaign that randomized its offers, with a
control group, is not: this family reads such logs and answers "did the campaign work, for whom,
and what should the next one test?". It sits between ``models`` and ``opportunity`` in the
layers: it uses only common, data and models, and the opportunity may use what it learnt.

The family, one concept per module (data flows top to bottom):

* :mod:`~core.campaigns.log`: the log format and its validation at the boundary
  (:func:`read_log`, :func:`validate_log` -> :class:`CampaignLog`);
* :mod:`~core.campaigns.features`: customer columns -> numeric matrix (:class:`FeatureEncoder`);
* :mod:`~core.campaigns.lift`: every arm's lift against control with intervals, difference in
  means and regression-adjusted (:func:`lift_table`, :func:`arm_summary`);
* :mod:`~core.campaigns.uplift`: multi-arm T-, X- and DR-learners (``fit(X, treatment, y)``,
  ``predict(X)``; the control label is a parameter);
* :mod:`~core.campaigns.policy`: policies as action distributions (single arm, greedy, given);
* :mod:`~core.campaigns.targeting`: the learned targeting, its personalisation strength chosen
  by cross-fitting (:func:`learn_targeting`);
* :mod:`~core.campaigns.ope`: off-policy evaluation, IPW / SNIPW / DR / DM estimators sharing
  ``estimate_policy_value`` and ``estimate_interval``;
* :mod:`~core.campaigns.qini`: Qini curves and coefficients with bootstrap intervals;
* :mod:`~core.campaigns.analysis`: one call for all of it on a held-out split (:func:`analyze`
  -> :class:`CampaignAnalysis`); :mod:`~core.campaigns.report`: its JSON report;
* :mod:`~core.campaigns.power`: sample sizes and control share of the next test;
  :mod:`~core.campaigns.plan`: those from the last log's control group;
  :mod:`~core.campaigns.assignment`: its seeded assignment file;
* :mod:`~core.campaigns.response`: acceptance and effects per customer and product, for the
  opportunity (:func:`fit_offer_response`; :func:`read_offer_log` reads a product campaign in
  the layout the demo writes); :mod:`~core.campaigns.expectation`: journeys
  valued in expectation (each offer accepted with its probability).

What a Campaigns page calls, one call per table or chart: :func:`read_log`; :func:`analyze`
once, then its fields (``summary``, ``lifts``, ``adjusted``, ``policies[outcome].table``,
``qini[(arm, outcome)].curve``) and :meth:`CampaignAnalysis.evaluate` for any other policy;
:func:`plan_next_test` (or :func:`sample_size` / :func:`min_control_share`) and
:func:`targeted` / :func:`randomized` for
the next test, :func:`write_assignments` or :func:`core.ops.export.render` for its download.
"""

from core.campaigns.analysis import CampaignAnalysis, PolicyReport, analyze, split_holdout
from core.campaigns.assignment import randomized, targeted, write_assignments
from core.campaigns.expectation import expected_journey_value
from core.campaigns.features import FeatureEncoder
from core.campaigns.lift import ArmLift, arm_lift, arm_summary, lift_table
from core.campaigns.log import MIN_ROWS, CampaignLog, read_log, validate_log
from core.campaigns.ope import (
    IPW,
    OPE_ESTIMATORS,
    SNIPW,
    DirectMethod,
    DoublyRobust,
    OffPolicyEstimator,
    PolicyValue,
)
from core.campaigns.plan import plan_next_test
from core.campaigns.policy import actions_from_labels, from_actions, greedy, single_arm
from core.campaigns.power import TestPlan, achieved_power, min_control_share, sample_size
from core.campaigns.qini import QiniResult, qini
from core.campaigns.report import campaign_report
from core.campaigns.response import (
    OFFER_LOG,
    OFFER_OUTCOMES,
    OfferResponse,
    fit_offer_response,
    read_offer_log,
)
from core.campaigns.targeting import Targeting, learn_targeting
from core.campaigns.uplift import (
    DEFAULT_LEARNER,
    LEARNERS,
    DRLearner,
    TLearner,
    XLearner,
    make_learner,
)

__all__ = [
    "DEFAULT_LEARNER",
    "IPW",
    "LEARNERS",
    "MIN_ROWS",
    "OFFER_LOG",
    "OFFER_OUTCOMES",
    "OPE_ESTIMATORS",
    "SNIPW",
    "ArmLift",
    "CampaignAnalysis",
    "CampaignLog",
    "DRLearner",
    "DirectMethod",
    "DoublyRobust",
    "FeatureEncoder",
    "OfferResponse",
    "OffPolicyEstimator",
    "PolicyReport",
    "PolicyValue",
    "QiniResult",
    "TLearner",
    "Targeting",
    "TestPlan",
    "XLearner",
    "achieved_power",
    "actions_from_labels",
    "analyze",
    "arm_lift",
    "arm_summary",
    "campaign_report",
    "expected_journey_value",
    "fit_offer_response",
    "from_actions",
    "greedy",
    "learn_targeting",
    "lift_table",
    "make_learner",
    "min_control_share",
    "plan_next_test",
    "qini",
    "randomized",
    "read_log",
    "read_offer_log",
    "sample_size",
    "single_arm",
    "split_holdout",
    "targeted",
    "validate_log",
    "write_assignments",
]
