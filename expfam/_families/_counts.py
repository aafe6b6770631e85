"""Families of counts and labels: Poisson, Bernoulli, binomial and relatives.

Three pairs share their algebra through a private base class each: Bernoulli
and binomial (logit η, A = n softplus η), categorical and multinomial (logits
against the last category, A = n log(1 + Σ e^η)), geometric and negative
binomial (η = log(1 − p), A = −r log(1 − e^η)).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable
from typing import final

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import xlogy

from expfam import _domains as domains
from expfam import _random
from expfam._categorical_draws import categorical_draws, multinomial_by_inversion
from expfam._dtypes import observation_like
from expfam._families._common import as_float, is_integer
from expfam._family import ExponentialFamily
from expfam._gamma_draws import log_gamma
from expfam._rejection import sample_by_rejection, sample_each_by_rejection
from expfam._special import softplus, stirling_remainder, stirling_series
from expfam._validation import describe_value, family_error, int_field, is_concrete

Array = jax.Array

__all__ = [
    "Bernoulli",
    "Binomial",
    "Categorical",
    "Geometric",
    "Multinomial",
    "NegativeBinomial",
    "Poisson",
]

# Below this rate the entropy is an exact sum over 0.._POISSON_TERMS (the tail
# past it is below 1e-30 there); above it, the asymptotic expansion
# ½ log(2πeλ) − 1/(12λ) − 1/(24λ²) − 19/(360λ³) − 9/(80λ⁴) − 863/(2520λ⁵),
# whose next term (≈ −1.39/λ⁶) is 4e-13 of the entropy at λ = 100. (The λ⁻⁴
# and λ⁻⁵ coefficients were fitted to a 50-digit sum, λ = 50..800, and match
# these fractions to 1e-6.)
_POISSON_SWITCH = 100.0
_POISSON_TERMS = 320

# The multinomial enumerates its support for the conformance kit up to this size.
_MAX_ENUMERATED = 100_000


class _ScalarCount(ExponentialFamily):
    """A family of one count x ∈ {0, 1, …, max_count} with u(x) = x."""

    discrete = True

    def sufficient_statistics(self, x: Array) -> Array:
        return as_float(x)

    def in_support(self, x: Array) -> Array:
        return is_integer(x) & (x >= 0) & (x <= self._max_count)

    @property
    def _max_count(self) -> float:
        return math.inf


@final
@dataclasses.dataclass(frozen=True)
class Poisson(_ScalarCount):
    r"""The Poisson distribution with rate λ on {0, 1, 2, …}.

    * u(x) = x
    * η = log λ, natural domain ℝ
    * A(η) = exp(η)
    * h(x) = 1 / x!
    * conventional parameters: ``rate`` λ

    The entropy uses the exact sum −Σ p(k) log p(k) for λ ≤ 100 and the
    asymptotic series ½ log(2πeλ) − 1/(12λ) − 1/(24λ²) − 19/(360λ³) −
    9/(80λ⁴) − 863/(2520λ⁵) beyond (4e-13 relative at the switch, falling as
    λ⁻⁶), free of cancellation at every rate.
    """

    param_names = ("rate",)

    def log_partition(self, eta: Array) -> Array:
        return jnp.exp(eta)

    def log_base_measure(self, x: Array) -> Array:
        return -_log_factorial(as_float(x))

    def log_prob(self, eta: Array, x: Array) -> Array:
        # Loader's saddle-point form (as the sampler's acceptance test):
        # η x − e^η − log x! rounds terms of size x log x (float32, a count
        # of 1e6: ~1 nat off).
        k = observation_like(x, eta.dtype)
        rate = jnp.exp(eta)
        return _poisson_log_prob(k, k - rate, rate)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.real()

    def natural_parameters(self, mu: Array) -> Array:
        return jnp.log(mu)

    def entropy(self, eta: Array) -> Array:
        rate = jnp.exp(eta)
        small = jnp.minimum(rate, _POISSON_SWITCH)
        k = jnp.arange(_POISSON_TERMS, dtype=eta.dtype)
        # log k! from the table: float32 gammaln(2) is 4.8e-7, not 0, which
        # dominated the entropy at rates below ~1e-4.
        log_p = xlogy(k, small) - small - _log_factorial(k)
        exact = -jnp.sum(jnp.exp(log_p) * log_p)
        big = jnp.maximum(rate, _POISSON_SWITCH)
        inv = 1.0 / big
        series = 0.5 * jnp.log(2 * math.pi * math.e * big) - inv * (
            1 / 12
            + inv * (1 / 24 + inv * (19 / 360 + inv * (9 / 80 + inv * 863 / 2520)))
        )
        return jnp.where(rate <= _POISSON_SWITCH, exact, series)

    def expected_log_base_measure(self, eta: Array) -> Array:
        # H = A − η μ − E[log h]  ⇒  E[log h] = λ − λ log λ − H.
        rate = jnp.exp(eta)
        return rate - rate * eta - self.entropy(eta)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        work = jnp.promote_types(eta.dtype, jnp.float32)  # half floats: float32
        # One law for every draw: rejection rounds refill open draws.
        rate = jnp.exp(eta.astype(work))
        return _poisson_counts(key, rate, shape).astype(eta.dtype)

    def _natural_from(self, rate: Array) -> Array:
        return jnp.log(rate)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"rate": jnp.exp(eta)}


# --------------------------------------------------------------------------- #
# Logits against a reference category: the algebra of the Bernoulli, binomial,
# categorical and multinomial families. The helpers take η ∈ ℝ^{k−1}, the
# log-odds log(p_j / p_k) against the last category; the Bernoulli and binomial
# pass their scalar logit as η[None] (success against failure).
# --------------------------------------------------------------------------- #


def _logits(eta: Array) -> Array:
    """[η, 0] along the last axis: the log-probabilities up to a constant."""
    zero = jnp.zeros((*eta.shape[:-1], 1), eta.dtype)
    return jnp.concatenate([eta, zero], axis=-1)


def _shifted_logits(eta: Array) -> tuple[Array, Array, Array, Array]:
    """The logits [η, 0] taken apart around their largest entry.

    Returns (d, top, rest, m): d = z − max z (exactly 0 at the top), the
    boolean mask of the top entry, rest = Σ_{j ≠ top} e^{d_j} and m = max z, so
    that log Σ e^z = m + log1p(rest) keeps full relative accuracy when the
    normalizer is close to 1 (jax's logsumexp rounds 1 + rest first).
    """
    z = _logits(eta)
    k = z.shape[-1]
    index = jnp.argmax(z, axis=-1, keepdims=True)
    top = jnp.arange(k) == index
    m = jnp.take_along_axis(z, index, axis=-1)
    d = z - m
    rest = jnp.sum(jnp.where(top, 0.0, jnp.exp(d)), axis=-1, keepdims=True)
    return d, top, rest, m[..., 0]


def _log_normalizer(eta: Array) -> Array:
    """log(1 + Σ_j e^{η_j}) = log Σ e^{[η, 0]}, accurate when it is tiny."""
    _, _, rest, m = _shifted_logits(eta)
    return m + jnp.log1p(rest[..., 0])


def _log_probs(eta: Array) -> Array:
    """log p_i of the k categories, to full relative accuracy (also for the
    most probable one near 1, where log_softmax's log(1 + rest) rounds)."""
    d, _, rest, _ = _shifted_logits(eta)
    return d - jnp.log1p(rest)


def _log_probs_and_complements(eta: Array) -> tuple[Array, Array, Array]:
    """log p_i and log(1 − p_i) of the k categories, each to full accuracy.

    For the most probable category (also returned, as a mask) 1 − p_i =
    rest / (1 + rest), taken from the other categories' mass rather than as
    log1p(−p_i), which would lose p_i's rounding when p_i is close to 1; the
    others have p_i ≤ 1/2.
    """
    d, top, rest, _ = _shifted_logits(eta)
    log1p_rest = jnp.log1p(rest)
    log_p = d - log1p_rest
    tiny = jnp.finfo(eta.dtype).tiny
    log_q_top = jnp.log(jnp.maximum(rest, tiny)) - log1p_rest
    log_q_other = jnp.log1p(-jnp.exp(jnp.where(top, -1.0, log_p)))
    return log_p, jnp.where(top, log_q_top, log_q_other), top


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

# Stirling's remainder δ(k) = log k! − (k + ½) log k + k − ½ log 2π at
# k = 0, 1, …, 15 (exactly 0 at 0 by fiat).
_STIRLING_TABLE = np.array(
    [0.0]
    + [
        math.lgamma(k + 1) - (k + 0.5) * math.log(k) + k - 0.5 * math.log(2 * math.pi)
        for k in range(1, 16)
    ]
)


# log k! at k = 0, 1, …, 15.
_LOG_FACTORIAL_TABLE = np.array([math.lgamma(k + 1) for k in range(16)])


def _log_factorial(x: Array) -> Array:
    """log x! at whole numbers x ≥ 0: a table to 15, Stirling's series beyond.

    As accurate as ``gammaln(x + 1)`` and several times faster over many x
    (one log and a short polynomial instead of the Lanczos sum): the base
    measure of Poisson data, summed over every sample of a fit.
    """
    table = jnp.asarray(_LOG_FACTORIAL_TABLE, x.dtype)
    small = table[jnp.clip(x, 0, 15).astype(jnp.int32)]
    big = jnp.maximum(x, 16.0)
    stirling = (big + 0.5) * jnp.log(big) - big + _HALF_LOG_2PI
    return jnp.where(x < 16, small, stirling + stirling_series(big))


def _log_choose(x: Array, r: Array | float) -> Array:
    """log[Γ(x + r) / (Γ(x + 1) Γ(r))] = log C(x + r − 1, x) for counts x ≥ 0
    and real r > 0.

    By Stirling with remainder δ on each log-gamma:
    x log1p(r / x) + r log1p(x / r) + ½ log(r / (2π x (x + r)))
    + δ(x + r) − δ(x) − δ(r), every term O(log) or of the size of the result,
    where log Γ(x + r) − log Γ(x + 1) − log Γ(r) rounds terms of size
    (x + r) log(x + r) (for x or r ≈ 10⁵ in float32, ~0.1 in log h).
    """
    safe_x = jnp.maximum(x, 1.0)
    r = jnp.asarray(r, safe_x.dtype)
    value = (
        safe_x * jnp.log1p(r / safe_x)
        + r * jnp.log1p(safe_x / r)
        + 0.5 * jnp.log(r / (2 * math.pi * safe_x * (safe_x + r)))
        + stirling_remainder(safe_x + r)
        - _stirling_remainder(safe_x)
        - stirling_remainder(r)
    )
    return jnp.where(x > 0, value, 0.0)


def _atanh_series(v2: Array) -> Array:
    """(atanh v − v) / v = v²/3 + v⁴/5 + … + v¹⁸/19 from v², for |v| < 0.1.

    The first omitted term, v²⁰/21, is below 1e-21 relative there.
    """
    series = v2 * (1 / 3)
    power = v2
    for j in range(2, 10):
        power = power * v2
        series = series + power / (2 * j + 1)
    return series


def _stirling_remainder(x: Array) -> Array:
    """δ(x) = log x! − (x + ½) log x + x − ½ log 2π at whole numbers x ≥ 0.

    :func:`stirling_remainder` for counts: a table up to 15 (instead of its
    shift sums) and the asymptotic series beyond, so log x! is never formed
    and subtracted (Loader 2000). The table is read by 15 selects, not a
    gather: XLA's CPU backend fuses selects with the arithmetic around them,
    where a gather splits the fusion (inside the samplers' rejection loops
    it cost twice the rest of a round; alone, over 1e6 counts, both take
    ~0.9 ms).
    """
    small = jnp.zeros_like(x)
    for j in range(1, 16):
        small = jnp.where(x == j, jnp.asarray(_STIRLING_TABLE[j], x.dtype), small)
    return jnp.where(x < 16, small, stirling_series(jnp.maximum(x, 16.0)))


def _deviance(x: Array, mean: Array, log_mean: Array) -> Array:
    """x log(x / M) + M − x ≥ 0 without cancellation near x = M (Loader 2000).

    With v = (x − M) / (x + M): (x − M) v + 2x (atanh v − v), the last bracket
    by its series v³/3 + v⁵/5 + … when |v| < 0.1. ``log_mean`` = log M keeps it
    finite when M underflows.
    """
    # v = −1 at x = 0, written so that no gradient divides by (x + M)² → 0.
    v = jnp.where(x > 0, (x - mean) / jnp.where(x > 0, x + mean, 1.0), -1.0)
    near = (x - mean) * v + 2 * x * v * _atanh_series(v * v)
    safe_x = jnp.where(x > 0, x, 1.0)  # any real x ≥ 0 (the NB's r < 1)
    far = jnp.where(x > 0, x * (jnp.log(safe_x) - log_mean), 0.0) + mean - x
    return jnp.where(jnp.abs(v) < 0.1, near, far)


def _binomial_log_pmf(n: int, log_p: Array, log_q: Array) -> tuple[Array, Array, Array]:
    """log P(x) of Binomial(n, p_i) at x = 0..n (a last axis per entry of log_p).

    Loader's saddle-point form, δ(n) − δ(x) − δ(n − x) − D(x, np) − D(n − x, nq)
    + ½ log(n / (2π x (n − x))), accurate to a few ulps of O(log n) where the
    naive log C(n, x) + x log p + (n − x) log q rounds terms of size n log n.
    Also returns the x grid and the deviance D(x, np).
    """
    dtype = log_p.dtype
    x = jnp.arange(n + 1, dtype=dtype)[None, :]
    y = n - x
    log_p, log_q = log_p[..., None], log_q[..., None]
    log_np, log_nq = math.log(n) + log_p, math.log(n) + log_q
    dev_x = _deviance(x, jnp.exp(log_np), log_np)
    dev_y = _deviance(y, jnp.exp(log_nq), log_nq)
    inner = jnp.clip(x, 1, n - 1)
    middle = (
        _stirling_remainder(jnp.full((), n, dtype))
        - _stirling_remainder(x)
        - _stirling_remainder(y)
        - dev_x
        - dev_y
        + 0.5 * jnp.log(n / (2 * math.pi * inner * (n - inner)))
    )
    log_pmf = jnp.where(x == 0, n * log_q, jnp.where(y == 0, n * log_p, middle))
    return log_pmf, x, dev_x


# --------------------------------------------------------------------------- #
# Samplers of Poisson and binomial counts, exact up to the rounding of the
# draws to η's dtype. Means below _REJECTION_MIN_MEAN are drawn by inversion, a
# sequential search from 0 (about mean + 1 steps); from there on by Hörmann's
# transformed rejection, PTRS for the Poisson and BTRS for the binomial
# (W. Hörmann, Insurance: Mathematics and Economics 12, 1993, and J. Statist.
# Comput. Simul. 46, 1993), whose hat constants (α enlarged by _HAT_MARGIN)
# hold for means ≥ 10. Their acceptance tests take log P(k) in Loader's
# saddle-point form (deviances and Stirling remainders, all O(log mean)), not
# as −λ + k log λ − log k!, whose terms of size k log k cancel (at λ = 1e8 in
# float32 they are ~2e9, rounded by ~100, and jax.random.poisson's variance
# came out 1.38 λ). A proposal is ⌊mean⌋ plus a small integer offset, and the
# test reads the offset k − mean directly, so nothing is rounded before the
# accepted draw itself is (in float32, to a multiple of 8 near 1e8).
# --------------------------------------------------------------------------- #

_REJECTION_MIN_MEAN = 10.0

# The rejection samplers' α, Hörmann's times this: it keeps the hat above the
# mass function everywhere (checked on fine grids of u, λ ≥ 10 and n, p).
_HAT_MARGIN = 1.01


def _deviance_at_offset(d: Array, mean: Array) -> Array:
    """D(M + d; M) = (M + d) log(1 + d/M) − d ≥ 0 from the offset d = x − M.

    ``_deviance`` with x − M given rather than formed, so it stays exact where
    x itself rounds (x ≈ 1e8 in float32): with v = d / (2M + d), d v +
    2x (atanh v − v) by its series when |v| < 0.1; D(0; M) = M (d = −M).
    """
    x = mean + d
    v = d / (2 * mean + d)
    near = d * v + 2 * x * v * _atanh_series(v * v)
    positive = x > 0
    log_ratio = jnp.log1p(jnp.where(positive, d / mean, 0.0))
    far = jnp.where(positive, x * log_ratio, 0.0) - d
    return jnp.where(jnp.abs(v) < 0.1, near, far)


def _poisson_log_prob(k: Array, offset: Array, rate: Array) -> Array:
    """log p(k; λ) = −D(k; λ) − ½ log 2πk − δ(k), and −λ at k = 0.

    Stirling's log k! = (k + ½) log k − k + ½ log 2π + δ(k) substituted in
    −λ + k log λ − log k!; ``offset`` is k − λ.
    """
    safe_k = jnp.maximum(k, 1.0)
    stirling = 0.5 * jnp.log(2 * math.pi * safe_k) + _stirling_remainder(safe_k)
    return -_deviance_at_offset(offset, rate) - jnp.where(k >= 1, stirling, 0.0)


def _binomial_log_prob(
    k: Array, offset: Array, n: int, mean: Array, mean_q: Array
) -> Array:
    """log P(k) of Binomial(n, p) from ``offset`` = k − np, mean = np, mean_q = nq.

    Loader's form −D(k; np) − D(n − k; nq) + δ(n) − δ(k) − δ(n − k)
    + ½ log(n / (2π k (n − k))), the terms after the deviances dropped at
    k = 0 and k = n (where log P is n log q and n log p), as in
    ``_binomial_log_pmf``.
    """
    inner = jnp.clip(k, 1, n - 1)
    rest = n - inner
    stirling = (
        _stirling_remainder(jnp.full((), n, k.dtype))
        - _stirling_remainder(inner)
        - _stirling_remainder(rest)
        + 0.5 * (math.log(n / (2 * math.pi)) - jnp.log(inner) - jnp.log(rest))
    )
    deviances = _deviance_at_offset(offset, mean) + _deviance_at_offset(-offset, mean_q)
    return jnp.where((k >= 1) & (k <= n - 1), stirling, 0.0) - deviances


def _search(
    u: Array,
    first: Array,
    ratio: Callable[[Array], Array],
    todo: Array,
    last: float,
) -> Array:
    """The least k with u < P(0) + … + P(k): inversion by sequential search.

    Args:
      u: uniform draws on [0, 1), one per count.
      first: P(0).
      ratio: k ↦ P(k + 1) / P(k).
      todo: where to search; the other counts are 0.
      last: the largest count.

    Returns:
      The counts. The search also stops once a term no longer raises the
      running sum: the tail beyond it is below the dtype's resolution of u.
    """

    def step(
        state: tuple[Array, Array, Array, Array],
    ) -> tuple[Array, Array, Array, Array]:
        k, term, total, more = state
        next_term = term * ratio(k)
        next_total = total + next_term
        k = jnp.where(more, k + 1, k)
        more = more & (u >= next_total) & (next_total > total) & (k < last)
        return k, next_term, next_total, more

    zero = jnp.zeros_like(u)
    more = todo & (u >= first) & (last > 0)
    k, *_ = lax.while_loop(lambda s: jnp.any(s[-1]), step, (zero, first, first, more))
    return k


def _counts_by_search(
    key: Array,
    small: Array,
    shape: tuple[int, ...],
    dtype: jnp.dtype,
    law: Callable[[], tuple[Array, Callable[[Array], Array]]],
    last: float,
) -> Array:
    """Counts of ``shape`` and ``dtype`` by :func:`_search` where ``small``
    (broadcast to ``shape``), 0 elsewhere. ``law()`` gives P(0) and k ↦ P(k + 1) / P(k)
    (broadcasting to ``shape``). The search draws its uniforms up front, so
    it runs, and ``law`` is computed, only when some count needs it."""

    def search() -> Array:
        first, ratio = law()
        first = jnp.broadcast_to(first, shape)
        u = _random.uniform(key, shape, dtype)
        return _search(u, first, ratio, jnp.broadcast_to(small, shape), last)

    return lax.cond(jnp.any(small), search, lambda: jnp.zeros(shape, dtype))


def _rejection(
    key: Array,
    propose: Callable[[Array, tuple, tuple[int, ...]], tuple[Array, Array]],
    law: tuple,
    todo: Array,
    dtype: jnp.dtype,
    shape: tuple[int, ...] | None,
) -> Array:
    """Counts from a rejection sampler, proposing afresh until all are accepted.

    ``propose(key, law, shape)`` returns proposals of ``shape`` from ``law``
    (a tuple of parameter arrays broadcasting to ``shape``) and whether each
    is accepted. With per-count laws (``shape`` None: the parameters have
    ``todo``'s shape), each count keeps its own proposals
    (:func:`sample_each_by_rejection`); counts outside ``todo`` are 0. With
    one law for all counts of ``shape`` (scalar parameters and ``todo``), the
    accepted proposals of each round after the first fill the counts still
    open (:func:`sample_by_rejection`; at least ~3/4 of proposals are
    accepted, so a third of a batch refills them).
    """
    if shape is not None:
        size = math.prod(shape)

        def one_law() -> Array:
            counts = sample_by_rejection(
                key, lambda k, n: propose(k, law, (n,)), size, size // 3 + 1
            )
            return counts.reshape(shape).astype(dtype)

        return lax.cond(todo, one_law, lambda: jnp.zeros(shape, dtype))
    return sample_each_by_rejection(
        key, lambda k, sub: propose(k, sub, sub[0].shape), law, todo, dtype
    )


def _uniform_pair(
    key: Array, shape: tuple[int, ...], dtype: jnp.dtype
) -> tuple[Array, Array]:
    """U ~ U(−½, ½) and V ~ U(0, 1), independent, of ``shape`` and ``dtype``."""
    u, v = _random.uniform(key, (2, *shape), dtype)
    return u - 0.5, v


def _transformed_proposal(
    key: Array,
    shape: tuple[int, ...],
    a: Array,
    b: Array,
    frac: Array,
    shift: float,
    log_alpha: Array,
) -> tuple[Array, Array, Array]:
    """Hörmann's transformed-rejection proposal, shared by PTRS and BTRS:
    (step, u_s, log hat) with step = ⌊(2a/u_s + b) U + frac + shift⌋ the
    offset from the mean's floor, u_s = ½ − |U|, and
    log hat = log V + log α − log(a/u_s² + b)."""
    u, v = _uniform_pair(key, shape, frac.dtype)
    u_s = 0.5 - jnp.abs(u)
    step = jnp.floor((2 * a / u_s + b) * u + frac + shift)
    log_hat = jnp.log(v) + log_alpha - jnp.log(a / (u_s * u_s) + b)
    return step, u_s, log_hat


def _poisson_rejection(
    key: Array, rate: Array, todo: Array, shape: tuple[int, ...] | None
) -> Array:
    """Poisson(λ) counts for λ ≥ 10 (where ``todo``; 0 elsewhere) by PTRS.

    Hörmann's transformed rejection: with U ~ U(−½, ½), V ~ U(0, 1) and
    u_s = ½ − |U|, the proposal k = ⌊G(U)⌋, G(U) = (2a/u_s + b) U + λ + 0.43,
    is accepted when V α ≤ p(k; λ) G'(U) = p(k; λ) (a/u_s² + b), so each k
    comes out with probability p(k; λ) / α per proposal, as long as the hat
    p(k; λ) G'(U) / α ≤ 1. Hörmann's b = 0.931 + 2.53 √λ and
    a = −0.059 + 0.02483 b are kept; his α = 1.1239 + 1.1328 / (b − 3.4)
    leaves p G' / α up to 1.0058 near k ≈ λ + 1.8 √λ for 10 ≤ λ ≲ 1500 (a
    ~1e-6 bias), so it is enlarged by _HAT_MARGIN. The squeeze shortcuts are
    dropped: every proposal is tested in a vectorized round anyway, and
    Hörmann's v_r exceeds the acceptance probability by up to 0.004. About
    1.2 proposals per count.
    """
    rate = jnp.where(todo, rate, _REJECTION_MIN_MEAN)
    base = jnp.floor(rate)
    frac = rate - base
    b = 0.931 + 2.53 * jnp.sqrt(rate)
    a = -0.059 + 0.02483 * b
    log_alpha = jnp.log(_HAT_MARGIN * (1.1239 + 1.1328 / (b - 3.4)))

    def propose(key: Array, law: tuple, shape: tuple[int, ...]) -> tuple[Array, Array]:
        rate, base, frac, a, b, log_alpha = law
        step, u_s, log_hat = _transformed_proposal(
            key, shape, a, b, frac, 0.43, log_alpha
        )
        k = base + step  # step = k − ⌊λ⌋
        under = log_hat <= _poisson_log_prob(k, step - frac, rate)
        return k, (u_s > 0) & (k >= 0) & under

    law = (rate, base, frac, a, b, log_alpha)
    return _rejection(key, propose, law, todo, rate.dtype, shape)


def _poisson_counts(
    key: Array, rate: Array, shape: tuple[int, ...] | None = None
) -> Array:
    """One Poisson(λ) draw per entry of ``rate`` (float32 or float64), or,
    with ``shape``, draws of that shape from the one law of a scalar λ.

    Inversion below λ = 10, PTRS from there on; a non-finite rate is returned
    as it is (∞ or NaN).
    """
    search_key, rejection_key = jax.random.split(key)
    small = rate < _REJECTION_MIN_MEAN
    large = (rate >= _REJECTION_MIN_MEAN) & jnp.isfinite(rate)
    out_shape = rate.shape if shape is None else shape

    def law() -> tuple[Array, Callable[[Array], Array]]:
        lam = jnp.where(small, rate, 0.0)
        return jnp.exp(-lam), lambda k: lam / (k + 1)

    by_search = _counts_by_search(
        search_key, small, out_shape, rate.dtype, law, math.inf
    )
    by_rejection = _poisson_rejection(rejection_key, rate, large, shape)
    return jnp.where(small, by_search, jnp.where(large, by_rejection, rate))


def _binomial_rejection(
    key: Array,
    n: int,
    p: Array,
    q: Array,
    todo: Array,
    shape: tuple[int, ...] | None,
) -> Array:
    """Binomial(n, p) counts for p ≤ ½ and np ≥ 10 (where ``todo``) by BTRS.

    Hörmann's transformed rejection, as in PTRS: the proposal
    k = ⌊(2a/u_s + b) U + np + ½⌋ in 0..n is accepted when
    V α / (a/u_s² + b) ≤ P(k) / P(m), m = ⌊(n + 1) p⌋ the mode, with his
    b = 1.15 + 2.53 √(npq), a = −0.0873 + 0.0248 b + 0.01 p and
    α = (2.83 + 5.1 / b) √(npq) (fitted for np ≥ 10, p ≤ ½), enlarged by
    _HAT_MARGIN as a safety margin, and without the squeeze. P(k) and P(m)
    are in Loader's form, so the ratio has no terms of size n log n. Counts
    outside ``todo`` are 0.
    """
    p = jnp.where(todo, p, 0.5)
    q = jnp.where(todo, q, 0.5)
    mean = n * p
    mean_q = n - mean  # nq, consistent with np to the last bit of n
    base = jnp.floor(mean)
    frac = mean - base
    spread = jnp.sqrt(mean * q)
    b = 1.15 + 2.53 * spread
    a = -0.0873 + 0.0248 * b + 0.01 * p
    log_alpha = jnp.log(_HAT_MARGIN * (2.83 + 5.1 / b) * spread)
    mode_step = jnp.floor(frac + p)  # m − ⌊np⌋
    log_mode = _binomial_log_prob(base + mode_step, mode_step - frac, n, mean, mean_q)

    def propose(key: Array, law: tuple, shape: tuple[int, ...]) -> tuple[Array, Array]:
        mean, mean_q, base, frac, a, b, log_alpha, log_mode = law
        step, u_s, log_hat = _transformed_proposal(
            key, shape, a, b, frac, 0.5, log_alpha
        )
        k = base + step  # step = k − ⌊np⌋
        log_ratio = _binomial_log_prob(k, step - frac, n, mean, mean_q) - log_mode
        inside = (u_s > 0) & (k >= 0) & (k <= n)
        return k, inside & (log_hat <= log_ratio)

    law = (mean, mean_q, base, frac, a, b, log_alpha, log_mode)
    return _rejection(key, propose, law, todo, mean.dtype, shape)


def _binomial_counts(
    key: Array, n: int, eta: Array, shape: tuple[int, ...] | None = None
) -> Array:
    """One Binomial(n, σ(η)) draw per entry of ``eta`` (float32 or float64),
    n ≥ 2, or, with ``shape``, draws of that shape from the one law of a
    scalar η.

    Draws x ~ Binomial(n, p) with p = σ(−|η|) ≤ ½ (exact in the logit) and
    returns n − x where η > 0. Inversion for np < 10, with P(0) = qⁿ and
    P(k + 1) / P(k) = (n − k) / (k + 1) · p / q; BTRS from there on.
    """
    search_key, rejection_key = jax.random.split(key)
    p = jax.nn.sigmoid(-jnp.abs(eta))
    mean = n * p
    small = mean < _REJECTION_MIN_MEAN
    large = mean >= _REJECTION_MIN_MEAN  # neither when η is NaN
    out_shape = eta.shape if shape is None else shape

    def law() -> tuple[Array, Callable[[Array], Array]]:
        odds = jnp.exp(-jnp.abs(eta))  # p / q
        first = jnp.exp(-n * softplus(-jnp.abs(eta)))  # qⁿ
        return first, lambda k: (n - k) / (k + 1) * odds

    by_search = _counts_by_search(search_key, small, out_shape, eta.dtype, law, n)
    if n >= 2 * _REJECTION_MIN_MEAN:
        q = jax.nn.sigmoid(jnp.abs(eta))
        by_rejection = _binomial_rejection(rejection_key, n, p, q, large, shape)
    else:  # np ≤ n / 2 < 10: never needed
        by_rejection = jnp.zeros(out_shape, eta.dtype)
    x = jnp.where(small, by_search, jnp.where(large, by_rejection, mean))
    return jnp.where(eta > 0, n - x, x)


def _counts_entropy(n: int, eta: Array) -> Array:
    """Entropy of the multinomial with n trials and logits [η, 0] (n = 1: labels).

    For n = 1, −Σ p log p with log-probabilities from ``_log_probs_and_complements``.
    For n > 1, with M_i = n p_i, binomial marginals x_i and
    s(x) = log x! − x log x + x = 1{x ≥ 1} (½ log 2πx + δ(x)) (Stirling with
    remainder δ),
    H = Σ_i E[log x_i! − x_i log M_i + x_i] − (log n! − n log n + n)
      = Σ_i E[D(x_i, M_i) + s(x_i)] − s(n)
    with the deviance D (E[x_i − M_i] = 0 is dropped). Every term is O(log n),
    so nothing of size n log n cancels, unlike A − ⟨η, ∇A⟩ − E[log h]; and s(n)
    is subtracted inside the most probable category's expectation,
    E[s(x) − s(n)], so a near-certain category (x = n almost surely) leaves no
    O(1) cancellation either.
    """
    log_p, log_q, top = _log_probs_and_complements(eta)
    if n == 1:
        return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)
    log_pmf, x, dev_x = _binomial_log_pmf(n, log_p, log_q)
    safe_x = jnp.maximum(x, 1.0)
    stirling = 0.5 * jnp.log(2 * math.pi * safe_x) + _stirling_remainder(x)
    s_n = 0.5 * math.log(2 * math.pi * n) + _stirling_remainder(
        jnp.full((), n, eta.dtype)
    )
    g = dev_x + jnp.where(x >= 1, stirling, 0.0) - jnp.where(top[..., None], s_n, 0.0)
    return jnp.sum(jnp.exp(log_pmf) * g, axis=(-2, -1))


def _counts_expected_log_base_measure(n: int, eta: Array) -> Array:
    """E[log h] = n H(p) − H of the multinomial (0 for n = 1, where h = 1).

    A − ⟨η, ∇A⟩ = n H(p) with H(p) the entropy of one label, so this is the
    identity entropy = A − ⟨η, ∇A⟩ − E[log h] solved for E[log h].
    """
    if n == 1:
        return jnp.zeros((), eta.dtype)
    return n * _counts_entropy(1, eta) - _counts_entropy(n, eta)


class _LogitCounts(_ScalarCount):
    """Shared algebra of the Bernoulli and binomial families (scalar logit η)."""

    param_names = ("probs",)

    @property
    def _n(self) -> int:
        """The number of trials (1 unless a subclass says otherwise)."""
        return 1

    def log_partition(self, eta: Array) -> Array:
        # n softplus(η): the scalar case of _log_normalizer, without its
        # argmax/gather (whose Hessian costs ~10× more per sample).
        return self._n * softplus(eta)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.real()

    @property
    def _max_count(self) -> float:
        return self._n

    def enumerate_support(self) -> Array:
        return jnp.arange(self._n + 1, dtype=jnp.result_type(float))

    def natural_parameters(self, mu: Array) -> Array:
        p = mu / self._n
        return jnp.log(p) - jnp.log1p(-p)

    def log_prob(self, eta: Array, x: Array) -> Array:
        # η x − n softplus(η) + log C(n, x) rounds terms of size |η| and
        # n log n: the Bernoulli's is −softplus(±η) (full relative accuracy
        # for p near 0 or 1), the binomial's Loader's form (the sampler's).
        k = observation_like(x, eta.dtype)
        if self._n == 1:
            return -softplus((1 - 2 * k) * eta)
        n = self._n
        mean, mean_q = n * jax.nn.sigmoid(eta), n * jax.nn.sigmoid(-eta)
        return _binomial_log_prob(k, k - mean, n, mean, mean_q)

    def entropy(self, eta: Array) -> Array:
        return _counts_entropy(self._n, eta[None])

    def expected_log_base_measure(self, eta: Array) -> Array:
        return _counts_expected_log_base_measure(self._n, eta[None])

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        if self._n == 1:
            p = jax.nn.sigmoid(eta)
            return jax.random.bernoulli(key, p, shape).astype(eta.dtype)
        work = jnp.promote_types(eta.dtype, jnp.float32)  # half floats: float32
        # One law for every draw: rejection rounds refill open draws.
        counts = _binomial_counts(key, self._n, eta.astype(work), shape)
        return counts.astype(eta.dtype)

    def _natural_from(self, probs: Array) -> Array:
        return jnp.log(probs) - jnp.log1p(-probs)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"probs": jax.nn.sigmoid(eta)}


