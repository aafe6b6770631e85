"""Families of counts and labels: Poisson, Bernoulli, binomial and relatives."""

from __future__ import annotations

import dataclasses
import math
from typing import final

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlogy

from expfam import _domains as domains
from expfam._families._common import as_float, is_integer
from expfam._family import ExponentialFamily

Array = jax.Array

__all__ = ["Poisson"]

# Below this rate the entropy is an exact sum over 0.._POISSON_TERMS (the tail
# past it is below 1e-30 there); above it, the asymptotic expansion in 1/λ is
# accurate to better than 1e-12 relative.
_POISSON_SWITCH = 100.0
_POISSON_TERMS = 320


@final
@dataclasses.dataclass(frozen=True)
class Poisson(ExponentialFamily):
    r"""The Poisson distribution with rate λ on {0, 1, 2, …}.

    * u(x) = x
    * η = log λ, natural domain ℝ
    * A(η) = exp(η)
    * h(x) = 1 / x!
    * conventional parameters: ``rate`` λ

    The entropy uses the exact sum −Σ p(k) log p(k) for λ ≤ 100 and the
    asymptotic series ½ log(2πeλ) − 1/(12λ) − 1/(24λ²) − 19/(360λ³) − 1/(40λ⁴)
    beyond, so it is accurate (and free of cancellation) at every rate.
    """

    discrete = True
    param_names = ("rate",)

    def sufficient_statistics(self, x: Array) -> Array:
        return as_float(x)

    def log_partition(self, eta: Array) -> Array:
        return jnp.exp(eta)

    def log_base_measure(self, x: Array) -> Array:
        return -gammaln(as_float(x) + 1)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.real()

    def in_support(self, x: Array) -> Array:
        return is_integer(x) & (x >= 0)

    def natural_parameters(self, mu: Array) -> Array:
        return jnp.log(mu)

    def entropy(self, eta: Array) -> Array:
        rate = jnp.exp(eta)
        small = jnp.minimum(rate, _POISSON_SWITCH)
        k = jnp.arange(_POISSON_TERMS, dtype=eta.dtype)
        log_p = xlogy(k, small) - small - gammaln(k + 1)
        exact = -jnp.sum(jnp.exp(log_p) * log_p)
        big = jnp.maximum(rate, _POISSON_SWITCH)
        inv = 1.0 / big
        series = 0.5 * jnp.log(2 * math.pi * math.e * big) - inv * (
            1 / 12 + inv * (1 / 24 + inv * (19 / 360 + inv * (1 / 40)))
        )
        return jnp.where(rate <= _POISSON_SWITCH, exact, series)

    def expected_log_base_measure(self, eta: Array) -> Array:
        # H = A − η μ − E[log h]  ⇒  E[log h] = λ − λ log λ − H.
        rate = jnp.exp(eta)
        return rate - rate * eta - self.entropy(eta)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return jax.random.poisson(key, jnp.exp(eta), shape).astype(eta.dtype)

    def _natural_from(self, rate: Array) -> Array:
        return jnp.log(rate)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"rate": jnp.exp(eta)}
