"""Cases for the gamma family and its relatives on the half-line."""

import math

import numpy as np
from scipy import special, stats

import expfam as ef
from tests.registry import Case, x_moments


def _statistic(law):
    """scipy_moments for a family whose statistic u is not x itself.

    ``law(*dist.args, **dist.kwds)`` is the frozen scipy distribution of u under
    the frozen distribution ``dist`` of x; its mean and variance are compared
    with ∇A and ∇²A.
    """

    def moments(dist):
        u = law(*dist.args, **dist.kwds)
        return u.mean(), u.var()

    return moments


def _log_chi2_moments(dist):
    # log x for x ~ χ²_k: mean ψ(k/2) + log 2, variance ψ'(k/2).
    half = dist.args[0] / 2
    return special.digamma(half) + math.log(2), special.polygamma(1, half)


CASES = [
    Case(
        id="Gamma",
        family=ef.Gamma(),
        params=[
            {"shape": 1.0, "rate": 1.0},
            {"shape": 2.5, "rate": 0.3},
            {"shape": 1e-3, "rate": 1.0},
            {"shape": 0.05, "rate": 1e3},
            {"shape": 1e5, "rate": 1e-2},
            {"shape": 30.0, "rate": 1e4},
        ],
        typical={"shape": 2.0, "rate": 1.5},
        scipy=lambda p: stats.gamma(p["shape"], scale=1 / p["rate"]),
        moments=x_moments(1),
        bad_data=[-1.0, 0.0, np.nan, np.inf],
    ),
    Case(
        id="InverseGamma",
        family=ef.InverseGamma(),
        params=[
            {"shape": 3.0, "scale": 2.0},
            {"shape": 1.5, "scale": 0.4},
            {"shape": 1e-3, "scale": 1.0},
            {"shape": 0.05, "scale": 1e3},
            {"shape": 1e5, "scale": 1e-2},
            {"shape": 30.0, "scale": 1e4},
        ],
        typical={"shape": 4.0, "scale": 3.0},
        scipy=lambda p: stats.invgamma(p["shape"], scale=p["scale"]),
        moments=x_moments(1),
        scipy_moments=_statistic(lambda a, scale: stats.gamma(a, scale=1 / scale)),
        bad_data=[-1.0, 0.0, np.nan, np.inf],
    ),
    Case(
        id="ChiSquared",
        family=ef.ChiSquared(),
        params=[
            {"df": 3.0},
            {"df": 7.5},
            {"df": 1e-3},
            {"df": 0.05},
            {"df": 1.0},
            {"df": 1e5},
            {"df": 1e7},
        ],
        typical={"df": 3.0},
        scipy=lambda p: stats.chi2(p["df"]),
        moments=x_moments(0),
        scipy_moments=_log_chi2_moments,
        bad_data=[-1.0, 0.0, np.nan, np.inf],
    ),
    Case(
        id="Exponential",
        family=ef.Exponential(),
        params=[
            {"rate": 1.0},
            {"rate": 0.3},
            {"rate": 1e-6},
            {"rate": 1e6},
            {"rate": 3e-3},
        ],
        typical={"rate": 1.5},
        scipy=lambda p: stats.expon(scale=1 / p["rate"]),
        moments=x_moments(0),
        bad_data=[-1.0, -1e-30, np.nan, np.inf],
    ),
    Case(
        id="Weibull1.7",
        family=ef.Weibull(1.7),
        params=[
            {"scale": 1.0},
            {"scale": 2.5},
            {"scale": 1e-4},
            {"scale": 1e4},
            {"scale": 0.03},
        ],
        typical={"scale": 2.0},
        scipy=lambda p: stats.weibull_min(1.7, scale=p["scale"]),
        moments=x_moments(0),
        scipy_moments=_statistic(lambda k, scale: stats.expon(scale=scale**k)),
        bad_data=[-1.0, 0.0, np.nan, np.inf],
    ),
    Case(
        id="Weibull0.3",
        family=ef.Weibull(0.3),
        params=[
            {"scale": 1.0},
            {"scale": 4.0},
            {"scale": 1e-8},
            {"scale": 1e8},
        ],
        typical={"scale": 1.5},
        scipy=lambda p: stats.weibull_min(0.3, scale=p["scale"]),
        moments=x_moments(0),
        scipy_moments=_statistic(lambda k, scale: stats.expon(scale=scale**k)),
        bad_data=[-1.0, 0.0, np.nan],
    ),
    Case(
        id="Weibull25",
        family=ef.Weibull(25.0),
        params=[
            {"scale": 1.0},
            {"scale": 1.3},
            {"scale": 1e-3},
            {"scale": 1e3},
        ],
        typical={"scale": 1.2},
        scipy=lambda p: stats.weibull_min(25.0, scale=p["scale"]),
        moments=x_moments(0),
        scipy_moments=_statistic(lambda k, scale: stats.expon(scale=scale**k)),
        bad_data=[-1.0, 0.0, np.nan],
    ),
    Case(
        id="Pareto",
        family=ef.Pareto(2.5),
        params=[
            {"alpha": 3.0},
            {"alpha": 1.2},
            {"alpha": 1e-3},
            {"alpha": 0.05},
            {"alpha": 1e4},
        ],
        typical={"alpha": 2.5},
        scipy=lambda p: stats.pareto(p["alpha"], scale=2.5),
        moments=x_moments(0),
        scipy_moments=_statistic(lambda a, scale: stats.expon(scale=1 / a)),
        bad_data=[2.0, -1.0, 0.0, np.nan, np.inf],
    ),
    Case(
        id="Laplace",
        family=ef.Laplace(-1.5),
        params=[
            {"scale": 1.0},
            {"scale": 0.3},
            {"scale": 1e-6},
            {"scale": 1e6},
            {"scale": 7e-3},
        ],
        typical={"scale": 2.0},
        scipy=lambda p: stats.laplace(-1.5, p["scale"]),
        moments=x_moments(0),
        scipy_moments=_statistic(lambda loc, scale: stats.expon(scale=scale)),
        bad_data=[np.nan, np.inf, -np.inf],
    ),
]
