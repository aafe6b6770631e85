"""Accurate averages of sufficient statistics over a batch.

The average ū = (1/n) Σ u(x_i) is the only way the likelihood sees the data. Two
concerns live here:

* accuracy: a float32 running sum over 10^8 terms loses digits, so in-memory
  batches are summed blockwise (a tree of sums with fan-in ``_BLOCK``), and data
  too large for one device call (numpy memmaps, iterables of chunks) are summed
  chunk by chunk with the chunk totals accumulated on the host in float64;
* one compile: chunks are padded to a fixed size and masked, so a long stream of
  chunks compiles the per-chunk reduction once (or once per power of two for
  ragged iterables).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:
    from expfam._family import ExponentialFamily

PyTree = Any

_BLOCK = 256
CHUNK_ROWS = 1 << 20

__all__ = ["CHUNK_ROWS", "blocked_sum", "chunked_average", "weighted_sums"]


def blocked_sum(values: jax.Array) -> jax.Array:
    """Sums over axis 0 as a tree of partial sums with fan-in ``_BLOCK``.

    Each level sums at most ``_BLOCK`` terms, so the rounding error grows like
    log(n) rather than n. Zero padding keeps the shapes static.
    """
    while values.shape[0] > _BLOCK:
        n = values.shape[0]
        rows = math.ceil(n / _BLOCK)
        pad = rows * _BLOCK - n
        if pad:
            widths = [(0, pad)] + [(0, 0)] * (values.ndim - 1)
            values = jnp.pad(values, widths)
        values = values.reshape((rows, _BLOCK, *values.shape[1:])).sum(axis=1)
    return values.sum(axis=0)


def weighted_sums(
    family: ExponentialFamily, xs: jax.Array, weights: jax.Array | None
) -> tuple[PyTree, jax.Array]:
    """(Σ w_i u(x_i), Σ w_i) over axis 0; w = 1 when ``weights`` is None."""
    u = jax.vmap(family.sufficient_statistics)(xs)
    if weights is None:
        total = jax.tree_util.tree_map(blocked_sum, u)
        count = jnp.asarray(xs.shape[0], _leaf_dtype(u))
        return total, count

    def weigh(leaf: jax.Array) -> jax.Array:
        w = weights.reshape(weights.shape + (1,) * (leaf.ndim - 1)).astype(leaf.dtype)
        # where, not a product: a zero weight must silence an infinite statistic.
        return blocked_sum(jnp.where(w != 0, w * leaf, 0))

    return jax.tree_util.tree_map(weigh, u), blocked_sum(weights).astype(_leaf_dtype(u))


def _leaf_dtype(tree: PyTree) -> jnp.dtype:
    return jax.tree_util.tree_leaves(tree)[0].dtype


@functools.partial(jax.jit, static_argnums=0)
def _chunk_sums(
    family: ExponentialFamily, xs: jax.Array, weights: jax.Array
) -> tuple[PyTree, jax.Array]:
    return weighted_sums(family, xs, weights)


def _padded(chunk: np.ndarray, weights: np.ndarray | None, rows: int):
    n = chunk.shape[0]
    w = np.ones(n, dtype=np.float64) if weights is None else np.asarray(weights)
    if n == rows:
        return chunk, w
    # Pad by repeating the first row (a point of the support) with weight 0.
    reps = np.repeat(chunk[:1], rows - n, axis=0)
    return (
        np.concatenate([chunk, reps], axis=0),
        np.concatenate([w, np.zeros(rows - n, dtype=w.dtype)]),
    )


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def chunked_average(
    family: ExponentialFamily,
    chunks: Iterable[tuple[np.ndarray, np.ndarray | None]],
    *,
    rows: int | None = None,
    check: Any = None,
) -> PyTree:
    """Weighted average of u over a stream of (chunk, weights) pairs.

    Chunk totals come back to the host and are added in float64; the result is
    cast to the dtype the family computes in. ``rows`` fixes the padded chunk
    size (one compile); without it each chunk pads to a power of two. ``check``
    is called on every raw chunk first (the family's data validation).
    """
    total: list[np.ndarray] | None = None
    treedef = None
    count = 0.0
    dtype = None
    for index, (chunk, weights) in enumerate(chunks):
        if check is not None:
            check(chunk, weights, index)
        size = rows if rows is not None else _next_power_of_two(chunk.shape[0])
        xs, w = _padded(chunk, weights, size)
        sums, n = _chunk_sums(family, jnp.asarray(xs), jnp.asarray(w))
        leaves, treedef = jax.tree_util.tree_flatten(sums)
        dtype = leaves[0].dtype
        leaves64 = [np.asarray(leaf, dtype=np.float64) for leaf in leaves]
        total = (
            leaves64
            if total is None
            else [a + b for a, b in zip(total, leaves64, strict=False)]
        )
        count += float(n)
    if total is None:
        raise ValueError(f"{family!r}: no data (an empty iterable of chunks)")
    if count <= 0:
        raise ValueError(f"{family!r}: the weights sum to {count}, not > 0")
    mean = [jnp.asarray(t / count, dtype=dtype) for t in total]
    return jax.tree_util.tree_unflatten(treedef, mean)
