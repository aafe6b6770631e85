"""The conformance kit: checks that a family's u, A, h, sampler and overrides agree.

``check_family(family, eta, key=...)`` runs every check and raises one
``AssertionError`` listing each failure in words; it returns quietly when the
family is right. Monte Carlo checks use the family's own sampler and pass when
the estimate lies within ``sigmas`` standard errors (plus a small rounding
allowance for the dtype); they are deterministic for a given key.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from expfam._dtypes import leaf_dtype
from expfam._family import ExponentialFamily
from expfam._validation import family_error, is_int, key_problem

PyTree = Any

__all__ = ["check_family"]


class _Report:
    def __init__(self, family: ExponentialFamily, eta: PyTree) -> None:
        self.family = family
        self.eta = eta
        self.failures: list[str] = []

    def fail(self, check: str, message: str) -> None:
        self.failures.append(f"[{check}] {message}")

    def raise_if_failed(self) -> None:
        if self.failures:
            lines = "\n  ".join(self.failures)
            raise AssertionError(
                f"{self.family!r} fails {len(self.failures)} conformance check(s) "
                f"at eta={_fmt(self.eta)}:\n  {lines}"
            )


def _fmt(tree: PyTree) -> str:
    leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]
    return "; ".join(np.array2string(x, precision=6, threshold=12) for x in leaves)


def _flat(tree: PyTree) -> np.ndarray:
    return np.asarray(ravel_pytree(tree)[0], dtype=np.float64)


def _is_f64(eta: PyTree) -> bool:
    return jax.tree_util.tree_leaves(eta)[0].dtype == jnp.float64


def check_family(
    family: ExponentialFamily,
    eta: PyTree,
    *,
    key: jax.Array,
    num_samples: int = 20_000,
    sigmas: float = 5.0,
) -> None:
    """Checks a family at the natural parameter ``eta``; raises on any failure.

    Checks, each reported by name when it fails:

    * ``sampler``: draws have the event shape and lie in the support;
    * ``normalized``: the density integrates (or sums) to 1 — tanh-sinh
      quadrature over the support for a 1-D continuous family (over the range of
      the sampler's draws when it declares no ``support``), summation for a
      discrete one, importance sampling with a Student-t proposal fitted to the
      draws otherwise (error bound: ``sigmas`` standard errors). An A that is off
      by a constant fails here. A discrete family with vector observations and
      no ``enumerate_support()`` (a large multinomial) skips this check with a
      warning;
    * ``mean``: ∇A(η) equals the Monte Carlo mean of u;
    * ``covariance``: ∇²A(η) equals the Monte Carlo covariance of u;
    * ``round trip``: natural_parameters(mean_parameters(η)) = η (for an
      overridden ``natural_parameters``, this is its comparison with the
      generic derivation, the solve of ∇A(η′) = μ, whose answer at
      μ = ∇A(η) is η);
    * ``kl``: KL(p, p) = 0, KL(p, q) ≥ 0 and KL(p, q) matches Monte Carlo;
    * ``entropy`` / ``cross entropy`` / ``base measure``: match Monte Carlo;
    * ``override <name>``: every derived method the family overrides equals the
      generic derivation from u and A (``log_prob`` at the draws);
    * ``certified support``: for a family that sets
      ``statistics_certify_support``, u is not finite at NaN, ±inf and (for a
      declared ``support``) points on and beyond its bounds that lie outside it;
    * ``support``: for a 1-D family, ``in_support`` is False at NaN and at
      points just and far outside a declared ``support`` (the draws only show
      that it is not too narrow).

    Args:
      family: the family under test.
      eta: a natural parameter (its dtype sets the tolerances).
      key: a ``jax.random`` key for the sampler.
      num_samples: Monte Carlo sample size.
      sigmas: how many standard errors a Monte Carlo estimate may be off.

    Raises:
      AssertionError: naming every check that fails.
      ValueError: for arguments that are not a family instance, a natural
        parameter of it, a JAX key, an int ``num_samples`` >= 100 or a
        positive ``sigmas``.
    """
    if not isinstance(family, ExponentialFamily):
        raise ValueError(
            f"check_family: the first argument must be a family instance (e.g. "
            f"ef.Normal()), got {family!r}"
        )
    if (problem := key_problem(key)) is not None:
        raise family_error(family, f"check_family: {problem}")
    if not (is_int(num_samples) and num_samples >= 100):
        raise family_error(
            family, f"check_family: num_samples={num_samples!r} must be an int >= 100"
        )
    if not (isinstance(sigmas, (int, float, np.number)) and sigmas > 0):
        raise family_error(family, f"check_family: sigmas={sigmas!r} must be > 0")
    eta = family._check("natural", "eta", eta)
    report = _Report(family, eta)
    f64 = _is_f64(eta)
    rtol = 1e-6 if f64 else 2e-3
    sample_key, q_key = jax.random.split(key)

    xs = family.sample(sample_key, eta, (num_samples,))
    if jnp.shape(xs) != (num_samples, *family.event_shape):
        report.fail(
            "sampler",
            f"sample(key, eta, ({num_samples},)) has shape {jnp.shape(xs)}, "
            f"expected {(num_samples, *family.event_shape)}",
        )
        report.raise_if_failed()
    eta_q = _perturbed(family, eta, q_key)
    draws = _sample_side(family, eta, eta_q, xs)
    if not draws["in_support"].all():
        bad = np.asarray(xs)[~draws["in_support"]][:3]
        report.fail("sampler", f"draws outside the support, e.g. {bad}")
        report.raise_if_failed()
    model = _model_side(family, eta, eta_q)

    log_prob = _vmapped_log_prob(family)
    _check_normalized(report, family, eta, xs, log_prob, sigmas, f64)
    _check_moments(report, model, draws["u"], sigmas, rtol)
    _check_round_trip(report, eta, model, rtol)
    _check_kl(report, family, model, draws, sigmas, rtol)
    _check_overrides(report, family, {**model, **draws}, rtol)
    _check_certified_support(report, family, eta)
    _check_declared_support(report, family, eta)
    report.raise_if_failed()


# The quantities of the model and of the draws, each computed by one compiled
# program per family (nested jitted methods inline into it): the kit costs a few
# compilations, not one per method.

# natural_parameters is not among them: the generic derivation solves
# ∇A(η′) = μ, whose answer at μ = ∇A(η) is η itself, so the round trip is that
# comparison (and compiling the generic damped Newton solve was 40-50 % of the
# kit's time for the built-in families).
_OVERRIDABLE = {
    "mean_parameters": ("eta",),
    "fisher_information": ("eta",),
    "entropy": ("eta",),
    "cross_entropy": ("eta", "eta_q"),
    "kl_divergence": ("eta", "eta_q"),
}


@functools.partial(jax.jit, static_argnums=0)
def _model_side(family: ExponentialFamily, eta: PyTree, eta_q: PyTree) -> dict:
    mu = family.mean_parameters(eta)
    args = {"eta": eta, "eta_q": eta_q}
    out = {
        "mu": ravel_pytree(mu)[0],
        "fisher": family.fisher_information(eta),
        "A": family.log_partition(eta),
        "kl_pp": family.kl_divergence(eta, eta),
        "kl_pq": family.kl_divergence(eta, eta_q),
        "back": ravel_pytree(family.natural_parameters(mu))[0],
    }
    try:
        out["entropy"] = family.entropy(eta)
        out["cross"] = family.cross_entropy(eta, eta_q)
        out["elogh"] = family.expected_log_base_measure(eta)
    except NotImplementedError:
        pass  # a non-constant base measure without E[log h]
    for name, names in _OVERRIDABLE.items():
        if getattr(type(family), name) is getattr(ExponentialFamily, name):
            continue
        call = [args[n] for n in names]
        try:
            mine = getattr(family, name)(*call)
            generic = getattr(ExponentialFamily, name)(family, *call)
        except NotImplementedError:
            continue
        out[f"override {name}"] = (ravel_pytree(mine)[0], ravel_pytree(generic)[0])
    return out


@functools.partial(jax.jit, static_argnums=0)
def _sample_side(
    family: ExponentialFamily, eta: PyTree, eta_q: PyTree, xs: jax.Array
) -> dict:
    n = xs.shape[0]
    stats = jax.vmap(family.sufficient_statistics)(xs)
    u = jnp.concatenate(
        [leaf.reshape(n, -1) for leaf in jax.tree_util.tree_leaves(stats)], axis=1
    )
    out = {
        "u": u,
        "lp": jax.vmap(family.log_prob, (None, 0))(eta, xs),
        "lq": jax.vmap(family.log_prob, (None, 0))(eta_q, xs),
        "log_h": jax.vmap(family.log_base_measure)(xs),
        "in_support": jax.vmap(family.in_support)(xs),
    }
    if type(family).log_prob is not ExponentialFamily.log_prob:
        # A stable log_prob must still be ⟨η, u⟩ − A + log h at the draws.
        generic = jax.vmap(lambda x: ExponentialFamily.log_prob(family, eta, x))(xs)
        out["override log_prob"] = (out["lp"], generic)
    return out


@functools.cache
def _vmapped_log_prob(family: ExponentialFamily) -> Callable:
    return jax.jit(jax.vmap(family.log_prob, (None, 0)))


def _perturbed(family: ExponentialFamily, eta: PyTree, key: jax.Array) -> PyTree:
    domain = family.natural_domain
    z = domain.inverse(eta)
    flat, unravel = ravel_pytree(z)
    noise = 0.3 * jax.random.normal(key, flat.shape, flat.dtype)
    return domain.forward(unravel(flat + noise))


def _mc_close(
    report: _Report,
    check: str,
    what: str,
    values: np.ndarray,
    expected: float,
    sigmas: float,
    rtol: float,
) -> None:
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        report.fail(check, f"{what}: Monte Carlo terms are not all finite")
        return
    estimate = values.mean()
    stderr = values.std(ddof=1) / math.sqrt(values.size)
    allowance = sigmas * stderr + rtol * (1.0 + abs(expected))
    if not abs(estimate - expected) <= allowance:
        report.fail(
            check,
            f"{what} = {expected:.8g}, but Monte Carlo gives {estimate:.8g} "
            f"± {stderr:.2g} (allowed {allowance:.2g})",
        )


# --------------------------------------------------------------------------- #
# Normalization
# --------------------------------------------------------------------------- #


def _check_normalized(
    report: _Report,
    family: ExponentialFamily,
    eta: PyTree,
    xs: jax.Array,
    log_prob: Callable,
    sigmas: float,
    f64: bool,
) -> None:
    dtype = leaf_dtype(eta)
    points = family.enumerate_support()
    if points is not None:
        total = float(np.sum(np.exp(np.asarray(log_prob(eta, points), np.float64))))
        how = "summing over the enumerated support"
        _report_total(report, total, 1e-8 if f64 else 1e-4, how)
        return
    if family.event_shape == () and family.discrete:
        # The integers from 0 (or twice the lowest draw, if negative) to twice
        # the highest draw, with 49 to spare, that lie in the support.
        draws = np.asarray(xs)
        low = min(0, 2 * int(np.min(draws)) - 49)
        high = max(0, 2 * int(np.max(draws))) + 49
        ks = jnp.arange(low, high + 1, dtype=dtype)
        inside = np.asarray(jax.vmap(family.in_support)(ks))
        log_p = np.asarray(log_prob(eta, ks), np.float64)
        total = float(np.sum(np.exp(log_p[inside])))
        how = f"summing over the support within {low}..{high}"
        _report_total(report, total, 1e-8 if f64 else 1e-4, how)
        return
    if family.discrete:
        warnings.warn(
            f"check_family({family!r}): normalization not checked — a discrete "
            "family with vector observations needs enumerate_support() to sum "
            "its mass function (it returned None here)",
            stacklevel=3,
        )
        return
    if family.event_shape == ():
        total, missing = _quadrature(family, eta, xs, log_prob)
        tol = (1e-8 if f64 else 1e-4) + missing
        _report_total(report, total, tol, "quadrature over the support", low=missing)
        return
    _importance_normalization(report, family, eta, xs, log_prob, sigmas)


def _report_total(
    report: _Report, total: float, tol: float, how: str, low: float = 0.0
) -> None:
    if not (1.0 - tol - low <= total <= 1.0 + tol):
        report.fail(
            "normalized",
            f"the density has total mass {total:.10g} by {how} "
            f"(expected 1 within {tol:.1g}); is A(η) off by a constant?",
        )


def _tanh_sinh(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of tanh-sinh quadrature on [a, b] (endpoint-safe)."""
    h = 1.0 / 64
    t = np.arange(-4.0, 4.0 + h / 2, h)
    u = 0.5 * math.pi * np.sinh(t)
    half = 0.5 * (b - a)
    # distance to the nearer endpoint, computed without cancellation
    gap = half * 2.0 / (1.0 + np.exp(2.0 * np.abs(u)))
    x = np.where(u < 0, a + gap, b - gap)
    w = half * 0.5 * math.pi * np.cosh(t) / np.cosh(u) ** 2 * h
    keep = (x > a) & (x < b) & (w > 0)
    return x[keep], w[keep]


def _exp_sinh(
    a: float, scale: float, direction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for [a, ∞) (direction +1) or (−∞, a] (direction −1)."""
    h = 1.0 / 32
    t = np.arange(-5.0, 4.0, h)
    e = np.exp(0.5 * math.pi * np.sinh(t))
    x = a + direction * scale * e
    w = scale * 0.5 * math.pi * np.cosh(t) * e * h
    keep = np.isfinite(x) & np.isfinite(w)
    return x[keep], w[keep]


def _quadrature(
    family: ExponentialFamily, eta: PyTree, xs: jax.Array, log_prob: Callable
) -> tuple[float, float]:
    """The mass of a 1-D continuous density; also the mass the range may miss."""
    draws = np.sort(np.asarray(xs, np.float64))
    q = np.quantile(draws, [0.001, 0.5, 0.999])
    spread = max(q[2] - q[0], 1e-300)
    lo, hi = family.support if family.support is not None else (draws[0], draws[-1])
    missing = 0.0 if family.support is not None else 20.0 / draws.size
    inner = [*q, *family.breakpoints]
    cuts = sorted({float(np.clip(c, lo, hi)) for c in inner} | {float(lo), float(hi)})
    nodes, weights = [], []
    for a, b in itertools.pairwise(cuts):
        if not b > a:
            continue
        if math.isinf(a) and math.isinf(b):
            continue
        if math.isinf(a):
            x, w = _exp_sinh(b, spread, -1.0)
        elif math.isinf(b):
            x, w = _exp_sinh(a, spread, 1.0)
        else:
            x, w = _tanh_sinh(a, b)
        nodes.append(x)
        weights.append(w)
    x = np.concatenate(nodes)
    w = np.concatenate(weights)
    dtype = leaf_dtype(eta)
    inside = np.asarray(jax.vmap(family.in_support)(jnp.asarray(x, dtype)))
    lp = np.asarray(log_prob(eta, jnp.asarray(np.where(inside, x, q[1]), dtype)))
    density = np.where(inside, np.exp(lp.astype(np.float64)), 0.0)
    density = np.nan_to_num(density, nan=0.0, posinf=0.0)
    return float(np.sum(w * density)), missing


def _importance_normalization(
    report: _Report,
    family: ExponentialFamily,
    eta: PyTree,
    xs: jax.Array,
    log_prob: Callable,
    sigmas: float,
) -> None:
    to_free = jax.vmap(family.free_coordinates)
    v = np.asarray(to_free(xs), np.float64)
    n, dim = v.shape
    mean = v.mean(0)
    cov = np.cov(v, rowvar=False).reshape(dim, dim) * 1.5**2 + 1e-12 * np.eye(dim)
    chol = np.linalg.cholesky(cov)
    nu = 5.0
    rng = np.random.default_rng(0)
    dtype = leaf_dtype(eta)

    def estimate(m: int) -> tuple[float, float]:
        """The mass and its standard error from m Student-t proposals."""
        z = rng.standard_normal((m, dim))
        g = rng.chisquare(nu, size=(m, 1)) / nu
        proposal = mean + (z / np.sqrt(g)) @ chol.T
        # log density of the multivariate Student-t proposal
        sol = np.linalg.solve(chol, (proposal - mean).T).T
        maha = np.sum(sol**2, axis=1)
        log_q = (
            math.lgamma((nu + dim) / 2)
            - math.lgamma(nu / 2)
            - 0.5 * dim * math.log(nu * math.pi)
            - np.sum(np.log(np.diag(chol)))
            - 0.5 * (nu + dim) * np.log1p(maha / nu)
        )
        points = jax.vmap(family.from_free_coordinates)(jnp.asarray(proposal, dtype))
        inside = np.asarray(jax.vmap(family.in_support)(points))
        safe = jnp.where(
            jnp.asarray(inside).reshape((-1,) + (1,) * len(family.event_shape)),
            points,
            xs[:1],
        )
        lp = np.asarray(log_prob(eta, safe), np.float64)
        weights = np.where(inside, np.exp(np.where(inside, lp, -np.inf) - log_q), 0.0)
        return float(weights.mean()), float(weights.std(ddof=1) / math.sqrt(m))

    total, stderr = estimate(n)
    if not np.isfinite(total) or stderr > 0.05:
        # Heavy weights (a density that grows without bound at the support's
        # edge, such as a Wishart with few degrees of freedom at its default
        # η): once more with 5× the proposals before calling it inconclusive.
        total, stderr = estimate(5 * n)
    if not np.isfinite(total) or stderr > 0.05:
        report.fail(
            "normalized",
            f"importance sampling is inconclusive (mass {total:.4g} ± {stderr:.2g}); "
            "use more samples or a parameter nearer the domain's centre",
        )
    elif abs(total - 1.0) > sigmas * stderr + 1e-3:
        report.fail(
            "normalized",
            f"the density has total mass {total:.6g} ± {stderr:.2g} by importance "
            "sampling (expected 1); is A(η) off by a constant?",
        )


# --------------------------------------------------------------------------- #
# Moments, round trip, KL, entropy, overrides
# --------------------------------------------------------------------------- #


def _check_moments(
    report: _Report, model: dict, samples: jax.Array, sigmas: float, rtol: float
) -> None:
    u = np.asarray(samples, np.float64)
    n = u.shape[0]
    mu = np.asarray(model["mu"], np.float64)
    mc_mean = u.mean(0)
    se = u.std(0, ddof=1) / math.sqrt(n)
    allowed = sigmas * se + rtol * (1 + np.abs(mu))
    bad = np.flatnonzero(~(np.abs(mc_mean - mu) <= allowed))
    if bad.size:
        i = bad[0]
        report.fail(
            "mean",
            f"∇A(η)[{i}] = {mu[i]:.8g}, but the sampler's mean of u is "
            f"{mc_mean[i]:.8g} ± {se[i]:.2g} ({bad.size} entries differ)",
        )
    fisher = np.asarray(model["fisher"], np.float64)
    centered = u - mc_mean
    products = centered[:, :, None] * centered[:, None, :]
    mc_cov = products.sum(0) / (n - 1)
    se_cov = products.std(0, ddof=1) / math.sqrt(n)
    allowed = sigmas * se_cov + rtol * (1 + np.abs(fisher))
    bad_entries = np.argwhere(~(np.abs(mc_cov - fisher) <= allowed))
    if bad_entries.size:
        i, j = bad_entries[0]
        report.fail(
            "covariance",
            f"∇²A(η)[{i}, {j}] = {fisher[i, j]:.8g}, but the sampler's covariance of "
            f"u is {mc_cov[i, j]:.8g} ± {se_cov[i, j]:.2g} ({len(bad_entries)} "
            "entries differ)",
        )


def _check_round_trip(report: _Report, eta: PyTree, model: dict, rtol: float) -> None:
    a, b = _flat(eta), np.asarray(model["back"], np.float64)
    if not np.all(np.isfinite(b)):
        report.fail(
            "round trip",
            "natural_parameters(mean_parameters(η)) did not converge (NaN)",
        )
        return
    scale = max(1.0, float(np.max(np.abs(a))))
    if not np.allclose(a, b, rtol=rtol, atol=rtol * scale):
        report.fail(
            "round trip",
            f"natural_parameters(mean_parameters(η)) = {np.array2string(b)}, not η",
        )


def _check_kl(
    report: _Report,
    family: ExponentialFamily,
    model: dict,
    draws: dict,
    sigmas: float,
    rtol: float,
) -> None:
    scale = 1.0 + abs(float(model["A"]))
    kl_pp = float(model["kl_pp"])
    if abs(kl_pp) > rtol * scale:
        report.fail("kl", f"KL(p, p) = {kl_pp:.3g}, not 0")
    kl_pq = float(model["kl_pq"])
    if kl_pq < -rtol * scale:
        report.fail("kl", f"KL(p, q) = {kl_pq:.6g} < 0")
    lp = np.asarray(draws["lp"], np.float64)
    lq = np.asarray(draws["lq"], np.float64)
    _mc_close(report, "kl", "KL(p, q)", lp - lq, kl_pq, sigmas, rtol)
    if "entropy" not in model:
        warnings.warn(
            f"check_family({family!r}): entropy, cross entropy and E[log h] not "
            "checked — the base measure is not constant and the family gives "
            "no expected_log_base_measure (its entropy raises "
            "NotImplementedError)",
            stacklevel=3,
        )
        return
    _mc_close(report, "entropy", "H(p)", -lp, float(model["entropy"]), sigmas, rtol)
    _mc_close(
        report, "cross entropy", "H(p, q)", -lq, float(model["cross"]), sigmas, rtol
    )
    log_h = np.asarray(draws["log_h"], np.float64)
    elogh = float(model["elogh"])
    _mc_close(report, "base measure", "E[log h(x)]", log_h, elogh, sigmas, rtol)


def _check_overrides(
    report: _Report, family: ExponentialFamily, model: dict, rtol: float
) -> None:
    for key, value in model.items():
        if not key.startswith("override "):
            continue
        got, want = (np.asarray(v, np.float64) for v in value)
        scale = max(1.0, float(np.max(np.abs(want))))
        if not np.all(np.isfinite(want)) or not np.allclose(
            got, want, rtol=rtol, atol=rtol * scale
        ):
            report.fail(
                key,
                f"the override gives {np.array2string(got, precision=8)}, the "
                f"generic derivation {np.array2string(want, precision=8)}",
            )


def _support_probes(family: ExponentialFamily) -> list[float]:
    """NaN, ±inf and, for each finite declared ``support`` bound b, b itself
    and points just (1e-3 relative), 1 and 1e3 to either side of it."""
    probes = [np.nan, np.inf, -np.inf]
    for bound in family.support or ():
        if np.isfinite(bound):
            near = 1e-3 * max(1.0, abs(bound))
            probes += [bound + s * d for d in (near, 1.0, 1e3) for s in (-1, 1)]
            probes.append(bound)
    return probes


def _check_declared_support(
    report: _Report, family: ExponentialFamily, eta: PyTree
) -> None:
    """``in_support`` is False at NaN and outside the declared bounds (the draws
    show only that it is not too narrow; one too wide lets bad data through
    every check)."""
    if family.event_shape != ():
        return
    dtype = leaf_dtype(eta)
    low, high = family.support or (-np.inf, np.inf)
    for value in _support_probes(family):
        outside = np.isnan(value) or (np.isfinite(value) and not low <= value <= high)
        if outside and bool(family.in_support(jnp.asarray(value, dtype))):
            report.fail(
                "support",
                f"in_support({value}) is True, outside the declared support "
                f"{family.support}",
            )
            return


def _check_certified_support(
    report: _Report, family: ExponentialFamily, eta: PyTree
) -> None:
    """A family whose u certifies its support: u(x) not finite wherever x is out."""
    if not family.statistics_certify_support:
        return
    dtype = leaf_dtype(eta)
    for value in _support_probes(family):
        x = jnp.full(family.event_shape, value, dtype)
        if bool(family.in_support(x)):
            continue
        u = family.sufficient_statistics(x)
        if all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree_util.tree_leaves(u)):
            report.fail(
                "certified support",
                f"statistics_certify_support is set, but x = {value} lies outside "
                f"the support and u(x) = {_fmt(u)} is finite",
            )
