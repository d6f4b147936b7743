"""The journey pipeline's cheap path and its end-to-end run.

One code path serves the dashboard, ``python -m core optimize`` and the batch engines. After
:func:`~core.pipeline.fit_context` and :func:`~core.pipeline.components_for`
(:mod:`core.pipeline.context`: fitted once, expensive):

1. :func:`problem_for` combines components, weights, levers and propensity into a
   :class:`core.journeys.JourneyProblem` (milliseconds: a weight slider only re-runs this).
2. :func:`optimize` runs the chosen solver with the :class:`~core.pipeline.Settings`' schedule.
3. :func:`journeys_table` turns the result into one row per customer and step
   (:data:`TABLE_COLUMNS`), with the step's opportunity and its cltv / churn / satisfaction
   parts (they add up to the opportunity); :func:`per_customer` sums it per customer;
   :func:`report` computes the figures of ``report.json`` (``share_optimal``, baselines ...).

:func:`run` does all of it for one block of customers and returns an :class:`Outcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress, stage
from core.data.catalog import Catalog
from core.journeys import (
    JourneyProblem,
    JourneyResult,
    compare_baselines,
    compare_to_exact,
    step_parts,
)
from core.opportunity import (
    Components,
    combine,
    parse_levers,
    parse_weights,
    prerequisite_propensity,
    risk_z,
    spread,
)
from core.pipeline.context import Context, components_for, fit_context, propensity_for
from core.pipeline.settings import Settings
from core.solvers import solve, spec

#: Baselines the report compares the chosen solver with (the study's four, and greedy).
DEFAULT_BASELINES = (
    "first-cltv",
    "first-churn",
    "first-satisfaction",
    "first-opportunity",
    "greedy",
)
#: Columns of the journeys table (:func:`journeys_table`), in order.
TABLE_COLUMNS = (
    "customer_id",
    "step",
    "product",
    "product_label",
    "opportunity",
    "cltv",
    "churn",
    "satisfaction",
)
#: Columns the journeys table adds when the estimator says how sure it is (``dr``): each step's
#: bounds at the scenario's confidence level.
INTERVAL_COLUMNS = ("opportunity_low", "opportunity_high")


def effective_components(
    components: Components,
    levers: Mapping[str, float] | None = None,
    propensity: np.ndarray | None = None,
) -> np.ndarray:
    """Components times ``lever_j * propensity[c, j]``: ``sum_k w_k * result = O_w``.

    Parameters
    ----------
    components
        The factor components ``[n, 1 + P, P, 3]``.
    levers
        Per-product multipliers (missing products keep 1).
    propensity
        Acceptance propensity ``[n, P]``, or None.

    Returns
    -------
    numpy.ndarray
        ``[n, 1 + P, P, 3]``; ``components.values`` itself without levers and propensity.
    """
    mult = parse_levers(levers or None, components.product_keys).astype(np.float32)
    if propensity is None and not levers:
        return components.values
    factor = np.broadcast_to(mult, (components.n_customers, components.n_products))
    if propensity is not None:
        factor = factor * np.asarray(propensity, dtype=np.float32)
    return components.values * factor[:, None, :, None]


def offer_propensity(
    components: Components,
    catalog: Catalog,
    settings: Settings,
    propensity: np.ndarray | None = None,
) -> np.ndarray | None:
    """The factor each offer counts with: None without ``settings.propensity``.

    With it, each offer counts with its acceptance probability times that of every
    prerequisite the customer does not hold (a refused base service blocks its add-ons:
    :func:`core.opportunity.prerequisite_propensity`); :func:`problem_for` and
    :func:`journeys_table` both use it, so the table adds up to the journeys' scores.

    Parameters
    ----------
    components
        The customers' components (their holdings are used).
    catalog
        The catalog (its prerequisites).
    settings
        The scenario (``propensity`` switches it on).
    propensity
        Acceptance propensity ``[n, P]`` (:func:`~core.pipeline.propensity_for`).

    Returns
    -------
    numpy.ndarray or None
        ``[n, P]``.
    """
    if not settings.propensity or propensity is None:
        return None
    return prerequisite_propensity(propensity, components.held, catalog.requires_matrix())


def problem_for(
    components: Components,
    catalog: Catalog,
    settings: Settings,
    propensity: np.ndarray | None = None,
) -> JourneyProblem:
    """The journey problem of the weighted opportunity (cheap: no model runs).

    Parameters
    ----------
    components
        The customers' factor components (:func:`~core.pipeline.components_for`).
    catalog
        The catalog the components were built with (its rules and journey policy).
    settings
        The scenario (weights, levers, propensity, aggregation).
    propensity
        Acceptance propensity ``[n, P]``; used only when ``settings.propensity``, and then
        through :func:`offer_propensity` (an add-on also counts with the acceptance of the
        prerequisites the customer lacks).

    Returns
    -------
    JourneyProblem
        A lever of 0 switches its product off (``offerable``).
    """
    unknown = sorted(set(settings.levers) - set(components.product_keys))
    if unknown:
        raise CJOError(
            f"lever(s) for unknown product(s) {unknown}; catalog '{catalog.name}' has "
            f"{list(components.product_keys)}."
        )
    if tuple(catalog.keys) != tuple(components.product_keys):
        raise CJOError("components and catalog list different products; rebuild the components.")
    opp = combine(
        components,
        settings.weights,
        levers=settings.levers or None,
        propensity=offer_propensity(components, catalog, settings, propensity),
        risk=settings.risk_z,
        confounding=settings.risk_confounding,
    )
    ids = np.asarray(components.customer_ids)
    if ids.dtype == object:
        ids = ids.astype(str)
    mult = parse_levers(settings.levers or None, components.product_keys)
    return JourneyProblem.from_catalog(
        catalog,
        opportunity=opp,
        held=components.held,
        aggregation=settings.aggregation,
        customer_ids=ids,
        product_keys=catalog.keys,
        offerable=(mult > 0) if (mult <= 0).any() else None,  # a lever of 0 switches it off
    )


def optimize(
    problem: JourneyProblem,
    settings: Settings,
    *,
    components: Components | None = None,
    solver: str | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
) -> JourneyResult:
    """Run the settings' solver (or ``solver``) on the problem.

    Parameters
    ----------
    problem
        The journey problem (:func:`problem_for`).
    settings
        The scenario: its solver, schedule and seed.
    components
        The factor components, needed by the first-offer baselines.
    solver
        Another solver or baseline to run instead, with its default options and the seed.
    callback
        The annealer's progress callback; it may stop the run.

    Returns
    -------
    JourneyResult
    """
    name = solver or settings.solver
    row = spec(name)
    opts = settings.solver_options() if name == settings.solver else {}
    if name == "anneal" and callback is not None:
        opts["callback"] = callback
    if row.seeded:
        opts.setdefault("rng", settings.seed)
    if "components" in row.needs:
        if components is None:
            raise CJOError(f"baseline {name} needs the factor components.")
        opts["components"] = effective_components(
            components, settings.levers, None
        )  # factor-wise, per product
    return solve(problem, name, **opts)


def journeys_table(
    result: JourneyResult,
    problem: JourneyProblem,
    components: Components,
    settings: Settings,
    catalog: Catalog,
    propensity: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per customer and step (customers without an offer have no row).

    Columns: ``customer_id, step`` (1-based), ``product`` (key), ``product_label``,
    ``opportunity`` (the step's discounted opportunity) and its ``cltv``, ``churn``,
    ``satisfaction`` parts (weighted, discounted; they add up to ``opportunity``). Rows are
    in customer order, then step order. With components that carry standard errors (``dr``)
    also ``opportunity_low`` and ``opportunity_high``: the step's bounds at
    ``settings.risk_level`` (the journeys maximised the lower one when ``risk="lcb"``).

    Parameters
    ----------
    result, problem
        The solver's result and its problem.
    components, settings, catalog, propensity
        What the problem was built from (:func:`problem_for`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`, values rounded to 6 decimals.
    """
    prop = offer_propensity(components, catalog, settings, propensity)
    eff = effective_components(components, settings.levers, prop)
    w = parse_weights(settings.weights)
    parts = step_parts(eff, problem, result.journeys, w)  # [n, width, 3]
    j = np.asarray(result.journeys)
    rows, steps = np.nonzero(j >= 0)
    prod = j[rows, steps].astype(np.int64)
    keys = np.array(catalog.keys, dtype=object)
    labels = np.array(catalog.labels, dtype=object)
    ids = np.asarray(problem.ids)
    table = pd.DataFrame(
        {
            "customer_id": ids[rows],
            "step": (steps + 1).astype(np.int64),
            "product": keys[prod],
            "product_label": labels[prod],
            "opportunity": result.step_scores[rows, steps].astype(np.float64),
            "cltv": parts[rows, steps, 0],
            "churn": parts[rows, steps, 1],
            "satisfaction": parts[rows, steps, 2],
        }
    )
    est = None  # each step's estimate (the sum of its parts), summed once for both uses
    if settings.risk_z > 0:  # the solver maximised the bound: report the estimate
        est = parts[rows, steps].sum(axis=1)
        table["opportunity"] = est
    width = spread(components, risk_z(settings.risk_level), settings.risk_confounding)
    if width is not None:  # step_parts is linear: parts(C + width) = P + parts(width)
        half = replace(components, values=width, std=None, bias=None)
        error = step_parts(effective_components(half, settings.levers, prop), problem, j, w)
        est = parts[rows, steps].sum(axis=1) if est is None else est
        err = error[rows, steps].sum(axis=1)
        for name, sign in zip(INTERVAL_COLUMNS, (-1.0, 1.0), strict=True):
            table[name] = est + sign * err
    for c in table.columns[4:]:
        table[c] = table[c].round(6)
    return table


