"""Natural parameter domains as bijections from unconstrained space.

A domain maps unconstrained coordinates z (any real values) onto the natural
parameter domain with ``forward`` and back with ``inverse``. Fitting optimizes z,
so no optimizer step can leave the domain. ``contains`` tells whether a concrete
value lies in the (open) domain; it is what validation uses.

Leaf domains act elementwise on an array of any shape. ``Product`` combines leaf
domains for a tuple-valued parameter (e.g. the multivariate normal's vector and
matrix). Every domain is an immutable, hashable dataclass so a family that holds
one stays a valid static argument of ``jax.jit``.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

from expfam._linalg import matmul
from expfam._validation import int_field

Array = jax.Array
PyTree = Any

__all__ = [
    "Domain",
    "GreaterThan",
    "Interval",
    "LessThan",
    "NegativeDefinite",
    "PositiveDefinite",
    "Product",
    "Real",
    "Simplex",
    "Stack",
    "greater_than",
    "interval",
    "less_than",
    "negative",
    "negative_definite",
    "positive",
    "positive_definite",
    "product",
    "real",
    "simplex",
    "stack",
]


def _softplus_inverse(y: Array) -> Array:
    # log(exp(y) - 1) = y + log(1 - exp(-y)), stable for small and large y.
    return y + jnp.log(-jnp.expm1(-y))


def _inside_above(value: Array, low: float) -> Array:
    """``value`` clamped to the smallest float strictly above ``low``.

    A transform that saturates (softplus → 0, sigmoid → 0) in finite precision
    would otherwise return the excluded boundary itself.
    """
    dtype = jnp.result_type(value)
    if low == 0:
        floor = jnp.asarray(jnp.finfo(dtype).tiny, dtype)  # no subnormals (FTZ)
    else:
        floor = jnp.nextafter(jnp.asarray(low, dtype), jnp.asarray(jnp.inf, dtype))
    return jnp.maximum(value, floor)


def _inside_below(value: Array, high: float) -> Array:
    """``value`` clamped to the largest float strictly below ``high``."""
    return -_inside_above(-value, -high)


class Domain(abc.ABC):
    """A bijection from unconstrained coordinates onto a parameter domain."""

    @abc.abstractmethod
    def forward(self, z: PyTree) -> PyTree:
        """Maps unconstrained coordinates to a point of the domain."""

    @abc.abstractmethod
    def inverse(self, eta: PyTree) -> PyTree:
        """Maps a point of the domain to its unconstrained coordinates."""

    @abc.abstractmethod
    def contains(self, eta: PyTree) -> Array:
        """Whether every entry of ``eta`` lies in the domain (a boolean scalar)."""

    def describe(self) -> str:
        """A short human-readable statement of the domain, used in errors."""
        return type(self).__name__


@dataclasses.dataclass(frozen=True)
class Real(Domain):
    """All finite reals: the identity map."""

    def forward(self, z: Array) -> Array:
        return z

    def inverse(self, eta: Array) -> Array:
        return eta

    def contains(self, eta: Array) -> Array:
        return jnp.all(jnp.isfinite(eta))

    def describe(self) -> str:
        return "finite reals"


@dataclasses.dataclass(frozen=True)
class GreaterThan(Domain):
    """The open half-line (low, ∞): eta = low + softplus(z)."""

    low: float = 0.0

    def __post_init__(self) -> None:
        _finite_bounds(self, "low")

    def forward(self, z: Array) -> Array:
        return _inside_above(self.low + jax.nn.softplus(z), self.low)

    def inverse(self, eta: Array) -> Array:
        return _softplus_inverse(eta - self.low)

    def contains(self, eta: Array) -> Array:
        return jnp.all(jnp.isfinite(eta) & (eta > self.low))

    def describe(self) -> str:
        return f"values > {self.low:g}"


@dataclasses.dataclass(frozen=True)
class LessThan(Domain):
    """The open half-line (-∞, high): eta = high - softplus(z)."""

    high: float = 0.0

    def __post_init__(self) -> None:
        _finite_bounds(self, "high")

    def forward(self, z: Array) -> Array:
        return _inside_below(self.high - jax.nn.softplus(z), self.high)

    def inverse(self, eta: Array) -> Array:
        return _softplus_inverse(self.high - eta)

    def contains(self, eta: Array) -> Array:
        return jnp.all(jnp.isfinite(eta) & (eta < self.high))

    def describe(self) -> str:
        return f"values < {self.high:g}"


@dataclasses.dataclass(frozen=True)
class Interval(Domain):
    """The open interval (low, high): eta = low + (high - low) sigmoid(z)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _finite_bounds(self, "low", "high")
        if not self.low < self.high:
            raise ValueError(
                f"Interval(low={self.low}, high={self.high}): low must be < high"
            )

    def forward(self, z: Array) -> Array:
        eta = self.low + (self.high - self.low) * jax.nn.sigmoid(z)
        return _inside_below(_inside_above(eta, self.low), self.high)

    def inverse(self, eta: Array) -> Array:
        t = (eta - self.low) / (self.high - self.low)
        return jnp.log(t) - jnp.log1p(-t)

    def contains(self, eta: Array) -> Array:
        return jnp.all((eta > self.low) & (eta < self.high))

    def describe(self) -> str:
        return f"values in ({self.low:g}, {self.high:g})"


