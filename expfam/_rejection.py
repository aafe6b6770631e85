"""Rejection sampling in rounds, for many draws from one law at a time.

A rejection sampler proposes a value and accepts it with some probability.
Vectorized, every draw of a batch proposes at once, and the batch repeats
rounds until every draw has accepted one. If each draw may only keep its own
proposals, the last of 2^20 draws waits ~12 rounds at an acceptance rate of
2/3, and every round costs as much as the first.

Draws from one law need not keep their own proposals: any accepted proposal
may fill any slot still open. After a first round that keeps each accepted
proposal in place, each further round proposes a smaller batch (``refill``)
and its accepted proposals fill the open slots in order (:func:`fill_open`):
with ``refill`` sized to the expected rejections, one more round usually
finishes. Each row of the draws (the leading axes; the draws run along the
last) may have its own law; slots are filled from proposals of the same row.

Draws whose laws differ one by one (the negative binomial's gamma-mixed
Poisson rates) must keep their own proposals: :func:`sample_each_by_rejection`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array
PyTree = Any

__all__ = ["fill_open", "sample_by_rejection", "sample_each_by_rejection"]

# The loop stops after this many rounds even if some draws never accepted a
# proposal (they are NaN): at the samplers' acceptance rates (above 0.6) and
# refill sizes this leaves a draw unaccepted with probability below 1e-60.
_MAX_ROUNDS = 200

# Batches of fewer draws than this propose for every slot in every round.
_GATHER_MIN = 512


def sample_by_rejection(
    key: Array,
    propose: Callable[[Array, int], tuple[Array, Array]],
    size: int,
    refill: int,
) -> Array:
    """``size`` accepted draws along the last axis.

    Args:
      key: a PRNG key.
      propose: ``(key, n) ↦ (values, accept)``, n proposals along the last
        axis (both of shape ``(*rows, n)``) and whether each is accepted. A
        proposal whose law is not defined (a NaN parameter) should be
        accepted with a NaN value, so the rounds end.
      size: the number of draws (static).
      refill: proposals per round after the first (static, clipped to
        ``size``).

    Returns:
      The accepted values, shape ``(*rows, size)``.
    """
    refill = max(1, min(refill, size))
    first_key, key = jax.random.split(key)
    values, accept = propose(first_key, size)
    kept = jnp.where(accept, values, jnp.nan)
    fill = fill_open
    for _ in range(values.ndim - 1):  # one law per row: fill row by row
        fill = jax.vmap(fill)

    def cond(state: tuple[Array, Array, Array, Array]) -> Array:
        _, _, done, rounds = state
        return ~jnp.all(done) & (rounds < _MAX_ROUNDS)

    def body(
        state: tuple[Array, Array, Array, Array],
    ) -> tuple[Array, Array, Array, Array]:
        key, kept, done, rounds = state
        key, sub = jax.random.split(key)
        kept, done = fill(kept, done, *propose(sub, refill))
        return key, kept, done, rounds + 1

    if size == 0:
        return kept
    return lax.while_loop(cond, body, (key, kept, accept, jnp.asarray(1)))[1]


def sample_each_by_rejection(
    key: Array,
    propose: Callable[[Array, PyTree], tuple[Array, Array]],
    law: PyTree,
    todo: Array,
    dtype: jnp.dtype,
) -> Array:
    """Draws of ``todo``'s shape, each from its own law; 0 outside ``todo``.

    Args:
      key: a PRNG key.
      propose: ``(key, law) ↦ (values, accept)``, one proposal per entry of
        the law's arrays (of any one shape) and whether each is accepted.
      law: a pytree of arrays that broadcast to ``todo``'s shape: each draw's
        parameters.
      todo: which draws to make.
      dtype: the draws' dtype.

    A draw keeps its own proposals, but the rounds need not propose for every
    slot: while more than an eighth of the slots are open, a round proposes
    for all of them in place; after that, for the open ones only, gathered
    with their laws into the smaller of ``size // 8 + 1`` and
    ``size // 64 + 1`` proposals that holds them. A negative binomial's
    Poisson draws, where one rate in 300 needs rejection, no longer pay ~12
    rounds over the whole batch.
    Round i proposes with ``fold_in(key, i)``; a draw never accepted after
    ``_MAX_ROUNDS`` rounds is NaN.
    """
    shape, size = todo.shape, todo.size
    flat = jax.tree_util.tree_map(lambda p: jnp.broadcast_to(p, shape).reshape(-1), law)
    open_ = todo.reshape(-1)
    kept = jnp.full(size, jnp.nan if jnp.issubdtype(dtype, jnp.inexact) else 0, dtype)
    capacities = [size // 64 + 1, size // 8 + 1] if size >= _GATHER_MIN else []

    def in_place(i: Array, kept: Array, open_: Array) -> tuple[Array, Array]:
        values, accept = propose(jax.random.fold_in(key, i), flat)
        accept = accept & open_
        return jnp.where(accept, values.astype(dtype), kept), open_ & ~accept

    def gathered(m: int) -> Callable[[Array, Array, Array], tuple[Array, Array]]:
        def round_(i: Array, kept: Array, open_: Array) -> tuple[Array, Array]:
            index = _first_positions(open_, m)
            sub_law = jax.tree_util.tree_map(lambda p: p[index], flat)
            values, accept = propose(jax.random.fold_in(key, i), sub_law)
            accept = accept & (jnp.arange(m) < jnp.sum(open_, dtype=jnp.int32))
            target = jnp.where(accept, index, size)  # size: dropped
            kept = kept.at[target].set(values.astype(dtype), mode="drop")
            return kept, open_.at[target].set(False, mode="drop")

        return round_

    branches = [gathered(m) for m in capacities] + [in_place]

    def body(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        i, kept, open_ = state
        count = jnp.sum(open_, dtype=jnp.int32)
        which = sum((count > m).astype(jnp.int32) for m in capacities)
        kept, open_ = lax.switch(which, branches, i, kept, open_)
        return i + 1, kept, open_

    def cond(state: tuple[Array, Array, Array]) -> Array:
        i, _, open_ = state
        return jnp.any(open_) & (i < _MAX_ROUNDS)

    start = (jnp.zeros((), jnp.int32), kept, open_)
    kept, open_ = lax.while_loop(cond, body, start)[1:]
    return jnp.where(todo.reshape(-1), kept, jnp.zeros((), dtype)).reshape(shape)


def fill_open(
    kept: Array, done: Array, new: Array, accept: Array
) -> tuple[Array, Array]:
    """The open slots (``~done``) of ``kept``, in order, take the accepted
    entries of ``new``, in order, as far as they go (1-D arrays; ``new`` may
    be shorter than ``kept``). Returns the slots and which are now filled."""
    slot_rank = _running_count(~done) - 1
    n = new.shape[0]
    index = _first_positions(accept, n)  # the accepted proposal of each rank
    take = ~done & (slot_rank < jnp.sum(accept, dtype=jnp.int32))
    source = index[jnp.clip(slot_rank, 0, n - 1)]
    return jnp.where(take, new[source], kept), done | take


def _first_positions(flags: Array, m: int) -> Array:
    """The positions of the first m True entries of the 1-D ``flags``, in
    order (0 past the last one)."""
    rank = _running_count(flags) - 1
    return (
        jnp.zeros(m, jnp.int32)
        .at[jnp.where(flags, rank, m)]  # rank m and beyond: dropped
        .set(jnp.arange(flags.shape[0], dtype=jnp.int32), mode="drop")
    )


def _running_count(flags: Array) -> Array:
    # An associative scan: XLA's CPU cumsum of 2^20 flags took 16 ms, this 3.
    return lax.associative_scan(jnp.add, flags.astype(jnp.int32))
