"""Synthetic telco population in the IBM 11.1.3+ schema, with stored causal ground truth.

The demo population replaces the IBM sample file (which may not be shipped) and referees the
opportunity estimators: every customer carries latent traits and a *structural outcome model*
that gives the true churn probability, expected CLTV and expected satisfaction for **any**
portfolio of the 12 product keys in :data:`PRODUCTS`. The observed outcome columns of the table
are drawn from that model at the customer's current portfolio, and the truth table stores, for
every customer and product, the true change from adding the product to the current portfolio.

What is modelled on the IBM file (``telco_ibm_11_1_3.csv``; summary figures only, no rows copied)
---------------------------------------------------------------------------------------------
* Schema: the 51 columns, their order, vocabularies and the dtypes pandas infers.
* Marginals: gender, age (piecewise uniform, 16% seniors), married, dependents given married and
  their count, referrals (only married customers refer; count distribution), tenure (banded
  distribution with the spikes at 1-3 and 72 months), contract, phone/internet shares, internet
  type, each add-on's share among internet customers, offer (tenure-banded: E 1-10, D 10-23,
  C 24-39, B 40-65, A 66-72 months, ~45% acceptance), payment method, paperless billing,
  long-distance and download volumes, extra-data charges (internet without unlimited data),
  refunds (7.5%), Customer Status (Joined = non-churner with tenure <= 3), churn categories and
  reasons, Churn Score ranges by outcome (churners 65-96, others 5-80), CLTV range 2003-6500.
* Correlations: contract with tenure and loyalty; add-ons with tenure and with each other;
  streaming and downloads with youth; seniors with internet, fiber and paperless billing;
  credit card with long contracts; Monthly Charge as the IBM price list of the services held
  (phone 20.90, multiple lines 5.27, DSL 25.62, cable 27.50, fiber 50.02, security/backup/
  protection/support ~4.6-5.0, streaming TV/movies ~10.3, music and unlimited data 0, a -1.00
  intercept) plus noise; Total Charges ~ tenure x monthly charge; Total Long Distance Charges =
  tenure x average exactly; Total Revenue identity (to 1e-6); churn strongly lower for long
  contracts, long tenure, families, referrers, credit card payers, and higher for fiber;
  Satisfaction 1-2 only for churners and 4-5 only for non-churners (as in IBM); CLTV rising
  with tenure and falling with churn.

The causal model (see docs/synthetic.md for the equations)
----------------------------------------------------------
Latent traits per customer (``latent_*``): price sensitivity, service need, tech affinity,
loyalty, data appetite (each ~N(0, 1), partly explained by demographics), plus portfolio-free
structural inputs (``base_*``: youth, internet kind, family, tenure, baseline churn logit,
baseline satisfaction, baseline value). For a portfolio ``h`` (bool over :data:`PRODUCTS`):

* price ``M(h)`` = IBM price list of ``h``; price burden raises churn and lowers satisfaction
  in proportion to ``softplus(price_sensitivity)``;
* latent satisfaction ``s(h)`` = baseline + product values (tech support worth more for fiber
  customers with many add-ons and high service need; online backup and device protection are
  substitutes; streaming with diminishing returns, valued by young / tech-affine customers;
  unlimited data valued by heavy users; multiple lines by families; overload past 6 products);
* churn logit = baseline + price burden - satisfaction + fiber competition - switching costs
  (diminishing in the number of products) - offer effect (helps price-sensitive customers,
  backfires for price-insensitive ones); churn probability = logistic(churn logit);
* expected CLTV = 2403 + 3697 * logistic(value index), the value index rising with monthly
  revenue (minus lost extra-data charges) and retention, minus the offer's cost;
* expected satisfaction = expected Satisfaction Score (1-5) given the churn probability and
  ``s(h)``, in closed form.

Internet add-ons deliver their benefits only together with internet service (and multiple lines
only with phone); without the prerequisite they only add their price. Effects stored in the
truth table are therefore "as if added" and consumers mask them by eligibility.

Randomness comes from fixed blocks of :data:`BLOCK_SIZE` customers: block ``b`` draws from
``np.random.default_rng([seed, b])``, so any chunking yields identical rows.

The family, one concept per module
----------------------------------
* :mod:`~core.data.synthetic.calibration`: the figures taken from the IBM file;
* :mod:`~core.data.synthetic.geography`: the synthetic California geography;
* :mod:`~core.data.synthetic.structural`: the structural equations (price, satisfaction, churn,
  CLTV) for any portfolio;
* :mod:`~core.data.synthetic.draws`: the per-block random draws;
* :mod:`~core.data.synthetic.simulate`: customers and truth rows; :func:`generate`,
  :func:`generate_frame`;
* :mod:`~core.data.synthetic.truth`: the truth table, :func:`true_outcomes`,
  :func:`holdings_from_frame`;
* :mod:`~core.data.synthetic.acceptance`: the true probability of accepting an offer
  (``p_accept__{product}`` in the truth table);
* :mod:`~core.data.synthetic.campaigns`: the past campaign of the population (randomized
  offers with a control arm, acceptance, revenue and churn after), :func:`campaign_frame`, and
  every arm's expected outcomes, :func:`campaign_truth`;
* :mod:`~core.data.synthetic.writer`: :func:`write` (CSV / Parquet + truth [+ campaign log],
  atomic), :func:`truth_path`, :func:`campaigns_path` and :func:`feedback_path`;
* ``_base``: product keys and indices, truth input names and link functions shared by these;
* :mod:`~core.data.synthetic.transactions`: a retailer's synthetic invoice lines
  (:func:`~core.data.synthetic.transactions.generate_transactions`; not part of the telco
  population), for ``customers-from-transactions``, its tests and the demo.
"""

from core.data.schema import FACTORS
from core.data.synthetic._base import IBM_COLUMNS, PRODUCT_COLUMNS, PRODUCTS, TRAITS
from core.data.synthetic.campaigns import CONTROL, campaign_frame, campaign_truth
from core.data.synthetic.draws import BLOCK_SIZE
from core.data.synthetic.simulate import ID_PREFIX, generate, generate_frame
from core.data.synthetic.truth import holdings_from_frame, true_outcomes
from core.data.synthetic.writer import campaigns_path, feedback_path, truth_path, write

__all__ = [
    "BLOCK_SIZE",
    "CONTROL",
    "FACTORS",
    "IBM_COLUMNS",
    "ID_PREFIX",
    "PRODUCT_COLUMNS",
    "PRODUCTS",
    "TRAITS",
    "campaign_frame",
    "campaign_truth",
    "campaigns_path",
    "feedback_path",
    "generate",
    "generate_frame",
    "holdings_from_frame",
    "true_outcomes",
    "truth_path",
    "write",
]
