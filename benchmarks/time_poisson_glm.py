"""Prints one number: the best time (ms) of ``fisher_scoring`` on a Poisson
regression, after compilation. The timing script for ``benchmarks/ab.py``.

    python benchmarks/time_poisson_glm.py [--n 100000] [--p 10] [--repeats 15]
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import expfam as ef  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--p", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=15)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(options.n, options.p)) / np.sqrt(options.p)
    y = rng.poisson(np.exp(0.3 + x @ (0.5 * rng.normal(size=options.p))))
    data = (jnp.asarray(x), jnp.asarray(y, jnp.float64))
    model = ef.GLM(ef.Poisson(), options.p)

    def solve():
        return jax.block_until_ready(ef.fisher_scoring(model, data).params)

    solve()  # compile
    best = np.inf
    for _ in range(options.repeats):
        start = time.perf_counter()
        solve()
        best = min(best, time.perf_counter() - start)
    shape = f"{options.n} x {options.p}"
    print(f"fisher_scoring, Poisson {shape}, best ms: {best * 1e3:.3f}")


if __name__ == "__main__":
    main()
