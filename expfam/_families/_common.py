"""Helpers the built-in families share."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from expfam._dtypes import as_float, stat_dtype

__all__ = ["as_float", "asymmetry_problem", "is_integer", "stat_dtype"]


def is_integer(x: jax.Array) -> jax.Array:
    """Whether every entry of ``x`` is a finite whole number (bools, ints or
    floats)."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_:
        return jnp.asarray(True)
    return jnp.all(jnp.isfinite(x) & (x == jnp.round(x)))


def asymmetry_problem(name: str, matrix: jax.Array) -> str | None:
    """Why ``matrix`` (..., d, d) is not symmetric, or None. Rounding is
    allowed: entries may differ from their transposes by √eps of the largest."""
    m = np.asarray(matrix)
    gap = float(np.max(np.abs(m - np.swapaxes(m, -1, -2)), initial=0.0))
    scale = float(np.max(np.abs(m), initial=0.0))
    if gap <= np.sqrt(np.finfo(m.dtype).eps) * scale:
        return None
    return (
        f"{name} is not symmetric (entries differ from their transposes by up "
        f"to {gap:.3g}); a symmetric matrix is required"
    )
