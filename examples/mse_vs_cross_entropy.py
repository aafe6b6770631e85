"""What goes wrong when a logistic classifier is trained with mean squared error?

The same logistic model p = σ(z), z = wᵀx + b, is trained twice by plain
gradient descent with the same learning rate, from the same confidently wrong
start (large weights of the wrong sign): once on the binary cross-entropy, which
is the Bernoulli negative log-likelihood (``ef.GLM(ef.Bernoulli(), 2)``), and
once on the mean squared error (y − σ(z))². Per sample, in z,

    ∂BCE/∂z = σ(z) − y                        (minus the residual u(y) − ∇A(η))
    ∂MSE/∂z = −2 (y − σ(z)) · σ(z)(1 − σ(z))  (the same, times 2·∇²A(η))

The factor σ(z)(1 − σ(z)), the Bernoulli variance ∇²A(η), vanishes when |z| is
large, so on confidently wrong samples MSE has almost no gradient and stalls,
while cross-entropy gets its largest gradient exactly there and recovers.

    python examples/mse_vs_cross_entropy.py [--out DIR] [--n 1000] [--steps 300]
        [--lr 0.5] [--scale 4] [--seed 0]
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from sklearn.linear_model import LogisticRegression

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "mse_vs_cross_entropy"
TRUE_COEF, TRUE_INTERCEPT = (2.0, -1.5), 0.5


@functools.partial(jax.jit, static_argnums=1)
def make_data(key, n: int):
    """x ~ N(0, I₂); y ~ Bernoulli(σ(wᵀx + b)) with the true (w, b)."""
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (n, 2))
    z = x @ jnp.asarray(TRUE_COEF) + TRUE_INTERCEPT
    y = jax.random.bernoulli(ky, jax.nn.sigmoid(z)).astype(x.dtype)
    return x, y


def losses(model):
    """The two training losses of the same model, as functions of its params."""

    def cross_entropy(params, x, y):
        # Mean Bernoulli negative log-likelihood −(1/n) Σ log p(y_i | x_i).
        return model.objective(params, x, y)

    def mse(params, x, y):
        # model.predict is the mean parameter ∇A(η) = σ(z) = P(y = 1 | x).
        p = jax.vmap(model.predict, (None, 0))(params, x)
        return jnp.mean((y - p) ** 2)

    return {"cross-entropy": cross_entropy, "MSE": mse}


def accuracy(model, params, x, y):
    """The fraction of samples on the right side of the boundary z = 0."""
    z = jax.vmap(model.linear_predictor, (None, 0))(params, x)
    return jnp.mean((z > 0) == (y > 0.5))


def gradient_descent(loss, model, params, x, y, lr: float, num_steps: int):
    """θ ← θ − lr·∇L(θ), full batch; the loss and accuracy before each step.

    The loop is a ``lax.scan`` inside one ``jit``: one compilation per loss.
    """

    def step(p, _):
        value, grad = jax.value_and_grad(loss)(p, x, y)
        record = (value, accuracy(model, p, x, y))
        return jax.tree_util.tree_map(lambda a, g: a - lr * g, p, grad), record

    @jax.jit
    def descend(p):
        p, (values, accuracies) = jax.lax.scan(step, p, None, length=num_steps)
        # Append the loss and accuracy after the last step.
        values = jnp.append(values, loss(p, x, y))
        accuracies = jnp.append(accuracies, accuracy(model, p, x, y))
        return p, values, accuracies

    params, values, accuracies = descend(params)
    return params, {"loss": np.asarray(values), "accuracy": np.asarray(accuracies)}


def per_sample_gradients(bernoulli, z, y):
    """|∂loss/∂z| of one sample for both losses, and the Bernoulli variance."""

    def bce(z_, y_):
        return -bernoulli.log_prob(z_, y_)  # η = z: the logit is the natural param

    def mse(z_, y_):
        return (y_ - bernoulli.mean_parameters(z_)) ** 2

    @jax.jit
    def gradients(z, y):
        g_bce = jax.vmap(jax.grad(bce))(z, y)
        g_mse = jax.vmap(jax.grad(mse))(z, y)
        variance = jax.vmap(bernoulli.fisher_information)(z)  # σ(z)(1 − σ(z))
        return g_bce, g_mse, variance.reshape(z.shape)

    return gradients(z, y)


def plot(runs, reference_accuracy, z_grid, grads, z_start, out: Path) -> Path:
    fig, (ax_loss, ax_acc, ax_grad) = plt.subplots(1, 3, figsize=(15, 4.4))
    colors = {"cross-entropy": "tab:blue", "MSE": "tab:orange"}
    for name, run in runs.items():
        history = run["history"]
        ax_loss.semilogy(
            history["loss"] / history["loss"][0], color=colors[name], label=name
        )
        ax_acc.plot(history["accuracy"], color=colors[name], label=name)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss / its value at the start")
    ax_loss.set_title("Training loss (same start, same learning rate)")
    ax_loss.legend()
    ax_acc.axhline(
        reference_accuracy, color="gray", ls="--", label="scikit-learn optimum"
    )
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("training accuracy")
    ax_acc.set_ylim(0, 1)
    ax_acc.set_title("Accuracy: cross-entropy recovers, MSE stalls")
    ax_acc.legend()

    g_bce, g_mse = grads
    ax_grad.semilogy(
        z_grid,
        np.abs(g_bce),
        color=colors["cross-entropy"],
        label="|∂BCE/∂z| = 1 − σ(z)",
    )
    ax_grad.semilogy(
        z_grid,
        np.abs(g_mse),
        color=colors["MSE"],
        label="|∂MSE/∂z| = 2(1 − σ)·σ(1 − σ)",
    )
    ax_grad.set_xlabel("z = wᵀx + b   (sample with label y = 1)")
    ax_grad.set_ylabel("per-sample gradient magnitude in z")
    ax_grad.set_title("MSE's gradient vanishes where the model is most wrong")
    hist = ax_grad.twinx()
    # Starting z of the y = 1 samples (those beyond the grid go in the edge bins).
    lo, hi = z_grid[0], z_grid[-1]
    hist.hist(
        np.clip(z_start, lo, hi), bins=40, range=(lo, hi), color="gray", alpha=0.3
    )
    hist.set_ylabel("y = 1 samples at the start (count)", color="gray")
    ax_grad.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path = out / f"{STEM}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figure")
    parser.add_argument("--n", type=int, default=1000, help="training points")
    parser.add_argument("--steps", type=int, default=300, help="gradient steps")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate")
    parser.add_argument(
        "--scale", type=float, default=4.0, help="start at −scale × the true weights"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y = make_data(jax.random.key(args.seed), args.n)
    model = ef.GLM(ef.Bernoulli(), num_features=2)
    # Confidently wrong: the true weights, flipped and scaled up.
    start = {
        "coef": -args.scale * jnp.asarray(TRUE_COEF),
        "intercept": -args.scale * jnp.asarray(TRUE_INTERCEPT),
    }
    z_fn = jax.jit(jax.vmap(model.linear_predictor, (None, 0)))
    z_start = np.asarray(z_fn(start, x))

    runs = {}
    for name, loss in losses(model).items():
        params, history = gradient_descent(
            loss, model, start, x, y, args.lr, args.steps
        )
        runs[name] = {"params": params, "history": history}

    # scikit-learn's unpenalized optimum (C huge: a negligible L2 penalty).
    reference = LogisticRegression(C=1e10).fit(np.asarray(x), np.asarray(y))
    reference_accuracy = float(reference.score(np.asarray(x), np.asarray(y)))

    # Per-sample gradients in z for a y = 1 sample, on a grid and at the start.
    bernoulli = ef.Bernoulli()
    z_grid = jnp.linspace(-24.0, 12.0, 361)  # float32: 1 − σ(z) underflows past 16
    g_bce, g_mse, variance = per_sample_gradients(
        bernoulli, z_grid, jnp.ones_like(z_grid)
    )
    # ∂MSE/∂z = 2·∇²A(η)·∂BCE/∂z, exactly: the chain rule through σ.
    factor_gap = float(jnp.max(jnp.abs(g_mse - 2 * variance * g_bce)))
    gs_bce, gs_mse, _ = per_sample_gradients(bernoulli, jnp.asarray(z_start), y)
    wrong = (z_start > 0) != (np.asarray(y) > 0.5)
    # Of the misclassified samples: how much gradient each loss sends back.
    mean_bce = float(np.mean(np.abs(np.asarray(gs_bce)[wrong])))
    mean_mse = float(np.mean(np.abs(np.asarray(gs_mse)[wrong])))

    print(f"{args.n} points, logistic model, start at −{args.scale:g} × true weights")
    print(f"gradient descent: {args.steps} steps, learning rate {args.lr:g}\n")
    print(
        f"misclassified at the start: {wrong.mean():.1%}, "
        f"median |z| among them: {np.median(np.abs(z_start[wrong])):.2f}"
    )
    print(
        f"mean |∂loss/∂z| over those samples: cross-entropy {mean_bce:.3g}, "
        f"MSE {mean_mse:.3g} (ratio {mean_bce / mean_mse:.3g})"
    )
    print(f"max |∂MSE/∂z − 2·σ(1 − σ)·∂BCE/∂z| on the grid: {factor_gap:.1e}\n")
    print(
        "| training loss | accuracy at start | final accuracy | final BCE | final MSE |"
    )
    print("| --- | --- | --- | --- | --- |")
    fns = losses(model)
    both_losses = jax.jit(
        lambda p: (fns["cross-entropy"](p, x, y), fns["MSE"](p, x, y))
    )
    results = {"reference_accuracy": reference_accuracy}
    for name, run in runs.items():
        acc = run["history"]["accuracy"]
        bce, mse = (float(v) for v in both_losses(run["params"]))
        print(f"| {name} | {acc[0]:.3f} | {acc[-1]:.3f} | {bce:.4f} | {mse:.4f} |")
        key = "mse" if name == "MSE" else "ce"
        results[f"{key}_start_accuracy"] = float(acc[0])
        results[f"{key}_final_accuracy"] = float(acc[-1])
        results[f"{key}_final_bce"] = bce
        results[f"{key}_final_mse"] = mse
    print(f"| (scikit-learn optimum) | | {reference_accuracy:.3f} | | |")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = plot(
        runs,
        reference_accuracy,
        np.asarray(z_grid),
        (np.asarray(g_bce), np.asarray(g_mse)),
        z_start[np.asarray(y) > 0.5],
        out,
    )
    print(f"\nsaved {path}")
    results.update(
        misclassified_at_start=float(wrong.mean()),
        mean_grad_ce_wrong=mean_bce,
        mean_grad_mse_wrong=mean_mse,
        factor_gap=factor_gap,
    )
    return results


if __name__ == "__main__":
    main()