def per_customer(table: pd.DataFrame, ids: Sequence[Any]) -> pd.DataFrame:
    """One row per customer of ``ids`` from a journeys table (:func:`journeys_table`).

    Columns ``customer_id``, ``journey_value`` (sum of the steps' opportunity; 0 without an
    offer), ``first_offer`` (product key of step 1, or None) and ``length`` (number of steps).

    Parameters
    ----------
    table
        A journeys table (at least ``customer_id``, ``step``, ``product``, ``opportunity``).
    ids
        The customers, in the order of the rows returned (ids are compared as text).

    Returns
    -------
    pandas.DataFrame
    """
    missing = [c for c in ("customer_id", "step", "product", "opportunity") if c not in table]
    if missing:
        raise CJOError(f"journeys table lacks column(s) {missing}; expected {TABLE_COLUMNS}.")
    key = table["customer_id"].astype(str)
    grouped = table.groupby(key, sort=False)
    value = grouped["opportunity"].sum()
    length = grouped["step"].count()
    first = table[table["step"] == 1].set_index(key[table["step"] == 1])["product"]
    idx = pd.Index([str(i) for i in ids])
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "journey_value": value.reindex(idx, fill_value=0.0).to_numpy(dtype=np.float64),
            "first_offer": first.reindex(idx)
            .astype(object)
            .where(lambda s: s.notna(), None)
            .to_numpy(dtype=object),
            "length": length.reindex(idx, fill_value=0).to_numpy(dtype=np.int64),
        }
    )


