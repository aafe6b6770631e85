"""Family-specific numerics at the edges of float32 and float64: cases the
generic scipy comparisons (test_scipy.py) do not reach."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

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


@pytest.mark.parametrize("rate", [100.001, 150.0, 400.0])
def test_poisson_entropy_series_beyond_the_switch(rate):
    # Above λ = 100 the entropy is an asymptotic series; its λ⁻⁴ coefficient
    # was −1/40 instead of −9/80: 2.4e-10 relative off just past the switch
    # (a jump against the exact sum below it). The reference is the exact
    # sum in float64 (math.fsum over p_k log p_k, ~1e-13).
    k = np.arange(int(rate + 60 * math.sqrt(rate) + 100))
    log_p = k * math.log(rate) - rate - np.array([math.lgamma(j + 1) for j in k])
    want = -math.fsum(np.exp(log_p) * log_p)
    with jax.enable_x64(True):
        family = ef.Poisson()
        got = float(family.entropy(family.natural_from(rate=jnp.asarray(rate))))
    assert abs(got - want) <= 2e-12 * want, (got, want)


# ---- The normal families' mle about a centre of the data ------------------ #


@pytest.mark.parametrize("offset", [300.0, 1e4])
def test_normal_mle_of_offset_float32_data(offset):
    # float32 E[x²] − E[x]² is mostly rounding when the spread is small
    # against the location: these data gave variances 0.3-21x off, or
    # ValueError, before mle summed about a centre of the data.
    family = ef.Normal()
    for seed in range(4):
        rng = np.random.default_rng(seed)
        xs = (offset + 0.1 * rng.standard_normal(1000)).astype(np.float32)
        ref = xs.astype(np.float64)
        got = family.params_from(family.mle(xs))
        # The float32 data themselves are exact; what remains is the
        # rounding of the centred sums: a few eps.
        assert abs(float(got["variance"]) / ref.var() - 1) < 2e-6
        assert abs(float(got["mean"]) - ref.mean()) <= 2 * np.spacing(
            np.float32(offset)
        )


def test_centred_mle_on_every_input_path():
    # One array, the same under jit, as chunks, and larger than a chunk.
    family = ef.Normal()
    xs = (1e4 + np.random.default_rng(1).standard_normal(1_200_000)).astype(np.float32)
    ref = xs.astype(np.float64).var()
    small = xs[:1000]
    fits = {
        "array": family.mle(small),
        "jit": jax.jit(family.mle)(small),
        "chunks": family.mle([small[:500], small[500:]]),
    }
    for how, eta in fits.items():
        got = float(family.params_from(eta)["variance"])
        assert abs(got / small.astype(np.float64).var() - 1) < 2e-6, how
    got = float(family.params_from(family.mle(xs))["variance"])  # > one chunk
    assert abs(got / ref - 1) < 2e-6


def test_multivariate_and_log_normal_mle_of_offset_float32_data():
    rng = np.random.default_rng(0)
    scale = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.2, 0.3]])
    xs = (1e4 + rng.standard_normal((5000, 3)) @ scale).astype(np.float32)
    got = ef.MultivariateNormal(3).params_from(ef.MultivariateNormal(3).mle(xs))
    ref = np.cov(xs.astype(np.float64).T, bias=True)
    # Uncentred float32 was 8.8e-5 off in the smallest entry (0.0128); what
    # remains is the float32 product over 5000 rows, ~√n eps relative.
    np.testing.assert_allclose(np.asarray(got["covariance"]), ref, rtol=2e-5, atol=2e-6)
    ys = np.exp(50 + 0.01 * rng.standard_normal(5000)).astype(np.float32)
    got = ef.LogNormal().params_from(ef.LogNormal().mle(ys))
    t = np.log(ys.astype(np.float64))
    assert abs(float(got["scale"]) ** 2 / t.var() - 1) < 1e-4


@pytest.mark.parametrize(
    "family, data",
    [
        (ef.Normal(), [0.1, 0.1, 0.1]),
        (ef.Normal(), [1e8, 1e8]),
        (ef.LogNormal(), [3.0, 3.0, 3.0]),
        (ef.MultivariateNormal(2), [[1.0, 2.0]] * 3),
    ],
)
def test_mle_of_identical_observations_raises(family, data, dtype):
    # No MLE exists; rounding used to make one (variance 8e-19, or scale
    # 1.9e-8) depending on how the averages happened to round.
    with pytest.raises(ValueError, match="boundary"):
        family.mle(np.asarray(data, dtype))


# ---- KL between close members ------------------------------------------- #


def test_kl_of_close_normals_is_not_rounding(dtype):
    # The Bregman form subtracts terms of the size of A (~m²/2s²): float32
    # gave −0.0078 for means 1000 and 1000.001 (KL 5e-7), float64 −0.20 for
    # means 1e8 and 1e8 + 1e-3. For η's differing in η₁ only, the KL of the
    # two represented laws is exactly ½ s² δ₁², s² = −1/(2η₂).
    family = ef.Normal()
    for mean, step, variance in [
        (1000.0, 1e-3, 1.0),
        (100.0, 1e-3, 0.01),
        (1e8, 1e-3, 1.0),
    ]:
        eta_p = family.natural_from(mean=jnp.asarray(mean, dtype), variance=variance)
        eta_q = eta_p.at[0].add(jnp.asarray(step / variance, dtype))
        delta = float(eta_q[0]) - float(eta_p[0])  # exact (Sterbenz)
        want = 0.5 * variance * delta**2
        got = float(family.kl_divergence(eta_p, eta_q))
        if want == 0:  # the step is below the dtype's resolution of η₁
            assert got == 0
        else:
            assert abs(got - want) <= 1e-5 * want, (mean, got, want)


def test_kl_of_close_multivariate_normals_and_far_laws(dtype):
    mvn = ef.MultivariateNormal(3)
    eye = jnp.eye(3, dtype=dtype)
    eta_p = mvn.natural_from(mean=jnp.full(3, 1000.0, dtype), covariance=eye)
    eta_q = (eta_p[0] + jnp.asarray(1e-3, dtype), eta_p[1])
    delta = np.asarray(eta_q[0], np.float64) - np.asarray(eta_p[0], np.float64)
    want = 0.5 * float(delta @ delta)  # covariance I: ½ δᵀ Σ δ
    got = float(mvn.kl_divergence(eta_p, eta_q))
    assert abs(got - want) <= 1e-4 * want, (got, want)  # was −0.055 in float32
    # Far apart the Bregman form stays: Gamma(2, 1) ‖ Gamma(5, 3), closed form.
    gamma = ef.Gamma()
    p = gamma.natural_from(shape=jnp.asarray(2.0, dtype), rate=1.0)
    q = gamma.natural_from(shape=jnp.asarray(5.0, dtype), rate=3.0)
    want = (
        -3 * special.digamma(2.0)
        - special.gammaln(2.0)
        + special.gammaln(5.0)
        + 5 * (0 - math.log(3.0))
        + 2 * (3.0 - 1.0)
    )
    eps = float(jnp.finfo(dtype).eps)
    assert abs(float(gamma.kl_divergence(p, q)) - want) <= 64 * eps * want
    assert float(gamma.kl_divergence(p, p)) == 0.0


def test_multivariate_normal_entropy_does_not_depend_on_the_mean(dtype):
    # ½ log det(2πe Σ); the generic A − ⟨η, μ⟩ lost 1.6e-3 in float32 at a
    # mean of 1000·1 (terms of size ½ mᵀΣ⁻¹m = 1.5e6).
    mvn = ef.MultivariateNormal(3)
    cov = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
    want = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))
    eps = float(jnp.finfo(dtype).eps)
    for mean in (0.0, 1000.0):
        eta = mvn.natural_from(
            mean=jnp.full(3, mean, dtype), covariance=jnp.asarray(cov, dtype)
        )
        assert abs(float(mvn.entropy(eta)) - want) <= 64 * eps * abs(want)


@pytest.mark.parametrize("shape", [20.0, 300.0, 1e4, 1e6, 1e8])
def test_gamma_family_entropy_at_large_shapes(shape, dtype):
    # log Γ(k) + (1 − k) ψ(k) + k grows like ½ log k from terms of size
    # k log k: float32 Gamma(10^6) was 4 % off, Gamma(10^8) gave 0 for 10.6.
    eps = float(jnp.finfo(dtype).eps)
    k = jnp.asarray(shape, dtype)
    cases = [
        (ef.Gamma(), {"shape": k, "rate": 2.0}, stats.gamma(shape, scale=0.5)),
        (ef.InverseGamma(), {"shape": k, "scale": 2.0}, stats.invgamma(shape, scale=2)),
        (ef.ChiSquared(), {"df": 2 * k}, stats.chi2(2 * shape)),
    ]
    for family, params, reference in cases:
        got = float(family.entropy(family.natural_from(**params)))
        want = float(reference.entropy())
        assert abs(got - want) <= 16 * eps * abs(want), (family, got, want)


@pytest.mark.parametrize("shape", [30.0, 1e3, 1e5, 1e6])
def test_gamma_family_mean_log_of_concentrated_laws(shape):
    """E[log x] = ψ(k) − log β at β = k is ≈ −1/(2k), from two terms near
    log k: float32 gave 0 for −5e-7 at k = 1e6. Against scipy in float64 at
    the same float32 parameters (whose rounding error there is < 1e-8)."""
    k = np.float32(shape)
    want = special.digamma(float(k)) - math.log(float(k))
    fisher = special.polygamma(1, float(k))
    gamma, inverse = ef.Gamma(), ef.InverseGamma()
    for family, eta, sign in [
        (gamma, gamma.natural_from(shape=k, rate=k), 1.0),
        (inverse, inverse.natural_from(shape=k, scale=k), -1.0),
    ]:
        mu = family.mean_parameters(eta)
        np.testing.assert_allclose(mu[0], sign * want, rtol=1e-6)
        np.testing.assert_allclose(mu[1], 1.0, rtol=1e-6)
        information = family.fisher_information(eta)
        np.testing.assert_allclose(information[0, 0], fisher, rtol=1e-6)


@pytest.mark.parametrize("alpha", [3.0, 1e3, 1e6, 1e8])
def test_beta_and_dirichlet_entropy_at_large_concentrations(alpha, dtype):
    # Beta(a, 1) has density a x^(a−1): H = −log a + (a − 1)/a exactly. The
    # direct form cancels terms of size a log a (float32 Beta(10^6, 1) was
    # 6 % off; scipy's own float64 value is 2e-11 off there). A Dirichlet of
    # two categories is the same law.
    eps = float(jnp.finfo(dtype).eps)
    want = -math.log(alpha) + (alpha - 1) / alpha
    a = jnp.asarray(alpha, dtype)
    beta = ef.Beta().entropy(ef.Beta().natural_from(alpha=a, beta=1.0))
    dirichlet = ef.Dirichlet(2).entropy(
        ef.Dirichlet(2).natural_from(concentration=jnp.stack([a, jnp.ones_like(a)]))
    )
    for got in (float(beta), float(dirichlet)):
        assert abs(got - want) <= 16 * eps * abs(want), (got, want)


@pytest.mark.parametrize("kappa", [1e4, 1e6, 1e8])
def test_von_mises_entropy_at_high_concentration(kappa, dtype):
    # H = ½ log(2π/κ) + ½ + 1/(4κ) + O(κ⁻²). The generic A − ⟨η, μ⟩
    # subtracts κ A₁(κ) ≈ κ from κ: float32 κ = 1e6 was 1.3 % off and
    # κ = 1e8 gave −16 for −7.79.
    eps = float(jnp.finfo(dtype).eps)
    want = 0.5 * math.log(2 * math.pi / kappa) + 0.5 + 1 / (4 * kappa)
    family = ef.VonMises()
    eta = family.natural_from(loc=0.3, concentration=jnp.asarray(kappa, dtype))
    got = float(family.entropy(eta))
    assert abs(got - want) <= 16 * eps * abs(want) + 1 / kappa**2, (got, want)
    # At η = 0 (the uniform law) H = log 2π, with a finite gradient.
    zero = jnp.zeros(2, dtype)
    assert abs(float(family.entropy(zero)) - math.log(2 * math.pi)) <= 4 * eps
    assert np.all(np.isfinite(np.asarray(jax.grad(family.entropy)(zero))))


@pytest.mark.parametrize(
    ("family", "params"),
    [
        (ef.Gamma(), {"shape": 0.05, "rate": 1.0}),
        (ef.InverseGamma(), {"shape": 0.1, "scale": 1.0}),
        (ef.ChiSquared(), {"df": 0.1}),
        (ef.InverseGaussian(), {"mean": 1e10, "shape": 1e-10}),
        (ef.LogNormal(), {"loc": 0.0, "scale": 30.0}),
        (ef.Pareto(1.0), {"alpha": 0.01}),
        (ef.Weibull(0.05), {"scale": 1.0}),
    ],
)
def test_draws_at_extreme_parameters_stay_in_the_support(family, params):
    """jax.random.gamma underflows to exact zeros below float32's smallest
    normal number (~1 % of Gamma(0.05) draws), which the support refuses
    (and inverse-gamma draws became inf): mle of the family's own draws
    raised. Draws are now made in log space and kept inside (0, ∞). So are
    the inverse Gaussian's (a (a + 2) overflowed: 54 % zeros at μ = 1e10,
    λ = 1e-10), the log-normal's (0 and inf at s = 30), Pareto's (41 % inf
    at α = 0.01) and Weibull's (1.3 % zeros at k = 0.05)."""
    eta = family.natural_from(**params)
    xs = family.sample(jax.random.key(0), eta, (100_000,))
    assert bool(jnp.all(jax.vmap(family.in_support)(xs)))
    assert bool(jnp.all(jnp.isfinite(family.mle(xs))))


