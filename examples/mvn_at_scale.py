"""How fast is a multivariate-normal fit on 10^7 samples? One pass against minibatches.

First the 13 chemical measurements of scikit-learn's wine data set (178 wines,
z-scored) get a multivariate normal by ``ef.MultivariateNormal(13).mle``:
u(x) = (x, x xᵀ), so the MLE matches the sample mean and the second moments,
and must agree with numpy's ``mean`` and ``cov(bias=True)``. Then the fitted
model becomes the truth: 10^7 float32 samples are drawn from it (520 MB) and
the model is fitted again two ways, timed: ``mle``, one pass over the whole
array (ū = mean of u, then the closed-form inverse of ∇A), and ``ef.fit`` with
adam on minibatches of 2^16 rows (each step pulls the minibatch residual
ū − ∇A(η) back to the unconstrained Cholesky coordinates). Each fit is scored
by its distance to the truth: the mean, the relative covariance error and the
KL divergence KL(truth ‖ fit), which for an MLE on n samples is about
(number of parameters)/(2n).

    python examples/mvn_at_scale.py [--out DIR] [--dataset wine|iris] [--n 10000000]
        [--batch-size 65536] [--steps 300] [--lr 0.1] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from sklearn.datasets import load_iris, load_wine

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "mvn_at_scale"


def load_zscores(dataset: str) -> tuple[np.ndarray, list[str]]:
    """The data set's features as z-scores (float64). Wine's raw features span
    five orders of magnitude (proline ~750, hue ~1), which would make the
    precision matrix needlessly ill-conditioned in float32."""
    bunch = {"wine": load_wine, "iris": load_iris}[dataset]()
    x = bunch.data
    return (x - x.mean(axis=0)) / x.std(axis=0), list(bunch.feature_names)


def draw(mean: np.ndarray, cov: np.ndarray, n: int, seed: int) -> jax.Array:
    """n float32 samples of N(mean, cov) as m + L g with L Lᵀ = cov, g ~ N(0, I).

    g comes from numpy's ziggurat, several times faster on CPU than JAX's
    counter-based generator for 10^8 draws; the affine map runs in XLA. The
    result is a JAX array, so ``fit`` and ``mle`` read it where it lies.
    """
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n, len(mean)), dtype=np.float32)
    chol = np.linalg.cholesky(cov).astype(np.float32)
    affine = jax.jit(lambda g, chol, m: g @ chol.T + m[None, :])
    return affine(jnp.asarray(g), chol, mean.astype(np.float32))


def distance(mvn: ef.MultivariateNormal, eta_true, eta_fit) -> dict[str, float]:
    """How far a fitted η is from the truth: mean, covariance and KL."""
    true, fit = mvn.params_from(eta_true), mvn.params_from(eta_fit)
    cov_true = np.asarray(true["covariance"], np.float64)
    cov_fit = np.asarray(fit["covariance"], np.float64)
    return {
        "mean_err": float(np.max(np.abs(np.asarray(fit["mean"]) - true["mean"]))),
        "cov_rel_err": float(
            np.linalg.norm(cov_fit - cov_true) / np.linalg.norm(cov_true)
        ),
        "kl": float(mvn.kl_divergence(eta_true, eta_fit)),
    }


def timed(fn, *args):
    """(result, seconds), waiting for JAX's asynchronous dispatch to finish."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - start


def ellipse(mean: np.ndarray, cov: np.ndarray, radius: float) -> np.ndarray:
    """Points of {x : (x − m)ᵀ Σ⁻¹ (x − m) = r²} for a 2 × 2 covariance."""
    angle = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return mean[:, None] + radius * np.linalg.cholesky(cov) @ circle