def report(
    result: JourneyResult,
    problem: JourneyProblem,
    settings: Settings,
    *,
    components: Components | None = None,
    verify: str | None = None,
    baselines: Sequence[str] = DEFAULT_BASELINES,
    extra: Mapping[str, Any] | None = None,
    exact: JourneyResult | None = None,
    baseline_results: Mapping[str, JourneyResult] | None = None,
) -> dict[str, Any]:
    """The figures of ``report.json``.

    Keys: ``n_customers``, ``solver``, ``schedule``, ``seconds_optimize`` (the solver alone),
    ``total_opportunity``, ``mean_score``, ``share_with_offer``, ``mean_length``; with
    ``verify="exact"``: ``share_optimal``, ``mean_gap``, ``max_gap`` (and ``seconds_exact``);
    ``baselines``: ``{name: {share_better_or_equal, share_better, mean_uplift}}``.

    Parameters
    ----------
    result, problem, settings
        The solver's result, its problem and the scenario.
    components
        The factor components (the first-offer baselines need them).
    verify
        ``"exact"`` to compare with the exact optimum, else None.
    baselines
        Solvers and baselines to compare with (the settings' own solver is skipped).
    extra
        Figures added to the report as they are.
    exact, baseline_results
        The exact solver's result and the baselines' results on the same ``problem`` when
        they are already computed (a dashboard's cache); those given are not run again.

    Returns
    -------
    dict
        JSON-able figures.
    """
    out: dict[str, Any] = {
        "n_customers": int(problem.n_customers),
        "solver": settings.solver,
        "schedule": settings.schedule if settings.solver == "anneal" else None,
        "settings": settings.to_dict(),
        "seconds_optimize": float(result.seconds.get("total", 0.0)),
        "total_opportunity": float(result.scores.sum()),
        "mean_score": float(result.scores.mean()) if result.scores.size else 0.0,
        "share_with_offer": float(np.mean(result.lengths > 0)) if result.scores.size else 0.0,
        "mean_length": float(result.lengths.mean()) if result.scores.size else 0.0,
        "iterations": int(result.nit),
        "message": result.message,
    }
    if verify:
        if verify != "exact":
            raise CJOError(f"--verify {verify}: only 'exact' is supported.")
        t = time.perf_counter()
        if settings.solver == "exact":
            ex = result
        elif exact is not None:
            ex = exact
        else:
            ex = optimize(problem, settings, solver="exact")
        out["seconds_exact"] = (
            float(exact.seconds.get("total", 0.0))
            if ex is exact and exact is not None
            else time.perf_counter() - t
        )
        cmp = compare_to_exact(result, ex)
        out.update(
            share_optimal=cmp["share_optimal"], mean_gap=cmp["mean_gap"], max_gap=cmp["max_gap"]
        )
    base: dict[str, JourneyResult] = {}
    for name in baselines:
        if name == settings.solver:
            continue
        given = (baseline_results or {}).get(name)
        base[name] = given or optimize(problem, settings, solver=name, components=components)
    out["baselines"] = compare_baselines(result, base)
    for name, res in base.items():
        out["baselines"][name]["seconds"] = float(res.seconds.get("total", 0.0))
    if extra:
        out.update(extra)
    return out


