"""Fisher scoring at the edges: singular systems, badly scaled and collinear
features, separable data in float32, non-finite inputs and bad arguments.

Each test reproduces a reviewed bug; results are compared with statsmodels,
closed forms or the float64 solve.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import expfam as ef

pytestmark = pytest.mark.xdist_group("conditional")


@pytest.fixture
def _x64():
    with jax.enable_x64(True):
        yield


@pytest.mark.usefixtures("_x64")
def test_a_direction_that_is_not_finite_keeps_the_finite_point():
    """Without damping a feature that is always 0 makes the information matrix
    exactly singular, and the Newton direction is NaN. The solver stops where
    it was (the intercept-only MLE, log ȳ), not at 0 · NaN = NaN."""
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=50), np.zeros(50)]
    y = rng.poisson(2.0, 50).astype(np.float64)
    with pytest.warns(RuntimeWarning, match="singular"):
        result = ef.fisher_scoring(ef.GLM(ef.Poisson(), 2), (X, y), damping=0.0)
    assert not result.converged and result.num_steps == 1
    np.testing.assert_array_equal(result.params["coef"], [0.0, 0.0])
    assert float(result.params["intercept"]) == pytest.approx(np.log(y.mean()))
