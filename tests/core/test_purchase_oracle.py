"""The generator's own holdout forecast (``core.data.synthetic.purchase_oracle``).

On a plain BG/NBD log the oracle must agree with BG/NBD's closed-form conditional expectation
at the true parameters; the look-alike ceiling over seeds is measured by
``benchmarks/timing.py --oracle`` (docs/timing.md), not here.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import OptionError
from core.data.purchases import read_purchases
from core.data.synthetic.purchase_oracle import oracle_holdout
from core.data.synthetic.purchases import CDNOW_BGNBD, CDNOW_LOOKALIKE, purchase_log
from core.models.timing import BetaGeoModel, rfm_summary
from core.models.timing._base import Fit

CAL, HOLD = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def plain() -> tuple:
    raw = purchase_log(300, 3)
    rfm = rfm_summary(read_purchases(raw), CAL, HOLD)
    true = BetaGeoModel()
    true.fit_ = Fit(
        params=dict(CDNOW_BGNBD), se={}, loglik=0.0, n=0, iterations=0, converged=True, seconds=0
    )
    return raw, rfm, true


def test_oracle_on_a_plain_log_is_bgnbd_conditional_expectation(plain: tuple) -> None:
    raw, rfm, true = plain
    o = oracle_holdout(raw, CAL, HOLD, draws=400, replicates=0, rng=0)
    assert list(o.expected.index) == list(rfm.index)
    closed = true.expected(rfm.attrs["holdout_weeks"], rfm)
    got = o.expected.to_numpy()
    # the oracle counts purchase days (as the log records them), BG/NBD counts purchases
    assert got.sum() == pytest.approx(closed.sum(), rel=0.02)
    assert np.corrcoef(got, closed)[0, 1] > 0.995
    assert np.all(np.abs(got - closed) < 0.1 + 0.1 * closed)
    # P(alive) of customers with one or two repeat purchases carries Monte Carlo error
    gap = np.abs(o.p_alive.to_numpy() - true.p_alive(rfm))
    assert gap.mean() < 0.02 and gap.max() < 0.15
    np.testing.assert_array_equal(o.actual.to_numpy(), rfm["holdout_frequency"].to_numpy())


def test_the_check_fails_for_a_wrong_process(plain: tuple) -> None:
    raw, rfm, true = plain
    closed = true.expected(rfm.attrs["holdout_weeks"], rfm).sum()
    wrong = oracle_holdout(raw, CAL, HOLD, deviations=CDNOW_LOOKALIKE, draws=400, replicates=0)
    assert abs(wrong.expected.sum() / closed - 1.0) > 0.05


def test_predictive_replicates_centre_on_the_expectation() -> None:
    raw = purchase_log(300, 5, deviations=CDNOW_LOOKALIKE)
    o = oracle_holdout(raw, CAL, HOLD, deviations=CDNOW_LOOKALIKE, draws=300, replicates=100)
    tot = o.replicate_totals
    assert tot.shape == (100,) and o.replicate_correlations.shape == (100,)
    assert abs(tot.mean() - o.expected.sum()) < 4.0 * tot.std() / np.sqrt(tot.size)
    assert (o.effective_draws > 20).all()


def test_bad_options() -> None:
    raw = purchase_log(20, 0)
    with pytest.raises(OptionError, match="draws"):
        oracle_holdout(raw, CAL, HOLD, draws=5)
    with pytest.raises(OptionError, match="holdout_end"):
        oracle_holdout(raw, HOLD, CAL)
