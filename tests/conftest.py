"""Shared test set-up: dtype fixture, strict rank promotion, the family registry."""

from __future__ import annotations

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    """Runs the test with x64 off (float32) and on (float64)."""
    with jax.enable_x64(request.param == "float64"):
        yield request.param


def pytest_configure(config):
    """Share compiled XLA programs between the test processes of one run (and
    across runs of a checkout): pytest-xdist workers otherwise compile the same
    family's functions twice. The cache lives in pytest's own cache folder."""
    cache = config.cache.mkdir("jax-compilation-cache") if config.cache else None
    if cache is not None:
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
