"""The natural gradient as an optax transformation: Newton's method for MLE.

For an exponential family the Fisher information is ∇²A(η), the Hessian of the
mean negative log-likelihood L(η) = A(η) − ⟨η, ū⟩ − mean log h. Preconditioning
the gradient by it is Newton's method, which converges quadratically near the
optimum: a handful of full-batch steps.

``fit`` optimizes unconstrained coordinates z with η = f(z) and hands the
transformation g = Dfᵀ (∇A(η) − ū). From g it recovers the residual
r = ∇A(η) − ū (solving Dfᵀ r = g), takes the Newton direction
Δη = −(∇²A)⁻¹ r in η, restricted to the range of Df (the directions η can
move in; for a symmetric matrix parameter, the symmetric ones), and
backtracks t = lr, lr/2, … until η + tΔη lies in the domain and decreases L
(Armijo), or, at the rounding floor of L, shrinks the
residual. It returns the update z' − z with z' = f⁻¹(η + tΔη). A plain Newton
step in z would linearize f and can overshoot far from the optimum.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from expfam._conditional import ConditionalModel
from expfam._family import ExponentialFamily
from expfam._linalg import matmul

__all__ = ["natural_gradient"]


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class NaturalGradientState:
    """The state of :func:`natural_gradient`: no arrays, only the family whose
    Fisher information it preconditions by. ``fit`` finds it in an
    optimizer's state, inside an ``optax.chain`` too, and refuses a fit of
    another family (a static pytree node: it holds no leaves)."""

    family: ExponentialFamily


def _finite(value: Any) -> bool:
    """A finite real number (Python or numpy; not a bool)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def natural_gradient(
    family: ExponentialFamily, learning_rate: float = 1.0, damping: float = 1e-6
) -> optax.GradientTransformation:
    """An optax transformation preconditioning by the Fisher information.

    Use it as ``ef.fit(family, data, optimizer=ef.natural_gradient(family))``,
    best with full batches. Each step forms the dense Fisher information over
    the flattened η and solves with it: O(dim(η)³), right for families with up
    to a few hundred natural parameters (a 64-dimensional normal has 4 160 and
    is better served by ``mle`` or a first-order optimizer). It needs
    ``params`` (the unconstrained coordinates) in ``update``, which ``fit``
    passes, and assumes the incoming gradient is
    ``fit``'s pulled-back residual (so it can recover ū for its line search).

    Args:
      family: the family whose ∇²A gives the metric.
      learning_rate: the step scale; 1 is Newton's step.
      damping: added to the diagonal of ∇²A, relative to its mean diagonal
        (Levenberg–Marquardt), for near-singular Fisher information.

    Returns:
      An ``optax.GradientTransformation`` (stateless).
    """
    if not isinstance(family, ExponentialFamily):
        if isinstance(family, type) and issubclass(family, ExponentialFamily):
            name = family.__name__
            problem = f"the class {name}, not a family: pass an instance, {name}()"
        elif isinstance(family, ConditionalModel):
            problem = (
                f"a conditional model ({type(family).__name__}): "
                "ef.fisher_scoring(model, ...) is its natural-gradient solver"
            )
        else:
            problem = f"{family!r} is not an ExponentialFamily"
        raise ValueError(f"natural_gradient: {problem}")
    for name, value, ok in (
        ("learning_rate", learning_rate, _finite(learning_rate) and learning_rate > 0),
        ("damping", damping, _finite(damping) and damping >= 0),
    ):
        if not ok:
            raise ValueError(
                f"natural_gradient({family!r}): {name}={value!r} must be a finite "
                f"number {'> 0' if name == 'learning_rate' else '>= 0'}"
            )
    domain = family.natural_domain

    def init_fn(params: Any) -> NaturalGradientState:
        del params
        return NaturalGradientState(family)

    def update_fn(updates: Any, state: NaturalGradientState, params: Any = None):
        if params is None:
            raise ValueError(
                f"natural_gradient({family!r}) needs params in update(); "
                "ef.fit passes them"
            )
        flat_z, unravel_z = ravel_pytree(params)
        eta = domain.forward(params)
        flat_eta, unravel_eta = ravel_pytree(eta)

        def log_partition(e: jax.Array) -> jax.Array:
            return family.log_partition(unravel_eta(e))

        def forward_flat(f: jax.Array) -> jax.Array:
            return ravel_pytree(domain.forward(unravel_z(f)))[0]

        jac = jax.jacfwd(forward_flat)(flat_z)
        grad = ravel_pytree(updates)[0].astype(flat_eta.dtype)
        residual = jnp.linalg.lstsq(jac.T, grad)[0]  # ∇A(η) − ū
        u_bar = jax.grad(log_partition)(flat_eta) - residual
        # Newton within the directions η can move in, the range of Df: a
        # symmetric matrix parameter (the multivariate normal's, Wishart's)
        # has d² entries but d(d+1)/2 degrees of freedom, and the Fisher
        # information over all d² is singular along the antisymmetric ones,
        # which float32 rounding then amplifies. Q spans the range.
        basis = jnp.linalg.qr(jac)[0]
        fisher = matmul(basis.T, matmul(jax.hessian(log_partition)(flat_eta), basis))
        scale = jnp.mean(jnp.abs(jnp.diagonal(fisher)))
        eye = jnp.eye(fisher.shape[0], dtype=fisher.dtype)
        damped = fisher + damping * scale * eye
        direction = -matmul(basis, jnp.linalg.solve(damped, matmul(basis.T, residual)))

        def objective(e: jax.Array) -> jax.Array:
            value = log_partition(e) - matmul(e, u_bar)
            inside = domain.contains(unravel_eta(e))
            return jnp.where(inside & jnp.isfinite(value), value, jnp.inf)

        steps = learning_rate * 0.5 ** jnp.arange(40, dtype=flat_eta.dtype)
        trials = jax.vmap(lambda t: objective(flat_eta + t * direction))(steps)
        slope = matmul(residual, direction)
        ok = trials <= objective(flat_eta) + 1e-4 * steps * slope
        full = flat_eta + steps[0] * direction
        full_residual = jax.grad(log_partition)(full) - u_bar
        shrinks = jnp.isfinite(trials[0]) & (
            jnp.linalg.norm(full_residual) < jnp.linalg.norm(residual)
        )
        ok = ok.at[0].set(ok[0] | shrinks)
        t = jnp.where(jnp.any(ok), steps[jnp.argmax(ok)], 0.0)
        new_eta = unravel_eta(flat_eta + t * direction)
        new_z = ravel_pytree(domain.inverse(new_eta))[0]
        step = jnp.where(t > 0, new_z - flat_z, jnp.zeros_like(flat_z))
        return unravel_z(step.astype(flat_z.dtype)), state

    # ``fit`` finds the family (in the state, or here where it cannot trace
    # the state) to refuse the transformation for another model: its metric
    # is this family's, and it reads the gradient as this family's
    # pulled-back residual.
    update_fn.expfam_family = family  # type: ignore[attr-defined]
    return optax.GradientTransformation(init_fn, update_fn)
