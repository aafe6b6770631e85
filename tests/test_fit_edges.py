"""ef.fit at its edges: rejected steps, init, resume, odd arguments."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import expfam as ef
from tests.helpers import tree_allclose

ADAM = optax.adam(5e-2)  # one instance: fits share compiled code


# --------------------------------------------------------------------------- #
# 1. A non-finite step is rejected: z and the optimizer state stay as they were
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("family", [ef.Wishart(2), ef.MultivariateNormal(2)])
def test_a_huge_sgd_step_never_poisons_the_fit(family):
    """sgd with learning rate 50 overflows; every step that cannot be made
    finite is refused, so the fit ends at a finite η in the domain."""
    W = np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]]] * 50, np.float32)
    data = W if isinstance(family, ef.Wishart) else W.reshape(-1, 2)
    result = ef.fit(family, data, optimizer=optax.sgd(50.0), num_steps=100)
    assert bool(family._contains(result.natural))
    leaves = jax.tree_util.tree_leaves(result.natural)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)


def test_an_infinite_gradient_is_skipped_with_the_optimizer_state():
    """A batch whose ū overflows (x² = inf in float32) gives an inf gradient:
    the step is rejected and adam's moments are left as they were, so the fit
    equals the same fit without that batch (before: z + 0·inf = NaN)."""
    rng = np.random.default_rng(0)
    batches = list(rng.normal(1.0, 2.0, (6, 20)).astype(np.float32))
    bad = batches[2].copy()
    bad[0] = 1e30
    normal = ef.Normal()
    with_bad = ef.fit(
        normal, iter([*batches[:2], bad, *batches[2:]]), optimizer=ADAM, batch_size=20
    )
    without = ef.fit(normal, iter(batches), optimizer=ADAM, batch_size=20)
    assert with_bad.num_steps == 7 and not np.isfinite(with_bad.history.nll[2])
    np.testing.assert_array_equal(with_bad.natural, without.natural)


def test_a_conditional_fit_skips_an_infinite_gradient_with_the_optimizer_state():
    """The same for a GLM: one batch with an overflowing row (x = 1e20) gives
    an inf gradient; before, adam's moments took the NaN and every later step
    was refused (the coefficients froze)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2)).astype(np.float32)
    y = rng.poisson(np.exp(X @ [0.3, -0.2] + 0.5)).astype(np.float32)
    pairs = [(X[i : i + 20], y[i : i + 20]) for i in range(0, 120, 20)]
    X_bad = pairs[1][0].copy()
    X_bad[0] = 1e20
    glm = ef.GLM(ef.Poisson(), 2)
    kw = dict(optimizer=ADAM, batch_size=20)
    with_bad = ef.fit(glm, iter([*pairs[:1], (X_bad, pairs[1][1]), *pairs[1:]]), **kw)
    without = ef.fit(glm, iter(pairs), **kw)
    assert with_bad.num_steps == 7
    assert not np.isfinite(with_bad.history.residual_norm[1])
    tree_allclose(with_bad.params, without.params, rtol=0, atol=0)


# --------------------------------------------------------------------------- #
# 2. init: dtypes, another family's result, another optimizer's state
# --------------------------------------------------------------------------- #

XS = np.random.default_rng(0).normal(1.0, 2.0, 1000).astype(np.float32)


def test_init_of_another_float_dtype_is_cast_to_the_familys():
    """η is computed in the family's dtype (float32; float64 under x64): an
    init in float16 (before: a crash inside JAX's vjp) or, under x64, a
    float32 init for float64 data fits as the same init in that dtype."""
    normal = ef.Normal()
    start = [0.0, -1.0]
    ref = ef.fit(normal, XS, num_steps=5, init=jnp.array(start, jnp.float32))
    half = ef.fit(normal, XS, num_steps=5, init=jnp.array(start, jnp.float16))
    np.testing.assert_array_equal(half.natural, ref.natural)
    with jax.enable_x64(True):
        xs64 = XS.astype(np.float64)
        ref64 = ef.fit(normal, xs64, num_steps=5, init=jnp.array(start, jnp.float64))
        single = ef.fit(normal, xs64, num_steps=5, init=jnp.array(start, jnp.float32))
        assert single.natural.dtype == jnp.float64
        np.testing.assert_array_equal(single.natural, ref64.natural)
        # A float32 state resumes in float64, its adam moments cast too.
        resumed = ef.fit(normal, xs64, num_steps=5, init=ref.state)
        assert resumed.natural.dtype == jnp.float64
    longer = ef.fit(normal, XS, num_steps=10, init=jnp.array(start, jnp.float32))
    np.testing.assert_allclose(resumed.natural, longer.natural, rtol=1e-5)


def test_init_from_another_family_is_refused_by_name():
    gamma = ef.fit(ef.Gamma(), np.abs(XS) + 0.1, num_steps=5)
    with pytest.raises(ValueError, match=r"Normal\(\).*Gamma\(\)"):
        ef.fit(ef.Normal(), XS, num_steps=5, init=gamma)
    # A bare state carries no family: its parameter shapes are checked.
    with pytest.raises(ValueError, match=r"Wishart.*another family"):
        ef.fit(ef.Wishart(2), np.stack([np.eye(2)] * 4), init=gamma.state)


def test_init_from_another_optimizers_result_starts_that_optimizer_afresh():
    """natural_gradient's and fisher_scoring's optimizer state (EmptyState)
    does not fit adam's: adam starts afresh at the result's parameters, as
    from init=<those parameters> (before: optax's 'number of updates and
    states' error)."""
    normal = ef.Normal()
    newton = ef.fit(normal, XS, optimizer=ef.natural_gradient(normal), num_steps=3)
    adam = ef.fit(normal, XS, optimizer=ADAM, num_steps=5, init=newton)
    plain = ef.fit(normal, XS, optimizer=ADAM, num_steps=5, init=newton.natural)
    assert adam.num_steps == 5
    np.testing.assert_allclose(adam.natural, plain.natural, rtol=1e-6)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = rng.poisson(np.exp(X @ [0.3, -0.2] + 0.5)).astype(np.float32)
    glm = ef.GLM(ef.Poisson(), 2)
    scored = ef.fisher_scoring(glm, (X, y))
    warm = ef.fit(glm, (X, y), optimizer=ADAM, num_steps=5, init=scored)
    cold = ef.fit(glm, (X, y), optimizer=ADAM, num_steps=5, init=scored.params)
    tree_allclose(warm.params, cold.params, rtol=0, atol=0)
