"""Why is a coin's MLE the frequency of heads, and why divide the log-likelihood by m?

A coin is a Bernoulli family: u(x) = x, η = log(p / (1 − p)), A(η) = log(1 + e^η).
Part 1 tosses 70 heads in 100 and finds the MLE two ways: ``ef.Bernoulli().mle``
(moment matching, ∇A(η̂) = ū, i.e. p̂ = 70/100) and the maximum of the
log-likelihood curve Σ_i log p(x_i | p) over a grid of p. Part 2 is the law of
large numbers behind dividing by m: the average log-likelihood
(1/m) Σ_i log p(x_i) of fresh tosses converges to E_{p_data}[log p(x)], which is
−H(p_data) when the model is the data distribution and −(cross-entropy) when it
is not; the band is ±2 standard errors, σ/√m with σ computed exactly.

    python examples/coin_tosses.py [--out DIR] [--heads 70] [--tosses 100]
        [--m 100000] [--p-data 0.7] [--p-model 0.4] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "coin_tosses"


def log_likelihood_curve(bern, tosses, grid):
    """Σ_i log p(x_i | p) for every p of the grid (one vmap over the tosses,
    one over the grid)."""
    log_prob_all = jax.vmap(bern.log_prob, (None, 0))  # one η, many tosses

    def total(p):
        return jnp.sum(log_prob_all(bern.natural_from(probs=p), tosses))

    return jax.vmap(total)(grid)


def exact_moments_of_log_prob(bern, eta_data, eta_model):
    """Mean and standard deviation of log p_model(x) when x ~ p_data.

    The coin has two outcomes, so the expectation is a two-term sum:
    E[log p_model] = Σ_x p_data(x) log p_model(x). The mean is
    −cross-entropy(p_data, p_model), which is −H(p_data) when the two agree.
    """
    outcomes = jnp.array([0.0, 1.0])
    log_q = jax.vmap(bern.log_prob, (None, 0))(eta_model, outcomes)
    p = jnp.exp(jax.vmap(bern.log_prob, (None, 0))(eta_data, outcomes))
    mean = jnp.sum(p * log_q)
    std = jnp.sqrt(jnp.sum(p * (log_q - mean) ** 2))
    return float(mean), float(std)


def running_average(values):
    """(1/m) Σ_{i≤m} values_i for m = 1, 2, … (summed in float64 on the host so
    that the running sum adds no rounding of its own)."""
    values = np.asarray(values, np.float64)
    return np.cumsum(values) / np.arange(1, values.size + 1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figure")
    parser.add_argument("--heads", type=int, default=70, help="heads in part 1")
    parser.add_argument("--tosses", type=int, default=100, help="tosses in part 1")
    parser.add_argument("--m", type=int, default=100_000, help="tosses in part 2")
    parser.add_argument("--p-data", type=float, default=0.7, help="the coin's bias")
    parser.add_argument("--p-model", type=float, default=0.4, help="a wrong model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key_order, key_tosses = jax.random.split(jax.random.key(args.seed))
    bern = ef.Bernoulli()

    # ---- Part 1: the MLE is the frequency ------------------------------------ #
    # The tosses as 0/1 in a random order (the order does not matter to the MLE).
    tosses = jnp.concatenate(
        [jnp.ones(args.heads), jnp.zeros(args.tosses - args.heads)]
    )
    tosses = jax.random.permutation(key_order, tosses)

    # Moment matching: ∇A(η̂) = sigmoid(η̂) = ū = heads / tosses.
    eta_hat = bern.mle(tosses)
    p_hat = float(bern.params_from(eta_hat)["probs"])
    frequency = args.heads / args.tosses
    residual = float(bern.residual(eta_hat, tosses))  # ū − ∇A(η̂) = 0 at the MLE

    # The same answer as the argmax of the log-likelihood over a grid of p
    # (steps of 0.001; 0.7 is a grid point, to float32 rounding).
    grid = jnp.asarray(np.arange(1, 1000) / 1000)
    curve = log_likelihood_curve(bern, tosses, grid)
    p_argmax = float(grid[jnp.argmax(curve)])
    # The textbook form, heads·log p + tails·log(1 − p), for comparison.
    tails = args.tosses - args.heads
    textbook = args.heads * np.log(np.asarray(grid)) + tails * np.log1p(
        -np.asarray(grid)
    )
    curve_error = float(np.max(np.abs(np.asarray(curve) - textbook)))

    print(f"Part 1: {args.heads} heads in {args.tosses} tosses\n")
    print("| estimate | p |")
    print("| --- | ---: |")
    print(f"| frequency heads/tosses | {frequency:.6f} |")
    print(f"| ef.Bernoulli().mle | {p_hat:.6f} |")
    print(f"| argmax of the log-likelihood curve | {p_argmax:.6f} |")
    print(f"\nresidual ū − ∇A(η̂) at the MLE: {residual:.2e}")
    print(f"log-likelihood curve vs heads·log p + tails·log(1−p): {curve_error:.2e}")

    # ---- Part 2: (1/m) Σ log p(x_i) → E_{p_data}[log p(x)] ------------------- #
    eta_data = bern.natural_from(probs=args.p_data)
    xs = bern.sample(key_tosses, eta_data, (args.m,))
    m = np.arange(1, args.m + 1)
    models = {
        f"model p = {args.p_data:g} (= p_data)": bern.natural_from(probs=args.p_data),
        f"model p = {args.p_model:g}": bern.natural_from(probs=args.p_model),
    }
    # The exact limits from the library: −H(p_data) and −cross-entropy.
    exact_limits = [
        -float(bern.entropy(eta_data)),
        -float(bern.cross_entropy(eta_data, models[list(models)[1]])),
    ]
    checkpoints = np.unique(np.geomspace(10, args.m, 200).astype(int))
    rows = []
    for (label, eta_model), exact in zip(models.items(), exact_limits, strict=True):
        log_p = jax.vmap(bern.log_prob, (None, 0))(eta_model, xs)
        average = running_average(log_p)
        limit, sigma = exact_moments_of_log_prob(bern, eta_data, eta_model)
        stderr = sigma / np.sqrt(m)
        inside = np.abs(average[checkpoints - 1] - limit) <= 2 * stderr[checkpoints - 1]
        rows.append(
            {
                "label": label,
                "average": average,
                "limit": limit,
                "exact": exact,
                "sigma": sigma,
                "stderr": stderr,
                "final": float(average[-1]),
                # 0/0 when log p(x) is the same for heads and tails (p = 0.5).
                "z": float((average[-1] - limit) / max(stderr[-1], 1e-300)),
                "inside": float(np.mean(inside)),
            }
        )
    # Both averages are affine in the running frequency of heads, so their
    # standardized deviations agree up to sign.
    kl = float(bern.kl_divergence(eta_data, models[list(models)[1]]))

    print(f"\nPart 2: m = {args.m:,} tosses of a coin with p_data = {args.p_data:g}\n")
    print(
        "| model | (1/m) Σ log p(x_i) | E_data[log p] (Σ_x) | library −H / −CE "
        "| σ | (avg − limit)/(σ/√m) | checkpoints within ±2σ/√m |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['label']} | {r['final']:.5f} | {r['limit']:.5f} | {r['exact']:.5f} "
            f"| {r['sigma']:.4f} | {r['z']:+.2f} | {r['inside']:.0%} |"
        )
    print(
        f"\nthe gap between the two limits is KL(p_data ‖ p_model) = {kl:.5f} "
        f"(limits differ by {rows[0]['limit'] - rows[1]['limit']:.5f})"
    )

    # ---- Figure -------------------------------------------------------------- #
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax1.plot(grid, curve, color="C0")
    ax1.axvline(p_hat, color="C3", ls="--", label=f"MLE p̂ = {p_hat:.3f}")
    ax1.set_ylim(float(curve.max()) - 40, float(curve.max()) + 3)
    ax1.set_xlabel("p (probability of heads)")
    ax1.set_ylabel("log-likelihood Σ log p(x_i | p)")
    ax1.set_title(f"{args.heads} heads in {args.tosses} tosses")
    ax1.legend()
    for color, r in zip(("C0", "C1"), rows, strict=True):
        ax2.fill_between(
            m,
            r["limit"] - 2 * r["stderr"],
            r["limit"] + 2 * r["stderr"],
            color=color,
            alpha=0.2,
            lw=0,
        )
        ax2.plot(m, r["average"], color=color, lw=1, label=r["label"])
        ax2.axhline(
            r["limit"], color=color, ls="--", lw=1, label=f"limit {r['limit']:.4f}"
        )
    ax2.set_xscale("log")
    spread = 4 * max(r["sigma"] for r in rows) / np.sqrt(10)
    low = min(r["limit"] for r in rows) - spread
    ax2.set_ylim(low, max(r["limit"] for r in rows) + spread)
    ax2.set_xlabel("m (tosses)")
    ax2.set_ylabel("(1/m) Σ log p(x_i)")
    ax2.set_title("average log-likelihood → E_data[log p]  (band: ±2σ/√m)")
    ax2.legend(loc="lower right")
    fig.tight_layout()
    path = out / f"{STEM}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {path}")

    return {
        "p_hat": p_hat,
        "frequency": frequency,
        "p_argmax": p_argmax,
        "residual": residual,
        "curve_error": curve_error,
        "final_average_true_model": rows[0]["final"],
        "limit_true_model": rows[0]["limit"],
        "neg_entropy": rows[0]["exact"],
        "z_true_model": rows[0]["z"],
        "final_average_wrong_model": rows[1]["final"],
        "limit_wrong_model": rows[1]["limit"],
        "neg_cross_entropy": rows[1]["exact"],
        "z_wrong_model": rows[1]["z"],
        "inside_band_true_model": rows[0]["inside"],
        "inside_band_wrong_model": rows[1]["inside"],
        "kl": kl,
    }


if __name__ == "__main__":
    main()