@dataclasses.dataclass(frozen=True)
class Simplex(Domain):
    """The open probability simplex in R^k, from k - 1 logits against the last.

    forward(z) = softmax([z, 0]); inverse(p) = log(p[:-1] / p[-1]).
    """

    def forward(self, z: Array) -> Array:
        zeros = jnp.zeros((*z.shape[:-1], 1), z.dtype)
        p = jax.nn.softmax(jnp.concatenate([z, zeros], axis=-1), axis=-1)
        return _inside_above(p, 0.0)  # an underflowed 0 is not in the open simplex

    def inverse(self, eta: Array) -> Array:
        return jnp.log(eta[..., :-1]) - jnp.log(eta[..., -1:])

    def contains(self, eta: Array) -> Array:
        tol = 10 * jnp.finfo(jnp.result_type(eta, float)).eps * eta.shape[-1]
        return jnp.all(eta > 0) & jnp.all(jnp.abs(jnp.sum(eta, -1) - 1) <= tol)

    def describe(self) -> str:
        return "points of the open probability simplex"


def _fill_lower(v: Array, d: int) -> Array:
    rows, cols = jnp.tril_indices(d)
    return jnp.zeros((*v.shape[:-1], d, d), v.dtype).at[..., rows, cols].set(v)


@dataclasses.dataclass(frozen=True)
class PositiveDefinite(Domain):
    """Symmetric positive-definite d × d matrices through a Cholesky factor.

    z holds the d(d + 1)/2 entries of the lower triangle (row-major); the
    diagonal passes through softplus, so L has a positive diagonal and
    eta = L Lᵀ is positive definite for every z. The diagonal is kept at
    least √tiny, so that L_ii² does not underflow (softplus(−60)² gave a
    singular η in float32). In floating point, a z whose L is conditioned
    beyond ~1/√eps still gives an η that rounds to an indefinite matrix
    (``contains`` is then False); ``fit`` halves such steps.
    """

    d: int

    def __post_init__(self) -> None:
        int_field(self, "d", 1, f"PositiveDefinite(d={self.d!r})")

    def _cholesky_from(self, z: Array) -> Array:
        L = _fill_lower(z, self.d)
        diag = jax.nn.softplus(jnp.diagonal(L, axis1=-2, axis2=-1))
        floor = jnp.sqrt(jnp.finfo(L.dtype).tiny)
        idx = jnp.arange(self.d)
        return L.at[..., idx, idx].set(jnp.maximum(diag, floor))

    def forward(self, z: Array) -> Array:
        L = self._cholesky_from(z)
        return matmul(L, jnp.swapaxes(L, -1, -2))

    def inverse(self, eta: Array) -> Array:
        L = jnp.linalg.cholesky(eta)
        idx = jnp.arange(self.d)
        L = L.at[..., idx, idx].set(_softplus_inverse(L[..., idx, idx]))
        rows, cols = jnp.tril_indices(self.d)
        return L[..., rows, cols]

    def contains(self, eta: Array) -> Array:
        if eta.shape[-2:] != (self.d, self.d):
            return jnp.asarray(False)
        # Symmetric to rounding, on the scale of each entry's own bound
        # |η_ij| < √(η_ii η_jj): an entry that should be 0 holds rounding of
        # that scale (−½ inv(Σ) has 4e-9 against 0 across the diagonal), so a
        # tolerance relative to the entry itself refused textbook matrices.
        diagonal = jnp.abs(jnp.diagonal(eta, axis1=-2, axis2=-1))
        scale = jnp.sqrt(diagonal[..., :, None] * diagonal[..., None, :])
        sym = jnp.all(jnp.abs(eta - jnp.swapaxes(eta, -1, -2)) <= 1e-5 * scale)
        chol = jnp.linalg.cholesky(eta)
        return sym & jnp.all(jnp.isfinite(chol))

    def describe(self) -> str:
        return f"symmetric positive-definite {self.d}×{self.d} matrices"


@dataclasses.dataclass(frozen=True)
class NegativeDefinite(Domain):
    """Symmetric negative-definite d × d matrices: the negative of PositiveDefinite."""

    d: int

    def __post_init__(self) -> None:
        int_field(self, "d", 1, f"NegativeDefinite(d={self.d!r})")

    def forward(self, z: Array) -> Array:
        return -PositiveDefinite(self.d).forward(z)

    def inverse(self, eta: Array) -> Array:
        return PositiveDefinite(self.d).inverse(-eta)

    def contains(self, eta: Array) -> Array:
        return PositiveDefinite(self.d).contains(-eta)

    def describe(self) -> str:
        return f"symmetric negative-definite {self.d}×{self.d} matrices"


