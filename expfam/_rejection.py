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
finishes. Each column of the draws (the trailing axes) may have its own law;
slots are filled from proposals of the same column.

Draws whose laws differ one by one (the negative binomial's gamma-mixed
Poisson rates) must keep their own proposals: :func:`sample_each_by_rejection`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

__all__ = ["fill_open", "sample_by_rejection", "sample_each_by_rejection"]

# The loop stops after this many rounds even if some draws never accepted a
# proposal (they are NaN): at the samplers' acceptance rates (above 0.6) and
# refill sizes this leaves a draw unaccepted with probability below 1e-60.
_MAX_ROUNDS = 200


def sample_by_rejection(
    key: Array,
    propose: Callable[[Array, int], tuple[Array, Array]],
    size: int,
    refill: int,
) -> Array:
    """``size`` accepted draws along axis 0.

    Args:
      key: a PRNG key.
      propose: ``(key, n) ↦ (values, accept)``, n proposals along axis 0 (both
        of shape ``(n, *columns)``) and whether each is accepted. A proposal
        whose law is not defined (a NaN parameter) should be accepted with a
        NaN value, so the rounds end.
      size: the number of draws (static).
      refill: proposals per round after the first (static, clipped to
        ``size``).

    Returns:
      The accepted values, shape ``(size, *columns)``.
    """
    refill = max(1, min(refill, size))
    first_key, key = jax.random.split(key)
    values, accept = propose(first_key, size)
    kept = jnp.where(accept, values, jnp.nan)
    fill = fill_open
    for _ in range(values.ndim - 1):  # one law per column: fill column by column
        fill = jax.vmap(fill, in_axes=-1, out_axes=-1)

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
    propose: Callable[[Array], tuple[Array, Array]],
    todo: Array,
    dtype: jnp.dtype,
) -> Array:
    """Draws of ``todo``'s shape, each from its own law, keeping its own
    proposals: round i proposes with ``fold_in(key, i)`` (``propose(key) ↦
    (values, accept)``, of ``todo``'s shape) until every draw in ``todo`` has
    accepted one. Draws outside ``todo`` are 0."""

    def step(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        i, kept, done = state
        values, accept = propose(jax.random.fold_in(key, i))
        accept = accept & ~done
        return i + 1, jnp.where(accept, values, kept), done | accept

    start = (jnp.zeros((), jnp.int32), jnp.zeros(todo.shape, dtype), ~todo)
    return lax.while_loop(lambda s: ~jnp.all(s[-1]), step, start)[1]


def fill_open(
    kept: Array, done: Array, new: Array, accept: Array
) -> tuple[Array, Array]:
    """The open slots (``~done``) of ``kept``, in order, take the accepted
    entries of ``new``, in order, as far as they go (1-D arrays; ``new`` may
    be shorter than ``kept``). Returns the slots and which are now filled."""
    slot_rank = _running_count(~done) - 1
    proposal_rank = _running_count(accept) - 1
    n = new.shape[0]
    # The index of the accepted proposal of each rank (rank n: dropped).
    index = jnp.zeros(n, jnp.int32)
    index = index.at[jnp.where(accept, proposal_rank, n)].set(
        jnp.arange(n, dtype=jnp.int32), mode="drop"
    )
    take = ~done & (slot_rank < jnp.sum(accept, dtype=jnp.int32))
    source = index[jnp.clip(slot_rank, 0, n - 1)]
    return jnp.where(take, new[source], kept), done | take


def _running_count(flags: Array) -> Array:
    # An associative scan: XLA's CPU cumsum of 2^20 flags took 16 ms, this 3.
    return lax.associative_scan(jnp.add, flags.astype(jnp.int32))
