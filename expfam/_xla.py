"""XLA compile options for the full-batch solver loops.

XLA:CPU hands some elementwise reductions to YNNPACK ("ynn fusions"). Inside
``fisher_scoring``'s loop, which alternates matrix products with sums over
the samples, those reductions ran far slower than alone: the line search's
exp-and-sum over 10^5 values took 1.5 ms there and 0.07 ms in its own
program (jaxlib 0.10.2, 2 cores). Keeping YNN and running Eigen's matrix
products on one thread did not help; turning the YNN fusions off did (a
Poisson regression on 10^5 × 10 went from ~20 to ~10 ms), so the solver
loops compile with them off. The streaming residual, where YNN's reductions
are 5× faster than XLA's own, keeps them.

The option is experimental in XLA: where this jaxlib does not know it, the
solver gets XLA's defaults rather than an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

__all__ = ["solver_jit", "supported"]

_NO_YNN_FUSIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


def supported(options: dict[str, str]) -> dict[str, str] | None:
    """``options`` if this jaxlib compiles with them, else None."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=options).lower(
            np.float32(0)
        ).compile()
    except Exception:  # an unknown option: XLA's error type varies by version
        return None
    return dict(options)


@functools.cache
def _solver_options() -> dict[str, str] | None:
    # Probed once, at the first solve: importing expfam starts no backend.
    return supported(_NO_YNN_FUSIONS)


def solver_jit(fun: Callable, **jit_kwargs: Any) -> Callable:
    """``jax.jit(fun, **jit_kwargs)`` compiled with the solver options."""
    jitted = None

    @functools.wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal jitted
        if jitted is None:
            jitted = jax.jit(fun, compiler_options=_solver_options(), **jit_kwargs)
        return jitted(*args, **kwargs)

    return call
