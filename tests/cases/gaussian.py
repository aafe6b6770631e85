"""Cases for the Gaussian families."""

import numpy as np
from scipy import stats

import expfam as ef
from tests.registry import Case, x_moments


def _mvn_moments(mu, fisher, params):
    d = len(params["mean"])
    return mu[:d], fisher[:d, :d]


def _mvn_cov(seed, d, scale=1.0):
    a = np.random.default_rng(seed).normal(size=(d, d))
    return scale * (a @ a.T / d + 0.5 * np.eye(d))


CASES = [
    Case(
        id="Normal",
        family=ef.Normal(),
        params=[
            {"mean": 0.0, "variance": 1.0},
            {"mean": -3.5, "variance": 0.25},
            {"mean": 1e3, "variance": 1e-4},
            {"mean": 0.1, "variance": 1e4},
            {"mean": -1e-3, "variance": 1e-8},
        ],
        typical={"mean": 1.5, "variance": 2.0},
        scipy=lambda p: stats.norm(p["mean"], np.sqrt(p["variance"])),
        moments=x_moments(0),
        bad_data=[np.nan, np.inf],
    ),
    Case(
        id="MultivariateNormal3",
        family=ef.MultivariateNormal(3),
        params=[
            {"mean": np.zeros(3), "covariance": np.eye(3)},
            {"mean": np.array([1.0, -2.0, 3.0]), "covariance": _mvn_cov(0, 3)},
            {"mean": np.array([100.0, 0.0, -5.0]), "covariance": _mvn_cov(1, 3, 1e-3)},
            {"mean": np.array([0.5, 0.5, 0.5]), "covariance": _mvn_cov(2, 3, 1e3)},
        ],
        typical={"mean": np.array([1.0, -1.0, 0.5]), "covariance": _mvn_cov(3, 3)},
        scipy=lambda p: stats.multivariate_normal(p["mean"], p["covariance"]),
        moments=_mvn_moments,
        scipy_moments=lambda dist: (dist.mean, dist.cov),
        bad_data=[np.array([np.nan, 0.0, 0.0])],
    ),
]
