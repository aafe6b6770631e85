"""XLA compile options for the full-batch solver loops.

XLA:CPU hands some elementwise reductions to YNNPACK ("ynn fusions"), whose
threads run beside the Eigen pool of the matrix products. In a loop that
alternates the two over the same data (a Newton step: a weighted Gram product,
then a line search summing A(η) over the samples) the reduction then waits on
threads still spinning from the product: a 10^5-element exp-and-sum measured
1.5 ms inside ``fisher_scoring``'s loop against 0.07 ms alone. Those loops
compile with YNN fusions off; the streaming residual, where YNN is fast, keeps
them.

The option is experimental in XLA: where this jaxlib does not know it, the
options are None (XLA's defaults) rather than an error.
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
