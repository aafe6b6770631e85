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

# No persistent compilation cache: shared between the xdist workers, jaxlib
# 0.10.2 segfaulted deserializing an executable the other worker had written
# (`compilation_cache.get_executable_and_time`), twice in CI, and xdist then hung.


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    """Runs the test with x64 off (float32) and on (float64)."""
    with jax.enable_x64(request.param == "float64"):
        yield request.param
