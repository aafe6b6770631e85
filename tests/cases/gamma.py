"""Cases for the gamma family and its relatives."""

import numpy as np
from scipy import stats

import expfam as ef
from tests.registry import Case, x_moments

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
        bad_data=[-1.0, 0.0, np.nan],
    ),
]
