"""The minibatch rows of in-memory fits: a keyed permutation on the device."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from expfam import _shuffle
from expfam._fit import _EpochPlan


@functools.partial(jax.jit, static_argnums=(2, 3))
def _rows(keys, start, size, n):
    return _shuffle.permuted_rows(keys, start, size, n)


def _keys(seed):
    return jnp.asarray(_shuffle.epoch_keys(np.random.default_rng(seed)))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 97, 1000, 1024, 4099, 65_537])
def test_every_row_once_per_epoch(n):
    # A·B − n ranges from 0 (n = 1024) to almost B (4 099 = 65² − 126): the
    # cycle walking must keep the map a bijection either way.
    rows = np.asarray(_rows(_keys(n), jnp.int32(0), n, n))
    assert rows.dtype == np.int32
    np.testing.assert_array_equal(np.sort(rows), np.arange(n))
    # Batches are slices of the same order, from any first position.
    part = np.asarray(_rows(_keys(n), jnp.int32(n // 3), n - n // 3, n))
    np.testing.assert_array_equal(part, rows[n // 3 :])


def test_batches_are_random_rows_and_epochs_differ():
    """Over sorted data, each batch's mean row number is that of a uniform
    sample (within 5 standard errors: a per-epoch permutation that kept any
    order, such as the identity or a rotation, fails), and two epochs' orders
    are uncorrelated (|r| below 5/√n)."""
    n, b = 100_000, 500
    plan = _EpochPlan(n, b, seed=3, epoch=0, position=0, rows=True)
    se = n / np.sqrt(12 * b)
    orders = []
    for _ in range(2):
        batches = []
        for _ in range(plan.per_epoch):
            keys, first = plan.next_rows()
            batches.append(np.asarray(_rows(jnp.asarray(keys), jnp.int32(first), b, n)))
        order = np.concatenate(batches)
        np.testing.assert_array_equal(np.sort(order), np.arange(n))  # no repeats
        means = np.array([batch.mean() for batch in batches])
        assert np.all(np.abs(means - (n - 1) / 2) < 5 * se)
        orders.append(order)
    r = np.corrcoef(orders[0], orders[1])[0, 1]
    assert abs(r) < 5 / np.sqrt(n)
    assert not np.array_equal(orders[0], orders[1])
