"""Is it a 7? Logistic regression on 8×8 handwritten digits, against scikit-learn.

Each image x is 64 grey levels (standardized); the label y is 1 when the digit
is a 7. Logistic regression is the Bernoulli family with a linear natural
parameter, the log-odds η(x) = xᵀw + b: u(y) = y, A(η) = log(1 + e^η) and
∇A(η) = σ(η) = P(y = 1 | x). With scikit-learn's L2 penalty ‖w‖²/(2C) the
maximum-likelihood equations say the pulled-back residual
Σ_i x_i (y_i − σ(η_i)) − w/C is zero. ``ef.fisher_scoring`` solves them by
Newton's method (IRLS: for the canonical link the Fisher information is the
exact Hessian) in about ten steps;
``ef.fit`` with adam takes minibatch gradient steps on the same objective. All
are compared with ``sklearn.linear_model.LogisticRegression(C=1.0)`` on
held-out accuracy and log-loss, on the training objective and on the
coefficients themselves: the accuracies agree, the weights agree only when the
optimum is actually reached.

    python examples/is_it_a_seven.py [--out DIR] [--test-size 0.25] [--c 1.0]
        [--adam-steps 2000] [--seed 0]
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
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "is_it_a_seven"


def load_data(test_size: float, seed: int):
    """Float32 z-scores (train statistics), y = 1 for a 7, a stratified split."""
    digits = load_digits()
    images, labels = digits.data, (digits.target == 7).astype(np.float32)
    x_train, x_test, y_train, y_test, _, img_test = train_test_split(
        images,
        labels,
        digits.images,
        test_size=test_size,
        stratify=labels,
        random_state=seed,
    )
    # Constant pixels (always blank in the corners) get scale 1: they stay 0.
    scaler = StandardScaler().fit(x_train)
    x_train = scaler.transform(x_train).astype(np.float32)
    x_test = scaler.transform(x_test).astype(np.float32)
    return x_train, x_test, y_train, y_test, img_test


def probability_of_seven(model: ef.GLM, params, x: np.ndarray) -> np.ndarray:
    """P(y = 1 | x) = ∇A(η(x)): the Bernoulli mean parameter, one row at a time."""
    return np.asarray(jax.vmap(model.predict, (None, 0))(params, jnp.asarray(x)))


def accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p > 0.5) == (y > 0.5)))


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """The mean held-out cross-entropy −[y log p + (1 − y) log(1 − p)]."""
    p = np.clip(p.astype(np.float64), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def plot(fits: dict, reference: str, images, y_test, path: Path) -> None:
    """The 8×8 image of w, every fit's w against the reference's, and test digits."""
    coef, _, p_test, *_ = fits["expfam Fisher scoring"]
    fig = plt.figure(figsize=(12, 4.4), layout="constrained")
    grid = fig.add_gridspec(2, 5, width_ratios=[1.6, 1.6, 1, 1, 1])

    ax = fig.add_subplot(grid[:, 0])
    limit = float(np.max(np.abs(coef)))
    shown = ax.imshow(coef.reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(
        "w, one log-odds weight per pixel\n(red: ink there says 7)", fontsize=9
    )
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(shown, ax=ax, shrink=0.7)

    ax = fig.add_subplot(grid[:, 1])
    ref = fits[reference][0]
    for name, marker in [
        ("expfam Fisher scoring", "o"),
        ("ef.fit adam (batch 256)", "x"),
    ]:
        if name in fits:
            ax.plot(ref, fits[name][0], marker, ms=4, label=name)
    ax.plot([-limit, limit], [-limit, limit], "k-", lw=0.5)
    ax.set_xlabel(f"w, {reference}", fontsize=8)
    ax.set_ylabel("w, expfam", fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title("the 64 weights against scikit-learn's", fontsize=9)

    # Six test digits: the three surest 7s, the least sure 7 and the two
    # non-7s that look most like a 7 to the model.
    sevens = np.flatnonzero(y_test == 1)
    others = np.flatnonzero(y_test == 0)
    chosen = np.concatenate(
        [
            sevens[np.argsort(-p_test[sevens])[:3]],
            sevens[np.argsort(p_test[sevens])[:1]],
            others[np.argsort(-p_test[others])[:2]],
        ]
    )
    for k, i in enumerate(chosen):
        ax = fig.add_subplot(grid[k // 3, 2 + k % 3])
        ax.imshow(images[i], cmap="gray_r")
        truth = "a 7" if y_test[i] == 1 else "not a 7"
        ax.set_title(f"P(7) = {p_test[i]:.3f}\n({truth})", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Is it a 7? Logistic regression as a Bernoulli GLM (held-out digits)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def objective(coef, intercept, x, y, c: float) -> float:
    """The penalized mean NLL in float64: mean[A(η) − yη] + ‖w‖²/(2Cn), A = softplus."""
    eta = x.astype(np.float64) @ np.asarray(coef, np.float64) + float(intercept)
    nll = np.mean(np.logaddexp(0.0, eta) - y * eta)
    return float(nll + np.sum(np.square(coef, dtype=np.float64)) / (2 * c * len(y)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figures")
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    parser.add_argument(
        "--adam-steps", type=int, default=2000, help="ef.fit steps (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    x_train, x_test, y_train, y_test, img_test = load_data(args.test_size, args.seed)
    n, p = x_train.shape
    print(
        f"digits: {n} train / {len(y_test)} test images of {p} pixels; "
        f"{y_train.mean():.1%} of the training digits are 7s\n"
    )

    # Logistic regression = GLM(Bernoulli) with scikit-learn's penalty ‖w‖²/(2C).
    model = ef.GLM(ef.Bernoulli(), p, C=args.c)
    data = (jnp.asarray(x_train), jnp.asarray(y_train))
    fits = {}  # name -> (coef, intercept, P(7) on the test set, steps, seconds)

    # 1. Fisher scoring (IRLS), float32: Newton steps on the penalized NLL.
    start = time.perf_counter()
    scoring = ef.fisher_scoring(model, data)
    params = scoring.params
    p_test = probability_of_seven(model, params, x_test)
    fits["expfam Fisher scoring"] = (
        np.asarray(params["coef"]),
        float(params["intercept"]),
        p_test,
        scoring.num_steps,
        time.perf_counter() - start,
    )

    # 2. The reference: scikit-learn's Newton solver to a tight tolerance, in
    #    float64 (given float32 data, scikit-learn also solves in float32).
    x64_train, x64_test = x_train.astype(np.float64), x_test.astype(np.float64)
    start = time.perf_counter()
    sk = LogisticRegression(C=args.c, solver="newton-cholesky", tol=1e-10)
    sk.fit(x64_train, y_train)
    sk_p_test = sk.predict_proba(x64_test)[:, 1]
    fits["scikit-learn newton-cholesky"] = (
        sk.coef_[0],
        float(sk.intercept_[0]),
        sk_p_test,
        int(sk.n_iter_[0]),
        time.perf_counter() - start,
    )
    #    and with its defaults (L-BFGS, tol 1e-4), as most code calls it.
    start = time.perf_counter()
    default = LogisticRegression(C=args.c).fit(x64_train, y_train)
    fits["scikit-learn defaults (lbfgs)"] = (
        default.coef_[0],
        float(default.intercept_[0]),
        default.predict_proba(x64_test)[:, 1],
        int(default.n_iter_[0]),
        time.perf_counter() - start,
    )

    # 3. The same objective by minibatch adam steps through ef.fit.
    if args.adam_steps > 0:
        start = time.perf_counter()
        adam = ef.fit(
            model,
            data,
            optimizer=optax.adam(optax.cosine_decay_schedule(0.05, args.adam_steps)),
            batch_size=256,
            num_steps=args.adam_steps,
            key=jax.random.key(args.seed),
            progress=False,
        )
        fits["ef.fit adam (batch 256)"] = (
            np.asarray(adam.params["coef"]),
            float(adam.params["intercept"]),
            probability_of_seven(model, adam.params, x_test),
            adam.num_steps,
            time.perf_counter() - start,
        )

    sk_coef, sk_intercept = sk.coef_[0], float(sk.intercept_[0])
    print(
        "| fit | test accuracy | test log-loss | train objective "
        "| max abs w − w_sk | abs b − b_sk | steps | seconds |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (coef, intercept, prob, steps, seconds) in fits.items():
        print(
            f"| {name} | {accuracy(prob, y_test):.4f} | {log_loss(prob, y_test):.4f} "
            f"| {objective(coef, intercept, x_train, y_train, args.c):.7f} "
            f"| {np.max(np.abs(coef - sk_coef)):.1e} "
            f"| {abs(intercept - sk_intercept):.1e} | {steps} | {seconds:.2f} |"
        )
    baseline = accuracy(np.zeros_like(y_test), y_test)
    print(f"\nbaseline 'never a 7': test accuracy {baseline:.4f}")

    coef = fits["expfam Fisher scoring"][0]
    results = {
        "accuracy_expfam": accuracy(p_test, y_test),
        "accuracy_sklearn": accuracy(sk_p_test, y_test),
        "accuracy_never_7": baseline,
        "log_loss_expfam": log_loss(p_test, y_test),
        "log_loss_sklearn": log_loss(sk_p_test, y_test),
        "max_coef_diff": float(np.max(np.abs(coef - sk_coef))),
        "max_abs_coef": float(np.max(np.abs(sk_coef))),
        "max_prob_diff": float(np.max(np.abs(p_test - sk_p_test))),
        "fisher_steps": scoring.num_steps,
        "fisher_converged": scoring.converged,
    }
    print(
        f"max abs w_expfam − w_sklearn: {results['max_coef_diff']:.2e} "
        f"(float32 against float64; largest abs w: {results['max_abs_coef']:.3f})\n"
        f"max abs P(7)_expfam − P(7)_sklearn on the test set: "
        f"{results['max_prob_diff']:.2e}"
    )
    if args.adam_steps > 0:
        adam_coef = fits["ef.fit adam (batch 256)"][0]
        results["accuracy_adam"] = accuracy(fits["ef.fit adam (batch 256)"][2], y_test)
        results["max_coef_diff_adam"] = float(np.max(np.abs(adam_coef - sk_coef)))

    path = out / f"{STEM}.png"
    plot(fits, "scikit-learn newton-cholesky", img_test, y_test, path)
    print(f"\nsaved {path}")
    return results


if __name__ == "__main__":
    main()
