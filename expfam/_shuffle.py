"""Minibatch rows of a random permutation, computed on the device.

Epoch e of a minibatch fit visits the n rows of in-memory data in the order
π_e(0), π_e(1), …, where π_e is a keyed permutation of {0, …, n − 1}: a
Feistel network on pairs (L, R) ∈ Z_A × Z_B with A B ≥ n (A, B ≈ √n), its
rounds adding a hash of one half to the other (mod A or mod B), then cycle
walking (a row number ≥ n is permuted again until it is below n; with
A B − n < B that takes a second round for about one position in √n).

The rows of a batch come from its positions alone, so a step needs only the
epoch's round keys and its first position. Before, numpy drew a permutation
per epoch on the host (15–39 ns per row) and each chunk of steps carried its
row numbers to the device: a Normal fit on 10^6 float32 rows, 1 000 adam
steps, took 1.84 s with batches of 65 536 and 0.164 s with batches of 4 096;
with the rows computed in the step, 0.26 s and 0.069 s (2 CPU cores).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = ["ROUNDS", "epoch_keys", "permuted_rows"]

# Feistel rounds: four make a pseudo-random permutation from random round
# functions (Luby and Rackoff); six leave a margin for a plain hash.
ROUNDS = 6


def epoch_keys(rng: np.random.Generator) -> np.ndarray:
    """An epoch's round keys, drawn from its generator."""
    return rng.integers(0, 1 << 32, ROUNDS, dtype=np.uint32)


def _halves(n: int) -> tuple[int, int]:
    """(A, B): A B ≥ n with B = ⌈√n⌉, both below 2^16 for n < 2^31."""
    b = math.isqrt(n - 1) + 1 if n > 1 else 1
    return -(-n // b), b


def _mix(v: Array) -> Array:
    """A 32-bit integer hash (xor-shift and multiply, "lowbias32")."""
    v = v ^ (v >> 16)
    v = v * jnp.uint32(0x7FEB352D)
    v = v ^ (v >> 15)
    v = v * jnp.uint32(0x846CA68B)
    return v ^ (v >> 16)


def _below(key: Array, v: Array, m: int) -> Array:
    """A hash of v under key, in {0, …, m − 1} (m < 2^16)."""
    return ((_mix(v ^ key) >> 16) * jnp.uint32(m)) >> 16


def _rounds(keys: Array, left: Array, right: Array, a: int, b: int):
    for r in range(ROUNDS):
        if r % 2 == 0:
            left = left + _below(keys[r], right, a)
            left = jnp.where(left >= a, left - a, left)
        else:
            right = right + _below(keys[r], left, b)
            right = jnp.where(right >= b, right - b, right)
    return left, right


def permuted_rows(keys: Array, start: Array, size: int, n: int) -> Array:
    """π(start), …, π(start + size − 1) as int32, π the permutation of
    {0, …, n − 1} keyed by ``keys`` (``ROUNDS`` uint32)."""
    a, b = _halves(n)
    position = start.astype(jnp.uint32) + jnp.arange(size, dtype=jnp.uint32)
    left, right = _rounds(keys, position // b, position % b, a, b)

    def outside(state):
        left, right = state
        return jnp.any(left * b + right >= n)

    def again(state):
        left, right = state
        new_left, new_right = _rounds(keys, left, right, a, b)
        keep = left * b + right < n
        return jnp.where(keep, left, new_left), jnp.where(keep, right, new_right)

    left, right = jax.lax.while_loop(outside, again, (left, right))
    return (left * b + right).astype(jnp.int32)