@final
@dataclasses.dataclass(frozen=True)
class Bernoulli(_LogitCounts):
    r"""The Bernoulli distribution: one trial with success probability p.

    * u(x) = x on {0, 1}
    * η = log(p / (1 − p)), the logit; natural domain ℝ
    * A(η) = log(1 + e^η) = softplus(η)
    * h(x) = 1
    * conventional parameters: ``probs`` p

    The entropy is −p log p − (1 − p) log(1 − p) from log-probabilities that
    keep full relative accuracy for p near 0 or 1.
    """


@final
@dataclasses.dataclass(frozen=True)
class Binomial(_LogitCounts):
    r"""The binomial distribution: successes in n trials of probability p.

    * u(x) = x on {0, 1, …, n}
    * η = log(p / (1 − p)), the logit; natural domain ℝ
    * A(η) = n log(1 + e^η) = n softplus(η)
    * h(x) = C(n, x)
    * conventional parameters: ``probs`` p

    Args:
      n: the number of trials, an int ≥ 1 (static).

    The entropy is an exact sum over the n + 1 points of the support, in
    Loader's saddle-point form (Stirling remainders and deviances), so it keeps
    full relative accuracy where A − ηA'(η) − E[log h] would cancel terms of
    size n log n; its cost grows with n. E[log h] = n H(p) − H with H(p) the
    binary entropy.
    """

    n: int

    def __post_init__(self) -> None:
        int_field(self, "n", 1, f"Binomial(n={self.n!r})")

    @property
    def _n(self) -> int:
        return self.n

    def log_base_measure(self, x: Array) -> Array:
        x = as_float(x)
        return _log_choose(x, self.n - x + 1)


