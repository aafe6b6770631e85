"""Families of symmetric positive-definite matrices: the Wishart distribution."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import final

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, multigammaln

from expfam import _domains as domains
from expfam import _random
from expfam._dtypes import observation_like
from expfam._families._common import CENTER_ROWS, as_float, asymmetry_problem
from expfam._family import ExponentialFamily
from expfam._gamma_draws import log_gamma
from expfam._linalg import einsum, matmul
from expfam._special import (
    gamma_entropy_part,
    log1p_deficit,
    log_minus_digamma,
    stirling_remainder,
)
from expfam._validation import int_field, is_concrete

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


def _shifted_cholesky(m: Array, shift: float | Array = 0.0) -> tuple[Array, Array]:
    """(p, s) for the Cholesky factorization ℓ ℓᵀ of shift·I + m (of m's
    symmetric part), one matrix: its pivots ℓ_jj² = shift + p_j and the sum
    s = Σ_{i>j} ℓ_ij² of its squared entries below the diagonal.

    With shift = 1 and a small m (a matrix near the identity, less the
    identity) the p_j are the pivots' excesses over 1 to their own relative
    accuracy, where the pivots themselves would be rounded to eps: so
    log det(I + m) = Σ log1p(p_j) keeps its digits, and tr m = Σ p_j + s
    splits into terms of one sign. All p_j > −shift exactly where
    shift·I + m is positive definite (NaN or ≤ −shift from the first one that
    is not).

    Up to ``_WRITTEN_OUT_MAX_D`` the factorization is written out entry by
    entry (the Cholesky–Banachiewicz recurrence). Vmapped over a batch, as the
    Wishart's sufficient statistic and support check are, that is one fused
    elementwise program over the batch instead of a LAPACK call per matrix:
    the Wishart(4) residual on 2^19 float32 matrices takes ~5 ms against 230.
    Above it, column by column (a rank-one update of the trailing block each).
    """
    d = m.shape[-1]

    unshifted = isinstance(shift, float) and shift == 0

    def pivot_root(p: Array) -> Array:
        return jax.lax.rsqrt(p if unshifted else shift + p)

    if d > _WRITTEN_OUT_MAX_D:
        block = _symmetric(m)
        excesses, below = [], jnp.zeros((), m.dtype)
        for _ in range(d):
            excesses.append(block[0, 0])
            column = block[1:, 0] * pivot_root(block[0, 0])
            below = below + jnp.sum(column * column)
            block = block[1:, 1:] - jnp.outer(column, column)
        return jnp.stack(excesses), below

    def entry(i: int, j: int) -> Array:
        return m[i, j] if i == j else 0.5 * (m[i, j] + m[j, i])

    lower: dict[tuple[int, int], Array] = {}
    excesses = []
    for j in range(d):
        excess = entry(j, j) - sum(lower[j, k] ** 2 for k in range(j))
        excesses.append(excess)
        inverse_root = pivot_root(excess)
        for i in range(j + 1, d):
            dot = sum(lower[i, k] * lower[j, k] for k in range(j))
            lower[i, j] = (entry(i, j) - dot) * inverse_root
    below = sum((v * v for v in lower.values()), jnp.zeros((), m.dtype))
    return jnp.stack(excesses), below


def _cholesky_pivots(m: Array) -> Array:
    """The squared diagonal L_jj² of the Cholesky factor of one symmetric m
    (of its symmetric part): all positive exactly where m is positive definite
    (NaN or ≤ 0 from the first one that is not), and their product is det m.
    Written out up to ``_WRITTEN_OUT_MAX_D`` (:func:`_shifted_cholesky`),
    LAPACK above."""
    if m.shape[-1] > _WRITTEN_OUT_MAX_D:
        return jnp.diagonal(jnp.linalg.cholesky(m)) ** 2
    return _shifted_cholesky(m)[0]


def _log_det(m: Array) -> Array:
    """log det m for one symmetric positive-definite m, by Cholesky."""
    return jnp.sum(jnp.log(_cholesky_pivots(m)))


def _log_det_shifted(m: Array, shift: Array) -> Array:
    """log det(s I + m) for one symmetric m, s = 0 or 1, with s I + m
    positive definite: for s = 1 to the relative accuracy of m (not to eps,
    as log det of I + m rounded would be), Σ log1p(p_j) over the pivot
    excesses of :func:`_shifted_cholesky`; for s = 0 ``_log_det(m)``."""
    excess = _shifted_cholesky(m, shift)[0]
    return jnp.sum(jnp.where(shift == 0, jnp.log(excess), jnp.log1p(excess)))


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


def _log_density_constant(a: Array, d: int) -> Array:
    """K(a) = d a log a − d a − (d(d + 1)/2) log 2a − log Γ_d(a), for
    a > (d − 1)/2: the part of the Wishart log density that depends on
    a = n/2 alone (:meth:`Wishart.log_prob`).

    With log Γ(x) = (x − ½) log x − x + ½ log 2π + δ(x) (Stirling's form,
    δ = :func:`stirling_remainder`) at xᵢ = a − i/2, i < d, the terms of size
    a log a cancel in closed form:

        K(a) = Σᵢ [−a log1p(−i/(2a)) + ((i + 1)/2) log xᵢ − δ(xᵢ)]
               − (d(d + 1)/2) log 2a − (d(d − 1)/4)(1 + log π) − (d/2) log 2π,

    whose terms are of the size of K itself (≈ −(d(d + 1)/4) log a).
    """
    half_i = jnp.arange(d, dtype=a.dtype) / 2
    x = a - half_i
    per_factor = -a * jnp.log1p(-half_i / a) + (half_i + 0.5) * jnp.log(x)
    constant = d * (d - 1) / 4 * (1 + math.log(math.pi)) + d / 2 * math.log(2 * math.pi)
    return (
        jnp.sum(per_factor - stirling_remainder(x))
        - d * (d + 1) / 2 * jnp.log(2 * a)
        - constant
    )


def _about(c: Array) -> tuple[Array, Array]:
    """(C, s) for a centre c of ``Wishart.mle``: (c, 1), or (I, 0) for the
    zero centre, which means no centring (mle's checked path sums about the
    centre it was given, zero or not): then Y − sI = X, the plain sums."""
    centred = jnp.any(c != 0)
    eye = jnp.eye(c.shape[-1], dtype=c.dtype)
    return jnp.where(centred, c, eye), centred.astype(c.dtype)


def _statistics_about(m: Array, shift: Array) -> tuple[Array, Array]:
    """u(s I + m) less (0, s I): (log det(s I + m), m), m = Y − s I."""
    return _log_det_shifted(m, shift), _symmetric(m)


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
    a 1-D Newton solve, then V = M / n. That gap, ≈ −d(d + 1)/(2n), is small
    against E log det X for large n, so ``mle`` averages the statistics of
    Y = L⁻¹ X L⁻ᵀ about a data matrix C = L Lᵀ near the mean where the plain
    sums would lose more than a digit of it (float32 draws of df = 1e6 gave
    df 9 % to 2.6× high; now within ~3e-5 of the float64 MLE of the same
    draws). ``log_prob`` is taken in Z = Rᵀ X R / n (V⁻¹ = R Rᵀ) with
    Stirling's form of log Γ_d, without the terms of size n log n that
    ⟨η, u⟩ − A subtracts (float32 df = 1e8: 0.004 off, not 190).

    An observation is a symmetric (to 16 d ε relative) positive-definite
    matrix. Draws use the Bartlett decomposition X = L B Bᵀ Lᵀ, whose last
    pivot B_dd² ~ χ²(n − d + 1) is below x with probability
    ≈ (x/2)^(k/2) / Γ(k/2 + 1), k = n − d + 1. For small k it is often
    below the dtype's resolution: the draw's smallest eigenvalue is below
    eps of its largest, and the stored matrix is indefinite (about 60 % of
    such float64 draws, in exact arithmetic) or too near singular for a
    Cholesky factorization in its dtype to certify; ``in_support`` is False
    for it, and its log det is not defined at this precision. Measured at
    V = I, alike for d = 2, 3, 4: k = 0.2: 12 % of float32 draws, 1.9 % of
    float64 ones; k = 0.5: 1 %, 0.01 %; k = 1: 0.02 %, none (more for an
    ill-conditioned V). Forming X from a lower-triangular factor, so that its
    Cholesky factor is the sampled one, changes none of these.

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

    def log_prob(self, eta: tuple[Array, Array], x: Array) -> Array:
        # With a = n/2, V⁻¹ = R Rᵀ and Z = Rᵀ X R / (2a) (E Z = I), the
        # density is a (log det Z − tr Z + d) − ((d + 1)/2)(log det Z
        # + log det V) + K(a) (:func:`_log_density_constant`). The generic
        # ⟨η, u⟩ − A subtracts terms of size n log n: float32 df = 1e6 was
        # 1.2 off, 1e8 190 off. Here, with the pivots qⱼ and the entries ℓᵢⱼ
        # below the diagonal of the Cholesky factor of Z,
        # log det Z − tr Z + d = −Σⱼ φ(qⱼ − 1) − Σᵢⱼ ℓᵢⱼ², φ = log1p_deficit:
        # terms of one sign, none of size n. (Z, a product, carries an error
        # of ~eps in each entry anyway: the pivots of Z − I, as mle takes,
        # would gain nothing here.) Where a pivot is off 1 by ½ or more (X
        # far out, or a near X of few df: no term is of size n), log det Z
        # is log det X − d log 2a − log det V instead: the product Z rounds
        # the small eigenvalues of a near-singular X, the pivots of X do not
        # (float32 df = 2.5, d = 3: 5e-4 off, against 2e-4).
        e1, e2 = eta
        d = self.d
        x = observation_like(x, e1.dtype)
        half_df = e1 + (d + 1) / 2
        root = jnp.linalg.cholesky(-(e2 + e2.T))
        log_det_scale = -2 * jnp.sum(jnp.log(jnp.diagonal(root)))
        z = matmul(matmul(root.T, x), root) / (2 * half_df)
        pivots, below = _shifted_cholesky(z)
        log_pivots = jnp.log(pivots)
        near = jnp.all(jnp.abs(pivots - 1) < 0.5)
        log_det_z = jnp.where(
            near,
            jnp.sum(log_pivots),
            _log_det(x) - d * jnp.log(2 * half_df) - log_det_scale,
        )
        # tr Z − d − log det Z ≥ 0
        gap = jnp.where(
            near,
            jnp.sum(log1p_deficit(pivots - 1, log_pivots)) + below,
            jnp.trace(z) - d - log_det_z,
        )
        return (
            -half_df * gap
            - (d + 1) / 2 * (log_det_z + log_det_scale)
            + _log_density_constant(half_df, d)
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

    # ---- mle about a centre of the data ---------------------------------- #
    # The inverse map's gap t = E log det X − log det E X ≈ −d(d + 1)/(2n) is
    # a difference of terms of size |E log det X| + d (each of the d pivots
    # of E X rounds to eps): float32 draws of df = 1e6 (t ≈ −6e-6 against
    # ~40) gave df 9 % to 2.6× high. mle then averages the statistics of
    # Y = L⁻¹ X L⁻ᵀ instead, with L Lᵀ = C a data matrix near the batch's
    # mean, as Y − I = L⁻¹ (X − C) L⁻ᵀ (X − C exact where X is near C), so
    # both E log det Y and E Y − I are small and keep their digits, and
    # log det(I + E Y − I) is taken from the pivots' excesses over 1 with
    # log1p. Each step, on 2·10⁴ float32 draws of d = 3, worst of 4 keys
    # (df = 1e4 / 1e6 / 1e8): plain sums 5e-3 / 2.6× / no estimate; the sums
    # of u(Y) 4e-4 / 3e-2 / none; of Y − I, log det(I + ·) rounded 1e-4 /
    # 1e-2 / 1.1×; with the excesses 3e-6 / 2e-5 / 2e-4 (~0.2 eps √n: E Y − I
    # is of the size of one draw's deviation from the mean, and rounds to eps
    # of it). A row of Y with an eigenvalue below eps (an outlier by a factor
    # 10⁷ against the head of a concentrated batch) would round to a
    # singular I + (Y − I): its log det is lost, and mle reports non-finite
    # statistics.

    def _mle_center(self, xs: Array) -> Array:
        """C, the first rows' matrix nearest their mean, where their gap t
        is below 1/16 of |E log det X| + d (the plain sums would lose more
        than a digit of it), else zeros (the plain sums, one program: the
        centred ones cost a second). NaN (data outside the support) gives
        zeros too, and the plain path's checks name the problem. A data
        matrix, so identical observations centre to exact zeros, and mle
        raises as the MLE does not exist."""
        head = as_float(jnp.asarray(xs)[:CENTER_ROWS])
        mean = _symmetric(jnp.mean(head, axis=0))
        mean_log_det = jnp.mean(jax.vmap(_log_det)(head))
        gap = mean_log_det - _log_det(mean)
        nearest = jnp.argmin(jnp.sum((head - mean[None]) ** 2, axis=(1, 2)))
        center = _symmetric(head[nearest])
        concentrated = 16 * jnp.abs(gap) < jnp.abs(mean_log_det) + self.d
        return jnp.where(concentrated, center, jnp.zeros_like(center))

    def _centered_batch(self, xs: Array, c: Array) -> tuple[Array, Callable]:
        center, shift = _about(c)
        inverse_root = _inverse_cholesky(center)  # L⁻¹
        moved = as_float(xs) - (shift * center)[None]
        excess = einsum("ij,njk,lk->nil", inverse_root, moved, inverse_root)
        return excess, functools.partial(_statistics_about, shift=shift)

    def _natural_from_centered(
        self, mu_c: tuple[Array, Array], c: Array
    ) -> tuple[Array, Array]:
        # μ_c = (E log det Y, E Y − I): log det X = log det Y + log det C and
        # E X = C + L (E Y − I) Lᵀ, so t = E log det Y − log det E Y.
        center, shift = _about(c)
        mean_log_det, mean_excess = mu_c
        mean_excess = _symmetric(mean_excess)
        gap = mean_log_det - _log_det_shifted(mean_excess, shift)
        half_df = _half_df_from_digamma_gap(gap, self.d)
        root = jnp.linalg.cholesky(center)
        moved_back = _symmetric(matmul(matmul(root, mean_excess), root.T))
        mean = shift * center + moved_back
        eta = self._natural_from_half_df(half_df, mean)
        if is_concrete(eta):  # t ≥ 0: ū on the mean domain's boundary, or out
            self._check_result("natural", "natural_parameters", {"mu": mu_c}, eta)
        return eta

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
        log_g = log_gamma(chi_key, half_dofs, (*shape, d), dtype)
        diagonal = jnp.exp(0.5 * (log_g + _LOG_2))
        below = jnp.tril(_random.normal(normal_key, (*shape, d, d), dtype), -1)
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
