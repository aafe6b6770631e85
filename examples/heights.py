"""Gaussian heights: does the closed-form MLE match an optax fit, and why is σ̂² biased?

Heights are modelled as Normal: u(x) = [x, x²], η = [μ/σ², −1/(2σ²)] and
∇A(η) = [μ, μ² + σ²]. The MLE matches moments, so its mean and variance are the
sample mean and the 1/N variance (``ef.Normal().mle``). ``ef.fit`` with
``optax.adam`` on minibatches reaches the same answer: its residual
ū − ∇A(η), the gradient of the mean log-likelihood, shrinks to zero on the full
data while each minibatch's residual levels off at its sampling noise. Over many
repeated small samples (N = 2..20) the average MLE variance is (N − 1)/N σ²,
not σ²: the 1/N estimator is biased low.

    python examples/heights.py [--out DIR] [--n 10000] [--steps 2000]
        [--batch 500] [--reps 20000] [--max-size 20] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "heights"
MEAN_CM, SD_CM = 170.0, 10.0  # the population the heights are drawn from
# Round reference values used to standardize, z = (x − REF) / SCALE. The Normal
# family is closed under affine maps, so the MLE in z maps back exactly:
# mean_x = REF + SCALE · mean_z, var_x = SCALE² · var_z.
REF_CM, SCALE_CM = 170.0, 10.0


def closed_form(normal, heights):
    """The MLE in cm three ways: float32 on raw heights, float32 on standardized
    heights mapped back, and the float64 numpy reference.

    The variance is E[x²] − E[x]², about 29 000 − 28 900 cm² at mean 170 cm:
    in float32 (7 digits) the subtraction would keep only ~3 of them. ``mle``
    does not subtract so: where the location is large against the spread it
    sums u(x − c) about a data row c near the mean, so the raw float32 heights
    give the variance to float32 rounding too. Standardizing by hand (E[z²] ≈
    1, E[z]² ≈ 0) is the other way, and the Normal family is closed under the
    affine map back.
    """
    raw = normal.params_from(normal.mle(heights))
    z = (heights - REF_CM) / SCALE_CM
    std = normal.params_from(normal.mle(z))
    x64 = np.asarray(heights, np.float64)
    return {
        "raw": (float(raw["mean"]), float(raw["variance"])),
        "standardized": (
            REF_CM + SCALE_CM * float(std["mean"]),
            SCALE_CM**2 * float(std["variance"]),
        ),
        "numpy float64": (float(x64.mean()), float(x64.var())),  # var: 1/N
    }


def adam_fit(normal, z, steps, batch, key):
    """``ef.fit`` with adam on minibatches of the standardized heights.

    Records the full-data residual ū − ∇A(η) after every chunk of steps; the
    minibatch residual is in ``result.history.residual_norm``.
    """
    full_residual = []

    def record(info):
        r = normal.residual(info["natural"], z)  # [E x − μ, E x² − (μ² + σ²)]
        full_residual.append((info["step"], float(jnp.linalg.norm(r))))

    # A deliberately poor start: mean 160 cm, sd 5 cm.
    init = normal.natural_from(mean=-1.0, variance=0.25)
    full_residual.append((0, float(jnp.linalg.norm(normal.residual(init, z)))))
    # The learning rate is constant for the first fifth of the run (to travel
    # from the poor start), then halves every tenth of the run: the steps shrink
    # and the iterates settle at the full-data optimum instead of jittering
    # around it at the minibatch noise level.
    schedule = optax.exponential_decay(
        0.1, max(steps // 10, 1), 0.5, transition_begin=steps // 5
    )
    result = ef.fit(
        normal,
        z,
        optimizer=optax.adam(schedule),
        batch_size=batch,
        num_steps=steps,
        key=key,
        init=init,
        callback=record,
        chunk=50,
        progress=False,
    )
    return result, np.array(full_residual)


def variance_bias(normal, key, sizes, reps):
    """The average MLE variance (in cm²) over ``reps`` samples of each size N."""
    eta = normal.natural_from(mean=MEAN_CM, variance=SD_CM**2)

    def mle_variance(sample):  # one sample of N heights → its 1/N variance
        z = (sample - REF_CM) / SCALE_CM
        return SCALE_CM**2 * normal.params_from(normal.mle(z))["variance"]

    batched = jax.jit(jax.vmap(mle_variance))  # over the repetitions
    # One draw for every N (row i: reps samples of the largest size); sample i
    # of size N is the first N heights of row i, so different N are independent.
    draws = normal.sample(key, eta, (len(sizes), reps, int(max(sizes))))
    means = [
        float(jnp.mean(batched(draws[i, :, :size]))) for i, size in enumerate(sizes)
    ]
    return np.array(means)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figure")
    parser.add_argument("--n", type=int, default=10_000, help="heights measured")
    parser.add_argument("--steps", type=int, default=2000, help="adam steps")
    parser.add_argument("--batch", type=int, default=500, help="minibatch size")
    parser.add_argument("--reps", type=int, default=20_000, help="small samples per N")
    parser.add_argument("--max-size", type=int, default=20, help="largest small N")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key_data, key_fit, key_bias = jax.random.split(jax.random.key(args.seed), 3)
    normal = ef.Normal()

    # ---- Closed form ---------------------------------------------------------- #
    eta_pop = normal.natural_from(mean=MEAN_CM, variance=SD_CM**2)
    heights = normal.sample(key_data, eta_pop, (args.n,))
    fits = closed_form(normal, heights)
    ref_mean, ref_var = fits["numpy float64"]
    print(
        f"{args.n:,} heights drawn from Normal(mean {MEAN_CM:g} cm, sd {SD_CM:g} cm)\n"
    )
    print("| closed-form MLE | mean (cm) | variance (cm²) | variance rel. error |")
    print("| --- | ---: | ---: | ---: |")
    for name, (mean, var) in fits.items():
        label = "ef.Normal().mle, float32, " + name if name != "numpy float64" else name
        print(f"| {label} | {mean:.5f} | {var:.5f} | {abs(var / ref_var - 1):.1e} |")

    # ---- Adam on minibatches --------------------------------------------------- #
    z = (heights - REF_CM) / SCALE_CM
    result, full_residual = adam_fit(normal, z, args.steps, args.batch, key_fit)
    fit_mean = REF_CM + SCALE_CM * float(result.params["mean"])
    fit_var = SCALE_CM**2 * float(result.params["variance"])
    eta_hat = normal.mle(z)
    # A minibatch's ū scatters around the full-data ū with covariance Cov[u]/B,
    # and Cov[u] = ∇²A(η): the floor under the minibatch residual norm.
    noise_floor = float(
        jnp.sqrt(jnp.trace(normal.fisher_information(eta_hat)) / args.batch)
    )
    mini = np.asarray(result.history.residual_norm)
    print(f"\nef.fit, adam, {args.steps} steps of {args.batch} (standardized data)\n")
    print("| quantity | adam fit | closed form |")
    print("| --- | ---: | ---: |")
    print(f"| mean (cm) | {fit_mean:.4f} | {ref_mean:.4f} |")
    print(f"| variance (cm²) | {fit_var:.4f} | {ref_var:.4f} |")
    print(
        f"\nfull-data residual norm ‖ū − ∇A(η)‖: {full_residual[0, 1]:.3g} at the "
        f"start → {full_residual[-1, 1]:.2e} after {args.steps} steps"
    )
    mini_rms = float(np.sqrt(np.mean(mini[-100:] ** 2)))
    print(
        f"minibatch residual norm, root mean square over the last 100 steps: "
        f"{mini_rms:.3f} (sampling-noise floor √(tr ∇²A / B) = {noise_floor:.3f})"
    )

    # ---- The 1/N bias of the variance ---------------------------------------- #
    sizes = np.arange(2, args.max_size + 1)
    mean_var = variance_bias(normal, key_bias, sizes, args.reps)
    expected = (sizes - 1) / sizes * SD_CM**2
    # Var of the 1/N variance of a normal sample: 2(N − 1)σ⁴/N².
    stderr = np.sqrt(2 * (sizes - 1)) / sizes * SD_CM**2 / np.sqrt(args.reps)
    zscores = (mean_var - expected) / stderr
    print(f"\naverage MLE variance over {args.reps:,} samples of N heights\n")
    print("| N | mean MLE variance | (N−1)/N σ² | ± s.e. | × N/(N−1) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for i, size in enumerate(sizes):
        if size in (2, 3, 5, 10, args.max_size):
            print(
                f"| {size} | {mean_var[i]:.2f} | {expected[i]:.2f} | {stderr[i]:.2f} "
                f"| {mean_var[i] * size / (size - 1):.2f} |"
            )
    print(f"\nlargest |mean − (N−1)/N σ²| / s.e. over N = 2..{args.max_size}: ", end="")
    print(f"{np.max(np.abs(zscores)):.2f}")

    # ---- Figure -------------------------------------------------------------- #
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    ax = axes[0]
    ax.hist(np.asarray(heights), bins=60, density=True, color="0.75")
    grid = np.linspace(MEAN_CM - 4 * SD_CM, MEAN_CM + 4 * SD_CM, 400)
    eta_cm = normal.natural_from(mean=ref_mean, variance=ref_var)
    pdf = jnp.exp(jax.vmap(normal.log_prob, (None, 0))(eta_cm, jnp.asarray(grid)))
    ax.plot(grid, pdf, color="C3", label="MLE Normal")
    ax.set_xlabel("height (cm)")
    ax.set_ylabel("density")
    ax.set_title(f"{args.n:,} heights and the fitted density")
    ax.legend()

    ax = axes[1]
    ax.semilogy(np.arange(mini.size), mini, color="0.6", lw=0.5, label="minibatch")
    ax.semilogy(full_residual[:, 0], full_residual[:, 1], "o-", ms=3, color="C0")
    ax.lines[-1].set_label("full data")
    ax.axhline(noise_floor, color="k", ls=":", label="minibatch noise √(tr ∇²A/B)")
    ax.set_xlabel("adam step")
    ax.set_ylabel("‖ū − ∇A(η)‖ (standardized units)")
    ax.set_title("the residual shrinks to zero")
    ax.legend()

    ax = axes[2]
    ax.errorbar(
        sizes, mean_var, yerr=2 * stderr, fmt="o", ms=4, label="simulated (±2 s.e.)"
    )
    dense = np.linspace(2, args.max_size, 200)
    ax.plot(dense, (dense - 1) / dense * SD_CM**2, color="C3", label="(N−1)/N σ²")
    ax.axhline(SD_CM**2, color="k", ls="--", lw=1, label="σ²")
    ax.set_xlabel("sample size N")
    ax.set_ylabel("average MLE variance (cm²)")
    ax.set_title(f"1/N variance is biased low ({args.reps:,} samples per N)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = out / f"{STEM}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {path}")

    return {
        "mle_mean": fits["standardized"][0],
        "mle_variance": fits["standardized"][1],
        "raw_float32_variance": fits["raw"][1],
        "numpy_mean": ref_mean,
        "numpy_variance": ref_var,
        "fit_mean": fit_mean,
        "fit_variance": fit_var,
        "full_residual_start": float(full_residual[0, 1]),
        "full_residual_end": float(full_residual[-1, 1]),
        "minibatch_residual_end": mini_rms,
        "noise_floor": noise_floor,
        "bias_max_abs_z": float(np.max(np.abs(zscores))),
        "bias_mean_variance_n2": float(mean_var[0]),
        "bias_expected_n2": float(expected[0]),
    }


if __name__ == "__main__":
    main()
