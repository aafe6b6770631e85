"""Every method under jit, vmap and grad, and dtypes preserved.

Each test traces its transformed methods into one compiled program (the suite is
compile-bound), and compares against the eager methods, which are compiled once
per family and dtype and shared with the other test files.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam as ef
from tests.helpers import flat, leaf_dtypes, natural, small_draws, tree_allclose
from tests.registry import PARAMS


def _pair(case, dtype):
    eta = natural(case, case.typical, dtype)
    z = case.family.natural_domain.inverse(eta)
    eta_q = case.family.natural_domain.forward(
        jax.tree_util.tree_map(lambda v: v + 0.1, z)
    )
    return eta, eta_q


def _stack(a, b):
    return jax.tree_util.tree_map(lambda u, v: jnp.stack([u, v]), a, b)


@functools.partial(jax.jit, static_argnums=0)
def _transformed(fam, eta, eta_q, xs, key):
    etas = _stack(eta, eta_q)
    mus = jax.vmap(fam.mean_parameters)(etas)
    return {
        "log_prob": jax.vmap(fam.log_prob, (None, 0))(eta, xs),
        "mean_parameters": mus,
        "fisher_information": jax.vmap(fam.fisher_information)(etas),
        "entropy": jax.vmap(fam.entropy)(etas),
        "natural_parameters": jax.vmap(fam.natural_parameters)(mus),
        "kl": jax.vmap(fam.kl_divergence, (None, 0))(eta, etas),
        "cross_entropy": fam.cross_entropy(eta, eta_q),
        "draws": fam.sample(key, eta, (3,)),
        "residual": fam.residual(eta, xs),
    }


@pytest.mark.parametrize("case", PARAMS)
def test_jit_and_vmap_agree_with_eager(case):
    fam = case.family
    eta, eta_q = _pair(case, "float32")
    xs = small_draws(case, "float32")
    out = _transformed(fam, eta, eta_q, xs, jax.random.key(2))
    eager_lp = np.stack([np.asarray(fam.log_prob(eta, x)) for x in xs])
    np.testing.assert_allclose(out["log_prob"], eager_lp, rtol=1e-5, atol=1e-6)
    for method in ["mean_parameters", "fisher_information", "entropy"]:
        tree_allclose(
            jax.tree_util.tree_map(lambda v: v[1], out[method]),
            getattr(fam, method)(eta_q),
            rtol=1e-4,
            atol=1e-6,
        )
    etas = _stack(eta, eta_q)
    scale = max(1, np.abs(flat(etas)).max())
    tree_allclose(out["natural_parameters"], etas, rtol=2e-3, atol=2e-3 * scale)
    assert abs(float(out["kl"][0])) < 1e-4 * (1 + abs(float(fam.log_partition(eta))))
    np.testing.assert_allclose(
        out["cross_entropy"], fam.cross_entropy(eta, eta_q), rtol=1e-5
    )
    assert out["draws"].shape == (3, *fam.event_shape)
    tree_allclose(out["residual"], fam.residual(eta, xs), rtol=1e-4, atol=1e-5)


def _flat_sum(tree):
    return sum(jnp.sum(leaf) for leaf in jax.tree_util.tree_leaves(tree))


@functools.partial(jax.jit, static_argnums=0)
def _gradients(fam, eta, eta_q, x):
    mu = fam.mean_parameters(eta)
    return {
        "log_prob": jax.grad(fam.log_prob)(eta, x),
        "expected": jax.tree_util.tree_map(
            jnp.subtract, fam.sufficient_statistics(x), mu
        ),
        "kl": jax.grad(fam.kl_divergence, argnums=1)(eta, eta),
        "entropy": jax.grad(fam.entropy)(eta_q),
        "inverse": jax.grad(lambda m: _flat_sum(fam.natural_parameters(m)))(mu),
    }


@pytest.mark.parametrize("case", PARAMS)
def test_grad_of_log_prob_is_the_residual_of_one_sample(case):
    fam = case.family
    eta, eta_q = _pair(case, "float32")
    x = small_draws(case, "float32")[0]
    g = _gradients(fam, eta, eta_q, x)
    expected = g["expected"]
    tree_allclose(
        g["log_prob"],
        expected,
        rtol=1e-4,
        atol=1e-4 * (1 + np.abs(flat(expected)).max()),
    )
    # KL(p, q) is minimized at q = p: its gradient in η_q vanishes there.
    assert np.abs(flat(g["kl"])).max() < 1e-3 * (1 + np.abs(flat(eta)).max())
    # Entropy and the inverse map are differentiable.
    assert np.all(np.isfinite(flat(g["entropy"])))
    assert np.all(np.isfinite(flat(g["inverse"])))


def _parameter_methods(fam, eta, eta_q):
    return [
        fam.mean_parameters(eta),
        fam.fisher_information(eta),
        fam.entropy(eta),
        fam.kl_divergence(eta, eta_q),
        fam.cross_entropy(eta, eta_q),
        fam.natural_parameters(fam.mean_parameters(eta)),
    ]


@pytest.mark.parametrize("case", PARAMS)
def test_dtype_is_preserved(case, dtype):
    """Every method's result has η's dtype. The methods of η alone are traced
    (``jax.eval_shape``: their eager calls check η, which keeps its dtype, and
    run the same program) rather than compiled a second time in float64; the
    methods of data, whose eager paths convert and sum on the host, run."""
    fam = case.family
    eta, eta_q = _pair(case, dtype)
    want = {np.dtype(dtype)}
    assert leaf_dtypes(eta) == want
    xs = small_draws(case, dtype)
    assert np.dtype(xs.dtype) == np.dtype(dtype)
    traced = jax.eval_shape(functools.partial(_parameter_methods, fam), eta, eta_q)
    for out in [
        *traced,
        fam.log_prob(eta, xs[0]),
        fam.average_sufficient_statistics(xs),
        fam.residual(eta, xs),
    ]:
        assert leaf_dtypes(out) == want


def test_data_closed_over_inside_jit_is_checked_and_reduced():
    """Concrete data captured by a jitted function, as in
    ``jax.jit(lambda eta: family.residual(eta, data))``, is checked and averaged
    while tracing and enters the program as the constant ū (it used to fail on
    a traced validity flag)."""
    gamma = ef.Gamma()
    xs = np.random.default_rng(0).gamma(2.0, 1.0, 64).astype(np.float32)
    eta = gamma.natural_from(shape=2.0, rate=1.0)
    want = gamma.residual(eta, xs)
    for data in (xs, jnp.asarray(xs), list(xs), [xs[:40], xs[40:]]):
        got = jax.jit(lambda e, data=data: gamma.residual(e, data))(eta)
        np.testing.assert_allclose(got, want, rtol=1e-6)
    got = jax.jit(lambda e: gamma.mle(xs) + 0 * e)(eta)
    np.testing.assert_allclose(got, gamma.mle(xs), rtol=1e-6)
    bad = xs.copy()
    bad[5] = -1.0
    with pytest.raises(ValueError, match=r"Gamma.*xs\[5\]"):
        jax.jit(lambda e: gamma.residual(e, bad))(eta)