#: Customers of the dashboard's solver check (:func:`sampled_report`): a fixed seeded sample.
CHECK_SAMPLE = 1_000


def check_sample(n: int, size: int = CHECK_SAMPLE, seed: int = 0) -> np.ndarray:
    """Sorted indices of a fixed seeded sample of ``size`` of ``n`` customers (all if fewer).

    Parameters
    ----------
    n
        Number of customers.
    size
        Sample size.
    seed
        Seed of the draw: the same ``(n, size, seed)`` always gives the same customers.

    Returns
    -------
    numpy.ndarray
        int64 indices in increasing order; ``arange(n)`` when ``n <= size``.
    """
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False)).astype(np.int64)


def sampled_report(
    problem: JourneyProblem,
    components: Components,
    settings: Settings,
    *,
    size: int = CHECK_SAMPLE,
    baselines: Sequence[str] = DEFAULT_BASELINES,
    exact: JourneyResult | None = None,
) -> tuple[JourneyResult, dict[str, Any]]:
    """The settings' solver on a fixed seeded sample of customers, judged on the same customers.

    Runs the solver, the exact solver and the ``baselines`` on the customers of
    :func:`check_sample` (``settings.seed``) only, so ``share_optimal``, ``mean_gap``,
    ``max_gap``, the baselines' figures and ``seconds_optimize`` cover the sample. Each
    customer's random stream derives from its id, so a sampled customer gets the journey a run
    on the whole population would give it (up to an automatic T0, which the sample sets).

    Parameters
    ----------
    problem, components, settings
        The whole population's problem, its components and the scenario.
    size
        Sample size (:data:`CHECK_SAMPLE`).
    baselines
        Solvers and baselines to compare with (:func:`report`).
    exact
        The exact solver's result on the whole ``problem`` when it is already computed (a
        dashboard's cache): the sample's rows of it are the referee instead of a new exact run
        on the sample (the exact solver optimizes each customer on its own, so they are the
        same journeys and scores; ``seconds_exact`` is then the whole population's).

    Returns
    -------
    tuple of JourneyResult and dict
        The solver's result on the sample, and :func:`report` with ``verify="exact"`` plus
        ``sample`` (customers checked) and ``population`` (customers of ``problem``).
    """
    idx = check_sample(problem.n_customers, size, settings.seed)
    sub, comps = problem.subset(idx), components.subset(idx)
    result = optimize(sub, settings, components=comps)
    extra = {"sample": int(idx.size), "population": int(problem.n_customers)}
    referee = None if exact is None else result_rows(exact, idx)
    rep = report(
        result,
        sub,
        settings,
        components=comps,
        verify="exact",
        baselines=baselines,
        extra=extra,
        exact=referee,
    )
    return result, rep