def _normal_kl_reference(mean_p, var_p, mean_q, var_q):
    r = var_p / var_q
    return 0.5 * (r - 1 - np.log(r)) + (mean_p - mean_q) ** 2 / (2 * var_q)


@pytest.mark.parametrize(
    ("p", "q"),
    [
        ((1e4, 1.0), (1e4, 1.1)),  # gave −0.018 for 2.2e-3
        ((1e3, 1e-2), (1e3, 1.2e-2)),  # gave 0.020 for 7.8e-3
        ((5.0, 1e-8), (5.0, 1e8)),  # gave −26.3 for 17.9
        ((0.0, 1.0), (0.1, 1.0)),
    ],
)
def test_float32_normal_kl_far_from_zero(p, q):
    """Means large against the spread with unequal variances: the Bregman
    form and the Fisher quadrature both cancel terms of size m²/s², and the
    float32 KL was negative or far off. The closed form in (m, s²) is
    compared with float64 evaluated on the same float32 η."""
    for family in (ef.Normal(), ef.LogNormal()):
        names = ("mean", "variance") if family == ef.Normal() else ("loc", "scale")

        def eta(m, v, family=family, names=names):
            second = v if names[1] == "variance" else np.sqrt(v)
            return family.natural_from(**{names[0]: m, names[1]: second})

        eta_p, eta_q = eta(*p), eta(*q)
        e_p, e_q = np.asarray(eta_p, np.float64), np.asarray(eta_q, np.float64)
        v_p, v_q = -0.5 / e_p[1], -0.5 / e_q[1]
        want = _normal_kl_reference(e_p[0] * v_p, v_p, e_q[0] * v_q, v_q)
        got = family.kl_divergence(eta_p, eta_q)
        np.testing.assert_allclose(got, want, rtol=1e-4)
        assert float(family.kl_divergence(eta_p, eta_p)) == 0.0
    mvn = ef.MultivariateNormal(2)
    eta_p = mvn.natural_from(
        mean=jnp.array([p[0], 0.0]), covariance=jnp.diag(jnp.array([p[1], 1.0]))
    )
    eta_q = mvn.natural_from(
        mean=jnp.array([q[0], 0.0]), covariance=jnp.diag(jnp.array([q[1], 1.0]))
    )
    scalar_p = ef.Normal().natural_from(mean=p[0], variance=p[1])
    scalar_q = ef.Normal().natural_from(mean=q[0], variance=q[1])
    np.testing.assert_allclose(
        mvn.kl_divergence(eta_p, eta_q),
        ef.Normal().kl_divergence(scalar_p, scalar_q),
        rtol=5e-3,
    )
    assert float(mvn.kl_divergence(eta_p, eta_p)) == 0.0


