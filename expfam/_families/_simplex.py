"""Families on the probability simplex: the beta and the Dirichlet distribution.

The beta distribution is the Dirichlet distribution with two categories, read
through its first coordinate. Both have u = log x (all coordinates), η = α − 1
and A = log B(α), so they share the log-partition, the sampler and the inverse
map μ → η: the Dirichlet maximum-likelihood problem ψ(αᵢ) − ψ(Σⱼ αⱼ) = μᵢ,
solved by Newton's method (:func:`_concentration_from_mean_log`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import final

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, gammaln, logsumexp

from expfam import _divergence
from expfam import _domains as domains
from expfam._dtypes import observation_like
from expfam._families._common import as_float
from expfam._family import ExponentialFamily
from expfam._gamma_draws import log_gamma
from expfam._newton import default_tolerance
from expfam._special import (
    digamma_difference,
    gamma_entropy_part,
    inverse_digamma,
    log1p_deficit,
    log_gamma_gap,
    stirling_remainder,
    trigamma,
    trigamma_difference,
)
from expfam._validation import int_field

Array = jax.Array

__all__ = ["Beta", "Dirichlet"]

# Newton steps in log α are clipped to this size, a guard far from the root.
_MAX_LOG_STEP = 3.0
_MAX_ITERATIONS = 50

# log B(α) takes Stirling's form from α₀ = Σ αᵢ = 10 on, the direct form below.
_STIRLING_FROM = 10.0


# --------------------------------------------------------------------------- #
# Shared by both families: A, the inverse map, the sampler.
# --------------------------------------------------------------------------- #


def _sums_of_others(alpha: Array) -> Array:
    """α₀ − αᵢ = Σ_{j ≠ i} αⱼ for each i (last axis), α₀ = Σⱼ αⱼ.

    As α₀ − αᵢ for all but the largest entry (which is at most α₀ / 2 then, so
    the subtraction is exact to a few ulps); for the largest, the sum of the
    others, which α₀ − αᵢ would round away (10⁶ + 10⁻³ − 10⁶ in float32).
    """
    total = jnp.sum(alpha, axis=-1, keepdims=True)
    top = jnp.arange(alpha.shape[-1]) == jnp.argmax(alpha, axis=-1, keepdims=True)
    others_of_top = jnp.sum(jnp.where(top, 0.0, alpha), axis=-1, keepdims=True)
    return jnp.where(top, others_of_top, total - alpha)


def _log_fraction(alpha: Array, others: Array, total: Array) -> Array:
    """log(αᵢ / α₀) = −log1p(oᵢ / αᵢ), oᵢ = α₀ − αᵢ, to full relative accuracy
    also when αᵢ is close to α₀; log αᵢ − log α₀ where oᵢ / αᵢ overflows."""
    ratio = others / alpha
    return jnp.where(
        jnp.isfinite(ratio), -jnp.log1p(ratio), jnp.log(alpha) - jnp.log(total)
    )


@jax.custom_jvp
def _log_multivariate_beta(alpha: Array) -> Array:
    """log B(α) = Σᵢ log Γ(αᵢ) − log Γ(α₀), α₀ = Σᵢ αᵢ, over the last axis.

    The log-gammas are of size αᵢ log αᵢ while log B is of the size of its
    smaller terms (log B(10⁶, 1) = −log 10⁶): from α₀ = 10 on, Stirling's
    formula log Γ(x) = (x − ½) log x − x + ½ log 2π + δ(x) is put in for each
    and the large terms cancelled by hand,

        log B(α) = Σᵢ (αᵢ − ½) log(αᵢ / α₀) + (k − 1)/2 · log(2π / α₀)
                   + Σᵢ δ(αᵢ) − δ(α₀),

    with log(αᵢ / α₀) = −log1p((α₀ − αᵢ) / αᵢ) (:func:`_log_fraction`) and δ
    the remainder (:func:`expfam._special.stirling_remainder`, a series from 10
    on): the first sum has terms of one sign (αᵢ ≥ ½) or small ones, δ is
    O(1/x) or, below 10, O(|log x|). Below α₀ = 10, the direct form, accurate
    there. The derivatives ∂ log B / ∂αᵢ = ψ(αᵢ) − ψ(α₀) are likewise
    differences of large numbers, so they are taken from
    :func:`expfam._special.digamma_difference` (a custom JVP; its own
    derivatives give the Fisher information ψ'(αᵢ) δᵢⱼ − ψ'(α₀) as accurately).
    """
    k = alpha.shape[-1]
    total = jnp.sum(alpha, axis=-1)
    direct = jnp.sum(gammaln(alpha), axis=-1) - gammaln(total)
    log_fraction = _log_fraction(alpha, _sums_of_others(alpha), total[..., None])
    stirling = (
        jnp.sum((alpha - 0.5) * log_fraction + stirling_remainder(alpha), axis=-1)
        + (k - 1) / 2 * jnp.log(2 * math.pi / total)
        - stirling_remainder(total)
    )
    return jnp.where(total < _STIRLING_FROM, direct, stirling)


@_log_multivariate_beta.defjvp
def _log_multivariate_beta_jvp(
    primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (alpha,), (d_alpha,) = primals, tangents
    mean_log = _mean_log(alpha)
    return _log_multivariate_beta(alpha), jnp.sum(mean_log * d_alpha, axis=-1)


def _dirichlet_log_density(alpha: Array, x: Array, log_x: Array) -> Array:
    """log Dir(x; α) over the last axis, with log x given, in Stirling's form
    of log B(α) (:func:`_log_multivariate_beta`):

        −Σᵢ αᵢ φ(dᵢ) − Σᵢ log xᵢ + ½ Σᵢ log pᵢ + (k − 1)/2 · log(α₀/2π)
        − Σᵢ δ(αᵢ) + δ(α₀),

    pᵢ = αᵢ / α₀, dᵢ = xᵢ / pᵢ − 1 and φ(d) = d − log1p(d) ≥ 0
    (:func:`expfam._special.log1p_deficit`, given log(xᵢ / pᵢ) for |d| ≥ 0.1:
    exact also where xᵢ / pᵢ underflows 1 + d). The direct
    Σᵢ (αᵢ − 1) log xᵢ − log B(α) subtracts terms of size α₀ log α₀: float32
    Beta(1e7, 2e7) at its median gave 8.0 for 8.44.

    x is taken to lie on the simplex (Σᵢ αᵢ dᵢ = α₀ (Σᵢ xᵢ − 1) = 0): the
    density of that point. For an x off the simplex by rounding the direct
    form would add α₀ (Σᵢ xᵢ − 1), of order α₀ eps, an extrapolation off the
    support, not a digit of the density."""
    total = jnp.sum(alpha, axis=-1, keepdims=True)
    log_p = _log_fraction(alpha, _sums_of_others(alpha), total)
    p = alpha / total
    phi = log1p_deficit((x - p) / p, log_x - log_p)
    total = total[..., 0]
    k = alpha.shape[-1]
    return (
        (k - 1) / 2 * jnp.log(total / (2 * math.pi))
        + stirling_remainder(total)
        - jnp.sum(
            alpha * phi + log_x - 0.5 * log_p + stirling_remainder(alpha), axis=-1
        )
    )


def _dirichlet_kl(alpha_p: Array, alpha_q: Array) -> tuple[Array, Array]:
    """KL(Dir(α_p) ‖ Dir(α_q)) over the last axis, and its rounding estimate.

    It is Σᵢ D(α_pi, α_qi) − D(α_p0, α_q0), D(p, q) = log Γ(q) − log Γ(p)
    − (q − p) ψ(p) the Bregman divergence of log Γ, α₀ the totals. Each
    D(p, q) is q φ(uᵢ) plus terms of size log(q/p) (:func:`log_gamma_gap`),
    uᵢ = p/q − 1, φ(y) = y − log1p(y); and Σᵢ α_qi φ(uᵢ) − α_q0 φ(u₀), with
    u₀ the α_q-weighted mean of the uᵢ, is a Jensen gap of the convex φ:
    Σᵢ α_qi φ((uᵢ − u₀)/(1 + u₀)), terms ≥ 0. So no terms of size α log α
    cancel (float32 Beta(1e6, 1e6) ‖ Beta(1e9, 1e9): 384 for 496.05).
    """
    total_p, total_q = jnp.sum(alpha_p, axis=-1), jnp.sum(alpha_q, axis=-1)
    u = (alpha_p - alpha_q) / alpha_q
    u_0 = ((total_p - total_q) / total_q)[..., None]
    log_ratio = (jnp.log(alpha_p) - jnp.log(alpha_q)) - (
        jnp.log(total_p) - jnp.log(total_q)
    )[..., None]
    phi = log1p_deficit((u - u_0) / (1 + u_0), log_ratio)
    jensen = jnp.sum(alpha_q * phi, axis=-1)
    gaps, sizes = log_gamma_gap(alpha_p, alpha_q)
    gap_0, size_0 = log_gamma_gap(total_p, total_q)
    value = jensen + jnp.sum(gaps, axis=-1) - gap_0
    size = jensen + jnp.sum(sizes, axis=-1) + size_0
    return value, 4 * jnp.finfo(value.dtype).eps * size


def _mean_log(alpha: Array) -> Array:
    """E[log xᵢ] = ψ(αᵢ) − ψ(α₀) under Dirichlet(α), to full relative accuracy
    (:func:`expfam._special.digamma_difference` of αᵢ and α₀ − αᵢ)."""
    return digamma_difference(alpha, _sums_of_others(alpha))


def _dirichlet_entropy(alpha: Array) -> Array:
    """H = log B(α) + (α₀ − K) ψ(α₀) − Σ (α_j − 1) ψ(α_j), α₀ = Σ α_j, as
    Σ G(α_j) − G(α₀) − (K − 1) ψ(α₀) with G the gamma entropy's shape part
    (:func:`expfam._special.gamma_entropy_part`): the direct form cancels
    terms of size α log α (float32 Beta(10^6, 1): 6 % off)."""
    total = jnp.sum(alpha, axis=-1)
    k = alpha.shape[-1]
    return (
        jnp.sum(gamma_entropy_part(alpha), axis=-1)
        - gamma_entropy_part(total)
        - (k - 1) * digamma(total)
    )


def _concentration_guess(mean_log: Array) -> Array:
    """A closed-form approximation of the α with ψ(αᵢ) − ψ(α₀) = mᵢ, α₀ = Σ αᵢ.

    With ψ(a) ≈ log(a − ½), the equations give α₀ = (k − S) / (2 (1 − S)),
    S = Σᵢ exp(mᵢ) < 1; then αᵢ = ψ⁻¹(mᵢ + ψ(α₀)) by Minka's approximate
    inverse digamma, which is also good for αᵢ ≪ 1.
    """
    k = mean_log.shape[-1]
    log_s = logsumexp(mean_log, axis=-1, keepdims=True)
    gap = -jnp.expm1(jnp.minimum(log_s, 0.0))  # 1 − S
    gap = jnp.where(gap > 0, gap, jnp.finfo(mean_log.dtype).tiny)
    total = (k - jnp.exp(log_s)) / (2 * gap)
    return inverse_digamma(mean_log + digamma(total), iterations=0)


def _solve_hessian(alpha: Array, r: Array) -> Array:
    """H⁻¹ r for H = diag(ψ'(α)) − ψ'(α₀) 11ᵀ, the Jacobian of ψ(α) − ψ(α₀).

    O(k) by the Sherman–Morrison formula; H is positive definite for α > 0.
    Its denominator 1 − c Σᵢ 1/qᵢ (q = ψ'(α), c = ψ'(α₀)) cancels where one
    αⱼ dominates α₀ (c/qⱼ → 1: 4e-7 from terms near 1 for Beta(1e6, 1), a
    direction 15 % off in float32): it is taken as (qⱼ − c)/qⱼ − Σ_{i≠j} c/qᵢ,
    with qⱼ − c = ψ'(αⱼ) − ψ'(α₀) from :func:`trigamma_difference`.
    """
    q = trigamma(alpha)
    c = trigamma(jnp.sum(alpha))
    inv_q = 1.0 / q
    j = jnp.argmax(alpha)
    is_j = jnp.arange(alpha.shape[-1]) == j
    others = jnp.sum(jnp.where(is_j, 0.0, alpha))
    gap_j = trigamma_difference(alpha[j], others)  # q_j − c, no cancellation
    denominator = gap_j / q[j] - jnp.sum(jnp.where(is_j, 0.0, c * inv_q))
    r_q = r * inv_q
    return r_q + c * jnp.sum(r_q) / denominator * inv_q


@jax.custom_jvp
def _concentration_from_mean_log(mean_log: Array) -> Array:
    """The Dirichlet concentration α with E[log xᵢ] = ψ(αᵢ) − ψ(Σⱼ αⱼ) = mᵢ.

    Newton's method in log α from :func:`_concentration_guess` (steps clipped to
    ±3 in log α), in a ``lax.while_loop`` until |Fᵢ| ≤ rtol · max(1, |mᵢ|) for
    every i (rtol 1e-10 in float64, 1e-5 in float32), then one more step to reach
    rounding level: typically 2–10 steps. A solution exists iff
    Σᵢ exp(mᵢ) < 1 (Jensen: E log xᵢ < log E xᵢ); elsewhere, or if the solve
    does not converge in ``_MAX_ITERATIONS`` steps, the result is NaN. One
    parameter set (last axis = categories); vmap for batches. Differentiable by
    the implicit function theorem, dα = H⁻¹ dm, not through the iterations.
    """
    dtype = mean_log.dtype
    tol = default_tolerance(dtype) * jnp.maximum(1.0, jnp.abs(mean_log))
    feasible = logsumexp(mean_log) < 0

    def residual(t: Array) -> Array:
        return _mean_log(jnp.exp(t)) - mean_log

    def newton(t: Array, f: Array) -> Array:
        alpha = jnp.exp(t)
        step = -_solve_hessian(alpha, f) / alpha
        return t + jnp.clip(step, -_MAX_LOG_STEP, _MAX_LOG_STEP)

    def cond(state: tuple[Array, Array, Array]) -> Array:
        _, f, it = state
        return (it < _MAX_ITERATIONS) & jnp.any(jnp.abs(f) > tol)

    def body(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        t, f, it = state
        t = newton(t, f)
        return t, residual(t), it + 1

    t0 = jnp.log(_concentration_guess(mean_log))
    t, f, _ = jax.lax.while_loop(cond, body, (t0, residual(t0), jnp.asarray(0)))
    converged = feasible & jnp.all(jnp.abs(f) <= tol)
    return jnp.where(converged, jnp.exp(newton(t, f)), jnp.nan).astype(dtype)


@_concentration_from_mean_log.defjvp
def _concentration_jvp(
    primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (mean_log,), (d_mean_log,) = primals, tangents
    alpha = _concentration_from_mean_log(mean_log)
    return alpha, _solve_hessian(alpha, d_mean_log.astype(alpha.dtype))


def _sample_log_simplex(
    key: Array, alpha: Array, shape: tuple[int, ...], dtype: jnp.dtype
) -> Array:
    """log x for x ~ Dirichlet(α): normalized log-gamma draws (no underflow)."""
    log_g = log_gamma(key, alpha, (*shape, alpha.shape[-1]), dtype)
    return log_g - logsumexp(log_g, axis=-1, keepdims=True)


# --------------------------------------------------------------------------- #
# The families.
# --------------------------------------------------------------------------- #


class _Concentrations(ExponentialFamily):
    """What the beta and Dirichlet families share: η = α − 1 with A(η) =
    log B(α), and everything derived from log B in closed form."""

    def log_partition(self, eta: Array) -> Array:
        return _log_multivariate_beta(eta + 1)

    def kl_divergence(self, eta_p: Array, eta_q: Array) -> Array:
        closed = _dirichlet_kl(eta_p + 1, eta_q + 1)
        return _divergence.kl_divergence(self, eta_p, eta_q, closed)

    def entropy(self, eta: Array) -> Array:
        return _dirichlet_entropy(eta + 1)

    def natural_parameters(self, mu: Array) -> Array:
        return _concentration_from_mean_log(mu) - 1

    def natural_parameters_guess(self, mu: Array) -> Array:
        return _concentration_guess(mu) - 1


@final
@dataclasses.dataclass(frozen=True)
class Beta(_Concentrations):
    r"""The beta distribution with shapes α and β on (0, 1).

    * u(x) = [log x, log(1 − x)]
    * η = [α − 1, β − 1], natural domain (−1, ∞)²
    * A(η) = log Γ(η₁ + 1) + log Γ(η₂ + 1) − log Γ(η₁ + η₂ + 2) = log B(α, β)
    * h(x) = 1
    * conventional parameters: ``alpha`` α, ``beta`` β

    The Dirichlet distribution with two categories: the inverse map μ → η solves
    ψ(α) − ψ(α + β) = μ₁, ψ(β) − ψ(α + β) = μ₂ by the Dirichlet Newton solver.
    Draws come from log-gamma variates, so they do not underflow to 0 for small
    α; a draw closer to 0 or 1 than the dtype can tell is clipped to the
    smallest normal number or to the largest number below 1.
    """

    statistics_certify_support = True  # u is ±inf or NaN outside

    param_names = ("alpha", "beta")
    support = (0.0, 1.0)

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)
        return jnp.stack([jnp.log(x), jnp.log1p(-x)])

    def log_prob(self, eta: Array, x: Array) -> Array:
        x = observation_like(x, eta.dtype)
        pair = jnp.stack([x, 1 - x])
        log_pair = jnp.stack([jnp.log(x), jnp.log1p(-x)])
        return _dirichlet_log_density(eta + 1, pair, log_pair)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.greater_than(-1.0), domains.greater_than(-1.0))

    def in_support(self, x: Array) -> Array:
        return (x > 0) & (x < 1)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        # G_α / (G_α + G_β) from two one-law gamma draws and a logaddexp:
        # an (n, 2) batch of rows normalized over its last axis took 1.38x
        # as long (A/B, 2^20 draws).
        key_alpha, key_beta = jax.random.split(key)
        log_a = log_gamma(key_alpha, eta[0] + 1, shape, eta.dtype)
        log_b = log_gamma(key_beta, eta[1] + 1, shape, eta.dtype)
        log_x = log_a - jnp.logaddexp(log_a, log_b)
        below_one = jnp.nextafter(jnp.ones((), eta.dtype), 0)
        return jnp.clip(jnp.exp(log_x), jnp.finfo(eta.dtype).tiny, below_one)

    def _natural_from(self, alpha: Array, beta: Array) -> Array:
        alpha, beta = jnp.broadcast_arrays(alpha, beta)
        return jnp.stack([alpha - 1, beta - 1], axis=-1)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"alpha": eta[..., 0] + 1, "beta": eta[..., 1] + 1}


@final
@dataclasses.dataclass(frozen=True)
class Dirichlet(_Concentrations):
    r"""The Dirichlet distribution with concentration α on the open simplex in ℝᵏ.

    * u(x) = log x (all k coordinates)
    * η = α − 1, natural domain (−1, ∞)ᵏ
    * A(η) = Σᵢ log Γ(ηᵢ + 1) − log Γ(Σᵢ (ηᵢ + 1)) = log B(α)
    * h(x) = 1, with respect to Lebesgue measure on the first k − 1
      coordinates (``free_coordinates``), as scipy's ``dirichlet``
    * conventional parameters: ``concentration`` α (k,)

    An observation is a point of the open simplex: positive coordinates summing
    to 1 within 16 k ε of its dtype; ``log_prob`` is the density of the point
    as on the simplex (``⟨η, u⟩ − A`` would add α₀ (Σᵢ xᵢ − 1), ~1 nat for
    float32 rounding at α₀ = 1e7). The inverse map μ → η solves
    ψ(αᵢ) − ψ(Σⱼ αⱼ) = μᵢ by Newton's method in log α from a closed-form start
    (Minka, "Estimating a Dirichlet distribution"). Draws are normalized
    log-gamma variates; a coordinate below the smallest normal number of the
    dtype is clipped to it.
    """

    k: int

    param_names = ("concentration",)

    def __post_init__(self) -> None:
        int_field(self, "k", 2, f"Dirichlet(k={self.k!r})")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.k,)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.log(as_float(x))

    def log_prob(self, eta: Array, x: Array) -> Array:
        x = observation_like(x, eta.dtype)
        return _dirichlet_log_density(eta + 1, x, jnp.log(x))

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.greater_than(-1.0)

    def in_support(self, x: Array) -> Array:
        x = as_float(x)
        tol = 16 * self.k * jnp.finfo(x.dtype).eps
        return jnp.all(x > 0) & (jnp.abs(jnp.sum(x) - 1) <= tol)

    def free_coordinates(self, x: Array) -> Array:
        return x[: self.k - 1]

    def from_free_coordinates(self, v: Array) -> Array:
        return jnp.concatenate([v, 1 - jnp.sum(v, keepdims=True)])

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        log_x = _sample_log_simplex(key, eta + 1, shape, eta.dtype)
        return jnp.maximum(jnp.exp(log_x), jnp.finfo(eta.dtype).tiny)

    def _natural_from(self, concentration: Array) -> Array:
        return concentration - 1

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"concentration": eta + 1}
