"""What the pages and reports show, computed from the pipeline: KPIs, segments and page views.

Plain functions over core types (no Streamlit); the dashboard caches what they return and
only draws it.

* :mod:`~core.insights.kpis`: executive KPIs (:class:`KPI`, :func:`compute_kpis`,
  :func:`revenue_at_risk`).
* :mod:`~core.insights.overview`: the Overview's KPI cards against the best baseline
  (:func:`overview_kpis`), opportunity per contract type, the share of customers at high risk
  and their distribution (:func:`histogram`).
* :mod:`~core.insights.opportunity_views`: what each offer is worth across the population
  (:func:`opportunity_views`).
* :mod:`~core.insights.journey_views`: journeys per customer and step, flows between steps,
  summaries, one segment's journeys, the comparison with the study's strategies.
* :mod:`~core.insights.customer`: one customer's recommendation explained
  (:func:`customer_view`) and what drives the models (:func:`drivers`).
* :mod:`~core.insights.model_views`: the Models page's metric cards (:func:`metric_cards`).
* :mod:`~core.insights.segments`: segmentation, names, stability and insights ("contact first");
  import it as ``from core.insights import segments``.
"""

from core.insights.customer import (
    PROFILE_NUMBERS,
    PROFILE_WORDS,
    CustomerView,
    customer_index,
    customer_view,
    drivers,
    example_customers,
)
from core.insights.journey_views import (
    BASELINE_COLUMNS,
    NO_OFFER,
    JourneySummary,
    baseline_table,
    first_offer_counts,
    first_offer_labels,
    journey_flows,
    journey_steps,
    journey_summary,
    segment_journeys,
)
from core.insights.kpis import KPI, compute_kpis, revenue_at_risk
from core.insights.model_views import metric_cards
from core.insights.opportunity_views import OpportunityViews, opportunity_views
from core.insights.overview import high_risk_share, histogram, opportunity_by, overview_kpis

__all__ = [
    "BASELINE_COLUMNS",
    "KPI",
    "NO_OFFER",
    "PROFILE_NUMBERS",
    "PROFILE_WORDS",
    "CustomerView",
    "JourneySummary",
    "OpportunityViews",
    "baseline_table",
    "compute_kpis",
    "customer_index",
    "customer_view",
    "drivers",
    "example_customers",
    "first_offer_counts",
    "first_offer_labels",
    "high_risk_share",
    "histogram",
    "journey_flows",
    "journey_steps",
    "journey_summary",
    "metric_cards",
    "opportunity_by",
    "opportunity_views",
    "overview_kpis",
    "revenue_at_risk",
    "segment_journeys",
]
