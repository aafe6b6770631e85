"""Mutation counts: is the Poisson MLE the sample mean; does its GLM match statsmodels?

Mutations arising in a cell population over a fixed time are counts, modelled
as Poisson: u(x) = x, η = log λ, A(η) = e^η, h(x) = 1/x!. Moment matching
(``ef.Poisson().mle``) sets ∇A(η̂) = e^η̂ to the mean count, so λ̂ = x̄; the
fitted pmf is drawn over the histogram. Then the rate grows with the number of
generations g a lineage has been through, log λ(g) = a + b·g: a Poisson
regression, ``ef.GLM(ef.Poisson(), 1)`` fitted by ``ef.fisher_scoring`` (IRLS),
whose coefficients are compared with statsmodels' ``sm.GLM(..., Poisson())``.

    python examples/mutation_counts.py [--out DIR] [--cells 500] [--rate 3.2]
        [--lineages 400] [--a 0.3] [--b 0.15] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import statsmodels.api as sm

import expfam as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STEM = "mutation_counts"
MAX_GENERATION = 20


def poisson_regression(generations, counts):
    """log E[count | g] = a + b·g, by expfam (Fisher scoring) and statsmodels."""
    model = ef.GLM(ef.Poisson(), 1)  # η = log λ = x·coef + intercept, canonical
    inputs = jnp.asarray(generations, jnp.float32)[:, None]  # (n, 1): one feature
    result = ef.fisher_scoring(model, (inputs, jnp.asarray(counts, jnp.float32)))
    ours = (float(result.params["intercept"]), float(result.params["coef"][0]))

    # statsmodels: the design matrix [1, g] and the Poisson family (log link).
    design = sm.add_constant(np.asarray(generations, np.float64))
    reference = sm.GLM(np.asarray(counts), design, family=sm.families.Poisson()).fit()
    theirs = (float(reference.params[0]), float(reference.params[1]))
    return ours, theirs, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figures")
    parser.add_argument("--cells", type=int, default=500, help="cells counted")
    parser.add_argument("--rate", type=float, default=3.2, help="mutations per cell")
    parser.add_argument("--lineages", type=int, default=400, help="regression rows")
    parser.add_argument("--a", type=float, default=0.3, help="true intercept")
    parser.add_argument("--b", type=float, default=0.15, help="true slope")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key_cells, key_gen, key_counts, key_jitter = jax.random.split(
        jax.random.key(args.seed), 4
    )
    poisson = ef.Poisson()

    # ---- Part 1: λ̂ = x̄ ------------------------------------------------------- #
    counts = poisson.sample(
        key_cells, poisson.natural_from(rate=args.rate), (args.cells,)
    )
    eta_hat = poisson.mle(counts)
    rate_hat = float(poisson.params_from(eta_hat)["rate"])
    sample_mean = float(np.mean(np.asarray(counts, np.float64)))
    print(f"Part 1: mutations in {args.cells} cells (true rate {args.rate:g})\n")
    print(f"ef.Poisson().mle rate: {rate_hat:.6f}")
    print(f"sample mean:           {sample_mean:.6f}")

    # The fitted pmf next to the observed frequencies.
    ks = np.arange(0, int(np.max(np.asarray(counts))) + 2)
    pmf = np.exp(jax.vmap(poisson.log_prob, (None, 0))(eta_hat, jnp.asarray(ks, float)))
    observed = np.bincount(np.asarray(counts, int), minlength=ks.size)[: ks.size]
    print("\n| k | observed | expected N·p(k) |")
    print("| ---: | ---: | ---: |")
    for k in ks:
        print(f"| {k} | {observed[k]} | {args.cells * pmf[k]:.1f} |")

    # ---- Part 2: Poisson regression on the generation ------------------------ #
    generations = jax.random.randint(key_gen, (args.lineages,), 0, MAX_GENERATION + 1)
    eta_reg = args.a + args.b * jnp.asarray(generations, jnp.float32)  # log λ(g)
    keys = jax.random.split(key_counts, args.lineages)
    reg_counts = jax.vmap(poisson.sample)(keys, eta_reg)  # one count per lineage
    reg_counts = np.asarray(reg_counts)
    ours, theirs, result = poisson_regression(generations, reg_counts)
    coef_diff = max(abs(o - t) for o, t in zip(ours, theirs, strict=True))
    print(f"\nPart 2: log E[count] = a + b·generation, {args.lineages} lineages\n")
    print("| coefficient | true | ef.fisher_scoring | statsmodels GLM |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| a (intercept) | {args.a:.4f} | {ours[0]:.6f} | {theirs[0]:.6f} |")
    print(f"| b (per generation) | {args.b:.4f} | {ours[1]:.6f} | {theirs[1]:.6f} |")
    print(
        f"\nmax |expfam (float32) − statsmodels (float64)|: {coef_diff:.1e}; "
        f"Fisher scoring steps: {result.num_steps}, converged: {result.converged}"
    )

    # ---- Figures ------------------------------------------------------------- #
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax1.bar(ks, observed / args.cells, color="0.75", label="observed frequency")
    ax1.plot(ks, pmf, "o-", color="C3", label=f"Poisson pmf, λ̂ = {rate_hat:.3f}")
    ax1.set_xlabel("mutations per cell")
    ax1.set_ylabel("probability")
    ax1.set_title(f"{args.cells} cells: λ̂ = sample mean")
    ax1.legend()

    g = np.linspace(0, MAX_GENERATION, 200)
    # Generations are integers: spread the points a little sideways to see them.
    jitter = np.asarray(
        jax.random.uniform(key_jitter, (args.lineages,), minval=-0.2, maxval=0.2)
    )
    ax2.scatter(
        np.asarray(generations) + jitter, reg_counts, s=8, alpha=0.4, color="0.4"
    )
    ax2.plot(g, np.exp(ours[0] + ours[1] * g), color="C3", lw=2.5, label="expfam GLM")
    ax2.plot(
        g, np.exp(theirs[0] + theirs[1] * g), "--", color="C0", label="statsmodels GLM"
    )
    ax2.plot(g, np.exp(args.a + args.b * g), ":", color="k", label="true exp(a + b g)")
    ax2.set_xlabel("generation g")
    ax2.set_ylabel("mutations")
    ax2.set_title("Poisson regression: fitted mean exp(a + b g)")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    path = out / f"{STEM}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {path}")

    return {
        "rate_hat": rate_hat,
        "sample_mean": sample_mean,
        "a_expfam": ours[0],
        "b_expfam": ours[1],
        "a_statsmodels": theirs[0],
        "b_statsmodels": theirs[1],
        "coef_max_abs_diff": coef_diff,
        "scoring_steps": result.num_steps,
        "converged": result.converged,
    }


if __name__ == "__main__":
    main()