class _SoftmaxCounts(ExponentialFamily):
    """Shared algebra of the categorical and multinomial families (η ∈ ℝ^{k−1})."""

    discrete = True
    param_names = ("probs",)

    # The number of categories, a field of each (dataclass) subclass, read by
    # the shared methods. An annotation only: this base sets no attribute.
    k: int

    @property
    def _n(self) -> int:
        """The number of trials (1 unless a subclass says otherwise)."""
        return 1

    def log_partition(self, eta: Array) -> Array:
        return self._n * _log_normalizer(eta)

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.real()

    def natural_parameters(self, mu: Array) -> Array:
        # η_j = log(μ_j / μ_k) with μ_k = n − Σ_{j<k} μ_j.
        rest = math.log(self._n) + jnp.log1p(-jnp.sum(mu, axis=-1) / self._n)
        return jnp.log(mu) - rest

    def entropy(self, eta: Array) -> Array:
        return _counts_entropy(self._n, eta)

    def expected_log_base_measure(self, eta: Array) -> Array:
        return _counts_expected_log_base_measure(self._n, eta)

    def _natural_from(self, probs: Array) -> Array:
        if jnp.shape(probs)[-1:] != (self.k,):
            raise family_error(
                self,
                f"natural_from(probs={describe_value(probs)}): probs must have "
                f"{self.k} entries along the last axis",
            )
        if is_concrete(probs) and not bool(domains.simplex().contains(probs)):
            raise family_error(
                self,
                f"natural_from(probs={describe_value(probs)}): probs must be "
                f"positive and sum to 1 along the last axis",
            )
        return jnp.log(probs[..., :-1]) - jnp.log(probs[..., -1:])

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"probs": jax.nn.softmax(_logits(eta), axis=-1)}


