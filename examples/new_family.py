"""How do I add a family expfam lacks? The continuous Bernoulli, end to end.

The continuous Bernoulli on [0, 1] (Loaiza-Ganem & Cunningham, 2019) has density
p(x | η) = exp(ηx − A(η)): u(x) = x, h(x) = 1, any real η, and
A(η) = log ∫₀¹ e^{ηx} dx = log((e^η − 1)/η). The formula is 0/0 at η = 0, where
the family is the uniform distribution, and loses every digit near it in
float32, so the example writes A in a stable form: A(η) = η/2 + g(η/2) with
g(t) = log(sinh t / t), an even function taken from its Taylor series for
small t and from |t| + log1p(−e^{−2|t|}) − log 2|t| elsewhere, each branch fed
a safe input (the "double where") so that ∇A and ∇²A are finite at η = 0 too.
The family is a frozen-dataclass subclass of ``ef.ExponentialFamily`` with an
inverse-CDF sampler; the conformance kit ``expfam.testing.check_family``
checks it at several η (0 included); its density is compared with scipy's
truncated exponential (the same distribution for η < 0, mirrored for η > 0);
and it is fitted to samples by ``mle`` (moment matching, the generic Newton
inverse of ∇A) and by ``ef.fit`` with ``ef.natural_gradient``, against the truth
and against a scipy maximum-likelihood fit.

    python examples/new_family.py [--out DIR] [--n 100000] [--probs 0.1]
        [--check-etas -3,0,1e-4,1,25] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from scipy import integrate, optimize, stats

import expfam as ef
from expfam.testing import check_family

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "new_family"

# log(sinh t / t) = Σ_k 2^{2k} B_{2k} t^{2k} / (2k (2k)!): the first six terms.
# For |t| < 1/2 the first omitted term is below 1e-12 of the sum (float64-exact).
_SERIES = (1 / 6, -1 / 180, 1 / 2835, -1 / 37800, 1 / 467775, -691 / 3831077250)
_SERIES_BELOW = 0.5


def log_sinhc(t):
    """g(t) = log(sinh t / t), even, g(0) = 0, stable for every real t."""
    small = jnp.abs(t) < _SERIES_BELOW
    # Each branch gets an input where it is well defined, so that neither the
    # value nor the gradient of the branch not taken can be inf or NaN.
    t_small = jnp.where(small, t, 0.0)
    t_large = jnp.where(small, 1.0, jnp.abs(t))
    s = t_small * t_small
    series = s * (
        _SERIES[0]
        + s
        * (
            _SERIES[1]
            + s * (_SERIES[2] + s * (_SERIES[3] + s * (_SERIES[4] + s * _SERIES[5])))
        )
    )
    # log sinh a = a + log(1 − e^{−2a}) − log 2, for a = |t| ≥ 1/2: no overflow.
    closed = t_large + jnp.log1p(-jnp.exp(-2 * t_large)) - jnp.log(2 * t_large)
    return jnp.where(small, series, closed)


@dataclasses.dataclass(frozen=True)  # hashable: a static argument of jax.jit
class ContinuousBernoulli(ef.ExponentialFamily):
    """p(x | η) = exp(ηx − A(η)) on [0, 1], A(η) = log((e^η − 1)/η), η ∈ ℝ.

    Conventional parameter ``probs`` λ ∈ (0, 1): p(x) ∝ λ^x (1 − λ)^{1 − x},
    so η = log(λ / (1 − λ)) (λ = ½ is the uniform, η = 0).
    """

    support = (0.0, 1.0)  # the conformance kit integrates the density over it
    param_names = ("probs",)

    def sufficient_statistics(self, x):
        return x  # u(x) = x; h(x) = 1 (the default log_base_measure, 0)

    def log_partition(self, eta):
        # (e^η − 1)/η = e^{η/2} · sinh(η/2)/(η/2), so A(η) = η/2 + g(η/2).
        return 0.5 * eta + log_sinhc(0.5 * eta)

    @property
    def natural_domain(self):
        return ef.domains.real()

    def in_support(self, x):
        return (x >= 0) & (x <= 1)

    def sample(self, key, eta, shape=()):
        """Inverse CDF. For η < 0, F(x) = (1 − e^{ηx})/(1 − e^η), so
        x = log1p(v·expm1(η))/η for v uniform; for η > 0 draw with −η and
        mirror x → 1 − x (expm1 of a negative number never overflows)."""
        v = jax.random.uniform(key, shape, jnp.result_type(eta))
        a = jnp.abs(eta)
        safe = jnp.where(a > 0, a, 1.0)
        w = jnp.where(a > 0, jnp.log1p(v * jnp.expm1(-safe)) / -safe, v)
        return jnp.where(eta > 0, 1 - w, w)

    def natural_parameters_guess(self, mu):
        # The mean is 1/2 at η = 0, ≈ 1 − 1/η for η ≫ 1 and ≈ −1/η for η ≪ −1:
        # a starting point for the generic Newton solve of ∇A(η) = μ.
        return 1 / (1 - mu) - 1 / mu

    def _natural_from(self, probs):
        return jnp.log(probs) - jnp.log1p(-probs)

    def _params_from(self, eta):
        return {"probs": jax.nn.sigmoid(eta)}


# --------------------------------------------------------------------------- #
# References that do not use the family's formulas.
# --------------------------------------------------------------------------- #


def quadrature_reference(eta: float) -> tuple[float, float]:
    """A(η) and ∇A(η) = E[x] by float64 quadrature of ∫₀¹ e^{ηx} dx (shifted by
    max(η, 0) so that nothing overflows)."""
    shift = max(eta, 0.0)
    z, _ = integrate.quad(lambda x: np.exp(eta * x - shift), 0, 1, epsabs=0)
    m, _ = integrate.quad(lambda x: x * np.exp(eta * x - shift), 0, 1, epsabs=0)
    return shift + np.log(z), m / z


def scipy_logpdf(x: np.ndarray, eta: float) -> np.ndarray:
    """log p(x | η) from scipy: for η < 0 the continuous Bernoulli is the
    exponential with rate −η truncated to [0, 1] (``truncexpon(b=−η,
    scale=1/(−η))``); for η > 0 it is that law of 1 − x; at η = 0, uniform."""
    if eta == 0:
        return np.zeros_like(x)
    rate = abs(eta)
    y = x if eta < 0 else 1 - x
    return stats.truncexpon.logpdf(y, b=rate, scale=1 / rate)


def scipy_mle(xs: np.ndarray) -> float:
    """The maximum-likelihood η by a scalar search on scipy's log-density."""
    x = xs.astype(np.float64)

    def nll(eta):
        return -np.mean(scipy_logpdf(x, float(eta)))

    return optimize.minimize_scalar(
        nll, bounds=(-60, 60), method="bounded", options={"xatol": 1e-9}
    ).x


