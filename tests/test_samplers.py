"""Exactness of the gamma, Poisson, binomial, negative binomial, von Mises,
categorical and multinomial samplers.

Each case draws once (one compiled sampler per family and dtype) and checks
the mean and variance against scipy within stated standard errors and a
chi-square test on quantile bins, at small, moderate and huge parameters in
float32 and float64. Float32 draws above 2^24 are rounded to the dtype, so the
bins' edges are representable numbers and their probabilities those of the
rounded law.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy import special

import expfam as ef
from expfam._categorical_draws import categorical_draws, interval_ends
from expfam._families._counts import _binomial_counts, _poisson_counts
from expfam._gamma_draws import log_gamma
from expfam._rejection import fill_open, sample_by_rejection, sample_each_by_rejection

NUM = 200_000
# Standard errors allowed for the mean and the variance; the chi-square test's
# p-value must exceed P_MIN (about 40 such tests run: a false alarm ~4e-4).
Z_MAX = 4.5
P_MIN = 1e-5


@functools.cache
def _sampler(family: ef.ExponentialFamily, dtype: str):
    del dtype  # one cache entry (and compilation) per family and dtype
    return jax.jit(lambda key, eta: family.sample(key, eta, (NUM,)))


def _draw(family, dtype: str, seed: int, **params) -> tuple[np.ndarray, dict]:
    """Draws at ``params`` in ``dtype``, and the parameters they are drawn at
    (those of η, which rounds: exp(log 1e9) is 1e9 + 768 in float32)."""
    with jax.enable_x64(dtype == "float64"):
        cast = {k: jnp.asarray(v, dtype) for k, v in params.items()}
        eta = family.natural_from(**cast)
        x = _sampler(family, dtype)(jax.random.key(seed), eta)
        assert x.dtype == np.dtype(dtype)
        actual = {k: float(v) for k, v in family.params_from(eta).items()}
        return np.asarray(x), actual


def _chi2_pvalue(x: np.ndarray, dist, bins: int = 40) -> float:
    """Pearson's test on quantile bins whose edges are representable in x's dtype."""
    edges = np.unique(
        np.unique(dist.ppf(np.linspace(0, 1, bins + 1)[1:-1])).astype(x.dtype)
    )
    below = []  # the largest integer that rounds to at most each edge
    for edge in edges:
        ks = np.arange(int(edge) - 300, int(edge) + 301, dtype=np.int64)
        below.append(ks[ks.astype(x.dtype) <= edge].max())
    probs = np.diff(np.concatenate([[0.0], dist.cdf(np.array(below, float)), [1.0]]))
    counts = np.diff(
        np.concatenate([[0], np.searchsorted(np.sort(x), edges, "right"), [len(x)]])
    )
    return _pearson_pvalue(counts, probs * len(x))


def _pearson_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """Pearson's chi-square test over the cells expected more than 0 times."""
    keep = expected > 0
    stat = np.sum((observed[keep] - expected[keep]) ** 2 / expected[keep])
    return float(st.chi2.sf(stat, keep.sum() - 1))


def _check_law(x: np.ndarray, dist, upper: float = np.inf) -> None:
    assert np.all(x == np.round(x)) and np.all(x >= 0) and np.all(x <= upper)
    xs = x.astype(np.float64)
    mean, var = dist.mean(), dist.var()
    # Var of the sample variance ≈ (μ₄ − σ⁴) / N = (κ σ⁴ + 2σ⁴) / N.
    kurtosis = float(dist.stats(moments="k"))
    assert abs(xs.mean() - mean) <= Z_MAX * np.sqrt(var / len(xs))
    assert abs(xs.var() - var) <= Z_MAX * var * np.sqrt((kurtosis + 2) / len(xs))
    assert _chi2_pvalue(x, dist) > P_MIN


DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.02, 3.0, 9.99, 10.0, 37.0, 1e6, 3e6, 1e8, 1e9])
def test_poisson(dtype, rate):
    x, actual = _draw(ef.Poisson(), dtype, 1, rate=rate)
    _check_law(x, st.poisson(actual["rate"]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("n", "probs"),
    [
        (5, 0.3),
        (40, 0.5),
        (100, 0.97),
        (10**7, 0.5),
        (10**8, 0.5),
        (10**8, 0.9),
        (10**8, 3e-8),
    ],
)
def test_binomial(dtype, n, probs):
    x, actual = _draw(ef.Binomial(n=n), dtype, 2, probs=probs)
    _check_law(x, st.binom(n, actual["probs"]), upper=n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("r", "probs"), [(3.0, 0.5), (1e8, 0.5)])
def test_negative_binomial(dtype, r, probs):
    # r = 1e8: nearly Poisson(1e8), where jax.random.poisson gave 1.19× the variance.
    x, actual = _draw(ef.NegativeBinomial(r=r), dtype, 3, probs=probs)
    _check_law(x, st.nbinom(r, actual["probs"]))


def _log_gamma_cdf(t: np.ndarray, a: float) -> np.ndarray:
    """P(log G ≤ t), G ~ Gamma(a): scipy's where e^t is a normal float, else
    its first term e^(a t) / Γ(a + 1) (relative error below a e^t)."""
    tiny = t < -700
    body = st.gamma(a).cdf(np.exp(np.where(tiny, 0.0, t)))
    tail = np.exp(a * np.where(tiny, t, -700.0) - special.gammaln(a + 1))
    return np.where(tiny, tail, body)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a", [1e-3, 0.3, 1.0, 2.5, 1e3, 1e6, 1e8])
def test_gamma(dtype, a):
    """log G follows the log-gamma law (Kolmogorov-Smirnov), from a = 1e-3
    (G itself underflows) to 1e8."""
    if dtype == "float32" and a > 1e6:
        pytest.skip("float32 log G near 18.4 is spaced 1.9e-6, 2 % of its spread")
    with jax.enable_x64(dtype == "float64"):
        a_d = jnp.asarray(a, dtype)
        log_g = np.asarray(_gamma_sampler(dtype)(a_d), np.float64)
    assert np.all(np.isfinite(log_g))
    assert st.kstest(log_g, lambda t: _log_gamma_cdf(t, float(a_d))).pvalue > P_MIN


@pytest.mark.parametrize("a", [1e-3, 0.3, 2.5, 1e3])
def test_gamma_gradient_is_the_implicit_one(a):
    """d log G / da has mean ψ′(a), the derivative of E log G = ψ(a): the
    implicit reparameterization gradient, not the proposal's. (Above ~1e5,
    ``lax.random_gamma_grad``, which ``jax.random.loggamma`` uses too, takes
    time growing like √a.)"""
    a = jnp.asarray(a, jnp.float32)
    draw = jax.jit(lambda a: jax.jvp(_log_gamma_draws, (a,), (jnp.ones_like(a),)))
    tangent = np.asarray(draw(a)[1], np.float64)
    se = tangent.std() / np.sqrt(tangent.size)
    assert abs(tangent.mean() - special.polygamma(1, float(a))) <= Z_MAX * se


def _log_gamma_draws(a):
    return log_gamma(jax.random.key(7), a, (NUM,), a.dtype)


@functools.cache
def _gamma_sampler(dtype: str):
    del dtype  # one compilation per dtype
    return jax.jit(_log_gamma_draws)


def test_gamma_draws_outside_the_domain_are_nan_or_inf():
    """Under jit a shape is unchecked: a ≤ 0 or NaN gives NaN draws (a ≤ 0
    gave finite numbers), a = ∞ gives ∞ at once (it was refused in every
    round up to the limit, then NaN)."""
    a = jnp.array([-1.0, 0.0, jnp.nan, jnp.inf, 2.0], jnp.float32)
    log_g = np.asarray(
        jax.jit(lambda a: log_gamma(jax.random.key(9), a, (4, 5), a.dtype))(a)
    )
    assert np.all(np.isnan(log_g[:, :3]))
    assert np.all(log_g[:, 3] == np.inf)
    assert np.all(np.isfinite(log_g[:, 4]))


def test_gamma_columns_are_their_own_laws():
    """A vector a gives one law per trailing column (the Dirichlet's)."""
    a = jnp.array([0.5, 2.0, 30.0], jnp.float32)
    draws = jax.jit(lambda a: log_gamma(jax.random.key(8), a, (50_000, 3), a.dtype))
    log_g = np.asarray(draws(a), np.float64)
    assert log_g.shape == (50_000, 3)
    for j, a_j in enumerate(np.asarray(a, np.float64)):
        cdf = functools.partial(_log_gamma_cdf, a=a_j)
        assert st.kstest(log_g[:, j], cdf).pvalue > P_MIN


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kappa", [0.0, 0.3, 2.0, 50.0, 1e4])
def test_von_mises(dtype, kappa):
    """The angles about the mode follow scipy's law (Kolmogorov-Smirnov), from
    the uniform law (κ = 0) to a nearly normal one (κ = 1e4, spread 0.01)."""
    x, actual = _draw(ef.VonMises(), dtype, 6, loc=1.0, concentration=kappa)
    assert np.all(np.abs(x) <= np.pi)
    d = np.angle(np.exp(1j * (x.astype(np.float64) - actual["loc"])))
    k = actual["concentration"]
    law = st.uniform(-np.pi, 2 * np.pi) if k == 0 else st.vonmises(k)
    assert st.kstest(d, law.cdf).pvalue > P_MIN
    if dtype == "float64":  # each accepted proposal fills one slot only
        assert np.unique(x).size == x.size


def test_von_mises_shapes_and_vmap():
    """Accepted proposals fill any open slot, over the flattened draws: every
    shape, empty ones included, and a vmap over κ keep each row's law."""
    vm = ef.VonMises()
    eta = vm.natural_from(loc=0.3, concentration=2.0)
    for shape in [(), (0,), (3, 0), (1,), (2, 3)]:
        assert vm.sample(jax.random.key(0), eta, shape).shape == shape
    kappas = [0.1, 2.0, 100.0]
    etas = jnp.stack([vm.natural_from(loc=0.3, concentration=k) for k in kappas])
    x = jax.vmap(lambda e: vm.sample(jax.random.key(1), e, (20_000,)))(etas)
    for row, kappa in zip(np.asarray(x, np.float64), kappas, strict=True):
        d = np.angle(np.exp(1j * (row - 0.3)))
        assert st.kstest(d, st.vonmises(kappa).cdf).pvalue > P_MIN


def _category_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    """Pearson's test of category counts, the categories expected fewer than
    20 times lumped into one."""
    expected = probs * counts.sum()
    small = expected < 20
    observed = np.append(counts[~small], counts[small].sum())
    return _pearson_pvalue(observed, np.append(expected[~small], expected[small].sum()))


_CATEGORY_LAWS = {
    "flat": np.full(10, 0.1),
    "spread": np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.04, 0.02, 0.008, 0.002]),
    "one near 1": np.array([1e-4, 3e-4, 1 - 1.3e-3, 9e-4]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("law", list(_CATEGORY_LAWS))
def test_categorical(dtype, law):
    probs = _CATEGORY_LAWS[law]
    family = ef.Categorical(len(probs))
    with jax.enable_x64(dtype == "float64"):
        eta = family.natural_from(probs=jnp.asarray(probs, dtype))
        x = np.asarray(_sampler(family, dtype)(jax.random.key(7), eta))
        actual = np.asarray(family.params_from(eta)["probs"], np.float64)
    assert x.dtype == np.dtype(dtype)
    labels = x.astype(np.int64)
    assert np.all(labels == x) and labels.min() >= 0 and labels.max() < len(probs)
    counts = np.bincount(labels, minlength=len(probs))
    assert _category_pvalue(counts, actual) > P_MIN


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_intervals_hold_each_probability_to_half_a_word(dtype):
    """Category j owns round(p_j 2^B) of the 2^B words, the largest the rest:
    each share is p_j to 2^-(B+1) (plus p_j's own rounding), down to
    p = 1e-9, which float32 Gumbel-argmax (jax.random.categorical) never
    draws: its noise spans about 19.4, and log(1e-9) is −20.7."""
    bits = 64 if dtype == "float64" else 32
    probs = np.array([1e-9, 0.25, 3e-7, 0.5, 0.25 - 3e-7 - 2e-9, 1e-9])
    with jax.enable_x64(dtype == "float64"):
        log_p = jnp.log(jnp.asarray(probs, dtype))
        ends, top = interval_ends(log_p)
        ends = np.asarray(ends).astype(object)  # exact integers
        top = int(top)
    shares = np.diff(np.concatenate([[0], ends]))
    shares[top] = 2**bits - ends[-1]
    assert top == 3 and sum(shares) == 2**bits
    p = np.exp(np.asarray(log_p, np.float64))  # the probabilities as rounded
    error = np.abs(shares.astype(np.float64) / 2.0**bits - p)
    eps = np.finfo(dtype).eps
    assert np.all(error[p < 0.5] <= 2.0 ** -(bits + 1) + 2 * eps * p[p < 0.5])
    assert error[top] <= len(p) * 2.0 ** -(bits + 1) + 2 * eps
    assert shares[0] > 0 and shares[-1] > 0


def test_categorical_rows_of_eta_are_their_own_laws():
    """Batched log-probabilities broadcast against the end of ``shape``, as
    in ``jax.random.categorical``; vmap over the family's η gives the same
    laws."""
    family = ef.Categorical(4)
    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]])
    eta = jnp.stack([family.natural_from(probs=jnp.asarray(p)) for p in probs])
    x = categorical_draws(jax.random.key(2), jnp.log(probs), (50_000, 2))
    y = jax.vmap(lambda e: family.sample(jax.random.key(3), e, (50_000,)))(eta)
    for column, row, p in zip(np.asarray(x).T, np.asarray(y), probs, strict=True):
        for labels in (column, row):
            counts = np.bincount(labels.astype(np.int64), minlength=4)
            assert _category_pvalue(counts, p) > P_MIN


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [20, 200])  # by inversion, by the binomial chain
def test_multinomial(dtype, n):
    """Marginals and the sum of two categories are binomial (the sum checks
    the joint law: its variance holds the covariance −n p_i p_j)."""
    probs = _CATEGORY_LAWS["spread"]
    family = ef.Multinomial(len(probs), n)
    with jax.enable_x64(dtype == "float64"):
        eta = family.natural_from(probs=jnp.asarray(probs, dtype))
        x = np.asarray(_sampler(family, dtype)(jax.random.key(9), eta))
        actual = np.asarray(family.params_from(eta)["probs"], np.float64)
    assert x.dtype == np.dtype(dtype) and x.shape == (NUM, len(probs))
    assert np.all(x.sum(axis=1) == n)
    for j in (0, 3, 9):
        _check_law(x[:, j], st.binom(n, actual[j]), upper=n)
    _check_law(x[:, 1] + x[:, 2], st.binom(n, actual[1] + actual[2]), upper=n)


