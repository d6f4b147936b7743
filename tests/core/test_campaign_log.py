"""The campaign log format: reading CSV / Parquet, joining customers, and clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.campaigns import CampaignLog, FeatureEncoder, read_log, validate_log
from core.common.errors import DataValidationError, OptionError


def _log(n_per_arm: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arms = np.repeat(["ctl", "mail", "sms"], n_per_arm)
    return pd.DataFrame(
        {
            "who": [f"C{i:04d}" for i in range(len(arms))],
            "arm": arms,
            "bought": (rng.random(len(arms)) < 0.2).astype(int),
            "spend": np.round(rng.gamma(2.0, 20.0, len(arms)), 2),
            "age": rng.integers(18, 80, len(arms)),
            "plan": rng.choice(["basic", "plus"], len(arms)),
        }
    )


def _check(df: pd.DataFrame, **kw) -> CampaignLog:
    args = {"arm": "arm", "control": "ctl", "outcomes": ["bought", "spend"], **kw}
    return validate_log(df, **args)


def test_a_valid_log_gives_arms_kinds_propensities_and_features() -> None:
    log = _check(_log())
    assert log.arms == ("ctl", "mail", "sms") and log.control == "ctl"
    assert log.kinds == {"bought": "binary", "spend": "amount"}
    np.testing.assert_allclose(log.propensity, 1 / 3)  # observed shares when no column
    assert list(log.ids[:3]) == [1, 2, 3]  # row numbers when no id column
    assert list(log.features.columns) == ["who", "age", "plan"]
    assert log.counts() == {"ctl": 40, "mail": 40, "sms": 40}
    assert "observed shares" in log.notes[0]
    sub = log.subset(log.arm == 1)
    assert sub.n == 40 and set(sub.labels()) == {"mail"} and sub.arms == log.arms


def test_listed_arms_keep_their_order_and_propensity_column_is_used() -> None:
    df = _log()
    df["p"] = np.where(df["arm"] == "ctl", 0.5, 0.25)
    log = _check(df, arms=["sms", "mail"], propensity="p", id="who")
    assert log.arms == ("ctl", "sms", "mail")
    np.testing.assert_allclose(log.propensity, df["p"])
    assert log.ids[0] == "C0000" and "who" not in log.features.columns


def test_unknown_arm_labels_are_named_with_rows_when_arms_are_listed() -> None:
    with pytest.raises(DataValidationError) as err:
        _check(_log(), arms=["mail"])
    msg = str(err.value)
    assert "column 'arm'" in msg and "other than the arms listed" in msg
    assert "rows 81, 82, 83" in msg and "'sms'" in msg
    assert err.value.failures is not None and "fix" in err.value.failures.columns


def test_no_control_rows() -> None:
    with pytest.raises(DataValidationError, match="no control rows.*'none'.*--control"):
        _check(_log(), control="none")


def test_an_arm_with_too_few_rows() -> None:
    df = pd.concat([_log(), _log(5).assign(arm="push").iloc[:5]], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"arm 'push' has 5 row\(s\), fewer than the 30"):
        _check(df)
    assert _check(df, min_rows=5).counts()["push"] == 5


def test_non_numeric_and_empty_outcomes_are_reported_once_each() -> None:
    df = _log().astype({"spend": object})
    df.loc[3, "spend"] = "$12.50"
    df.loc[7, "spend"] = None
    df.loc[9, "bought"] = np.nan
    with pytest.raises(DataValidationError) as err:
        _check(df)
    msg = str(err.value)
    assert "column 'spend': is not a number in row 4 (values: '$12.50')" in msg
    assert "column 'spend': is empty in row 8" in msg
    assert "column 'bought': is empty in row 10" in msg
    assert msg.count("row 4") == 1


def test_probabilities_outside_zero_one() -> None:
    df = _log()
    df["p"] = 0.3
    df.loc[[0, 5], "p"] = [0.0, 1.5]
    with pytest.raises(DataValidationError, match=r"column 'p': is outside \(0, 1\] in rows 1, 6"):
        _check(df, propensity="p")


def test_missing_columns_and_conflicting_roles() -> None:
    with pytest.raises(DataValidationError, match=r"\['revenue'\] not found"):
        _check(_log(), outcomes=["revenue"])
    with pytest.raises(OptionError, match="more than one role"):
        _check(_log(), outcomes=["arm"])
    with pytest.raises(OptionError, match="at least one outcome"):
        _check(_log(), outcomes=[])


def test_customer_table_is_joined_by_id_and_missing_ids_are_named() -> None:
    df = _log().drop(columns=["age", "plan"])
    customers = pd.DataFrame(
        {"who": df["who"][::-1], "age": np.arange(len(df))[::-1], "arm": "ignored"}
    )
    log = _check(df, id="who", customers=customers)
    assert list(log.features.columns) == ["age"]  # the log's own 'arm' wins
    np.testing.assert_array_equal(log.features["age"], np.arange(len(df)))
    with pytest.raises(DataValidationError, match="ids that the customer table lacks in row 1"):
        _check(df, id="who", customers=customers.iloc[:-1])
    dup = pd.concat([customers, customers.iloc[:1]])
    with pytest.raises(DataValidationError, match="not unique in the customer table"):
        _check(df, id="who", customers=dup)
    with pytest.raises(OptionError, match="--id"):
        _check(df, customers=customers)


def test_canonical_outcome_columns_never_become_features() -> None:
    df = _log().assign(**{"Churn Value": 0, "Churn Score": 50, "Tenure in Months": 3})
    log = _check(df)
    assert "Tenure in Months" in log.features.columns
    assert not {"Churn Value", "Churn Score"} & set(log.features.columns)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_log_from_files_and_bytes(tmp_path: Path, suffix: str) -> None:
    df = _log()
    path = tmp_path / f"log{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    cust = tmp_path / "customers.csv"
    df[["who", "age"]].to_csv(cust, index=False)
    log = read_log(
        path, arm="arm", control="ctl", outcomes=["bought", "spend"], id="who", customers=cust
    )
    assert log.n == len(df) and log.name == path.name
    np.testing.assert_allclose(log.y("spend"), df["spend"])
    again = read_log(path.read_bytes(), arm="arm", control="ctl", outcomes=["spend"])
    assert again.kinds == {"spend": "amount"}
    with pytest.raises(DataValidationError, match="no such file"):
        read_log(tmp_path / "nope.csv", arm="arm", control="ctl", outcomes=["spend"])


def test_feature_encoder_is_fitted_once_and_applied_anywhere() -> None:
    df = pd.DataFrame(
        {
            "age": ["30", "41", None, "55"] * 5,
            "plan": ["a", "b", "a", "c"] * 5,
            "id": [f"x{i}" for i in range(20)],
            "const": 1,
        }
    )
    enc = FeatureEncoder(min_count=1).fit(df)
    assert enc.feature_names_ == ["age", "age (missing)", "plan=a", "plan=b", "plan=c"]
    assert set(enc.dropped_) == {"id", "const"}
    new = pd.DataFrame({"age": [20.0], "plan": ["z"], "id": ["q"], "const": [1]})
    assert enc.transform(new).tolist() == [[20.0, 0.0, 0.0, 0.0, 0.0]]
    with pytest.raises(DataValidationError, match="missing"):
        enc.transform(new.drop(columns="plan"))


def test_csv_text_cells_are_coerced(tmp_path: Path) -> None:
    text = "arm,y,p\n" + "\n".join(
        f"{'c' if i % 2 else 't'}, {i % 3 == 0:d} ,0.5" for i in range(80)
    )
    log = read_log(
        io.BytesIO(text.encode()).getvalue(), arm="arm", control="c", outcomes=["y"], propensity="p"
    )
    assert log.kinds == {"y": "binary"} and log.counts() == {"c": 40, "t": 40}


def test_docstring_examples_of_the_campaigns_family_run() -> None:
    import doctest
    import importlib
    import pkgutil

    import core.campaigns as family
    import core.campaigns.uplift as uplift

    names = [f"core.campaigns.{m.name}" for m in pkgutil.iter_modules(family.__path__)]
    names += [f"core.campaigns.uplift.{m.name}" for m in pkgutil.iter_modules(uplift.__path__)]
    results = [doctest.testmod(importlib.import_module(n)) for n in names]
    assert sum(r.attempted for r in results) >= 10 and sum(r.failed for r in results) == 0
