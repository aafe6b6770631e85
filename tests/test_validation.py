"""Bad input raises a ValueError that names the family and the value."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam as ef
from tests.helpers import natural, small_draws
from tests.registry import PARAMS


def _family_name(case):
    return type(case.family).__name__


@pytest.mark.parametrize("case", PARAMS)
def test_data_outside_the_support_is_named(case):
    eta = natural(case, case.typical, "float32")
    for bad in case.bad_data:
        with pytest.raises(ValueError, match=_family_name(case)) as info:
            case.family.log_prob(eta, jnp.asarray(bad))
        assert "NaN" in str(info.value) or "support" in str(info.value)
        good = small_draws(case, "float32")
        batch = jnp.concatenate([good, jnp.asarray(bad, good.dtype)[None]], axis=0)
        with pytest.raises(ValueError, match=r"xs\[8\]"):
            case.family.mle(batch)


def test_subnormal_data_are_read_as_zero_in_every_check(dtype):
    """XLA's CPU reads subnormals as 0, but a support check folded by LLVM
    into a comparison of bits did not: the gamma's ``log_prob`` accepted
    x = 1e-310 and returned +inf, and its ``average_sufficient_statistics``
    returned -inf. A subnormal is now 0 to every check: refused where 0 is
    outside the support, with the reason, and accepted where it is inside."""
    x = np.finfo(dtype).tiny / 4
    assert x > 0
    rest = np.array([0.5, 1.0, 2.0], dtype)
    batch = np.concatenate([[x], rest]).astype(dtype)
    for family in (ef.Gamma(), ef.InverseGamma(), ef.Beta(), ef.LogNormal()):
        eta = family.mle(rest / 4 if isinstance(family, ef.Beta) else rest)
        with pytest.raises(ValueError, match=r"x=.*subnormal.*reads as 0"):
            family.log_prob(eta, x)
        for method in (family.mle, family.average_sufficient_statistics):
            with pytest.raises(ValueError, match=r"xs\[0\].*subnormal.*reads as 0"):
                method(batch)
    normal, exponential = ef.Normal(), ef.Exponential()
    for family in (normal, exponential):
        eta = family.mle(rest)
        np.testing.assert_allclose(
            family.log_prob(eta, x), family.log_prob(eta, 0.0), rtol=1e-6
        )
        assert np.isfinite(family.mle(batch)).all()


@pytest.mark.parametrize("case", PARAMS)
def test_wrong_event_shape_is_named(case):
    eta = natural(case, case.typical, "float32")
    x = small_draws(case, "float32")
    with pytest.raises(ValueError, match="shape"):
        case.family.log_prob(eta, x)  # a batch where one observation is expected
    with pytest.raises(ValueError, match="shape"):
        case.family.average_sufficient_statistics(x[0])  # an observation, no batch


@pytest.mark.parametrize("case", PARAMS)
def test_natural_parameter_outside_the_domain_is_named(case):
    eta = natural(case, case.typical, "float32")
    nan_eta = jax.tree_util.tree_map(lambda e: jnp.full_like(e, jnp.nan), eta)
    x = small_draws(case, "float32")[0]
    for method, args in [
        ("log_prob", (nan_eta, x)),
        ("mean_parameters", (nan_eta,)),
        ("entropy", (nan_eta,)),
        ("kl_divergence", (eta, nan_eta)),
        ("sample", (jax.random.key(0), nan_eta, (8,))),
    ]:
        with pytest.raises(ValueError, match=_family_name(case)):
            getattr(case.family, method)(*args)
    wrong_shape = jax.tree_util.tree_map(lambda e: jnp.zeros((*e.shape, 2)), eta)
    with pytest.raises(ValueError, match="natural parameter"):
        case.family.mean_parameters(wrong_shape)


@pytest.mark.parametrize("case", PARAMS)
def test_natural_from_keywords_are_checked(case):
    params = dict(case.typical)
    missing = dict(params)
    missing.pop(next(iter(missing)))
    with pytest.raises(ValueError, match="missing keyword"):
        case.family.natural_from(**missing)
    with pytest.raises(ValueError, match=r"unknown keyword.*bogus"):
        case.family.natural_from(**params, bogus=1.0)


def test_natural_from_values_outside_the_domain():
    with pytest.raises(ValueError, match=r"Normal\(\).*variance=-1.0"):
        ef.Normal().natural_from(mean=0.0, variance=-1.0)
    with pytest.raises(ValueError, match="Gamma"):
        ef.Gamma().natural_from(shape=-2.0, rate=1.0)
    with pytest.raises(ValueError, match="Poisson"):
        ef.Poisson().natural_from(rate=0.0)


def test_mle_on_the_boundary_of_the_mean_domain():
    # All observations equal: zero variance, no maximum of the likelihood.
    with pytest.raises(ValueError, match=r"Normal.*boundary.*no maximum"):
        ef.Normal().mle(jnp.ones(10))


def test_weights_are_checked():
    xs = jnp.arange(4.0)
    with pytest.raises(ValueError, match="weights"):
        ef.Normal().average_sufficient_statistics(xs, weights=jnp.ones(3))
    with pytest.raises(ValueError, match="weights"):
        ef.Normal().average_sufficient_statistics(xs, weights=-jnp.ones(4))


def test_traced_values_are_not_checked():
    normal = ef.Normal()
    # A NaN reaches jit unchecked and propagates, as documented.
    out = jax.jit(normal.log_prob)(jnp.array([0.0, -0.5]), jnp.nan)
    assert np.isnan(out)


def test_concrete_values_closed_over_in_jit_are_checked_and_work():
    """η and x closed over by a jitted function are concrete: the checks ran
    their own jitted programs, which the outer trace staged, and turned the
    verdict (a tracer) into a bool: TracerBoolConversionError for every
    method, even on good values. They are now checked while tracing."""
    normal, mvn = ef.Normal(), ef.MultivariateNormal(2)
    eta = normal.natural_from(mean=1.0, variance=4.0)
    eta_m = mvn.natural_from(mean=jnp.zeros(2), covariance=jnp.eye(2))
    key = jax.random.key(0)
    one, four, minus_one = (jnp.float32(v) for v in (1.0, 4.0, -1.0))
    calls = {
        "sample": lambda: normal.sample(key, eta, (3,)),
        "log_prob": lambda: normal.log_prob(eta, 1.0),
        "entropy": lambda: normal.entropy(eta),
        "mean_parameters": lambda: normal.mean_parameters(eta),
        "kl_divergence": lambda: normal.kl_divergence(eta, eta),
        "mvn log_prob": lambda: mvn.log_prob(eta_m, jnp.ones(2)),
        "params_from": lambda: normal.params_from(eta)["variance"],
        "natural_from": lambda: normal.natural_from(mean=one, variance=four),
    }
    for name, call in calls.items():
        np.testing.assert_allclose(jax.jit(call)(), call(), rtol=1e-6, err_msg=name)
    bad = jnp.array([1.0, 1.0])  # η₂ > 0
    with pytest.raises(ValueError, match="Normal"):
        jax.jit(lambda: normal.log_prob(bad, 1.0))()
    with pytest.raises(ValueError, match="params_from"):
        jax.jit(lambda: normal.params_from(bad))()
    with pytest.raises(ValueError, match="outside the family's parameter domain"):
        jax.jit(lambda: normal.natural_from(mean=one, variance=minus_one))()
    gamma_eta = jnp.array([1.0, -1.0])
    with pytest.raises(ValueError, match="support"):
        jax.jit(lambda: ef.Gamma().log_prob(gamma_eta, -1.0))()


def test_data_that_are_not_real_numbers_are_named():
    """Complex data (which a cast would silently make real), strings, objects
    (a None among the numbers) and ragged lists: a ValueError naming the
    family, from every door data come in by, not JAX's TypeError."""
    normal = ef.Normal()
    eta = normal.natural_from(mean=0.0, variance=1.0)
    big = np.zeros(300_000) + 1j  # past the size where the batch is split
    for bad, what in [
        (np.array([1.0 + 1.0j, 2.0]), "complex"),
        (big, "complex"),
        (np.array(["1.0", "2.0"]), "dtype <U3"),
        (np.array([1.0, None]), "dtype object"),
        ([1.0, [2.0, 3.0]], "not an array of numbers"),
    ]:
        for call in (
            lambda b=bad: normal.mle(b),
            lambda b=bad: normal.residual(eta, b),
            lambda b=bad: ef.fit(normal, b, num_steps=1, key=jax.random.key(0)),
        ):
            with pytest.raises(ValueError, match=rf"Normal\(\): (xs|data) .*{what}"):
                call()
    with pytest.raises(ValueError, match="weights has the complex dtype"):
        normal.mle(np.ones(3), weights=np.ones(3, complex))
    glm = ef.GLM(ef.Poisson(), 2)
    with pytest.raises(ValueError, match=r"GLM.*inputs has dtype object"):
        ef.fisher_scoring(glm, (np.array([[1, 2], [3, None]]), np.ones(2)))
    with pytest.raises(ValueError, match=r"Poisson\(\): targets has dtype <U1"):
        ef.fisher_scoring(glm, (np.ones((2, 2)), np.array(["1", "2"])))


