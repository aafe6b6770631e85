"""Helpers the built-in families share."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from expfam._dtypes import as_float, stat_dtype

__all__ = ["as_float", "is_integer", "stat_dtype"]


def is_integer(x: jax.Array) -> jax.Array:
    """Whether every entry of ``x`` is a finite whole number (bools, ints or
    floats)."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_:
        return jnp.asarray(True)
    return jnp.all(jnp.isfinite(x) & (x == jnp.round(x)))
