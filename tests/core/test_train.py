"""Training pipeline and the ``train`` CLI: artifacts, metrics.json, reuse, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core import cli
from core.models import AcceptanceModels, KeyFactorModels
from core.models import train as train_module
from core.models.persist import load_artifact
from core.models.train import HEADLINE, dotted, load_or_train, train


@pytest.fixture(scope="module")
def frame(synthetic_frame):
    return synthetic_frame(600, 11)


@pytest.fixture(scope="module")
def trained(frame, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("models")
    seen: list[float] = []
    result = train(
        frame,
        out,
        catalog="seed",
        data_sha256="ee" * 32,
        n_splits=3,
        progress=lambda d, t: seen.append(d / t),
        mapping="my_export.toml",
    )
    assert seen == sorted(seen) and seen[-1] == 1.0
    return out, result


def test_train_writes_everything(trained) -> None:
    out, result = trained
    names = {p.name for p in out.iterdir()}
    for stem in ("key_factors", "acceptance"):
        assert {f"{stem}.joblib", f"{stem}.json", f"{stem}.md"} <= names
    metrics = json.loads((out / "metrics.json").read_text())
    for name in HEADLINE:
        value = dotted(metrics, name)
        assert isinstance(value, float), name
    assert metrics["dotted_names"] == {n: dotted(metrics, n) for n in HEADLINE}
    assert 0.5 < metrics["churn"]["roc_auc"] <= 1
    assert metrics["data_sha256"] == "ee" * 32
    kf = load_artifact(out / "key_factors.joblib", trusted_dir=out)
    assert isinstance(kf, KeyFactorModels) and kf.factors_ == ("cltv", "churn", "satisfaction")
    card = (out / "key_factors.md").read_text()
    assert "Churn Score" in card and "## Metrics" in card and "roc_auc" in card
    # the card's command makes the same models: the mapping and folds used, defaults left out
    assert (
        "python -m core train DATA --models DIR --mapping my_export.toml --catalog seed "
        "--cltv-model hgb --folds 3 --seed 0"
    ) in card
    assert "--model-preset" not in card
    assert result["files"] and all(Path(f).is_file() for f in result["files"])


def test_load_or_train_reuses_then_retrains(frame, trained) -> None:
    out, _ = trained
    got = load_or_train(frame, out, "ee" * 32, "seed")
    assert got.trained is False
    assert isinstance(got.acceptance, AcceptanceModels)
    assert (
        got.metrics["churn"]["roc_auc"]
        == json.loads((out / "metrics.json").read_text())["churn"]["roc_auc"]
    )


def test_load_or_train_trains_when_empty(frame, tmp_path) -> None:
    small = frame.head(300)
    first = load_or_train(small, tmp_path, "aa" * 32, "seed", n_splits=2)
    assert first.trained is True and (tmp_path / "metrics.json").is_file()
    again = load_or_train(small, tmp_path, "aa" * 32, "seed", n_splits=2)
    assert again.trained is False


def test_fast_preset_is_trained_recorded_and_not_mistaken_for_accurate(frame, tmp_path) -> None:
    small = frame.head(300)
    fast = load_or_train(small, tmp_path, "ab" * 32, "seed", preset="fast", n_splits=2)
    assert fast.trained is True
    assert fast.key_factors.preset == "fast" and fast.key_factors.churn_kind_ == "hgb"
    assert fast.metrics["satisfaction"]["model"] == "regression"
    card = (tmp_path / "key_factors.md").read_text()
    assert "fast preset" in card and "--model-preset fast --folds 2 --seed 0" in card
    assert load_or_train(small, tmp_path, "ab" * 32, "seed", preset="fast").trained is False
    accurate = load_or_train(small, tmp_path, "ab" * 32, "seed", n_splits=2)
    assert accurate.trained is True and accurate.key_factors.preset == "accurate"


class _Retrain(Exception):
    pass


def _no_training(*args, **kwargs):
    raise _Retrain


@pytest.mark.parametrize("case", ["tampered", "other data", "other catalog", "versions"])
def test_load_or_train_refuses_stale_artifacts(case, frame, trained, tmp_path, monkeypatch) -> None:
    src, _ = trained
    out = tmp_path / "models"
    shutil.copytree(src, out)
    monkeypatch.setattr(train_module, "train", _no_training)
    assert load_or_train(frame, out, "ee" * 32, "seed").trained is False  # control: reused
    sha, catalog = "ee" * 32, "seed"
    if case == "tampered":
        path = out / "acceptance.joblib"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif case == "other data":
        sha = "bb" * 32
    elif case == "other catalog":
        catalog = "full"
    else:
        side = out / "key_factors.json"
        info = json.loads(side.read_text())
        info["versions"]["numpy"] = "1.0.0"
        side.write_text(json.dumps(info))
    with pytest.raises(_Retrain):
        load_or_train(frame, out, sha, catalog)


@pytest.fixture()
def run_cli():
    assert "core.cli.train" in cli.COMMAND_MODULES  # `train` is a built-in command
    return cli.main


def test_cli_classic_layout(run_cli, fixtures_dir, tmp_path, capsys) -> None:
    out = tmp_path / "m"
    code = run_cli(
        ["train", str(fixtures_dir / "classic_telco.csv"), "--models", str(out), "--folds", "3"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["unavailable_factors"] == ["cltv", "satisfaction"]
    assert "train 40 customers" in captured.err  # progress bar on stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert isinstance(dotted(metrics, "churn.roc_auc"), float)
    assert dotted(metrics, "cltv.r2") is None and metrics["cltv"]["available"] is False
    assert dotted(metrics, "satisfaction.r2") is None


def test_cli_bad_data_exits_2(run_cli, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Customer ID,Tenure in Months\n1,3\n")
    code = run_cli(["train", str(bad), "--models", str(tmp_path / "m"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "required column(s)" in err
    assert not (tmp_path / "m").exists()


def test_cli_bad_catalog_exits_2(run_cli, fixtures_dir, tmp_path, capsys) -> None:
    code = run_cli(
        [
            "train",
            str(fixtures_dir / "classic_telco.csv"),
            "--models",
            str(tmp_path / "m"),
            "--catalog",
            "nope",
            "--quiet",
        ]
    )
    assert code == 2 and "no catalog named 'nope'" in capsys.readouterr().err
