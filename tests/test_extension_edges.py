"""Defining families and saving fits the way a researcher would: the edges a
review found (each test fails on the code before its fix)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import optax
import pytest
from scipy import stats

import expfam as ef
from expfam.testing import check_family
from tests.helpers import rayleigh_family

D = ef.domains


@dataclasses.dataclass(frozen=True)
class _Exponential(ef.ExponentialFamily):
    """The exponential law with overrides that name their arguments their
    own way (``mean``, ``p``/``q``, ``sample_shape``)."""

    def sufficient_statistics(self, x):
        return x

    def log_partition(self, eta):
        return -jnp.log(-eta)

    @property
    def natural_domain(self):
        return D.negative()

    def in_support(self, x):
        return x > 0

    def natural_parameters(self, mean):
        return -1.0 / mean

    def kl_divergence(self, p, q):
        return jnp.log(p / q) + q / p - 1.0

    def sample(self, key, eta, sample_shape=()):
        return jax.random.exponential(key, sample_shape) / -eta


def test_overrides_may_name_their_arguments_their_own_way():
    """Matched by position (before: a bare KeyError from every call, and a
    sampler with its own name for the shape could not be defined)."""
    fam = _Exponential()
    assert float(fam.natural_parameters(2.0)) == -0.5
    assert float(jax.jit(fam.natural_parameters)(2.0)) == -0.5
    # the checks still apply, under the override's own names
    with pytest.raises(ValueError, match="no solution"):
        fam.natural_parameters(-2.0)
    np.testing.assert_allclose(fam.kl_divergence(-1.0, -2.0), np.log(0.5) + 1.0)
    draws = fam.sample(jax.random.key(0), -2.0, (4000,))
    assert draws.shape == (4000,)
    np.testing.assert_allclose(float(fam.mle(draws)), -1 / float(jnp.mean(draws)))
    with pytest.raises(ValueError, match="sample_shape"):
        fam.sample(jax.random.key(0), -2.0, -1)


_POISSON = ef.family(
    sufficient_statistics=lambda x: x,
    log_partition=jnp.exp,
    log_base_measure=lambda x: -jsp.gammaln(x + 1.0),
    natural_domain=D.real(),
    in_support=lambda x: (x >= 0) & (x == jnp.round(x)),
    discrete=True,
    name="user poisson",
)
_NORMAL = ef.family(
    sufficient_statistics=lambda x: (x, x * x),
    log_partition=lambda e: -(e[0] ** 2) / (4 * e[1]) + 0.5 * jnp.log(-jnp.pi / e[1]),
    natural_domain=D.product(D.real(), D.negative()),
    name="user normal",
)


def test_integer_data_reach_a_user_family_as_floats():
    """The documented rule (ints count as the default float) for user u and
    log h too: before, u(x) = x summed 4096 int32 counts of 10^6 to an
    overflowed −1.0e6 average, and x·x of 50000 overflowed in log_prob."""
    counts = np.full(4096, 10**6, np.int32)
    np.testing.assert_allclose(_POISSON.average_sufficient_statistics(counts), 1e6)
    np.testing.assert_allclose(_POISSON.mle(counts), np.log(1e6), rtol=1e-6)
    eta = (jnp.asarray(5e-4), jnp.asarray(-5e-9))  # mean 5e4, sd 1e4
    want = stats.norm(5e4, 1e4).logpdf(5e4)
    for x in (50000, np.int64(50000)):
        np.testing.assert_allclose(_NORMAL.log_prob(eta, x), want, rtol=1e-5)
    traced = jax.jit(_NORMAL.log_prob)(eta, jnp.asarray(50000, jnp.int32))
    np.testing.assert_allclose(traced, want, rtol=1e-5)


def test_symmetric_to_rounding_is_symmetric():
    """−½ inv(Σ) in float32 has 4e-9 against an exact 0 across the diagonal:
    a tolerance relative to the entry refused it (every MVN method raised)."""
    cov = jnp.asarray([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 0.5]])
    lam = -0.5 * jnp.linalg.inv(cov)
    assert bool(D.negative_definite(3).contains(lam))
    want = stats.multivariate_normal(np.zeros(3), np.asarray(cov, np.float64)).logpdf(
        np.zeros(3)
    )
    got = ef.MultivariateNormal(3).log_prob((jnp.zeros(3), lam), jnp.zeros(3))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    skewed = jnp.asarray([[1.0, 0.1], [0.2, 1.0]])  # asymmetric on its scale
    assert not bool(D.positive_definite(2).contains(skewed))


def _zero_truncated_draws(key, eta, shape):
    draws = jax.random.poisson(key, jnp.exp(eta), (8, *shape))
    first = jnp.argmax(draws > 0, axis=0)
    return jnp.take_along_axis(draws, first[None], 0)[0].astype(eta.dtype)


@pytest.mark.filterwarnings("ignore:check_family.*not checked")  # no E[log h]
@pytest.mark.parametrize("which", ["zero-truncated", "spin"])
def test_the_kit_sums_a_discrete_family_over_its_own_support(which):
    """Before: over 0, 1, 2, … regardless of in_support, so a correct
    zero-truncated Poisson had mass 1 + P(0) and a ±1 spin 8e6."""
    if which == "spin":
        fam = ef.family(
            sufficient_statistics=lambda x: x,
            log_partition=lambda eta: jnp.logaddexp(eta, -eta),
            natural_domain=D.real(),
            sample=lambda key, eta, shape: jnp.where(
                jax.random.bernoulli(key, jax.nn.sigmoid(2 * eta), shape), 1.0, -1.0
            ),
            in_support=lambda x: jnp.abs(x) == 1,
            discrete=True,
            name="spin",
        )
        eta = jnp.asarray(0.3)
    else:
        fam = ef.family(
            sufficient_statistics=lambda x: x,
            log_partition=lambda eta: jnp.log(jnp.expm1(jnp.exp(eta))),
            log_base_measure=lambda x: -jsp.gammaln(x + 1),
            natural_domain=D.real(),
            sample=_zero_truncated_draws,
            in_support=lambda x: (x >= 1) & (x == jnp.round(x)),
            discrete=True,
            name="zero-truncated poisson",
        )
        eta = jnp.log(3.0)
    check_family(fam, eta, key=jax.random.key(1))


def test_a_state_holding_a_prng_key_saves_and_resumes(tmp_path):
    """optax.noisy_sgd keeps a typed PRNG key in its state: save_state raised
    (numpy cannot hold one) and so did resuming from it. The key is saved as
    its raw data; saved and resumed equals one long run."""
    normal = ef.Normal()
    xs = np.random.default_rng(0).normal(1.0, 2.0, 2000).astype(np.float32)
    opt = optax.noisy_sgd(1e-3, key=jax.random.key(7))
    kw = dict(optimizer=opt, batch_size=200, key=jax.random.key(1))
    whole = ef.fit(normal, xs, num_steps=15, **kw)
    first = ef.fit(normal, xs, num_steps=10, **kw)
    ef.save_state(tmp_path / "state.pkl", first)
    rest = ef.fit(
        normal, xs, num_steps=5, init=ef.load_state(tmp_path / "state.pkl"), **kw
    )
    np.testing.assert_allclose(rest.natural, whole.natural, rtol=1e-6)


class _Moments(NamedTuple):
    lin: jax.Array
    quad: jax.Array


def test_a_namedtuple_eta_keeps_its_type_everywhere():
    """DESIGN: η is an array or a tuple/NamedTuple of arrays. A NamedTuple u
    was refused by every eager method (the check made η a plain tuple) and
    natural_parameters/mle/fit handed A a plain tuple from the domain."""
    fam = ef.family(
        sufficient_statistics=lambda x: _Moments(x, x * x),
        log_partition=lambda e: (
            -(e.lin**2) / (4 * e.quad) + 0.5 * jnp.log(-jnp.pi / e.quad)
        ),
        natural_domain=D.product(D.real(), D.negative()),
        name="normal as a NamedTuple",
    )
    eta = _Moments(jnp.asarray(0.25), jnp.asarray(-0.125))  # mean 1, variance 4
    np.testing.assert_allclose(fam.log_prob(eta, 0.5), stats.norm(1, 2).logpdf(0.5))
    mu = fam.mean_parameters(eta)
    assert isinstance(mu, _Moments) and isinstance(fam.default_natural(), _Moments)
    back = fam.natural_parameters(mu)
    assert isinstance(back, _Moments)
    np.testing.assert_allclose(jnp.stack(back), jnp.stack(eta), rtol=1e-5)
    xs = np.random.default_rng(0).normal(1.0, 2.0, 500).astype(np.float32)
    mle = fam.mle(xs)
    fitted = ef.fit(
        fam, xs, optimizer=ef.natural_gradient(fam), batch_size=500, num_steps=20
    )
    assert isinstance(fitted.natural, _Moments)
    np.testing.assert_allclose(jnp.stack(fitted.natural), jnp.stack(mle), rtol=1e-5)


_COIN = ef.family(
    sufficient_statistics=lambda x: x,
    log_partition=jax.nn.softplus,
    natural_domain=D.real(),
    in_support=lambda x: (x == 0) | (x == 1),
    discrete=True,
    name="coin",
)


def test_the_generic_inverse_refuses_the_boundary_of_the_mean_domain():
    """All heads: ∇A(η) = σ(η) → 1 only as η runs off, and the residual met
    the tolerance at η ≈ 13 (float32), returned as the MLE. The Newton step
    there is still ~1 in η: not an optimum. Near the boundary, it solves."""
    with pytest.raises(ValueError, match="no solution"):
        _COIN.mle(np.ones(10, np.float32))
    with jax.enable_x64(True), pytest.raises(ValueError, match="no solution"):
        _COIN.natural_parameters(jnp.asarray(1.0))
    near = np.float64(np.float32(0.99))  # the float32 μ, exactly
    want = np.log(near / (1 - near))
    np.testing.assert_allclose(_COIN.natural_parameters(np.float32(near)), want, 1e-4)


def test_the_generic_inverse_is_relative_for_small_means():
    """The tolerance was 1e-5 · max(1, |μ|): absolute below 1, so float32
    Rayleigh η at μ = 1e-6 came back 80 % off (the README's family)."""
    rayleigh = rayleigh_family()
    for mu in (1e-3, 1e-5, 1e-6):
        np.testing.assert_allclose(rayleigh.natural_parameters(mu), -1 / mu, 1e-5)


def test_the_kit_catches_an_in_support_wider_than_the_declared_support():
    """A Rayleigh with in_support x > −1 passed the kit (its draws are all in
    the support), and then log_prob(η, −0.5) and mle of negative data returned
    numbers instead of raising."""
    wide = rayleigh_family(
        expected_log_base_measure=lambda eta: (
            0.5 * jnp.log(-0.5 / eta) + 0.5 * (jnp.log(2.0) - np.euler_gamma)
        ),
        in_support=lambda x: x > -1,
        sample=lambda key, eta, shape: jnp.sqrt(
            jax.random.exponential(key, shape) / -eta
        ),
        support=(0.0, np.inf),
    )
    with pytest.raises(AssertionError, match=r"\[support\] in_support\(-0.001\)"):
        check_family(wide, jnp.asarray(-0.5), key=jax.random.key(0))


def test_extreme_unconstrained_values_stay_in_the_domain():
    """softplus(−60)² underflowed to a singular positive-definite η in
    float32, and softmax to an exact 0 outside the open simplex."""
    for domain in (D.positive_definite(2), D.negative_definite(2)):
        eta = domain.forward(jnp.asarray([-60.0, 0.0, 0.0]))
        assert bool(domain.contains(eta))
    simplex = D.simplex()
    p = simplex.forward(jnp.asarray([50.0, -50.0]))
    assert bool(simplex.contains(p))
    assert np.all(np.isfinite(simplex.inverse(p)))


@dataclasses.dataclass(frozen=True)
class _CheckedRate(_Exponential):
    """The exponential law again, with conventional conversions that branch
    on values in Python, as a researcher might write them: natural_from and
    params_from compile the conversions and must fall back to running them
    as written."""

    param_names = ("rate",)

    def _natural_from(self, rate):
        if float(np.min(rate)) <= 0:
            raise ValueError("_CheckedRate: rate must be > 0")
        return -rate

    def _params_from(self, eta):
        return {"rate": -np.asarray(eta)}


def test_conversions_that_branch_on_values_still_run():
    family = _CheckedRate()
    for _ in range(2):  # the second call goes straight to the eager path
        np.testing.assert_allclose(family.natural_from(rate=2.0), -2.0)
        np.testing.assert_allclose(family.params_from(jnp.asarray(-3.0))["rate"], 3.0)
    with pytest.raises(ValueError, match="rate must be > 0"):
        family.natural_from(rate=-1.0)