def _bessel_ratio_slope_60_digits(kappa: float) -> float:
    """A₁′(κ) = 1 − A₁/κ − A₁², A₁ = I₁/I₀ from their power series
    Σ (κ/2)^(2k+ν) / (k! (k+ν)!) summed in 60-digit decimals."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        half = Decimal(kappa) / 2
        square = half * half
        term, i0, i1 = Decimal(1), Decimal(0), Decimal(0)
        k = 0
        while True:  # term = (κ/2)^(2k) / (k!)², I₁'s term is term·(κ/2)/(k+1)
            i0 += term
            i1 += term * half / (k + 1)
            k += 1
            term = term * square / (k * k)
            if k > kappa and term < i0 * Decimal(10) ** -60:
                break
        a = i1 / i0
        return float(1 - a / Decimal(kappa) - a * a)


def test_von_mises_fisher_information_at_high_concentration(dtype):
    """Autodiff of I₁/I₀ cancelled to ~ε where A₁′(κ) ~ 1/(2κ²): the float32
    radial entry was 25 % off at κ = 1e3 and negative at 1e5, and KL came
    out negative. Compared with A₁′ from 60-digit power series."""
    vm = ef.VonMises()
    tol = 2e-4 if dtype == "float32" else 2e-12
    for kappa in (0.5, 5.0, 7.0, 30.0, 100.0, 1e3, 1e4, 1e5):
        want = _bessel_ratio_slope_60_digits(kappa)
        got = float(vm.fisher_information(jnp.array([kappa, 0.0], dtype))[0, 0])
        assert abs(got / want - 1) < tol, (kappa, got, want)
    kl = vm.kl_divergence(jnp.array([1e4, 0.0], dtype), jnp.array([1.01e4, 0.0], dtype))
    np.testing.assert_allclose(kl, 2.4836e-05, rtol=2e-3)


@pytest.mark.parametrize("shape", [100.0, 1e3, 1e4])
def test_gamma_mle_of_concentrated_float32_data(shape):
    """log E[x] − E[log x] ≈ 1/(2k) is small against E[log x]: float32 data
    of shape 1e4 gave k 3 % low (1e3: 8.5e-4). mle now averages u over the
    data divided by a scale of their own; compared with scipy's fit of the
    same float32 values in float64."""
    from scipy import stats

    rng = np.random.default_rng(0)
    xs = stats.gamma(shape, scale=1e3).rvs(20_000, random_state=rng).astype(np.float32)
    k, _, scale = stats.gamma.fit(xs.astype(np.float64), floc=0)
    params = ef.Gamma().params_from(ef.Gamma().mle(xs))
    np.testing.assert_allclose(params["shape"], k, rtol=2e-4)
    np.testing.assert_allclose(params["rate"], 1 / scale, rtol=2e-4)


def _exponential_kl(rate_p: float, rate_q: float) -> float:
    """KL(Exp(rate_p) ‖ Exp(rate_q)) in closed form."""
    return math.log(rate_p / rate_q) + rate_q / rate_p - 1


def test_generic_kl_of_far_apart_and_underflowing_laws(dtype):
    """The generic KL returned the Fisher integral wherever its two quadrature
    orders agreed: for laws far apart both miss alike (Exp(1) ‖ Exp(1e10)
    gave 138.6 for 1e10), and where the curvature underflows both are 0
    (Weibull scales 1e-10, 1.5e-10 in float32 gave 0 for 0.255). References:
    x ↦ x^k (Weibull) and x ↦ |x| (Laplace) map them to exponential laws."""
    exponential, weibull, laplace = ef.Exponential(), ef.Weibull(2.0), ef.Laplace()
    cases = [
        (exponential, {"rate": 1.0}, {"rate": 1e10}, _exponential_kl(1.0, 1e10)),
        (exponential, {"rate": 1e3}, {"rate": 1e3 * (1 + 2**-10)}, None),
        (weibull, {"scale": 1e-10}, {"scale": 1.5e-10}, _exponential_kl(1.5**2, 1.0)),
        (laplace, {"scale": 1e-20}, {"scale": 2e-20}, _exponential_kl(2.0, 1.0)),
    ]
    for family, p, q, want in cases:
        eta_p = family.natural_from(**{k: jnp.asarray(v, dtype) for k, v in p.items()})
        eta_q = family.natural_from(**{k: jnp.asarray(v, dtype) for k, v in q.items()})
        if want is None:  # close laws: the integral's case, kept
            want = _exponential_kl(1.0, 1 + 2**-10)
        got = float(family.kl_divergence(eta_p, eta_q))
        assert abs(got - want) <= 1e-4 * want, (family, p, q, got, want)


def test_pareto_concentrated_near_its_minimum_in_float32():
    """With u(x) = log x, A carried α log m, which cancelled in float32: at
    m = 10, α = 1e7 the entropy was −14.45 for −12.82 and at m = 1e4, α = 1e6
    mle found no solution. u(x) = log(x / m) keeps every term small."""
    pareto = ef.Pareto(minimum=10.0)
    eta = pareto.natural_from(alpha=1e7)
    law = stats.pareto(1e7, scale=10.0)
    np.testing.assert_allclose(pareto.entropy(eta), law.entropy(), rtol=1e-6)
    x = np.float32(10.000001)
    np.testing.assert_allclose(pareto.log_prob(eta, x), law.logpdf(float(x)), rtol=1e-6)
    for m, alpha in [(1e4, 1e6), (10.0, 1e5)]:
        family = ef.Pareto(minimum=m)
        xs = stats.pareto(alpha, scale=m).rvs(20_000, random_state=1)
        xs = np.maximum(xs.astype(np.float32), np.float32(m))
        want = 1 / np.mean(np.log(xs.astype(np.float64) / m))  # the same values
        got = family.params_from(family.mle(xs))["alpha"]
        np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("kappa", [1e5, 1e6, 1e7])
def test_von_mises_kl_of_concentrated_laws_off_the_axis(kappa):
    """Same location 0.5, κ and 1.01 κ, float32: the Fisher information's
    tangential part was formed as t − (unit·t) unit, whose rounding (eps·|t|
    in any direction) ⟨δ, ∇²A δ⟩ multiplied by |δ|: the KL was 2 % low at
    1e5 and negative at 1e7. Reference in float64 from scaled Bessel
    functions: KL = (κ_q − κ_p)(1 − A₁(κ_p)) + log(i0e(κ_q) / i0e(κ_p))."""
    vm = ef.VonMises()
    kq = 1.01 * kappa
    ratio = special.i1e(kappa) / special.i0e(kappa)
    want = (kq - kappa) * (1 - ratio) + math.log(special.i0e(kq) / special.i0e(kappa))
    p = vm.natural_from(loc=0.5, concentration=kappa)
    q = vm.natural_from(loc=0.5, concentration=kq)
    np.testing.assert_allclose(vm.kl_divergence(p, q), want, rtol=1e-3)


@pytest.mark.parametrize("df", [2.5, 30.0, 1e6, 1e8])
def test_wishart_entropy_at_large_df(df, dtype):
    """A − ⟨η, ∇A⟩ subtracted terms of size n log n: float32 df = 1e8 gave
    −128 for 32.1 (1e6: 3 % off). Closed form in a = n/2 with the gamma
    entropy's shape part; against scipy (float64)."""
    scale = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.5]])
    wishart = ef.Wishart(3)
    cast = {"df": jnp.asarray(df, dtype), "scale": jnp.asarray(scale, dtype)}
    eta = wishart.natural_from(**cast)
    want = stats.wishart(df, scale).entropy()
    rtol = 1e-5 if dtype == "float32" else (1e-12 if df < 1e4 else 1e-7)
    np.testing.assert_allclose(wishart.entropy(eta), want, rtol=rtol)