@final
@dataclasses.dataclass(frozen=True)
class Categorical(_SoftmaxCounts):
    r"""The categorical distribution over the labels {0, 1, …, k − 1}.

    An observation is an integer label x (a scalar); the minimal representation
    drops the last category:

    * u(x) = [1{x = 0}, …, 1{x = k − 2}] (one-hot without the last entry)
    * η_j = log(p_j / p_{k−1}), j < k − 1; natural domain ℝ^{k−1}
    * A(η) = log(1 + Σ_j e^{η_j}) (a log-sum-exp of [η, 0])
    * h(x) = 1
    * conventional parameters: ``probs`` p, a length-k probability vector

    Args:
      k: the number of categories, an int ≥ 2 (static).
    """

    k: int

    def __post_init__(self) -> None:
        int_field(self, "k", 2, f"Categorical(k={self.k!r})")

    def sufficient_statistics(self, x: Array) -> Array:
        x = as_float(x)
        # [x = j] as 1 − sign|x − j|: the same values (NaN stays NaN), in
        # arithmetic XLA's CPU vectorizes, where a summed comparison is slow
        # (the Categorical(10) residual on 2^23 samples: 97 -> 22 ms).
        return 1 - jnp.sign(jnp.abs(x - jnp.arange(self.k - 1, dtype=x.dtype)))

    def in_support(self, x: Array) -> Array:
        return is_integer(x) & (x >= 0) & (x < self.k)

    def log_prob(self, eta: Array, x: Array) -> Array:
        # η_x − A rounds a probability near 1 to log p = 0 (or to eps |η|).
        x = observation_like(x, eta.dtype)
        labels = jnp.arange(self.k, dtype=x.dtype)
        return jnp.sum(jnp.where(labels == x, _log_probs(eta), 0.0))

    def enumerate_support(self) -> Array:
        return jnp.arange(self.k, dtype=jnp.result_type(float))

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return categorical_draws(key, _log_probs(eta), shape).astype(eta.dtype)


