"""Sampler throughput: expfam's ``sample`` against numpy's and jax.random's.

For each family, 2^20 float32 draws (2^17 vectors for the multivariate
families) from ``jax.jit(lambda key: family.sample(key, eta, shape))``, against
numpy's ``Generator`` method for the same law (float64, one core: numpy has
no float32 samplers for most laws) and, where expfam once called one, the
``jax.random`` sampler it replaced. The sides run alternately, round after
round, and the table gives medians of the per-round times and the median
per-round ratio numpy / expfam (above 1: expfam faster).

    python benchmarks/bench_samplers.py            # about 2 minutes on 2 cores
    python benchmarks/bench_samplers.py --quick    # 2^17 draws, 3 rounds
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import expfam as ef


def _unfolded(value: np.ndarray) -> jax.Array:
    """``value`` as float32 that XLA cannot constant-fold: folding
    jax.random.multinomial's reduce-window over constant probabilities takes
    10 s of compile time."""
    return jax.lax.optimization_barrier(jnp.asarray(value, jnp.float32))


def _cases(n: int, rng: np.random.Generator) -> list[tuple]:
    """(label, family, params, numpy sampler, jax.random sampler or None, rows)."""
    k = 10
    rows = max(1, n // 8)
    flat = np.full(k, 1.0 / k)
    alpha = np.linspace(0.5, 5.0, k)
    cases = [
        (
            "Normal",
            ef.Normal(),
            {"mean": 1.0, "variance": 4.0},
            lambda: rng.normal(1.0, 2.0, n),
            None,
            n,
        ),
        (
            "Gamma(2.5)",
            ef.Gamma(),
            {"shape": 2.5, "rate": 1.0},
            lambda: rng.gamma(2.5, 1.0, n),
            lambda key: jnp.exp(jax.random.loggamma(key, 2.5, (n,))),
            n,
        ),
        (
            "Gamma(0.3)",
            ef.Gamma(),
            {"shape": 0.3, "rate": 1.0},
            lambda: rng.gamma(0.3, 1.0, n),
            lambda key: jnp.exp(jax.random.loggamma(key, 0.3, (n,))),
            n,
        ),
        (
            "ChiSquared(3)",
            ef.ChiSquared(),
            {"df": 3.0},
            lambda: rng.chisquare(3.0, n),
            None,
            n,
        ),
        (
            "Beta(2, 3)",
            ef.Beta(),
            {"alpha": 2.0, "beta": 3.0},
            lambda: rng.beta(2.0, 3.0, n),
            lambda key: jax.random.beta(key, 2.0, 3.0, (n,)),
            n,
        ),
        (
            "Dirichlet(10)",
            ef.Dirichlet(k),
            {"concentration": alpha},
            lambda: rng.dirichlet(alpha, rows),
            lambda key: jax.random.dirichlet(
                key, jnp.asarray(alpha, jnp.float32), (rows,)
            ),
            rows,
        ),
        (
            "NegativeBinomial(3)",
            ef.NegativeBinomial(3.0),
            {"probs": 0.5},
            lambda: rng.negative_binomial(3.0, 0.5, n),
            None,
            n,
        ),
        (
            "VonMises(5)",
            ef.VonMises(),
            {"loc": 0.0, "concentration": 5.0},
            lambda: rng.vonmises(0.0, 5.0, n),
            None,
            n,
        ),
        (
            "Poisson(3)",
            ef.Poisson(),
            {"rate": 3.0},
            lambda: rng.poisson(3.0, n),
            None,
            n,
        ),
        (
            "Poisson(300)",
            ef.Poisson(),
            {"rate": 300.0},
            lambda: rng.poisson(300.0, n),
            None,
            n,
        ),
        (
            "Binomial(1000, 0.3)",
            ef.Binomial(1000),
            {"probs": 0.3},
            lambda: rng.binomial(1000, 0.3, n),
            None,
            n,
        ),
        (
            "Categorical(10)",
            ef.Categorical(k),
            {"probs": flat},
            lambda: rng.choice(k, n, p=flat),
            lambda key: jax.random.categorical(key, jnp.log(flat), shape=(n,)),
            n,
        ),
        (
            "Multinomial(10, 20)",
            ef.Multinomial(k, 20),
            {"probs": flat},
            lambda: rng.multinomial(20, flat, rows),
            lambda key: jax.random.multinomial(
                key, 20, jnp.broadcast_to(_unfolded(flat), (rows, k))
            ),
            rows,
        ),
        (
            "MultivariateNormal(10)",
            ef.MultivariateNormal(k),
            {"mean": np.zeros(k), "covariance": np.eye(k)},
            lambda: rng.multivariate_normal(np.zeros(k), np.eye(k), rows),
            None,
            rows,
        ),
    ]
    return cases


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def _row(case: tuple, rounds: int) -> str:
    label, family, params, numpy_draw, jax_draw, rows = case
    cast = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
    eta = family.natural_from(**cast)
    # η as an argument: closed over, XLA would fold the parameter work away.
    sample = jax.jit(lambda key, eta: family.sample(key, eta, (rows,)))
    theirs = None if jax_draw is None else jax.jit(jax_draw)
    keys = iter(jax.random.split(jax.random.key(0), 2 * rounds + 2))
    sides = {"ours": lambda: sample(next(keys), eta), "numpy": numpy_draw}
    if theirs is not None:
        sides["jax"] = lambda: theirs(next(keys))
    for fn in sides.values():  # compile, warm up
        _time(fn)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            times[name].append(_time(fn))

    def ratio(name: str) -> float:
        pairs = zip(times["ours"], times[name], strict=True)
        return statistics.median(b / a for a, b in pairs)

    ms = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    jax_time, jax_ratio = "", ""
    if "jax" in ms:
        jax_time, jax_ratio = f"{ms['jax']:.1f}", f"{ratio('jax'):.1f}"
    return (
        f"| {label} | {ms['ours']:.1f} | {ms['numpy']:.1f} | {jax_time} "
        f"| {ratio('numpy'):.2f} | {jax_ratio} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 1 << (17 if args.quick else 20)
    rounds = 3 if args.quick else 7
    rng = np.random.default_rng(0)
    print(
        f"Sampler throughput, {n:,} float32 draws (vectors: {n // 8:,}), "
        f"{jax.devices()[0].platform}, {os.cpu_count()} CPU(s), load average "
        f"{os.getloadavg()[0]:.1f}; medians of {rounds} alternating rounds\n"
    )
    print(
        "| law | expfam (ms) | numpy (ms) | jax.random (ms) "
        "| numpy / expfam | jax.random / expfam |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for case in _cases(n, rng):
        print(_row(case, rounds), flush=True)


if __name__ == "__main__":
    main()
