"""The public surface used the way a researcher would: copies, dtypes,
lists, numpy sizes, constructors (each test fails on the code before its
fix; found by a review of the API's consistency)."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam as ef
from expfam.testing import check_family
from tests.helpers import rayleigh_family

D = ef.domains


def test_half_float_data_are_summed_as_the_default_float():
    """float16 sums overflow at 65504: 10^5 standard normals' Σx² was inf and
    ū NaN (mle blamed the data); small batches lost digits."""
    rng = np.random.default_rng(0)
    xs = (rng.standard_normal(100_000) * 2 + 1).astype(np.float16)
    want = ef.Normal().average_sufficient_statistics(xs.astype(np.float32))
    got = ef.Normal().average_sufficient_statistics(xs)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)
    counts = rng.poisson(3.0, 100_000).astype(np.float16)
    np.testing.assert_allclose(
        ef.Poisson().average_sufficient_statistics(counts),
        counts.mean(dtype=np.float64),
        rtol=1e-6,
    )
    small = np.array([1, 2, 4], np.float16)
    np.testing.assert_allclose(
        ef.Normal().mle(small), ef.Normal().mle(small.astype(np.float32))
    )


def test_a_copied_functional_family_is_the_family():
    """deepcopy copied jnp.log (a jitted function) into an unequal object, so
    a deep-copied result could not resume its own fit."""
    ray = rayleigh_family()
    assert copy.deepcopy(ray) == ray and hash(copy.deepcopy(ray)) == hash(ray)
    xs = np.random.default_rng(0).rayleigh(2.0, 200).astype(np.float32)
    first = ef.fit(ray, xs, batch_size=50, num_steps=20)
    again = ef.fit(ray, xs, batch_size=50, num_steps=5, init=copy.deepcopy(first))
    assert again.num_steps == 5
    # A result compares by identity (its arrays' == is elementwise).
    assert first in [again, first] and first != again and hash(first) != hash(again)


def test_lists_are_parameters_everywhere():
    """mean_parameters took a list; params_from and natural_parameters said
    the same values were 'not a finite mean parameter'."""
    normal = ef.Normal()
    assert float(normal.params_from([0.25, -0.125])["variance"]) == pytest.approx(4.0)
    np.testing.assert_allclose(normal.natural_parameters([1.0, 5.0]), [0.25, -0.125])
    mvn = ef.MultivariateNormal(2)
    h, lam = mvn.natural_parameters([np.zeros(2), np.eye(2)])
    np.testing.assert_allclose(h, np.zeros(2), atol=1e-7)
    np.testing.assert_allclose(lam, -0.5 * np.eye(2), atol=1e-7)


def test_numpy_sizes_are_sizes():
    """Categorical took np.int64; Dirichlet, MultivariateNormal, Wishart and
    positive_definite said 'd must be an int >= 1' for d = 2."""
    for make in (ef.Dirichlet, ef.MultivariateNormal, ef.Wishart, ef.Categorical):
        assert make(np.int64(3)) == make(3)
        assert repr(make(np.int64(3))) == repr(make(3))
    assert D.positive_definite(np.int64(2)) == D.positive_definite(2)
    for bad in (2.5, True, 0):
        with pytest.raises(ValueError, match="must be an int"):
            ef.MultivariateNormal(bad)


def test_domain_constructors_check_their_arguments():
    """interval(0, inf).forward gave 3.4e38 for every z, and stack(D.real)
    (uncalled) failed only later, inside mean_parameters."""
    with pytest.raises(ValueError, match="high must be a finite number"):
        D.interval(0.0, np.inf)
    with pytest.raises(ValueError, match="low must be a finite number"):
        D.greater_than(float("nan"))
    with pytest.raises(
        ValueError, match=r"entry 0 .* not a domain \(call it: real\(\)\)"
    ):
        D.stack(D.real, D.negative)
    with pytest.raises(ValueError, match="at least one domain"):
        D.product()
    with pytest.raises(ValueError, match="must be an int"):
        D.negative_definite(0)
    assert D.greater_than(np.float32(1.0)) == D.greater_than(1.0)


def test_check_family_checks_its_arguments():
    """key=0 gave JAX's TypeError, num_samples=0 a ZeroDivisionError, a
    string an AttributeError; a list η now works as for every method."""
    normal = ef.Normal()
    with pytest.raises(ValueError, match="key=0 is not a JAX PRNG key"):
        check_family(normal, [0.0, -0.5], key=0)
    with pytest.raises(ValueError, match="num_samples=0"):
        check_family(normal, [0.0, -0.5], key=jax.random.key(0), num_samples=0)
    with pytest.raises(ValueError, match="family instance"):
        check_family("normal", [0.0, -0.5], key=jax.random.key(0))
    with pytest.raises(ValueError, match="not a natural parameter"):
        check_family(normal, [0.0, 0.5], key=jax.random.key(0))
    check_family(normal, [0.0, -0.5], key=jax.random.key(0))


def test_chunk_weights_that_do_not_line_up_are_named():
    """A short weights iterator raised 'generator raised StopIteration', one
    flat weights array 'weights have shape ()', and mle(None) a TypeError."""
    normal = ef.Normal()
    chunks = [np.array([1.0, 2.0]), np.array([3.0])]
    with pytest.raises(ValueError, match="weights ran out at chunk 1"):
        normal.average_sufficient_statistics(iter(chunks), iter([np.ones(2)]))
    with pytest.raises(ValueError, match="one weights array per chunk"):
        normal.average_sufficient_statistics(chunks, np.array([1.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"Normal.*cannot average over NoneType"):
        normal.mle(None)
    got = normal.average_sufficient_statistics(chunks, [np.ones(2), np.full(1, 2.0)])
    np.testing.assert_allclose(got, [(1 + 2 + 6) / 4, (1 + 4 + 18) / 4])


def test_a_batch_of_means_broadcasts_against_one_covariance():
    """One mean against four covariances worked; four means against one
    covariance was called 'outside the family's parameter domain'."""
    mvn = ef.MultivariateNormal(2)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    means = np.arange(8.0).reshape(4, 2)
    h, lam = mvn.natural_from(mean=means, covariance=cov)
    assert h.shape == (4, 2) and lam.shape == (4, 2, 2)
    h1, lam1 = mvn.natural_from(mean=means[1], covariance=cov)
    np.testing.assert_allclose(h[1], h1, rtol=1e-6)
    np.testing.assert_allclose(lam[1], lam1, rtol=1e-6)
    np.testing.assert_allclose(mvn.params_from((h, lam))["mean"], means, rtol=1e-5)


