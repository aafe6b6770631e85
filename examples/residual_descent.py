"""How does the residual ū − ∇A(η) drive maximum-likelihood fitting to zero?

For an exponential family the gradient of the mean log-likelihood in the natural
parameters is the residual E_emp[u] − E_model[u] = ū − ∇A(η): what the data
average of the sufficient statistics u(x) = [log x, x] says, minus what the
model expects. This example fits a Gamma family three ways from the same start,
full batch: plain gradient ascent η ← η + lr·(ū − ∇A(η)) written by hand (after
checking the residual against autodiff of the log-likelihood), ``ef.fit`` with
``optax.adam`` and ``ef.fit`` with ``ef.natural_gradient`` (Newton's method, the
Fisher information ∇²A(η) as metric). It plots the residual norm per step and
the three paths of η over the contours of the negative log-likelihood, and
prints how many steps each needs to bring the residual below 1e-6.

    python examples/residual_descent.py [--out DIR] [--n 5000] [--steps 2000]
        [--lr 0.5] [--adam-lr 0.05] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
import scipy.stats

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "residual_descent"
TRUE = {"shape": 2.5, "rate": 1.0}
START = {"shape": 1.0, "rate": 2.0}  # an exponential distribution, mean 0.5
TARGET = 1e-6  # residual norm counted as "converged"


def check_residual_is_gradient(gamma, eta, xs) -> float:
    """max |autodiff ∇_η mean log p(x_i | η) − (ū − ∇A(η))| at one η."""

    def mean_log_likelihood(e):
        return jnp.mean(jax.vmap(gamma.log_prob, (None, 0))(e, xs))

    autodiff = jax.jit(jax.grad(mean_log_likelihood))(eta)
    return float(jnp.max(jnp.abs(autodiff - gamma.residual(eta, xs))))


def gradient_ascent(gamma, u_bar, eta0, lr: float, num_steps: int):
    """η ← η + lr·(ū − ∇A(η)): the residual is the whole update direction."""

    def step(eta, _):
        residual = u_bar - gamma.mean_parameters(eta)  # E_emp[u] − E_model[u]
        new = eta + lr * residual
        return new, (new, jnp.linalg.norm(residual))

    # lax.scan: the whole loop is one compiled program.
    _, (etas, norms) = jax.jit(lambda e: jax.lax.scan(step, e, None, length=num_steps))(
        eta0
    )
    path = np.concatenate([np.asarray(eta0)[None], np.asarray(etas)])
    return path, np.asarray(norms)


def fit_with(gamma, xs, eta0, optimizer, num_steps: int, chunk: int):
    """ef.fit, full batch, recording η after every ``chunk`` steps."""
    path = [np.asarray(eta0)]

    def record(info):
        path.append(np.asarray(info["natural"]))

    result = ef.fit(
        gamma,
        xs,
        optimizer=optimizer,
        batch_size=xs.shape[0],
        num_steps=num_steps,
        init=eta0,
        callback=record,
        chunk=chunk,
        progress=False,
    )
    return result, np.asarray(path), np.asarray(result.history.residual_norm)


def steps_to(norms: np.ndarray, target: float) -> int:
    """Steps taken before the residual norm first fell below ``target``; −1: never."""
    below = np.flatnonzero(norms < target)
    return int(below[0]) if below.size else -1


def plot(gamma, u_bar, eta_hat, runs, out: Path) -> list[Path]:
    colors = {"gradient ascent": "tab:blue", "adam": "tab:orange"}
    colors["natural gradient"] = "tab:green"

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, run in runs.items():
        ax.semilogy(run["norms"], color=colors[name], label=name)
    ax.axhline(TARGET, color="gray", ls="--", lw=1, label=f"{TARGET:g}")
    ax.set_xlabel("step")
    ax.set_ylabel("‖ū − ∇A(η)‖  (residual norm)")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(0, None)
    ax.set_title("Gamma MLE: the residual E_emp[u] − E_model[u] shrinking to 0")
    ax.legend()
    fig.tight_layout()
    residual_path = out / f"{STEM}.png"
    fig.savefig(residual_path, dpi=110)
    plt.close(fig)

    # NLL(η) = A(η) − ⟨η, ū⟩ (h = 1 for the Gamma), on a grid of the (η₁, η₂) plane.
    points = np.concatenate([run["path"] for run in runs.values()])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.15 * (hi - lo)
    e1 = np.linspace(max(lo[0] - pad[0], -0.99), hi[0] + pad[0], 200)
    e2 = np.linspace(lo[1] - pad[1], min(hi[1] + pad[1], -1e-3), 200)
    grid = jnp.stack(jnp.meshgrid(e1, e2), axis=-1).reshape(-1, 2)

    def nll(eta):
        return gamma.log_partition(eta) - eta @ u_bar

    nll_grid = jax.jit(jax.vmap(nll))(grid)
    excess = np.asarray(nll_grid).reshape(200, 200) - float(jax.jit(nll)(eta_hat))
    fig, ax = plt.subplots(figsize=(7, 5.5))
    levels = np.logspace(-4, np.log10(excess.max()), 14)
    ax.contour(e1, e2, excess, levels=levels, cmap="Greys_r", linewidths=0.8)
    for name, run in runs.items():
        p = run["path"]
        ax.plot(p[:, 0], p[:, 1], ".-", ms=3, lw=1, color=colors[name], label=name)
    ax.plot(*runs["adam"]["path"][0], "ks", label="start")
    ax.plot(*np.asarray(eta_hat), "r*", ms=14, label="MLE (gamma.mle)")
    ax.set_xlabel("η₁ = shape − 1")
    ax.set_ylabel("η₂ = −rate")
    ax.set_title("Paths of η; contours of NLL(η) − NLL(η̂) at 1e-4 … (log-spaced)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path_path = out / f"{STEM}_paths.png"
    fig.savefig(path_path, dpi=110)
    plt.close(fig)
    return [residual_path, path_path]


def run(args) -> dict:
    gamma = ef.Gamma()
    rng = np.random.default_rng(args.seed)
    xs = jnp.asarray(rng.gamma(TRUE["shape"], 1 / TRUE["rate"], size=args.n))
    eta0 = gamma.natural_from(**START)

    # The reference answers: moment matching and scipy.
    eta_hat = gamma.mle(xs)
    shape_sp, _, scale_sp = scipy.stats.gamma.fit(np.asarray(xs), floc=0)
    eta_scipy = np.array([shape_sp - 1, -1 / scale_sp])

    u_bar = gamma.average_sufficient_statistics(xs)  # ū = [mean log x, mean x]
    grad_check = check_residual_is_gradient(gamma, eta0, xs)

    runs = {}
    path, norms = gradient_ascent(gamma, u_bar, eta0, args.lr, args.steps)
    runs["gradient ascent"] = {"path": path, "norms": norms}
    _, path, norms = fit_with(
        gamma, xs, eta0, optax.adam(args.adam_lr), args.steps, chunk=25
    )
    runs["adam"] = {"path": path, "norms": norms}
    _, path, norms = fit_with(gamma, xs, eta0, ef.natural_gradient(gamma), 20, chunk=1)
    runs["natural gradient"] = {"path": path, "norms": norms}

    print(f"Gamma{TRUE}: {args.n} samples, start at Gamma{START}")
    print(f"ū = [mean log x, mean x] = {np.asarray(u_bar).round(6).tolist()}")
    print(f"max |autodiff ∇ mean log-lik − residual| at the start: {grad_check:.2e}")
    print(f"MLE η̂ (gamma.mle):  {np.asarray(eta_hat).round(8).tolist()}")
    print(f"MLE η (scipy fit):  {eta_scipy.round(8).tolist()}\n")
    print(f"| method | steps to residual < {TARGET:g} | final residual | |η − η̂| |")
    print("| --- | --- | --- | --- |")
    results = {}
    for name, run_ in runs.items():
        steps = steps_to(run_["norms"], TARGET)
        final = float(run_["norms"][-1])
        dist = float(np.max(np.abs(run_["path"][-1] - np.asarray(eta_hat))))
        shown = str(steps) if steps >= 0 else f"> {len(run_['norms'])}"
        print(f"| {name} | {shown} | {final:.1e} | {dist:.1e} |")
        key = name.replace(" ", "_")
        results[f"steps_{key}"] = steps
        results[f"final_residual_{key}"] = final
        results[f"initial_residual_{key}"] = float(run_["norms"][0])
        results[f"distance_{key}"] = dist

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = plot(gamma, u_bar, eta_hat, runs, out)
    print("\nsaved " + ", ".join(str(p) for p in paths))
    results["residual_vs_autodiff"] = grad_check
    results["mle_vs_scipy"] = float(np.max(np.abs(np.asarray(eta_hat) - eta_scipy)))
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figures")
    parser.add_argument("--n", type=int, default=5000, help="samples")
    parser.add_argument(
        "--steps", type=int, default=2000, help="steps of gradient ascent and adam"
    )
    parser.add_argument("--lr", type=float, default=0.5, help="gradient ascent rate")
    parser.add_argument("--adam-lr", type=float, default=0.05, help="adam's rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # float64: a residual of 1e-6 is below float32's rounding floor for ∇A(η).
    with jax.enable_x64(True):
        return run(args)


if __name__ == "__main__":
    main()
