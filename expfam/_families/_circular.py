"""Circular families: the von Mises distribution on the circle."""

from __future__ import annotations

import dataclasses
import math
from typing import final

import jax
import jax.numpy as jnp
from jax.scipy.special import i0e, i1e

from expfam import _domains as domains
from expfam import _random
from expfam._dtypes import observation_like
from expfam._families._common import as_float
from expfam._family import ExponentialFamily
from expfam._rejection import sample_by_rejection
from expfam._trig import cos_sin

Array = jax.Array

__all__ = ["VonMises"]

_LOG_2PI = math.log(2 * math.pi)

# Below κ = 1e-2 (s = κ² < 1e-4), log I₀(κ) is its Maclaurin series in s; the
# first omitted term, 19 s⁵ / 409600, is below 1e-24 there.
_SERIES_S = 1e-4


@jax.custom_jvp
def _log_i0(kappa: Array) -> Array:
    """log I₀(κ) for κ > 0, from the scaled Bessel function (no overflow)."""
    return kappa + jnp.log(i0e(kappa))


@_log_i0.defjvp
def _log_i0_jvp(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    # d/dκ log I₀(κ) = I₁(κ) / I₀(κ): exact, where autodiff of κ + log i0e(κ)
    # would give (i1e − i0e) / i0e + 1 and lose the small-κ digits.
    (kappa,), (dk,) = primals, tangents
    return _log_i0(kappa), _bessel_ratio(kappa) * dk


@jax.custom_jvp
def _bessel_ratio(kappa: Array) -> Array:
    """A₁(κ) = I₁(κ) / I₀(κ), with the derivative :func:`_bessel_ratio_slope`."""
    return i1e(kappa) / i0e(kappa)


@_bessel_ratio.defjvp
def _bessel_ratio_jvp(
    primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    # Autodiff of i1e/i0e cancels to ~eps where A₁′ ~ 1/(2κ²): the Fisher
    # information's radial entry was 25 % off at κ = 1e3 and negative at 1e5
    # in float32 (so KL came out negative).
    (kappa,), (dk,) = primals, tangents
    ratio = _bessel_ratio(kappa)
    return ratio, _bessel_ratio_slope(kappa, ratio) * dk


# A₁′(κ)'s asymptotic series Σ_m c_m / κ^m, m = 2 … 14: the derivative of
# 1 − A₁'s, which is the ratio of the asymptotic series of I₁ and I₀ (the
# coefficients derived exactly with fractions).
_SLOPE_SERIES = (
    1 / 2,
    1 / 4,
    3 / 8,
    25 / 32,
    65 / 32,
    3219 / 512,
    721 / 32,
    375733 / 4096,
    214173 / 512,
    276923875 / 131072,
    23985071 / 2048,
    74139092727 / 1048576,
    945920833 / 2048,
)


def _bessel_ratio_slope(kappa: Array, ratio: Array) -> Array:
    """A₁′(κ) = 1 − A₁/κ − A₁², from its asymptotic series for large κ.

    For large κ the three terms cancel to ~1/(2κ²): A₁'s rounding ε leaves
    the direct form ~4εκ² relative, while the series' first omitted term is
    ~7e6/κ¹³ relative. The switch is where the two meet, κ¹⁵ = 1.75e6/ε
    (7.6 in float32, 29 in float64); measured against 60-digit values, the
    largest error is ~8e-5 relative in float32 (at κ ≈ 7) and ~6e-13 in
    float64.
    """
    eps = jnp.finfo(jnp.result_type(kappa)).eps
    switch = (1.75e6 / eps) ** (1 / 15)
    inv = 1 / jnp.maximum(kappa, switch)
    series = jnp.zeros_like(inv)
    for c in reversed(_SLOPE_SERIES):
        series = inv * (c + series)
    series = inv * series
    direct = 1 - ratio / kappa - ratio * ratio
    return jnp.where(kappa > switch, series, direct)


@jax.custom_jvp
def _log_i0_norm(eta: Array) -> Array:
    """log I₀(‖η‖), with the gradient :func:`_log_i0_norm_grad`."""
    return _log_i0_of_square(jnp.sum(eta * eta))


@_log_i0_norm.defjvp
def _log_i0_norm_jvp(
    primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (eta,), (t,) = primals, tangents
    return _log_i0_norm(eta), jnp.sum(_log_i0_norm_grad(eta) * t)


def _plain_grad(eta: Array) -> Array:
    return jax.grad(lambda e: _log_i0_of_square(jnp.sum(e * e)))(eta)


@jax.custom_jvp
def _log_i0_norm_grad(eta: Array) -> Array:
    """∇ log I₀(‖η‖) = A₁(κ) η/κ, whose derivative (the Fisher information)
    is A₁′(κ) along η̂ = η/κ and A₁(κ)/κ across it.

    Autodiff reaches the radial A₁′ ≈ 1/(2κ²) only as a difference of
    terms of size A₁/κ ≈ 1/κ (~2κε relative: 1e-2 at κ = 1e5 in float32);
    the derivative is instead that sum of a radial and a tangential part,
    exact for a radial direction. Near η = 0 (the series of
    :func:`_log_i0_of_square`) it is autodiff's.
    """
    return _plain_grad(eta)


@_log_i0_norm_grad.defjvp
def _log_i0_norm_grad_jvp(
    primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (eta,), (t,) = primals, tangents
    grad, near_zero_jvp = jax.jvp(_plain_grad, (eta,), (t,))
    square = jnp.sum(eta * eta)
    near_zero = square < _SERIES_S
    kappa = jnp.sqrt(jnp.where(near_zero, 1, square))
    unit = eta / kappa
    along = jnp.sum(unit * t)
    ratio = _bessel_ratio(kappa)
    radial = _bessel_ratio_slope(kappa, ratio) * along * unit
    # The tangential part along the perpendicular, by the 2-D cross product:
    # t − (unit·t) unit rounds to a vector of size eps·|t| in any direction,
    # which ⟨δ, ∇²A δ⟩ multiplied by |δ| (float32 KL at κ = 1e7, loc 0.5, was
    # negative: −3.3e-5 for 2.5e-5); this way its error stays along the
    # perpendicular, whose own component of δ is small.
    perp = jnp.stack([-unit[1], unit[0]])
    tangential = ratio / kappa * (unit[0] * t[1] - unit[1] * t[0]) * perp
    return grad, jnp.where(near_zero, near_zero_jvp, radial + tangential)


def _log_i0_of_square(s: Array) -> Array:
    """log I₀(√s), smooth in s ≥ 0 (so ∇A and ∇²A are finite at η = 0)."""
    small = jnp.minimum(s, _SERIES_S)
    series = small * (1 / 4 - small * (1 / 64 - small * (1 / 576 - small * 11 / 49152)))
    big = jnp.maximum(s, _SERIES_S)
    return jnp.where(s < _SERIES_S, series, _log_i0(jnp.sqrt(big)))


def _in_tail(kappa: Array) -> Array:
    """Whether 1 − A₁(κ) is its asymptotic series to rounding: from
    κ = 2 eps^(−1/4) (107 in float32, 1.6e4 in float64), where the series'
    first omitted term, O(κ⁻⁵), is below it."""
    eps = jnp.finfo(jnp.result_type(kappa)).eps
    return kappa > 2 / jnp.sqrt(jnp.sqrt(eps))


def _bessel_ratio_tail(kappa: Array) -> Array:
    """1 − A₁(κ) from its asymptotic series 1/(2κ) + 1/(8κ²) + 1/(8κ³) +
    25/(128κ⁴) (the integral of :func:`_bessel_ratio_slope`'s series); exact
    to rounding where :func:`_in_tail`, and finite for every κ > 0."""
    inv = 1 / kappa
    return inv * (1 / 2 + inv * (1 / 8 + inv * (1 / 8 + inv * 25 / 128)))


def _bessel_ratio_inverse(r: Array, iterations: int = 4) -> Array:
    """The concentration κ ≥ 0 with I₁(κ) / I₀(κ) = r, for 0 ≤ r < 1.

    Starts from the approximation of Best & Fisher (1981):
    2r + r³ + 5r⁵/6 for r < 0.53, −0.4 + 1.39 r + 0.43 / (1 − r) for
    r < 0.85, 1 / (r³ − 4r² + 3r) beyond; then runs Newton's method with
    A₁′(κ) (:func:`_bessel_ratio_slope`), which reaches float64 precision in
    three steps over the whole range (four are taken). In the tail
    (:func:`_in_tail`) A₁(κ) rounds to within a few ulps of 1 and A₁(κ) − r
    is noise, so there the steps solve 1 − A₁(κ) = 1 − r with the tail's
    series (:func:`_bessel_ratio_tail`) instead: 1 − r is exact. Fixed
    steps, so it jits and vmaps.

    Returns NaN for r < 0 and for 1 − r ≤ 4 eps: an r that close to 1 is a
    point mass to within rounding (identical angles give r = 1 up to a few
    ulps), and κ ~ 1/(2(1 − r)) would be rounding error.
    """
    eps = jnp.finfo(jnp.result_type(r, float)).eps
    s = 1 - r  # exact near r = 1
    ok = (r >= 0) & (s > 4 * eps)
    r_safe = jnp.where(ok, r, 0.5)
    s_safe = 1 - r_safe
    low = r_safe * (2 + r_safe * r_safe * (1 + r_safe * r_safe * 5 / 6))
    mid = -0.4 + 1.39 * r_safe + 0.43 / (1 - r_safe)
    high = 1 / (r_safe * s_safe * (3 - r_safe))
    kappa = jnp.where(r_safe < 0.53, low, jnp.where(r_safe < 0.85, mid, high))
    for _ in range(iterations):
        k_safe = jnp.maximum(kappa, jnp.finfo(kappa.dtype).tiny)
        a = _bessel_ratio(k_safe)
        # A₁ − r, or, in the tail, (1 − r) − (1 − A₁).
        tail = _in_tail(k_safe)
        gap = jnp.where(tail, s_safe - _bessel_ratio_tail(k_safe), a - r_safe)
        kappa = jnp.where(r_safe > 0, kappa - gap / _bessel_ratio_slope(k_safe, a), 0.0)
    return jnp.where(ok, kappa, jnp.nan)


def _von_mises_angle(key: Array, kappa: Array, shape: tuple[int, ...]) -> Array:
    """Angles θ ∈ [−π, π] of a von Mises(0, κ) draw: Best & Fisher (1979).

    The textbook algorithm draws z = cos(πU₁) and accepts f = (1 + rz)/(r + z)
    as cos θ. Here every quantity is rewritten to stay accurate from κ = 0 (r
    infinite) to large κ (f ≈ 1): with q = √(1 + 4κ²), τ = 1 + q,
    ρ = 2κ√τ / ((√τ + √2)(q + 1)) and κ/ρ = (√τ + √2)(q + 1) / (2√τ),
    1 − f = (1 − ρ)² (1 − z) / (1 + ρ² + 2ρz), c = κ(r − f) =
    (κ/ρ)(1 − ρ)²/2 + κ(1 − f), and θ = 2 arcsin √((1 − f)/2).
    Proposals are made in rounds until every draw has accepted one
    (:func:`sample_by_rejection`).
    """
    dtype = kappa.dtype
    q = jnp.sqrt(1 + 4 * kappa * kappa)
    root_tau = jnp.sqrt(1 + q)
    kappa_over_rho = (root_tau + math.sqrt(2)) * (q + 1) / (2 * root_tau)
    rho = kappa / kappa_over_rho
    gap = (1 - rho) ** 2
    offset = 0.5 * kappa_over_rho * gap  # κ(r − 1)

    size = math.prod(shape)

    def propose(key: Array, n: int) -> tuple[Array, Array]:
        k1, k2 = jax.random.split(key)
        u1 = _random.uniform(k1, (n,), dtype)
        u2 = _random.uniform(k2, (n,), dtype)
        # z = cos πU₁ = c² − s² and 1 − z = 2s², with (c, s) at πU₁/2.
        c, s = cos_sin((0.5 * math.pi) * u1)
        z = (c - s) * (c + s)
        one_minus_f = gap * (2 * s * s) / (1 + rho * rho + 2 * rho * z)
        c = offset + kappa * one_minus_f
        accept = (c * (2 - c) > u2) | (jnp.log(c / u2) + 1 - c >= 0)
        return one_minus_f, accept | jnp.isnan(one_minus_f)  # a NaN κ ends

    # The rounds carry 1 − f alone; the angle and its sign (drawn once: the
    # law is symmetric) follow, so arcsin runs once per draw. At least 2/3 of
    # proposals are accepted: 3/4 of a batch refills the third left open.
    key, sign_key = jax.random.split(key)
    one_minus_f = sample_by_rejection(key, propose, size, (3 * size) // 4)
    one_minus_f = one_minus_f.reshape(shape)
    theta = 2 * jnp.arcsin(jnp.sqrt(jnp.clip(0.5 * one_minus_f, 0, 1)))
    negative = _random.uniform(sign_key, shape, dtype) < 0.5
    return jnp.where(negative, -theta, theta)


@final
@dataclasses.dataclass(frozen=True)
class VonMises(ExponentialFamily):
    r"""The von Mises distribution on the circle, angles x ∈ (−π, π].

    * u(x) = [cos x, sin x]
    * η = κ [cos m, sin m], natural domain ℝ² (η = 0 is the uniform law)
    * A(η) = log(2π I₀(‖η‖)), computed as log 2π + ‖η‖ + log i0e(‖η‖) and as a
      series in ‖η‖² near 0, so ∇A = (I₁/I₀)(κ) η/κ and ∇²A are finite at η = 0
    * h(x) = 1
    * conventional parameters: ``loc`` m (any real, read modulo 2π; returned in
      (−π, π]) and ``concentration`` κ ≥ 0 (scipy's ``vonmises(κ, loc=m)``)

    Observations are checked to lie in [−π, π] (−π and π are the same point);
    the density itself is 2π-periodic. The sampler is Best & Fisher's
    rejection method, rewritten to stay accurate from κ = 0 to large κ.

    The inverse map solves I₁(κ)/I₀(κ) = ‖μ‖ for κ
    (:func:`_bessel_ratio_inverse`) and sets η = κ μ / ‖μ‖.

    ∇²A is A₁′(κ) ≈ 1/(2κ²) along η and A₁/κ ≈ 1/κ across it, each taken
    on its own (:func:`_log_i0_norm_grad`), so the Fisher information and KL
    stay accurate at high κ: against 60-digit values, A₁′ is within ~8e-5
    relative in float32 and ~6e-13 in float64 for κ from 0.05 to 1e5.
    """

    param_names = ("loc", "concentration")
    support = (-math.pi, math.pi)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack(cos_sin(as_float(x)))

    def log_partition(self, eta: Array) -> Array:
        return _LOG_2PI + _log_i0_norm(eta)

    def log_prob(self, eta: Array, x: Array) -> Array:
        # log p = −2κ sin²((x − m)/2) − log 2π − log i0e(κ): ⟨η, u⟩ − A
        # subtracts κ − ½ log κ from κ cos(x − m) (float32 κ = 1e7 at the
        # mode: 8.0 for 5.51). Here only m's own rounding is of that size
        # (times κ sin(x − m) ~ √κ). Below κ = 1, where nothing cancels,
        # ⟨η, u⟩ − A keeps the gradient finite at η = 0.
        x = observation_like(x, eta.dtype)
        concentrated = jnp.sum(eta * eta) > 1
        p = self._params_from(jnp.where(concentrated, eta, jnp.ones_like(eta)))
        kappa, half = p["concentration"], cos_sin((x - p["loc"]) / 2)[1]
        stable = -2 * kappa * half * half - _LOG_2PI - jnp.log(i0e(kappa))
        return jnp.where(concentrated, stable, ExponentialFamily.log_prob(self, eta, x))

    def entropy(self, eta: Array) -> Array:
        # H = log 2π I₀(κ) − κ A₁(κ) = log 2π + log i0e(κ) + κ (1 − A₁(κ)):
        # the generic A − ⟨η, μ⟩ subtracts κ A₁ ≈ κ from κ (float32 κ = 1e8
        # gave −16 for −7.79). Near η = 0 H is its series in s = κ²,
        # log 2π − s/4 + 3s²/64, so its gradient stays finite there.
        s = jnp.sum(eta * eta)
        positive = s > _SERIES_S
        kappa = jnp.sqrt(jnp.where(positive, s, 1.0))
        gap = jnp.where(
            _in_tail(kappa), _bessel_ratio_tail(kappa), 1 - _bessel_ratio(kappa)
        )  # 1 − A₁(κ)
        far = _LOG_2PI + jnp.log(i0e(kappa)) + kappa * gap
        small = jnp.minimum(s, _SERIES_S)
        near = _LOG_2PI - small / 4 + 3 * small * small / 64
        return jnp.where(positive, far, near)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.real()

    def in_support(self, x: Array) -> Array:
        return jnp.abs(x) <= jnp.asarray(math.pi, as_float(x).dtype)

    def natural_parameters(self, mu: Array) -> Array:
        return mu * self._concentration_over_length(mu)

    def natural_parameters_guess(self, mu: Array) -> Array:
        return mu * self._concentration_over_length(mu, iterations=0)

    def _concentration_over_length(self, mu: Array, iterations: int = 4) -> Array:
        # κ / ‖μ‖ → 2 as ‖μ‖ → 0 (A₁(κ) ≈ κ/2): the double-where keeps it, and
        # its gradient, finite at μ = 0.
        r2 = jnp.sum(mu * mu)
        positive = r2 > 0
        r = jnp.sqrt(jnp.where(positive, r2, 1.0))
        kappa = _bessel_ratio_inverse(r, iterations)
        return jnp.where(positive, kappa / r, 2.0)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        p = self._params_from(eta)
        theta = _von_mises_angle(key, p["concentration"], shape)
        x = p["loc"] + theta
        pi = jnp.asarray(math.pi, eta.dtype)
        x = jnp.where(x > pi, x - 2 * pi, jnp.where(x < -pi, x + 2 * pi, x))
        return jnp.clip(x, -pi, pi)

    def _natural_from(self, loc: Array, concentration: Array) -> Array:
        loc, concentration = jnp.broadcast_arrays(loc, concentration)
        # κ < 0 is not a parameter (it would flip the mode): NaN, so it is named.
        kappa = jnp.where(concentration >= 0, concentration, jnp.nan)
        return jnp.stack([kappa * jnp.cos(loc), kappa * jnp.sin(loc)], axis=-1)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {
            "loc": jnp.arctan2(eta[..., 1], eta[..., 0]),
            "concentration": jnp.hypot(eta[..., 0], eta[..., 1]),
        }
