"""A die: is the MLE the frequency n_k/N, the maximum that Lagrange multipliers promise?

A six-sided die is a Categorical(6) family: u(x) = one-hot(x)[:5],
η_k = log(θ_k/θ_6) and A(η) = log(1 + Σ_k e^{η_k}). Moment matching (``mle``)
gives θ̂_k = n_k/N, the frequency of face k. The textbook derivation maximizes
L(θ) = Σ_k n_k log θ_k subject to Σ_k θ_k = 1 with a Lagrange multiplier: the
stationary point has ∂L/∂θ_k = n_k/θ_k = λ for every k, and λ = N. The example
checks that gradient at θ̂ with ``jax.grad``, then moves θ̂ in random directions
inside the simplex and finds no point with a higher log-likelihood.

    python examples/die.py [--out DIR] [--n 600] [--directions 4000] [--seed 0]
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "die"
K = 6
TRUE_PROBS = np.array([0.10, 0.12, 0.15, 0.18, 0.20, 0.25])  # loaded towards six


def textbook_log_likelihood(theta, counts):
    """L(θ) = Σ_k n_k log θ_k: each roll showing face k contributes log θ_k."""
    return jnp.sum(counts * jnp.log(theta))


def library_log_likelihood(die, theta, rolls):
    """Σ_i log p(x_i | η(θ)) with expfam's log-density, one vmap over the rolls."""
    eta = die.natural_from(probs=theta)
    return jnp.sum(jax.vmap(die.log_prob, (None, 0))(eta, rolls))


@functools.partial(jax.jit, static_argnums=0)
def log_likelihoods(die, thetas, rolls):
    """The log-likelihood of the rolls at every row θ of ``thetas`` (compiled)."""
    return jax.vmap(library_log_likelihood, (None, 0, None))(die, thetas, rolls)


