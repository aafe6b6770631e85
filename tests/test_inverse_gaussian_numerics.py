"""InverseGaussian where λ/μ is large (a spread small against the mean).

Two cancellations: ``mle``'s inverse map 1/λ = E[1/x] − 1/E[x] subtracts
terms of size 1/μ down to 1/λ, and the generic log-density ⟨η, u⟩ − A(η)
terms of size λ/μ down to O(1)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import expfam as ef

IG = ef.InverseGaussian()


def _draws(mean: float, shape: float, dtype: str, n: int = 100_000) -> np.ndarray:
    eta = IG.natural_from(
        mean=jnp.asarray(mean, dtype), shape=jnp.asarray(shape, dtype)
    )
    xs = np.asarray(IG.sample(jax.random.key(0), eta, (n,)))
    assert xs.dtype == np.dtype(dtype)
    return xs


def _closed_form_mle(xs: np.ndarray) -> tuple[float, float]:
    """(μ̂, λ̂) of the data, in float64: μ̂ = mean x and 1/λ̂ = mean(1/x − 1/μ̂),
    taken as mean((x − μ̂)² / x) / μ̂² (the same, as mean(x − μ̂) = 0): its
    terms are all positive, so float64 does not cancel either (the first
    form loses eps64·2λ/μ, 5e-5 relative for float64 draws at λ/μ = 1e12)."""
    x = np.asarray(xs, np.float64)
    mean = x.mean()
    return mean, mean * mean / np.mean((x - mean) ** 2 / x)


@pytest.mark.parametrize(
    ("mean", "shape"), [(1.0, 1e6), (1e3, 1e9), (1.0, 1e8), (1.0, 2.0)]
)
def test_mle_matches_the_float64_closed_form_of_the_same_data(mean, shape, dtype):
    """Before mle summed about a centre of the data, float32 draws gave λ̂
    19 % off at (μ, λ) = (1, 1e6), 8 % at (1e3, 1e9) and ValueError at
    (1, 1e8); float64 draws 2.8e-8 at (1, 1e8) (4.9e-5 at (1, 1e12)).

    The data are exact and the reference is float64: what is left is mle's
    own rounding. The plain difference E[1/x] − 1/E[x] ≈ (1/μ + 1/λ) − 1/μ is
    conditioned κ = 1 + 2λ/μ; mle takes it only where λ/μ is below ~16
    (head_center: c² > 16 s², and s² = μ³/λ), and beyond sums [d, d²/x],
    d = x − c, about a data value c near the mean, where the difference
    E[d²/x] − E[d]²/m is conditioned 1 + 2 E[d]²/s² ≤ 3 for |E[d]| within a
    standard deviation. On top of κ: blocked sums of positive terms and some
    six roundings on the way to λ, a few eps each: 16 eps κ. μ̂ = c + E[d]
    rounds once, E[d]'s error is eps·E|d| ≪ eps·μ, and η and params_from
    add a few roundings: 8 eps."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    xs = _draws(mean, shape, dtype)
    want_mean, want_shape = _closed_form_mle(xs)
    ratio = want_shape / want_mean
    conditioning = 1 + 2 * ratio if ratio <= 16 else 3.0
    got = IG.params_from(IG.mle(xs))
    assert got["shape"].dtype == np.dtype(dtype)
    shape_error = abs(float(got["shape"]) / want_shape - 1)
    mean_error = abs(float(got["mean"]) / want_mean - 1)
    assert shape_error <= 16 * eps * conditioning, (shape_error, conditioning)
    assert mean_error <= 8 * eps, mean_error


@pytest.mark.parametrize("shape", [2.0, 1e6])
def test_mle_on_every_input_path(shape):
    # One array, under jit, as chunks, and with weights. Concentrated data
    # sum about a centre (chunks about the first chunk's); spread data about
    # 0, which the traced path (jit) passes to the centred hooks as c = 0.
    # Tolerance as above, for 1000 rows.
    eps = float(np.finfo(np.float32).eps)
    xs = _draws(1.0, shape, "float32", n=1000)
    want_mean, want = _closed_form_mle(xs)
    ratio = want / want_mean
    conditioning = 1 + 2 * ratio if ratio <= 16 else 3.0
    fits = {
        "array": IG.mle(xs),
        "jit": jax.jit(IG.mle)(xs),
        "chunks": IG.mle([xs[:500], xs[500:]]),
        "weights": IG.mle(xs, np.ones(1000, np.float32)),
    }
    for how, eta in fits.items():
        got = float(IG.params_from(eta)["shape"])
        assert abs(got / want - 1) <= 16 * eps * conditioning, (how, got, want)


@pytest.mark.parametrize("data", [[2.0] * 3, [3.0] * 7, [1e3] * 5, [0.5]])
def test_mle_of_identical_observations_raises(data, dtype):
    # No MLE exists (1/λ̂ = 0). The plain sums could round to one (float32
    # [3.0] * 7: λ̂ = 3.4e7; with XLA's default optimizations also [2.0] * 3
    # and [1e3] * 5); the centred statistics of identical data are exact zeros.
    with pytest.raises(ValueError, match="boundary"):
        IG.mle(np.asarray(data, dtype))


