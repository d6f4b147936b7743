"""rl.build_env reuses components and propensities it is given (the dashboard's cached ones)."""

from __future__ import annotations

import numpy as np
import pytest

from core import rl
from core.common.errors import CJOError
from core.data.catalog import load_catalog
from core.opportunity import build_components


@pytest.fixture(scope="module")
def frame(synthetic_frame):
    return synthetic_frame(300, 4)


@pytest.fixture(scope="module")
def given(frame):
    cat = load_catalog("seed").restrict_to(list(frame.columns))
    comps = build_components(frame, cat, "peer-bayes", random_state=0)
    rng = np.random.default_rng(0)
    prop = rng.uniform(0.1, 0.9, (len(frame), cat.n_products))
    return cat, comps, prop


def test_build_env_uses_the_given_components_and_propensity(frame, given):
    cat, comps, prop = given
    env = rl.build_env(frame, cat, components=comps, propensity=prop, segmentation=None)
    np.testing.assert_allclose(env.propensity, prop)
    fresh = rl.JourneyEnv.from_components(comps, (1.0, 1.0, 1.0), prop, cat)
    np.testing.assert_allclose(env.problem.opportunity, fresh.problem.opportunity)
    # a different propensity changes the environment: the argument is not ignored
    other = rl.build_env(frame, cat, components=comps, propensity=prop * 0.5, segmentation=None)
    assert not np.allclose(other.propensity, env.propensity)


def test_build_env_refuses_mismatched_inputs(frame, given):
    cat, comps, prop = given
    with pytest.raises(CJOError, match="frame"):
        rl.build_env(frame.head(10), cat, components=comps, propensity=prop, segmentation=None)
    with pytest.raises(CJOError, match="propensity has shape"):
        rl.build_env(frame, cat, components=comps, propensity=prop[:, :2], segmentation=None)
