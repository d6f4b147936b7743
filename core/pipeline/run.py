"""The journey pipeline: customers -> components -> opportunity -> journeys -> table and report.

One code path serves the dashboard, ``python -m core optimize`` and the batch engines:

1. :func:`fit_context` trains (or receives) what is fitted once: the key-factor models for the
   ``counterfactual`` estimator, the acceptance models when the propensity is used, and the
   normalisation scales. The resulting :class:`Context` is small enough to ship to workers.
2. :func:`components_for` estimates the opportunity components of a block of customers
   (expensive; the dashboard caches it).
3. :func:`problem_for` combines components, weights, levers and propensity into a
   :class:`core.journeys.JourneyProblem` (milliseconds: a weight slider only re-runs this).
4. :func:`optimize` runs the chosen solver with the :class:`Settings`' schedule.
5. :func:`journeys_table` turns the result into one row per customer and step, with the step's
   opportunity and its cltv / churn / satisfaction parts (they add up to the opportunity);
   :func:`report` computes the figures of ``report.json`` (``share_optimal``, baselines ...).

Scenario settings are a frozen :class:`Settings`; :meth:`Settings.to_dict` /
:meth:`Settings.from_dict` give the JSON the store and the URL keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import CJOError
from core.common.progress import Progress, stage
from core.data.catalog import Catalog, resolve_catalog
from core.data.schema import FACTORS
from core.journeys import (
    JourneyProblem,
    JourneyResult,
    compare_baselines,
    compare_to_exact,
    step_parts,
)
from core.models.presets import PRESETS
from core.opportunity import (
    ESTIMATORS,
    Components,
    build_components,
    combine,
    parse_levers,
    parse_weights,
)
from core.solvers import SOLVERS, solve, spec

#: Baselines the report compares the chosen solver with (the study's four, and greedy).
DEFAULT_BASELINES = (
    "first-cltv",
    "first-churn",
    "first-satisfaction",
    "first-opportunity",
    "greedy",
)
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


@dataclass(frozen=True)
class Settings:
    """Everything that defines a scenario's journeys (besides the data).

    Attributes
    ----------
    catalog
        Catalog name (``seed``, ``full``) or path to a TOML file.
    estimator
        Opportunity estimator (:data:`core.opportunity.ESTIMATORS`).
    weights
        ``{"cltv": w1, "churn": w2, "satisfaction": w3}``, each >= 0.
    levers
        Per-product multipliers ``{key: m >= 0}`` (missing products keep 1).
    propensity
        Multiply each offer by its acceptance propensity (expected rather than conditional gain).
    aggregation
        How held products combine into the first step's predecessor: ``sum``, ``mean``, ``max``.
    solver
        ``anneal``, ``exact``, ``greedy``, ``greedy+ls`` or ``seed-style``.
    schedule, schedule_params, t0, iters, restarts
        Annealing schedule (:data:`core.solvers.schedules.SCHEDULES`), its parameters, the initial
        temperature (``"auto"`` or a number), the iterations per run and the reheats.
    seed
        Seed of every random step (models, estimator, annealing).
    refine
        Let the annealer use its exact refinements (default True): the beam-search start on
        large catalogs, the exact pool search at the end and the final local search. False
        runs the temperature schedule alone (``pool=0, beam=0, polish=False``), to judge a
        schedule by itself; the journeys are then usually worse.
    model_preset
        Key-factor models of the counterfactual estimator: ``"accurate"`` (default, the
        dashboard's) or ``"fast"`` (:data:`core.models.presets.PRESETS`: ~8x cheaper scoring, for batch
        runs on millions of customers).
    """

    catalog: str = "seed"
    estimator: str = "counterfactual"
    weights: Mapping[str, float] = field(
        default_factory=lambda: {"cltv": 1.0, "churn": 1.0, "satisfaction": 1.0}
    )
    levers: Mapping[str, float] = field(default_factory=dict)
    propensity: bool = False
    aggregation: str = "sum"
    solver: str = "anneal"
    schedule: str = "geometric"
    schedule_params: Mapping[str, float] = field(default_factory=dict)
    t0: float | str = "auto"
    iters: int = 250
    restarts: int = 1
    seed: int = 0
    model_preset: str = "accurate"
    refine: bool = True

    def __post_init__(self) -> None:
        w = parse_weights(self.weights)
        object.__setattr__(self, "weights", {k: float(v) for k, v in zip(FACTORS, w, strict=True)})
        object.__setattr__(self, "levers", {str(k): float(v) for k, v in self.levers.items()})
        object.__setattr__(
            self, "schedule_params", {str(k): float(v) for k, v in self.schedule_params.items()}
        )
        if self.estimator not in ESTIMATORS:
            raise CJOError(
                f"estimator '{self.estimator}' is unknown; choose one of {list(ESTIMATORS)}."
            )
        if self.solver not in SOLVERS:
            raise CJOError(f"solver '{self.solver}' is unknown; choose one of {list(SOLVERS)}.")
        from core.solvers.schedules import SCHEDULES

        if self.schedule not in SCHEDULES:
            raise CJOError(
                f"schedule '{self.schedule}' is unknown; choose one of {list(SCHEDULES)}."
            )
        if self.model_preset not in PRESETS:
            raise CJOError(
                f"model preset '{self.model_preset}' is unknown; choose one of {list(PRESETS)}."
            )
        if self.aggregation not in ("sum", "mean", "max"):
            raise CJOError(f"aggregation '{self.aggregation}': choose sum, mean or max.")
        if isinstance(self.t0, str):
            if self.t0 != "auto":
                try:
                    object.__setattr__(self, "t0", float(self.t0))
                except ValueError:
                    raise CJOError(f"t0 '{self.t0}': use 'auto' or a positive number.") from None
        if not isinstance(self.t0, str) and not (np.isfinite(self.t0) and self.t0 > 0):
            raise CJOError(f"t0 {self.t0}: use 'auto' or a positive number.")
        if int(self.iters) < 1 or int(self.restarts) < 0:
            raise CJOError("iters must be >= 1 and restarts >= 0.")
        object.__setattr__(self, "iters", int(self.iters))
        object.__setattr__(self, "restarts", int(self.restarts))
        object.__setattr__(self, "seed", int(self.seed))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the store's scenario parameters)."""
        d = asdict(self)
        d["weights"] = dict(self.weights)
        d["levers"] = dict(self.levers)
        d["schedule_params"] = dict(self.schedule_params)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise CJOError(f"unknown scenario setting(s) {unknown}; known: {sorted(known)}.")
        return cls(**dict(data))

    def with_(self, **changes: Any) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)

    def solver_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`core.solvers.solve` for :attr:`solver`."""
        if self.solver == "anneal":
            return {
                "schedule": self.schedule,
                "schedule_params": dict(self.schedule_params) or None,
                "t0": self.t0,
                "iters": self.iters,
                "restarts": self.restarts,
                "rng": self.seed,
                **({} if self.refine else {"pool": 0, "beam": 0, "polish": False}),
            }
        if self.solver in ("seed-style",):
            return {"rng": self.seed}
        return {}


def parse_pairs(
    items: Sequence[str], option: str, example: str, keys: Sequence[str] | None = None
) -> dict[str, float]:
    """``["name=1.5", ...]`` -> ``{name: 1.5}``; a CJOError names the option and the bad item."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in items)):
        key, sep, value = part.partition("=")
        key = key.strip().lower() if keys is not None else key.strip()
        if not sep or (keys is not None and key not in keys):
            what = f" with name one of {list(keys)}" if keys is not None else ""
            raise CJOError(f"{option} '{part}': write name=value{what}, e.g. {example}.")
        try:
            out[key] = float(value)
        except ValueError:
            raise CJOError(f"{option} '{part}': '{value}' is not a number.") from None
    return out