@pytest.mark.parametrize(
    ("family", "eta", "x"),
    [
        (ef.Normal(), [0.5, -0.5], 1.5),
        (ef.Gamma(), [1.0, -2.0], 0.7),
        (ef.Poisson(), 0.3, 3),
        (ef.Bernoulli(), -0.2, True),
        (ef.Exponential(), -1.5, 2),
        (ef.Poisson(), 0.3, np.int64(3)),
        (ef.Bernoulli(), -0.2, np.bool_(False)),
    ],
)
def test_python_number_observations_take_the_parameters_dtype(family, eta, x):
    """Under x64, a float32 η at a Python-number (or int, or bool)
    observation gave a float64 log density: the observation was made a
    strong float64 on its way to u and log h."""
    with jax.enable_x64(True):
        eta32 = jnp.asarray(eta, jnp.float32)
        for log_prob in (family.log_prob, jax.jit(family.log_prob)):
            out = log_prob(eta32, x)
            assert out.dtype == jnp.float32
            want = family.log_prob(eta32.astype(jnp.float64), x)
            np.testing.assert_allclose(out, want, rtol=2e-6)
        assert family.log_prob(eta32.astype(jnp.float64), x).dtype == jnp.float64


def test_list_observations_under_jit():
    """A list observation under jit reached log h as a list of tracers
    (TypeError from ``stat_dtype``)."""
    mvn = ef.MultivariateNormal(2)
    eta = mvn.natural_from(mean=jnp.zeros(2), covariance=jnp.eye(2))
    want = mvn.log_prob(eta, jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(jax.jit(mvn.log_prob)(eta, [1.0, 2.0]), want)


def test_bools_are_not_sizes():
    """``True`` passed as a sample shape or as ``fisher_scoring``'s num_steps
    was taken as 1."""
    normal = ef.Normal()
    eta = normal.natural_from(mean=0.0, variance=1.0)
    with pytest.raises(ValueError, match="shape=True"):
        normal.sample(jax.random.key(0), eta, True)
    with pytest.raises(ValueError, match="shape"):
        normal.sample(jax.random.key(0), eta, (2, False))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 2)), rng.poisson(1.0, 50).astype(float)
    with pytest.raises(ValueError, match="num_steps"):
        ef.fisher_scoring(ef.GLM(ef.Poisson(), 2), (X, y), num_steps=True)


def test_legal_parameters_lost_to_float32_rounding_say_so():
    """float32 Pareto α = 1e-9 maps to η = −1 − α = −1.0, the domain's
    boundary: the error called the legal value 'outside the domain' and no
    more. It now shows η and, where float64 holds the values, says so; values
    illegal in any precision get no such hint."""
    with pytest.raises(ValueError, match=r"alpha=1e-09.*η = -1\.0.*legal.*float64"):
        ef.Pareto(minimum=1.0).natural_from(alpha=1e-9)
    with pytest.raises(ValueError, match=r"variance=1e-46.*legal.*float64"):
        ef.Normal().natural_from(mean=0.0, variance=1e-46)
    with pytest.raises(ValueError, match=r"parameter domain \(in float32") as info:
        ef.Gamma().natural_from(shape=-1.0, rate=1.0)
    assert "legal" not in str(info.value)
