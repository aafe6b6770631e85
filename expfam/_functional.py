"""``ef.family(...)``: a family from plain functions, without subclassing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, final

import jax
import jax.numpy as jnp

from expfam._domains import Domain
from expfam._family import ExponentialFamily, PyTree

__all__ = ["family"]


@final
@dataclasses.dataclass(frozen=True)
class FunctionalFamily(ExponentialFamily):
    """A family assembled from functions by :func:`expfam.family`.

    Equality and hashing are by its fields: the same function objects, domain
    and options make equal families (so does ``copy.deepcopy``, which keeps
    functions as they are), and two lambdas with the same body are different
    functions, hence different families.
    """

    name: str
    statistics_fn: Callable[[jax.Array], PyTree]
    log_partition_fn: Callable[[PyTree], jax.Array]
    domain: Domain
    log_base_measure_fn: Callable[[jax.Array], jax.Array] | None = None
    expected_log_base_measure_fn: Callable[[PyTree], jax.Array] | None = None
    sampler: Callable[[jax.Array, PyTree, tuple[int, ...]], jax.Array] | None = None
    in_support_fn: Callable[[jax.Array], jax.Array] | None = None
    shape: tuple[int, ...] = ()
    is_discrete: bool = False
    bounds: tuple[float, float] | None = None

    def sufficient_statistics(self, x: jax.Array) -> PyTree:
        return self.statistics_fn(x)

    def log_partition(self, eta: PyTree) -> jax.Array:
        return self.log_partition_fn(eta)

    @property
    def natural_domain(self) -> Domain:
        return self.domain

    def log_base_measure(self, x: jax.Array) -> jax.Array:
        if self.log_base_measure_fn is None:
            return super().log_base_measure(x)
        return self.log_base_measure_fn(x)

    def expected_log_base_measure(self, eta: PyTree) -> jax.Array:
        if self.log_base_measure_fn is None:
            leaf = jax.tree_util.tree_leaves(eta)[0]
            return jnp.zeros((), jnp.result_type(leaf))
        if self.expected_log_base_measure_fn is None:
            raise NotImplementedError(
                f"{self!r} has a non-constant base measure: pass "
                "expected_log_base_measure= to ef.family for entropy and "
                "cross-entropy"
            )
        return self.expected_log_base_measure_fn(eta)

    def sample(self, key: jax.Array, eta: PyTree, shape: tuple[int, ...] = ()) -> Any:
        if self.sampler is None:
            raise NotImplementedError(f"{self!r} has no sampler: pass sample= to it")
        return self.sampler(key, eta, shape)

    def in_support(self, x: jax.Array) -> jax.Array:
        if self.in_support_fn is None:
            return super().in_support(x)
        return self.in_support_fn(x)

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.shape

    @property
    def discrete(self) -> bool:
        return self.is_discrete

    @property
    def support(self) -> tuple[float, float] | None:
        return self.bounds

    def __deepcopy__(self, memo: dict) -> FunctionalFamily:
        # Immutable: a copy is the family itself. deepcopy would copy fields
        # such as jnp.log (a jitted function) into unequal objects, and a
        # deep-copied FitResult could then no longer resume its fit.
        return self

    def __repr__(self) -> str:
        return f"family({self.name!r})"


def family(
    *,
    sufficient_statistics: Callable[[jax.Array], PyTree],
    log_partition: Callable[[PyTree], jax.Array],
    natural_domain: Domain,
    log_base_measure: Callable[[jax.Array], jax.Array] | None = None,
    expected_log_base_measure: Callable[[PyTree], jax.Array] | None = None,
    sample: Callable[[jax.Array, PyTree, tuple[int, ...]], jax.Array] | None = None,
    in_support: Callable[[jax.Array], jax.Array] | None = None,
    event_shape: tuple[int, ...] = (),
    discrete: bool = False,
    support: tuple[float, float] | None = None,
    name: str = "custom",
) -> ExponentialFamily:
    """Builds a family from its defining functions.

    Args:
      sufficient_statistics: u(x) for one observation (an array or tuple).
      log_partition: A(η) for one natural parameter with u's structure.
      natural_domain: a :mod:`expfam.domains` bijection onto the natural domain.
      log_base_measure: log h(x) for one observation; default 0.
      expected_log_base_measure: E[log h(x)] under η, needed for entropy when h
        is not constant.
      sample: ``sample(key, eta, shape)`` drawing ``shape`` observations.
      in_support: whether one observation lies in the support; default: finite.
      event_shape: the shape of one observation.
      discrete: whether observations are counts or labels (affects only the
        conformance kit, which then sums the mass function instead of
        integrating it).
      support: (lo, hi) of a 1-D continuous family, used for quadrature.
      name: the name used in error messages.

    Returns:
      An :class:`ExponentialFamily` that every derived method and ``ef.fit``
      accept.
    """
    for label, fn in [
        ("sufficient_statistics", sufficient_statistics),
        ("log_partition", log_partition),
    ]:
        if not callable(fn):
            raise ValueError(f"family({name!r}): {label} must be callable, got {fn!r}")
    if not isinstance(natural_domain, Domain):
        raise ValueError(
            f"family({name!r}): natural_domain must be an expfam.domains.Domain, "
            f"got {natural_domain!r}"
        )
    return FunctionalFamily(
        name=name,
        statistics_fn=sufficient_statistics,
        log_partition_fn=log_partition,
        domain=natural_domain,
        log_base_measure_fn=log_base_measure,
        expected_log_base_measure_fn=expected_log_base_measure,
        sampler=sample,
        in_support_fn=in_support,
        shape=tuple(event_shape),
        is_discrete=bool(discrete),
        bounds=support,
    )
