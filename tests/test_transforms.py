"""Every method under jit, vmap and grad, and dtypes preserved."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.helpers import flat, leaf_dtypes, natural, tree_allclose
from tests.registry import PARAMS


def _pair(case, dtype):
    eta = natural(case, case.typical, dtype)
    z = case.family.natural_domain.inverse(eta)
    eta_q = case.family.natural_domain.forward(
        jax.tree_util.tree_map(lambda v: v + 0.1, z)
    )
    return eta, eta_q


@pytest.mark.parametrize("case", PARAMS)
def test_jit_and_vmap_agree_with_eager(case):
    fam = case.family
    eta, eta_q = _pair(case, "float32")
    xs = fam.sample(jax.random.key(1), eta, (5,))
    eager_lp = np.stack([np.asarray(fam.log_prob(eta, x)) for x in xs])
    np.testing.assert_allclose(
        jax.jit(jax.vmap(fam.log_prob, (None, 0)))(eta, xs), eager_lp, rtol=1e-5
    )
    etas = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), eta, eta_q)
    for method in ["mean_parameters", "fisher_information", "entropy"]:
        batched = jax.jit(jax.vmap(getattr(fam, method)))(etas)
        tree_allclose(
            jax.tree_util.tree_map(lambda v: v[1], batched),
            getattr(fam, method)(eta_q),
            rtol=1e-4,
            atol=1e-6,
        )
    mus = jax.vmap(fam.mean_parameters)(etas)
    back = jax.jit(jax.vmap(fam.natural_parameters))(mus)
    tree_allclose(back, etas, rtol=2e-3, atol=2e-3 * max(1, np.abs(flat(etas)).max()))
    kl = jax.jit(jax.vmap(fam.kl_divergence, (None, 0)))(eta, etas)
    assert abs(float(kl[0])) < 1e-4 * (1 + abs(float(fam.log_partition(eta))))
    ce = jax.jit(fam.cross_entropy)(eta, eta_q)
    np.testing.assert_allclose(ce, fam.cross_entropy(eta, eta_q), rtol=1e-5)
    draws = jax.jit(lambda k, e: fam.sample(k, e, (3,)))(jax.random.key(2), eta)
    assert draws.shape == (3, *fam.event_shape)
    res = jax.jit(fam.residual)(eta, xs)
    tree_allclose(res, fam.residual(eta, xs), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", PARAMS)
def test_grad_of_log_prob_is_the_residual_of_one_sample(case):
    fam = case.family
    eta, eta_q = _pair(case, "float32")
    x = fam.sample(jax.random.key(3), eta, ())
    g = jax.grad(fam.log_prob)(eta, x)
    expected = jax.tree_util.tree_map(
        jnp.subtract, fam.sufficient_statistics(x), fam.mean_parameters(eta)
    )
    tree_allclose(
        g, expected, rtol=1e-4, atol=1e-4 * (1 + np.abs(flat(expected)).max())
    )
    # KL(p, q) is minimized at q = p: its gradient in η_q vanishes there.
    g_kl = jax.grad(fam.kl_divergence, argnums=1)(eta, eta)
    assert np.abs(flat(g_kl)).max() < 1e-3 * (1 + np.abs(flat(eta)).max())
    # Entropy and the inverse map are differentiable.
    assert np.all(np.isfinite(flat(jax.grad(fam.entropy)(eta_q))))
    mu = fam.mean_parameters(eta)
    grad_inv = jax.grad(lambda m: jnp.sum(flat_sum(fam.natural_parameters(m))))(mu)
    assert np.all(np.isfinite(flat(grad_inv)))


def flat_sum(tree):
    return sum(jnp.sum(leaf) for leaf in jax.tree_util.tree_leaves(tree))


@pytest.mark.parametrize("case", PARAMS)
def test_dtype_is_preserved(case, dtype):
    fam = case.family
    eta, eta_q = _pair(case, dtype)
    want = {np.dtype(dtype)}
    assert leaf_dtypes(eta) == want
    xs = fam.sample(jax.random.key(0), eta, (4,))
    assert np.dtype(xs.dtype) == np.dtype(dtype)
    for out in [
        fam.log_prob(eta, xs[0]),
        fam.mean_parameters(eta),
        fam.fisher_information(eta),
        fam.entropy(eta),
        fam.kl_divergence(eta, eta_q),
        fam.cross_entropy(eta, eta_q),
        fam.natural_parameters(fam.mean_parameters(eta)),
        fam.average_sufficient_statistics(xs),
        fam.residual(eta, xs),
    ]:
        assert leaf_dtypes(out) == want
