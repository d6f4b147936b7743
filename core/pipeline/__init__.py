"""The journey pipeline: scenario settings -> fitted context -> components -> problem -> journeys.

The dashboard, ``python -m core optimize`` and the batch engines all go through these functions,
so a journey is the same wherever it is computed.

- :mod:`~core.pipeline.settings`: the scenario (:class:`Settings`), its command-line forms
  (:func:`parse_pairs`, :func:`parse_weights_text`, :func:`parse_levers_text`) and a saved
  run's parameters (:data:`RUN_KEY`, :func:`split_run_params`).
- :mod:`~core.pipeline.context`: what is fitted once (:class:`Context`, :func:`fit_context`)
  and the expensive per-customer estimates (:func:`components_for`, :func:`propensity_for`);
  :func:`campaign_response` fits the ``campaign`` estimator's log.
- :mod:`~core.pipeline.run`: the cheap path (:func:`effective_components`,
  :func:`offer_propensity`, :func:`problem_for`, :func:`optimize`), its outputs
  (:func:`journeys_table`, :data:`TABLE_COLUMNS`, :func:`per_customer`, :func:`report`,
  :data:`DEFAULT_BASELINES`, :func:`sampled_report` on :func:`check_sample`'s customers) and
  the end-to-end :func:`run` (:class:`Outcome`).
- :mod:`core.pipeline.batch`: the same pipeline chunk by chunk, locally or on Dask, for
  millions of customers (``from core.pipeline import batch``).
"""

from core.pipeline.context import (
    Context,
    campaign_response,
    components_for,
    fit_context,
    propensity_for,
)
from core.pipeline.run import (
    CHECK_SAMPLE,
    DEFAULT_BASELINES,
    INTERVAL_COLUMNS,
    TABLE_COLUMNS,
    Outcome,
    check_sample,
    effective_components,
    journeys_table,
    offer_propensity,
    optimize,
    per_customer,
    problem_for,
    report,
    run,
    sampled_report,
)
from core.pipeline.settings import (
    RUN_KEY,
    Settings,
    parse_levers_text,
    parse_pairs,
    parse_weights_text,
    split_run_params,
)

__all__ = [
    "CHECK_SAMPLE",
    "DEFAULT_BASELINES",
    "RUN_KEY",
    "INTERVAL_COLUMNS",
    "TABLE_COLUMNS",
    "Context",
    "Outcome",
    "Settings",
    "campaign_response",
    "check_sample",
    "components_for",
    "effective_components",
    "fit_context",
    "journeys_table",
    "offer_propensity",
    "optimize",
    "parse_levers_text",
    "parse_pairs",
    "parse_weights_text",
    "per_customer",
    "problem_for",
    "propensity_for",
    "report",
    "run",
    "sampled_report",
    "split_run_params",
]