@pytest.mark.parametrize(
    ("mean", "variance"), [(100.0, 1.0), (1e4, 1.0), (1.0, 1e-6), (-50.0, 1e-6)]
)
def test_normal_and_log_normal_log_prob_far_from_zero_in_float32(mean, variance):
    """⟨η, u⟩ − A subtracts terms of size m² / s²: float32 N(1e4, 1) gave 0
    for −1.04 half a standard deviation from the mean, and the log-normal of
    log x ~ N(−50, 1e-6) 50.0 for 55.99. Against scipy at the same float32 x;
    η carries m to ~eps·|m| (m = η₁ s²), and ∂ log p/∂m = z/s² = 0.5/s, so
    the bound allows 4 eps |m| · 0.5/s beyond 1e-6 relative."""
    sd = math.sqrt(variance)
    atol = 4 * float(np.finfo(np.float32).eps) * abs(mean) * 0.5 / sd
    normal, log_normal = ef.Normal(), ef.LogNormal()
    x = np.float32(mean + 0.5 * sd)
    eta = normal.natural_from(mean=mean, variance=variance)
    want = stats.norm(mean, sd).logpdf(float(x))
    np.testing.assert_allclose(normal.log_prob(eta, x), want, rtol=1e-6, atol=atol)
    y = np.float32(math.exp(mean + 0.5 * sd)) if mean < 80 else None
    if y is not None:
        eta = log_normal.natural_from(loc=mean, scale=sd)
        want = stats.lognorm(sd, scale=math.exp(mean)).logpdf(float(y))
        got = log_normal.log_prob(eta, y)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol)


def _gamma_kl_float64(kp, bp, kq, bq):
    """The textbook closed form in float64: its cancellation, ~1e-16 of
    log Γ(k) ~ k log k, is far below float32's rounding at these shapes."""
    return (
        (kp - kq) * special.digamma(kp)
        - special.gammaln(kp)
        + special.gammaln(kq)
        + kq * (math.log(bp) - math.log(bq))
        + kp * (bq - bp) / bp
    )


