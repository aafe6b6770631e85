"""Gaussian families and their transforms: the normal, the multivariate normal,
the log-normal and the inverse Gaussian."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, final

import jax
import jax.numpy as jnp
from jax.scipy.special import exp1

from expfam import _domains as domains
from expfam import _random
from expfam._dtypes import observation_like
from expfam._families._common import (
    CENTER_ROWS,
    as_float,
    asymmetry_problem,
    head_center,
    within_positive,
)
from expfam._family import ExponentialFamily
from expfam._linalg import einsum, matmul
from expfam._special import EULER_GAMMA, horner
from expfam._validation import int_field

Array = jax.Array

__all__ = ["InverseGaussian", "LogNormal", "MultivariateNormal", "Normal"]

_LOG_2PI = math.log(2 * math.pi)


# --------------------------------------------------------------------------- #
# The normal's pieces in its natural coordinates, shared with the log-normal
# (which is the normal family of log x).
# --------------------------------------------------------------------------- #


def _normal_log_partition(eta: Array) -> Array:
    """A(η) = −η₁² / (4 η₂) − ½ log(−2 η₂) + ½ log 2π."""
    e1, e2 = eta[0], eta[1]
    return -(e1 * e1) / (4 * e2) - 0.5 * jnp.log(-2 * e2) + 0.5 * _LOG_2PI


def _normal_entropy(eta: Array) -> Array:
    """½ log(2πe s²), without the cancellation of A(η) − ⟨η, ∇A(η)⟩ (large m/s)."""
    return 0.5 * (1 + _LOG_2PI - jnp.log(-2 * eta[1]))


def _normal_natural(mean: Array, variance: Array) -> Array:
    """η = [m / s², −1 / (2 s²)], batched over leading axes."""
    mean, variance = jnp.broadcast_arrays(mean, variance)
    return jnp.stack([mean / variance, -0.5 / variance], axis=-1)


def _normal_params(eta: Array) -> tuple[Array, Array]:
    """(m, s²) from η, batched over leading axes: m = −½η₁ / η₂ rounded
    once (η₁ s² rounded twice: float32 m = 1e4, s² = 1e-4 came out 1 ulp
    off, 0.1 s, which moved log N(m; m, s²) by 3e-4)."""
    return -0.5 * eta[..., 0] / eta[..., 1], -0.5 / eta[..., 1]


def _normal_kl(eta_p: Array, eta_q: Array) -> Array:
    """KL(p ‖ q) between normals in closed form:
    ½ (r − 1 − log r) + (m_p − m_q)² / (2 s_q²), r = s_p² / s_q² = η₂q / η₂p.

    Both terms are ≥ 0 and neither subtracts terms of the size of m² / s²,
    which the generic Bregman form and Fisher quadrature both do: float32
    N(1e4, 1) ‖ N(1e4, 1.1) gave −0.018 for 2.2e-3. r − 1 is taken from
    δ = η_q − η_p (exact for close η), and m_p − m_q either directly or as
    −η₁p δ₂ / (2 η₂p η₂q) − δ₁ s_q², whichever rounds less: the first for
    far laws, the second for close ones (means 100 and 100.001 with s² =
    0.01 lost 1 % directly), so KL(p, p) = 0.
    """
    mean_p, _ = _normal_params(eta_p)
    mean_q, variance_q = _normal_params(eta_q)
    delta = eta_q - eta_p
    by_variance = -eta_p[0] * delta[1] / (2 * eta_p[1] * eta_q[1])
    by_mean = -delta[0] * variance_q
    rounding_by_delta = jnp.abs(by_variance) + jnp.abs(by_mean)
    rounding_direct = jnp.abs(mean_p) + jnp.abs(mean_q)
    shift = jnp.where(
        rounding_by_delta < rounding_direct, by_variance + by_mean, mean_p - mean_q
    )
    d = delta[1] / eta_p[1]  # r − 1
    near = jnp.abs(d) < 0.5  # log r as log1p(r − 1) near 1, else directly
    log_r = jnp.where(
        near,
        jnp.log1p(jnp.where(near, d, 0)),
        jnp.log(jnp.where(near, 1, eta_q[1] / eta_p[1])),
    )
    return 0.5 * (d - log_r) + 0.5 * shift**2 / variance_q


def _normal_natural_from_moments(mu: Array) -> Array:
    """η from μ = [E t, E t²] (t = x for the normal, log x for the log-normal)."""
    return _normal_natural(mu[0], mu[1] - mu[0] ** 2)


class _LocationMoments:
    """``mle`` about a centre, for families with u(x) = (t, t tᵀ) of a location
    t(x) (x for the normals, log x for the log-normal; t tᵀ is t² for scalars).

    The average of u is taken about c, the t of the row nearest the mean of
    the first rows (``head_center``): u(t − c) instead of u(t), in one pass, so
    the variance E[(t − c)²] − E[t − c]² no longer cancels a location that
    is large against the spread (float32 data 1e4 + N(0, 1) gave variances
    up to 21x too large, or no estimate). Moving the data by c maps η to
    (η₁ − (η₂ + η₂ᵀ) c, η₂).

    u(x) is ``_moments_of(_location(x))``: by default t = x and the scalar
    moments [t, t²]; a family overrides what differs.
    """

    def sufficient_statistics(self, x: Array) -> Any:
        return self._moments_of(self._location(x))

    def _location(self, x: Array) -> Array:
        return as_float(x)

    def _moments_of(self, t: Array) -> Any:
        return jnp.stack([t, t * t])

    def _mle_center(self, xs: Array) -> Array:
        return head_center(jax.vmap(self._location)(jnp.asarray(xs)[:CENTER_ROWS]))

    def _centered_batch(self, xs: Array, c: Array) -> tuple[Array, Callable]:
        return jax.vmap(self._location)(xs) - c[None], self._moments_of

    def _natural_from_centered(self, mu_c: Any, c: Array) -> Any:
        eta = self.natural_parameters(mu_c)  # type: ignore[attr-defined]
        if isinstance(eta, tuple):  # (η₁, η₂) of the multivariate normal
            h, lam = eta
            return h - matmul(lam + lam.T, c), lam
        return jnp.stack([eta[0] - 2 * eta[1] * c, eta[1]])


def _normal_log_density(eta: Array, t: Array) -> Array:
    """log N(t; m, s²) = η₂ (t − m)² + ½ log(−η₂ / π), η₂ = −1/(2 s²).

    The generic ⟨η, u⟩ − A subtracts terms of size m² / s²: float32
    N(1e4, 1) gave 0 for −1.04 at t = m + 0.5. Here the only rounding of
    that size is m's own, as the parameterization carries it."""
    mean, _ = _normal_params(eta)
    z = t - mean
    return eta[1] * z * z + 0.5 * jnp.log(-eta[1] / math.pi)


