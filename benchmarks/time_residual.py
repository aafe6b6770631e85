"""Prints one number: the median time (ms) of ``jit(Normal().residual)`` on
2^25 float32 samples held on the device, after compilation. A timing script
for ``benchmarks/ab.py``.

    python benchmarks/time_residual.py [--family normal|inverse_gaussian]
        [--log2n 25] [--repeats 41]

The Normal on 2^25 samples is the residual target of ``bench_residual.py``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import expfam as ef


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--family", choices=("normal", "inverse_gaussian"), default="normal"
    )
    parser.add_argument("--log2n", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=41)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 1 << options.log2n
    if options.family == "normal":
        family, host = ef.Normal(), rng.standard_normal(n, dtype=np.float32)
    else:
        family = ef.InverseGaussian()
        host = rng.wald(1.0, 2.0, n).astype(np.float32)
    xs = jnp.asarray(host)
    eta = family.natural_parameters(family.average_sufficient_statistics(xs[:4096]))
    residual = jax.jit(family.residual)
    jax.block_until_ready(residual(eta, xs))  # compile
    times = []
    for _ in range(options.repeats):
        start = time.perf_counter()
        jax.block_until_ready(residual(eta, xs))
        times.append(time.perf_counter() - start)
    print(
        f"{options.family} residual, n = 2^{options.log2n}, median ms: "
        f"{np.median(times) * 1e3:.3f}"
    )


if __name__ == "__main__":
    main()
