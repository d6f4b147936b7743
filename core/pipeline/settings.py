"""Scenario settings: the frozen :class:`Settings` and the parsers of its command-line forms.

A :class:`Settings` is everything that defines a scenario's journeys besides the data. It
validates itself once, on construction; :meth:`Settings.to_dict` / :meth:`Settings.from_dict`
give the JSON the store and the URL keep, and :func:`split_run_params` reads a saved run's
parameters back (the Settings plus, under :data:`RUN_KEY`, how the CLI ran it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import PurePath
from typing import Any

import numpy as np

from core.common.errors import CJOError
from core.data.schema import FACTORS
from core.models.presets import PRESETS
from core.opportunity import ESTIMATORS, check_confounding, parse_weights, risk_z
from core.solvers import SOLVERS

#: Risk settings: maximise the estimate, or its lower confidence bound.
RISKS: tuple[str, ...] = ("none", "lcb")
#: Key of a saved run's parameters that holds how the CLI ran it (besides the Settings).
RUN_KEY = "batch"
#: File types a campaign log may have (:func:`core.data.io.read_table` reads them).
LOG_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def _check_choice(what: str, value: str, choices: Collection[str]) -> None:
    if value not in choices:
        raise CJOError(f"{what} '{value}' is unknown; choose one of {list(choices)}.")


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
    risk
        ``"lcb"`` (default): journeys maximise the lower confidence bound of the opportunity at
        ``risk_level``, and a step whose upper bound is below zero is never recommended (do no
        harm); it needs an estimator with standard errors (``dr``, the default) and does nothing
        with the others (see :func:`core.opportunity.combine`). ``"none"``: journeys maximise
        the estimate itself.
    risk_level
        One-sided confidence level of the bounds, in [0.5, 1) (default 0.9).
    confounding
        With ``risk="lcb"``: how strongly traits the data does not record may confound the
        estimated effects, as a multiple of what the recorded features explained (>= 0;
        default 0, none). Each bound is widened by that multiple of the product's measured
        shift (:attr:`core.opportunity.Components.bias`, ``dr`` only): larger leaves more
        customers alone and harms fewer (docs/opportunity.md, "Allowing for unrecorded
        confounding").
    campaign
        Path of the randomized campaign log the ``campaign`` estimator learns from (CSV or
        Parquet in the layout :func:`core.campaigns.read_offer_log` reads, e.g. the demo's
        ``data/demo/customers.campaigns.parquet``); required by that estimator, empty for the
        others.
    """

    catalog: str = "seed"
    estimator: str = "dr"
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
    risk: str = "lcb"
    risk_level: float = 0.9
    campaign: str = ""
    confounding: float = 0.0

    def __post_init__(self) -> None:
        w = parse_weights(self.weights)
        object.__setattr__(self, "weights", {k: float(v) for k, v in zip(FACTORS, w, strict=True)})
        object.__setattr__(self, "levers", {str(k): float(v) for k, v in self.levers.items()})
        object.__setattr__(
            self, "schedule_params", {str(k): float(v) for k, v in self.schedule_params.items()}
        )
        _check_choice("estimator", self.estimator, ESTIMATORS)
        _check_choice("solver", self.solver, SOLVERS)
        from core.solvers.schedules import SCHEDULES

        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("model preset", self.model_preset, PRESETS)
        _check_choice("risk", self.risk, RISKS)
        risk_z(self.risk_level)  # raises on a level outside [0.5, 1)
        object.__setattr__(self, "risk_level", float(self.risk_level))
        object.__setattr__(self, "confounding", check_confounding(self.confounding))
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
        self._check_campaign()

    def _check_campaign(self) -> None:
        if not isinstance(self.campaign, str | PurePath):
            raise CJOError(f"campaign {self.campaign!r}: give the path of a campaign log.")
        log = str(self.campaign).strip()
        object.__setattr__(self, "campaign", log)
        if self.estimator == "campaign" and not log:
            raise CJOError(
                "estimator 'campaign' learns from a randomized campaign: give its log "
                "(campaign=PATH; --campaign LOG on the command line), e.g. "
                "data/demo/customers.campaigns.parquet, or choose another estimator."
            )
        if log and self.estimator != "campaign":
            raise CJOError(
                f"campaign '{log}' is read by the campaign estimator only: choose estimator "
                "'campaign' (--estimator campaign) or leave the campaign empty."
            )
        if log and PurePath(log).suffix.lower() not in LOG_SUFFIXES:
            raise CJOError(
                f"campaign '{log}': a campaign log is a CSV or Parquet file "
                f"({', '.join(LOG_SUFFIXES)}). Fix: give the log's path."
            )

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

    @property
    def risk_z(self) -> float:
        """Standard errors between the estimate and the bound the journeys maximise (0: none)."""
        return risk_z(self.risk_level) if self.risk == "lcb" else 0.0

    @property
    def risk_confounding(self) -> float:
        """The allowance for unrecorded confounding the bounds use (0 without ``risk="lcb"``)."""
        return self.confounding if self.risk == "lcb" else 0.0

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


def split_run_params(params: Mapping[str, Any]) -> tuple[Settings, dict[str, Any]]:
    """A saved run's parameters -> (Settings, the CLI's run options; {} for dashboard runs).

    Keys that are neither (e.g. the dashboard's ``segments``) are ignored.
    """
    known = set(Settings.__dataclass_fields__)
    settings = Settings.from_dict({k: v for k, v in params.items() if k in known})
    return settings, dict(params.get(RUN_KEY) or {})


# --------------------------------------------------------------------------------------------
# command-line forms: "name=value,..."
# --------------------------------------------------------------------------------------------


def parse_pairs(
    items: Sequence[str], option: str, example: str, keys: Sequence[str] | None = None
) -> dict[str, float]:
    """``["name=1.5", ...]`` -> ``{name: 1.5}``; a CJOError names the option and the bad item.

    Parameters
    ----------
    items
        ``name=value`` texts; blank items are skipped.
    option
        The option's name, for messages (``--weights``).
    example
        A valid value, for messages.
    keys
        The names allowed (compared in lower case), or None for any name (kept as written).

    Returns
    -------
    dict
        ``{name: value}`` in the order given.
    """
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
