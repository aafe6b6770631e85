"""Natural parameters from mean parameters by damped Newton.

Solves ∇A(η) = μ, i.e. minimizes the convex g(η) = A(η) − ⟨η, μ⟩, in the
unconstrained coordinates z of the family's natural domain (η = f(z)), so every
iterate is a valid natural parameter. The step solves J Δz = μ − ∇A(f(z)) with
J = ∇²A · Df (least squares when η has redundant entries, as symmetric matrices
do), and a vectorized backtracking line search on g picks the first of the step
lengths 1, 1/2, 1/4, … that satisfies Armijo's condition. Everything is a
``lax.while_loop`` of fixed-shape arrays: jit- and vmap-compatible.

The solver returns a convergence flag rather than raising: the caller decides
(``ExponentialFamily.natural_parameters`` raises on concrete input and returns
NaN under tracing, as documented there).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from expfam._linalg import matmul
from expfam._tree import tree_vdot

if TYPE_CHECKING:
    from expfam._family import ExponentialFamily

PyTree = Any

__all__ = ["NewtonResult", "default_tolerance", "natural_by_newton", "solve_natural"]

_STEP_HALVINGS = 30


class NewtonResult(NamedTuple):
    """The solve's outcome: the natural parameter, whether it converged, steps."""

    natural: PyTree
    converged: jax.Array
    iterations: jax.Array


def _solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """a x = b: LU for a square system, least squares otherwise (parameters
    with redundant entries, such as symmetric matrices, give rectangular or
    singular systems). LU compiles and runs far faster than the SVD."""
    if a.shape[0] == a.shape[1]:
        return jnp.linalg.solve(a, b)
    return jnp.linalg.lstsq(a, b)[0]


def default_tolerance(dtype: jnp.dtype) -> float:
    """Tolerance on ‖∇A(η) − μ‖∞ relative to ‖μ‖∞: 1e-10 in float64, 1e-5 in
    float32."""
    return 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5