# Multinomials of at most this many trials per category are drawn as n
# categorical draws (n words and a (*shape, k) comparison per trial); above,
# as jax's chain of k − 1 binomials, whose cost does not grow with n.
# Measured on 2^17 vectors (float32), inversion against the chain, in ms:
# k = 3: 107/82 at n = 64; k = 10: 110/368 at 64, 497/275 at 256; k = 30:
# 318/1245 at 128, 1481/1043 at 512. The two cross near n = 16 k.
_INVERSION_TRIALS_PER_CATEGORY = 16


@final
@dataclasses.dataclass(frozen=True)
class Multinomial(_SoftmaxCounts):
    r"""The multinomial distribution: counts of k categories in n trials.

    An observation is a length-k vector of nonnegative integer counts summing
    to n; the minimal representation drops the last count:

    * u(x) = [x_0, …, x_{k−2}]
    * η_j = log(p_j / p_{k−1}), j < k − 1; natural domain ℝ^{k−1}
    * A(η) = n log(1 + Σ_j e^{η_j})
    * h(x) = n! / Π_i x_i!
    * conventional parameters: ``probs`` p, a length-k probability vector

    Args:
      k: the number of categories, an int ≥ 2 (static).
      n: the number of trials, an int ≥ 1 (static).

    The entropy is an exact sum over the binomial marginals
    x_i ~ Binomial(n, p_i), each over 0..n (cost k (n + 1)), in Loader's
    saddle-point form, so no terms of size n log n cancel; E[log h] =
    n H(p) − H with H(p) the entropy of one label.
    """

    k: int
    n: int

    def __post_init__(self) -> None:
        owner = f"Multinomial(k={self.k!r}, n={self.n!r})"
        int_field(self, "k", 2, owner)
        int_field(self, "n", 1, owner)

    @property
    def _n(self) -> int:
        return self.n

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.k,)

    def sufficient_statistics(self, x: Array) -> Array:
        return as_float(x)[: self.k - 1]

    def log_base_measure(self, x: Array) -> Array:
        # n! / Π x_i! = Π_i C(x_i + … + x_{k−1}, x_i).
        x = as_float(x)
        later = jnp.cumsum(x[::-1])[::-1][1:]  # x_{i+1} + … + x_{k−1}
        return jnp.sum(_log_choose(x[:-1], later + 1))

    def log_prob(self, eta: Array, x: Array) -> Array:
        # Loader's form: with m_j = n p_j and the sums over x_j > 0,
        # δ(n) − Σ δ(x_j) − Σ_j D(x_j; m_j) + ½ [log n − Σ log x_j
        # − (#{x_j > 0} − 1) log 2π], whose terms are O(log n), where
        # ⟨η, u⟩ − A + log h rounds terms of size n log n.
        x = observation_like(x, eta.dtype)
        n = self.n
        log_mean = math.log(n) + _log_probs(eta)
        deviances = _deviance(x, jnp.exp(log_mean), log_mean)
        seen = x >= 1
        safe = jnp.where(seen, x, 1.0)
        stirling = jnp.where(seen, _stirling_remainder(safe) + 0.5 * jnp.log(safe), 0.0)
        count = jnp.sum(seen.astype(x.dtype))
        return (
            _stirling_remainder(jnp.asarray(n, x.dtype))
            + 0.5 * (math.log(n) - (count - 1) * math.log(2 * math.pi))
            - jnp.sum(stirling + deviances)
        )

    def in_support(self, x: Array) -> Array:
        x = jnp.asarray(x)
        return is_integer(x) & jnp.all(x >= 0) & (jnp.sum(x) == self.n)

    def enumerate_support(self) -> Array | None:
        if math.comb(self.n + self.k - 1, self.k - 1) > _MAX_ENUMERATED:
            return None
        return jnp.asarray(_compositions(self.k, self.n), jnp.result_type(float))

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        if self.n <= _INVERSION_TRIALS_PER_CATEGORY * self.k:
            counts = multinomial_by_inversion(key, _log_probs(eta), self.n, shape)
            return counts.astype(eta.dtype)
        p = jax.nn.softmax(_logits(eta), axis=-1)
        # Broadcast p to the full output shape ourselves: jax's ``shape``
        # argument is documented as the batch prefix but read as the full shape.
        p = jnp.broadcast_to(p, (*shape, self.k))
        return jax.random.multinomial(key, self.n, p, dtype=eta.dtype)


