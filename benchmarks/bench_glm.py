"""GLM fitting speed, expfam against statsmodels and scikit-learn, one run.

Poisson regression (log link) and logistic regression on n × p generated
float64 data (default 10^5 × 10, an intercept besides). Every method is run to
its own convergence and checked against statsmodels' optimum: the summed
log-likelihood must agree to 1e-8 relative. Times are the best of several runs
after a warm-up; expfam's compile time is the first call minus a warm one.

* expfam ``fisher_scoring`` (Newton / IRLS, jit-compiled, float64);
* statsmodels ``GLM(...).fit()`` (IRLS);
* scikit-learn ``PoissonRegressor(alpha=0, solver="newton-cholesky")`` and
  ``LogisticRegression(penalty=None, solver="newton-cholesky")``.

Prints a markdown table.

    python benchmarks/bench_glm.py [--n 100000] [--p 10] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import expfam as ef  # noqa: E402


def _best(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """(first call, best later call, result) in seconds."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - start
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return first, best, out


def _data(kind: str, n: int, p: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) / np.sqrt(p)
    w = rng.normal(size=p)
    if kind == "poisson":
        y = rng.poisson(np.exp(0.3 + X @ (0.5 * w))).astype(np.float64)
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-(X @ (2 * w) - 0.2)))).astype(np.float64)
    return X, y


def _log_likelihood(kind: str, X, y, intercept: float, coef) -> float:
    eta = X @ np.asarray(coef) + float(intercept)
    if kind == "poisson":
        from scipy.special import gammaln

        return float(np.sum(y * eta - np.exp(eta) - gammaln(y + 1)))
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _compare(kind: str, n: int, p: int, repeats: int, seed: int) -> list[str]:
    import statsmodels.api as sm
    from sklearn.linear_model import LogisticRegression, PoissonRegressor

    X, y = _data(kind, n, p, seed)
    design = sm.add_constant(X)
    family = sm.families.Poisson() if kind == "poisson" else sm.families.Binomial()
    sm_fit = lambda: sm.GLM(y, design, family=family).fit(tol=1e-12)  # noqa: E731
    _, t_sm, ref = _best(sm_fit, max(1, repeats // 3))
    ll_ref = ref.llf

    if kind == "poisson":
        sk = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-10)
        model = ef.GLM(ef.Poisson(), p)
    else:
        sk = LogisticRegression(penalty=None, solver="newton-cholesky", tol=1e-10)
        model = ef.GLM(ef.Bernoulli(), p)

    def sk_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sk.fit(X, y)

    _, t_sk, fitted = _best(sk_fit, repeats)
    ll_sk = _log_likelihood(
        kind, X, y, np.ravel(fitted.intercept_)[0], np.ravel(fitted.coef_)
    )

    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    first, t_ef, result = _best(
        lambda: ef.fisher_scoring(model, (Xj, yj)).params, repeats
    )
    ll_ef = _log_likelihood(kind, X, y, result["intercept"], result["coef"])
    steps = ef.fisher_scoring(model, (Xj, yj)).num_steps

    rows = []
    for name, t, ll in [
        (f"expfam `fisher_scoring` ({steps} steps)", t_ef, ll_ef),
        ("statsmodels GLM IRLS", t_sm, ll_ref),
        (f"scikit-learn {type(sk).__name__}(newton-cholesky)", t_sk, ll_sk),
    ]:
        rel = abs(ll - ll_ref) / abs(ll_ref)
        rows.append(f"| {kind} | {name} | {t * 1e3:.2f} | {t / t_ef:.1f} | {rel:.1e} |")
    rows.append(
        f"| {kind} | expfam compile (first call − warm) | {(first - t_ef) * 1e3:.0f} "
        "| | |"
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--p", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(
        f"GLMs on {args.n:,} × {args.p} float64, jax {jax.__version__}, "
        f"{jax.devices()[0].device_kind}\n"
    )
    print("| model | method | time (ms) | × expfam | log-lik rel. to statsmodels |")
    print("| --- | --- | ---: | ---: | ---: |")
    for kind in ("poisson", "logistic"):
        for row in _compare(kind, args.n, args.p, args.repeats, args.seed):
            print(row)


if __name__ == "__main__":
    main()
