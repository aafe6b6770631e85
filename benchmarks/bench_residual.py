"""Throughput of the minibatch residual ū − ∇A(η), the hot path of every fit.

For each family, three jitted computations over the same array of samples:

* expfam: ``jax.jit(family.residual)`` (ū through u's jaxpr, ``expfam._stats``);
* naive: ``jax.jit`` of the mean of ``vmap(u)(xs)`` minus ∇A(η);
* read: the fastest plain one-pass read of the same array, the faster of numpy's
  ``x.sum()``, ``jit(jnp.sum)`` and a jitted ``x.reshape(-1, 1024).sum(0).sum()``.

They run alternately, round after round, and each ratio (read time over residual
time; 1.0 means as fast as reading the data once) is the median of the per-round
ratios, which keeps it meaningful on a shared, noisy machine. Two target rows
follow: Normal on 2^25 float32 samples against the read, and
MultivariateNormal(64) on 2^25 floats (2^19 samples) against numpy's ``X.T @ X``.

With ``--approaches`` it instead measures, on the Normal target, each way of
summing u = [x, x²] that was tried for the hot path (the design record), two of
them in child processes with their own XLA flags or device count.

    python benchmarks/bench_residual.py               # about 2 minutes on 2 cores
    python benchmarks/bench_residual.py --quick       # smaller arrays, about 1 minute
    python benchmarks/bench_residual.py --approaches  # the design record, ~2 minutes
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import expfam as ef
from expfam import _stats
from expfam._tree import tree_sub

# Constructor arguments for families that need them (small default sizes).
_ARGS: dict[str, tuple] = {
    "Binomial": (10,),
    "Categorical": (10,),
    "Dirichlet": (10,),
    "Multinomial": (10, 20),
    "MultivariateNormal": (64,),
    "NegativeBinomial": (3.0,),
    "Weibull": (1.5,),
    "Wishart": (4,),
}
# Fallback by parameter name, for families added later.
_BY_NAME = {"k": 10, "d": 4, "n": 10, "r": 3.0, "concentration": 1.5}


def _families() -> list[tuple[str, ef.ExponentialFamily | str]]:
    names = sorted(set(ef.__all__) | {n for n in dir(ef) if n[:1].isupper()})
    out = []
    for name in names:
        cls = getattr(ef, name, None)
        if not (
            inspect.isclass(cls)
            and issubclass(cls, ef.ExponentialFamily)
            and cls is not ef.ExponentialFamily
        ):
            continue
        try:
            args = _ARGS.get(name)
            if args is None:
                params = inspect.signature(cls).parameters.values()
                args = tuple(_BY_NAME[p.name] for p in params if p.default is p.empty)
            out.append((name, cls(*args)))
        except Exception as error:  # a family under construction: report it
            out.append((name, f"not instantiated ({type(error).__name__})"))
    return out


def _samples(family: ef.ExponentialFamily, floats: int) -> jax.Array:
    """About ``floats`` float32 numbers of samples: 2^16 drawn, then tiled."""
    size = max(1, int(np.prod(family.event_shape)))
    n = max(1024, floats // size)
    eta = ef.ExponentialFamily.natural_parameters_guess(family, None)
    draw = min(n, 1 << 16)
    xs = family.sample(jax.random.key(0), eta, (draw,))
    reps = -(-n // draw)
    xs = jnp.tile(xs, (reps,) + (1,) * (xs.ndim - 1))[:n]
    return jax.block_until_ready(jnp.asarray(xs, jnp.float32))


def _naive(family: ef.ExponentialFamily) -> Callable:
    def residual(eta, xs):
        u = jax.vmap(family.sufficient_statistics)(xs)
        u_bar = jax.tree_util.tree_map(lambda leaf: jnp.mean(leaf, axis=0), u)
        return tree_sub(u_bar, jax.grad(family.log_partition)(eta))

    return jax.jit(residual)


def _readers(xs: jax.Array) -> list[Callable]:
    flat = xs.reshape(-1)
    host = np.asarray(flat)
    total = jax.jit(jnp.sum)
    readers = [lambda: host.sum(), lambda: total(flat)]
    if flat.size % 1024 == 0:
        rows = jax.jit(lambda v: v.reshape(-1, 1024).sum(0).sum())
        readers.append(lambda: rows(flat))
    return readers


def _time(fn: Callable) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def _rounds(
    reference: list[Callable], timed: list[Callable], rounds: int, budget: float
) -> tuple[float, list[float], list[float]]:
    """Alternates the reference readers and the timed functions round by round.

    Returns the median reference time, and per timed function its median time
    and the median over rounds of (reference time / its time).
    """
    for fn in (*reference, *timed):  # compile and warm up
        _time(fn)
    refs, times = [], [[] for _ in timed]
    start = time.perf_counter()
    for r in range(rounds):
        refs.append(min(_time(fn) for fn in reference))
        for k, fn in enumerate(timed):
            times[k].append(_time(fn))
        if r >= 2 and time.perf_counter() - start > budget:
            break
    ratios = [
        statistics.median(a / b for a, b in zip(refs, t, strict=True)) for t in times
    ]
    return statistics.median(refs), [statistics.median(t) for t in times], ratios


def _race(
    reference: list[Callable],
    fast: Callable,
    slow: Callable,
    args: tuple,
    rounds: int,
    budget: float,
) -> tuple[float, list[float], list[float]]:
    """``_rounds`` for expfam's residual against the naive one on ``args``."""
    return _rounds(
        reference, [lambda: fast(*args), lambda: slow(*args)], rounds, budget
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small arrays")
    parser.add_argument(
        "--approaches", action="store_true", help="the design record (Normal)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, quick=args.quick)
        return
    if args.approaches:
        _approaches(quick=args.quick)
        return
    floats = 1 << (20 if args.quick else 23)
    rounds = 5 if args.quick else 7
    budget = 0.5 if args.quick else 3.0

    print(
        f"Residual throughput, float32, {jax.devices()[0].platform}, "
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}; "
        f"ratio = one-pass read time / residual time (median of {rounds} "
        "alternating rounds)\n"
    )
    print(
        "| family | samples | MB | read (ms) | expfam (ms) | naive vmap (ms) "
        "| expfam / read | naive / read | expfam speed-up |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, family in _families():
        if isinstance(family, str):
            print(f"| {name} | {family} | | | | | | | |")
            continue
        try:
            xs = _samples(family, floats)
        except Exception as error:
            print(f"| {family!r} | no sampler ({type(error).__name__}) | | | | | | | |")
            continue
        eta = ef.ExponentialFamily.natural_parameters_guess(family, None)
        ref, (t_fast, t_slow), (r_fast, r_slow) = _race(
            _readers(xs),
            jax.jit(family.residual),
            _naive(family),
            (eta, xs),
            rounds,
            budget,
        )
        print(
            f"| {family!r} | {xs.shape[0]:,} | {xs.nbytes / 2**20:.0f} | {_ms(ref)} "
            f"| {_ms(t_fast)} | {_ms(t_slow)} | {r_fast:.2f} | {r_slow:.2f} "
            f"| {t_slow / t_fast:.1f}x |"
        )
    _targets(quick=args.quick, rounds=rounds, budget=budget)


def _targets(*, quick: bool, rounds: int, budget: float) -> None:
    floats = 1 << (22 if quick else 25)
    print(f"\nTargets, {floats:,} float32 numbers ({floats * 4 / 2**20:.0f} MB)\n")
    print(
        "| case | reference | ref (ms) | expfam (ms) | naive (ms) | expfam / ref "
        "| naive / ref | target |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rng = np.random.default_rng(0)
    host = rng.standard_normal(floats, dtype=np.float32)

    normal = ef.Normal()
    xs = jnp.asarray(host)
    eta = normal.natural_from(mean=0.0, variance=1.0)
    ref, (t_fast, t_slow), (r_fast, r_slow) = _race(
        _readers(xs),
        jax.jit(normal.residual),
        _naive(normal),
        (eta, xs),
        rounds,
        budget,
    )
    print(
        f"| Normal, {floats:,} samples | fastest one-pass read | {_ms(ref)} "
        f"| {_ms(t_fast)} | {_ms(t_slow)} | {r_fast:.2f} | {r_slow:.2f} | >= 0.6 |"
    )

    mvn = ef.MultivariateNormal(64)
    host_x = host.reshape(-1, 64)
    xs = jnp.asarray(host_x)
    eta = ef.ExponentialFamily.natural_parameters_guess(mvn, None)
    ref, (t_fast, t_slow), (r_fast, r_slow) = _race(
        [lambda: host_x.T @ host_x],
        jax.jit(mvn.residual),
        _naive(mvn),
        (eta, xs),
        rounds,
        budget,
    )
    print(
        f"| MultivariateNormal(64), {xs.shape[0]:,} samples | numpy X.T @ X "
        f"| {_ms(ref)} | {_ms(t_fast)} | {_ms(t_slow)} | {r_fast:.2f} "
        f"| {r_slow:.2f} | >= 0.5 |"
    )


# --------------------------------------------------------------------------- #
# --approaches: every way of summing Normal's [x, x²] that was tried.
# --------------------------------------------------------------------------- #

_REASSOCIATE = (
    "--xla_cpu_enable_fast_math=true --xla_cpu_fast_math_honor_nans=true "
    "--xla_cpu_fast_math_honor_infs=true --xla_cpu_fast_math_honor_division=true "
    "--xla_cpu_fast_math_honor_functions=true"
)
_CHUNK = 1 << 20


def _variadic_sums(rows, axis: int):
    """Σx and Σx² of ``rows`` as one variadic reduce over ``axis``, then the
    sums of what it leaves."""
    zero = jnp.zeros((), rows.dtype)
    a, b = jax.lax.reduce(
        (rows, rows * rows),
        (zero, zero),
        lambda p, q: (p[0] + q[0], p[1] + q[1]),
        (axis,),
    )
    return a.sum(), b.sum()


def _variadic(v):
    """Σx and Σx² as one variadic reduce over rows of 4096, then the row sums."""
    return _variadic_sums(v.reshape(-1, 4096), 1)


def _variadic_blocks(v):
    """Σx and Σx² as one variadic reduce over blocks of 16 rows of 4096 (XLA
    vectorizes it across each row without reassociating), then the partial
    sums (1/16 of the data)."""
    return _variadic_sums(v.reshape(-1, 16, 4096), 1)


def _scan(v):
    """lax.scan over chunks of 2^20 samples, u evaluated and summed per chunk."""

    def body(carry, chunk):
        u = jax.vmap(ef.Normal().sufficient_statistics)(chunk)
        return carry + u.sum(0), None

    total, _ = jax.lax.scan(body, jnp.zeros(2, v.dtype), v.reshape(-1, _CHUNK))
    return total


def _scan_sums(v):
    """lax.scan over chunks of 2^20 samples, expfam's sums per chunk."""
    normal = ef.Normal()

    def body(carry, chunk):
        return carry + _stats.weighted_sums(normal, chunk, None)[0], None

    total, _ = jax.lax.scan(body, jnp.zeros(2, v.dtype), v.reshape(-1, _CHUNK))
    return total


def _fori(v):
    """fori_loop with a dynamic_slice of 2^20 samples and two sums per chunk."""

    def body(i, acc):
        chunk = jax.lax.dynamic_slice(v, (i * _CHUNK,), (_CHUNK,))
        return acc + jnp.stack([chunk.sum(), (chunk * chunk).sum()])

    return jax.lax.fori_loop(0, v.shape[0] // _CHUNK, body, jnp.zeros(2, v.dtype))


def _masked(v):
    """One reduction of a (2, n) array built with broadcast masks (YNNPACK)."""
    first = jnp.array([1.0, 0.0], v.dtype)[:, None]
    return (v[None, :] * first + (v * v)[None, :] * (1 - first)).sum(1)


def _approach_ratio(fn, xs, rounds: int, budget: float) -> float:
    fast = jax.jit(fn)
    _, _, (ratio,) = _rounds(_readers(xs), [lambda: fast(xs)], rounds, budget)
    return ratio


def _normal_data(quick: bool) -> jax.Array:
    floats = 1 << (22 if quick else 25)
    rng = np.random.default_rng(0)
    return jnp.asarray(rng.standard_normal(floats, dtype=np.float32))


def _child(name: str, *, quick: bool) -> None:
    if name == "two-devices":
        jax.config.update("jax_num_cpu_devices", 2)
    xs = _normal_data(quick)
    normal = ef.Normal()
    if name == "two-devices":
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(jax.devices()), ("batch",))
        xs = jax.device_put(xs, NamedSharding(mesh, PartitionSpec("batch")))
        fn = lambda v: _stats.weighted_sums(normal, v, None)[0]  # noqa: E731
    else:
        fn = _variadic
    print(_approach_ratio(fn, xs, 5, 3.0))


def _approaches(*, quick: bool) -> None:
    xs = _normal_data(quick)
    normal = ef.Normal()
    u = normal.sufficient_statistics
    print(
        f"Normal, {xs.shape[0]:,} float32 samples, {jax.devices()[0].platform}, "
        f"load average {os.getloadavg()[0]:.1f}: Σ [x, x²] by each approach; "
        "ratio = fastest one-pass read / its time (median of alternating rounds)\n"
    )
    print("| approach | passes over x | read / time |")
    print("| --- | --- | ---: |")
    rows = [
        (
            "expfam: sum through u's jaxpr (Σx, Σx·x as two fused reductions)",
            "2",
            lambda v: _stats.weighted_sums(normal, v, None)[0],
        ),
        ("two sibling sums written by hand", "2", lambda v: (v.sum(), (v * v).sum())),
        (
            "vmap(u), then mean over axis 0",
            "stack + reduce",
            lambda v: jax.vmap(u)(v).mean(0),
        ),
        (
            "vmap(u), then blocked sum (expfam before)",
            "stack + reduce",
            lambda v: _stats.vmapped_sums(normal, v, None)[0],
        ),
        ("variadic lax.reduce (default flags)", "1, scalar code", _variadic),
        (
            "variadic lax.reduce over blocks of 16 rows of 4096",
            "1 + partial sums",
            _variadic_blocks,
        ),
        ("lax.scan over 2^20-sample chunks, vmap(u) per chunk", "1 + cache", _scan),
        (
            "lax.scan over 2^20-sample chunks, expfam's sums per chunk",
            "1 + cache",
            _scan_sums,
        ),
        ("fori_loop + dynamic_slice, two sums per chunk", "1 + copy + cache", _fori),
        ("one (2, n) array from broadcast masks, one reduction", "1", _masked),
    ]
    for label, passes, fn in rows:
        ratio = _approach_ratio(fn, xs, 5, 3.0)
        print(f"| {label} | {passes} | {ratio:.2f} |")
    children = [
        (
            "variadic lax.reduce with XLA_FLAGS allowing reassociation",
            "1",
            "variadic",
            {"XLA_FLAGS": _REASSOCIATE},
        ),
        (
            "expfam over 2 CPU devices (jax_num_cpu_devices=2, sharded batch)",
            "2, split",
            "two-devices",
            {},
        ),
    ]
    for label, passes, name, env in children:
        command = [sys.executable, __file__, "--child", name]
        if quick:
            command.append("--quick")
        out = subprocess.run(
            command,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        ratio = float(out.stdout.strip().splitlines()[-1])
        print(f"| {label} | {passes} | {ratio:.2f} |")
    print(f"\nfast-math flags of the variadic row: `{_REASSOCIATE}`")


if __name__ == "__main__":
    main()
