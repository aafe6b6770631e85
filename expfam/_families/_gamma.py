"""The gamma family and its relatives on the half-line.

Gamma, inverse gamma and chi-squared share the gamma's log-partition structure
(log Γ of a shape); exponential, Weibull and Laplace are the families whose one
statistic u(x) ≥ 0 is exponentially distributed with rate −η
(:class:`_ExponentialStatistic`); Pareto's log(x / m) is too, with η shifted.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, gammaln

from expfam import _divergence, _random
from expfam import _domains as domains
from expfam._dtypes import observation_like
from expfam._families._common import (
    CENTER_ROWS,
    as_float,
    head_center,
    within_positive,
)
from expfam._family import ExponentialFamily
from expfam._gamma_draws import log_gamma
from expfam._special import (
    EULER_GAMMA,
    gamma_entropy_part,
    inverse_digamma,
    log1p_deficit,
    log_gamma_gap,
    log_minus_digamma,
    positive_power,
    stirling_remainder,
    trigamma,
)

Array = jax.Array

__all__ = [
    "ChiSquared",
    "Exponential",
    "Gamma",
    "InverseGamma",
    "Laplace",
    "Pareto",
    "Weibull",
    "gamma_shape_from_log_gap",
]

_LOG_2 = math.log(2.0)


# --------------------------------------------------------------------------- #
# Shared numerics.
# --------------------------------------------------------------------------- #


def gamma_shape_from_log_gap(s: Array, iterations: int = 6) -> Array:
    """The gamma shape k solving log k − ψ(k) = s, for s > 0.

    Starts from Minka's closed-form approximation
    k ≈ (3 − s + √((s − 3)² + 24 s)) / (12 s), then runs Newton's method in
    log k, which converges quadratically from there (six steps reach float64
    precision over the whole range). Returns NaN for s ≤ 0 (no solution).
    """
    s_safe = jnp.where(s > 0, s, 1.0)
    k = (3 - s_safe + jnp.sqrt((s_safe - 3) ** 2 + 24 * s_safe)) / (12 * s_safe)
    t = jnp.log(k)
    for _ in range(iterations):
        k = jnp.exp(t)
        f = log_minus_digamma(k) - s_safe
        slope = 1.0 - k * trigamma(k)  # d/dt of log k − ψ(k), t = log k
        t = t - f / slope
    return jnp.where(s > 0, jnp.exp(t), jnp.nan)


@jax.custom_jvp
def _gamma_log_normalizer(shape: Array, rate: Array) -> Array:
    """log Γ(k) − k log β, the log-partition of the gamma and inverse-gamma laws.

    Its derivative in k, E[log y] = ψ(k) − log β, is taken from k = 10 as
    log(k / β) − (log k − ψ(k)): for concentrated data (large k and β) ψ(k)
    and log β are both near log k, and their difference, ≈ −1/(2k) for data
    of mean 1, cancelled to 0 in float32 at k = β = 1e6 (for −5e-7). Below 10
    ψ(k) is small and taken directly (log k − ψ(k) is a sum of ten terms
    there, a few ulps less exact).
    """
    return gammaln(shape) - shape * jnp.log(rate)


@_gamma_log_normalizer.defjvp
def _gamma_log_normalizer_jvp(
    primals: tuple[Array, Array], tangents: tuple[Array, Array]
) -> tuple[Array, Array]:
    (shape, rate), (d_shape, d_rate) = primals, tangents
    mean_log = jnp.where(
        shape < 10,
        digamma(shape) - jnp.log(rate),
        jnp.log(shape / rate) - log_minus_digamma(shape),
    )
    return (
        _gamma_log_normalizer(shape, rate),
        mean_log * d_shape - shape / rate * d_rate,
    )


def _gamma_log_density(
    shape: Array, rate: Array, scaled: Array, log_y: Array, power: int = 0
) -> Array:
    """log Gamma(y; k, β) + j log y from βy (``scaled``) and log y, by
    Stirling's form log Γ(k) = (k − ½) log k − k + ½ log 2π + δ(k)
    (:func:`stirling_remainder`). j (``power``) is a change of variable's
    log-Jacobian: 2 for the inverse gamma's x = 1/y, 0 for the gamma itself.

    With d = βy/k − 1 it is (j − 1) log y + ½ log(k/2π) − δ(k) − k φ(d),
    φ(d) = d − log1p(d) (:func:`log1p_deficit`), for |d| < 0.1, where the
    direct (k − 1) log y − βy − log Γ(k) + k log β subtracts terms of size
    k log k (float32 k = β = 1e6, half a standard deviation below the mean:
    5.625 for 5.864). Farther out, (k − 1 + j) log y + k log(β/k) − (βy − k)
    + ½ log(k/2π) − δ(k), whose terms are of the size of the result. Taking
    βy and log y rather than y serves y = 1/x without forming 1/x (which
    overflows for tiny x), and log y = ±∞ gives the limit, not inf − inf,
    also where k − 1 + j = 0."""
    d = scaled / shape - 1
    near = jnp.abs(d) < 0.1
    phi = log1p_deficit(jnp.where(near, d, 0.0))
    stirling = 0.5 * jnp.log(shape / (2 * math.pi)) - stirling_remainder(shape)
    close = (power - 1) * jnp.where(near, log_y, 0.0) - shape * phi
    exponent = shape + (power - 1)
    # exponent · log y, and its limit 0 where y = 0 or ∞ and exponent = 0; a
    # select on exponent == 0 alone zeroed ∂/∂k = log y at k = 1 itself.
    finite = jnp.isfinite(log_y)
    power_term = exponent * jnp.where(finite, log_y, 0.0)
    limit = jnp.where(exponent == 0, 0.0, exponent * log_y)
    far = jnp.where(finite, power_term, limit)
    far = far + shape * jnp.log(rate / shape) - (scaled - shape)
    return stirling + jnp.where(near, close, far)


def _gamma_kl(
    shape_p: Array, rate_p: Array, shape_q: Array, rate_q: Array
) -> tuple[Array, Array]:
    """KL(Gamma(k_p, β_p) ‖ Gamma(k_q, β_q)) and its rounding estimate.

    With s = k_q/k_p and r = β_q/β_p, the textbook
    (k_p − k_q)ψ(k_p) − log Γ(k_p) + log Γ(k_q) + k_q log(β_p/β_q)
    + k_p (r − 1) is

        k_q φ(r/s − 1) + [the rest of log Γ's Bregman divergence],

    φ(y) = y − log1p(y) ≥ 0 (:func:`log1p_deficit`), the rest from
    :func:`log_gamma_gap` (Stirling's form): no terms of the size of k log k
    cancel. (Shapes 1e6 and 1e9 with one mean: KL 496.05, where the Bregman
    form of A gave 2560 in float32.) s − 1 and r − 1 are taken from
    differences: s = 1001/1000 rounded put float32 KL 1.3e-4 off.
    """
    ds = (shape_q - shape_p) / shape_p
    dr = (rate_q - rate_p) / rate_p
    log_ratio = (jnp.log(rate_q) - jnp.log(rate_p)) - (
        jnp.log(shape_q) - jnp.log(shape_p)
    )
    mismatch = shape_q * log1p_deficit((dr - ds) / (1 + ds), log_ratio)
    rest, size = log_gamma_gap(shape_p, shape_q)
    value = mismatch + rest
    return value, 4 * jnp.finfo(value.dtype).eps * (mismatch + size)


def _gamma_from_moments(
    mean_log: Array, mean: Array, *, exact: bool = True
) -> tuple[Array, Array]:
    """Shape k and rate β of the gamma law with E[log y] and E[y] given.

    ``exact=False`` gives Minka's approximation alone (a Newton start), clamped
    so that it is finite even for moments outside the mean domain.
    """
    s = jnp.log(mean) - mean_log
    if exact:
        shape = gamma_shape_from_log_gap(s)
    else:
        shape = gamma_shape_from_log_gap(jnp.maximum(s, 1e-12), iterations=0)
    return shape, shape / mean


def _positive_draws(log_draws: Array) -> Array:
    """exp of draws made in log space, kept inside (0, ∞) (as the Beta and
    Dirichlet samplers clip; :func:`within_positive`)."""
    return within_positive(jnp.exp(log_draws))


def _exponential_draws(key: Array, rate: Array, shape: tuple[int, ...]) -> Array:
    """Strictly positive draws of Exp(rate), in the rate's dtype.

    −log U with U uniform on [tiny, 1): unlike ``jax.random.exponential`` it never
    returns 0, so powers and logs of the draws stay inside an open support.
    """
    dtype = rate.dtype
    tiny = jnp.finfo(dtype).tiny
    uniform = _random.uniform(key, shape, dtype, minval=tiny, maxval=1.0)
    return -jnp.log(uniform) / rate


def _check_real(family: str, name: str, value: Any, *, positive: bool) -> float:
    """``value`` as a float, or a ValueError that names the bad call."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (not positive or value > 0)
    if not ok:
        need = "a finite number > 0" if positive else "a finite number"
        raise ValueError(f"{family}({name}={value!r}): {name} must be {need}")
    return float(value)


# --------------------------------------------------------------------------- #
# Gamma, inverse gamma, chi-squared.
# --------------------------------------------------------------------------- #


@final
@dataclasses.dataclass(frozen=True)
class Gamma(ExponentialFamily):
    r"""The gamma distribution with shape k and rate β on (0, ∞).

    * u(x) = [log x, x]
    * η = [k − 1, −β], natural domain (−1, ∞) × (−∞, 0)
    * A(η) = log Γ(η₁ + 1) − (η₁ + 1) log(−η₂)
    * h(x) = 1
    * conventional parameters: ``shape`` k, ``rate`` β

    The inverse map μ → η solves log k − ψ(k) = log E[x] − E[log x] by Newton's
    method from Minka's approximation (:func:`gamma_shape_from_log_gap`).
    For concentrated data that gap, ≈ 1/(2k), is small against E[log x], so
    ``mle`` averages u over the data divided by a scale e^c of their own
    (a data value) where the logs' centre is far from 0 against their spread
    (float32 data of shape 1e4 gave k 3 % low).
    """

    statistics_certify_support = True  # u is ±inf or NaN outside

    param_names = ("shape", "rate")
    support = (0.0, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)
        return jnp.stack([jnp.log(x), x])

    def log_partition(self, eta: Array) -> Array:
        return _gamma_log_normalizer(eta[0] + 1, -eta[1])

    def log_prob(self, eta: Array, x: Array) -> Array:
        x = observation_like(x, eta.dtype)
        return _gamma_log_density(eta[0] + 1, -eta[1], -eta[1] * x, jnp.log(x))

    def kl_divergence(self, eta_p: Array, eta_q: Array) -> Array:
        closed = _gamma_kl(eta_p[0] + 1, -eta_p[1], eta_q[0] + 1, -eta_q[1])
        return _divergence.kl_divergence(self, eta_p, eta_q, closed)

    def entropy(self, eta: Array) -> Array:
        # k − log β + log Γ(k) + (1 − k) ψ(k), without its cancellation.
        return gamma_entropy_part(eta[0] + 1) - jnp.log(-eta[1])

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.greater_than(-1.0), domains.negative())

    def in_support(self, x: Array) -> Array:
        return (x > 0) & jnp.isfinite(x)

    def natural_parameters(self, mu: Array) -> Array:
        shape, rate = _gamma_from_moments(mu[0], mu[1])
        return jnp.stack([shape - 1, -rate])

    def _mle_center(self, xs: Array) -> Array:
        # c in log space: the data divided by e^c have E[log y] near 0.
        return head_center(jnp.log(as_float(jnp.asarray(xs)[:CENTER_ROWS])))

    def _centered_batch(self, xs: Array, c: Array) -> tuple[Array, Callable]:
        return as_float(xs) * jnp.exp(-c), self.sufficient_statistics

    def _natural_from_centered(self, mu_c: Array, c: Array) -> Array:
        eta = self.natural_parameters(mu_c)  # of y = x e^(−c): rate β e^c
        return jnp.stack([eta[0], eta[1] * jnp.exp(-c)])

    def natural_parameters_guess(self, mu: Array) -> Array:
        # Minka's approximation alone: the generic Newton solve takes it from here.
        shape, rate = _gamma_from_moments(mu[0], mu[1], exact=False)
        return jnp.stack([shape - 1, -rate])

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        log_g = log_gamma(key, eta[0] + 1, shape, eta.dtype)
        return _positive_draws(log_g - jnp.log(-eta[1]))

    def _natural_from(self, shape: Array, rate: Array) -> Array:
        shape, rate = jnp.broadcast_arrays(shape, rate)
        return jnp.stack([shape - 1, -rate], axis=-1)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"shape": eta[..., 0] + 1, "rate": -eta[..., 1]}