@functools.cache
def _compositions(k: int, n: int) -> np.ndarray:
    """Every vector of k nonnegative integers summing to n (stars and bars)."""
    slots = n + k - 1
    bars = np.array(list(itertools.combinations(range(slots), k - 1)), np.int64)
    bars = bars.reshape(-1, k - 1)
    ends = np.full((bars.shape[0], 1), -1), np.full((bars.shape[0], 1), slots)
    return np.diff(np.concatenate([ends[0], bars, ends[1]], axis=1), axis=1) - 1


# --------------------------------------------------------------------------- #
# Failures before the r-th success: geometric (r = 1) and negative binomial.
# --------------------------------------------------------------------------- #

# E[log h] of the negative binomial is a trapezoidal sum in s = log t over
# [_NB_LOG_T_MIN, log(45 / min(r, 1)) + 1] with step _NB_STEP (see
# NegativeBinomial.expected_log_base_measure).
_NB_LOG_T_MIN = -60.0
_NB_STEP = 1 / 8

# The negative binomial's entropy is a quadrature over real x where
# r (1 − p) ≥ _NB_WIDE and p^r ≤ e^−50 (see NegativeBinomial.entropy): the
# trapezoidal rule in
# t = (x − μ)/σ with step 1/6 over [−10, 16] (the right tail is the heavier).
_NB_WIDE = 25.0
_NB_ENTROPY_STEP = 1 / 6
_NB_ENTROPY_NODES = np.arange(-60, 97) * _NB_ENTROPY_STEP