@pytest.mark.parametrize(
    ("p", "q", "rtol"),
    [
        ((1e6, 1e3), (1e9, 1e6), 1e-5),  # float32 gave 2560 for 496.05
        ((1e6, 1.0), (1e3, 1e-3), 1e-5),  # 2.583 for 2.9545
        ((1e3, 1e3), (1001.0, 1001.0), 1e-3),  # 5.0e-4 for 2.499e-7
        ((2.0, 1.0), (3.0, 0.5), 1e-6),
        ((1e-3, 1.0), (1.0, 1.0), 1e-6),
    ],
)
def test_gamma_and_inverse_gamma_kl_without_cancellation(p, q, rtol):
    """The Bregman form of A subtracts terms of size k log k, and the
    Fisher quadrature misses curvature spanning decades: far apart (shapes
    1e6 and 1e9) or close (1e3 and 1001) float32 gammas were 4× to 2000× off.
    The closed form in φ and Stirling's remainder has no such terms. The
    inverse gamma's KL is the gamma's of 1/x (rate = its scale)."""
    gamma, inverse = ef.Gamma(), ef.InverseGamma()
    f32 = np.float32
    e = [gamma.natural_from(shape=f32(k), rate=f32(b)) for k, b in (p, q)]
    # At the parameters the float32 η carry (shape 1e-3 is k − 1 = −0.999).
    k_p, k_q = (float(x[0]) + 1 for x in e)
    want = _gamma_kl_float64(k_p, -float(e[0][1]), k_q, -float(e[1][1]))
    np.testing.assert_allclose(gamma.kl_divergence(*e), want, rtol=rtol)
    e = [inverse.natural_from(shape=f32(k), scale=f32(b)) for k, b in (p, q)]
    k_p, k_q = (-float(x[0]) - 1 for x in e)  # η₀ = −α − 1
    want = _gamma_kl_float64(k_p, -float(e[0][1]), k_q, -float(e[1][1]))
    np.testing.assert_allclose(inverse.kl_divergence(*e), want, rtol=rtol)


@pytest.mark.parametrize(
    ("alpha_p", "alpha_q", "rtol"),
    [
        ((1e6, 1e6), (1e9, 1e9), 1e-5),  # float32 gave 384 for 496.05
        ((1e6, 1e6), (1e3, 1e3), 1e-5),  # 3.0 for 2.9545
        ((1e3, 2e3), (1001.0, 2002.0), 1e-3),
        ((1e5, 2e5, 3e5), (1e8, 2e8, 3e8), 1e-5),
        ((0.5, 0.5), (3.0, 0.2), 1e-5),
    ],
)
def test_beta_and_dirichlet_kl_without_cancellation(alpha_p, alpha_q, rtol):
    """log B(α) has terms of size α₀ log α₀: the Bregman form of far-apart
    float32 betas was 23 % off. The closed form is a Jensen gap of φ plus
    terms of size log(α_q/α_p). Against the float64 textbook form at the
    parameters the float32 η carry."""
    family = ef.Beta() if len(alpha_p) == 2 else ef.Dirichlet(len(alpha_p))
    e_p, e_q = (np.asarray(a, np.float32) - np.float32(1) for a in (alpha_p, alpha_q))
    a_p, a_q = (e.astype(np.float64) + 1 for e in (e_p, e_q))
    want = (
        special.gammaln(a_q).sum()
        - special.gammaln(a_q.sum())
        - special.gammaln(a_p).sum()
        + special.gammaln(a_p.sum())
        + np.sum((a_p - a_q) * (special.digamma(a_p) - special.digamma(a_p.sum())))
    )
    got = family.kl_divergence(jnp.asarray(e_p), jnp.asarray(e_q))
    np.testing.assert_allclose(got, want, rtol=rtol)


def test_float64_gamma_kl_of_close_concentrated_laws():
    """Shapes 1e5 and 1.001e5 with rates in proportion: the float64 KL was
    1e-3 off (2.49625e-7 for 2.49834e-7). Against ∫₀¹ (1 − t) δᵀ F δ dt by
    32-point Gauss–Legendre in float64, with the gamma's Fisher information
    F = [[ψ′(k), 1/β], [1/β, k/β²]] from scipy (smooth along this short
    segment)."""
    gamma = ef.Gamma()
    with jax.enable_x64(True):
        p = gamma.natural_from(shape=1e5, rate=1e6)
        q = gamma.natural_from(shape=1.001e5, rate=1.001e6)
        got = float(gamma.kl_divergence(p, q))
    p, q = np.asarray(p), np.asarray(q)
    x, w = np.polynomial.legendre.leggauss(32)
    t = (x + 1) / 2
    d = q - p
    total = 0.0
    for t_i, w_i in zip(t, w / 2 * (1 - t), strict=True):
        k, beta = p[0] + 1 + t_i * d[0], -(p[1] + t_i * d[1])
        curvature = (
            special.polygamma(1, k) * d[0] ** 2
            + 2 * d[0] * d[1] / beta
            + k * d[1] ** 2 / beta**2
        )
        total += w_i * curvature
    np.testing.assert_allclose(got, total, rtol=1e-7)


@pytest.mark.parametrize(
    ("mean", "variance"), [(1e4, 1e-4), (3.0, 1e-6), (-50.0, 1e-6), (1e4, 1.0)]
)
def test_normal_log_prob_at_the_parameters_eta_carries(mean, variance):
    """m = −½η₁/η₂ is rounded once: as η₁ s², rounded twice, float32
    m = 1e4, s² = 1e-4 came out 1 ulp off (0.1 s), and log p at the mean
    3.685913 for 3.686232. Against the float64 density at the m and s² that
    the float32 η itself carries."""
    normal = ef.Normal()
    eta = normal.natural_from(mean=np.float32(mean), variance=np.float32(variance))
    e1, e2 = np.asarray(eta, np.float64)
    m, var = -0.5 * e1 / e2, -0.5 / e2
    for z in [0.0, 0.5, -2.0]:
        x = np.float32(m + z * math.sqrt(var))
        want = stats.norm(m, math.sqrt(var)).logpdf(float(x))
        got = float(normal.log_prob(eta, x))
        # m's one rounding (eps |m| / 2) moves log p by |x − m| / s² per unit.
        slack = float(np.finfo(np.float32).eps) * abs(m) / 2 * abs(float(x) - m) / var
        assert (
            abs(got - want)
            <= 4 * float(np.finfo(np.float32).eps) * max(1.0, abs(want)) + 2 * slack
        ), (z, got, want)


@pytest.mark.parametrize("mean", [100.0, 1e4])
def test_multivariate_normal_log_prob_far_from_zero_in_float32(mean):
    """⟨η, u⟩ − A subtracts terms of size ½ mᵀPm: float32 mean 1e4·1 gave
    −8.0 for −3.484 (100·1: 2.5e-3 off). Now −½‖Lᵀ(x − m)‖² + log det L − …;
    m = P⁻¹η₁ is recovered to ~eps·|m|·cond(P) (cond ≈ 3 here), and
    ∂ log p/∂m = P (x − m) has entries ≤ 1: the bound is 16 eps |m|."""
    mvn = ef.MultivariateNormal(3)
    cov = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.5]])
    m = np.full(3, mean)
    eta = mvn.natural_from(
        mean=jnp.asarray(m, jnp.float32), covariance=jnp.asarray(cov, jnp.float32)
    )
    x = (m + 0.5).astype(np.float32)
    want = stats.multivariate_normal(m, cov).logpdf(x.astype(np.float64))
    atol = 16 * float(np.finfo(np.float32).eps) * mean
    np.testing.assert_allclose(mvn.log_prob(eta, x), want, rtol=1e-6, atol=atol)


