"""Families of symmetric positive-definite matrices: the Wishart distribution."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import final

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, multigammaln

from expfam import _domains as domains
from expfam._families._common import as_float, asymmetry_problem
from expfam._family import ExponentialFamily
from expfam._linalg import einsum, matmul
from expfam._special import gamma_entropy_part, log_minus_digamma
from expfam._validation import int_field

Array = jax.Array

__all__ = ["Wishart"]

_LOG_2 = math.log(2.0)
# Newton on log(−f) in log(a − (d − 1)/2) is linear at both ends of the range,
# so it converges in at most 5 steps from the asymptotic start (float64, d ≤ 20).
_NEWTON_STEPS = 8
# Up to this dimension a Cholesky factorization of one matrix is written out
# (d³/6 multiply-adds: 86 at d = 8), above it jnp.linalg.cholesky.
_WRITTEN_OUT_MAX_D = 8


# --------------------------------------------------------------------------- #
# Helpers: symmetric positive-definite algebra and the multivariate digamma.
# --------------------------------------------------------------------------- #


def _symmetric(m: Array) -> Array:
    return 0.5 * (m + jnp.swapaxes(m, -1, -2))


def _inverse_cholesky(m: Array) -> Array:
    """R⁻¹ for the Cholesky factor m = R Rᵀ (lower); batched over leading axes."""
    chol = jnp.linalg.cholesky(m)
    eye = jnp.broadcast_to(jnp.eye(m.shape[-1], dtype=m.dtype), m.shape)
    return jax.scipy.linalg.solve_triangular(chol, eye, lower=True)


def _spd_inverse(m: Array) -> Array:
    """m⁻¹ = R⁻ᵀ R⁻¹ for symmetric positive-definite m: exactly symmetric."""
    inv_chol = _inverse_cholesky(m)
    return matmul(jnp.swapaxes(inv_chol, -1, -2), inv_chol)


def _cholesky_pivots(m: Array) -> Array:
    """The squared diagonal L_jj² of the Cholesky factor of one symmetric m
    (of its symmetric part): all positive exactly where m is positive definite
    (NaN or ≤ 0 from the first one that is not), and their product is det m.

    Up to ``_WRITTEN_OUT_MAX_D`` the factorization is written out entry by
    entry (the Cholesky–Banachiewicz recurrence). Vmapped over a batch, as the
    Wishart's sufficient statistic and support check are, that is one fused
    elementwise program over the batch instead of a LAPACK call per matrix:
    the Wishart(4) residual on 2^19 float32 matrices takes ~5 ms against 230.
    """
    d = m.shape[-1]
    if d > _WRITTEN_OUT_MAX_D:
        return jnp.diagonal(jnp.linalg.cholesky(m)) ** 2

    def entry(i: int, j: int) -> Array:
        return m[i, j] if i == j else 0.5 * (m[i, j] + m[j, i])

    lower: dict[tuple[int, int], Array] = {}
    pivots = []
    for j in range(d):
        pivot = entry(j, j) - sum(lower[j, k] ** 2 for k in range(j))
        pivots.append(pivot)
        inverse_root = jax.lax.rsqrt(pivot)
        for i in range(j + 1, d):
            dot = sum(lower[i, k] * lower[j, k] for k in range(j))
            lower[i, j] = (entry(i, j) - dot) * inverse_root
    return jnp.stack(pivots)


def _log_det(m: Array) -> Array:
    """log det m for one symmetric positive-definite m, by Cholesky."""
    return jnp.sum(jnp.log(_cholesky_pivots(m)))


def _digamma_gap(a: Array, d: int) -> Array:
    """f(a) = ψ_d(a) − d log a = Σ_{i<d} ψ(a − i/2) − d log a, for a > (d − 1)/2.

    Written as −Σᵢ [log − ψ](a − i/2) + Σᵢ log(1 − i/(2a)) so neither it nor its
    derivative cancels for large a. Always negative.
    """
    half_i = jnp.arange(d, dtype=a.dtype) / 2
    return jnp.sum(-log_minus_digamma(a - half_i) + jnp.log1p(-half_i / a))


def _half_df_guess(t: Array, d: int) -> Array:
    """The asymptotic solution of f(a) = t: f(a) ≈ −d(d + 1)/(4a) for large a."""
    return (d - 1) / 2 + d * (d + 1) / (4 * jnp.maximum(-t, jnp.finfo(t.dtype).tiny))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _half_df_from_digamma_gap(t: Array, d: int) -> Array:
    """The a > (d − 1)/2 with ψ_d(a) − d log a = t, for t < 0 (NaN otherwise).

    Newton's method on log(−f(a)) = log(−t) in s = log(a − (d − 1)/2), from
    :func:`_half_df_guess`; log(−f) is asymptotically linear in s both as
    a → (d − 1)/2 and as a → ∞, so a fixed ``_NEWTON_STEPS`` steps reach
    rounding level over the whole range. Differentiable by the implicit
    function theorem: da/dt = 1/f'(a).
    """
    half = (d - 1) / 2
    s = jnp.log(_half_df_guess(t, d) - half)
    target = jnp.log(-t)
    for _ in range(_NEWTON_STEPS):
        b = jnp.exp(s)
        f, slope = jax.value_and_grad(_digamma_gap)(half + b, d)
        s = s - (jnp.log(-f) - target) * f / (slope * b)
    return half + jnp.exp(s)


@_half_df_from_digamma_gap.defjvp
def _half_df_jvp(
    d: int, primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (t,), (dt,) = primals, tangents
    a = _half_df_from_digamma_gap(t, d)
    return a, dt / jax.grad(_digamma_gap)(a, d)


# --------------------------------------------------------------------------- #
# The family.
# --------------------------------------------------------------------------- #


@final
@dataclasses.dataclass(frozen=True)
class Wishart(ExponentialFamily):
    r"""The Wishart distribution W_d(n, V) on symmetric positive-definite d × d X.

    * u(X) = (log det X, X)
    * η = ((n − d − 1)/2, −½ V⁻¹), natural domain (−1, ∞) × {negative-definite
      d × d}
    * A(η) = (n/2)(d log 2 + log det V) + log Γ_d(n/2) with n/2 = η₁ + (d + 1)/2
      and V⁻¹ = −(η₂ + η₂ᵀ) (η₂ is symmetrized first, so ∇A is symmetric)
    * h(X) = 1, with respect to Lebesgue measure on the d(d + 1)/2 entries of
      the lower triangle (``free_coordinates``), as scipy's ``wishart``
    * conventional parameters: ``df`` n > d − 1, ``scale`` V (d, d)

    Mean parameters: E log det X = ψ_d(n/2) + d log 2 + log det V and
    E X = n V. The inverse map is closed form up to one scalar: with
    M = E X it solves ψ_d(a) − d log a = E log det X − log det M for a = n/2 by
    a 1-D Newton solve, then V = M / n. An observation is a symmetric
    (to 16 d ε relative) positive-definite matrix. Draws use the Bartlett
    decomposition. With n within about 1 of d − 1, a draw's smallest
    eigenvalue is often below float32's resolution of its largest: such a
    draw, exact in float64, rounds to a singular or indefinite float32 matrix
    (measured: ~1 % of float32 draws at n = d − 0.5 for d = 2, 3, 4; none at
    n = 5 for d = 3). Sample in float64 there.

    The Fisher information is over the flattened (1 + d²) entries of η, so it
    is singular along antisymmetric directions of η₂.
    """

    d: int

    param_names = ("df", "scale")

    def __post_init__(self) -> None:
        int_field(self, "d", 1, f"Wishart(d={self.d!r})")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.d, self.d)

    def sufficient_statistics(self, x: Array) -> tuple[Array, Array]:
        # The factorization reads only the symmetric part of x's entries it
        # needs; symmetrizing the whole batch first costs a transpose of it.
        x = as_float(x)
        return _log_det(x), _symmetric(x)

    def log_partition(self, eta: tuple[Array, Array]) -> Array:
        e1, e2 = eta
        half_df = e1 + (self.d + 1) / 2
        log_det_scale = -_log_det(-(e2 + e2.T))
        return half_df * (self.d * _LOG_2 + log_det_scale) + multigammaln(
            half_df, self.d
        )

    def entropy(self, eta: tuple[Array, Array]) -> Array:
        # With a = n/2 and aᵢ = a − i/2: (d + 1)/2 log det V + d(d + 1)/2 log 2
        # + d(d − 1)/4 (log π + 1) + Σᵢ G(aᵢ) + Σᵢ (d − 1 − i)/2 ψ(aᵢ), G the
        # gamma entropy's shape part. A − ⟨η, ∇A⟩ subtracted terms of size
        # n log n: float32 df = 1e8 gave −128 for 32.1.
        e1, e2 = eta
        d = self.d
        half_i = jnp.arange(d, dtype=e1.dtype) / 2
        a = e1 + (d + 1) / 2 - half_i
        log_det_scale = -_log_det(-(e2 + e2.T))
        constant = d * (d + 1) / 2 * _LOG_2 + d * (d - 1) / 4 * (math.log(math.pi) + 1)
        shape_part = jnp.sum(
            gamma_entropy_part(a) + (d - 1 - 2 * half_i) / 2 * digamma(a)
        )
        return (d + 1) / 2 * log_det_scale + constant + shape_part

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.product(
            domains.greater_than(-1.0), domains.negative_definite(self.d)
        )

    def in_support(self, x: Array) -> Array:
        x = as_float(x)
        tol = 16 * self.d * jnp.finfo(x.dtype).eps * jnp.max(jnp.abs(x))
        symmetric = jnp.all(jnp.abs(x - x.T) <= tol)
        return symmetric & jnp.all(_cholesky_pivots(x) > 0)

    def free_coordinates(self, x: Array) -> Array:
        rows, cols = np.tril_indices(self.d)
        return x[rows, cols]

    def from_free_coordinates(self, v: Array) -> Array:
        rows, cols = np.tril_indices(self.d)
        lower = jnp.zeros((self.d, self.d), v.dtype).at[rows, cols].set(v)
        return lower + jnp.tril(lower, -1).T

    def natural_parameters(self, mu: tuple[Array, Array]) -> tuple[Array, Array]:
        mean_log_det, mean = mu
        mean = _symmetric(mean)
        half_df = _half_df_from_digamma_gap(mean_log_det - _log_det(mean), self.d)
        return self._natural_from_half_df(half_df, mean)

    def natural_parameters_guess(self, mu: tuple[Array, Array]) -> tuple[Array, Array]:
        mean_log_det, mean = mu
        mean = _symmetric(mean)
        half_df = _half_df_guess(mean_log_det - _log_det(mean), self.d)
        return self._natural_from_half_df(half_df, mean)

    def _natural_from_half_df(self, half_df: Array, mean: Array) -> tuple[Array, Array]:
        # E X = n V  ⇒  −½ V⁻¹ = −(n/2) (E X)⁻¹.
        return half_df - (self.d + 1) / 2, -half_df * _spd_inverse(mean)

    def sample(
        self, key: Array, eta: tuple[Array, Array], shape: tuple[int, ...] = ()
    ) -> Array:
        # Bartlett: X = L B Bᵀ Lᵀ with V = L Lᵀ, B lower triangular,
        # B_ii² ~ χ²(n − i), B_ij ~ N(0, 1) below the diagonal. With V⁻¹ = R Rᵀ,
        # L = R⁻ᵀ.
        e1, e2 = eta
        dtype = e1.dtype
        d = self.d
        df = 2 * e1 + d + 1
        factor = _inverse_cholesky(-(e2 + e2.T)).T
        chi_key, normal_key = jax.random.split(key)
        half_dofs = (df - jnp.arange(d, dtype=dtype)) / 2
        log_g = jax.random.loggamma(chi_key, half_dofs, (*shape, d), dtype)
        diagonal = jnp.exp(0.5 * (log_g + _LOG_2))
        below = jnp.tril(jax.random.normal(normal_key, (*shape, d, d), dtype), -1)
        eye = jnp.eye(d, dtype=dtype).reshape((1,) * len(shape) + (d, d))
        b = einsum("ij,...jk->...ik", factor, below + diagonal[..., None] * eye)
        return _symmetric(matmul(b, jnp.swapaxes(b, -1, -2)))

    def _conventional_problem(self, **params: Array) -> str | None:
        return asymmetry_problem("scale", params["scale"])

    def _natural_from(self, df: Array, scale: Array) -> tuple[Array, Array]:
        batch = jnp.broadcast_shapes(df.shape, scale.shape[:-2])
        df = jnp.broadcast_to(df, batch)
        scale = jnp.broadcast_to(scale, (*batch, self.d, self.d))
        return (df - self.d - 1) / 2, -0.5 * _spd_inverse(scale)

    def _params_from(self, eta: tuple[Array, Array]) -> dict[str, Array]:
        e1, e2 = eta
        scale = _spd_inverse(-(e2 + jnp.swapaxes(e2, -1, -2)))
        return {"df": 2 * e1 + self.d + 1, "scale": scale}
