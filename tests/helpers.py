"""One tolerance helper and small utilities for the tests."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree


def flat(tree: Any) -> np.ndarray:
    """A pytree flattened to a float64 numpy vector."""
    return np.asarray(ravel_pytree(tree)[0], dtype=np.float64)


def tree_allclose(a: Any, b: Any, *, rtol: float, atol: float = 0.0) -> None:
    """Asserts two pytrees agree leafwise (same structure, allclose values)."""
    sa, sb = jax.tree_util.tree_structure(a), jax.tree_util.tree_structure(b)
    assert sa == sb, f"structures differ: {sa} vs {sb}"
    for x, y in zip(
        jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True
    ):
        np.testing.assert_allclose(
            np.asarray(x, np.float64), np.asarray(y, np.float64), rtol=rtol, atol=atol
        )


def natural(case: Any, params: dict, dtype: str) -> Any:
    """η for conventional ``params`` in ``dtype`` (call inside the dtype fixture)."""
    cast = {k: jnp.asarray(np.asarray(v, dtype=dtype)) for k, v in params.items()}
    return case.family.natural_from(**cast)


def leaf_dtypes(tree: Any) -> set:
    return {np.dtype(leaf.dtype) for leaf in jax.tree_util.tree_leaves(tree)}


_DRAWS: dict = {}


def small_draws(case: Any, dtype: str, n: int = 8) -> Any:
    """``n`` draws at ``case.typical`` in ``dtype``, cached per worker: the tests
    share one compiled sampler per family and dtype instead of one per shape."""
    key = (case.id, dtype, n)
    if key not in _DRAWS:
        eta = natural(case, case.typical, dtype)
        _DRAWS[key] = np.asarray(case.family.sample(jax.random.key(0), eta, (n,)))
    return jnp.asarray(_DRAWS[key])


def rayleigh_family(**overrides: Any) -> Any:
    """A Rayleigh law written with ``ef.family`` (u = x², A = −log(−2η),
    h = x): the README's user-defined family, for the extension tests.
    ``overrides`` replace or add keyword arguments of ``ef.family``."""
    import expfam as ef

    kwargs: dict[str, Any] = {
        "sufficient_statistics": lambda x: x * x,
        "log_partition": lambda eta: -jnp.log(-2 * eta),
        "log_base_measure": jnp.log,
        "natural_domain": ef.domains.negative(),
        "in_support": lambda x: x > 0,
        "name": "rayleigh",
    }
    kwargs.update(overrides)
    return ef.family(**kwargs)
