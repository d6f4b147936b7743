"""The supervised text model: TF-IDF word 1-2 grams + logistic regression, cross-validated.

Wherever texts carry a label (a star rating, a satisfaction score, a churn label) the model
learns which words mark the label: the words of a *negation's scope* are marked (``not good`` ->
``not neg_good``, :func:`~core.models.text._base.negate`), terms are word unigrams and bigrams
seen in at least ``min_df`` texts, weighted by sublinear TF-IDF, and an L2 logistic regression
whose strength ``C`` is chosen by stratified k-fold ROC AUC on the training texts (the
vectoriser is refitted in every fold, so no fold sees its own vocabulary). :meth:`TextModel.card`
is its model card.

:func:`plain_baseline` is the same task "fitted the plain way" (scikit-learn's defaults: a
``TfidfVectorizer()`` and a ``LogisticRegression()``): the yardstick the issue sets.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.common.errors import ModelError
from core.common.progress import Progress, ticker
from core.common.rng import SKLEARN_SEED_HIGH, seed_of
from core.models.text._base import as_texts, negate

#: Inverse regularisation strengths tried by cross-validation.
DEFAULT_CS: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0)


def _vectorizer(min_df: int, max_features: int | None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        preprocessor=negate,
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )


@dataclass(kw_only=True, eq=False)
class TextModel:
    """P(label) of a text: TF-IDF word 1-2 grams with negation marks + logistic regression.

    Parameters
    ----------
    Cs : sequence of float
        Regularisation strengths tried; the best by cross-validated ROC AUC is refitted on all.
    folds : int
        Stratified folds of the cross-validation (fewer when a class is rarer).
    min_df : int
        Fewest texts a term must appear in (1 below 200 texts).
    max_features : int or None
        Largest vocabulary (most frequent terms).
    target : str
        What the label means, for the model card (e.g. "rating in the lowest two points").
    random_state : int, Generator or None
        Seed of the folds and the solver.

    Attributes
    ----------
    C_ : float
    cv_auc_ : dict
        C -> mean ROC AUC over the folds.
    vectorizer_, model_ :
        The fitted scikit-learn objects.
    n_train_, base_rate_, seconds_ :
        Texts, share of positives and fitting time.
    """

    Cs: Sequence[float] = DEFAULT_CS
    folds: int = 5
    min_df: int = 2
    max_features: int | None = 200_000
    target: str = "label"
    random_state: np.random.Generator | int | None = 0

    def fit(
        self, texts: Iterable[object], y: Iterable[Any], *, progress: Progress | None = None
    ) -> TextModel:
        """Choose ``C`` by cross-validation and fit on all ``texts``; returns self."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold

        start = time.perf_counter()
        x = as_texts(texts)
        target = np.asarray(list(y), dtype=np.float64)
        if len(target) != len(x):
            raise ModelError(f"{len(x)} texts but {len(target)} labels.")
        if not np.isin(target, (0.0, 1.0)).all():
            raise ModelError("the text model's labels must be 0/1.")
        positives = int(target.sum())
        rare = min(positives, len(target) - positives)
        if rare < 2:
            raise ModelError(
                f"the labelled texts have {positives} positive and {len(target) - positives} "
                "negative example(s): the text model needs at least 2 of each."
            )
        if not self.Cs or any(c <= 0 for c in self.Cs):
            raise ModelError(f"Cs={list(self.Cs)}: give positive numbers.")
        seed = seed_of(self.random_state, high=SKLEARN_SEED_HIGH)
        min_df = self.min_df if len(x) >= 200 else 1
        k = int(min(self.folds, rare))
        arr = np.asarray(x, dtype=object)
        tick = ticker(progress, (k * len(self.Cs) if k >= 2 else 0) + 1)
        scores: dict[float, list[float]] = {float(c): [] for c in self.Cs}
        if k >= 2:
            split = StratifiedKFold(k, shuffle=True, random_state=seed).split(arr, target)
            for tr, te in split:
                vec = _vectorizer(min_df, self.max_features)
                xtr, xte = vec.fit_transform(arr[tr]), vec.transform(arr[te])
                for c in self.Cs:
                    model = LogisticRegression(C=float(c), max_iter=3000, random_state=seed)
                    p = model.fit(xtr, target[tr]).predict_proba(xte)[:, 1]
                    scores[float(c)].append(float(roc_auc_score(target[te], p)))
                    tick()
            self.cv_auc_ = {c: float(np.mean(v)) for c, v in scores.items()}
            self.C_ = max(self.cv_auc_, key=lambda c: (self.cv_auc_[c], -abs(np.log(c))))
        else:
            self.cv_auc_ = {}
            self.C_ = float(self.Cs[len(self.Cs) // 2])
        self.vectorizer_ = _vectorizer(min_df, self.max_features)
        matrix = self.vectorizer_.fit_transform(arr)
        self.model_ = LogisticRegression(C=self.C_, max_iter=3000, random_state=seed)
        self.model_.fit(matrix, target)
        tick()
        self.folds_ = k
        self.n_train_ = len(x)
        self.base_rate_ = positives / len(x)
        self.seconds_ = time.perf_counter() - start
        return self

    def predict_proba(self, texts: Iterable[object]) -> np.ndarray:
        """P(label = 1) of each text, float ``[n]``."""
        if not hasattr(self, "model_"):
            raise ModelError("TextModel is not fitted: call fit(texts, y) first.")
        return self.model_.predict_proba(self.vectorizer_.transform(as_texts(texts)))[:, 1]

    def top_terms(self, k: int = 15) -> dict[str, list[str]]:
        """The ``k`` terms that push most toward the label and most away from it."""
        if not hasattr(self, "model_"):
            raise ModelError("TextModel is not fitted: call fit(texts, y) first.")
        names = np.asarray(self.vectorizer_.get_feature_names_out())
        coef = self.model_.coef_[0]
        order = np.argsort(coef)
        return {"toward": names[order[::-1][:k]].tolist(), "away": names[order[:k]].tolist()}

    def card(self, held_out: dict[str, Any] | None = None) -> dict[str, Any]:
        """The model card: what it predicts, from what, how well, and its limits."""
        if not hasattr(self, "model_"):
            raise ModelError("TextModel is not fitted: call fit(texts, y) first.")
        return {
            "model": "TF-IDF word 1-2 grams (negation-marked, sublinear) + L2 logistic regression",
            "target": self.target,
            "training_texts": self.n_train_,
            "base_rate": self.base_rate_,
            "vocabulary": int(len(self.vectorizer_.vocabulary_)),
            "min_df": int(self.vectorizer_.min_df),
            "C": self.C_,
            "cross_validation": {
                "folds": self.folds_,
                "metric": "ROC AUC",
                "by_C": {str(c): v for c, v in self.cv_auc_.items()},
            },
            "held_out": held_out,
            "top_terms": self.top_terms(10),
            "intended_use": "rank texts by how likely their writer is unhappy; a feature of the "
            "churn and satisfaction models",
            "limitations": [
                "English only; words never seen in training carry no weight",
                "sarcasm and irony are read literally",
                "a probability for the training data's base rate: recalibrate on new sources",
            ],
            "seconds": self.seconds_,
        }


def plain_baseline(
    train_texts: Iterable[object],
    train_y: Iterable[Any],
    test_texts: Iterable[object],
) -> np.ndarray:
    """TF-IDF + logistic regression fitted the plain way (scikit-learn defaults): P(label)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer()
    x = vec.fit_transform(as_texts(train_texts))
    model = LogisticRegression().fit(x, np.asarray(list(train_y), dtype=np.float64))
    return model.predict_proba(vec.transform(as_texts(test_texts)))[:, 1]