def _normal_draws(key: Array, eta: Array, shape: tuple[int, ...]) -> Array:
    mean, variance = _normal_params(eta)
    z = _random.normal(key, shape, eta.dtype)
    return mean + jnp.sqrt(variance) * z


@final
@dataclasses.dataclass(frozen=True)
class Normal(_LocationMoments, ExponentialFamily):
    r"""The normal distribution N(m, s²) on the real line.

    * u(x) = [x, x²]
    * η = [m / s², −1 / (2 s²)], natural domain ℝ × (−∞, 0)
    * A(η) = −η₁² / (4 η₂) − ½ log(−2 η₂) + ½ log 2π
    * h(x) = 1
    * conventional parameters: ``mean`` m, ``variance`` s²
    """

    statistics_certify_support = True  # u is ±inf or NaN outside

    param_names = ("mean", "variance")
    support = (-math.inf, math.inf)

    def log_partition(self, eta: Array) -> Array:
        return _normal_log_partition(eta)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.real(), domains.negative())

    def natural_parameters(self, mu: Array) -> Array:
        return _normal_natural_from_moments(mu)

    def log_prob(self, eta: Array, x: Array) -> Array:
        return _normal_log_density(eta, observation_like(x, eta.dtype))

    def entropy(self, eta: Array) -> Array:
        return _normal_entropy(eta)

    def kl_divergence(self, eta_p: Array, eta_q: Array) -> Array:
        return _normal_kl(eta_p, eta_q)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return _normal_draws(key, eta, shape)

    def _natural_from(self, mean: Array, variance: Array) -> Array:
        return _normal_natural(mean, variance)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        mean, variance = _normal_params(eta)
        return {"mean": mean, "variance": variance}


