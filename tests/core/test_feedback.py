"""Feedback texts: reading and its bad inputs, the leakage guard, scores, topics, per-customer
features, the synthetic feedback, and the ``feedback`` command.

Small fixtures only; the >= 5,000-review comparison and the scoring speed are measured by
``python -m core feedback`` on ``tests/fixtures/make_reviews.py`` and ``benchmarks/feedback.py``
(README).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main as cli
from core.common.errors import DataValidationError
from core.data.catalog import load_catalog
from core.data.feedback import (
    check_text_source,
    guard_texts,
    read_feedback,
    text_feature_columns,
)
from core.data.synthetic import generate_frame
from core.data.synthetic.feedback import EXIT_CHANNEL, OUTCOME_START, feedback_frame
from core.data.synthetic.reviews import review_frame
from core.models.features import PortfolioFeatures
from core.models.text import (
    TopicRules,
    evaluate_feedback,
    lexicon_scores,
    negate,
    score_texts,
    synthetic_text_features,
)
from core.opportunity.estimators._common import pretreatment_columns


@pytest.fixture(scope="module")
def population() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_frame(600, seed=3)


# --- reading and bad inputs ---------------------------------------------------------------


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "fb.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _run(args: list[str], capsys) -> tuple[int, str]:
    code = cli(args)
    return code, capsys.readouterr().err


def test_numeric_text_column_is_refused(tmp_path: Path, capsys) -> None:
    path = _csv(tmp_path, pd.DataFrame({"comment": [1, 2, 5, 4], "stars": [1, 2, 5, 4]}))
    code, err = _run(["feedback", str(path), "--text", "comment", "--report", "r.json"], capsys)
    assert code == 2 and "comment" in err and "Traceback" not in err


def test_binary_bytes_are_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "fb.csv"
    path.write_bytes(b"comment\nfine thanks\n\x00\x01\x02\x03\x89PNG\x00\x00\n")
    code, err = _run(["feedback", str(path), "--text", "comment", "--report", "r.json"], capsys)
    assert code == 2 and "binary" in err and "Traceback" not in err
    pq = tmp_path / "fb.parquet"
    pd.DataFrame({"comment": [b"\x89PNG\x00\x01", b"\x00\x00"]}).to_parquet(pq)
    code, err = _run(["feedback", str(pq), "--text", "comment", "--report", "r.json"], capsys)
    assert code == 2 and "'comment'" in err and "binary" in err


def test_no_texts_at_all_is_refused(tmp_path: Path, capsys) -> None:
    path = _csv(tmp_path, pd.DataFrame({"comment": ["", " ", None], "id": ["a", "b", "c"]}))
    code, err = _run(["feedback", str(path), "--text", "comment", "--report", "r.json"], capsys)
    assert code == 2 and "comment" in err


def test_ratings_outside_the_scale_are_refused(tmp_path: Path, capsys) -> None:
    path = _csv(tmp_path, pd.DataFrame({"comment": ["good", "bad", "ok"], "stars": [5, 9, 3]}))
    args = ["feedback", str(path), "--text", "comment", "--rating", "stars", "--report", "r"]
    code, err = _run(args, capsys)
    assert code == 2 and "stars" in err and "row 2" in err


def test_dates_that_do_not_parse_are_refused(tmp_path: Path, capsys) -> None:
    frame = pd.DataFrame({"comment": ["good", "bad"], "when": ["2024-01-03", "someday"]})
    path = _csv(tmp_path, frame)
    args = ["feedback", str(path), "--text", "comment", "--date", "when", "--report", "r"]
    code, err = _run(args, capsys)
    assert code == 2 and "when" in err


def test_a_one_megabyte_cell_is_capped_and_said(tmp_path: Path) -> None:
    big = "slow network " * 80_000  # ~1 MB
    frame = pd.DataFrame({"comment": ["fine", big], "stars": [5, 1]})
    path = _csv(tmp_path, frame)
    table = read_feedback(path, text="comment", rating="stars")
    assert len(big) > 1_000_000
    assert table.n_capped == 1 and len(table.frame.loc[1, "text"]) == 20_000
    assert any("capped" in n for n in table.notes)
    report = tmp_path / "r.json"
    assert (
        cli(["feedback", str(path), "--text", "comment", "--report", str(report), "--quiet"]) == 0
    )
    assert json.loads(report.read_text())["capped"] == 1


def test_a_category_given_as_the_text_column_is_said(ibm_path) -> None:
    """The real file's contract type is no feedback: the notes say it looks like a category;
    varied written texts pass without that note."""
    table = read_feedback(ibm_path, text="Contract")
    assert table.n == 7043
    said = [n for n in table.notes if "looks like a category" in n]
    assert len(said) == 1 and "'Contract' holds only 3 distinct value(s)" in said[0], table.notes
    table = read_feedback(pd.DataFrame({"c": [f"text number {i}" for i in range(150)]}), text="c")
    assert not any("looks like a category" in n for n in table.notes)


# --- leakage guard ------------------------------------------------------------------------


def test_guard_drops_outcome_texts_and_texts_after_the_cutoff(population) -> None:
    fb = feedback_frame(*population, seed=3)
    assert (fb["channel"] == EXIT_CHANNEL).any() and (fb["date"] >= OUTCOME_START).any()
    kept, report = guard_texts(fb, cutoff=OUTCOME_START)
    assert not (kept["channel"] == EXIT_CHANNEL).any()
    assert (kept["date"] < OUTCOME_START).all()
    assert report.outcome_channel == int((fb["channel"] == EXIT_CHANNEL).sum())
    assert report.n_kept == len(kept) < len(fb)
    assert any("leakage guard" in n for n in report.notes)


def test_churn_reason_is_never_a_text_source() -> None:
    with pytest.raises(DataValidationError, match="Churn Reason"):
        check_text_source("Churn Reason")
    check_text_source("Customer Comment")


def test_text_features_join_churn_model_but_only_traits_join_the_estimators(population) -> None:
    customers, truth = population
    joined, tf = synthetic_text_features(customers, truth, seed=3)
    cols = text_feature_columns(joined.columns)
    traits = text_feature_columns(joined.columns, pretreatment=True)
    assert "text_n" in cols and traits and set(traits) < set(cols)
    assert (tf.scored["date"] < OUTCOME_START).all()  # the guard ran before scoring
    pf = PortfolioFeatures(load_catalog("seed")).fit(joined)
    assert set(cols) <= set(pf.numeric_)
    assert not set(cols) & set(pf.extras_.numeric)  # read once, not again as extra columns
    pre = pretreatment_columns(joined.columns, load_catalog("seed"))
    assert set(traits) <= set(pre) and not (set(cols) - set(traits)) & set(pre)


def test_text_features_track_latent_churn(population) -> None:
    customers, truth = population
    joined, _ = synthetic_text_features(customers, truth, seed=3)
    writers = joined["text_n"].to_numpy() > 0
    churn = customers["Churn Value"].to_numpy() == 1
    cancel = [c for c in joined.columns if c.endswith("cancellation")]
    assert cancel
    x = joined[cancel[0]].to_numpy()
    assert x[writers & churn].mean() > x[writers & ~churn].mean()


# --- scores and topics ---------------------------------------------------------------------


def test_lexicon_and_negation() -> None:
    s = lexicon_scores(["Great service, very friendly!", "Awful. Never again.", ""])
    assert s[0] > 0.5 and s[1] < -0.3 and s[2] == 0.0
    assert "neg_good" in negate("not good at all")


def test_topics_from_an_edited_toml(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text('[topics.roaming]\nlabel = "Roaming"\nkeywords = ["roaming", "abroad"]\n')
    rules = TopicRules.load(path)
    m = rules.match(["Roaming charges abroad were huge", "fine"])
    assert m["roaming"].tolist() == [True, False]


def test_supervised_beats_the_lexicon_on_a_small_review_set() -> None:
    frame = review_frame(1500, 4)
    table = read_feedback(frame, text="text", rating="stars", date="date")
    rep = evaluate_feedback(table, seed=0).to_dict()
    sup, lex = rep["supervised"], rep["lexicon"]
    assert sup["auc_unhappy"] > lex["auc_unhappy"] > 0.5
    assert {"auc_unhappy", "spearman"} <= set(sup["plain_tfidf_logreg"])
    assert sup["card"]["cross_validation"]["folds"] >= 3


def test_cli_report_keys_and_scores_file(tmp_path: Path, capsys) -> None:
    path = _csv(tmp_path, review_frame(600, 1), "reviews.csv")
    report, out = tmp_path / "r.json", tmp_path / "s.parquet"
    args = ["feedback", str(path), "--text", "text", "--rating", "stars", "--seed", "1"]
    assert cli([*args, "--report", str(report), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    rep = json.loads(report.read_text())
    assert set(rep) >= {"n", "lexicon", "supervised", "seconds"}
    for key in ("lexicon", "supervised"):
        assert {"auc_unhappy", "spearman"} <= set(rep[key])
    scored = pd.read_parquet(out)
    assert len(scored) == 600 and "sentiment" in scored.columns
    assert np.isfinite(scored["sentiment"]).all()


def test_score_texts_columns() -> None:
    table = read_feedback(
        pd.DataFrame({"t": ["Too expensive, cancelling", "Network drops all the time"]}), text="t"
    )
    scored = score_texts(table.frame)
    assert {"sentiment", "complaint"} <= set(scored.columns)
    assert any(c.startswith("topic_") for c in scored.columns)


def test_opportunity_check_with_texts_runs(tmp_path: Path, capsys) -> None:
    report = tmp_path / "o.json"
    args = ["opportunity-check", "--rows", "300", "--texts", "--estimators", "dr"]
    assert cli([*args, "--no-decision", "--report", str(report), "--quiet"]) == 0
    capsys.readouterr()
    assert "dr" in json.loads(report.read_text())


def test_demo_data_writes_feedback_independent_of_chunking(tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    args = ["demo-data", "--rows", "250", "--seed", "9", "--feedback", "--quiet", "--out"]
    assert cli([*args, str(a), "--chunk-size", "100"]) == 0
    assert cli([*args, str(b), "--chunk-size", "1000"]) == 0
    assert "feedback" in json.loads(capsys.readouterr().out.splitlines()[-1])
    from core.data.synthetic import feedback_path

    fa, fb = pd.read_parquet(feedback_path(a)), pd.read_parquet(feedback_path(b))
    pd.testing.assert_frame_equal(fa, fb)
    assert set(fa["Customer ID"]) <= set(pd.read_parquet(a)["Customer ID"])


# --- the dr estimator with texts --------------------------------------------------------------


def test_dr_adjusts_for_text_traits_in_propensity_and_effect_models(population, monkeypatch):
    from core.opportunity.estimators import doubly_robust as drm
    from core.opportunity.estimators._common import FeatureEncoder

    customers, truth = population
    joined, _ = synthetic_text_features(customers, truth, seed=3)
    cat = load_catalog("seed")
    traits = text_feature_columns(joined.columns, pretreatment=True)
    assert traits
    seen: list[np.ndarray] = []
    real = drm._nuisances

    def spy(w, *args, **kwargs):  # the matrix the propensity and outcome models are fitted on
        seen.append(w)
        return real(w, *args, **kwargs)

    monkeypatch.setattr(drm, "_nuisances", spy)
    model = drm.DoublyRobustEffects(cat, random_state=0).fit(joined)
    fitted = [j for j, m in enumerate(model.effects_) if m is not None]
    assert fitted and len(seen) == len(fitted)
    for w, j in zip(seen, fitted, strict=True):
        cov = model.covariates(j)
        assert w.shape[1] == len(cov)
        assert model.effects_[j].beta_.shape[0] == len(cov) + 1  # effect model: intercept + cov
        for t in traits:
            assert w[:, cov.index(t)].std() > 0  # the trait varies in the propensity's matrix
        # sentiment, complaints, text_has ... are consequences of the portfolio: never covariates
        assert [c for c in cov if c.startswith("text_")] == traits
    # the effect of a writer moves with what they write about
    held = cat.holdings(joined)
    before, _ = model.predict(joined, held)
    moved = joined.copy()
    writers = moved["text_n"].to_numpy() > 0
    moved.loc[writers, traits] = 1.0 - moved.loc[writers, traits]
    after, _ = model.predict(moved, held)
    assert not np.allclose(after[writers], before[writers])
    assert np.allclose(after[~writers], before[~writers])
    # customers without texts sit at the writers' mean share, not at 0; without the shrinkage
    # (trait_prior=0) they are at 0 as in the raw column
    enc = model.encoder_
    x = enc.transform(joined)
    i = enc.columns.index(traits[0])
    mean = dict(enc.traits)[traits[0]]
    assert mean == pytest.approx(joined.loc[writers, traits[0]].mean())
    _, _, mu, sd = enc.numeric[i]
    assert np.allclose(x[~writers, i], (mean - mu) / sd, atol=1e-6)
    raw = FeatureEncoder.fit(joined, cat)
    assert not raw.traits
    assert np.allclose(
        raw.transform(joined)[~writers, i], (0 - raw.numeric[i][2]) / raw.numeric[i][3]
    )
    # without text columns the shrinkage changes nothing (the dashboard's numbers stay)
    plain = FeatureEncoder.fit(customers, cat, trait_prior=1.0)
    assert not plain.traits
    assert np.array_equal(
        plain.transform(customers), FeatureEncoder.fit(customers, cat).transform(customers)
    )


def test_outcome_texts_never_reach_the_dr_covariates(population) -> None:
    from core.models.text import text_features_for
    from core.opportunity.estimators._common import FeatureEncoder

    customers, truth = population
    fb = feedback_frame(customers, truth, seed=3)
    late = (fb["date"] >= OUTCOME_START) | (fb["channel"] == EXIT_CHANNEL)
    assert late.any()
    # outcome texts that would shout "price" if they leaked
    loud = fb[late].assign(text="Too expensive, the price is a joke, cancelling over the cost.")
    cols = {"text": "text", "id": "Customer ID", "date": "date", "rating": "rating"}
    cols["channel"] = "channel"
    kw = {"cutoff": OUTCOME_START, "random_state": 3}
    with_late = text_features_for(
        customers, read_feedback(pd.concat([fb[~late], loud]), **cols), **kw
    )
    without = text_features_for(customers, read_feedback(fb[~late], **cols), **kw)
    assert with_late.guard.n_in - with_late.guard.n_kept == int(late.sum())
    pd.testing.assert_frame_equal(with_late.features, without.features)
    cat = load_catalog("seed")
    a, b = with_late.join(customers), without.join(customers)
    enc = FeatureEncoder.fit(a, cat, trait_prior=1.0)
    assert any(c.startswith("text_trait_") for c in enc.columns)
    assert np.array_equal(
        enc.transform(a), FeatureEncoder.fit(b, cat, trait_prior=1.0).transform(b)
    )
