"""Warm call latency: one derived quantity at one parameter, checks included.

What a researcher pays per call when exploring a family interactively (outside
``jit``, where expfam checks its arguments): expfam's checked method against
the same quantity from ``scipy.stats``, in one run, alternating the two in
blocks of calls and taking the median per-call time over blocks. Compiles
happen before timing. Prints a markdown table (microseconds per call).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

import expfam as ef


def _per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        jax.block_until_ready(fn())
    return (time.perf_counter() - start) / calls


def _alternating(ours, theirs, calls: int, blocks: int) -> tuple[float, float]:
    """Median per-call seconds of each side over ``blocks`` alternating blocks."""
    ours()
    if theirs is not None:
        theirs()
    a, b = [], []
    for _ in range(blocks):
        a.append(_per_call(ours, calls))
        b.append(_per_call(theirs, calls) if theirs is not None else np.nan)
    return statistics.median(a), statistics.median(b)


def _cases() -> list[tuple[str, str, Callable, Callable | None]]:
    gamma, normal = ef.Gamma(), ef.Normal()
    mvn, beta = ef.MultivariateNormal(3), ef.Beta()
    g = gamma.natural_from(shape=2.0, rate=3.0)
    g2 = gamma.natural_from(shape=5.0, rate=1.0)
    n = normal.natural_from(mean=1.0, variance=4.0)
    b = beta.natural_from(alpha=2.0, beta=5.0)
    cov = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.5]], np.float32)
    m = mvn.natural_from(mean=jnp.zeros(3), covariance=jnp.asarray(cov))
    x3 = jnp.asarray([0.1, -0.2, 0.3])
    one = jnp.float32(0.4)
    sg, sn, sb = stats.gamma(2.0, scale=1 / 3), stats.norm(1.0, 2.0), stats.beta(2, 5)
    sm = stats.multivariate_normal(np.zeros(3), cov)
    return [
        ("Gamma", "entropy", lambda: gamma.entropy(g), sg.entropy),
        (
            "Gamma",
            "log_prob (one x)",
            lambda: gamma.log_prob(g, one),
            lambda: sg.logpdf(0.4),
        ),
        ("Gamma", "kl_divergence", lambda: gamma.kl_divergence(g, g2), None),
        (
            "Gamma",
            "natural_from",
            lambda: gamma.natural_from(shape=2.0, rate=3.0),
            None,
        ),
        ("Normal", "entropy", lambda: normal.entropy(n), sn.entropy),
        (
            "Normal",
            "log_prob (one x)",
            lambda: normal.log_prob(n, one),
            lambda: sn.logpdf(0.4),
        ),
        ("Beta", "entropy", lambda: beta.entropy(b), sb.entropy),
        (
            "Beta",
            "log_prob (one x)",
            lambda: beta.log_prob(b, one),
            lambda: sb.logpdf(0.4),
        ),
        ("MultivariateNormal(3)", "entropy", lambda: mvn.entropy(m), sm.entropy),
        (
            "MultivariateNormal(3)",
            "log_prob (one x)",
            lambda: mvn.log_prob(m, x3),
            lambda: sm.logpdf(np.array([0.1, -0.2, 0.3])),
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few calls")
    args = parser.parse_args(argv)
    calls, blocks = (20, 3) if args.quick else (300, 9)
    print(
        f"Warm call latency (us per call, median over {blocks} alternating blocks "
        f"of {calls} calls; frozen scipy.stats distributions)\n"
    )
    print("| family | quantity | expfam | scipy.stats | expfam / scipy |")
    print("| --- | --- | ---: | ---: | ---: |")
    for family, what, ours, theirs in _cases():
        a, b = _alternating(ours, theirs, calls, blocks)
        ratio = "" if np.isnan(b) else f"{a / b:.2f}"
        scipy_us = "—" if np.isnan(b) else f"{b * 1e6:.0f}"
        print(f"| {family} | {what} | {a * 1e6:.0f} | {scipy_us} | {ratio} |")
    print(f"\njax {jax.__version__}, backend {jax.default_backend()}")


if __name__ == "__main__":
    main()
