"""The executive report: the Overview page as a document to forward (self-contained HTML).

:func:`executive_report` computes what the Overview page shows with the same functions
(:func:`~core.insights.overview.overview_kpis`, :func:`~core.insights.journey_views.first_offer_counts`,
:func:`~core.insights.overview.opportunity_by`, :func:`~core.insights.overview.histogram`) and
records the scenario that produced it; :func:`render_html` writes it as one HTML file with
inline CSS and inline SVG charts (:mod:`core.insights.svg`): it opens without network access,
prints on A4 (``python -m core report --pdf`` prints it with headless Chromium,
:mod:`core.ops.pdf`) and every chart has a text alternative.

The dashboard's download button on Overview and ``python -m core report DATA --out
report.html`` both go through these two functions.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from core.data.catalog import Catalog
from core.insights.colours import FACTOR_COLOURS, NO_OFFER_COLOUR, colour_map
from core.insights.journey_views import first_offer_counts
from core.insights.kpis import KPI
from core.insights.overview import high_risk_share, histogram, opportunity_by, overview_kpis
from core.insights.svg import bar_chart, histogram_chart
from core.journeys import JourneyResult
from core.pipeline import Settings

#: The report's sections, in order (headings of the HTML and of the PDF's pages).
SECTIONS = ("Key figures", "Charts", "Scenario")
TITLE = "Customer Journey Optimizer: executive report"
#: KPI keys whose fall is good news (their deltas are green when negative).
LOWER_IS_BETTER = frozenset({"churn_rate", "revenue_at_risk"})


@dataclass(frozen=True)
class ExecutiveReport:
    """What the report shows (figures as the Overview page computes them).

    Attributes
    ----------
    kpis
        The Overview's KPI cards, deltas against the best baseline included.
    first_offers
        ``offer``, ``customers``: customers per recommended first offer.
    by_contract
        ``Contract``, ``opportunity`` (None when the data has no contract column).
    churn_bins
        ``left``, ``right``, ``customers`` of the predicted churn (None without models).
    high_risk
        Share of customers with a predicted churn probability of 50% or more (or None).
    scenario
        ``{field: text}``: weights, levers, estimator, risk, solver, catalog, data, date ...
    colours
        ``{product label: colour}`` (the dashboard's colours).
    created
        When the report was made (UTC, ISO 8601).
    """

    kpis: tuple[KPI, ...]
    first_offers: pd.DataFrame
    by_contract: pd.DataFrame | None
    churn_bins: pd.DataFrame | None
    high_risk: float | None
    scenario: dict[str, str]
    colours: dict[str, str] = field(default_factory=dict)
    created: str = ""
    title: str = TITLE

    def numbers(self) -> dict[str, tuple[str, str | None]]:
        """``{KPI label: (value, delta)}`` as the cards show them (what a test compares)."""
        return {k.label: (k.formatted(), k.formatted_delta()) for k in self.kpis}


def scenario_fields(
    settings: Settings,
    *,
    catalog: Catalog,
    data_name: str,
    data_sha256: str,
    n_customers: int,
    horizon_months: int,
    baseline_name: str,
    created: str,
) -> dict[str, str]:
    """The scenario behind a report as ``{field: text}`` (what a reader needs to redo it)."""
    w = settings.weights
    levers = ", ".join(f"{k} {v:g}" for k, v in sorted(settings.levers.items())) or "none (all 1)"
    risk = (
        f"do no harm: lower {settings.risk_level:.0%} confidence bound"
        if settings.risk == "lcb"
        else "none: the estimate itself"
    )
    if settings.risk_confounding > 0:
        risk += f", allowing for unrecorded confounding {settings.confounding:g}x the recorded"
    return {
        "Weights": f"CLTV {w['cltv']:g}, churn {w['churn']:g}, satisfaction {w['satisfaction']:g}",
        "Levers": levers,
        "Estimator": settings.estimator,
        "Risk": risk,
        "Solver": settings.solver,
        "Acceptance propensity": "on" if settings.propensity else "off",
        "Catalog": f"{catalog.name} ({', '.join(catalog.labels)})",
        "Data": f"{data_name}: {n_customers:,} customers",
        "Data sha256": data_sha256,
        "Revenue-at-risk horizon": f"{horizon_months} months",
        "Deltas against": f"the best baseline strategy ({baseline_name})",
        "Seed": str(settings.seed),
        "Date": created,
    }


def executive_report(
    frame: pd.DataFrame,
    result: JourneyResult,
    baseline: JourneyResult,
    baseline_name: str,
    table: pd.DataFrame,
    catalog: Catalog,
    settings: Settings,
    *,
    churn_proba: np.ndarray | None,
    offerable: np.ndarray | None,
    horizon_months: int = 12,
    data_name: str = "",
    data_sha256: str = "",
    created: datetime | None = None,
) -> ExecutiveReport:
    """The Overview page's figures of a scenario, and the scenario, as an :class:`ExecutiveReport`.

    Parameters
    ----------
    frame
        The canonical customer frame.
    result, baseline, baseline_name
        The scenario's journeys and the best baseline's (with its name), on the same problem.
    table
        The journeys table (:func:`core.pipeline.journeys_table`).
    catalog, settings
        The catalog and the scenario.
    churn_proba
        Predicted churn probability per customer, or None (the observed label is used).
    offerable
        bool ``[n]``: customers who could be offered something now (the "left alone" card).
    horizon_months
        Horizon of the revenue-at-risk card.
    data_name, data_sha256
        Where the data came from and its fingerprint.
    created
        When (default now, UTC).
    """
    when = (created or datetime.now(UTC)).isoformat(timespec="seconds")
    kpis = overview_kpis(
        frame,
        result,
        baseline,
        baseline_name,
        churn_proba=churn_proba,
        horizon_months=horizon_months,
        offerable=offerable,
    )
    scenario = scenario_fields(
        settings,
        catalog=catalog,
        data_name=data_name,
        data_sha256=data_sha256,
        n_customers=len(frame),
        horizon_months=horizon_months,
        baseline_name=baseline_name,
        created=when,
    )
    return ExecutiveReport(
        kpis=tuple(kpis),
        first_offers=first_offer_counts(table),
        by_contract=opportunity_by(frame, result.scores, "Contract"),
        churn_bins=None if churn_proba is None else histogram(churn_proba),
        high_risk=None if churn_proba is None else high_risk_share(churn_proba, 0.5),
        scenario=scenario,
        colours=colour_map(catalog),
        created=when,
    )


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 14mm; }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; color: #1c2430; margin: 0 auto;
       max-width: 1180px; padding: 24px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 10px;
  border-bottom: 2px solid #0072B2; padding-bottom: 4px; }
.meta { color: #4a5563; font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; }
.card { border: 1px solid #d9dee5; border-radius: 8px; padding: 10px 12px; break-inside: avoid; }
.card .label { font-size: 13px; color: #4a5563; }
.card .value { font-size: 24px; font-weight: 600; margin: 2px 0; }
.card .delta { font-size: 13px; } .up { color: #0a6e3c; } .down { color: #a3290b; }
.card .help { font-size: 11px; color: #5c6773; margin-top: 4px; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
figure { margin: 0; break-inside: avoid; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #4a5563; margin-top: 4px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e6e9ee;
         vertical-align: top; }
th { width: 28%; color: #4a5563; font-weight: 600; }
td.sha { font-family: monospace; word-break: break-all; }
section { break-inside: auto; } section.scenario { break-before: page; }
@media (max-width: 800px) { .cards { grid-template-columns: repeat(2, 1fr); }
  .charts { grid-template-columns: 1fr; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _card(k: KPI) -> str:
    delta = k.formatted_delta()
    part = ""
    if delta is not None and k.delta is not None:
        good = k.delta <= 0 if k.key in LOWER_IS_BETTER else k.delta >= 0
        arrow = "▲" if k.delta >= 0 else "▼"
        part = (
            f'<div class="delta {"up" if good else "down"}" data-delta="{_e(delta)}">'
            f"{arrow} {_e(delta)} vs best baseline</div>"
        )
    return (
        f'<div class="card" data-kpi="{_e(k.key)}"><div class="label">{_e(k.label)}</div>'
        f'<div class="value" data-value="{_e(k.formatted())}">{_e(k.formatted())}</div>'
        f'{part}<div class="help">{_e(k.help)}</div></div>'
    )


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def charts(report: ExecutiveReport) -> list[str]:
    """The report's charts as ``<figure>`` elements (SVG and caption)."""
    out = []
    first = report.first_offers.sort_values("customers", ascending=False)
    out.append(
        _figure(
            bar_chart(
                list(first["offer"]),
                list(first["customers"]),
                title="Recommended first offer",
                x_title="Customers",
                y_title="First offer",
                colours=[report.colours.get(o, NO_OFFER_COLOUR) for o in first["offer"]],
                horizontal=True,
            ),
            "Customers per recommended first offer (customers left alone are not counted).",
        )
    )
    if report.by_contract is not None:
        bc = report.by_contract
        out.append(
            _figure(
                bar_chart(
                    list(bc["Contract"]),
                    list(bc["opportunity"]),
                    title="Opportunity by contract",
                    x_title="Contract",
                    y_title="Total opportunity",
                    value_format="{:,.1f}",
                ),
                "Total journey opportunity of the customers on each contract type.",
            )
        )
    if report.churn_bins is not None:
        b = report.churn_bins
        share = "" if report.high_risk is None else f" {report.high_risk:.1%} have 50% or more."
        out.append(
            _figure(
                histogram_chart(
                    list(b["left"]),
                    list(b["right"]),
                    list(b["customers"]),
                    title="Predicted churn risk",
                    x_title="Churn probability",
                    y_title="Customers",
                    colour=FACTOR_COLOURS["churn"],
                ),
                "Customers per band of predicted churn probability (the churn model)." + share,
            )
        )
    return out


def render_html(report: ExecutiveReport) -> str:
    """The report as one self-contained HTML document (inline CSS and SVG, no scripts)."""
    cards = "".join(_card(k) for k in report.kpis)
    rows = "".join(
        f'<tr><th scope="row">{_e(k)}</th><td{" class=sha" if "sha" in k else ""}>{_e(v)}</td></tr>'
        for k, v in report.scenario.items()
    )
    key, figs, scen = SECTIONS
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(report.title)}</h1>"
        f'<p class="meta">Made {_e(report.created)} from {_e(report.scenario.get("Data", ""))} '
        "with the same functions as the dashboard's Overview page.</p></header>"
        f'<section class="kpis"><h2 id="key-figures">{key}</h2><div class="cards">{cards}</div>'
        '<p class="meta">Deltas: the change against the best simple strategy; green is what '
        "the optimizer earns on top of it.</p></section>"
        f'<section class="figures"><h2 id="charts">{figs}</h2><div class="charts">'
        + "".join(charts(report))
        + "</div></section>"
        f'<section class="scenario"><h2 id="scenario">{scen}</h2>'
        f"<table><tbody>{rows}</tbody></table></section></body></html>"
    )


def read_numbers(text: str) -> dict[str, tuple[str, str | None]]:
    """``{KPI label: (value, delta)}`` read back from :func:`render_html`'s output."""
    import re

    out: dict[str, tuple[str, str | None]] = {}
    pattern = re.compile(
        r'<div class="card" data-kpi="[^"]*"><div class="label">(.*?)</div>'
        r'<div class="value" data-value="([^"]*)">.*?</div>(?:<div class="delta [a-z]+" '
        r'data-delta="([^"]*)">)?',
        re.S,
    )
    for label, value, delta in pattern.findall(text):
        out[html.unescape(label)] = (html.unescape(value), html.unescape(delta) if delta else None)
    return out


def as_json(report: ExecutiveReport) -> dict[str, Any]:
    """The report's figures as plain JSON (the CLI prints a summary of it)."""
    return {
        "kpis": {
            k.key: {"label": k.label, "value": k.value, "delta": k.delta} for k in report.kpis
        },
        "first_offers": {
            str(o): int(c)
            for o, c in zip(
                report.first_offers["offer"], report.first_offers["customers"], strict=True
            )
        },
        "scenario": report.scenario,
        "sections": list(SECTIONS),
    }
