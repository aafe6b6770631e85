"""Small pytree helpers shared by the engine."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

PyTree = Any

__all__ = ["tree_scale", "tree_sub", "tree_vdot"]


def tree_vdot(a: PyTree, b: PyTree) -> jax.Array:
    """⟨a, b⟩ summed over every leaf and every entry."""
    parts = jax.tree_util.tree_map(lambda x, y: jnp.sum(x * y), a, b)
    return sum(jax.tree_util.tree_leaves(parts))


def tree_sub(a: PyTree, b: PyTree) -> PyTree:
    """a - b, leafwise."""
    return jax.tree_util.tree_map(jnp.subtract, a, b)


def tree_scale(a: PyTree, s: jax.Array | float) -> PyTree:
    """s · a, leafwise."""
    return jax.tree_util.tree_map(lambda x: x * s, a)