@final
@dataclasses.dataclass(frozen=True)
class MultivariateNormal(_LocationMoments, ExponentialFamily):
    r"""The d-dimensional normal distribution N(m, Σ).

    * u(x) = (x, x xᵀ)
    * η = (Σ⁻¹ m, −½ Σ⁻¹), natural domain ℝᵈ × {negative-definite d × d}
    * A(η) = ½ η₁ᵀ P⁻¹ η₁ − ½ log det P + (d/2) log 2π with P = −2 η₂
      (η₂ is symmetrized first, so ∇A is symmetric)
    * h(x) = 1
    * conventional parameters: ``mean`` m (d,), ``covariance`` Σ (d, d)

    The Fisher information is over the flattened (d + d²) entries of η, so it is
    singular along antisymmetric directions of η₂.
    """

    statistics_certify_support = True  # u is ±inf or NaN outside

    d: int

    param_names = ("mean", "covariance")

    def __post_init__(self) -> None:
        int_field(self, "d", 1, f"MultivariateNormal(d={self.d!r})")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.d,)

    def _moments_of(self, t: Array) -> tuple[Array, Array]:
        return t, jnp.outer(t, t)

    def log_partition(self, eta: tuple[Array, Array]) -> Array:
        h, lam = eta
        chol = self._precision_cholesky(lam)
        w = jax.scipy.linalg.solve_triangular(chol, h, lower=True)
        logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(chol)))
        return 0.5 * jnp.sum(w * w) - 0.5 * logdet + 0.5 * self.d * _LOG_2PI

    def log_prob(self, eta: tuple[Array, Array], x: Array) -> Array:
        # −½ ‖Lᵀ(x − m)‖² + log det L − (d/2) log 2π with P = L Lᵀ: the
        # generic ⟨η, u⟩ − A subtracts terms of size ½ mᵀPm (float32, d = 3,
        # mean 1e4·1, Σ of condition ~3: −8.0 for −3.484 at mean + 0.5).
        chol, mean = self._cholesky_and_mean(eta)
        z = matmul(chol.T, observation_like(x, mean.dtype) - mean)
        logdet = jnp.sum(jnp.log(jnp.diagonal(chol)))
        return -0.5 * jnp.sum(z * z) + logdet - 0.5 * self.d * _LOG_2PI

    def entropy(self, eta: tuple[Array, Array]) -> Array:
        # ½ log det(2πe Σ), free of the mean: A(η) − ⟨η, ∇A(η)⟩ cancels terms
        # of size ½ mᵀΣ⁻¹m (float32, mean 1000·1, Σ = I: 4.25 for 4.2568).
        chol = self._precision_cholesky(eta[1])
        logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(chol)))
        return 0.5 * (self.d * (1 + _LOG_2PI) - logdet)

    def kl_divergence(
        self, eta_p: tuple[Array, Array], eta_q: tuple[Array, Array]
    ) -> Array:
        # ½ [tr(P_q Σ_p) − d − log det(P_q Σ_p) + Δmᵀ P_q Δm] with P = LLᵀ the
        # precisions: no terms of the size of mᵀPm cancel, as they do in the
        # generic forms (float32, mean 1e3 against 1e3 + 0.1 with variances
        # 1e-2 and 1.2e-2: 0.370 for 0.424).
        chol_p, mean_p = self._cholesky_and_mean(eta_p)
        chol_q, mean_q = self._cholesky_and_mean(eta_q)
        ratio = jax.scipy.linalg.solve_triangular(chol_p, chol_q, lower=True)
        trace = jnp.sum(ratio * ratio)  # tr(P_q Σ_p) = ‖L_p⁻¹ L_q‖²
        logdet = 2 * jnp.sum(
            jnp.log(jnp.diagonal(chol_q)) - jnp.log(jnp.diagonal(chol_p))
        )
        shift = matmul(chol_q.T, mean_p - mean_q)
        kl = 0.5 * (trace - self.d - logdet + jnp.sum(shift * shift))
        return jnp.maximum(kl, 0)

    @classmethod
    def _cholesky_and_mean(cls, eta: tuple[Array, Array]) -> tuple[Array, Array]:
        """(L, m): the precision's Cholesky factor and the mean P⁻¹ η₁."""
        chol = cls._precision_cholesky(eta[1])
        return chol, jax.scipy.linalg.cho_solve((chol, True), eta[0])

    @staticmethod
    def _precision_cholesky(lam: Array) -> Array:
        """The Cholesky factor of the precision Σ⁻¹ = −(Λ + Λᵀ) (η₂ = Λ)."""
        return jnp.linalg.cholesky(-(lam + lam.T))

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.product(domains.real(), domains.negative_definite(self.d))

    def natural_parameters(self, mu: tuple[Array, Array]) -> tuple[Array, Array]:
        mean, second = mu
        covariance = second - jnp.outer(mean, mean)
        covariance = 0.5 * (covariance + covariance.T)
        return self._natural_from(mean, covariance)

    def sample(
        self, key: Array, eta: tuple[Array, Array], shape: tuple[int, ...] = ()
    ) -> Array:
        p = self._params_from(eta)
        chol = jnp.linalg.cholesky(p["covariance"])
        # z with the draws on its last axis, contracted on its first: XLA's
        # CPU code for normals of shape (n, d) is up to 12x slower for some d
        # (d = 10: 2^17 draws took 23 ms, this 6); z's order is jax's for
        # the shape (d, n).
        z = _random.normal(key, (self.d, math.prod(shape)), eta[0].dtype)
        x = einsum("jn,ij->ni", z, chol).reshape(*shape, self.d)
        return jnp.reshape(p["mean"], (1,) * len(shape) + (self.d,)) + x

    def _conventional_problem(self, **params: Array) -> str | None:
        return asymmetry_problem("covariance", params["covariance"])

    def _natural_from(self, mean: Array, covariance: Array) -> tuple[Array, Array]:
        # Batched over leading dimensions of mean (..., d) and covariance
        # (..., d, d), which broadcast against each other: both η leaves get
        # the common batch shape (four means and one covariance were refused).
        batch = jnp.broadcast_shapes(mean.shape[:-1], covariance.shape[:-2])
        chol = jnp.linalg.cholesky(covariance)
        eye = jnp.broadcast_to(jnp.eye(self.d, dtype=covariance.dtype), chol.shape)
        inv_chol = jax.scipy.linalg.solve_triangular(chol, eye, lower=True)
        precision = matmul(jnp.swapaxes(inv_chol, -1, -2), inv_chol)
        precision = jnp.broadcast_to(precision, (*batch, self.d, self.d))
        mean = jnp.broadcast_to(mean, (*batch, self.d))
        return einsum("...ij,...j->...i", precision, mean), -0.5 * precision

    def _params_from(self, eta: tuple[Array, Array]) -> dict[str, Array]:
        h, lam = eta
        precision = -(lam + jnp.swapaxes(lam, -1, -2))
        covariance = jnp.linalg.inv(precision)
        covariance = 0.5 * (covariance + jnp.swapaxes(covariance, -1, -2))
        mean = einsum("...ij,...j->...i", covariance, h)
        return {"mean": mean, "covariance": covariance}


