"""Why do maximum likelihood, minimum KL and minimum cross-entropy give one fit?

A loaded die is rolled n times. Its empirical distribution p̂ (the fraction of
rolls showing each face) is itself a Categorical(6), so expfam's ``entropy``,
``kl_divergence`` and ``cross_entropy`` apply to it directly. Along a path of
models p_t (a tempered family from the fair die at t = 0 through the MLE at
t = 1), the mean negative log-likelihood of the rolls equals the cross-entropy
H(p̂, p_t), which equals H(p̂) + KL(p̂ ‖ p_t), to rounding. H(p̂) does not depend
on t, so the three curves differ by a constant and share their minimizer: the
MLE from ``mle`` (moment matching, ∇A(η̂) = ū).

    python examples/mle_kl_cross_entropy.py [--out DIR] [--n 600] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from scipy.optimize import minimize_scalar

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "mle_kl_cross_entropy"
TRUE_PROBS = [0.05, 0.08, 0.12, 0.15, 0.20, 0.40]  # a die loaded towards six


def curves(die, eta_hat, rolls, ts):
    """NLL, cross-entropy, KL and entropy along the path η(t) = t·η̂.

    η = 0 is the fair die (all log-odds log p_j/p_6 are 0), so t·η̂ tempers the
    fitted die: p_t ∝ p̂^t, flat at t = 0, p̂ at t = 1, sharper beyond.
    """

    def nll(t):
        # −(1/n) Σ_i log p(x_i | η): the mean over the data, one log_prob per roll.
        log_p = jax.vmap(die.log_prob, (None, 0))(t * eta_hat, rolls)
        return -jnp.mean(log_p)

    def cross_entropy(t):  # H(p̂, p_t) = −E_p̂[log p_t(x)]
        return die.cross_entropy(eta_hat, t * eta_hat)

    def kl(t):  # KL(p̂ ‖ p_t) = E_p̂[log p̂(x) − log p_t(x)]
        return die.kl_divergence(eta_hat, t * eta_hat)

    fns = {"nll": nll, "cross_entropy": cross_entropy, "kl": kl}
    fns = {name: jax.jit(fn) for name, fn in fns.items()}
    values = {name: np.asarray(jax.vmap(fn)(ts)) for name, fn in fns.items()}
    values["entropy"] = float(die.entropy(eta_hat))  # H(p̂): a constant in t
    return fns, values


def argmin_along_path(fn, lo: float, hi: float) -> float:
    """The minimizing t of one curve, by bounded Brent search (not on the grid)."""
    found = minimize_scalar(
        lambda t: float(fn(jnp.asarray(t))),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(found.x)


def plot(ts, values, argmins, out: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    h = values["entropy"]
    # Left: the likelihood view and the information view, on one scale.
    left.plot(ts, values["nll"], lw=4, alpha=0.4, label="mean NLL of the rolls")
    left.plot(ts, values["cross_entropy"], "--", label="cross-entropy H(p̂, p_t)")
    left.plot(ts, h + values["kl"], ":", lw=2, label="H(p̂) + KL(p̂ ‖ p_t)")
    left.axhline(h, color="gray", lw=1, label=f"H(p̂) = {h:.4f} (constant in t)")
    for name, marker in [("nll", "o"), ("cross_entropy", "s")]:
        t = argmins[name]
        left.plot([t], [np.interp(t, ts, values[name])], marker, color="k", mfc="none")
    left.set_ylabel("nats per roll")
    left.set_title("NLL = cross-entropy = H(p̂) + KL")
    # Right: the KL alone, the same curve shifted down by H(p̂).
    right.plot(ts, values["kl"], color="tab:red", label="KL(p̂ ‖ p_t)")
    right.axhline(0.0, color="gray", lw=1)
    t = argmins["kl"]
    right.plot([t], [np.interp(t, ts, values["kl"])], "^", color="k", mfc="none")
    right.set_ylabel("nats")
    right.set_title("KL(p̂ ‖ p_t) ≥ 0, zero at the MLE")
    for ax in (left, right):
        ax.axvline(1.0, color="black", ls="--", lw=0.8, label="MLE (t = 1)")
        ax.set_xlabel("t  (model η = t·η̂: 0 = fair die, 1 = MLE)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / f"{STEM}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(args) -> dict:
    die = ef.Categorical(6)
    true_eta = die.natural_from(probs=jnp.asarray(TRUE_PROBS))
    rolls = die.sample(jax.random.key(args.seed), true_eta, (args.n,))

    # The MLE by moment matching: ∇A(η̂) = ū, the fraction of rolls per face.
    eta_hat = die.mle(rolls)
    counts = np.bincount(np.asarray(rolls).astype(int), minlength=6)
    p_hat = counts / args.n
    # The empirical distribution p̂ as a member of the family: the same η.
    eta_emp = die.natural_from(probs=jnp.asarray(p_hat))
    mle_vs_empirical = float(jnp.max(jnp.abs(eta_hat - eta_emp)))
    residual_at_mle = float(jnp.max(jnp.abs(die.residual(eta_hat, rolls))))

    ts = jnp.linspace(-1.0, 3.0, 801)
    fns, values = curves(die, eta_hat, rolls, ts)
    h = values["entropy"]
    gap_decomposition = float(np.max(np.abs(values["nll"] - (h + values["kl"]))))
    gap_cross_entropy = float(np.max(np.abs(values["nll"] - values["cross_entropy"])))
    argmins = {name: argmin_along_path(fn, 0.0, 2.0) for name, fn in fns.items()}
    grid_argmins = {
        name: float(ts[np.argmin(v)]) for name, v in values.items() if name != "entropy"
    }

    fitted = np.asarray(die.params_from(eta_hat)["probs"])
    print(f"{args.n} rolls of a loaded die; counts per face: {counts.tolist()}\n")
    print("| face | true p | p̂ = count/n | mle probs |")
    print("| --- | --- | --- | --- |")
    for j in range(6):
        print(f"| {j + 1} | {TRUE_PROBS[j]:.3f} | {p_hat[j]:.4f} | {fitted[j]:.4f} |")
    print()
    print(f"max |η̂(mle) − η(natural_from(probs=p̂))|: {mle_vs_empirical:.2e}")
    print(f"max |ū − ∇A(η̂)| (residual at the MLE):   {residual_at_mle:.2e}")
    print(f"H(p̂) (entropy of the rolls):             {h:.6f} nats")
    print(f"max over the path |NLL − (H + KL)|:       {gap_decomposition:.2e}")
    print(f"max over the path |NLL − cross-entropy|:  {gap_cross_entropy:.2e}")
    print()
    print("| curve | argmin t (Brent) | argmin t (grid) | MLE |")
    print("| --- | --- | --- | --- |")
    for name in ["nll", "cross_entropy", "kl"]:
        print(f"| {name} | {argmins[name]:.8f} | {grid_argmins[name]:.3f} | 1 |")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = plot(np.asarray(ts), values, argmins, out)
    print(f"\nsaved {path}")
    return {
        "n": args.n,
        "entropy": h,
        "max_gap_nll_vs_entropy_plus_kl": gap_decomposition,
        "max_gap_nll_vs_cross_entropy": gap_cross_entropy,
        "mle_vs_empirical": mle_vs_empirical,
        "residual_at_mle": residual_at_mle,
        "argmin_nll": argmins["nll"],
        "argmin_cross_entropy": argmins["cross_entropy"],
        "argmin_kl": argmins["kl"],
        "min_kl": float(np.min(values["kl"])),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figure")
    parser.add_argument("--n", type=int, default=600, help="rolls of the die")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # float64: the identities hold to rounding, and the flat minima are located
    # to ~1e-8 in t (float32 rounding would blur them to ~1e-3).
    with jax.enable_x64(True):
        return run(args)


if __name__ == "__main__":
    main()