def plot(z, xs, names, pair, fits, nll, entropy, trace, mle_kl, path: Path) -> None:
    i, j = pair
    fig, (left, middle, right) = plt.subplots(
        1, 3, figsize=(15, 4.6), layout="constrained"
    )
    shown = np.asarray(xs[:5000])
    left.plot(shown[:, i], shown[:, j], ".", ms=1, color="0.7", label="generated")
    left.plot(z[:, i], z[:, j], "o", ms=3, color="C0", label="data")
    for (label, params), color, lw in zip(
        fits.items(), ["C1", "k"], [3, 1], strict=True
    ):
        m = np.asarray(params["mean"])[[i, j]]
        c = np.asarray(params["covariance"])[np.ix_([i, j], [i, j])]
        for radius, style in [(1, "-"), (2, "--"), (3, ":")]:
            points = ellipse(m, c, radius)
            label_once = label if radius == 1 else None
            left.plot(*points, style, color=color, lw=lw, label=label_once)
    left.set_xlabel(f"{names[i]} (z-score)")
    left.set_ylabel(f"{names[j]} (z-score)")
    left.set_title("1, 2, 3 σ ellipses of the fitted covariance")
    left.legend(fontsize=8, markerscale=2)

    # The excess of the minibatch NLL over the entropy of the truth (its value
    # at the optimum): it falls to the minibatch noise, about ±sqrt(d/2)/√batch.
    steps = np.arange(1, len(nll) + 1)
    middle.plot(steps, nll - entropy, color="C2", lw=1)
    middle.axhline(0, color="k", lw=0.8)
    middle.set_yscale("symlog", linthresh=1e-2)
    middle.set_xlabel("adam step")
    middle.set_ylabel("minibatch NLL − H(truth) (nats)")
    middle.set_title(f"the fit's NLL per step (H(truth) = {entropy:.4f})")

    step, kl = np.array(trace).T
    right.semilogy(step, kl, "o-", ms=3, color="C2", label="adam (every 10 steps)")
    right.axhline(mle_kl, color="C1", lw=2, label="mle, one pass")
    right.set_xlabel("adam step")
    right.set_ylabel("KL(truth ‖ fit) (nats)")
    right.set_title("distance to the truth")
    right.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figures")
    parser.add_argument("--dataset", choices=["wine", "iris"], default="wine")
    parser.add_argument("--n", type=int, default=10_000_000, help="generated rows")
    parser.add_argument("--batch-size", type=int, default=1 << 16)
    parser.add_argument("--steps", type=int, default=300, help="adam steps")
    parser.add_argument("--lr", type=float, default=0.1, help="adam peak rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. The real data: the MLE is the sample mean and the biased covariance.
    z, names = load_zscores(args.dataset)
    d = z.shape[1]
    mvn = ef.MultivariateNormal(d)
    eta_data = mvn.mle(z.astype(np.float32))
    fitted = mvn.params_from(eta_data)
    mean_gap = np.max(np.abs(np.asarray(fitted["mean"]) - z.mean(axis=0)))
    cov_gap = np.max(
        np.abs(np.asarray(fitted["covariance"]) - np.cov(z, rowvar=False, bias=True))
    )
    print(f"{args.dataset}: {len(z)} rows × {d} features (z-scores), float32 mle")
    print(f"max |mean − numpy mean|:            {mean_gap:.1e}")
    print(f"max |covariance − numpy cov(bias)|: {cov_gap:.1e}\n")

    # 2. The fitted model becomes the truth; draw n rows from it.
    mean_true = np.asarray(fitted["mean"], np.float64)
    cov_true = np.asarray(fitted["covariance"], np.float64)
    eta_true = mvn.natural_from(mean=mean_true, covariance=cov_true)
    xs, gen_time = timed(draw, mean_true, cov_true, args.n, args.seed)
    print(
        f"generated {args.n:,} × {d} float32 samples ({xs.nbytes / 1e6:.0f} MB) "
        f"in {gen_time:.1f} s\n"
    )

    # 3. One pass: ū = (mean of x, mean of x xᵀ), then η̂ = (∇A)⁻¹(ū) in closed form.
    _, stats_time = timed(mvn.average_sufficient_statistics, xs)
    eta_mle, mle_time = timed(mvn.mle, xs)
    # The floor: one plain read of the same sums in numpy (no checks, float32).
    host = np.asarray(xs)
    _, numpy_time = timed(lambda x: (x.sum(axis=0), x.T @ x), host)

    # 4. Minibatch maximum likelihood with adam. Every chunk of 10 compiled
    #    steps the callback clocks the time and measures KL(truth ‖ current η);
    #    the first chunk includes compilation and is left out of the rate.
    chunk = 10
    clock, trace = [time.perf_counter()], []

    def monitor(info) -> None:
        clock.append(time.perf_counter())
        trace.append(
            (info["step"], float(mvn.kl_divergence(eta_true, info["natural"])))
        )

    schedule = optax.cosine_decay_schedule(args.lr, args.steps, alpha=0.01)
    start = time.perf_counter()
    result = ef.fit(
        mvn,
        xs,
        optimizer=optax.adam(schedule),
        batch_size=args.batch_size,
        num_steps=args.steps,
        key=jax.random.key(args.seed),
        progress=False,
        callback=monitor,
        chunk=chunk,
    )
    fit_time = time.perf_counter() - start
    chunk_times = np.diff(clock)[1:]  # without the compiling first chunk
    if len(chunk_times):
        steps_per_s = chunk * len(chunk_times) / chunk_times.sum()
    else:
        steps_per_s = result.num_steps / fit_time

    rows = {
        "mle, one pass over all rows": distance(mvn, eta_true, eta_mle),
        f"ef.fit adam, {result.num_steps} × {args.batch_size:,} rows": distance(
            mvn, eta_true, result.natural
        ),
    }
    n_params = d + d * (d + 1) // 2
    print("| fit | max abs mean error | rel. covariance error | KL(truth ‖ fit) |")
    print("| --- | ---: | ---: | ---: |")
    for name, dist in rows.items():
        print(
            f"| {name} | {dist['mean_err']:.1e} | {dist['cov_rel_err']:.1e} "
            f"| {dist['kl']:.1e} |"
        )
    print(
        f"(an MLE on n rows: KL ≈ {n_params} parameters / 2n = "
        f"{n_params / (2 * args.n):.1e})\n"
    )

    print("| operation | seconds | samples/s |")
    print("| --- | ---: | ---: |")
    print(
        f"| average_sufficient_statistics (first call) | {stats_time:.2f} "
        f"| {args.n / stats_time:.2e} |"
    )
    print(f"| mle | {mle_time:.2f} | {args.n / mle_time:.2e} |")
    print(
        f"| numpy x.sum(0) and xᵀx (reference: one read) | {numpy_time:.2f} "
        f"| {args.n / numpy_time:.2e} |"
    )
    print(
        f"| ef.fit adam, all {result.num_steps} steps (with compilation) "
        f"| {fit_time:.2f} | {result.num_steps * args.batch_size / fit_time:.2e} |"
    )
    print(
        f"| ef.fit adam, steady state: {steps_per_s:.0f} steps/s | "
        f"| {steps_per_s * args.batch_size:.2e} |"
    )

    # The most correlated pair of features, for the scatter plot.
    corr = np.corrcoef(z, rowvar=False) - np.eye(d)
    pair = np.unravel_index(np.argmax(np.abs(corr)), corr.shape)
    path = out / f"{STEM}.png"
    fits = {
        f"mle on the {len(z)} rows": fitted,
        f"adam on {args.n:,} generated": result.params,
    }
    entropy = float(mvn.entropy(eta_true))
    mle_kl = rows["mle, one pass over all rows"]["kl"]
    plot(z, xs, names, pair, fits, result.history.nll, entropy, trace, mle_kl, path)
    print(f"\nsaved {path}")

    mle_dist = rows["mle, one pass over all rows"]
    fit_dist = rows[next(k for k in rows if k.startswith("ef.fit"))]
    return {
        "data_mean_gap": float(mean_gap),
        "data_cov_gap": float(cov_gap),
        "mle_kl": mle_dist["kl"],
        "mle_cov_rel_err": mle_dist["cov_rel_err"],
        "fit_kl": fit_dist["kl"],
        "fit_cov_rel_err": fit_dist["cov_rel_err"],
        "expected_mle_kl": n_params / (2 * args.n),
        "mle_samples_per_s": args.n / mle_time,
        "stats_samples_per_s": args.n / stats_time,
        "numpy_samples_per_s": args.n / numpy_time,
        "fit_samples_per_s": steps_per_s * args.batch_size,
        "fit_final_nll": float(result.history.nll[-1]),
        "entropy": entropy,
        "generate_seconds": gen_time,
    }


if __name__ == "__main__":
    main()
