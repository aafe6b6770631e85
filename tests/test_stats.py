"""The hot path: Σ u(x_i) through u's jaxpr equals the plain vmap-then-sum."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam as ef
from expfam import _stats
from tests.helpers import natural, tree_allclose
from tests.registry import PARAMS


def _both(family, xs, weights):
    fast = jax.jit(lambda xs, w: _stats.weighted_sums(family, xs, w))(xs, weights)
    plain = jax.jit(lambda xs, w: _stats.vmapped_sums(family, xs, w))(xs, weights)
    return fast, plain


@pytest.mark.parametrize("case", PARAMS)
def test_sums_equal_vmapped_sums(case, dtype):
    fam = case.family
    eta = natural(case, case.typical, dtype)
    # 20 000 draws: the sampler compiled for this shape is shared with the kit.
    xs = fam.sample(jax.random.key(3), eta, (20_000,))
    weights = jax.random.uniform(jax.random.key(4), (20_000,), xs.dtype)
    weights = weights.at[::5].set(0)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    # Weighted sums take the same code path in both dtypes; float64 checks them
    # to a tight tolerance.
    for w in (None,) if dtype == "float32" else (None, weights):
        (fast, n_fast), (plain, n_plain) = _both(fam, xs, w)
        assert jax.tree_util.tree_structure(fast) == jax.tree_util.tree_structure(plain)
        for a, b in zip(
            jax.tree_util.tree_leaves(fast),
            jax.tree_util.tree_leaves(plain),
            strict=True,
        ):
            assert a.dtype == b.dtype and a.shape == b.shape
            scale = float(jnp.max(jnp.abs(b))) + 1.0
            np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)
        np.testing.assert_allclose(n_fast, n_plain, rtol=rtol)


def test_outer_product_becomes_a_matrix_product():
    """Σ x xᵀ is Xᵀ X: no (n, d, d) array of per-sample outer products."""
    n, d = 4096, 8
    jaxpr = jax.make_jaxpr(
        lambda xs: _stats.weighted_sums(ef.MultivariateNormal(d), xs, None)
    )(jnp.zeros((n, d)))
    shapes = [v.aval.shape for eqn in jaxpr.eqns for v in eqn.outvars]
    assert (n, d, d) not in shapes
    assert any(eqn.primitive.name == "dot_general" for eqn in jaxpr.eqns)


def test_an_outer_product_minus_a_constant_is_still_a_matrix_product():
    """Sums through additions are pushed where an operand is an outer product."""
    n, d = 4096, 8
    fam = ef.family(
        sufficient_statistics=lambda x: jnp.outer(x, x) - jnp.eye(d) + x @ x,
        log_partition=lambda eta: jnp.sum(eta**2),
        natural_domain=ef.domains.real(),
        event_shape=(d,),
    )
    xs = jax.random.normal(jax.random.key(0), (n, d))
    jaxpr = jax.make_jaxpr(lambda v: _stats.weighted_sums(fam, v, None))(xs)
    assert (n, d, d) not in [v.aval.shape for e in jaxpr.eqns for v in e.outvars]
    fast, plain = _both(fam, xs, None)
    tree_allclose(fast, plain, rtol=1e-5, atol=1e-2)


def test_centring_written_into_u_is_kept():
    """Σ(x − c) was taken as Σx − N c: float32 data 1e4 + N(0, 1) centred by
    the user at c = 1e4 gave a mean of x − c 40 % off (−1.28e-3 for
    −9.08e-4). x − c is exact in float32 here, so the only error left is the
    sum's rounding, ~eps Σ|x − c| (bound: 1e-6 against 3.7e-4 before)."""
    c = 1e4
    fam = ef.family(
        sufficient_statistics=lambda x: jnp.stack([x - c, (x - c) ** 2, c - x]),
        log_partition=lambda eta: jnp.sum(eta**2),
        natural_domain=ef.domains.real(),
    )
    xs = (c + np.random.default_rng(0).normal(size=100_000)).astype(np.float32)
    d = xs.astype(np.float64) - c
    want = [d.mean(), (d * d).mean(), -d.mean()]
    got = np.asarray(fam.average_sufficient_statistics(xs), np.float64)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("n", [1 << 21, (1 << 21) + 3])
def test_matrix_product_sums_are_accurate(n):
    """Blocked contractions keep float32 Σ x xᵀ within 1e-6 of float64 (also for
    an n with no divisor near the block size: padded)."""
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((n, 2), dtype=np.float32) + np.float32(3.0)
    (mean, outer), _ = jax.jit(
        lambda v: _stats.weighted_sums(ef.MultivariateNormal(2), v, None)
    )(xs)
    x64 = xs.astype(np.float64)
    np.testing.assert_allclose(mean, x64.sum(0), rtol=1e-6)
    np.testing.assert_allclose(outer, x64.T @ x64, rtol=1e-6)


