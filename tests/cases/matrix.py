"""Cases for the families of positive-definite matrices: Wishart."""

import numpy as np
from scipy import stats

import expfam as ef
from tests.registry import Case


def _spd(seed, d, scale=1.0):
    a = np.random.default_rng(seed).normal(size=(d, d))
    return scale * (a @ a.T / d + 0.5 * np.eye(d))


def _wishart_moments(mu, fisher, params):
    # u = (log det X, X): the entries of X follow the scalar log det.
    d = np.shape(params["scale"])[-1]
    return mu[1:].reshape(d, d), np.diag(fisher)[1:].reshape(d, d)


def _wishart_case(d, params, typical):
    return Case(
        id=f"Wishart{d}",
        family=ef.Wishart(d),
        params=params,
        typical=typical,
        scipy=lambda p: stats.wishart(df=p["df"], scale=p["scale"]),
        moments=_wishart_moments,
        bad_data=[
            -np.eye(d),
            np.eye(d) + np.triu(np.ones((d, d)), 1),  # not symmetric
            np.diag(np.r_[1.0, np.zeros(d - 1)]),  # singular
            np.full((d, d), np.nan),
        ],
        # scipy takes a batch of matrices with the batch on the last axis.
        to_scipy=lambda x: np.moveaxis(x, 0, -1),
    )


CASES = [
    _wishart_case(
        3,
        params=[
            {"df": 5.0, "scale": np.eye(3)},
            {"df": 7.5, "scale": _spd(0, 3)},
            {"df": 2.5, "scale": _spd(1, 3, 1e-3)},
            {"df": 3.2, "scale": _spd(2, 3, 1e3)},
            {"df": 1e4, "scale": _spd(3, 3)},
            {"df": 40.0, "scale": np.diag([1e-4, 1.0, 1e4])},
        ],
        typical={"df": 12.0, "scale": _spd(4, 3)},
    ),
    _wishart_case(
        2,
        params=[
            {"df": 3.0, "scale": np.array([[2.0, 0.6], [0.6, 0.5]])},
            {"df": 6.5, "scale": _spd(5, 2)},
            {"df": 1.3, "scale": _spd(6, 2, 1e2)},
            {"df": 1.5, "scale": np.array([[1.0, 0.999], [0.999, 1.0]])},
            {"df": 5e3, "scale": _spd(7, 2, 1e-3)},
        ],
        typical={"df": 6.0, "scale": np.array([[1.0, -0.3], [-0.3, 2.0]])},
    ),
]