def naive_log_partition(eta):
    """The textbook formula, log((e^η − 1)/η): 0/0 at η = 0."""
    return jnp.log(jnp.expm1(eta) / eta)


# --------------------------------------------------------------------------- #


def partition_values(cb: ContinuousBernoulli, etas) -> dict[str, np.ndarray]:
    """A, ∇A (naive and stable) and the stable ∇²A at each η, in float32, all
    computed by one compiled program."""

    @jax.jit
    def evaluate(grid):
        return {
            "A naive": jax.vmap(naive_log_partition)(grid),
            "∇A naive": jax.vmap(jax.grad(naive_log_partition))(grid),
            "A stable": jax.vmap(cb.log_partition)(grid),
            "∇A stable": jax.vmap(cb.mean_parameters)(grid),
            "∇²A stable": jax.vmap(cb.fisher_information)(grid)[:, 0, 0],
        }

    values = evaluate(jnp.asarray(etas, jnp.float32))
    return {name: np.asarray(v, np.float64) for name, v in values.items()}


def stability_table(etas, values: dict, reference: np.ndarray) -> float:
    """Prints A and ∇A, naive against stable, beside the quadrature reference;
    returns the largest relative error of the stable ∇A."""
    print(
        "| η | A naive | A stable | A (quadrature) | ∇A naive | ∇A stable "
        "| ∇A (quadrature) | ∇²A stable |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, eta in enumerate(etas):
        names = ["A naive", "∇A naive", "A stable", "∇A stable", "∇²A stable"]
        a_naive, mu_naive, a_stable, mu_stable, fisher = (values[n][i] for n in names)
        print(
            f"| {eta:g} | {a_naive:.6g} | {a_stable:.6g} | {reference[i, 0]:.6g} "
            f"| {mu_naive:.6g} | {mu_stable:.6g} | {reference[i, 1]:.6g} "
            f"| {fisher:.6g} |"
        )
    worst = float(np.max(np.abs(values["∇A stable"] / reference[:, 1] - 1)))
    print(f"largest relative error of the stable ∇A (float32): {worst:.1e}\n")
    return worst


def conformance(cb: ContinuousBernoulli, etas, key) -> int:
    """Runs the conformance kit at each η; returns how many passed."""
    passed = 0
    for eta in etas:
        key, sub = jax.random.split(key)
        try:
            check_family(cb, jnp.asarray(eta, jnp.float32), key=sub)
            print(f"check_family at η = {eta:g}: passed")
            passed += 1
        except AssertionError as error:
            print(f"check_family at η = {eta:g}: FAILED\n{error}")
    return passed


def scipy_density_gap(cb: ContinuousBernoulli, etas) -> float:
    """max |log p_expfam − log p_scipy| over a grid of x, for each η."""
    x = np.linspace(0.0, 1.0, 201, dtype=np.float32)
    gap = 0.0
    for eta in etas:
        ours = jax.vmap(cb.log_prob, (None, 0))(jnp.float32(eta), jnp.asarray(x))
        theirs = scipy_logpdf(x.astype(np.float64), eta)
        gap = max(gap, float(np.max(np.abs(np.asarray(ours) - theirs))))
    return gap


def plot(cb, xs, eta_true, eta_hat, etas, values, reference, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    left.hist(xs, bins=60, range=(0, 1), density=True, alpha=0.4, label="samples")
    grid = np.linspace(0.0, 1.0, 201, dtype=np.float32)
    for eta, style, label in [(eta_true, "k--", "true"), (eta_hat, "C1-", "mle")]:
        log_p = jax.vmap(cb.log_prob, (None, 0))(jnp.float32(eta), jnp.asarray(grid))
        density = np.exp(np.asarray(log_p))
        left.plot(grid, density, style, label=f"{label} η = {float(eta):.4f}")
    left.set_xlabel("x")
    left.set_ylabel("density")
    left.set_title(f"continuous Bernoulli, {len(xs):,} samples")
    left.legend()

    # The removable singularity: the float32 relative error of A(η) and ∇A(η)
    # as η → 0, naive formula against the stable form (quadrature reference).
    styles = {
        "A naive": "C3--",
        "∇A naive": "C3-",
        "A stable": "k--",
        "∇A stable": "k-",
    }
    for name, style in styles.items():
        exact = reference[:, 0 if name.startswith("A") else 1]
        relative = np.maximum(np.abs(values[name] / exact - 1), 1e-10)
        right.loglog(etas, relative, style, label=name)
    eps = float(jnp.finfo(jnp.float32).eps)
    right.axhline(eps, color="gray", lw=0.5, label="float32 machine ε")
    right.set_xlabel("η")
    right.set_ylabel("relative error in float32")
    right.set_title("near the removable singularity η = 0")
    right.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figures")
    parser.add_argument("--n", type=int, default=100_000, help="samples to fit")
    parser.add_argument("--probs", type=float, default=0.1, help="true λ")
    parser.add_argument(
        "--check-etas",
        default="-3,0,1e-4,1,25",
        help="comma-separated η for the conformance kit",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key_check, key_data = jax.random.split(jax.random.key(args.seed))

    cb = ContinuousBernoulli()

    # 1. The stable log-partition against the naive formula and quadrature:
    #    a table at a few η, and a curve over η from 1e-6 to 30 for the figure.
    table_etas = [0.0, 1e-6, 1e-3, 0.999, 1.001, -30.0, 200.0]
    curve_etas = list(np.logspace(-6, 1.5, 46))
    etas = table_etas + curve_etas
    values = partition_values(cb, etas)
    reference = np.array([quadrature_reference(float(e)) for e in etas])
    k = len(table_etas)
    table = {name: v[:k] for name, v in values.items()}
    worst_mean_error = stability_table(table_etas, table, reference[:k])

    # 2. The conformance kit: normalization, moments, round trip, KL, entropy.
    check_etas = [float(e) for e in args.check_etas.split(",")]
    passed = conformance(cb, check_etas, key_check)
    density_gap = scipy_density_gap(cb, [-3.0, -0.2, 0.7, 12.0])
    print(f"max |log p − scipy truncexpon log p| on [0, 1]: {density_gap:.1e}\n")

    # 3. Fit to samples: mle, the natural gradient, scipy.
    eta_true = cb.natural_from(probs=args.probs)
    xs = cb.sample(key_data, eta_true, (args.n,))

    start = time.perf_counter()
    eta_mle = cb.mle(xs)  # moment matching: the η with ∇A(η) = x̄
    mle_time = time.perf_counter() - start
    start = time.perf_counter()
    result = ef.fit(
        cb,
        xs,
        optimizer=ef.natural_gradient(cb),
        batch_size=args.n,
        num_steps=50,
        tol=1e-6,
        progress=False,
    )
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    eta_scipy = scipy_mle(np.asarray(xs))
    scipy_time = time.perf_counter() - start

    # The standard error of η̂: 1 / sqrt(n ∇²A(η)) (the inverse Fisher information).
    se = float(1 / np.sqrt(args.n * cb.fisher_information(eta_true)[0, 0]))
    print(f"fit to {args.n:,} samples, true probs {args.probs} (η = {eta_true:.6f})")
    print("| method | η̂ | probs | (η̂ − η)/se | seconds |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = [
        ("truth", float(eta_true), None),
        ("expfam mle", float(eta_mle), mle_time),
        (
            f"ef.fit natural gradient ({result.num_steps} steps)",
            float(result.natural),
            fit_time,
        ),
        ("scipy (minimize_scalar on truncexpon)", float(eta_scipy), scipy_time),
    ]
    for name, eta, seconds in rows:
        probs = 1 / (1 + np.exp(-eta))
        z = (eta - float(eta_true)) / se
        when = "" if seconds is None else f"{seconds:.2f}"
        print(f"| {name} | {eta:.6f} | {probs:.5f} | {z:+.2f} | {when} |")
    print(f"standard error of η̂: {se:.4f}")

    path = out / f"{STEM}.png"
    curves = {name: v[k:] for name, v in values.items()}
    plot(
        cb,
        np.asarray(xs),
        float(eta_true),
        float(eta_mle),
        curve_etas,
        curves,
        reference[k:],
        path,
    )
    print(f"\nsaved {path}")
    return {
        "checks_passed": passed,
        "checks_run": len(check_etas),
        "stable_mean_max_rel_error": worst_mean_error,
        "scipy_density_gap": density_gap,
        "eta_true": float(eta_true),
        "eta_mle": float(eta_mle),
        "eta_fit": float(result.natural),
        "eta_scipy": float(eta_scipy),
        "fit_steps": result.num_steps,
        "fit_converged": result.converged,
        "standard_error": se,
    }


if __name__ == "__main__":
    main()
