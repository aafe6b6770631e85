"""Shared test set-up: dtype fixture, strict rank promotion, the family registry."""

from __future__ import annotations

import os

# The suite is dominated by XLA compilation of many small programs: skip LLVM's
# optimization passes (about a third less wall time; the numerics are the same
# IEEE operations). Must be set before JAX initializes its backend.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
).strip()

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
    provider = getattr(config, "cache", None)
    cache = provider.mkdir("jax-compilation-cache") if provider else None
    if cache is not None:
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