@final
@dataclasses.dataclass(frozen=True)
class LogNormal(_LocationMoments, ExponentialFamily):
    r"""The log-normal distribution on (0, ∞): log x ~ N(m, s²).

    * u(x) = [log x, (log x)²]
    * η = [m / s², −1 / (2 s²)], natural domain ℝ × (−∞, 0)
    * A(η) = −η₁² / (4 η₂) − ½ log(−2 η₂) + ½ log 2π (the normal's)
    * h(x) = 1 / x, so E[log h(x)] = −m
    * conventional parameters: ``loc`` m and ``scale`` s > 0 of log x
      (scipy's ``lognorm(s, scale=exp(m))``)
    """

    statistics_certify_support = True  # u is ±inf or NaN outside

    param_names = ("loc", "scale")
    support = (0.0, math.inf)

    def _location(self, x: Array) -> Array:
        return jnp.log(as_float(x))

    def log_partition(self, eta: Array) -> Array:
        return _normal_log_partition(eta)

    def log_base_measure(self, x: Array) -> Array:
        return -jnp.log(as_float(x))

    def expected_log_base_measure(self, eta: Array) -> Array:
        return -_normal_params(eta)[0]

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.real(), domains.negative())

    def in_support(self, x: Array) -> Array:
        return x > 0

    def natural_parameters(self, mu: Array) -> Array:
        return _normal_natural_from_moments(mu)

    def log_prob(self, eta: Array, x: Array) -> Array:
        t = jnp.log(observation_like(x, eta.dtype))
        return _normal_log_density(eta, t) - t

    def entropy(self, eta: Array) -> Array:
        # The normal entropy of log x, minus E[log h(x)] = −m.
        return _normal_entropy(eta) - self.expected_log_base_measure(eta)

    def kl_divergence(self, eta_p: Array, eta_q: Array) -> Array:
        return _normal_kl(eta_p, eta_q)  # KL is that of log x

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return within_positive(jnp.exp(_normal_draws(key, eta, shape)))

    def _natural_from(self, loc: Array, scale: Array) -> Array:
        scale = jnp.where(scale > 0, scale, jnp.nan)  # s ≤ 0 is not a parameter
        return _normal_natural(loc, scale * scale)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        mean, variance = _normal_params(eta)
        return {"loc": mean, "scale": jnp.sqrt(variance)}