@final
@dataclasses.dataclass(frozen=True)
class InverseGamma(ExponentialFamily):
    r"""The inverse gamma distribution with shape α and scale β on (0, ∞).

    1 / x is gamma-distributed with shape α and rate β.

    * u(x) = [log x, 1 / x]
    * η = [−α − 1, −β], natural domain (−∞, −1) × (−∞, 0)
    * A(η) = log Γ(−η₁ − 1) − (−η₁ − 1) log(−η₂)
    * h(x) = 1
    * conventional parameters: ``shape`` α, ``scale`` β (scipy's
      ``invgamma(α, scale=β)``)

    The inverse map μ → η is the gamma's for 1 / x, whose mean parameters are
    E[log(1/x)] = −μ₁ and E[1/x] = μ₂ (:func:`gamma_shape_from_log_gap`).
    """

    statistics_certify_support = True  # u is ±inf or NaN outside

    param_names = ("shape", "scale")
    support = (0.0, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)
        return jnp.stack([jnp.log(x), 1 / x])

    def log_partition(self, eta: Array) -> Array:
        return _gamma_log_normalizer(-eta[0] - 1, -eta[1])

    def log_prob(self, eta: Array, x: Array) -> Array:
        # The gamma density of y = 1/x (shape α, rate β) times |dy/dx| = y².
        x = observation_like(x, eta.dtype)
        alpha, beta = -eta[0] - 1, -eta[1]
        return _gamma_log_density(alpha, beta, beta / x, -jnp.log(x), power=2)

    def kl_divergence(self, eta_p: Array, eta_q: Array) -> Array:
        # That of the gammas of 1/x (shape α, rate β): KL is invariant under
        # the map x ↦ 1/x.
        closed = _gamma_kl(-eta_p[0] - 1, -eta_p[1], -eta_q[0] - 1, -eta_q[1])
        return _divergence.kl_divergence(self, eta_p, eta_q, closed)

    def entropy(self, eta: Array) -> Array:
        # α + log β + log Γ(α) − (1 + α) ψ(α): the gamma's shape part, less
        # 2ψ(α) (of the size of log α, no cancellation).
        alpha = -eta[0] - 1
        return gamma_entropy_part(alpha) - 2 * digamma(alpha) + jnp.log(-eta[1])

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.less_than(-1.0), domains.negative())

    def in_support(self, x: Array) -> Array:
        return (x > 0) & jnp.isfinite(x)

    def natural_parameters(self, mu: Array) -> Array:
        shape, scale = _gamma_from_moments(-mu[0], mu[1])
        return jnp.stack([-shape - 1, -scale])

    def natural_parameters_guess(self, mu: Array) -> Array:
        shape, scale = _gamma_from_moments(-mu[0], mu[1], exact=False)
        return jnp.stack([-shape - 1, -scale])

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        log_g = log_gamma(key, -eta[0] - 1, shape, eta.dtype)
        return _positive_draws(jnp.log(-eta[1]) - log_g)

    def _natural_from(self, shape: Array, scale: Array) -> Array:
        shape, scale = jnp.broadcast_arrays(shape, scale)
        return jnp.stack([-shape - 1, -scale], axis=-1)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"shape": -eta[..., 0] - 1, "scale": -eta[..., 1]}


