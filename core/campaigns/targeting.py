"""Learning a targeting policy from a campaign: whom to give which arm.

The uplift model predicts every arm's effect per customer, ``tau_hat[i, k]``. Acting on the raw
predictions ("give each customer the arm of largest predicted uplift") pays off when the
effects really differ between customers and the model has seen enough rows to tell; when the
outcome is noisy (an amount such as spend) the differences it finds are mostly noise, and the
greedy policy can earn less than giving everyone the best arm.

:func:`learn_targeting` therefore tunes how far to trust the personal predictions: it targets
on::

    tau_shrunk[i, k] = lift[k] + s * (tau_hat[i, k] - lift[k])

with ``lift[k]`` the arm's average lift (difference in means) and the **personalisation
strength** ``s`` in :data:`STRENGTHS`. ``s = 0`` gives everyone the arm with the best average
lift (or nobody, when no lift is positive), ``s = 1`` is the plain greedy policy. Each strength
is judged by the doubly robust value of its policy, cross-fitted on the training rows (each
fold's policy and outcome model are fitted on the other folds, and judged on the fold's rows),
as a **gain over** ``s = 0`` with a paired standard error. The chosen strength maximises the
bound ``gain - margin * se`` (0 for ``s = 0``; ties go to the smaller strength): with
``margin = 0`` the best estimated value, with ``margin > 0`` personalising must beat the best
single arm by that many standard errors (a risk-averse choice). The final uplift model is then
fitted on all training rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from core.campaigns.lift import weighted_mean
from core.campaigns.policy import from_actions, greedy
from core.campaigns.uplift import DEFAULT_LEARNER, BaseMetaLearner, make_learner
from core.common.errors import OptionError
from core.common.rng import SKLEARN_SEED_HIGH, seed_of

#: Personalisation strengths tried (0: the best average arm for all, 1: plain greedy).
STRENGTHS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
#: Standard errors the cross-fitted gain of personalising must clear (one-sided 95%): do no
#: harm. With 0 (the largest estimated value) noisy outcomes such as spend were personalised
#: on noise and earned less than the best single arm (docs/campaigns.md).
MARGIN = 1.645
#: Folds of the cross-fitted choice.
N_FOLDS = 2


def average_lifts(codes: np.ndarray, y: np.ndarray, p: np.ndarray, n_arms: int) -> np.ndarray:
    """Weighted difference in means of every treatment arm against control, ``[n_arms - 1]``."""
    w = 1.0 / p
    m0 = weighted_mean(y[codes == 0], w[codes == 0])[0]
    return np.array([weighted_mean(y[codes == k], w[codes == k])[0] - m0 for k in range(1, n_arms)])


def shrink(tau: np.ndarray, lift: np.ndarray, strength: float) -> np.ndarray:
    """``lift + strength * (tau - lift)``, row by row."""
    return lift[None, :] + strength * (tau - lift[None, :])


@dataclass(frozen=True, eq=False)
class Targeting:
    """A learned targeting policy.

    Attributes
    ----------
    model : BaseMetaLearner
        The uplift model, fitted on all training rows.
    arms : tuple of str
        Control first, then the treatment arms; the columns of :meth:`uplift`.
    lift : numpy.ndarray
        Average lift of every treatment arm on the training rows.
    strength : float
        The chosen personalisation strength.
    sign : float
        +1 to maximise the outcome, -1 to minimise it.
    validation : pandas.DataFrame
        Cross-fitted DR value (``value``, ``se``) of the policy at every strength tried.
    """

    model: BaseMetaLearner
    arms: tuple[str, ...]
    lift: np.ndarray
    strength: float
    sign: float
    validation: pd.DataFrame

    def uplift(self, x: Any) -> np.ndarray:
        """Predicted uplift ``[n, K]`` of every treatment arm (in :attr:`arms` order)."""
        order = [self.model.arms_.index(a) - 1 for a in self.arms[1:]]
        return self.model.predict(x)[:, order]

    def outcomes(self, x: Any) -> np.ndarray:
        """Predicted outcome ``[n, 1 + K]`` under every arm (in :attr:`arms` order)."""
        order = [self.model.arms_.index(a) for a in self.arms]
        return self.model.predict_outcomes(x)[:, order]

    def actions(self, x: Any, uplift: np.ndarray | None = None) -> np.ndarray:
        """int ``[n]``: the arm (index into :attr:`arms`) each customer gets."""
        tau = self.uplift(x) if uplift is None else uplift
        return greedy(self.sign * shrink(tau, self.lift, self.strength))


def _codes(labels: np.ndarray, arms: Sequence[str]) -> np.ndarray:
    code = {a: i for i, a in enumerate(arms)}
    return np.array([code[v] for v in labels], dtype=np.int64)


def learn_targeting(
    x: np.ndarray,
    labels: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    arms: Sequence[str],
    *,
    learner: str = DEFAULT_LEARNER,
    minimize: bool = False,
    strengths: Sequence[float] = STRENGTHS,
    n_folds: int = N_FOLDS,
    margin: float = MARGIN,
    random_state: Any = 0,
    learner_params: dict[str, Any] | None = None,
) -> Targeting:
    """Fit an uplift model and choose its personalisation strength (see the module docstring).

    Parameters
    ----------
    x : numpy.ndarray
        Encoded features of the training rows.
    labels : numpy.ndarray
        Arm label of each row.
    y, p : numpy.ndarray
        Outcome and the probability of the arm received.
    arms : sequence of str
        Control first, then the treatment arms.
    learner : str
        Uplift learner (:data:`core.campaigns.uplift.LEARNERS`).
    minimize : bool
        Lower outcomes are better.
    strengths : sequence of float
        Personalisation strengths to try (each in [0, 1]).
    n_folds : int
        Folds of the cross-fitted choice (>= 2).
    margin : float
        Standard errors by which a strength's cross-fitted gain over the smallest strength
        must exceed 0 (0: take the largest estimated value).
    random_state : int, Generator or None
        Seed of the folds and the models.
    learner_params : dict, optional
        Extra learner parameters.

    Returns
    -------
    Targeting
    """
    grid = sorted({float(s) for s in strengths})
    if not grid or grid[0] < 0 or grid[-1] > 1:
        raise OptionError(f"strengths must be in [0, 1], got {list(strengths)}")
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise OptionError(f"n_folds must be a whole number >= 2, got {n_folds!r}")
    arms = tuple(str(a) for a in arms)
    labels = np.asarray(labels).astype(str)
    codes = _codes(labels, arms)
    seed = seed_of(random_state, high=SKLEARN_SEED_HIGH)
    sign = -1.0 if minimize else 1.0
    params = {"control_name": arms[0], "random_state": seed, **(learner_params or {})}
    rows: list[dict[str, float]] = []
    if len(grid) > 1:
        terms: dict[float, list[np.ndarray]] = {s: [] for s in grid}
        folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
        for fit_rows, val_rows in folds.split(x, codes):
            model = make_learner(learner, **params).fit(
                x[fit_rows], labels[fit_rows], y[fit_rows], p[fit_rows]
            )
            t = Targeting(model, arms, np.zeros(len(arms) - 1), 1.0, sign, pd.DataFrame())
            tau, q = t.uplift(x[val_rows]), t.outcomes(x[val_rows])
            lift = average_lifts(codes[fit_rows], y[fit_rows], p[fit_rows], len(arms))
            for s in grid:
                act = greedy(sign * shrink(tau, lift, s))
                pi = from_actions(act, len(arms))
                rv, a, pv = y[val_rows], codes[val_rows], p[val_rows]
                rr = np.arange(len(a))
                terms[s].append((pi * q).sum(axis=1) + pi[rr, a] / pv * (rv - q[rr, a]))
        base = np.concatenate(terms[grid[0]])
        root_n = np.sqrt(len(base))
        for s in grid:
            allt = np.concatenate(terms[s])
            gain = sign * (allt - base)
            gain_se = float(gain.std(ddof=1) / root_n)
            rows.append(
                {
                    "strength": s,
                    "value": float(allt.mean()),
                    "se": float(allt.std(ddof=1) / root_n),
                    "gain": float(gain.mean()),
                    "gain_se": gain_se,
                    "bound": float(gain.mean() - margin * gain_se),
                }
            )
        bounds = np.array([r["bound"] for r in rows])
        chosen = grid[int(np.flatnonzero(bounds >= bounds.max() - 1e-12)[0])]
    else:
        chosen = grid[0]
    model = make_learner(learner, **params).fit(x, labels, y, p)
    return Targeting(
        model=model,
        arms=arms,
        lift=average_lifts(codes, y, p, len(arms)),
        strength=chosen,
        sign=sign,
        validation=pd.DataFrame(
            rows, columns=["strength", "value", "se", "gain", "gain_se", "bound"]
        ),
    )


__all__ = [
    "MARGIN",
    "N_FOLDS",
    "STRENGTHS",
    "Targeting",
    "average_lifts",
    "learn_targeting",
    "shrink",
]
