"""Categorical and small multinomial draws by inversion on integers.

Each category j gets an interval of L_j consecutive B-bit integers, with
L_j = round(p_j 2^B) (B = 64 for float64 probabilities, else 32), and a draw
is the category whose interval holds one uniform B-bit word r. The most
probable category takes what the others leave, 2^B − Σ L_j, so the lengths
sum to 2^B exactly: every category's probability is right to 2^-(B+1) (the
largest one's to k 2^-(B+1)), and no r falls outside every interval.

Against Gumbel-argmax (``jax.random.categorical``), which takes k logs of
logs per draw, this is one word and k integer comparisons. It also reaches
smaller probabilities: float32 Gumbel noise lies within about [−2.8, 16.6],
so a category below ~e^-19.4 ≈ 4e-9 of the largest is never drawn, where
here anything above 2^-33 is (2^-65 in float64).

The intervals lie in category order, the most probable one's of length 0
in place and its own mass after all the rest: the running sums
E_j = Σ_{i ≤ j} L_i are non-decreasing and below 2^B (the largest category
is not among them), the number of E_j ≤ r is the label, and k means the
most probable category.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from expfam import _random

Array = jax.Array


def interval_ends(log_probs: Array) -> tuple[Array, Array]:
    """(E, top): the running sums E_j of the interval lengths (unsigned
    B-bit words, shape (..., k)) and the index of the most probable category.

    Args:
      log_probs: (..., k) normalized log-probabilities, accurate also for the
        most probable category (its complement comes from the others).
    """
    log_probs = jnp.asarray(log_probs)
    wide = log_probs.dtype == jnp.float64
    work = jnp.float64 if wide else jnp.promote_types(log_probs.dtype, jnp.float32)
    log_probs = log_probs.astype(work)
    top = jnp.argmax(log_probs, axis=-1)
    is_top = jax.nn.one_hot(top, log_probs.shape[-1], dtype=bool)
    # p_j 2^B is exact (a power of two); every p_j but the largest is ≤ 1/2.
    scaled = jnp.exp(log_probs) * jnp.asarray(2.0 ** (64 if wide else 32), work)
    word = jnp.uint64 if wide else jnp.uint32
    lengths = jnp.where(is_top, 0, jnp.round(scaled)).astype(word)
    return jnp.cumsum(lengths, axis=-1), top


def categorical_draws(key: Array, log_probs: Array, shape: tuple[int, ...]) -> Array:
    """``shape`` int32 labels in 0..k−1 with probabilities e^{log_probs}.

    Args:
      key: a PRNG key.
      log_probs: (..., k) normalized log-probabilities (see
        :func:`interval_ends`); leading axes broadcast against the end of
        ``shape``.
      shape: the shape of the draws.
    """
    ends, top = interval_ends(log_probs)
    k = ends.shape[-1]
    r = _random.bits(key, shape, ends.dtype)
    below = jnp.sum(
        (jnp.broadcast_to(ends, (*shape, k)) <= r[..., None]).astype(jnp.int32),
        axis=-1,
    )
    return jnp.where(below == k, jnp.broadcast_to(top, shape), below)


def multinomial_by_inversion(
    key: Array, log_probs: Array, n: int, shape: tuple[int, ...]
) -> Array:
    """``(*shape, k)`` int32 counts of n categorical draws each: n words and
    n k comparisons per observation, for small n (the binomial chain's cost
    does not grow with n).

    The count below each interval's end, F_j = #{t : r_t < E_j}, gives the
    counts as its differences; the most probable category, whose interval
    in place is empty, gets n − F_{k−1}. F is summed over the n trials in a
    loop, one (*shape, k) comparison per trial: summed at once, the
    comparisons of shape (*shape, k, n) were written to memory (3.6 GB for
    2^17 draws of Multinomial(100, 64), 1.2 s; the loop: 0.7 GB, 0.26 s).
    """
    ends, top = interval_ends(log_probs)
    k = ends.shape[-1]
    r = _random.bits(key, (n, *shape), ends.dtype)  # one row of words per trial
    ends = jnp.broadcast_to(ends, (*shape, k))

    def add_trial(t: Array, below: Array) -> Array:
        return below + (r[t][..., None] < ends).astype(jnp.int32)

    below = lax.fori_loop(0, n, add_trial, jnp.zeros((*shape, k), jnp.int32))
    counts = jnp.diff(below, axis=-1, prepend=0)
    is_top = jax.nn.one_hot(jnp.broadcast_to(top, shape), k, dtype=bool)
    return jnp.where(is_top, n - below[..., -1:], counts)