def test_column_sums_fold_any_shape(dtype):
    """Narrow rows are summed folded into wider ones (or not, where n has no
    small divisor or the rows are wide): the same sums as a plain one."""
    rng = np.random.default_rng(1)
    for shape in [(1, 3), (7, 2), (997, 2), (1000, 3), (1000, 10), (64, 2, 2), (9, 40)]:
        values = rng.standard_normal(shape).astype(dtype)
        want = values.astype(np.float64).sum(0)
        got = _stats._column_sum(jnp.asarray(values))
        assert got.shape == want.shape and got.dtype == values.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", [ef.LogNormal(), ef.VonMises()])
def test_sums_of_a_shared_value_in_blocks_are_accurate(family):
    """A computed value read by two sums (log x; the reduced angle) is summed
    in cache-sized blocks: within 1e-6 of float64 over 2^22 float32 samples,
    and with weights and rows left over, the plain sums'."""
    xs = jnp.asarray(
        family.sample(jax.random.key(0), jnp.array([0.5, -0.5]), (1 << 22,))
    )
    plan = jax.jit(lambda v, w: _stats.weighted_sums(family, v, w))
    got, _ = plan(xs, None)
    x64 = np.asarray(xs, np.float64)
    if isinstance(family, ef.LogNormal):
        want = [np.log(x64).sum(), (np.log(x64) ** 2).sum()]
    else:
        want = [np.cos(x64).sum(), np.sin(x64).sum()]
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(
        np.asarray(got, np.float64) / scale, np.asarray(want) / scale, atol=1e-6
    )
    short = xs[: (1 << 17) + 5]
    weights = jax.random.uniform(jax.random.key(1), short.shape[:1])
    (got, count), (plain, plain_count) = (
        plan(short, weights),
        jax.jit(lambda v, w: _stats.vmapped_sums(family, v, w))(short, weights),
    )
    np.testing.assert_allclose(got, plain, rtol=1e-5)
    np.testing.assert_allclose(count, plain_count, rtol=1e-6)


def test_only_shared_computed_values_are_blocked():
    """Blocks cost the other families 1.2-13x: only a computed value read by
    two sums takes them (not the data itself, read by Σx and Σx²)."""

    def shares(family, xs):
        out = []

        def plan(v):
            p = _stats._SumPlan(family.sufficient_statistics, v, None)
            p.totals()
            out.append(p.shares_a_computed_value())

        jax.eval_shape(plan, xs)
        return out[0]

    x = jnp.ones(8)
    assert shares(ef.LogNormal(), x) and shares(ef.VonMises(), x)
    assert not shares(ef.Gamma(), x) and not shares(ef.Normal(), x)
    assert not shares(ef.MultivariateNormal(3), jnp.ones((8, 3)))


class _Stats(NamedTuple):
    linear: jax.Array
    outer: jax.Array


def test_user_family_through_nested_calls():
    """Nested jit, einsum, constants, select and integer powers inside u."""

    def u(x):
        outer = jax.jit(lambda y: jnp.einsum("i,j->ij", y, y))(x)
        flip = jnp.where(jnp.arange(3) > 0, x, -x)
        return _Stats(
            linear=jnp.concatenate([x**2, 2.0 * flip - 1.0, jnp.square(x[:1])]),
            outer=outer + jnp.eye(3) + x @ x,
        )

    fam = ef.family(
        sufficient_statistics=u,
        log_partition=lambda eta: jnp.sum(eta.linear**2) + jnp.sum(eta.outer**2),
        natural_domain=ef.domains.real(),
        event_shape=(3,),
    )
    xs = jax.random.normal(jax.random.key(0), (3000, 3))
    weights = jax.random.uniform(jax.random.key(1), (3000,)).at[::3].set(0)
    for w in (None, weights):
        fast, plain = _both(fam, xs, w)
        tree_allclose(fast, plain, rtol=2e-5, atol=1e-3)


def test_zero_weight_silences_an_infinite_statistic():
    mvn = ef.MultivariateNormal(3)
    xs = jax.random.normal(jax.random.key(2), (3000, 3)).at[5].set(jnp.inf)
    weights = jnp.ones(3000).at[5].set(0)
    (mean, outer), _ = _stats.weighted_sums(mvn, xs, weights)
    assert bool(jnp.all(jnp.isfinite(mean)) & jnp.all(jnp.isfinite(outer)))
