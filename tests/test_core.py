"""Domains, the functional constructor, subclassing, and the Newton inverse."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam as ef
from expfam import domains
from expfam.testing import check_family
from tests.helpers import tree_allclose

DOMAINS = [
    (domains.real(), (3,)),
    (domains.positive(), (3,)),
    (domains.negative(), (3,)),
    (domains.greater_than(-1.0), (3,)),
    (domains.less_than(2.0), (3,)),
    (domains.interval(-1.0, 3.0), (3,)),
    (domains.simplex(), (3,)),
    (domains.positive_definite(3), (6,)),
    (domains.negative_definite(2), (3,)),
    (domains.stack(domains.real(), domains.negative()), (2,)),
]


@pytest.mark.parametrize(
    "domain,shape", DOMAINS, ids=[type(d).__name__ for d, _ in DOMAINS]
)
def test_domain_is_a_bijection_onto_its_set(domain, shape):
    with jax.enable_x64(True):
        z = jax.random.normal(jax.random.key(0), shape, jnp.float64) * 3
        eta = domain.forward(z)
        assert bool(domain.contains(eta))
        np.testing.assert_allclose(domain.inverse(eta), z, rtol=1e-9, atol=1e-9)
        # Large steps never leave the domain.
        assert bool(domain.contains(domain.forward(z * 10)))


def test_domain_contains_rejects_outside_points():
    assert not bool(domains.positive().contains(jnp.array([1.0, -1.0])))
    assert not bool(domains.interval(0.0, 1.0).contains(jnp.array(1.0)))
    assert not bool(domains.positive_definite(2).contains(-jnp.eye(2)))
    assert not bool(domains.simplex().contains(jnp.array([0.5, 0.6])))
    assert not bool(domains.real().contains(jnp.array(jnp.nan)))
    with pytest.raises(ValueError, match="low must be < high"):
        domains.interval(1.0, 0.0)


# A family that is not built in: the Rayleigh distribution, p(x) = x/σ² e^{−x²/2σ²}.
# u(x) = x², η = −1/(2σ²) < 0, A(η) = −log(−2η), h(x) = x.
def _rayleigh_sample(key, eta, shape):
    sigma = jnp.sqrt(-0.5 / eta)
    return sigma * jnp.sqrt(-2 * jnp.log(jax.random.uniform(key, shape, eta.dtype)))


def _rayleigh_expected_log_h(eta):
    # E[log x] = log σ + (log 2 − γ)/2
    return 0.5 * jnp.log(-0.5 / eta) + 0.5 * (jnp.log(2.0) - np.euler_gamma)


RAYLEIGH = ef.family(
    sufficient_statistics=lambda x: x * x,
    log_partition=lambda eta: -jnp.log(-2 * eta),
    log_base_measure=jnp.log,
    expected_log_base_measure=_rayleigh_expected_log_h,
    natural_domain=domains.negative(),
    sample=_rayleigh_sample,
    in_support=lambda x: x > 0,
    support=(0.0, np.inf),
    name="rayleigh",
)


def test_functional_family_passes_the_kit_and_fits():
    with jax.enable_x64(True):
        from scipy import stats

        eta = jnp.asarray(-0.5 / 4.0)  # σ = 2
        check_family(RAYLEIGH, eta, key=jax.random.key(0))
        x = jnp.array([0.5, 1.0, 3.0])
        np.testing.assert_allclose(
            jax.vmap(RAYLEIGH.log_prob, (None, 0))(eta, x),
            stats.rayleigh(scale=2.0).logpdf(np.asarray(x)),
            rtol=1e-10,
        )
        np.testing.assert_allclose(
            RAYLEIGH.entropy(eta), stats.rayleigh(scale=2.0).entropy(), rtol=1e-10
        )
        xs = RAYLEIGH.sample(jax.random.key(1), eta, (50_000,))
        eta_hat = RAYLEIGH.mle(xs)  # through the generic Newton solve
        # ∇A(η) = −1/η = E[x²], so the MLE is −1/mean(x²)
        np.testing.assert_allclose(eta_hat, -1.0 / jnp.mean(xs * xs), rtol=1e-9)
        with pytest.raises(ValueError, match=r"rayleigh.*support"):
            RAYLEIGH.log_prob(eta, -1.0)


@dataclasses.dataclass(frozen=True)
class Rayleigh(ef.ExponentialFamily):
    """The same family by subclassing."""

    support = (0.0, np.inf)

    def sufficient_statistics(self, x):
        return x * x

    def log_partition(self, eta):
        return -jnp.log(-2 * eta)

    def log_base_measure(self, x):
        return jnp.log(x)

    def expected_log_base_measure(self, eta):
        return _rayleigh_expected_log_h(eta)

    @property
    def natural_domain(self):
        return domains.negative()

    def in_support(self, x):
        return x > 0

    def sample(self, key, eta, shape=()):
        return _rayleigh_sample(key, eta, shape)


def test_subclassed_family_gets_checks_and_derivations():
    fam = Rayleigh()
    eta = jnp.asarray(-0.125)
    check_family(fam, eta, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"Rayleigh.*natural domain"):
        fam.entropy(jnp.asarray(0.5))
    with pytest.raises(ValueError, match=r"Rayleigh.*natural domain"):
        fam.sample(jax.random.key(0), jnp.asarray(0.5), (3,))
    with pytest.raises(ValueError, match="conventional"):
        fam.natural_from(scale=1.0)


def test_functional_constructor_validates_its_arguments():
    with pytest.raises(ValueError, match="natural_domain"):
        ef.family(
            sufficient_statistics=jnp.sin, log_partition=jnp.exp, natural_domain=3
        )
    with pytest.raises(ValueError, match="callable"):
        ef.family(
            sufficient_statistics=1,
            log_partition=jnp.exp,
            natural_domain=domains.real(),
        )


def test_newton_inverse_is_accurate_and_differentiable_in_float64():
    with jax.enable_x64(True):
        gamma = ef.Gamma()
        generic = ef.ExponentialFamily.natural_parameters
        for shape, rate in [(1e-3, 1.0), (0.3, 5.0), (7.0, 0.1), (1e4, 2.0)]:
            eta = gamma.natural_from(shape=shape, rate=rate)
            mu = gamma.mean_parameters(eta)
            tree_allclose(generic(gamma, mu), eta, rtol=1e-6)
            tree_allclose(gamma.natural_parameters(mu), eta, rtol=1e-6)
        # Implicit-function gradient: dη/dμ = (∇²A)⁻¹.
        eta = gamma.natural_from(shape=2.0, rate=3.0)
        mu = gamma.mean_parameters(eta)
        jac = jax.jacobian(lambda m: generic(gamma, m))(mu)
        np.testing.assert_allclose(
            jac, np.linalg.inv(gamma.fisher_information(eta)), rtol=1e-6
        )


def test_newton_unconverged_is_reported():
    gamma = ef.Gamma()
    bad = jnp.array([1.0, 1.0])  # E[log x] > log E[x] violates Jensen: no solution
    with pytest.raises(ValueError, match="no solution"):
        ef.ExponentialFamily.natural_parameters(gamma, bad)
    out = jax.jit(lambda m: ef.ExponentialFamily.natural_parameters(gamma, m))(bad)
    assert np.all(np.isnan(out))


def test_solver_compile_options_fall_back_when_unknown():
    """An XLA option this jaxlib does not know leaves the solver on XLA's
    defaults (None) instead of failing every solve."""
    from expfam import _xla

    assert _xla.supported({"xla_no_such_option_anywhere": "1"}) is None
