"""Cases for the Gaussian families."""

import numpy as np
from scipy import stats

import expfam as ef
from tests.registry import Case, x_moments


def _mvn_moments(mu, fisher, params):
    d = len(params["mean"])
    return mu[:d], fisher[:d, :d]


def _lognormal_moments(mu, fisher, params):
    # x = exp(t), t ~ N(m, s²) with m = E t = ∇A[0] and s² = Var t = ∇²A[0, 0].
    m, s2 = mu[0], fisher[0, 0]
    return np.exp(m + s2 / 2), np.expm1(s2) * np.exp(2 * m + s2)


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
    Case(
        id="LogNormal",
        family=ef.LogNormal(),
        params=[
            {"loc": 0.0, "scale": 1.0},
            {"loc": 1.5, "scale": 0.4},
            {"loc": 30.0, "scale": 1e-4},
            {"loc": -3.0, "scale": 3.0},
            {"loc": 0.1, "scale": 10.0},
            {"loc": -1e-3, "scale": 1e-6},
        ],
        typical={"loc": 0.5, "scale": 0.6},
        scipy=lambda p: stats.lognorm(p["scale"], scale=np.exp(p["loc"])),
        moments=_lognormal_moments,
        bad_data=[-1.0, 0.0, np.nan, -np.inf],
    ),
    Case(
        id="InverseGaussian",
        family=ef.InverseGaussian(),
        params=[
            {"mean": 1.0, "shape": 1.0},
            {"mean": 2.5, "shape": 0.3},
            {"mean": 1e3, "shape": 1.0},
            {"mean": 1.0, "shape": 1e-3},
            {"mean": 1e-3, "shape": 1e3},
            {"mean": 1e-4, "shape": 1e4},
            {"mean": 50.0, "shape": 1e6},
        ],
        typical={"mean": 1.5, "shape": 2.0},
        scipy=lambda p: stats.invgauss(p["mean"] / p["shape"], scale=p["shape"]),
        moments=x_moments(0),
        bad_data=[-1.0, 0.0, np.nan],
    ),
]
