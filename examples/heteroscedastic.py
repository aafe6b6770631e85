"""When the noise depends on x, can a neural network predict the whole Normal?

Heteroscedastic regression: y | x ~ N(m(x), s(x)²) with both the mean and the
standard deviation varying with x. The model is ``ef.Conditional(ef.Normal(),
predictor)``: the predictor is a small plain-JAX MLP whose output is the pair of
unconstrained coordinates z = (z₁, z₂) of the Normal's natural parameter,
η₁ = z₁ = m/σ² and η₂ = −softplus(z₂) = −1/(2σ²), so every output is a valid
Normal. By default the network's two heads are read as the mean and log σ and
mapped to z in closed form (``--head natural`` reads them as z directly: the
same model, but adam needs longer to reach the large η₁ = m/σ² where σ is
small). ``ef.fit`` trains it with adam on minibatches: each step's gradient is
the per-sample residual u(y) − ∇A(η(x)) = [y − E y, y² − E y²] pulled back
through the network. ``model.predict`` gives the mean parameters [E y, E y²],
hence the mean and std = sqrt(E y² − (E y)²). The baseline is the
homoscedastic ``ef.GLM(ef.Normal(), k)`` (one shared variance) on k Gaussian
bumps of x, fitted by ``ef.fisher_scoring``; both are scored on held-out data
(negative log-likelihood, coverage of the ±2 std band) against the true curves.

    python examples/heteroscedastic.py [--out DIR] [--n 4000] [--n-test 20000]
        [--steps 6000] [--batch-size 256] [--width 32] [--lr 0.01]
        [--head mean-std|natural] [--seed 0]
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "heteroscedastic"
X_RANGE = (-3.0, 3.0)


# --------------------------------------------------------------------------- #
# The truth
# --------------------------------------------------------------------------- #


def true_mean(x):
    return np.sin(1.5 * x)


def true_std(x):
    return 0.1 + 0.5 * np.exp(-(x**2))  # noisy in the middle, quiet at the ends


def make_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x uniform on [−3, 3], as a column of shape (n, 1); y = m(x) + s(x) ε."""
    x = rng.uniform(*X_RANGE, size=(n, 1))
    y = true_mean(x[:, 0]) + true_std(x[:, 0]) * rng.standard_normal(n)
    return x.astype(np.float32), y.astype(np.float32)


# --------------------------------------------------------------------------- #
# The heteroscedastic model: an MLP → the Normal's unconstrained coordinates
# --------------------------------------------------------------------------- #


@functools.partial(jax.jit, static_argnames="width")  # one compiled program
def init_mlp(key, width: int) -> dict:
    """Weights of 1 → width → width → 2 with tanh, scaled by 1/sqrt(fan-in)."""
    sizes = [1, width, width, 2]
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for i, (k, fan_in, fan_out) in enumerate(
        zip(keys, sizes[:-1], sizes[1:], strict=True)
    ):
        params[f"w{i}"] = jax.random.normal(k, (fan_in, fan_out)) / np.sqrt(fan_in)
        params[f"b{i}"] = jnp.zeros((fan_out,))
    return params


