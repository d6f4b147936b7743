"""Scenario settings -> fitted context -> components -> problem -> journeys, in memory or in batch."""

from core.pipeline.run import (  # noqa: F401
    DEFAULT_BASELINES,
    RUN_KEY,
    TABLE_COLUMNS,
    Context,
    Outcome,
    Settings,
    components_for,
    effective_components,
    fit_context,
    journeys_table,
    optimize,
    parse_levers_text,
    parse_pairs,
    parse_weights_text,
    per_customer,
    problem_for,
    propensity_for,
    report,
    run,
    split_run_params,
)