class _FailureCounts(_ScalarCount):
    """Shared algebra of the geometric and negative binomial families."""

    param_names = ("probs",)

    @property
    def _r(self) -> float:
        """The number of successes r (1 unless a subclass says otherwise)."""
        return 1.0

    def log_partition(self, eta: Array) -> Array:
        return -self._r * jnp.log(-jnp.expm1(eta))

    @property
    def natural_domain(self) -> domains.Domain:
        return domains.negative()

    def natural_parameters(self, mu: Array) -> Array:
        # μ = r (1 − p) / p  ⇒  η = log(1 − p) = −log(1 + r / μ).
        return -jnp.log1p(self._r / mu)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        if self._r == 1:  # geometric: ⌊E / −η⌋ with E ~ Exp(1)
            e = jax.random.exponential(key, shape, eta.dtype)
            return jnp.floor(e / -eta)
        # A Poisson count whose rate is gamma with shape r and scale (1 − p) / p.
        rate_key, count_key = jax.random.split(key)
        odds = 1.0 / jnp.expm1(-eta)
        rate = jnp.exp(log_gamma(rate_key, self._r, shape, eta.dtype)) * odds
        work = jnp.promote_types(eta.dtype, jnp.float32)  # half floats: float32
        return _poisson_counts(count_key, rate.astype(work)).astype(eta.dtype)

    def _natural_from(self, probs: Array) -> Array:
        return jnp.log1p(-probs)

    def _params_from(self, eta: Array) -> dict[str, Array]:
        return {"probs": -jnp.expm1(eta)}


