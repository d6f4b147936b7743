"""Assignment files for the next test: who gets which arm, with a seeded random holdout.

Each customer's draw comes from ``(seed, customer id)`` (:func:`core.common.rng.customer_keys`),
so a customer's arm does not depend on the order or the batching of the customer list, and the
same seed gives the same file. Every row carries the probability of the arm it was given, so
the campaign that follows can be read back as a log (``--propensity probability``) and analysed
without assumptions.

* :func:`randomized`: every customer is randomized over the arms with given shares;
* :func:`targeted`: every customer gets the arm the learned targeting recommends, except a
  random holdout (the control group) of ``control_share`` that measures the targeting's lift.

:func:`write_assignments` writes the file through :func:`core.ops.export.write_export` (atomic,
spreadsheet-safe CSV or Parquet).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import OptionError
from core.common.rng import customer_keys, seed_of, uniform_draws
from core.ops.export import ExportResult, write_export

_DOMAIN = 0xA551
COLUMNS = ("customer_id", "arm", "probability", "holdout")


def _draws(ids: Any, seed: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(ids)
    if a.ndim != 1 or len(a) == 0:
        raise OptionError("give a non-empty list of customer ids")
    if len(pd.unique(a)) != len(a):
        raise OptionError("customer ids must be unique in an assignment")
    keys = customer_keys(a, seed_of(seed))
    return a, uniform_draws(keys, _DOMAIN, np.zeros(len(a)), np.zeros(len(a)))


def randomized(
    ids: Any, arms: Sequence[str], shares: Sequence[float], *, seed: Any = 0
) -> pd.DataFrame:
    """Randomize every customer over ``arms`` with ``shares`` (arm 0 is the control group).

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``arm``, ``probability`` (the arm's share), ``holdout`` (arm 0).

    Examples
    --------
    >>> df = randomized(["a", "b", "c", "d"], ["control", "offer"], [0.5, 0.5], seed=1)
    >>> list(df.columns), set(df["arm"]) <= {"control", "offer"}
    (['customer_id', 'arm', 'probability', 'holdout'], True)
    """
    p = np.asarray(shares, dtype=np.float64)
    if len(arms) < 2 or p.shape != (len(arms),):
        raise OptionError("give at least two arms (control first) and one share per arm")
    if np.any(p <= 0) or not np.isclose(p.sum(), 1.0):
        raise OptionError(f"shares must be positive and sum to 1, got {list(shares)}")
    a, u = _draws(ids, seed)
    k = np.minimum(np.searchsorted(np.cumsum(p), u, side="right"), len(arms) - 1)
    labels = np.asarray([str(x) for x in arms], dtype=object)
    return pd.DataFrame(
        {"customer_id": a, "arm": labels[k], "probability": p[k], "holdout": k == 0}
    )


def targeted(
    ids: Any,
    recommended: Any,
    *,
    control_share: float,
    control: str = "control",
    seed: Any = 0,
) -> pd.DataFrame:
    """The recommended arm for each customer, except a random holdout kept as control.

    Parameters
    ----------
    ids : array-like
        Customer ids (unique).
    recommended : array-like of str
        The arm the targeting recommends per customer (``control`` = no contact).
    control_share : float
        Share of customers held out at random, in (0, 1).
    control : str
        The control label.
    seed : int, Generator or None
        Seed of the holdout.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``arm`` (assigned), ``probability`` (of the assigned arm),
        ``holdout`` and ``recommended``.
    """
    share = float(control_share)
    if not 0.0 < share < 1.0:
        raise OptionError(f"control_share must be in (0, 1), got {control_share!r}")
    rec = np.asarray([str(x) for x in recommended], dtype=object)
    a, u = _draws(ids, seed)
    if len(rec) != len(a):
        raise OptionError(f"give one recommended arm per customer ({len(a)}), got {len(rec)}")
    hold = u < share
    arm = np.where(hold, control, rec)
    wants_control = rec == control
    prob = np.where(wants_control, 1.0, np.where(hold, share, 1.0 - share))
    return pd.DataFrame(
        {
            "customer_id": a,
            "arm": arm.astype(object),
            "probability": prob,
            "holdout": hold,
            "recommended": rec,
        }
    )


def write_assignments(frame: pd.DataFrame, path: str | os.PathLike[str]) -> ExportResult:
    """Write an assignment table as CSV or Parquet (by suffix), atomically and safely."""
    return write_export(frame, path)