def result_rows(result: JourneyResult, idx: np.ndarray) -> JourneyResult:
    """The customers ``idx`` of ``result`` (their journeys, scores and step scores), as the
    result of the problem's :meth:`~core.journeys.JourneyProblem.subset` to them.

    Parameters
    ----------
    result
        A solver's result on a whole problem.
    idx
        Row indices of the customers to keep.

    Returns
    -------
    JourneyResult
        The same solver, settings, trace and timings; only the rows differ.
    """
    if result.scores.ndim != 1 or (idx.size and int(np.max(idx)) >= result.scores.size):
        raise CJOError(f"result_rows: indices beyond the result's {result.scores.size} customers.")
    return replace(
        result,
        journeys=result.journeys[idx],
        scores=result.scores[idx],
        step_scores=result.step_scores[idx],
    )


# --------------------------------------------------------------------------------------------
# end to end
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Outcome:
    """Everything one pipeline run produced."""

    settings: Settings
    context: Context
    components: Components
    problem: JourneyProblem
    result: JourneyResult
    table: pd.DataFrame
    propensity: np.ndarray | None
    seconds: dict[str, float]


def run(
    frame: pd.DataFrame,
    settings: Settings,
    *,
    context: Context | None = None,
    components: Components | None = None,
    progress: Progress | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
) -> Outcome:
    """Fit (unless ``context``), estimate (unless ``components``), optimize and tabulate.

    Parameters
    ----------
    frame
        Canonical customer data.
    settings
        The scenario.
    context
        Already fitted models (:func:`~core.pipeline.fit_context` on ``frame`` when None).
    components
        Already estimated components of ``frame`` (:func:`~core.pipeline.components_for`).
    progress
        ``progress(done, total)`` over the whole run.
    callback
        The annealer's callback (:func:`core.solvers.solve`); it may stop the run.

    Returns
    -------
    Outcome
        Everything the run produced; ``seconds`` holds ``fit``, ``components``, ``optimize``
        and ``table``.
    """
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    ctx = context or fit_context(frame, settings, progress=stage(progress, 0.0, 0.4))
    seconds["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    comps = components or components_for(frame, settings, ctx, progress=stage(progress, 0.4, 0.8))
    seconds["components"] = time.perf_counter() - t
    prop = propensity_for(frame, ctx) if settings.propensity else None
    problem = problem_for(comps, ctx.catalog, settings, prop)
    result = optimize(problem, settings, components=comps, callback=callback)
    seconds["optimize"] = float(result.seconds.get("total", 0.0))
    t = time.perf_counter()
    table = journeys_table(result, problem, comps, settings, ctx.catalog, prop)
    seconds["table"] = time.perf_counter() - t
    if progress:
        progress(1.0, 1.0)
    return Outcome(settings, ctx, comps, problem, result, table, prop, seconds)