def test_lists_of_observations_are_batches():
    """``mle([0.5, 1.2, ...])`` is the batch the list makes (bools count as
    0/1 for counts), while a list of arrays of several observations stays a
    sequence of chunks."""
    bernoulli = ef.Bernoulli()
    tosses = [1, 0, 1, 1]
    expected = bernoulli.mle(np.asarray(tosses, np.float32))
    for xs in (
        tosses,
        tuple(tosses),
        [bool(t) for t in tosses],
        np.array(tosses, bool),
    ):
        np.testing.assert_allclose(bernoulli.mle(xs), expected, rtol=1e-6)
    gamma = ef.Gamma()
    xs, w = [1.0, 2.0, 3.0, 0.5], [1.0, 2.0, 3.0, 1.0]
    np.testing.assert_allclose(
        gamma.mle(xs, weights=w),
        gamma.mle(np.asarray(xs, np.float32), weights=np.asarray(w, np.float32)),
        rtol=1e-6,
    )
    mvn = ef.MultivariateNormal(2)
    rows = [[0.0, 1.0], [1.0, 0.5], [2.0, 2.0]]
    for ours, theirs in zip(
        mvn.average_sufficient_statistics(rows),
        mvn.average_sufficient_statistics(np.asarray(rows, np.float32)),
        strict=True,
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    chunks = [np.array([1.0, 2.0]), np.array([3.0, 1.0])]  # two chunks of two
    np.testing.assert_allclose(
        ef.Poisson().mle(chunks), ef.Poisson().mle(np.concatenate(chunks)), rtol=1e-6
    )
    traced = jax.jit(lambda a, b, c: ef.Normal().mle([a, b, c]))(1.0, 2.0, 4.0)
    np.testing.assert_allclose(traced, ef.Normal().mle([1.0, 2.0, 4.0]), rtol=1e-6)
    fitted = ef.fit(
        ef.Normal(), [0.1, 0.2, 0.3], batch_size=2, num_steps=2, key=jax.random.key(0)
    )
    assert np.all(np.isfinite(np.asarray(fitted.natural)))


def test_fit_and_solver_arguments_are_checked():
    """Misused arguments get a ValueError naming the call, not an
    AttributeError, JAX's key TypeError, an MLIR error or a silent run."""
    normal = ef.Normal()
    xs = np.linspace(-1.0, 1.0, 64, dtype=np.float32)
    for kwargs, what in [
        (dict(optimizer="adam"), "not an optax GradientTransformation"),
        (dict(key=0), "not a JAX PRNG key"),
        (dict(tol=-1.0), "tol=-1.0 must be a number >= 0"),
        (dict(tol=float("nan")), "tol=nan must be a number >= 0"),
        (dict(chunk=0), "chunk=0 must be an int >= 1"),
        (dict(devices=[]), "selects no device"),
    ]:
        with pytest.raises(ValueError, match=rf"Normal\(\): fit: .*{what}"):
            ef.fit(normal, xs, num_steps=1, **kwargs)
    with pytest.raises(ValueError, match="family or a conditional model instance"):
        ef.fit(ef.Normal, xs, num_steps=1)
    eta = normal.natural_from(mean=0.0, variance=1.0)
    for shape in [(-1,), (2.5,), "ab"]:
        with pytest.raises(ValueError, match=r"Normal\(\): sample: shape="):
            normal.sample(jax.random.key(0), eta, shape)
    with pytest.raises(ValueError, match=r"Normal\(\): sample: key=0 is not a JAX"):
        normal.sample(0, eta, (2,))
    for family, name, extra in [
        (ef.MultivariateNormal(2), "covariance", dict(mean=np.zeros(2))),
        (ef.Wishart(2), "scale", dict(df=5.0)),
    ]:
        lopsided = np.array([[1.0, 0.5], [0.0, 1.0]])  # Cholesky would symmetrize
        with pytest.raises(ValueError, match=rf"{name} is not symmetric"):
            family.natural_from(**extra, **{name: lopsided})
        rounded = np.array([[2.0, 0.3], [0.3 + 1e-7, 1.0]], np.float32)  # rounding
        family.natural_from(**extra, **{name: rounded})
    with pytest.raises(ValueError, match="the weights sum to 0"):
        normal.mle(xs[:3], weights=np.zeros(3))
    glm = ef.GLM(ef.Poisson(), 3)
    data = (np.ones((4, 2)), np.ones(4))
    with pytest.raises(
        ValueError, match=r"shape \(4, 2\), but a GLM with num_features=3"
    ):
        ef.fisher_scoring(glm, data)
    glm2 = ef.GLM(ef.Poisson(), 2)
    for kwargs in (dict(tol=-1.0), dict(damping=-1e-3)):
        with pytest.raises(ValueError, match="must be >= 0"):
            ef.fisher_scoring(glm2, data, **kwargs)


def test_a_predictor_of_the_wrong_size_is_named_by_shapes():
    """Inside the vmapped fit the output is traced: the error gives its shape
    and the shapes the family wants, not a tracer's repr."""
    model = ef.Conditional(ef.Normal(), lambda p, x: x @ p)
    data = (np.ones((10, 3), np.float32), np.ones(10, np.float32))
    with pytest.raises(
        ValueError,
        match=r"output an array of shape \(3,\) and dtype float32 is neither .*"
        r"shape \(2,\).* length 2",
    ):
        ef.fit(model, data, init=jnp.zeros((3, 3)), num_steps=1, batch_size=5)


def test_sequences_as_natural_parameters():
    """η given as a list or tuple is read in η's own form: an array for the
    normal, a tuple for the multivariate normal; a wrong one is still named."""
    normal = ef.Normal()
    eta = jnp.array([0.0, -0.5])
    for given in ([0.0, -0.5], (0.0, -0.5)):
        np.testing.assert_allclose(
            normal.mean_parameters(given), normal.mean_parameters(eta)
        )
        np.testing.assert_allclose(
            normal.log_prob(given, 0.3), normal.log_prob(eta, 0.3), rtol=1e-6
        )
    mvn = ef.MultivariateNormal(2)
    pair = mvn.natural_from(mean=np.zeros(2), covariance=np.eye(2))
    for ours, theirs in zip(
        mvn.mean_parameters(list(pair)), mvn.mean_parameters(pair), strict=True
    ):
        np.testing.assert_allclose(ours, theirs)
    with pytest.raises(ValueError, match=r"Normal\(\): eta=.*not a natural parameter"):
        normal.mean_parameters([0.0, 0.5])


def test_an_unhashable_family_is_named():
    # A frozen dataclass with an array field cannot key jit's caches: JAX's
    # "Non-hashable static arguments" (from mle) or nothing (fit's dead
    # fallback) before; now one ValueError that says what to do.
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Shifted(ef.ExponentialFamily):
        offsets: object = None

        def sufficient_statistics(self, x):
            return jnp.stack([x, x * x])

        def log_partition(self, eta):
            return -(eta[0] ** 2) / (4 * eta[1]) - 0.5 * jnp.log(-2 * eta[1])

        @property
        def natural_domain(self):
            return ef.domains.stack(ef.domains.real(), ef.domains.negative())

    family = Shifted(offsets=np.ones(2))
    xs = np.random.default_rng(0).normal(size=50)
    eta = jnp.array([0.0, -0.5])
    for call in (
        lambda: family.mle(xs),
        lambda: family.log_prob(eta, 0.3),
        lambda: family.residual(eta, xs),
        lambda: ef.fit(family, xs, num_steps=2),
    ):
        with pytest.raises(
            ValueError, match=r"Shifted.*not hashable.*frozen dataclass"
        ):
            call()