@final
@dataclasses.dataclass(frozen=True)
class ChiSquared(ExponentialFamily):
    r"""The chi-squared distribution with k degrees of freedom on (0, ∞).

    The gamma distribution with shape k / 2 and rate ½.

    * u(x) = log x
    * η = k / 2 − 1, natural domain (−1, ∞)
    * A(η) = log Γ(η + 1) + (η + 1) log 2
    * h(x) = exp(−x / 2), so E[log h(x)] = −k / 2
    * conventional parameters: ``df`` k (any real k > 0)

    The inverse map μ → η solves ψ(k / 2) + log 2 = μ (:func:`inverse_digamma`).
    """

    statistics_certify_support = True  # u is ±inf or NaN outside

    param_names = ("df",)
    support = (0.0, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.log(as_float(x))

    def log_partition(self, eta: Array) -> Array:
        half_df = eta + 1
        return gammaln(half_df) + half_df * _LOG_2

    def entropy(self, eta: Array) -> Array:
        # The gamma's with shape k / 2 and rate ½.
        return gamma_entropy_part(eta + 1) + _LOG_2

    def log_prob(self, eta: Array, x: Array) -> Array:
        # Gamma(k/2, ½), h(x) = e^(−x/2) included.
        x = observation_like(x, eta.dtype)
        half = jnp.asarray(0.5, eta.dtype)
        return _gamma_log_density(eta + 1, half, x / 2, jnp.log(x))

    def log_base_measure(self, x: Array) -> Array:
        return -0.5 * as_float(x)

    def expected_log_base_measure(self, eta: Array) -> Array:
        return -(eta + 1)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.greater_than(-1.0)

    def in_support(self, x: Array) -> Array:
        return (x > 0) & jnp.isfinite(x)

    def natural_parameters(self, mu: Array) -> Array:
        return inverse_digamma(mu - _LOG_2) - 1

    def natural_parameters_guess(self, mu: Array) -> Array:
        return inverse_digamma(mu - _LOG_2, iterations=0) - 1

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return _positive_draws(_LOG_2 + log_gamma(key, eta + 1, shape, eta.dtype))

    def _natural_from(self, df: Array) -> Array:
        return 0.5 * df - 1

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"df": 2 * (eta + 1)}