def _negative_binomial_log_density(
    r: float, eta: Array, x: Array, offset: Array | None = None
) -> Array:
    """log NB(x; r, p), p = 1 − e^η, as r / (x + r) · Binomial(x; x + r, 1 − p)
    in Loader's form: ½ log(r / (2π x (x + r))) + δ(x + r) − δ(x) − δ(r)
    − D(x; (x + r) e^η) − D(r; (x + r) p), and r log p at x = 0. The generic
    η x + r log p + log h rounds terms of size x log x.

    Both deviances are taken from x − (x + r) e^η = p (x − μ), μ = r e^η / p
    (``offset`` = x − μ, given where it is known more exactly than x and μ
    apart, as on the entropy's grid). Also for real x > 0, with δ(x) then
    taken as for real arguments."""
    shape = jnp.asarray(r, x.dtype)
    p = -jnp.expm1(eta)
    if offset is None:
        offset = x - shape * jnp.exp(eta) / p
    safe = jnp.maximum(x, 1.0)
    total = safe + shape
    deviances = _deviance_at_offset(p * offset, total * jnp.exp(eta)) + (
        _deviance_at_offset(-p * offset, total * p)
    )
    value = (
        0.5 * jnp.log(shape / (2 * math.pi * safe * total))
        + stirling_remainder(total)
        - stirling_remainder(safe)
        - stirling_remainder(shape)
        - deviances
    )
    return jnp.where(x >= 1, value, shape * jnp.log(p))


@final
@dataclasses.dataclass(frozen=True)
class Geometric(_FailureCounts):
    r"""The geometric distribution: failures before the first success.

    Support {0, 1, 2, …} (scipy's ``geom`` counts trials and starts at 1; this
    is ``geom(p, loc=-1)``).

    * u(x) = x
    * η = log(1 − p), natural domain (−∞, 0)
    * A(η) = −log(1 − e^η) = −log(−expm1(η))
    * h(x) = 1
    * conventional parameters: ``probs`` p, the success probability
    """


@final
@dataclasses.dataclass(frozen=True)
class NegativeBinomial(_FailureCounts):
    r"""The negative binomial distribution: failures before the r-th success.

    scipy's ``nbinom(r, p)`` convention, on {0, 1, 2, …}, for real r > 0.

    * u(x) = x
    * η = log(1 − p), natural domain (−∞, 0)
    * A(η) = −r log(1 − e^η)
    * h(x) = C(x + r − 1, x) = Γ(x + r) / (Γ(r) x!)
    * conventional parameters: ``probs`` p, the success probability

    Args:
      r: the number of successes, a real > 0 (static).

    E[log h] has no closed form. Binet's integral for log Γ gives
    log h(x) = ∫₀^∞ (1 − e^{−xt}) (e^{−t} − e^{−rt}) / (1 − e^{−t}) dt / t,
    so E[log h] = ∫₀^∞ (1 − G(e^{−t})) (e^{−t} − e^{−rt}) / (1 − e^{−t}) dt / t
    with G the probability generating function. The integrand has one sign and
    no cancellation; in s = log t it is analytic and decays exponentially at
    both ends, so the trapezoidal rule on a fixed grid (step 1/8 over
    s ∈ [−60, log(45 / min(r, 1)) + 1]) is accurate to ~1e-15 relative for
    means up to ~1e10.
    """

    r: float

    def __post_init__(self) -> None:
        r = self.r
        if isinstance(r, bool) or not isinstance(r, (int, float, np.integer)):
            raise ValueError(f"NegativeBinomial(r={r!r}): r must be a real number > 0")
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"NegativeBinomial(r={r!r}): r must be finite and > 0")

    @property
    def _r(self) -> float:
        return float(self.r)

    def log_base_measure(self, x: Array) -> Array:
        return _log_choose(as_float(x), self._r)

    def log_prob(self, eta: Array, x: Array) -> Array:
        return _negative_binomial_log_density(
            self._r, eta, observation_like(x, eta.dtype)
        )

    def entropy(self, eta: Array) -> Array:
        # A − ημ − E[log h] cancels terms of size r log(1/p) (float32
        # r = 1e6: 9.5 for 9.35). Where the law is wide (σ² ≥ r(1 − p) ≥ 25)
        # and has no mass near 0 (p(0) = p^r ≤ e^−50), −Σₖ p(k) log p(k)
        # equals the integral of −p log p over real x up to e^(−2π²σ²)
        # (Poisson summation), taken by the trapezoidal rule in
        # t = (x − μ)/σ, exact to rounding for a smooth integrand (checked
        # against the direct sum); its terms are of one sign.
        r = self._r
        wide = (r * jnp.exp(eta) >= _NB_WIDE) & (-r * jnp.log(-jnp.expm1(eta)) >= 50)
        safe = jnp.where(wide, eta, -1.0)  # any eta: this branch is not taken
        p = -jnp.expm1(safe)
        mean = r * jnp.exp(safe) / p
        sd = jnp.sqrt(mean) / jnp.sqrt(p)
        t = jnp.asarray(_NB_ENTROPY_NODES, eta.dtype)
        x = mean + sd * t
        inside = x >= 0
        x = jnp.where(inside, x, mean)
        log_p = _negative_binomial_log_density(
            r, safe, x, jnp.where(inside, sd * t, 0.0)
        )
        terms = jnp.where(inside, -jnp.exp(log_p) * log_p, 0.0)
        quadrature = _NB_ENTROPY_STEP * sd * jnp.sum(terms)
        return jnp.where(wide, quadrature, ExponentialFamily.entropy(self, eta))

    def expected_log_base_measure(self, eta: Array) -> Array:
        r = self._r
        if r == 1:
            return jnp.zeros((), eta.dtype)
        a = min(r, 1.0)
        s = np.arange(_NB_LOG_T_MIN, math.log(45.0 / a) + 1.0, _NB_STEP)
        t = jnp.asarray(np.exp(s), eta.dtype)
        w = -jnp.expm1(-t)  # 1 − e^{−t}
        # 1 − G(e^{−t}) with G(z) = (p / (1 − (1 − p) z))^r.
        odds = 1.0 / jnp.expm1(-eta)
        one_minus_g = -jnp.expm1(-r * jnp.log1p(w * odds))
        # (e^{−t} − e^{−rt}) / (1 − e^{−t}), without overflow for any r.
        kernel = (
            math.copysign(1.0, r - 1)
            * jnp.exp(-a * t)
            * -jnp.expm1(-abs(r - 1) * t)
            / w
        )
        return _NB_STEP * jnp.sum(one_minus_g * kernel)
