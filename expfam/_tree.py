"""Small pytree helpers shared by the engine."""

from __future__ import annotations

from typing import Any, cast

import jax
import jax.numpy as jnp

PyTree = Any

__all__ = [
    "same_shapes",
    "same_structure",
    "tree_any",
    "tree_scale",
    "tree_select",
    "tree_sub",
    "tree_vdot",
]


def tree_vdot(a: PyTree, b: PyTree) -> jax.Array:
    """⟨a, b⟩ summed over every leaf and every entry."""
    parts = jax.tree_util.tree_map(lambda x, y: jnp.sum(x * y), a, b)
    # A sum of scalar arrays (the int 0 only for trees without leaves).
    return cast(jax.Array, sum(jax.tree_util.tree_leaves(parts)))


def tree_sub(a: PyTree, b: PyTree) -> PyTree:
    """a - b, leafwise."""
    return jax.tree_util.tree_map(jnp.subtract, a, b)


def tree_scale(a: PyTree, s: jax.Array | float) -> PyTree:
    """s · a, leafwise."""
    return jax.tree_util.tree_map(lambda x: x * s, a)


def tree_any(tree: PyTree) -> jax.Array:
    """Whether any entry of any leaf (booleans) is True."""
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.any(jnp.stack([jnp.any(leaf) for leaf in leaves]))


def tree_select(pred: jax.Array, a: PyTree, b: PyTree) -> PyTree:
    """``a`` where ``pred``, else ``b``, leaf by leaf: a select, not
    arithmetic, so a rejected ``a`` full of NaN or inf leaves no trace."""
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def same_shapes(a: PyTree, b: PyTree) -> bool:
    """Whether a and b have the same pytree structure and leaf shapes (arrays
    or ``ShapeDtypeStruct``s; dtypes not compared)."""
    if not same_structure(a, b):
        return False
    pairs = zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
    return all(jnp.shape(x) == jnp.shape(y) for x, y in pairs)


def same_structure(a: PyTree, b: PyTree) -> bool:
    """Whether a and b have the same pytree structure (leaves not compared)."""
    # jaxlib ships no type information for PyTreeDef, so mypy cannot see its
    # __eq__; the comparison itself is jax's.
    structure: Any = jax.tree_util.tree_structure(a)
    return structure == jax.tree_util.tree_structure(b)