def parse_weights_text(text: str) -> dict[str, float]:
    """``"cltv=1,churn=2,satisfaction=0.5"`` -> dict (missing factors weigh 0)."""
    example = "cltv=1,churn=1,satisfaction=1"
    out = parse_pairs(text.split(","), "--weights", example, FACTORS)
    if not out:
        raise CJOError(f"--weights is empty; e.g. {example}.")
    return {k: out.get(k, 0.0) for k in FACTORS}


def parse_levers_text(text: str) -> dict[str, float]:
    """``"tech_support=1.5,offer=0"`` -> dict (checked against the catalog later)."""
    return parse_pairs(text.split(","), "--levers", "tech_support=1.5")


# --------------------------------------------------------------------------------------------
# fitted once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Context:
    """What is fitted once and reused for every block of customers (and shipped to workers).

    Attributes
    ----------
    catalog
        The catalog restricted to the data's columns.
    models
        Fitted :class:`core.models.KeyFactorModels` (``counterfactual``), else None.
    acceptance
        Fitted :class:`core.models.AcceptanceModels` (always fitted: propensity and the
        Customer page's "how likely to accept"), or None when not requested.
    scale
        Normalisation scales of the reference population, or None (each block its own).
    """

    catalog: Catalog
    models: Any = None
    acceptance: Any = None
    scale: Mapping[str, float] | None = None


