"""The gamma family and its relatives on the positive half-line."""

from __future__ import annotations

import dataclasses
import math
from typing import final

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, gammaln, polygamma

from expfam import _domains as domains
from expfam._families._common import as_float
from expfam._family import ExponentialFamily

Array = jax.Array

__all__ = ["Gamma", "gamma_shape_from_log_gap"]


def _log_minus_digamma(k: Array) -> Array:
    """log k − ψ(k), without cancellation for large k (asymptotic series)."""
    inv = 1.0 / k
    inv2 = inv * inv
    tail = 1 / 252 - inv2 * (1 / 240 - inv2 / 132)
    series = inv * (0.5 + inv * (1 / 12 - inv2 * (1 / 120 - inv2 * tail)))
    small = jnp.log(jnp.minimum(k, 10.0)) - digamma(jnp.minimum(k, 10.0))
    return jnp.where(k > 10.0, series, small)


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
        f = _log_minus_digamma(k) - s_safe
        slope = 1.0 - k * polygamma(1, k)  # d/dt of log k − ψ(k), t = log k
        t = t - f / slope
    return jnp.where(s > 0, jnp.exp(t), jnp.nan)


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
    """

    param_names = ("shape", "rate")
    support = (0.0, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)
        return jnp.stack([jnp.log(x), x])

    def log_partition(self, eta: Array) -> Array:
        shape = eta[0] + 1
        return gammaln(shape) - shape * jnp.log(-eta[1])

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.greater_than(-1.0), domains.negative())

    def in_support(self, x: Array) -> Array:
        return x > 0

    def natural_parameters(self, mu: Array) -> Array:
        mean_log, mean = mu[0], mu[1]
        shape = gamma_shape_from_log_gap(jnp.log(mean) - mean_log)
        return jnp.stack([shape - 1, -shape / mean])

    def natural_parameters_guess(self, mu: Array) -> Array:
        # Minka's approximation alone: the generic Newton solve takes it from here.
        s = jnp.log(mu[1]) - mu[0]
        shape = gamma_shape_from_log_gap(jnp.maximum(s, 1e-12), iterations=0)
        return jnp.stack([shape - 1, -shape / mu[1]])

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        g = jax.random.gamma(key, eta[0] + 1, shape, eta.dtype)
        return g / -eta[1]

    def _natural_from(self, shape: Array, rate: Array) -> Array:
        shape, rate = jnp.broadcast_arrays(shape, rate)
        return jnp.stack([shape - 1, -rate], axis=-1)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"shape": eta[..., 0] + 1, "rate": -eta[..., 1]}