@pytest.mark.parametrize("shape", [0.05, 3.0, 1e3, 1e6, 1e8])
def test_gamma_log_prob_at_large_shapes(shape, dtype):
    """(k − 1) log x − βx − log Γ(k) + k log β subtracts terms of size
    k log k: float32 k = β = 1e6 gave 5.625 for 5.863 half a standard
    deviation from the mean. Stirling's form with φ(d) = d − log1p(d) keeps
    the terms small. Against scipy at the same x; float64 only where scipy's
    own cancellation (~1e-16 k log k) is below the bound. βx rounds once
    more than x, and ∂ log p/∂ log x ≈ −z √k at z standard deviations: the
    bound allows 2 eps (1 + |z| √k) beyond the relative one."""
    gamma = ef.Gamma()
    eta = gamma.natural_from(
        shape=jnp.asarray(shape, dtype), rate=jnp.asarray(shape, dtype)
    )
    params = {k: float(v) for k, v in gamma.params_from(eta).items()}
    law = stats.gamma(params["shape"], scale=1 / params["rate"])
    rtol = 2e-6 if dtype == "float32" else 1e-13
    if dtype == "float64" and shape > 10:
        pytest.skip("scipy's float64 log-density cancels here")
    for z in (-0.5, 0.05, 0.5, 2.0, 30.0):
        x = np.asarray(max(1 + z / math.sqrt(shape), 1e-3), dtype)
        want = law.logpdf(float(x))
        got = float(gamma.log_prob(eta, x))
        eps = float(np.finfo(np.dtype(dtype)).eps)
        bound = rtol * max(1.0, abs(want)) + 2 * eps * (1 + abs(z) * math.sqrt(shape))
        assert abs(got - want) <= bound, (z, got, want)


def test_stirling_remainder_derivative_at_its_branch_points():
    """δ'(x) = ψ(x) − log x + 1/(2x). At x = 1 the branches met through
    clip/maximum, whose derivative at a tie is split: δ'(1) came out 0.0386
    off, and so did the Gamma log_prob's gradient at shape 1."""
    from expfam._special import stirling_remainder

    with jax.enable_x64(True):
        for x in (0.5, 1.0, 3.0, 10.0, 12.0):
            got = float(jax.grad(stirling_remainder)(jnp.float64(x)))
            want = special.digamma(x) - math.log(x) + 0.5 / x
            assert abs(got - want) <= 1e-14, (x, got, want)


@pytest.mark.parametrize("shape", [3.0, 1e4, 1e6, 1e8])
def test_chi_squared_log_prob_at_large_df(shape):
    """The gamma's Stirling form serves χ² too: float32 χ²(1e8) at its mean +
    ½ sd gave −64 for −10.5. Against scipy at the same float32 x, with the
    gamma test's bound."""
    eps = float(np.finfo(np.float32).eps)
    chi2 = ef.ChiSquared()
    eta = chi2.natural_from(df=jnp.float32(shape))
    df = float(chi2.params_from(eta)["df"])
    for z in (-0.5, 0.05, 0.5, 2.0):
        bound = 2e-6 + 4 * eps * (1 + abs(z) * math.sqrt(shape))
        x = np.float32(df + z * math.sqrt(2 * df))
        want = stats.chi2(df).logpdf(float(x))
        got = float(chi2.log_prob(eta, x))
        assert abs(got - want) <= bound * max(1, abs(want)), (z, got, want)


@pytest.mark.parametrize("shape", [1e-3, 0.05, 3.0, 1e3, 1e6, 1e8])
def test_inverse_gamma_log_prob_across_shapes(shape, dtype):
    """The inverse gamma's density is the gamma's of 1/x times 1/x², taken
    from β/x and log x by the gamma's Stirling form. The generic ⟨η, u⟩ − A
    subtracted terms of size α log α: float32 α = β = 1e6 gave 5.75 for 5.99
    at the median, and α = 1e8 gave 0 for 8.29. Against scipy at the same x
    from its own quantiles (far tails included, where β/x is large, and
    without forming 1/x). β/x rounds once more than x, and
    s = |∂ log p / ∂ log x| = |β/x − α − 1|: the bound allows 2 eps (1 + s)
    beyond the relative one (the gamma test's 2 eps (1 + |z| √k))."""
    inverse_gamma = ef.InverseGamma()
    eta = inverse_gamma.natural_from(
        shape=jnp.asarray(shape, dtype), scale=jnp.asarray(shape, dtype)
    )
    params = {k: float(v) for k, v in inverse_gamma.params_from(eta).items()}
    law = stats.invgamma(params["shape"], scale=params["scale"])
    rtol = 2e-6 if dtype == "float32" else 1e-13
    if dtype == "float64" and shape > 10:
        pytest.skip("scipy's float64 log-density cancels here")
    eps = float(np.finfo(np.dtype(dtype)).eps)
    checked = 0
    with np.errstate(over="ignore", divide="ignore"):
        points = np.asarray(law.ppf([1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-6]), dtype)
    for x in points[np.isfinite(points) & (points > 0)]:
        want = law.logpdf(float(x))
        got = float(inverse_gamma.log_prob(eta, x))
        s = abs(params["scale"] / float(x) - params["shape"] - 1)
        bound = rtol * max(1.0, abs(want)) + 2 * eps * (1 + s)
        assert abs(got - want) <= bound, (float(x), got, want)
        checked += 1
    assert checked >= 2  # α = 1e-3: only two quantiles are finite in float32