def fit_context(
    frame: pd.DataFrame,
    settings: Settings,
    *,
    models: Any = None,
    acceptance: Any = None,
    with_acceptance: bool | None = None,
    progress: Progress | None = None,
) -> Context:
    """Fit what :func:`components_for` needs, unless it is passed in.

    Parameters
    ----------
    frame
        Canonical customer data (the training population).
    settings
        The scenario (its catalog, estimator and seed are used).
    models, acceptance
        Already fitted models (e.g. from :func:`core.models.train.load_or_train`); fitted here when
        needed and not given.
    with_acceptance
        Fit the acceptance models (default: when ``settings.propensity``).
    progress
        ``progress(done, total)``.
    """
    from core.models import AcceptanceModels, KeyFactorModels

    cat = resolve_catalog(settings.catalog, list(frame.columns))
    need_acc = settings.propensity if with_acceptance is None else with_acceptance
    steps = 2
    if progress:
        progress(0, steps)
    if settings.estimator == "counterfactual" and models is None:
        models = KeyFactorModels(cat, preset=settings.model_preset, random_state=settings.seed).fit(
            frame
        )
    if progress:
        progress(1, steps)
    if need_acc and acceptance is None:
        acceptance = AcceptanceModels(cat, random_state=settings.seed).fit(frame)
    if progress:
        progress(2, steps)
    return Context(catalog=cat, models=models, acceptance=acceptance)


def components_for(
    frame: pd.DataFrame, settings: Settings, context: Context, *, progress: Progress | None = None
) -> Components:
    """Opportunity components of the customers of ``frame`` (see :mod:`core.opportunity`)."""
    return build_components(
        frame,
        context.catalog,
        settings.estimator,
        models=context.models,
        random_state=settings.seed,
        progress=progress,
        scale=context.scale,
    )


