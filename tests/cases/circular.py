"""Cases for the circular families."""

import numpy as np
from scipy import special, stats

import expfam as ef
from tests.registry import Case


def _von_mises_trig_moments(dist):
    # Mean and covariance of u = [cos x, sin x] from scipy's Bessel functions:
    # in the frame of the mode, E cos = I₁/I₀, E cos² = (1 + I₂/I₀)/2,
    # E sin² = (1 − I₂/I₀)/2, E sin = E sin cos = 0; then rotate by loc.
    (kappa,), loc = dist.args, dist.kwds["loc"]
    a1 = special.i1e(kappa) / special.i0e(kappa)
    a2 = special.ive(2, kappa) / special.i0e(kappa)
    c, s = np.cos(loc), np.sin(loc)
    rot = np.array([[c, -s], [s, c]])
    cov = np.diag([0.5 * (1 + a2) - a1 * a1, 0.5 * (1 - a2)])
    return rot @ np.array([a1, 0.0]), rot @ cov @ rot.T


CASES = [
    Case(
        id="VonMises",
        family=ef.VonMises(),
        params=[
            {"loc": 0.0, "concentration": 1.0},
            {"loc": 2.5, "concentration": 0.5},
            {"loc": -1.2, "concentration": 1e-6},
            {"loc": 0.4, "concentration": 0.0},
            {"loc": np.pi, "concentration": 30.0},
            {"loc": -3.0, "concentration": 1e3},
        ],
        typical={"loc": 0.7, "concentration": 2.0},
        scipy=lambda p: stats.vonmises(p["concentration"], loc=p["loc"]),
        moments=lambda mu, fisher, params: (mu, fisher),
        scipy_moments=_von_mises_trig_moments,
        bad_data=[4.0, -3.5, np.nan, np.inf],
    ),
]