@dataclasses.dataclass(frozen=True)
class Stack(Domain):
    """Scalar domains side by side along the last axis of one array.

    For a family whose η is one vector with entries of different kinds, e.g. the
    normal's (η1 real, η2 < 0): ``stack(real(), negative())``.
    """

    domains: tuple[Domain, ...]

    def __post_init__(self) -> None:
        _check_parts(self)

    def _apply(self, method: str, v: Array) -> Array:
        if v.shape[-1:] != (len(self.domains),):
            raise ValueError(
                f"Stack of {len(self.domains)} domains got shape {v.shape}"
            )
        parts = [getattr(d, method)(v[..., i]) for i, d in enumerate(self.domains)]
        return jnp.stack(parts, axis=-1)

    def forward(self, z: Array) -> Array:
        return self._apply("forward", z)

    def inverse(self, eta: Array) -> Array:
        return self._apply("inverse", eta)

    def contains(self, eta: Array) -> Array:
        if jnp.shape(eta)[-1:] != (len(self.domains),):
            return jnp.asarray(False)
        ok = [d.contains(eta[..., i]) for i, d in enumerate(self.domains)]
        return jnp.all(jnp.stack(ok))

    def describe(self) -> str:
        return "[" + ", ".join(d.describe() for d in self.domains) + "]"


@dataclasses.dataclass(frozen=True)
class Product(Domain):
    """A tuple of domains for a tuple-valued parameter, one domain per entry."""

    domains: tuple[Domain, ...]

    def __post_init__(self) -> None:
        _check_parts(self)

    def forward(self, z: tuple) -> tuple:
        return _like(z, (d.forward(zi) for d, zi in zip(self.domains, z, strict=True)))

    def inverse(self, eta: tuple) -> tuple:
        return _like(
            eta, (d.inverse(e) for d, e in zip(self.domains, eta, strict=True))
        )

    def contains(self, eta: tuple) -> Array:
        if not isinstance(eta, (tuple, list)) or len(eta) != len(self.domains):
            return jnp.asarray(False)
        ok = [d.contains(e) for d, e in zip(self.domains, eta, strict=True)]
        return jnp.all(jnp.stack([jnp.asarray(o) for o in ok]))

    def describe(self) -> str:
        return "(" + ", ".join(d.describe() for d in self.domains) + ")"


def _finite_bounds(domain: Domain, *names: str) -> None:
    """Each named bound of ``domain`` as a finite float, or a ValueError (an
    infinite bound gave forward(z) = 3.4e38 or NaN for every z: a half-line
    is greater_than/less_than, the whole line real())."""
    for name in names:
        value = getattr(domain, name)
        try:
            bound = float(value)
        except (TypeError, ValueError):
            bound = math.nan
        if not math.isfinite(bound):
            raise ValueError(
                f"{domain!r}: {name} must be a finite number, got {value!r} (for a "
                "half-line use greater_than/less_than, for all reals real())"
            )
        object.__setattr__(domain, name, bound)


def _check_parts(domain: Any) -> None:
    """``domain.domains`` as a non-empty tuple of domains, or a ValueError
    naming the first entry that is not one (``D.real`` uncalled, say)."""
    parts = tuple(domain.domains)
    name = type(domain).__name__.lower()
    if not parts:
        raise ValueError(f"{name}() needs at least one domain")
    for i, part in enumerate(parts):
        if not isinstance(part, Domain):
            called = getattr(part, "__name__", None)
            hint = f" (call it: {called}())" if callable(part) and called else ""
            raise ValueError(f"{name}(...): entry {i} is {part!r}, not a domain{hint}")
    object.__setattr__(domain, "domains", parts)


def _like(template: tuple, items: Any) -> tuple:
    """``items`` as a tuple of ``template``'s type: a NamedTuple η (its
    statistics' type) maps to z and back as that NamedTuple."""
    if hasattr(type(template), "_fields"):
        return type(template)(*items)
    return tuple(items)


def real() -> Real:
    """All finite reals (identity)."""
    return Real()


def positive() -> GreaterThan:
    """Positive reals, through softplus."""
    return GreaterThan(0.0)


def negative() -> LessThan:
    """Negative reals, through -softplus."""
    return LessThan(0.0)


def greater_than(low: float) -> GreaterThan:
    """Reals above ``low``, through ``low + softplus``."""
    return GreaterThan(float(low))


def less_than(high: float) -> LessThan:
    """Reals below ``high``, through ``high - softplus``."""
    return LessThan(float(high))


def interval(low: float, high: float) -> Interval:
    """The open interval (low, high), through a scaled sigmoid."""
    return Interval(float(low), float(high))


def simplex() -> Simplex:
    """The open probability simplex, from logits against the last category."""
    return Simplex()


def positive_definite(d: int) -> PositiveDefinite:
    """Symmetric positive-definite d × d matrices, through a Cholesky factor."""
    return PositiveDefinite(d)


def negative_definite(d: int) -> NegativeDefinite:
    """Symmetric negative-definite d × d matrices, through a Cholesky factor."""
    return NegativeDefinite(d)


def stack(*domains: Domain) -> Stack:
    """A vector parameter whose i-th entry lies in ``domains[i]``."""
    return Stack(tuple(domains))


def product(*domains: Domain) -> Product:
    """A domain for a tuple-valued parameter, one domain per entry."""
    return Product(tuple(domains))
