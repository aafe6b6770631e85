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
