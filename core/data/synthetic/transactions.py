"""Synthetic invoice lines of a gift and home-ware retailer, for the tests and the demo.

The layout is that of the public "online retail" exports (``InvoiceNo, StockCode, Description,
Quantity, InvoiceDate, UnitPrice, CustomerID, Country``), the numbers are invented:

* customers buy at their own pace (orders per month ~ Gamma(1.5, 1.2)), from the categories they
  prefer (Dirichlet weights over :data:`ITEMS`' categories), one to six lines an order, a tenth
  of them in wholesale quantities;
* each customer starts in the first 60% of the period and stops buying after an exponential
  lifetime that is longer for frequent buyers, so some have churned by the end;
* about 3% of orders are followed by a return a few days later (a ``C`` invoice with a
  negative quantity), and 5% of orders are guests' (no customer id).

:func:`generate_transactions` is seeded (``np.random.default_rng([seed, ...])``): the same
arguments give the same lines. ``python -m core demo-data --kind transactions`` writes them;
:func:`core.data.transactions.customers_from_transactions` turns them into a customer table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.common.errors import OptionError

#: (stock code, description, unit price, category the description's keywords give).
ITEMS: tuple[tuple[str, str, float, str], ...] = (
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55, "Home decor"),
    ("71053", "WHITE METAL LANTERN", 3.39, "Home decor"),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75, "Other"),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25, "Home decor"),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65, "Other"),
    ("21754", "HOME BUILDING BLOCK WORD", 5.95, "Other"),
    ("22960", "JAM MAKING SET WITH JAR", 4.25, "Kitchen"),
    ("22720", "SET OF 3 CAKE TINS PANTRY DESIGN", 4.95, "Kitchen"),
    ("21212", "PACK OF 72 RETROSPOT CAKE CASES", 0.55, "Kitchen"),
    ("22138", "BAKING SET 9 PIECE RETROSPOT", 4.95, "Kitchen"),
    ("37370", "RETRO COFFEE MUGS ASSORTED", 1.06, "Kitchen"),
    ("22423", "REGENCY CAKE STAND 3 TIER", 12.75, "Kitchen"),
    ("85099B", "JUMBO BAG RED RETROSPOT", 1.95, "Bags"),
    ("20725", "LUNCH BAG RED RETROSPOT", 1.65, "Bags"),
    ("22382", "LUNCH BAG SPACEBOY DESIGN", 1.65, "Bags"),
    ("23203", "JUMBO BAG DOILEY PATTERNS", 2.08, "Bags"),
    ("22086", "PAPER CHAIN KIT 50'S CHRISTMAS", 2.95, "Christmas"),
    ("22910", "PAPER CHAIN KIT VINTAGE CHRISTMAS", 2.95, "Christmas"),
    ("23084", "RABBIT NIGHT LIGHT", 2.08, "Home decor"),
    ("22578", "WOODEN STAR CHRISTMAS SCANDINAVIAN", 0.85, "Christmas"),
    ("22734", "SET OF 6 RIBBONS VINTAGE CHRISTMAS", 2.89, "Christmas"),
    ("21915", "RED HARMONICA IN BOX", 1.25, "Other"),
    ("22326", "ROUND SNACK BOXES SET OF4 WOODLAND", 2.95, "Other"),
    ("22616", "PACK OF 12 LONDON TISSUES", 0.29, "Other"),
    ("22706", "WRAP COWBOYS", 0.42, "Stationery"),
    ("22045", "SPACEBOY GIFT WRAP", 0.42, "Stationery"),
    ("21791", "VINTAGE HEADS AND TAILS CARD GAME", 1.25, "Stationery"),
    ("22029", "SPACEBOY BIRTHDAY CARD", 0.42, "Stationery"),
    ("20979", "36 PENCILS TUBE RED RETROSPOT", 1.25, "Stationery"),
    ("22549", "PICTURE DOMINOES", 1.45, "Other"),
    ("21786", "POLKADOT RAIN HAT", 0.42, "Other"),
    ("22620", "4 TRADITIONAL SPINNING TOPS", 1.25, "Other"),
    ("22619", "SET OF 6 SOLDIER SKITTLES", 3.75, "Toys"),
    ("21889", "WOODEN BOX OF DOMINOES", 1.25, "Other"),
    ("22554", "PLASTERS IN TIN WOODLAND ANIMALS", 1.65, "Kitchen"),
    ("21175", "GIN AND TONIC DIET METAL SIGN", 2.10, "Home decor"),
    ("22622", "BOX OF VINTAGE ALPHABET BLOCKS", 9.95, "Other"),
    ("47566", "PARTY BUNTING", 4.95, "Other"),
    ("22666", "RECIPE BOX PANTRY YELLOW DESIGN", 2.95, "Other"),
    ("22748", "POPPY'S PLAYHOUSE KITCHEN", 2.10, "Toys"),
    ("22745", "POPPY'S PLAYHOUSE BEDROOM", 2.10, "Toys"),
    ("21931", "JUMBO STORAGE BAG SUKI", 2.08, "Bags"),
)
COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium")
_COUNTRY_P = (0.86, 0.04, 0.04, 0.02, 0.015, 0.015, 0.01)
COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
)  # fmt: skip


def generate_transactions(
    n_customers: int = 500,
    seed: int = 0,
    *,
    start: str = "2023-01-01",
    days: int = 365,
) -> pd.DataFrame:
    """Invoice lines of ``n_customers`` customers over ``days`` days from ``start`` (seeded).

    Returns a DataFrame with :data:`COLUMNS` (quantities and prices as numbers, dates as
    ``YYYY-MM-DD HH:MM`` text, guests' CustomerID empty), sorted by date and invoice.
    """
    if n_customers < 1 or days < 30:
        raise OptionError(
            f"n_customers={n_customers}, days={days}: use at least 1 customer and 30 days."
        )
    rng = np.random.default_rng([int(seed), 0x7A5C])
    cats = sorted({c for *_, c in ITEMS})
    by_cat = {c: [i for i, it in enumerate(ITEMS) if it[3] == c] for c in cats}
    t0 = pd.Timestamp(start)
    orders: list[tuple[str, int, int, str]] = []  # (customer, day, minute, country)
    basket: list[list[tuple[int, int]]] = []
    ids = [str(12346 + 7 * k) for k in range(n_customers)]
    for cid in ids:
        rate = rng.gamma(1.5, 1.2) / 30.0  # orders per day
        prefs = rng.dirichlet(np.full(len(cats), 0.6))
        wholesale = rng.random() < 0.1
        country = str(rng.choice(COUNTRIES, p=_COUNTRY_P))
        first = int(rng.integers(0, int(days * 0.6)))
        life = rng.exponential(150.0 * (1.0 + 30.0 * rate))
        last = min(days - 1, int(first + life))
        n_orders = 1 + rng.poisson(rate * max(last - first, 0))
        order_days = np.sort(np.concatenate([[first], rng.integers(first, last + 1, n_orders - 1)]))
        for d in order_days:
            lines = []
            for _ in range(int(rng.integers(1, 7))):
                item = int(rng.choice(by_cat[cats[int(rng.choice(len(cats), p=prefs))]]))
                qty = int(rng.choice([12, 24, 48])) if wholesale else 1 + int(rng.poisson(1.5))
                lines.append((item, qty))
            orders.append((cid, int(d), int(rng.integers(8 * 60, 18 * 60)), country))
            basket.append(lines)
    n_guest = max(1, int(0.05 * len(orders)))
    for _ in range(n_guest):
        lines = [
            (int(rng.integers(len(ITEMS))), 1 + int(rng.poisson(1.0)))
            for _ in range(int(rng.integers(1, 4)))
        ]
        orders.append(
            ("", int(rng.integers(days)), int(rng.integers(8 * 60, 18 * 60)), "United Kingdom")
        )
        basket.append(lines)
    order = sorted(range(len(orders)), key=lambda k: (orders[k][1], orders[k][2], k))
    invoice = 536365
    out: list[tuple[str, str, str, int, str, float, str, str]] = []
    returns: list[tuple[int, int, str, str, int, int]] = []
    for k in order:
        cid, d, minute, country = orders[k]
        when = t0 + pd.Timedelta(days=d, minutes=minute)
        for item, qty in basket[k]:
            code, desc, price, _ = ITEMS[item]
            out.append((str(invoice), code, desc, qty, when.strftime("%Y-%m-%d %H:%M"), price,
                        cid, country))  # fmt: skip
        if cid and rng.random() < 0.03:
            item, qty = basket[k][0]
            back = min(days - 1, d + int(rng.integers(1, 15)))
            returns.append((back, int(rng.integers(8 * 60, 18 * 60)), cid, country, item, qty))
        invoice += 1
    for back, minute, cid, country, item, qty in returns:
        code, desc, price, _ = ITEMS[item]
        when = t0 + pd.Timedelta(days=back, minutes=minute)
        out.append((f"C{invoice}", code, desc, -qty, when.strftime("%Y-%m-%d %H:%M"), price,
                    cid, country))  # fmt: skip
        invoice += 1
    frame = pd.DataFrame(out, columns=list(COLUMNS))
    frame = frame.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable").reset_index(drop=True)
    return frame