# --------------------------------------------------------------------------- #
# Families whose statistic is exponentially distributed.
# --------------------------------------------------------------------------- #


class _ExponentialStatistic(ExponentialFamily):
    r"""Base of the families whose one statistic u(x) ≥ 0 is Exp(−η).

    η < 0 and A(η) = c − log(−η), with the constant c (``_log_partition_offset``)
    folded out of h; so ∇A = −1/η and the inverse map is η = −1/μ in closed
    form. A subclass gives u, its support, conventional parameters and a
    sampler (usually a transform of :func:`_exponential_draws` with rate −η).
    """

    _log_partition_offset: ClassVar[float] = 0.0

    def log_partition(self, eta: Array) -> Array:
        return self._log_partition_offset - jnp.log(-eta)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.negative()

    def natural_parameters(self, mu: Array) -> Array:
        return -1 / mu


@final
@dataclasses.dataclass(frozen=True)
class Exponential(_ExponentialStatistic):
    r"""The exponential distribution with rate λ on [0, ∞).

    * u(x) = x
    * η = −λ, natural domain (−∞, 0)
    * A(η) = −log(−η)
    * h(x) = 1
    * conventional parameters: ``rate`` λ
    """

    param_names = ("rate",)
    support = (0.0, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        return as_float(x)

    def in_support(self, x: Array) -> Array:
        return (x >= 0) & jnp.isfinite(x)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return _exponential_draws(key, -eta, shape)

    def _natural_from(self, rate: Array) -> Array:
        return -rate

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"rate": -eta}


