"""Matrix products at the full precision of their dtype, on every backend.

XLA's default precision for a float32 matrix product depends on the backend:
exact on CPU, but on recent NVIDIA GPUs the operands are rounded to TF32 (10
mantissa bits) and on TPUs to bfloat16. A multivariate normal's covariance from
its natural parameters then comes back with relative errors near 1e-3 instead
of 1e-7. Every matrix product expfam writes goes through these two functions,
which ask XLA for ``Precision.HIGHEST``; on CPU that is what the default
already does, so it costs nothing there. A user's own predictor keeps the
precision the user chose: only expfam's products are pinned.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["FULL_PRECISION", "einsum", "matmul"]

FULL_PRECISION = lax.Precision.HIGHEST


def matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a @ b`` (NumPy's matmul semantics) at full precision."""
    return jnp.matmul(a, b, precision=FULL_PRECISION)


def einsum(subscripts: str, *operands: jax.Array) -> jax.Array:
    """``jnp.einsum`` at full precision."""
    return jnp.einsum(subscripts, *operands, precision=FULL_PRECISION)