def solve_natural(
    family: ExponentialFamily,
    mu: PyTree,
    eta0: PyTree,
    *,
    max_iterations: int = 100,
    rtol: float | None = None,
) -> NewtonResult:
    """Damped Newton for ∇A(η) = μ from the start ``eta0`` (one parameter set)."""
    domain = family.natural_domain
    flat_mu, _ = ravel_pytree(mu)
    dtype = flat_mu.dtype
    rtol = default_tolerance(dtype) if rtol is None else rtol
    z0, unravel_z = ravel_pytree(domain.inverse(eta0))
    z0 = z0.astype(dtype)
    # Relative to μ's own scale (not to max(1, |μ|), which made the test
    # absolute for small μ: a Rayleigh's η at μ = 1e-6 came back 80 % off in
    # float32, and fits depended on the data's units).
    scale = jnp.max(jnp.abs(flat_mu))
    tol = rtol * jnp.where(scale > 0, scale, 1.0)

    def eta_of(z: jax.Array) -> PyTree:
        return domain.forward(unravel_z(z))

    def objective(z: jax.Array) -> jax.Array:
        eta = eta_of(z)
        value = family.log_partition(eta) - tree_vdot(eta, mu)
        return jnp.where(jnp.isfinite(value), value, jnp.inf)

    def residual(z: jax.Array) -> jax.Array:
        return ravel_pytree(jax.grad(family.log_partition)(eta_of(z)))[0] - flat_mu

    def shrinks(F_new: jax.Array, F: jax.Array) -> jax.Array:
        return jnp.all(jnp.isfinite(F_new)) & (
            jnp.max(jnp.abs(F_new)) < jnp.max(jnp.abs(F))
        )

    steps = 0.5 ** jnp.arange(_STEP_HALVINGS, dtype=dtype)
    settle = rtol**0.5

    def body(state):
        z, g, F, it, converged, stalled, _, _ = state
        newton = -_solve(jax.jacfwd(residual)(z), F)
        # ∇g = Dfᵀ (∇A(η) − μ) = Dfᵀ F: the residual pulled back to z.
        eta, pullback = jax.vjp(eta_of, z)
        grad_g = pullback(ravel_pytree(eta)[1](F))[0]
        slope = matmul(grad_g, newton)
        usable = jnp.all(jnp.isfinite(newton)) & (slope < 0)
        # (Polishing, the Newton step itself: see below.)
        dz = jnp.where(usable | converged, newton, -grad_g)
        slope = jnp.where(usable, slope, -matmul(grad_g, grad_g))
        # Near the root, g is flat to within rounding and Armijo cannot tell
        # steps apart: there a full step that shrinks the residual is taken.
        F_full = residual(z + dz)
        full_ok = shrinks(F_full, F)
        trials = jax.vmap(lambda t: objective(z + t * dz))(steps)
        ok = (trials <= g + 1e-4 * steps * slope) & jnp.isfinite(trials)
        ok = ok.at[0].set(ok[0] | full_ok)
        first = jnp.argmax(ok)
        moved = jnp.any(ok)
        z_new = jnp.where(moved, z + steps[first] * dz, z)
        g_new = jnp.where(moved, trials[first], g)
        F_new = residual(z_new)
        err = jnp.max(jnp.abs(F_new))
        # No acceptable step: we are at the rounding floor of g. Accept the point
        # only when the residual is within a small multiple of the tolerance.
        stalled_new = ~moved
        converged_new = (err <= tol) | (stalled_new & (err <= 100 * tol))
        # Once converged, one last iteration polishes: the full Newton step,
        # kept where it shrinks the residual; a converged iterate's next full
        # step is accurate to about the square of its error. That step also
        # tells an optimum from the boundary of the mean domain, where there
        # is none: ∇A(η) → μ only as η runs off (all coin tosses heads: the
        # residual e^(−η) meets any tolerance, at η ≈ 13 in float32), and the
        # Newton step stays of order 1 in η instead of shrinking. So the
        # polishing step must be small against η: ‖Δη‖∞ ≤ √rtol (1 + ‖η‖∞).
        polish = converged & full_ok
        eta_now, eta_next = ravel_pytree(eta)[0], ravel_pytree(eta_of(z + dz))[0]
        step_size = jnp.max(jnp.abs(eta_next - eta_now))
        settled = ~polish | (step_size <= settle * (1 + jnp.max(jnp.abs(eta_now))))
        return (
            jnp.where(converged, jnp.where(polish, z + dz, z), z_new),
            g_new,
            jnp.where(converged, jnp.where(polish, F_full, F), F_new),
            it + jnp.where(converged, 0, 1),
            converged | converged_new,
            jnp.where(converged, stalled, stalled_new),
            converged,
            jnp.where(converged, settled, True),
        )

    def cond(state):
        _, _, _, it, converged, stalled, polished, _ = state
        return ~polished & (converged | ((it < max_iterations) & ~stalled))

    F0 = residual(z0)
    init = (
        z0,
        objective(z0),
        F0,
        jnp.asarray(0),
        jnp.max(jnp.abs(F0)) <= tol,
        jnp.asarray(False),
        jnp.asarray(False),
        jnp.asarray(True),
    )
    z, _, F, it, converged, _, _, settled = jax.lax.while_loop(cond, body, init)
    converged = converged & settled & jnp.all(jnp.isfinite(F))
    return NewtonResult(eta_of(z), converged, it)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def natural_by_newton(family: ExponentialFamily, mu: PyTree) -> PyTree:
    """η with ∇A(η) = μ by ``solve_natural``; NaN where it did not converge.

    Differentiable by the implicit function theorem: dη = (∇²A(η))⁻¹ dμ (least
    squares, for parameters with redundant entries), so ``jax.grad`` never
    differentiates through the iterations.
    """
    result = solve_natural(family, mu, family.natural_parameters_guess(mu))
    return jax.tree_util.tree_map(
        lambda e: jnp.where(result.converged, e, jnp.nan), result.natural
    )


@natural_by_newton.defjvp
def _natural_by_newton_jvp(family, primals, tangents):
    (mu,), (dmu,) = primals, tangents
    eta = natural_by_newton(family, mu)
    flat_eta, unravel = ravel_pytree(eta)
    hessian = jax.hessian(lambda f: family.log_partition(unravel(f)))(flat_eta)
    flat_dmu = ravel_pytree(dmu)[0].astype(flat_eta.dtype)
    square = ravel_pytree(family.natural_domain.inverse(eta))[0].size == flat_eta.size
    deta = jnp.linalg.solve(hessian, flat_dmu) if square else _solve(hessian, flat_dmu)
    return eta, unravel(deta)