@final
@dataclasses.dataclass(frozen=True)
class Weibull(_ExponentialStatistic):
    r"""The Weibull distribution with fixed shape k and scale λ on (0, ∞).

    x^k is exponentially distributed with rate λ^(−k).

    * u(x) = x^k
    * η = −λ^(−k), natural domain (−∞, 0)
    * A(η) = −log(−η)
    * h(x) = k x^(k − 1), so E[log h(x)] = log k + (k − 1)(log λ − γ / k) with
      γ Euler's constant
    * conventional parameters: ``scale`` λ (scipy's ``weibull_min(k, scale=λ)``)

    Args:
      concentration: the shape k > 0, fixed (the family is exponential only for
        a known shape).
    """

    concentration: float

    param_names = ("scale",)
    support = (0.0, math.inf)

    def __post_init__(self) -> None:
        k = _check_real("Weibull", "concentration", self.concentration, positive=True)
        object.__setattr__(self, "concentration", k)

    def sufficient_statistics(self, x: Array) -> Array:
        return positive_power(as_float(x), self.concentration)

    def log_base_measure(self, x: Array) -> Array:
        k = self.concentration
        return math.log(k) + (k - 1) * jnp.log(as_float(x))

    def expected_log_base_measure(self, eta: Array) -> Array:
        k = self.concentration
        mean_log = -jnp.log(-eta) / k - EULER_GAMMA / k  # E[log x]
        return math.log(k) + (k - 1) * mean_log

    def in_support(self, x: Array) -> Array:
        return (x > 0) & jnp.isfinite(x)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return within_positive(
            _exponential_draws(key, -eta, shape) ** (1 / self.concentration)
        )

    def _natural_from(self, scale: Array) -> Array:
        return -(scale**-self.concentration)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"scale": (-eta) ** (-1 / self.concentration)}


