"""Prints one number: the median time (ms) of ``mle`` on a numpy float64
batch, after compilation. A timing script for ``benchmarks/ab.py``.

    python benchmarks/time_mle.py [--family gamma|mvn] [--n 1000000] [--repeats 41]

``gamma`` is ``Gamma().mle`` on n draws, ``mvn`` ``MultivariateNormal(10).mle``
on n × 10: the two ``mle`` targets of ``bench_fit.py``, handed a numpy array
as a user would.
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import expfam as ef  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", choices=("gamma", "mvn"), default="gamma")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=41)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    if options.family == "gamma":
        family, xs = ef.Gamma(), rng.gamma(2.5, 2.0, options.n)
    else:
        family, xs = ef.MultivariateNormal(10), rng.normal(size=(options.n, 10))
    jax.block_until_ready(family.mle(xs))  # compile
    times = []
    for _ in range(options.repeats):
        start = time.perf_counter()
        jax.block_until_ready(family.mle(xs))
        times.append(time.perf_counter() - start)
    print(
        f"{options.family} mle, n = {options.n}, median ms: "
        f"{np.median(times) * 1e3:.3f}"
    )


if __name__ == "__main__":
    main()