@pytest.mark.parametrize("kappa", [0.5, 3.0, 1e3, 1e5, 1e7])
def test_von_mises_log_prob_at_high_concentration(kappa, dtype):
    """⟨η, u⟩ − A subtracts κ − ½ log κ from κ cos(x − m): float32 κ = 1e5
    at the mode was 1.6e-3 off (2 000 times the bound below). log p is now
    −2κ sin²((x − m)/2) − log 2π − log i0e(κ). Against scipy at the κ and m
    of the rounded η (taken in float64), at z = (x − m)√κ standard
    deviations; m's rounding moves log p by κ sin(x − m) per radian, so the
    bound is 4 eps (1 + |κ sin d| (|m| + |x| + 1) + 2κ sin²(d/2) + |log p|),
    d = x − m; and the gradient is finite at η = 0."""
    vm = ef.VonMises()
    eps = float(np.finfo(np.dtype(dtype)).eps)
    for loc in (0.3, 2.5):
        eta = vm.natural_from(
            loc=jnp.asarray(loc, dtype), concentration=jnp.asarray(kappa, dtype)
        )
        e64 = np.asarray(eta, np.float64)
        k64, m64 = math.hypot(*e64), math.atan2(e64[1], e64[0])
        law = stats.vonmises(k64, loc=m64)
        for z in (0.0, 0.5, 2.0, 5.0):
            x = m64 + z / math.sqrt(max(kappa, 1.0))
            x = np.asarray((x + math.pi) % (2 * math.pi) - math.pi, dtype)
            want = law.logpdf(float(x))
            got = float(vm.log_prob(eta, x))
            d = float(x) - m64
            spread = abs(k64 * math.sin(d)) * (abs(m64) + abs(float(x)) + 1)
            bound = 4 * eps * (1 + spread + 2 * k64 * math.sin(d / 2) ** 2 + abs(want))
            assert abs(got - want) <= bound, (loc, z, got, want)
    grad = jax.grad(lambda e: vm.log_prob(e, jnp.asarray(0.3, dtype)))
    assert np.all(np.isfinite(grad(jnp.zeros(2, dtype))))


@pytest.mark.parametrize("rate", [0.5, 30.0, 1e4, 1e6, 1e7])
def test_poisson_log_prob_at_large_counts(rate):
    """η x − e^η − log x! rounds terms of size x log x: float32 at a count
    of 1e6 was ~0.7 nat off, at 1e7 up to 21. Loader's form (the sampler's)
    keeps its terms O(log λ). Against scipy at the rate of the rounded η;
    e^η rounds λ by eps λ, which moves log p by |x − λ| eps: the bound is
    2e-6 relative plus 4 eps (1 + |x − λ|)."""
    eps = float(np.finfo(np.float32).eps)
    poisson = ef.Poisson()
    eta = poisson.natural_from(rate=jnp.float32(rate))
    r64 = math.exp(float(eta))
    for z in (-5, -1, 0, 1, 5):
        k = max(0, round(r64 + z * math.sqrt(r64)))
        want = stats.poisson(r64).logpmf(k)
        got = float(poisson.log_prob(eta, k))
        bound = 2e-6 * max(1, abs(want)) + 4 * eps * (1 + abs(k - r64))
        assert abs(got - want) <= bound, (k, got, want)


def _count_cases():
    """(family, η, x, float64 reference law, mean of x) at a few standard
    deviations from the mean, for large and small counts."""
    for p in (1e-7, 0.3, 1 - 1e-6):
        family = ef.Bernoulli()
        eta = family.natural_from(probs=jnp.float32(p))
        p64 = 1 / (1 + math.exp(-float(eta)))
        for x in (0, 1):
            yield family, eta, x, stats.bernoulli(p64).logpmf(x), p64
    for n, p in ((10, 0.3), (1000, 0.9), (10**6, 0.3), (10**6, 1e-3)):
        family = ef.Binomial(n=n)
        eta = family.natural_from(probs=jnp.float32(p))
        p64 = 1 / (1 + math.exp(-float(eta)))
        sd = math.sqrt(n * p64 * (1 - p64))
        for z in (-3, 0, 3):
            x = int(min(n, max(0, round(n * p64 + z * sd))))
            yield family, eta, x, stats.binom(n, p64).logpmf(x), n * p64
    for r, p in ((0.5, 0.9), (0.5, 1e-4), (3.0, 0.3), (1e4, 0.3), (1e4, 1e-4)):
        family = ef.NegativeBinomial(r=r)
        eta = family.natural_from(probs=jnp.float32(p))
        p64 = -math.expm1(float(eta))
        mean = r * (1 - p64) / p64
        for z in (-1, 0, 3):
            x = max(0, round(mean + z * math.sqrt(mean / p64)))
            yield family, eta, x, stats.nbinom(r, p64).logpmf(x), mean
    for n in (20, 10**6, 10**7):
        family = ef.Multinomial(k=3, n=n)
        eta = family.natural_from(probs=jnp.asarray([0.2, 0.5, 0.3], jnp.float32))
        p64 = np.exp(np.append(np.asarray(eta, np.float64), 0.0))
        p64 /= p64.sum()
        for head in ([round(n * 0.2), round(n * 0.5)], [0, round(n * 0.5)]):
            x = np.array([*head, n - sum(head)], np.float32)
            yield family, eta, x, stats.multinomial(n, p64).logpmf(x), n * p64


def test_count_log_probs_without_cancellation():
    """η x − A + log h rounds terms of size n log n (or |η| for the
    Bernoulli): float32 Binomial(10^6, 0.9) at its mean was 0.096 off,
    Multinomial(3, 10^7) 0.20, NegativeBinomial(10^4, 0.3) 9e-4 (66 times
    the bound). Loader's saddle-point forms keep every term O(log n).
    Against scipy at the parameters of the rounded η; the parameters'
    internal roundings move log p by ~eps |x − mean| per count, so the bound
    is 2e-6 relative plus 4 eps (1 + Σ |x − mean|)."""
    eps = float(np.finfo(np.float32).eps)
    for family, eta, x, want, mean in _count_cases():
        got = float(family.log_prob(eta, x))
        spread = float(np.sum(np.abs(np.asarray(x, np.float64) - mean)))
        bound = 2e-6 * max(1.0, abs(want)) + 4 * eps * (1 + spread)
        assert abs(got - want) <= bound, (family, x, got, want)


def _simplex_log_prob_bound(alpha, x, want, eps):
    """2e-6 relative plus 4 eps (1 + Σᵢ αᵢ |dᵢ| + Σ_far α₀ xᵢ), dᵢ = xᵢ/pᵢ − 1:
    the rounding of pᵢ and xᵢ/pᵢ moves αᵢ φ(dᵢ) by ~eps αᵢ |dᵢ|, and where
    |dᵢ| ≥ 0.1 the form carries αᵢ dᵢ = α₀ xᵢ − αᵢ, rounded by eps α₀ xᵢ."""
    alpha, x = np.asarray(alpha, np.float64), np.asarray(x, np.float64)
    total = alpha.sum()
    d = x * total / alpha - 1
    spread = np.sum(alpha * np.abs(d)) + np.sum(
        np.where(np.abs(d) >= 0.1, total * x, 0)
    )
    return 2e-6 * max(1.0, abs(want)) + 4 * eps * (1 + spread)


