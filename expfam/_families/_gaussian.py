"""Gaussian families: the normal and the multivariate normal."""

from __future__ import annotations

import dataclasses
import math
from typing import final

import jax
import jax.numpy as jnp

from expfam import _domains as domains
from expfam._families._common import as_float
from expfam._family import ExponentialFamily

Array = jax.Array

__all__ = ["MultivariateNormal", "Normal"]

_LOG_2PI = math.log(2 * math.pi)


@final
@dataclasses.dataclass(frozen=True)
class Normal(ExponentialFamily):
    r"""The normal distribution N(m, s²) on the real line.

    * u(x) = [x, x²]
    * η = [m / s², −1 / (2 s²)], natural domain ℝ × (−∞, 0)
    * A(η) = −η₁² / (4 η₂) − ½ log(−2 η₂) + ½ log 2π
    * h(x) = 1
    * conventional parameters: ``mean`` m, ``variance`` s²
    """

    param_names = ("mean", "variance")
    support = (-math.inf, math.inf)

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)
        return jnp.stack([x, x * x])

    def log_partition(self, eta: Array) -> Array:
        e1, e2 = eta[0], eta[1]
        return -(e1 * e1) / (4 * e2) - 0.5 * jnp.log(-2 * e2) + 0.5 * _LOG_2PI

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.stack(domains.real(), domains.negative())

    def natural_parameters(self, mu: Array) -> Array:
        variance = mu[1] - mu[0] ** 2
        return jnp.stack([mu[0] / variance, -0.5 / variance])

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        p = self._params_from(eta)
        z = jax.random.normal(key, shape, eta.dtype)
        return p["mean"] + jnp.sqrt(p["variance"]) * z

    def _natural_from(self, mean: Array, variance: Array) -> Array:
        mean, variance = jnp.broadcast_arrays(mean, variance)
        return jnp.stack([mean / variance, -0.5 / variance], axis=-1)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        variance = -0.5 / eta[..., 1]
        return {"mean": eta[..., 0] * variance, "variance": variance}


@final
@dataclasses.dataclass(frozen=True)
class MultivariateNormal(ExponentialFamily):
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

    d: int

    param_names = ("mean", "covariance")

    def __post_init__(self) -> None:
        if not (isinstance(self.d, int) and self.d >= 1):
            raise ValueError(f"MultivariateNormal(d={self.d!r}): d must be an int >= 1")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.d,)

    def sufficient_statistics(self, x: Array) -> tuple[Array, Array]:
        x = as_float(x)
        return x, jnp.outer(x, x)

    def log_partition(self, eta: tuple[Array, Array]) -> Array:
        h, lam = eta
        precision = -(lam + lam.T)
        chol = jnp.linalg.cholesky(precision)
        w = jax.scipy.linalg.solve_triangular(chol, h, lower=True)
        logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(chol)))
        return 0.5 * (w @ w) - 0.5 * logdet + 0.5 * self.d * _LOG_2PI

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
        z = jax.random.normal(key, (*shape, self.d), eta[0].dtype)
        mean = jnp.reshape(p["mean"], (1,) * len(shape) + (self.d,))
        return mean + z @ chol.T

    def _natural_from(self, mean: Array, covariance: Array) -> tuple[Array, Array]:
        chol = jnp.linalg.cholesky(covariance)
        eye = jnp.eye(self.d, dtype=covariance.dtype)
        inv_chol = jax.scipy.linalg.solve_triangular(chol, eye, lower=True)
        precision = inv_chol.T @ inv_chol
        return precision @ mean, -0.5 * precision

    def _params_from(self, eta: tuple[Array, Array]) -> dict[str, Array]:
        h, lam = eta
        precision = -(lam + jnp.swapaxes(lam, -1, -2))
        covariance = jnp.linalg.inv(precision)
        covariance = 0.5 * (covariance + jnp.swapaxes(covariance, -1, -2))
        return {"mean": covariance @ h, "covariance": covariance}