def mlp(params: dict, x: jax.Array) -> jax.Array:
    """One input x of shape (1,) → two raw outputs."""
    h = jnp.tanh(x @ params["w0"] + params["b0"])
    h = jnp.tanh(h @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


# ``Conditional`` maps the predictor's output z = (z₁, z₂) through the Normal's
# domain bijection, η = (z₁, −softplus(z₂)), i.e. σ² = 1/(2 softplus(z₂)) and
# m = η₁ σ². Two ways to read the network's outputs as z:


def natural_head(params: dict, x: jax.Array) -> jax.Array:
    """The outputs are z itself: η₁ = m/σ² and z₂ directly."""
    return mlp(params, x)


def softplus_inverse(y):
    """z with softplus(z) = y > 0, stably: y + log(1 − e^{−y})."""
    return y + jnp.log(-jnp.expm1(-y))


def mean_std_head(params: dict, x: jax.Array) -> jax.Array:
    """The outputs are the mean m and log σ, mapped to z = (m/σ², softplus⁻¹(1/(2σ²))).

    Same model, better-scaled coordinates for adam: where σ = 0.1 the natural
    head must output η₁ = m/σ² ≈ ±100 and z₂ ≈ 50, this one m ≈ ±1, log σ ≈ −2.3.
    """
    out = mlp(params, x)
    mean, log_std = out[0], out[1]
    precision = jnp.exp(-2 * log_std)
    return jnp.stack([mean * precision, softplus_inverse(0.5 * precision)])


HEADS = {"mean-std": mean_std_head, "natural": natural_head}


def mean_and_std(model, params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[y | x] and sd[y | x] from the mean parameters ∇A(η(x)) = [E y, E y²]."""
    moments = jax.vmap(model.predict, (None, 0))(params, jnp.asarray(x))
    first, second = moments[:, 0], moments[:, 1]
    return np.asarray(first), np.asarray(jnp.sqrt(second - first * first))


# --------------------------------------------------------------------------- #
# The homoscedastic baseline: a Normal GLM on Gaussian bumps of x
# --------------------------------------------------------------------------- #


def bumps(x: np.ndarray, k: int = 15) -> np.ndarray:
    """k Gaussian bumps exp(−(x − c)²/(2 w²)) with centres c spread over the range."""
    centres = np.linspace(*X_RANGE, k)
    width = centres[1] - centres[0]
    return np.exp(-0.5 * ((x - centres[None, :]) / width) ** 2).astype(np.float32)


def gaussian_nll(mean, std, y) -> float:
    """The mean −log p(y | x) of N(mean, std²) over the held-out pairs (what
    ``model.log_prob`` gives, from the predicted mean and std)."""
    return float(
        np.mean(0.5 * np.log(2 * np.pi * std**2) + 0.5 * ((y - mean) / std) ** 2)
    )


def coverage(mean, std, y, mask) -> float:
    """The fraction of held-out y inside mean ± 2 std (Normal: 95.4 %)."""
    return float(np.mean(np.abs(y[mask] - mean[mask]) <= 2 * std[mask]))


def plot(x_train, y_train, grid, curves, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    left.plot(x_train[:, 0], y_train, ".", ms=2, color="0.6", label="training data")
    g = grid[:, 0]
    left.fill_between(
        g,
        true_mean(g) - 2 * true_std(g),
        true_mean(g) + 2 * true_std(g),
        color="C2",
        alpha=0.2,
        label="true mean ± 2 std",
    )
    for name, (mean, std), color in zip(
        curves, curves.values(), ["C0", "C3"], strict=True
    ):
        left.plot(g, mean, color=color, label=f"{name}: mean")
        left.plot(g, mean + 2 * std, "--", color=color, lw=1, label=f"{name}: ± 2 std")
        left.plot(g, mean - 2 * std, "--", color=color, lw=1)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_ylim(top=left.get_ylim()[1] + 1.2)  # room for the legend
    left.legend(fontsize=7, loc="upper center", ncol=2)
    left.set_title("data, fitted mean and ± 2 std bands")

    right.plot(g, true_std(g), color="C2", lw=3, alpha=0.5, label="true std s(x)")
    for (name, (_, std)), color in zip(curves.items(), ["C0", "C3"], strict=True):
        right.plot(g, std, color=color, label=name)
    right.set_xlabel("x")
    right.set_ylabel("std of y given x")
    right.set_ylim(bottom=0)
    right.legend(fontsize=8)
    right.set_title("the predicted noise level")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figures")
    parser.add_argument("--n", type=int, default=4000, help="training pairs")
    parser.add_argument("--n-test", type=int, default=20_000, help="held-out pairs")
    parser.add_argument("--steps", type=int, default=6000, help="adam steps")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--width", type=int, default=32, help="hidden units")
    parser.add_argument("--lr", type=float, default=1e-2, help="adam peak rate")
    parser.add_argument(
        "--head", choices=sorted(HEADS), default="mean-std", help="output coordinates"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_data(rng, args.n)
    x_test, y_test = make_data(rng, args.n_test)
    k_init, k_fit = jax.random.split(jax.random.key(args.seed))

    # 1. Heteroscedastic: the MLP predicts both natural parameters.
    predictor = HEADS[args.head]
    model = ef.Conditional(
        ef.Normal(), predictor, lambda key: init_mlp(key, args.width)
    )
    start = time.perf_counter()
    result = ef.fit(
        model,
        (jnp.asarray(x_train), jnp.asarray(y_train)),
        optimizer=optax.adam(
            optax.cosine_decay_schedule(args.lr, args.steps, alpha=0.05)
        ),
        batch_size=args.batch_size,
        num_steps=args.steps,
        key=k_fit,
        init=model.init(k_init),
        progress=False,
    )
    mlp_time = time.perf_counter() - start
    params = result.params

    # 2. Homoscedastic: a Normal GLM (identity link, one shared variance) on
    #    Gaussian bumps of x, by Fisher scoring.
    glm = ef.GLM(ef.Normal(), bumps(x_train[:1]).shape[1])
    start = time.perf_counter()
    glm_fit = ef.fisher_scoring(
        glm, (jnp.asarray(bumps(x_train)), jnp.asarray(y_train))
    )
    glm_time = time.perf_counter() - start

    # Predicted mean and std on the held-out inputs and on a plotting grid
    # (one call per model).
    grid = np.linspace(*X_RANGE, 400, dtype=np.float32)[:, None]
    both = np.concatenate([x_test, grid])
    predicted = {
        "truth (m(x), s(x))": (true_mean(both[:, 0]), true_std(both[:, 0])),
        "heteroscedastic MLP": mean_and_std(model, params, both),
        "homoscedastic GLM": mean_and_std(glm, glm_fit.params, bumps(both)),
    }
    t, g = len(x_test), grid[:, 0]
    middle = np.abs(x_test[:, 0]) < 0.75
    ends = np.abs(x_test[:, 0]) > 2.0

    print(
        f"{args.n} training / {args.n_test} held-out pairs; MLP 1→{args.width}→"
        f"{args.width}→2 ({args.head} head): {result.num_steps} adam steps in "
        f"{mlp_time:.1f} s; "
        f"GLM: {glm_fit.num_steps} Fisher-scoring steps in {glm_time:.1f} s\n"
    )
    print(
        "| model | held-out NLL | RMS mean error | RMS std error "
        "| ±2 std coverage, abs x < 0.75 | ±2 std coverage, abs x > 2 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    results = {}
    for name, (mean, std) in predicted.items():
        nll = gaussian_nll(mean[:t], std[:t], y_test)
        mean_err = float(np.sqrt(np.mean((mean[t:] - true_mean(g)) ** 2)))
        std_err = float(np.sqrt(np.mean((std[t:] - true_std(g)) ** 2)))
        cov_mid = coverage(mean[:t], std[:t], y_test, middle)
        cov_end = coverage(mean[:t], std[:t], y_test, ends)
        print(
            f"| {name} | {nll:.4f} | {mean_err:.4f} | {std_err:.4f} "
            f"| {cov_mid:.1%} | {cov_end:.1%} |"
        )
        key = name.split()[0]  # truth, heteroscedastic, homoscedastic
        results[f"nll_{key}"] = nll
        results[f"mean_rmse_{key}"] = mean_err
        results[f"std_rmse_{key}"] = std_err
        results[f"coverage_middle_{key}"] = cov_mid
        results[f"coverage_ends_{key}"] = cov_end
    # The Gaussian GLM's MLE is least squares, with σ̂² = mean squared residual.
    design = np.column_stack([bumps(x_train), np.ones(len(x_train))]).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, y_train.astype(np.float64), rcond=None)
    ls_sigma = float(np.sqrt(np.mean((y_train - design @ coef) ** 2)))
    glm_sigma = float(np.exp(0.5 * glm_fit.params["log_variance"]))
    print(
        f"\nthe GLM's one std: {glm_sigma:.4f} (least squares: {ls_sigma:.4f}); "
        f"the true std ranges over [{true_std(3.0):.2f}, {true_std(0.0):.2f}]"
    )
    results["glm_sigma_lstsq"] = ls_sigma
    results["glm_sigma"] = glm_sigma
    results["mlp_steps"] = result.num_steps
    results["final_train_nll"] = float(np.mean(result.history.nll[-100:]))

    path = out / f"{STEM}.png"
    curves = {
        name: (mean[t:], std[t:])
        for name, (mean, std) in predicted.items()
        if not name.startswith("truth")
    }
    plot(x_train, y_train, grid, curves, path)
    print(f"\nsaved {path}")
    return results


if __name__ == "__main__":
    main()