@pytest.mark.parametrize(
    ("done", "accept", "filled"),
    [
        ([1, 0, 1, 0, 0], [0, 1, 1, 0, 1], [-1, 11, -1, 12, 14]),  # enough
        ([0, 0, 0, 1, 0], [0, 0, 1, 0, 0], [12, -1, -1, -1, -1]),  # too few
        ([1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [-1, -1, -1, -1, -1]),  # none open
        ([0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [-1, -1, -1, -1, -1]),  # none accepted
        ([0, 1, 0, 0, 1], [1, 0, 1], [10, -1, 12, -1, -1]),  # fewer proposals
        ([0, 1, 0, 0, 1], [1, 1, 1], [10, -1, 11, 12, -1]),
    ],
)
def test_rejection_rounds_fill_open_slots_in_order(done, accept, filled):
    kept, new = -np.ones(5), np.arange(10.0, 10.0 + len(accept))
    done, accept = np.array(done, bool), np.array(accept, bool)
    got, now_done = fill_open(jnp.asarray(kept), done, jnp.asarray(new), accept)
    np.testing.assert_array_equal(got, filled)
    np.testing.assert_array_equal(now_done, done | (np.array(filled) >= 10))


def _randomized_pit(x: np.ndarray, law, rng: np.random.Generator) -> np.ndarray:
    """F(x − 1) + V p(x), V ~ U(0, 1): uniform when each count x follows its
    own discrete ``law`` (frozen over arrays of parameters)."""
    return law.cdf(x - 1) + rng.uniform(size=x.shape) * law.pmf(x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("share", [0.003, 1.0])
def test_counts_with_their_own_laws(dtype, share):
    """Poisson and binomial draws whose laws differ one by one (the negative
    binomial's gamma-mixed rates). ``share`` of them need rejection, at
    rates from 10 to 1e4: the open slots are proposed for in place while many
    are open, then gathered with their laws into smaller rounds. Each draw is
    tested against its own law by the randomized probability integral
    transform (Kolmogorov-Smirnov against U(0, 1))."""
    rng = np.random.default_rng(11)
    big = rng.uniform(size=NUM) < share
    rate = np.where(big, 10 ** rng.uniform(1, 4, NUM), 2.0)
    n = 20_000
    logit = np.where(big, rng.uniform(-7, 0, NUM), -9.0)  # np from ~2 to 1e4
    with jax.enable_x64(dtype == "float64"):
        rate_j, logit_j = jnp.asarray(rate, dtype), jnp.asarray(logit, dtype)
        x = _poisson_counts(jax.random.key(12), rate_j)
        y = _binomial_counts(jax.random.key(13), n, logit_j)
        rate, logit = np.asarray(rate_j, np.float64), np.asarray(logit_j, np.float64)
    p = special.expit(logit)
    for counts, law in ((x, st.poisson(rate)), (y, st.binom(n, p))):
        counts = np.asarray(counts, np.float64)
        assert np.all(counts == np.round(counts))
        pit = _randomized_pit(counts, law, rng)
        assert st.kstest(pit[big], "uniform").pvalue > P_MIN
        assert st.kstest(pit, "uniform").pvalue > P_MIN


def test_own_laws_left_unaccepted_are_nan_and_others_zero():
    todo = jnp.arange(1000) % 3 == 0
    law = (jnp.arange(1000.0),)

    def never(key, sub):
        return sub[0], jnp.zeros(sub[0].shape, bool)

    x = np.asarray(sample_each_by_rejection(jax.random.key(0), never, law, todo, float))
    assert np.all(np.isnan(x[::3])) and np.all(x[np.arange(1000) % 3 != 0] == 0)


def test_rejection_leaves_nan_where_no_proposal_was_accepted():
    """A law that never accepts stops after the round limit with NaN draws,
    not with rejected proposals; an empty batch needs no round."""
    never = jax.jit(
        lambda key: sample_by_rejection(
            key, lambda k, n: (jnp.ones(n), jnp.zeros(n, bool)), 5, 2
        )
    )
    assert np.all(np.isnan(never(jax.random.key(0))))
    empty = sample_by_rejection(
        jax.random.key(0), lambda k, n: (jnp.ones(n), jnp.ones(n, bool)), 0, 1
    )
    assert empty.shape == (0,)


def test_same_key_same_draws_and_vmap():
    poisson = ef.Poisson()
    eta = jnp.log(jnp.array([0.5, 5.0, 50.0, 5e6], jnp.float32))
    draw = jax.jit(jax.vmap(lambda e: poisson.sample(jax.random.key(4), e, (1000,))))
    first, second = np.asarray(draw(eta)), np.asarray(draw(eta))
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32 and first.shape == (4, 1000)
    # Each row is its own rate's law (loose: 1000 draws each).
    rates = np.exp(np.asarray(eta, np.float64))
    assert np.all(np.abs(first.mean(axis=1) - rates) < 5 * np.sqrt(rates / 1000))
    binomial = ef.Binomial(n=50)
    eta_b = jnp.array([-3.0, 0.0, 4.0], jnp.float32)
    b = jax.vmap(lambda e: binomial.sample(jax.random.key(5), e, (7,)))(eta_b)
    np.testing.assert_array_equal(
        b, jax.vmap(lambda e: binomial.sample(jax.random.key(5), e, (7,)))(eta_b)
    )
    assert np.all((b >= 0) & (b <= 50))