@pytest.mark.parametrize("mean", [1.0, 1e3])
@pytest.mark.parametrize("ratio", [1e-2, 1.0, 1e2, 1e4, 1e6, 1e8])
def test_log_prob_against_scipy_at_large_shape_over_mean(mean, ratio, dtype):
    """⟨η, u⟩ − A(η) + log h subtracts terms of size λ/μ: float32 at
    λ/μ = 1e8 gave 7.08 for 8.29 at the mode (1e4: errors of 1e-3), float64
    at λ/μ = 1e6 errors of 8e-11.

    Against scipy in float64 at the dtype-rounded μ, λ and x. η carries λ
    exactly (η₂ = −λ/2) and μ to a few ulps (η₁ = −λ/(2μ²), and μ =
    √(η₂/η₁) in log_prob); log p moves by μ |∂ log p/∂μ| = λ|x − μ|/μ² per
    unit relative change of μ at fixed λ, and by λ|x − μ|/(μ x) at fixed η₁
    (as log_prob holds it): the larger of the two, λ|x − μ|/(μ min(μ, x)),
    times a few eps. scipy's own (x − μ)/λ rounds like that in float64.
    Each term of ½ log(λ/2π) − (3/2) log x − λ(x − μ)²/(2μ²x) rounds by a
    few eps of its size besides. Bound: 8 eps (sensitivity + sizes)."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    mu = float(np.asarray(mean, dtype))
    lam = float(np.asarray(mean * ratio, dtype))
    eta = IG.natural_from(mean=jnp.asarray(mu, dtype), shape=jnp.asarray(lam, dtype))
    sd = math.sqrt(mu**3 / lam)
    mode = mu * (math.sqrt(1 + (1.5 * mu / lam) ** 2) - 1.5 * mu / lam)
    points = [mode + k * sd for k in (-3, -1, 0, 1, 3)] + [mode / 10]
    xs = np.asarray([x for x in points if x > 0], dtype)
    got = np.asarray(jax.jit(jax.vmap(IG.log_prob, (None, 0)))(eta, xs))
    assert got.dtype == np.dtype(dtype)
    x = xs.astype(np.float64)
    want = stats.invgauss(mu / lam, scale=lam).logpdf(x)
    sensitivity = lam * np.abs(x - mu) / (mu * np.minimum(mu, x))
    quadratic = lam * (x - mu) ** 2 / (2 * mu * mu * x)
    sizes = abs(0.5 * math.log(lam / (2 * math.pi))) + 1.5 * np.abs(np.log(x))
    bound = 8 * eps * (sensitivity + sizes + quadratic)
    assert np.all(np.abs(got - want) <= bound), (xs, got, want, bound)


@pytest.mark.parametrize("mean", [1e20, 1e30])
def test_float32_parameters_of_huge_means(mean):
    """η₁ = −λ/(2μ²) formed 2μ², which overflows float32 above μ ~ 1.3e19:
    natural_from(mean=1e20, shape=1e20) raised (η₁ = −0), and μ = √(η₂/η₁)
    overflowed above ~1.8e19. Now within a few float32 ulps of the float64
    values, and log_prob at x = μ matches scipy's."""
    ig = ef.InverseGaussian()
    shape = 1e20 if mean == 1e20 else 1e25
    eta = ig.natural_from(mean=jnp.float32(mean), shape=jnp.float32(shape))
    params = ig.params_from(eta)
    mean32, shape32 = float(np.float32(mean)), float(np.float32(shape))
    eps = float(np.finfo(np.float32).eps)
    assert abs(float(params["mean"]) / mean32 - 1) <= 4 * eps
    assert abs(float(params["shape"]) / shape32 - 1) <= 4 * eps
    want = stats.invgauss(mean32 / shape32, scale=shape32).logpdf(mean32)
    got = float(ig.log_prob(eta, jnp.float32(mean)))
    assert abs(got - want) <= 8 * eps * abs(want), (got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scaled_exp1_under_vmap_at_every_scale(dtype):
    """e^z E₁(z) (the entropy's term at z = 2λ/μ) against scipy, one value
    per vmapped call: jax's exp1, vmapped over one float32 z ≤ ~3e-7, never
    returned (the entropy of μ = 1e4, λ = 1e-3 hung), and is now given only
    z ≥ 0.25, the series below."""
    from scipy import special

    from expfam._families._gaussian import _scaled_exp1

    with jax.enable_x64(dtype == "float64"):
        scaled = jax.jit(jax.vmap(_scaled_exp1))
        for z in [1e-30, 2e-7, 1e-3, 0.1, 0.2499, 0.25, 0.2501, 1.0, 5.0, 5.1, 50.0]:
            z_d = np.asarray(z, dtype)
            got = float(scaled(jnp.asarray(z_d)[None])[0])
            ref = math.exp(float(z_d)) * special.exp1(float(z_d))
            # jax's float32 exp1, used from 0.25 to 5, is 10 eps off at z = 1.
            ulps = 4 if z < 0.25 or dtype == "float64" else 16
            assert abs(got / ref - 1) <= ulps * np.finfo(dtype).eps, z
        eta = IG.natural_from(
            mean=np.asarray(1e4, dtype), shape=np.asarray(1e-3, dtype)
        )
        batched = jax.jit(jax.vmap(IG.entropy))(eta[None])[0]
        np.testing.assert_allclose(
            batched, IG.entropy(eta), rtol=4 * np.finfo(dtype).eps
        )
