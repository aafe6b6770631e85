"""Helpers the built-in families share."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["as_float", "is_integer", "stat_dtype"]


def stat_dtype(x: jax.Array) -> jnp.dtype:
    """The float dtype statistics of ``x`` are computed in (x's own if float)."""
    dtype = jnp.result_type(x)
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


def as_float(x: jax.Array) -> jax.Array:
    """``x`` as an array of a floating dtype (ints become the default float)."""
    x = jnp.asarray(x)
    return x.astype(stat_dtype(x))


def is_integer(x: jax.Array) -> jax.Array:
    """Whether every entry of ``x`` is a finite whole number (ints or floats)."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.integer):
        return jnp.asarray(True)
    return jnp.all(jnp.isfinite(x) & (x == jnp.round(x)))