@functools.partial(jax.jit, static_argnums=2)
def random_simplex_steps(key, theta, count):
    """Random points θ + t·d inside the simplex, around θ.

    d is a random unit direction with Σ_k d_k = 0 (so Σ θ stays 1); t is drawn
    log-uniformly between 10⁻³ and 1 times the largest step that keeps every θ_k
    positive, with a random sign.
    """
    key_dir, key_size, key_sign = jax.random.split(key, 3)
    d = jax.random.normal(key_dir, (count, K), theta.dtype)
    d = d - jnp.mean(d, axis=1, keepdims=True)  # project onto Σ d = 0
    d = d / jnp.linalg.norm(d, axis=1, keepdims=True)
    sign = jnp.where(jax.random.bernoulli(key_sign, 0.5, (count,)), 1.0, -1.0)
    d = sign[:, None] * d
    # Largest t with θ + t d ≥ 0: the first coordinate to reach zero.
    to_boundary = jnp.min(jnp.where(d < 0, -theta[None, :] / d, jnp.inf), axis=1)
    fraction = 10.0 ** jax.random.uniform(key_size, (count,), theta.dtype, -3.0, 0.0)
    # Stop just short of the boundary (θ_k = 0 has log-likelihood −∞).
    t = 0.999 * fraction * to_boundary
    return theta[None, :] + t[:, None] * d, d


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figure")
    parser.add_argument("--n", type=int, default=600, help="rolls of the die")
    parser.add_argument(
        "--directions", type=int, default=4000, help="random perturbations of θ̂"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # float64: near θ̂ the log-likelihood (about −1 000 for 600 rolls) changes by
    # less than float32's rounding of it, so "no perturbation is higher" is only
    # a meaningful check with more digits.
    with jax.enable_x64(True):
        return _run(args, out)


def _run(args, out: Path) -> dict:
    key_rolls, key_steps = jax.random.split(jax.random.key(args.seed))
    die = ef.Categorical(K)
    eta_true = die.natural_from(probs=jnp.asarray(TRUE_PROBS))
    rolls = die.sample(key_rolls, eta_true, (args.n,))  # faces 0..5, as floats
    counts = jnp.asarray(np.bincount(np.asarray(rolls, int), minlength=K), float)

    # ---- The MLE is the frequency ------------------------------------------- #
    theta_hat = die.params_from(die.mle(rolls))["probs"]
    frequency = counts / args.n
    freq_error = float(jnp.max(jnp.abs(theta_hat - frequency)))

    # ---- The Lagrange condition: ∂L/∂θ_k = n_k/θ_k = λ = N at θ̂ -------------- #
    grad_of_l = jax.jit(jax.grad(textbook_log_likelihood))
    grad = grad_of_l(theta_hat, counts)
    grad_true = grad_of_l(jnp.asarray(TRUE_PROBS), counts)
    # expfam's log-likelihood is the textbook one on the simplex.
    ll_hat = float(log_likelihoods(die, theta_hat[None, :], rolls)[0])
    ll_textbook = float(textbook_log_likelihood(theta_hat, counts))

    print(f"{args.n} rolls of a loaded die\n")
    print("| face | true θ | count n_k | n_k/N | mle θ̂ | ∂L/∂θ_k at θ̂ | at true θ |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in range(K):
        print(
            f"| {k + 1} | {TRUE_PROBS[k]:.3f} | {int(counts[k])} | "
            f"{float(frequency[k]):.4f} | {float(theta_hat[k]):.4f} | "
            f"{float(grad[k]):.6f} | {float(grad_true[k]):.1f} |"
        )
    print(f"\nmax |θ̂ − n/N|: {freq_error:.1e}")
    print(
        f"∂L/∂θ_k at θ̂: all equal to λ = N = {args.n} (spread "
        f"{float(jnp.max(grad) - jnp.min(grad)):.1e}); at the true θ they differ "
        f"(spread {float(jnp.max(grad_true) - jnp.min(grad_true)):.1f})"
    )
    print(f"log-likelihood at θ̂: expfam {ll_hat:.6f}, Σ n_k log θ̂_k {ll_textbook:.6f}")

    # ---- Random moves inside the simplex all lower the log-likelihood --------- #
    points, directions = random_simplex_steps(key_steps, theta_hat, args.directions)
    ll_points = log_likelihoods(die, points, rolls)
    ll_best = float(jnp.max(ll_points))
    higher = int(jnp.sum(ll_points >= ll_hat))
    steps = jnp.linalg.norm(points - theta_hat[None, :], axis=1)
    print(
        f"\n{args.directions} random points of the simplex around θ̂ (at distances "
        f"{float(jnp.min(steps)):.1e} to {float(jnp.max(steps)):.2f} from it):"
    )
    print(f"largest log-likelihood found: {ll_best:.6f} (at θ̂: {ll_hat:.6f})")
    print(f"points at least as likely as θ̂: {higher}")

    # ---- Figure -------------------------------------------------------------- #
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    faces = np.arange(1, K + 1)
    ax1.bar(faces, np.asarray(frequency), color="0.75", label="frequency n_k/N")
    ax1.plot(faces, np.asarray(theta_hat), "o", color="C3", label="mle θ̂")
    ax1.plot(faces, TRUE_PROBS, "_", ms=30, mew=2, color="k", label="true θ")
    for face, c in zip(faces, np.asarray(counts), strict=True):
        ax1.annotate(f"{int(c)}", (face, 0.005), ha="center", fontsize=9)
    ax1.set_xlabel("face (bar labels: counts)")
    ax1.set_ylabel("probability")
    ax1.set_title(f"{args.n} rolls: the MLE is the frequency")
    ax1.legend(loc="upper left")

    # The log-likelihood along lines θ̂ + t d through θ̂, for the first 12
    # random directions d of the check above.
    ts = jnp.linspace(-0.08, 0.08, 161)
    lines = theta_hat[None, None, :] + ts[None, :, None] * directions[:12, None, :]
    inside = jnp.all(lines > 0, axis=2)  # (direction, t): still in the simplex
    # Points outside the simplex are evaluated at θ̂ instead, and not drawn.
    safe = jnp.where(inside[:, :, None], lines, theta_hat[None, None, :])
    ll_lines = log_likelihoods(die, safe.reshape(-1, K), rolls).reshape(inside.shape)
    for ll, ok in zip(np.asarray(ll_lines), np.asarray(inside), strict=True):
        ax2.plot(np.asarray(ts)[ok], ll[ok] - ll_hat, lw=1)
    ax2.axvline(0.0, color="k", lw=0.8)
    ax2.set_xlabel("t along a random direction d (Σ d_k = 0, ‖d‖ = 1)")
    ax2.set_ylabel("log-likelihood(θ̂ + t d) − log-likelihood(θ̂)")
    ax2.set_title("every direction in the simplex goes down from θ̂")
    fig.tight_layout()
    path = out / f"{STEM}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {path}")

    return {
        "freq_error": freq_error,
        "grad_min": float(jnp.min(grad)),
        "grad_max": float(jnp.max(grad)),
        "lagrange_lambda": float(args.n),
        "grad_true_spread": float(jnp.max(grad_true) - jnp.min(grad_true)),
        "ll_hat": ll_hat,
        "ll_textbook": ll_textbook,
        "ll_best_perturbed": ll_best,
        "num_perturbations": int(args.directions),
        "num_not_lower": higher,
    }


if __name__ == "__main__":
    main()