# e^z E1(z): below _EXP1_SERIES, E1's series −γ − log z + Σ (−1)^(k+1) z^k /
# (k k!) to k = 12 (the next term below 1e-17 of E1 at 0.25); up to
# _EXP1_SWITCH, the direct product with jax's exp1, whose own loop, vmapped,
# ran forever at float32 z ≤ ~3e-7 (jax 0.10.2); beyond, the continued
# fraction 1 / (z + 1 − 1² / (z + 3 − 2² / (z + 5 − …))) with _EXP1_TERMS
# levels, evaluated bottom up (relative error < 1e-15 for z > 5).
_EXP1_SERIES = 0.25
_EXP1_SWITCH = 5.0
_EXP1_TERMS = 30
_EXP1_COEFFICIENTS = tuple(
    (-1) ** k / ((k + 1) * math.factorial(k + 1)) for k in range(12)
)


def _scaled_exp1(z: Array) -> Array:
    """e^z E₁(z) for z > 0, without the overflow of e^z or underflow of E₁(z)."""
    tiny = jnp.minimum(z, _EXP1_SERIES)
    series = -EULER_GAMMA - jnp.log(tiny) + tiny * horner(_EXP1_COEFFICIENTS, tiny)
    # exp1 never sees the z the series covers, even in the branch not taken.
    middle = jnp.clip(z, _EXP1_SERIES, _EXP1_SWITCH)
    direct = jnp.exp(middle) * exp1(middle)
    big = jnp.maximum(z, _EXP1_SWITCH)
    f = big + (2 * _EXP1_TERMS + 1)
    for k in range(_EXP1_TERMS, 0, -1):
        f = big + (2 * k - 1) - (k * k) / f
    scaled = jnp.where(z < _EXP1_SERIES, jnp.exp(tiny) * series, direct)
    return jnp.where(z <= _EXP1_SWITCH, scaled, 1 / f)