@pytest.mark.parametrize(
    "shapes",
    [
        (0.5, 0.5),
        (0.5, 3.0),
        (10.0, 20.0),
        (1e3, 2e3),
        (1e5, 2e5),
        (1e7, 2e7),
        (1e6, 1.0),
    ],
)
def test_beta_log_prob_at_large_concentrations(shapes, dtype):
    """Σ (αᵢ − 1) log xᵢ − log B(α) subtracts terms of size α₀ log α₀:
    float32 Beta(1e7, 2e7) at its median gave 8.0 for 8.44. Stirling's form
    with φ(d) = d − log1p(d) keeps the terms small. Against scipy at the same
    x, from its quantiles; float64 only where scipy's own cancellation
    (~1e-16 α₀ log α₀) is below the bound."""
    if dtype == "float64" and sum(shapes) > 1e3:
        pytest.skip("scipy's float64 log-density cancels here")
    beta = ef.Beta()
    eta = beta.natural_from(
        alpha=jnp.asarray(shapes[0], dtype), beta=jnp.asarray(shapes[1], dtype)
    )
    a, b = (float(v) for v in beta.params_from(eta).values())
    law = stats.beta(a, b)
    eps = float(np.finfo(np.dtype(dtype)).eps)
    rtol_scale = 1.0 if dtype == "float32" else 1e-7
    for q in (1e-6, 0.01, 0.5, 0.99, 1 - 1e-6):
        x = float(np.asarray(law.ppf(q), dtype))
        if not 0 < x < 1:
            continue
        want = law.logpdf(x)
        got = float(beta.log_prob(eta, np.asarray(x, dtype)))
        bound = rtol_scale * _simplex_log_prob_bound([a, b], [x, 1 - x], want, eps)
        assert abs(got - want) <= bound, (q, got, want)


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e6])
def test_dirichlet_log_prob_at_large_concentrations(scale):
    """The Dirichlet shares the beta's Stirling form. Against the float64
    direct form (its cancellation, ~1e-16 α₀ log α₀, is far below the float32
    bound) at float32 points whose coordinates are multiples of 2⁻²⁴, so
    that they sum to 1 exactly."""
    dirichlet = ef.Dirichlet(k=3)
    alpha = np.array([0.2, 0.5, 0.3]) * scale * 10
    eta = dirichlet.natural_from(concentration=jnp.asarray(alpha, jnp.float32))
    alpha = np.asarray(eta, np.float64) + 1
    eps = float(np.finfo(np.float32).eps)
    unit = 2.0**-24
    for head in ([0.2, 0.5], [0.19, 0.52], [0.05, 0.9]):
        first = [round(h / unit) * unit for h in head]
        x = np.array([*first, 1 - sum(first)])
        want = float(
            special.gammaln(alpha.sum())
            - special.gammaln(alpha).sum()
            + np.sum((alpha - 1) * np.log(x))
        )
        got = float(dirichlet.log_prob(eta, x.astype(np.float32)))
        bound = _simplex_log_prob_bound(alpha, x, want, eps)
        assert abs(got - want) <= bound, (x, got, want)


def test_categorical_log_prob_of_a_nearly_certain_label():
    """η_x − A rounded log p of a probability near 1 to 0 or to eps |η|
    (float32 p = 1 − 2e-7: ~2e-6 absolute for −2e-7). It is now
    −log1p(Σ_{j ≠ top} p_j / p_top), to full relative accuracy."""
    categorical = ef.Categorical(k=3)
    eta = categorical.natural_from(
        probs=jnp.asarray([1 - 2e-7, 1e-7, 1e-7], jnp.float32)
    )
    logits = np.append(np.asarray(eta, np.float64), 0.0)
    others = np.exp(logits[1:] - logits[0]).sum()
    want = [-math.log1p(others), *(logits[1:] - logits[0] - math.log1p(others))]
    got = [float(categorical.log_prob(eta, label)) for label in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(("r", "p"), [(100.0, 0.3), (1e4, 0.9), (1e4, 0.3), (1e6, 0.9)])
def test_negative_binomial_entropy_of_wide_laws(r, p):
    """A − ημ − E[log h] cancels terms of size r log(1/p): float32 entropies
    were 1.9e-4 (r = 1e4) to 4.4e-3 (r = 1e6) off. Where the law is wide and
    away from 0, the entropy is now a quadrature of −p log p over real x
    (equal to the sum up to e^(−2π²σ²)). Against the float64 direct sum
    −Σₖ p(k) log p(k) by scipy, at the p of the rounded η."""
    nb = ef.NegativeBinomial(r=r)
    eta = nb.natural_from(probs=jnp.float32(p))
    p64 = -math.expm1(float(eta))
    law = stats.nbinom(r, p64)
    k = np.arange(0, int(law.mean() + 80 * law.std()) + 100)
    log_pmf = law.logpmf(k)
    want = float(-np.sum(np.exp(log_pmf) * log_pmf))
    np.testing.assert_allclose(float(nb.entropy(eta)), want, rtol=1e-6)


@pytest.mark.parametrize(
    ("family", "params"),
    [(ef.Gamma(), {"shape": 1.0, "rate": 2.0}), (ef.ChiSquared(), {"df": 2.0})],
)
def test_log_prob_gradient_where_the_shape_is_one(family, params):
    """The gamma's Stirling-form density selected the term (k − 1) log x away
    at k = 1 (for its y = 0 limit), and with it ∂/∂k = log x: the gradient of
    the mean log-likelihood at an exponential law was 0.58 for 0.81. It must
    be the residual ū − ∇A(η) there too."""
    with jax.enable_x64(True):
        eta = family.natural_from(**{k: jnp.float64(v) for k, v in params.items()})
        xs = jnp.asarray(np.random.default_rng(0).gamma(3.0, 0.5, 200))
        grad = jax.grad(lambda e: jnp.mean(jax.vmap(family.log_prob, (None, 0))(e, xs)))
        np.testing.assert_allclose(grad(eta), family.residual(eta, xs), rtol=1e-12)


@pytest.mark.parametrize("k", [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 0.3, 7.0])
def test_positive_power_is_within_an_ulp_and_a_half(k, dtype):
    """Weibull's x^k: products and a square root where 2k is an integer up to
    6 (XLA's pow is a scalar call per element on CPU), pow itself otherwise."""
    from expfam._special import positive_power

    rng = np.random.default_rng(int(10 * k))
    x = (rng.weibull(1.5, 4096) * rng.choice([1e-3, 1.0, 1e3], 4096)).astype(dtype)
    got = np.asarray(jax.jit(lambda v: positive_power(v, k))(x))
    assert got.dtype == np.dtype(dtype)
    exact = np.power(x.astype(np.longdouble), np.longdouble(np.asarray(k, dtype)))
    normal = (exact > np.finfo(dtype).tiny) & (exact < np.finfo(dtype).max)
    ulps = np.abs(got[normal].astype(np.longdouble) / exact[normal] - 1)
    assert ulps.max() / np.finfo(dtype).eps <= 1.5
