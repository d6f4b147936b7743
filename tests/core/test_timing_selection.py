"""How ``fit_timing`` chooses the model kept (:func:`select_model`): AIC of the likelihood
models on the calibration period, a challenger only when significantly better on validation.

The look-alike holdout figures over seeds are measured by ``benchmarks/timing.py`` (README).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core.common.errors import OptionError
from core.data.purchases import read_purchases
from core.data.synthetic.purchases import CDNOW_LOOKALIKE, purchase_log
from core.models.timing import deviance, fit_timing, metrics, select_model

CAL, HOLD = "1997-09-30", "1998-06-30"


def _fitted(loglik: float, k: int) -> SimpleNamespace:
    return SimpleNamespace(fit_=SimpleNamespace(params=dict.fromkeys(range(k), 1.0), loglik=loglik))


def _models(seasonal_gain: float) -> dict[str, object]:
    return {
        "bgnbd": _fitted(-1000.0, 4),
        "paretonbd": _fitted(-1003.0, 4),
        "bgnbd_seasonal": _fitted(-1000.0 + seasonal_gain, 6),
    }


def test_aic_charges_the_seasonal_clock_for_its_two_parameters() -> None:
    low = select_model(_models(1.5), {}, {}, np.zeros(0))
    assert low["model"] == "bgnbd"
    assert low["aic"]["bgnbd"] == pytest.approx(2008.0)
    assert low["aic"]["bgnbd_seasonal"] == pytest.approx(2009.0)
    assert select_model(_models(2.5), {}, {}, np.zeros(0))["model"] == "bgnbd_seasonal"


def test_a_challenger_must_beat_the_kept_model_by_two_standard_errors() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(1.0, 2000).astype(float)
    base = np.ones(2000)
    fitted = {**_models(0.0), "gbm": (object(), _fitted(-1000.0, 4))}
    # closer to the truth on a few customers, noisier on all: better on average, not significantly
    noisy = base * np.exp(np.random.default_rng(1).normal(0.0, 0.15, 2000))
    noisy[:40] = np.maximum(y[:40], 0.05)
    small = select_model(fitted, {}, {"bgnbd": base, "gbm": noisy}, y)
    ch = small["challengers"]["gbm"]
    assert small["model"] == "bgnbd" and not ch["kept"] and ch["deviance_gain"] > 0
    assert ch["deviance_gain"] < 2 * ch["se"]
    # much closer on every customer: kept
    good = np.maximum(0.5 * base + 0.5 * y, 0.05)
    big = select_model(fitted, {}, {"bgnbd": base, "gbm": good}, y)
    assert big["model"] == "gbm" and big["challengers"]["gbm"]["kept"]
    gain = float(np.mean(deviance(base, y) - deviance(good, y)))
    assert big["challengers"]["gbm"]["deviance_gain"] == pytest.approx(gain)


def test_the_former_rule_keeps_the_lowest_validation_deviance() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0])
    preds = {"bgnbd": np.full(4, 1.5), "paretonbd": np.full(4, 1.0), "gbm": y + 0.1}
    val = {m: metrics(p, y) for m, p in preds.items()}
    fitted = {**_models(0.0), "gbm": (object(), _fitted(-1000.0, 4))}
    fitted.pop("bgnbd_seasonal")
    assert select_model(fitted, val, preds, y, rule="validation")["model"] == "gbm"
    del val["gbm"]
    assert select_model(fitted, val, preds, y, rule="validation")["model"] == "bgnbd"


def test_fit_timing_reports_its_selection_and_checks_the_rule() -> None:
    log = read_purchases(purchase_log(600, 3, deviations=CDNOW_LOOKALIKE))
    rep = fit_timing(log, CAL, HOLD, models=["bgnbd", "paretonbd"]).report()
    sel = rep["selection"]
    assert sel["rule"] == "aic" and set(sel["aic"]) == {"bgnbd", "paretonbd"}
    assert rep["model"] == min(sel["aic"], key=sel["aic"].get)
    with pytest.raises(OptionError, match="selection rule"):
        fit_timing(log, CAL, HOLD, models=["bgnbd"], selection_rule="holdout")