def _inverse_gaussian_centered_statistics(c: Array) -> Callable[[Array], Array]:
    """The statistics [d, d² / x] of d = x − c (x = c + d), for ``mle``'s
    sums about a centre c > 0 of the data; about c = 0 (no centring
    needed, see ``ExponentialFamily._mle_center``) u(x) = [x, 1/x] itself.

    With m = E[x] = c + E[d], the identity 1/x = 1/c − d/c² + d²/(c² x)
    (and the same at m) gives

        1/λ = E[1/x] − 1/m = (E[d² / x] − E[d]² / m) / c²,

    whose terms are of the size of the spread, not of 1/μ: E[d]² is small
    against E[d²] for c near the mean, so nothing cancels."""

    def statistics(d: Array) -> Array:
        return jnp.stack([d, jnp.where(c == 0, 1, d * d) / (c + d)])

    return statistics


def _inverse_gaussian_mean(eta: Array) -> Array:
    """μ = √(η₂/η₁), as √−η₂ / √−η₁: the ratio η₂/η₁ = μ² overflows float32
    for μ above ~1.8e19."""
    return jnp.sqrt(-eta[..., 1]) / jnp.sqrt(-eta[..., 0])


def _inverse_gaussian_log_density(eta: Array, x: Array) -> Array:
    """log IG(x; μ, λ) = ½ log(λ / (2π x³)) − λ (x − μ)² / (2 μ² x), as
    η₁ (x − μ)² / x + ½ log(−η₂ / π) − (3/2) log x (η₁ = −λ/(2μ²), λ = −2η₂).

    The generic ⟨η, u⟩ − A subtracts terms of size λ/μ: float32 λ/μ = 1e8
    gave −0.92 for 3.79 three standard deviations out. Here μ = √(η₂/η₁)
    carries the only rounding of that reach, as the parameterization does."""
    z = x - _inverse_gaussian_mean(eta)
    return eta[0] * z * (z / x) + 0.5 * jnp.log(-eta[1] / math.pi) - 1.5 * jnp.log(x)


