"""Cases for the families on the simplex: beta and Dirichlet.

Their sufficient statistics are log x, so ∇A and ∇²A are the mean and the
covariance of log x: ψ(αᵢ) − ψ(α₀) and diag ψ'(αᵢ) − ψ'(α₀), computed here
independently with scipy.special from the scipy distribution's parameters.
"""

import numpy as np
from scipy import special, stats

import expfam as ef
from tests.registry import Case


def _log_moments(alpha):
    alpha = np.asarray(alpha, np.float64)
    total = alpha.sum()
    mean = special.digamma(alpha) - special.digamma(total)
    cov = np.diag(special.polygamma(1, alpha)) - special.polygamma(1, total)
    return mean, cov


def _all_moments(mu, fisher, params):
    return mu, fisher


def _on_simplex(x):
    # scipy wants the categories on axis 0 and sums within 1e-9 of 1.
    return (x / x.sum(-1, keepdims=True)).T


CASES = [
    Case(
        id="Beta",
        family=ef.Beta(),
        params=[
            {"alpha": 2.0, "beta": 3.0},
            {"alpha": 0.7, "beta": 5.5},
            {"alpha": 0.02, "beta": 3.0},
            {"alpha": 0.05, "beta": 50.0},
            {"alpha": 1e4, "beta": 3e4},
            {"alpha": 1e3, "beta": 0.5},
            {"alpha": 0.5, "beta": 0.5},
        ],
        typical={"alpha": 2.0, "beta": 3.0},
        scipy=lambda p: stats.beta(p["alpha"], p["beta"]),
        moments=_all_moments,
        scipy_moments=lambda dist: _log_moments(dist.args),
        bad_data=[0.0, 1.0, -0.5, 1.5, np.nan],
    ),
    Case(
        id="Dirichlet3",
        family=ef.Dirichlet(3),
        params=[
            {"concentration": np.array([1.0, 2.0, 3.0])},
            {"concentration": np.array([0.8, 4.5, 2.2])},
            {"concentration": np.array([0.02, 1.0, 0.5])},
            {"concentration": np.array([0.1, 0.1, 0.1])},
            {"concentration": np.array([1e4, 2e4, 5e3])},
            {"concentration": np.array([1e3, 0.1, 2.0])},
        ],
        typical={"concentration": np.array([2.0, 3.0, 4.0])},
        scipy=lambda p: stats.dirichlet(p["concentration"]),
        moments=_all_moments,
        scipy_moments=lambda dist: _log_moments(dist.alpha),
        bad_data=[
            np.array([0.2, 0.3, 0.4]),
            np.array([0.0, 0.5, 0.5]),
            np.array([-0.1, 0.6, 0.5]),
            np.array([np.nan, 0.5, 0.5]),
        ],
        to_scipy=_on_simplex,
    ),
    Case(
        id="Dirichlet5",
        family=ef.Dirichlet(5),
        params=[
            {"concentration": np.array([1.0, 2.0, 3.0, 0.5, 1.5])},
            {"concentration": np.array([10.0, 0.3, 7.0, 2.0, 25.0])},
            {"concentration": np.array([0.03, 0.1, 0.02, 0.05, 0.2])},
            {"concentration": np.array([300.0, 1e3, 50.0, 2e3, 5e3])},
        ],
        typical={"concentration": np.array([3.0, 2.0, 4.0, 5.0, 2.5])},
        scipy=lambda p: stats.dirichlet(p["concentration"]),
        moments=_all_moments,
        scipy_moments=lambda dist: _log_moments(dist.alpha),
        bad_data=[np.array([0.2, 0.2, 0.2, 0.2, 0.3])],
        to_scipy=_on_simplex,
    ),
]