def propensity_for(frame: pd.DataFrame, context: Context) -> np.ndarray:
    """Acceptance propensity ``[n, P]`` in [0, 1] (the context must hold acceptance models)."""
    if context.acceptance is None:
        raise CJOError("the propensity needs fitted acceptance models (fit_context).")
    prop = np.asarray(context.acceptance.predict_proba(frame), dtype=np.float32)
    return np.clip(prop, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# cheap: weights -> problem -> journeys
# --------------------------------------------------------------------------------------------


def effective_components(
    components: Components,
    levers: Mapping[str, float] | None = None,
    propensity: np.ndarray | None = None,
) -> np.ndarray:
    """Components times ``lever_j * propensity[c, j]``: ``sum_k w_k * result = O_w``."""
    mult = parse_levers(levers or None, components.product_keys).astype(np.float32)
    if propensity is None and not levers:
        return components.values
    factor = np.broadcast_to(mult, (components.n_customers, components.n_products))
    if propensity is not None:
        factor = factor * np.asarray(propensity, dtype=np.float32)
    return components.values * factor[:, None, :, None]


def problem_for(
    components: Components,
    catalog: Catalog,
    settings: Settings,
    propensity: np.ndarray | None = None,
) -> JourneyProblem:
    """The journey problem of the weighted opportunity (cheap: no model runs)."""
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
        propensity=propensity if settings.propensity else None,
    )
    ids = np.asarray(components.customer_ids)
    if ids.dtype == object:
        ids = ids.astype(str)
    mult = parse_levers(settings.levers or None, components.product_keys)
    return JourneyProblem(
        opportunity=opp,
        held=components.held,
        requires=catalog.requires_matrix(),
        excludes=catalog.excludes_matrix(),
        max_length=catalog.max_length,
        discount=catalog.discount,
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
    """Run the settings' solver (or ``solver``) on the problem."""
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
    in customer order, then step order.
    """
    eff = effective_components(
        components, settings.levers, propensity if settings.propensity else None
    )
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
    for c in ("opportunity", "cltv", "churn", "satisfaction"):
        table[c] = table[c].round(6)
    return table


def per_customer(table: pd.DataFrame, ids: Sequence[Any]) -> pd.DataFrame:
    """One row per customer of ``ids`` from a journeys table (:func:`journeys_table`).

    Columns ``customer_id``, ``journey_value`` (sum of the steps' opportunity; 0 without an
    offer), ``first_offer`` (product key of step 1, or None) and ``length`` (number of steps).
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
) -> dict[str, Any]:
    """The figures of ``report.json``.

    Keys: ``n_customers``, ``solver``, ``schedule``, ``seconds_optimize`` (the solver alone),
    ``total_opportunity``, ``mean_score``, ``share_with_offer``, ``mean_length``; with
    ``verify="exact"``: ``share_optimal``, ``mean_gap``, ``max_gap`` (and ``seconds_exact``);
    ``baselines``: ``{name: {share_better_or_equal, share_better, mean_uplift}}``.
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
        ex = result if settings.solver == "exact" else optimize(problem, settings, solver="exact")
        out["seconds_exact"] = time.perf_counter() - t
        cmp = compare_to_exact(result, ex)
        out.update(
            share_optimal=cmp["share_optimal"], mean_gap=cmp["mean_gap"], max_gap=cmp["max_gap"]
        )
    base: dict[str, JourneyResult] = {}
    for name in baselines:
        if name == settings.solver:
            continue
        base[name] = optimize(problem, settings, solver=name, components=components)
    out["baselines"] = compare_baselines(result, base)
    for name, res in base.items():
        out["baselines"][name]["seconds"] = float(res.seconds.get("total", 0.0))
    if extra:
        out.update(extra)
    return out


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
    """Fit (unless ``context``), estimate (unless ``components``), optimize and tabulate."""
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
    table = journeys_table(result, problem, comps, settings, ctx.catalog, prop)
    if progress:
        progress(1.0, 1.0)
    return Outcome(settings, ctx, comps, problem, result, table, prop, seconds)


# --------------------------------------------------------------------------------------------
# CLI: python -m core optimize
# --------------------------------------------------------------------------------------------


#: Key of a saved run's parameters that holds how the CLI ran it (besides the Settings).
RUN_KEY = "batch"


def split_run_params(params: Mapping[str, Any]) -> tuple[Settings, dict[str, Any]]:
    """A saved run's parameters -> (Settings, the CLI's run options; {} for dashboard runs).

    Keys that are neither (e.g. the dashboard's ``segments``) are ignored.
    """
    known = set(Settings.__dataclass_fields__)
    settings = Settings.from_dict({k: v for k, v in params.items() if k in known})
    return settings, dict(params.get(RUN_KEY) or {})