@final
@dataclasses.dataclass(frozen=True)
class InverseGaussian(ExponentialFamily):
    r"""The inverse Gaussian (Wald) distribution IG(μ, λ) on (0, ∞).

    * u(x) = [x, 1/x]
    * η = [−λ / (2 μ²), −λ / 2], natural domain (−∞, 0) × (−∞, 0)
      (η₁ = 0, the Lévy distribution, is left out: its mean is infinite)
    * A(η) = −2 √(η₁ η₂) − ½ log(−2 η₂)
    * h(x) = (2π x³)^(−1/2), with E[log h(x)] = −½ log 2π − (3/2) E[log x] and
      E[log x] = log μ − e^z E₁(z), z = 2λ/μ (computed scaled, see
      :func:`_scaled_exp1`)
    * conventional parameters: ``mean`` μ, ``shape`` λ
      (scipy's ``invgauss(μ/λ, scale=λ)``)

    The inverse map is closed form: μ = E[x], 1/λ = E[1/x] − 1/E[x]. The
    difference cancels where the spread is small against the mean (its
    terms are ≈ 1/μ, their difference 1/λ: relative rounding ≈ 2 eps λ/μ),
    so there ``mle`` averages centred statistics instead (see
    :func:`_inverse_gaussian_centered_statistics`): float32 data of
    λ/μ = 1e6 gave λ 19 % off, and λ/μ = 1e8 no estimate. ``log_prob`` is
    ½ log(λ / (2π x³)) − λ (x − μ)² / (2 μ² x), free of the terms of size
    λ/μ that ⟨η, u⟩ − A(η) subtracts.
    """

    param_names = ("mean", "shape")
    support = (0.0, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)
        return jnp.stack([x, 1 / x])

    def log_partition(self, eta: Array) -> Array:
        r1, r2 = jnp.sqrt(-eta[0]), jnp.sqrt(-eta[1])
        return -2 * r1 * r2 - 0.5 * jnp.log(-2 * eta[1])

    def log_base_measure(self, x: Array) -> Array:
        return -0.5 * _LOG_2PI - 1.5 * jnp.log(as_float(x))

    def expected_log_base_measure(self, eta: Array) -> Array:
        r1, r2 = jnp.sqrt(-eta[0]), jnp.sqrt(-eta[1])
        mean_log = jnp.log(r2) - jnp.log(r1) - _scaled_exp1(4 * r1 * r2)
        return -0.5 * _LOG_2PI - 1.5 * mean_log

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.negative(), domains.negative())

    def in_support(self, x: Array) -> Array:
        return x > 0

    def natural_parameters(self, mu: Array) -> Array:
        mean = mu[0]
        return self._natural_from(mean, 1 / (mu[1] - 1 / mean))

    def _mle_center(self, xs: Array) -> Array:
        # 1/λ = E[1/x] − 1/E[x] loses ≈ log₁₀(λ/μ) digits, and λ/μ = μ²/Var
        # is the normal's ratio c²/s²: head_center's criterion fits as it is.
        return head_center(as_float(jnp.asarray(xs)[:CENTER_ROWS]))

    def _centered_batch(self, xs: Array, c: Array) -> tuple[Array, Callable]:
        return as_float(xs) - c, _inverse_gaussian_centered_statistics(c)

    def _natural_from_centered(self, mu_c: Array, c: Array) -> Array:
        # mu_c = [E[d], E[d²/x]] about c; about c = 0 (which mle's traced
        # path passes on too), mu_c = [E[x], E[1/x]].
        mean_d, second = mu_c[0], mu_c[1]
        mean = c + mean_d
        about_zero = c == 0
        scale = jnp.where(about_zero, 1, c)
        # scale² / λ: E[d²/x] − E[d]²/m about c, E[1/x] − 1/m about 0.
        spread = jnp.where(about_zero, second - 1 / mean, second - mean_d**2 / mean)
        # natural_from, not _natural_from: on concrete data it raises where
        # λ is not positive and finite (identical observations: spread = 0).
        return self.natural_from(mean=mean, shape=scale * (scale / spread))

    def log_prob(self, eta: Array, x: Array) -> Array:
        return _inverse_gaussian_log_density(eta, observation_like(x, eta.dtype))

    def entropy(self, eta: Array) -> Array:
        # A(η) − ⟨η, ∇A(η)⟩ = ½ − ½ log λ exactly: its λ/μ terms cancel here,
        # not in rounding.
        return 0.5 * (1 - jnp.log(-2 * eta[1])) - self.expected_log_base_measure(eta)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        # Michael, Schucany & Haas (1976): the roots x₁ ≤ μ ≤ x₂ = μ²/x₁ of
        # λ(x − μ)² / (μ² x) = ν², ν ~ N(0, 1); take x₁ with probability
        # μ / (μ + x₁). Written as x₁ = μ / b, x₂ = μ b with
        # b = 1 + a + √a √(a + 2), a = μ ν² / (2λ), free of cancellation (and
        # of a (a + 2) overflowing: float32 λ/μ = 1e-25 drew 99.9 % zeros).
        p = self._params_from(eta)
        mean, lam = p["mean"], p["shape"]
        normal_key, uniform_key = jax.random.split(key)
        nu = _random.normal(normal_key, shape, eta.dtype)
        a = mean * nu * nu / (2 * lam)
        b = 1 + a + jnp.sqrt(a) * jnp.sqrt(a + 2)
        u = _random.uniform(uniform_key, shape, eta.dtype)
        return within_positive(jnp.where(u * (b + 1) <= b, mean / b, mean * b))

    def _natural_from(self, mean: Array, shape: Array) -> Array:
        mean, shape = jnp.broadcast_arrays(mean, shape)
        mean = jnp.where(mean > 0, mean, jnp.nan)  # μ ≤ 0 is not a parameter
        # λ/(2μ²) as (λ/(2μ))/μ: 2μ² overflows float32 for μ above ~1.3e19.
        return jnp.stack([-(shape / (2 * mean)) / mean, -shape / 2], axis=-1)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        shape = -2 * eta[..., 1]
        return {"mean": _inverse_gaussian_mean(eta), "shape": shape}