@final
@dataclasses.dataclass(frozen=True)
class Laplace(_ExponentialStatistic):
    r"""The Laplace distribution with fixed location m and scale b on ℝ.

    |x − m| is exponentially distributed with rate 1 / b.

    * u(x) = |x − m|
    * η = −1 / b, natural domain (−∞, 0)
    * A(η) = log(−2 / η) = log(2b)
    * h(x) = 1
    * conventional parameters: ``scale`` b (scipy's ``laplace(m, b)``)

    Args:
      loc: the location m, fixed (the family is exponential only for a known
        location).
    """

    loc: float = 0.0

    param_names = ("scale",)
    support = (-math.inf, math.inf)
    _log_partition_offset = _LOG_2

    def __post_init__(self) -> None:
        loc = _check_real("Laplace", "loc", self.loc, positive=False)
        object.__setattr__(self, "loc", loc)

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return (self.loc,)  # the density's kink, for the kit's quadrature

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.abs(as_float(x) - self.loc)

    def in_support(self, x: Array) -> Array:
        return jnp.isfinite(x)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        key_size, key_sign = jax.random.split(key)
        sign = jax.random.rademacher(key_sign, shape, eta.dtype)
        return self.loc + sign * _exponential_draws(key_size, -eta, shape)

    def _natural_from(self, scale: Array) -> Array:
        return -1 / scale

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"scale": -1 / eta}


# --------------------------------------------------------------------------- #
# Pareto.
# --------------------------------------------------------------------------- #


@final
@dataclasses.dataclass(frozen=True)
class Pareto(ExponentialFamily):
    r"""The Pareto distribution with fixed minimum m and index α on [m, ∞).

    log(x / m) is exponentially distributed with rate α.

    * u(x) = log(x / m), taken as log1p((x − m) / m)
    * η = −α − 1, natural domain (−∞, −1)
    * A(η) = log m − log α with α = −η − 1
    * h(x) = 1
    * conventional parameters: ``alpha`` α (scipy's ``pareto(α, scale=m)``)

    The statistic is measured from the minimum: with u(x) = log x, A carried
    α log m, which cancelled in the log-density, the entropy and the MLE
    (float32, m = 10, α = 1e7: entropy −14.45 for −12.82; m = 1e4, α = 1e6:
    no MLE found), and E[u] = log m + 1/α lost 1/α against log m.

    Args:
      minimum: the scale m > 0, the lower end of the support, fixed.
    """

    minimum: float = 1.0

    param_names = ("alpha",)

    def __post_init__(self) -> None:
        m = _check_real("Pareto", "minimum", self.minimum, positive=True)
        object.__setattr__(self, "minimum", m)

    @property
    def support(self) -> tuple[float, float]:
        return (self.minimum, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)  # x − m is exact for x up to 2m
        return jnp.log1p((x - self.minimum) / self.minimum)

    def log_partition(self, eta: Array) -> Array:
        return math.log(self.minimum) - jnp.log(-eta - 1)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.less_than(-1.0)

    def in_support(self, x: Array) -> Array:
        return (x >= self.minimum) & jnp.isfinite(x)

    def natural_parameters(self, mu: Array) -> Array:
        return -1 - 1 / mu  # μ = E[log(x / m)] = 1/α

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        draws = self.minimum * jnp.exp(_exponential_draws(key, -eta - 1, shape))
        return within_positive(draws)  # above the minimum: only overflow clips

    def _natural_from(self, alpha: Array) -> Array:
        return -alpha - 1

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"alpha": -eta - 1}
