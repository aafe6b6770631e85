"""Cases for the families of counts and labels."""

import numpy as np
from scipy import stats

import expfam as ef
from tests.registry import Case, x_moments


def _poisson_entropy(params):
    # Direct float64 sum of -p log p over a window of ±40 standard deviations
    # (scipy's own entropy() does not converge for large rates).
    rate = params["rate"]
    lo = max(0, int(rate - 40 * np.sqrt(rate) - 40))
    k = np.arange(lo, int(rate + 40 * np.sqrt(rate) + 60))
    logp = stats.poisson.logpmf(k, rate)
    return float(-np.sum(np.exp(logp) * logp))

CASES = [
    Case(
        id="Poisson",
        family=ef.Poisson(),
        params=[
            {"rate": 1.0},
            {"rate": 3.7},
            {"rate": 1e-6},
            {"rate": 0.02},
            {"rate": 99.0},
            {"rate": 101.0},
            {"rate": 1e6},
        ],
        typical={"rate": 4.0},
        scipy=lambda p: stats.poisson(p["rate"]),
        moments=x_moments(0),
        bad_data=[-1.0, 1.5, np.nan],
        logpdf="logpmf",
        reference_entropy=_poisson_entropy,
    ),
]
