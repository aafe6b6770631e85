"""``jax.random`` draws of any shape, generated flat.

jax's threefry draws of a shape are its flat draws reshaped (the same
values), but XLA's CPU code for a shape with a short trailing axis is slower:
2^17 × 10 uniforms took 2.1× as long as 1 310 720 reshaped, normals 1.2×,
2^14 × 10 × 10 uniforms 3× (medians of 21 alternating pairs, jaxlib 0.10.2).
The samplers draw through these wrappers, which keep jax's values for a key.
They do not cure everything: XLA moves the reshape ahead of the elementwise
work, and jax's normals of shape (n, 10) stay ~4x slower than flat ones
(``erf_inv`` on such a shape: 12x). Samplers with an event axis therefore
keep their draws on the last axis (the multivariate normal's z is (d, n)).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array


def _flat(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (math.prod(shape),)


def normal(key: Array, shape: tuple[int, ...], dtype: jnp.dtype) -> Array:
    """``jax.random.normal(key, shape, dtype)``."""
    return jax.random.normal(key, _flat(shape), dtype).reshape(shape)


def uniform(
    key: Array,
    shape: tuple[int, ...],
    dtype: jnp.dtype,
    minval: Any = 0.0,
    maxval: Any = 1.0,
) -> Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)`` for scalar
    bounds."""
    flat = jax.random.uniform(key, _flat(shape), dtype, minval, maxval)
    return flat.reshape(shape)


def bits(key: Array, shape: tuple[int, ...], dtype: jnp.dtype) -> Array:
    """``jax.random.bits(key, shape, dtype)``."""
    return jax.random.bits(key, _flat(shape), dtype).reshape(shape)
