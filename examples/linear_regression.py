"""Why is least squares maximum likelihood for a Gaussian linear model?

With y = b + w·x + ε, ε ~ N(0, σ²), the negative log-likelihood of n points is

    NLL = n/2 · log(2πσ²) + SSE / (2σ²),   SSE = Σ_i (y_i − b − w·x_i)²,

so for any fixed σ² it is an increasing affine function of the mean squared
error MSE = SSE/n: both have the same minimizer in (b, w). This example fits the
Gaussian GLM ``ef.GLM(ef.Normal(), 1)`` by Fisher scoring and shows that its
coefficients equal least squares (``numpy.linalg.lstsq``) and that its noise
variance exp(log_variance) is the MLE SSE/n (not the unbiased SSE/(n − 2)). Along
a path of slopes it plots the mean NLL against the MSE: a straight line of
slope 1/(2σ²) and intercept ½·log(2πσ²).

    python examples/linear_regression.py [--out DIR] [--n 200] [--seed 0]
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

STEM = "linear_regression"
TRUE_INTERCEPT, TRUE_SLOPE, TRUE_SIGMA = 1.0, 0.8, 1.5


def make_data(key, n: int):
    """x uniform on [0, 10]; y = b + w·x + σ·noise."""
    kx, ke = jax.random.split(key)
    x = jax.random.uniform(kx, (n,), minval=0.0, maxval=10.0)
    y = TRUE_INTERCEPT + TRUE_SLOPE * x + TRUE_SIGMA * jax.random.normal(ke, (n,))
    return x, y


def least_squares(x: np.ndarray, y: np.ndarray):
    """(intercept, slope) minimizing SSE, and the SSE, in float64 numpy."""
    design = np.column_stack([np.ones_like(x), x]).astype(np.float64)
    (b, w), *_ = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)
    sse = float(np.sum((y - b - w * x) ** 2))
    return float(b), float(w), sse


def nll_and_mse_along_slopes(model, params, inputs, y, slopes):
    """Mean NLL (from the GLM) and MSE at (b̂, w, σ̂²) for each slope w."""

    def at(w):
        p = {**params, "coef": jnp.reshape(w, (1,))}
        mean_nll = model.objective(p, inputs, y)  # −(1/n) Σ log p(y_i | x_i)
        residuals = y - jax.vmap(model.linear_predictor, (None, 0))(p, inputs)
        return mean_nll, jnp.mean(residuals**2)

    nll, mse = jax.vmap(at)(slopes)
    return np.asarray(nll), np.asarray(mse)


def plot(x, y, fit, lsq, slopes, nll, mse, sigma2, out: Path) -> Path:
    fig, (ax_data, ax_path, ax_affine) = plt.subplots(1, 3, figsize=(15, 4.4))
    grid = np.linspace(0, 10, 2)
    ax_data.scatter(x, y, s=8, alpha=0.5, color="gray", label="data")
    ax_data.plot(grid, fit[0] + fit[1] * grid, lw=3, alpha=0.6, label="GLM (Normal)")
    ax_data.plot(grid, lsq[0] + lsq[1] * grid, "k--", label="least squares")
    ax_data.plot(
        grid, TRUE_INTERCEPT + TRUE_SLOPE * grid, ":", color="tab:red", label="true"
    )
    ax_data.set_xlabel("x")
    ax_data.set_ylabel("y")
    ax_data.set_title("Gaussian maximum likelihood = least squares")
    ax_data.legend(fontsize=8)

    ax_path.plot(slopes, nll, color="tab:blue", label="mean NLL")
    ax_path.set_xlabel("slope w  (intercept and σ² at their MLE)")
    ax_path.set_ylabel("mean NLL (nats)", color="tab:blue")
    twin = ax_path.twinx()
    twin.plot(slopes, mse, "--", color="tab:orange", label="MSE")
    twin.set_ylabel("MSE", color="tab:orange")
    ax_path.axvline(fit[1], color="black", lw=0.8, label="ŵ (GLM = lstsq)")
    ax_path.set_title("Both are minimized at the same slope")
    handles = (
        ax_path.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    )
    ax_path.legend(handles=handles, loc="upper center", fontsize=8)

    ax_affine.plot(mse, nll, ".", ms=4, label="along the path of slopes")
    line = 0.5 * np.log(2 * np.pi * sigma2) + mse / (2 * sigma2)
    ax_affine.plot(mse, line, "k-", lw=0.8, label="½ log 2πσ̂² + MSE / (2σ̂²)")
    ax_affine.set_xlabel("MSE")
    ax_affine.set_ylabel("mean NLL (nats)")
    ax_affine.set_title("NLL is affine in MSE (fixed σ²)")
    ax_affine.legend(fontsize=8)
    fig.tight_layout()
    path = out / f"{STEM}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(args) -> dict:
    x, y = make_data(jax.random.key(args.seed), args.n)
    inputs = x[:, None]  # one feature per row: shape (n, 1)

    # The Gaussian GLM: mean b + w·x (identity link), variance σ² = exp(log_variance).
    model = ef.GLM(ef.Normal(), num_features=1)
    # Without init, fisher_scoring starts at the intercept-only MLE: the data's
    # mean and variance, slope 0. (From GLM.init, all zeros and σ² = 1, the
    # first Fisher step on log σ² would be mean(y²)/σ² − 1 ≈ 20: σ² would jump
    # to ~e²⁰ and log σ² crawl back about 1 per step, 39 steps instead of 7.)
    result = ef.fisher_scoring(model, (inputs, y))
    params = result.params
    b_fit = float(params["intercept"])
    w_fit = float(params["coef"][0])
    sigma2_fit = float(jnp.exp(params["log_variance"]))

    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    b_lsq, w_lsq, sse = least_squares(xs, ys)
    n = args.n
    sigma2_mle = sse / n  # ∂NLL/∂σ² = 0  ⇒  σ̂² = SSE/n
    sigma2_unbiased = sse / (n - 2)

    # NLL at the fit, against the closed form n/2·log(2πσ²) + SSE/(2σ²) (per point).
    mean_nll = float(model.objective(params, inputs, y))
    closed_form = 0.5 * np.log(2 * np.pi * sigma2_mle) + sse / (2 * n * sigma2_mle)

    slopes = w_fit + jnp.linspace(-0.3, 0.3, 121)
    nll, mse = nll_and_mse_along_slopes(model, params, inputs, y, slopes)
    # Fit NLL = a + c·MSE by least squares: c should be 1/(2σ̂²), a = ½ log 2πσ̂².
    c, a = np.polyfit(mse.astype(np.float64), nll.astype(np.float64), 1)
    affine_gap = float(np.max(np.abs(nll - (a + c * mse))))

    def rel(u, v):
        return abs(u - v) / abs(v)

    print(f"{n} points, y = {TRUE_INTERCEPT} + {TRUE_SLOPE}·x + N(0, {TRUE_SIGMA}²)")
    print(f"Fisher scoring: {result.num_steps} steps, converged {result.converged}\n")
    print("| quantity | expfam GLM | reference | relative difference |")
    print("| --- | --- | --- | --- |")
    print(
        f"| intercept | {b_fit:.6f} | {b_lsq:.6f} (lstsq) | {rel(b_fit, b_lsq):.1e} |"
    )
    print(f"| slope | {w_fit:.6f} | {w_lsq:.6f} (lstsq) | {rel(w_fit, w_lsq):.1e} |")
    print(
        f"| σ² = exp(log_variance) | {sigma2_fit:.6f} | {sigma2_mle:.6f} (SSE/n) "
        f"| {rel(sigma2_fit, sigma2_mle):.1e} |"
    )
    print(
        f"| mean NLL at the fit | {mean_nll:.6f} | {closed_form:.6f} (closed form) "
        f"| {rel(mean_nll, closed_form):.1e} |"
    )
    print()
    print(
        f"true σ² = {TRUE_SIGMA**2:.4f}; unbiased SSE/(n − 2) = {sigma2_unbiased:.4f}"
    )
    print(
        f"NLL vs MSE along the slopes: slope {c:.6f}, 1/(2σ̂²) = {0.5 / sigma2_fit:.6f}"
    )
    print(
        f"                             intercept {a:.6f}, "
        f"½ log 2πσ̂² = {0.5 * np.log(2 * np.pi * sigma2_fit):.6f}"
    )
    print(f"max deviation from the affine line: {affine_gap:.1e}")
    print(
        f"argmin over the path: NLL at w = {float(slopes[np.argmin(nll)]):.4f}, "
        f"MSE at w = {float(slopes[np.argmin(mse)]):.4f}"
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = plot(
        xs,
        ys,
        (b_fit, w_fit),
        (b_lsq, w_lsq),
        np.asarray(slopes),
        nll,
        mse,
        sigma2_fit,
        out,
    )
    print(f"\nsaved {path}")
    return {
        "n": n,
        "intercept": b_fit,
        "slope": w_fit,
        "intercept_lstsq": b_lsq,
        "slope_lstsq": w_lsq,
        "sigma2": sigma2_fit,
        "sigma2_mle": sigma2_mle,
        "sigma2_unbiased": sigma2_unbiased,
        "sigma2_true": TRUE_SIGMA**2,
        "mean_nll": mean_nll,
        "mean_nll_closed_form": float(closed_form),
        "nll_vs_mse_slope": float(c),
        "nll_vs_mse_intercept": float(a),
        "affine_gap": affine_gap,
        "converged": bool(result.converged),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figure")
    parser.add_argument("--n", type=int, default=200, help="data points")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # float64: the GLM and lstsq then agree to ~1e-12, not float32's ~1e-4 on σ².
    with jax.enable_x64(True):
        return run(args)


if __name__ == "__main__":
    main()
