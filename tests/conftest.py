"""Shared test set-up: dtype fixture, strict rank promotion, the family registry."""

from __future__ import annotations

import os

# The suite is dominated by XLA compilation of many small programs: skip LLVM's
# optimization passes (about a third less wall time; the numerics are the same
# IEEE operations), and emit fusions with XLA's elemental emitter rather than
# its newer MLIR fusion emitters (the conformance kits of Beta, Dirichlet(5),
# Wishart(3) and Gamma: 39 s against 55 s). And compile each program's LLVM
# module as one object, not split for parallel code generation: the pieces
# are each mapped into memory on their own (eight families' kits held 2700
# mappings split, 1070 not), which made each worker reach the limit below
# and clear its caches (12 s, then recompiles); the suite took 7:10 against
# 8:11. All are jaxlib's own code paths; the benchmarks and examples run
# with the defaults. Must be set before JAX initializes its backend.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
    + " --xla_cpu_parallel_codegen_split_count=1"
).strip()

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")

# Each compiled XLA program holds memory mappings while it is cached, and
# Linux refuses a process more than vm.max_map_count (65530) of them: a worker
# running ~85 % of the suite reached 63k, and XLA segfaulted compiling or loading
# the next program (then xdist hung). So the compiled programs are released
# (jax.clear_caches) whenever a test leaves the process past 3/4 of that limit.
# (No persistent compilation cache either: shared by the two workers, writing
# its entries cost more than sharing them saved, 8:45 against 7:39 in CI.)
_MAPS = "/proc/self/maps"


def _max_maps() -> int:
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0  # not Linux: nothing to watch


_MAPS_LIMIT = _max_maps() * 3 // 4


def pytest_runtest_teardown(item, nextitem):
    if _MAPS_LIMIT:
        with open(_MAPS, "rb") as f:
            if f.read().count(b"\n") > _MAPS_LIMIT:
                jax.clear_caches()


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    """Runs the test with x64 off (float32) and on (float64)."""
    with jax.enable_x64(request.param == "float64"):
        yield request.param
