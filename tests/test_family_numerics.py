"""Family-specific numerics at the edges of float32 and float64: cases the
generic scipy comparisons (test_scipy.py) do not reach."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

import expfam as ef

# ---- von Mises: κ from the mean resultant length r = I₁(κ)/I₀(κ) ---------- #


@pytest.mark.parametrize("kappa", [1e-3, 1.0, 30.0, 1e3, 1e4, 1e5])
def test_von_mises_inverse_is_as_accurate_as_r_allows(kappa, dtype):
    # r is rounded to the dtype: near r = 1, κ ≈ 1/(2(1 − r)) inherits the
    # relative error of 1 − r, about eps / (1 − r) = 2 eps κ. Allow 4× that
    # plus a few eps. (Before the tail series, float32 κ = 1e5 came back 1%
    # off and κ = 1e7 as 4.8.)
    eps = float(jnp.finfo(dtype).eps)
    r = special.i1e(kappa) / special.i0e(kappa)
    mu = jnp.asarray([r, 0.0], dtype)
    eta = ef.VonMises().natural_parameters(mu)
    got = float(eta[0])
    assert eta.dtype == jnp.dtype(dtype)
    assert abs(got - kappa) / kappa <= 8 * eps * (1 + kappa), got
    assert float(eta[1]) == 0.0


def test_von_mises_concentrated_float32_data_never_flip_direction():
    # Angles with spread 5e-4 (κ ≈ 4e6): 1 − r is within rounding of 0 in
    # float32, a point mass at this precision. The MLE must refuse, never
    # return the opposite direction (it used to give loc = 0.5 − π for 8 of
    # 20 seeds) or a weak κ ≈ 4.8.
    family = ef.VonMises()
    for seed in range(5):
        rng = np.random.default_rng(seed)
        xs = (0.5 + 5e-4 * rng.standard_normal(1000)).astype(np.float32)
        with pytest.raises(ValueError, match="VonMises"):
            family.mle(xs)
    with pytest.raises(ValueError, match="boundary"):
        family.mle(np.ones(4, np.float32))  # identical angles: no MLE


def test_von_mises_mle_at_high_concentration_in_float32():
    # Spread 0.01 (κ ≈ 1e4): resolvable in float32; direction and κ right.
    rng = np.random.default_rng(0)
    xs = (0.5 + 0.01 * rng.standard_normal(20_000)).astype(np.float32)
    got = ef.VonMises().params_from(ef.VonMises().mle(xs))
    with jax.enable_x64(True):
        ref = ef.VonMises().params_from(ef.VonMises().mle(xs.astype(np.float64)))
    assert abs(float(got["loc"]) - 0.5) < 1e-3
    kappa, kappa_ref = float(got["concentration"]), float(ref["concentration"])
    # 1 − r ≈ 5e-5 carries ~2e-3 relative rounding in float32.
    assert abs(kappa - kappa_ref) / kappa_ref < 1e-2, (kappa, kappa_ref)


# ---- Poisson entropy at small rates ------------------------------------- #


@pytest.mark.parametrize("rate", [1e-8, 1e-5, 1e-2, 3.0])
def test_poisson_entropy_at_small_rates(rate, dtype):
    # H = λ(1 − log λ) + Σ_k p_k log k!, in float64 (the sum's terms are
    # positive). float32 used to be 3.8e-3 off at λ = 1e-5 and 3.5× off at
    # λ = 1e-8: its gammaln(2) is 4.8e-7, not 0. (scipy's own entropy() is
    # 5e-11 off at λ = 1e-8 in float64: not the reference here.)
    k = np.arange(200)
    log_p = k * math.log(rate) - rate - np.array([math.lgamma(j + 1) for j in k])
    want = rate * (1 - math.log(rate)) + float(
        np.sum(np.exp(log_p[2:]) * np.array([math.lgamma(j + 1) for j in k[2:]]))
    )
    eps = float(jnp.finfo(dtype).eps)
    family = ef.Poisson()
    got = float(family.entropy(family.natural_from(rate=jnp.asarray(rate, dtype))))
    assert abs(got - want) <= 16 * eps * abs(want), (got, want)
