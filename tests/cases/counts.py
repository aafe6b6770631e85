"""Cases for the families of counts and labels."""

import itertools
from decimal import Decimal, getcontext
from math import factorial

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


def _exact_multinomial_entropy(n, probs):
    """-Σ f log f over every count vector, in 60-digit decimal arithmetic.

    scipy's binom/multinomial entropy() forms log f for f within 1e-11 of 1 and
    loses up to ~1e-5 relative accuracy when a probability is tiny; exact
    arithmetic needs no care. ``probs`` is normalized (as natural_from does).
    """
    getcontext().prec = 60
    p = [v if isinstance(v, Decimal) else Decimal(float(v)) for v in probs]
    total = sum(p)
    p = [v / total for v in p]
    entropy = Decimal(0)
    k = len(p)
    for bars in itertools.combinations(range(n + k - 1), k - 1):
        edges = (-1, *bars, n + k - 1)
        x = [b - a - 1 for a, b in itertools.pairwise(edges)]
        f = Decimal(factorial(n))
        for xi, pi in zip(x, p, strict=True):
            f = f / factorial(xi) * pi**xi
        if f > 0:
            entropy -= f * f.ln()
    return float(entropy)


def _exact_binomial_entropy(n, p):
    success = Decimal(float(p))
    return _exact_multinomial_entropy(n, [success, 1 - success])


def _bernoulli_entropy(params):
    p = params["probs"]
    return float(-p * np.log(p) - (1 - p) * np.log1p(-p))


def _label_moments(mu, fisher, params):
    # The label x = (k − 1) + Σ_j (j − (k − 1)) u_j(x): its mean and variance
    # from ∇A and ∇²A, against scipy's for the label itself.
    c = np.arange(len(mu)) - len(mu)
    return len(mu) + c @ mu, c @ fisher @ c


def _labels(probs):
    return stats.rv_discrete(values=(np.arange(len(probs)), probs))


def _multinomial_moments(mu, fisher, params):
    return mu, fisher


def _scipy_multinomial_moments(dist):
    return dist.mean()[:-1], dist.cov()[:-1, :-1]


def _nb_entropy(r):
    def entropy(params):
        # Direct float64 sum of -f log f out to where the tail is below 1e-22
        # (scipy's nbinom.entropy() does not converge for large means).
        dist = stats.nbinom(r, params["probs"])
        k = np.arange(int(dist.isf(1e-22)) + 100)
        logf = dist.logpmf(k)
        return float(-np.sum(np.exp(logf) * logf))

    return entropy


def _nb_case(r, params, typical):
    return Case(
        id=f"NegativeBinomial{r:g}",
        family=ef.NegativeBinomial(r),
        params=[{"probs": p} for p in params],
        typical={"probs": typical},
        scipy=lambda p: stats.nbinom(r, p["probs"]),
        moments=x_moments(0),
        bad_data=[-1.0, 2.5, np.nan],
        logpdf="logpmf",
        reference_entropy=_nb_entropy(r),
    )


_P4 = np.array([0.1, 0.2, 0.3, 0.4])

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
    Case(
        id="Bernoulli",
        family=ef.Bernoulli(),
        params=[
            {"probs": 0.3},
            {"probs": 0.75},
            {"probs": 1e-12},
            {"probs": 1 - 1e-9},
            {"probs": 0.5},
            {"probs": 1e-4},
        ],
        typical={"probs": 0.35},
        scipy=lambda p: stats.bernoulli(p["probs"]),
        moments=x_moments(0),
        bad_data=[-1.0, 2.0, 0.5, np.nan],
        logpdf="logpmf",
        reference_entropy=_bernoulli_entropy,
    ),
    Case(
        id="Binomial20",
        family=ef.Binomial(20),
        params=[
            {"probs": 0.3},
            {"probs": 0.55},
            {"probs": 1e-9},
            {"probs": 1 - 1e-9},
            {"probs": 0.999},
            {"probs": 1e-4},
        ],
        typical={"probs": 0.4},
        scipy=lambda p: stats.binom(20, p["probs"]),
        moments=x_moments(0),
        bad_data=[-1.0, 21.0, 2.5, np.nan],
        logpdf="logpmf",
        reference_entropy=lambda p: _exact_binomial_entropy(20, p["probs"]),
    ),
    Case(
        id="Categorical4",
        family=ef.Categorical(4),
        params=[
            {"probs": _P4},
            {"probs": np.array([0.25, 0.25, 0.25, 0.25])},
            {"probs": np.array([1e-10, 0.5, 0.3, 0.2 - 1e-10])},
            {"probs": np.array([0.3, 0.3, 0.4 - 1e-9, 1e-9])},
            {"probs": np.array([1 - 3e-8, 1e-8, 1e-8, 1e-8])},
            {"probs": np.array([0.97, 0.01, 0.01, 0.01])},
        ],
        typical={"probs": np.array([0.15, 0.25, 0.35, 0.25])},
        scipy=lambda p: _labels(p["probs"]),
        moments=_label_moments,
        bad_data=[-1.0, 4.0, 1.5, np.nan],
        logpdf="logpmf",
    ),
    Case(
        id="Multinomial4x30",
        family=ef.Multinomial(4, 30),
        params=[
            {"probs": _P4},
            {"probs": np.array([0.25, 0.25, 0.25, 0.25])},
            {"probs": np.array([1e-9, 0.3, 0.3, 0.4 - 1e-9])},
            {"probs": np.array([0.5, 0.3, 0.2 - 1e-10, 1e-10])},
            {"probs": np.array([1 - 3e-9, 1e-9, 1e-9, 1e-9])},
            {"probs": np.array([0.97, 0.01, 0.01, 0.01])},
        ],
        typical={"probs": np.array([0.15, 0.25, 0.35, 0.25])},
        scipy=lambda p: stats.multinomial(30, p["probs"]),
        moments=_multinomial_moments,
        scipy_moments=_scipy_multinomial_moments,
        bad_data=[
            np.array([1.0, 2.0, 3.0, 4.0]),  # does not sum to n
            np.array([-1.0, 11.0, 10.0, 10.0]),
            np.array([0.5, 9.5, 10.0, 10.0]),
            np.array([np.nan, 10.0, 10.0, 10.0]),
        ],
        logpdf="logpmf",
        reference_entropy=lambda p: _exact_multinomial_entropy(30, p["probs"]),
    ),
    Case(
        id="Geometric",
        family=ef.Geometric(),
        params=[
            {"probs": 0.3},
            {"probs": 0.75},
            {"probs": 1e-6},
            {"probs": 1 - 1e-9},
            {"probs": 0.5},
            {"probs": 1e-3},
        ],
        typical={"probs": 0.25},
        # scipy's geom counts trials (support 1, 2, …); ours counts failures.
        scipy=lambda p: stats.geom(p["probs"], loc=-1),
        moments=x_moments(0),
        bad_data=[-1.0, 0.5, np.nan],
        logpdf="logpmf",
    ),
    _nb_case(
        2.5, [0.3, 0.6, 2.5 / (2.5 + 1e4), 2.5 / (2.5 + 1e5), 1 - 1e-8, 0.999], 0.4
    ),
    _nb_case(0.2, [0.3, 0.6, 0.2 / (0.2 + 1e4), 1e-3, 1 - 1e-8, 0.99], 0.15),
]
