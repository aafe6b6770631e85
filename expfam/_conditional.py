r"""Conditional models: the natural parameter depends on an input.

A conditional model is p(y | x, θ) = h(y) exp(⟨η(x; θ), u(y)⟩ − A(η(x; θ))): one
exponential family whose natural parameter η is a function of the input x and of
model parameters θ (a pytree). Maximum likelihood on pairs (x_i, y_i) minimizes

    L(θ) = (1/n) [ Σ_i −log p(y_i | x_i, θ) + R(θ) ]

with an optional penalty R (the L2 penalty of :class:`GLM`). Its gradient is the
per-sample residual pulled back through the predictor with one vjp,

    ∇L(θ) = −(1/n) J(θ)ᵀ [u(y_i) − ∇A(η_i)]_i + ∇R(θ)/n,   J = ∂[η_i]_i / ∂θ,

the conditional generalization of the unconditional residual E_emp[u] − E_model[u].

* :class:`Conditional` wraps any JAX predictor (a linear map, a neural network in
  plain JAX); its output lives in the family's unconstrained coordinates and is
  mapped through the natural-domain bijection, so every output is a valid η.
* :class:`GLM` is the generalized linear model: a linear predictor with an
  intercept and the canonical link, and scikit-learn's L2 penalty.
* :func:`fisher_scoring` is the full-batch Fisher-scoring solver (IRLS for
  canonical links); :func:`expfam.fit` fits any conditional model with optax.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, Protocol, final

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from expfam import _xla, domains
from expfam._dtypes import as_array
from expfam._families._counts import Categorical, Multinomial
from expfam._families._gamma import Gamma
from expfam._families._gaussian import Normal
from expfam._family import ExponentialFamily, _overrides, _support_mask
from expfam._linalg import FULL_PRECISION, einsum, matmul
from expfam._tree import same_shapes, tree_select, tree_sub, tree_vdot
from expfam._validation import (
    describe_value,
    is_concrete,
    is_int,
    key_problem,
    real_dtype_problem,
)

Array = jax.Array
PyTree = Any

__all__ = ["GLM", "Conditional", "ConditionalModel", "fisher_scoring"]


def _model_error(model: Any, message: str) -> ValueError:
    return ValueError(f"{model!r}: {message}")


class ConditionalModel(abc.ABC):
    r"""The shared protocol of conditional models p(y | x, θ).

    A subclass gives ``family`` (an :class:`ExponentialFamily`), ``natural``
    (η for one input) and optionally ``penalty`` and ``init``; log-density,
    prediction, the objective and its residual gradient are derived here once.
    Methods take one input x and one target y; ``jax.vmap`` batches them.
    """

    family: ExponentialFamily

    @abc.abstractmethod
    def natural(self, params: PyTree, x: Any) -> PyTree:
        """η(x; θ): the family's natural parameter for one input."""

    def penalty(self, params: PyTree) -> Array:
        """R(θ), added to the summed negative log-likelihood (default 0)."""
        leaf = jax.tree_util.tree_leaves(params)[0]
        return jnp.zeros((), jnp.result_type(leaf))

    @abc.abstractmethod
    def init(self, key: Array) -> PyTree:
        """Initial model parameters θ."""

    def _parameter_template(self) -> PyTree | None:
        """The structure and shapes (``ShapeDtypeStruct``s) of θ, from
        ``init``; None for a model without default parameters (a
        ``Conditional`` without ``init_fn``), whose θ only ``init=`` gives."""
        try:
            return jax.eval_shape(self.init, jax.random.key(0))
        except ValueError:
            return None

    def _check_params(self, params: PyTree, inputs: Any, caller: str) -> None:
        """Raises a ValueError naming the model where θ does not suit its
        predictor, traced on one input (a result of fitting another
        ``Conditional`` as ``init=``: the predictor raised a bare KeyError)."""
        one = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct(jnp.shape(a)[1:], jnp.result_type(a)),
            inputs,
        )
        try:
            jax.eval_shape(self.natural, params, one)
        except Exception as error:  # whatever the user's predictor raises
            raise _model_error(
                self,
                f"{caller}: init's parameters {describe_value(params)} do not suit "
                f"this model ({type(error).__name__}: {error})",
            ) from error

    # ---- derived, one observation ----------------------------------------- #

    def log_prob(self, params: PyTree, x: Any, y: Array) -> Array:
        """log p(y | x, θ) = ⟨η, u(y)⟩ − A(η) + log h(y) with η = η(x; θ)."""
        return self.family.log_prob(self.natural(params, x), y)

    def predict(self, params: PyTree, x: Any) -> PyTree:
        """The mean parameters E[u(y) | x] = ∇A(η(x; θ))."""
        return self.family.mean_parameters(self.natural(params, x))

    # ---- derived, a batch -------------------------------------------------- #

    def objective(
        self, params: PyTree, inputs: Any, targets: Array, num_rows: int | None = None
    ) -> Array:
        r"""The mean penalized negative log-likelihood that ``fit`` minimizes:

        L(θ) = −(1/m) Σ_i log p(y_i | x_i, θ) + R(θ)/n

        over the m rows given, with n = ``num_rows`` (default m: then L is the
        full objective (1/n)[Σ_i −log p + R]).
        """
        n = jnp.shape(targets)[0] if num_rows is None else num_rows
        log_p = jax.vmap(self.log_prob, (None, 0, 0))(params, inputs, targets)
        return -jnp.mean(log_p) + self.penalty(params) / n

    def _objective_parts(
        self,
        params: PyTree,
        batch: tuple[Any, Array],
        num_rows: int,
        weights: Array | None = None,
    ) -> tuple[PyTree, Array, Array]:
        """(∇L, L, ‖∇L‖) on a minibatch, the gradient by one vjp of the residual.

        ∇L = −J(θ)ᵀ [w_i (u(y_i) − ∇A(η_i))]_i / Σw + ∇R(θ)/n, with w = 1 when
        ``weights`` is None (weights 0 mark the padding of a short batch).
        """
        inputs, targets = batch
        family = self.family
        etas, pullback = jax.vjp(
            lambda p: jax.vmap(self.natural, (None, 0))(p, inputs), params
        )
        u = jax.vmap(family.sufficient_statistics)(targets)
        log_partition, grad_a = jax.vmap(jax.value_and_grad(family.log_partition))(etas)
        residual = tree_sub(u, grad_a)
        nll = log_partition - jax.vmap(tree_vdot)(etas, u)
        if _overrides(family, "log_base_measure"):
            nll = nll - jax.vmap(family.log_base_measure)(targets)
        if weights is None:
            share = jnp.full(nll.shape, 1 / nll.shape[0], nll.dtype)
        else:
            w = weights.astype(nll.dtype)
            share = w / jnp.sum(w)
        scaled = jax.tree_util.tree_map(
            lambda r: -r * share.reshape(-1, *([1] * (r.ndim - 1))), residual
        )
        (grad,) = pullback(scaled)
        penalty, grad_penalty = jax.value_and_grad(self.penalty)(params)
        grad = jax.tree_util.tree_map(
            lambda g, h: g + (h / num_rows).astype(g.dtype), grad, grad_penalty
        )
        # A reduction, not a vector dot: XLA blocks its reductions (a float32
        # dot over 2^20 rows was 1.8e-5 off with jax 0.10.0).
        value = jnp.sum(share * nll) + penalty / num_rows
        return grad, value, jnp.sqrt(tree_vdot(grad, grad))

    def _has_penalty(self) -> bool:
        """Whether ``penalty`` may be nonzero (it is overridden)."""
        return type(self).penalty is not ConditionalModel.penalty

    def _check_inputs(self, inputs: Any, caller: str = "fit") -> None:
        """Raises a ValueError (its message led by ``caller``) where the inputs
        cannot be this model's (a model with a fixed input shape says so; the
        default accepts any)."""
        del inputs, caller  # any pytree of arrays: the predictor decides

    def _check_finite_inputs(self, inputs: Any, caller: str = "fit") -> None:
        """Raises a ValueError naming the first NaN or ±inf among concrete
        floating inputs (a NaN feature made fisher_scoring's parameters NaN
        and froze ef.fit). One fused pass per leaf on the device; the host
        looks only where it failed."""
        for path, leaf in jax.tree_util.tree_leaves_with_path(inputs):
            if not (
                is_concrete(leaf)
                and jnp.issubdtype(leaf.dtype, jnp.inexact)
                and not bool(_sum_is_finite(leaf))
            ):
                continue
            bad = np.argwhere(~np.isfinite(np.asarray(leaf)))
            if not len(bad):
                continue  # finite entries whose sum overflowed
            index = tuple(int(i) for i in bad[0])
            value = np.asarray(leaf)[index]
            where = jax.tree_util.keystr(path) + str(list(index))
            raise _model_error(self, f"{caller}: inputs{where} = {value} is not finite")

    def _check_data(
        self, data: Any, *, values: bool = True, caller: str = "fit"
    ) -> tuple[Any, Array]:
        """Validates ``(inputs, targets)`` and returns them as jax arrays.

        ``values=False`` checks types and shapes only: the caller then checks
        that the inputs are finite and the targets in the family's support
        (``_data_valid``, inside its own program) and calls this again to name
        the problem where they are not.
        """
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise _model_error(
                self,
                f"{caller}: data must be a pair (inputs, targets) with the samples on "
                f"axis 0 of both, got {type(data).__name__}",
            )
        for path, leaf in jax.tree_util.tree_leaves_with_path(data[0]):
            problem = real_dtype_problem(leaf)
            if problem is not None:
                where = jax.tree_util.keystr(path)
                raise _model_error(self, f"{caller}: inputs{where} {problem}")
        inputs = jax.tree_util.tree_map(as_array, data[0])
        self._check_inputs(inputs, caller)
        if values:
            self._check_finite_inputs(inputs, caller)
        targets = self.family._check("batch", "targets", data[1], support=values)
        rows = {
            jnp.shape(leaf)[0] if jnp.ndim(leaf) else None
            for leaf in jax.tree_util.tree_leaves(inputs)
        }
        if rows != {targets.shape[0]}:
            raise _model_error(
                self,
                f"{caller}: inputs have {sorted(rows, key=str)} rows but targets have "
                f"{targets.shape[0]}",
            )
        return inputs, targets


def _data_valid(family: ExponentialFamily, inputs: Any, targets: Array) -> Array:
    """Whether the floating inputs are finite and the targets in the
    family's support: what ``_check_data(values=False)`` leaves out, as one
    flag for a program that has the data anyway."""
    finite = [
        _sum_is_finite(leaf)
        for leaf in jax.tree_util.tree_leaves(inputs)
        if jnp.issubdtype(leaf.dtype, jnp.inexact)
    ]
    return jnp.all(_support_mask(family, targets)) & jnp.all(
        jnp.stack([jnp.asarray(True), *finite])
    )


@jax.jit
def _sum_is_finite(leaf: Array) -> Array:
    """False if any entry is NaN or ±inf (and, rarely, where the sum of
    finite entries overflows). A plain sum: XLA:CPU reduces a comparison
    several times slower (10^5 x 10 float64: 0.31 ms as all(isfinite))."""
    return jnp.isfinite(jnp.sum(leaf))


def _unconstrained_template(family: ExponentialFamily) -> PyTree:
    return jax.eval_shape(family.natural_domain.inverse, family.natural_shape)


@final
@dataclasses.dataclass(frozen=True)
class Conditional(ConditionalModel):
    r"""A conditional model with any JAX predictor: η(x; θ) = f(g(θ, x)).

    g = ``predictor(params, x)`` returns unconstrained coordinates z of the
    family's natural domain, either as the unconstrained pytree itself (the
    structure and shapes of ``family.natural_domain.inverse(η)``) or as one flat
    vector of the unconstrained dimension, in the order of ``ravel_pytree`` of
    that pytree (leaves in ``jax.tree_util`` order, each flattened row-major).
    f = ``family.natural_domain.forward``, so every output is a valid η. For
    ``Normal()`` z = (η₁, z₂) with η₂ = −softplus(z₂): a length-2 vector.

    Initial parameters: pass ``init_fn(key) -> params`` to get ``init(key)``
    (and a default start for ``fit``); without it, give ``fit(..., init=params)``.

    Args:
      family: the exponential family of y given x.
      predictor: ``predictor(params, x)``, a pure JAX function of one input.
      init_fn: optional ``init_fn(key)`` returning initial parameters.

    The object is a frozen dataclass (hashable: a static argument of
    ``jax.jit``); two models are equal when family and functions are.
    """

    family: ExponentialFamily
    predictor: Callable[[PyTree, Any], PyTree]
    init_fn: Callable[[Array], PyTree] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.family, ExponentialFamily):
            raise ValueError(
                f"Conditional(family={self.family!r}): family must be an "
                "ExponentialFamily"
            )
        if not callable(self.predictor):
            raise ValueError(
                f"Conditional(predictor={self.predictor!r}): predictor must be "
                "callable as predictor(params, x)"
            )

    def init(self, key: Array) -> PyTree:
        """``init_fn(key)``; raises ``ValueError`` when no ``init_fn`` was given."""
        if self.init_fn is None:
            raise _model_error(
                self,
                "has no init_fn: pass initial parameters as fit(..., init=params)",
            )
        return self.init_fn(key)

    def unconstrained(self, params: PyTree, x: Any) -> PyTree:
        """z = the predictor's output as the unconstrained pytree."""
        out = self.predictor(params, x)
        template = _unconstrained_template(self.family)
        if same_shapes(out, template):
            return out
        leaves = jax.tree_util.tree_leaves(template)
        size = sum(math.prod(leaf.shape) for leaf in leaves)
        if not (isinstance(out, (jax.Array, np.ndarray)) and out.shape == (size,)):
            raise _model_error(
                self,
                f"predictor output {describe_value(out)} is neither the "
                f"unconstrained pytree ({describe_value(template)}) nor a flat "
                f"vector of length {size}",
            )
        offsets = np.cumsum([0] + [math.prod(leaf.shape) for leaf in leaves])
        parts = [
            jnp.reshape(out[a:b], leaf.shape)
            for a, b, leaf in zip(offsets[:-1], offsets[1:], leaves, strict=True)
        ]
        return jax.tree_util.tree_unflatten(
            jax.tree_util.tree_structure(template), parts
        )

    def natural(self, params: PyTree, x: Any) -> PyTree:
        """η = natural_domain.forward(predictor(params, x))."""
        return self.family.natural_domain.forward(self.unconstrained(params, x))


_SOFTMAX = (Categorical, Multinomial)


@final
@dataclasses.dataclass(frozen=True)
class GLM(ConditionalModel):
    r"""A generalized linear model: a linear predictor and the canonical link.

    Parameters θ are a dict: ``coef`` W of shape (p, *s) and ``intercept`` b of
    shape s, where s is the shape of the family's η, and the linear predictor is
    ν(x) = xᵀW + b (x of shape (p,)).

    * Families whose natural domain is all of ℝ (``Bernoulli``: logistic
      regression; ``Binomial``: logistic with n trials; ``Poisson``: log-linear;
      ``Categorical``/``Multinomial``: multinomial logistic, η_j = log p_j/p_{k−1}
      relative to the last class, s = (k − 1,)): η = ν(x), the canonical link.
    * ``Normal``: the mean is linear, m = ν(x) (identity link, canonical for the
      Gaussian GLM), with a shared variance σ² = exp(``log_variance``):
      η = [m/σ², −1/(2σ²)].
    * ``Gamma``: the reciprocal canonical link can leave the natural domain, so
      the log link is used: E[y | x] = exp(ν(x)), with a shared shape
      k = exp(``log_shape``) (the dispersion is 1/k): η = [k − 1, −k e^{−ν(x)}].

    Penalty (scikit-learn's ``C``, intercept and dispersion not penalized): the
    objective is Σ_i −log p(y_i | x_i) + ‖W‖²/(2C), i.e. ``fit`` minimizes
    (1/n)[Σ_i −log p + ‖W‖²/(2C)], the optimum of ``LogisticRegression(C=C)``.
    For ``Categorical``/``Multinomial`` scikit-learn penalizes all k class
    vectors w_0 … w_{k−1} of its symmetric softmax; at its optimum they sum to
    zero, so the equivalent penalty on W (w_j − w_{k−1}) is
    Σ_{j<k} ‖W_j − W̄‖²/(2C) with W_{k−1} = 0 and W̄ the mean over the k
    classes (per feature). With two classes scikit-learn fits the binary
    model instead (one vector w, penalty ‖w‖²/(2C)): ``Bernoulli`` with ``C``
    is ``LogisticRegression(C=C)``, while ``Categorical(2)`` with ``C`` is
    the symmetric form, penalty ‖w‖²/(4C), i.e. ``LogisticRegression(C=2C)``.
    ``C=None`` (default): no penalty.

    Args:
      family: one of the families above (for other families write a
        :class:`Conditional`).
      num_features: p, the length of one input x.
      C: the inverse penalty strength, > 0, or None.
    """

    family: ExponentialFamily
    num_features: int
    C: float | None = None

    def __post_init__(self) -> None:
        call = f"GLM({self.family!r}, num_features={self.num_features!r}, C={self.C!r})"
        if not isinstance(self.family, ExponentialFamily):
            raise ValueError(f"{call}: family must be an ExponentialFamily")
        if not (
            isinstance(self.family, (Normal, Gamma))
            or isinstance(self.family.natural_domain, domains.Real)
        ):
            raise ValueError(
                f"{call}: no canonical GLM for {self.family!r} (supported: families "
                "with natural domain ℝ such as Bernoulli, Binomial, Poisson, "
                "Categorical, and Normal, Gamma); use ef.Conditional"
            )
        if not (is_int(self.num_features) and self.num_features >= 1):
            raise ValueError(f"{call}: num_features must be an int >= 1")
        if self.C is not None and not (
            isinstance(self.C, (int, float)) and math.isfinite(self.C) and self.C > 0
        ):
            raise ValueError(f"{call}: C must be a finite number > 0, or None")

    @property
    def _canonical(self) -> bool:
        """η is the linear predictor itself (the natural domain is all of ℝ)."""
        return not isinstance(self.family, (Normal, Gamma))

    @property
    def _linear_shape(self) -> tuple[int, ...]:
        if isinstance(self.family, (Normal, Gamma)):
            return ()
        return jax.tree_util.tree_leaves(self.family.natural_shape)[0].shape

    def init(self, key: Array | None = None) -> dict[str, Array]:
        """Zeros (the key is unused: the canonical-link objective is convex)."""
        del key
        return {name: jnp.asarray(value) for name, value in self._zeros().items()}

    def _zeros(self) -> dict[str, np.ndarray]:
        """``init``'s zeros on the host (a jitted solve takes them as they are)."""
        dtype = jnp.result_type(float)
        s = self._linear_shape
        params = {
            "coef": np.zeros((self.num_features, *s), dtype),
            "intercept": np.zeros(s, dtype),
        }
        if isinstance(self.family, Normal):
            params["log_variance"] = np.zeros((), dtype)
        elif isinstance(self.family, Gamma):
            params["log_shape"] = np.zeros((), dtype)
        return params

    def intercept_only(
        self, params: dict[str, Array], mean_u: Array
    ) -> dict[str, Array]:
        """The intercept-only MLE from ū, the mean of u(y): W = 0 and b (and
        the dispersion) matching the targets' moments, ∇A(η) = ū.

        Fisher scoring starts here without ``init``. Entries that are not
        finite (ū on the boundary, e.g. a class never observed) keep their
        values in ``params``. Traceable.
        """
        coef = params["coef"]
        dtype = coef.dtype
        mean_u = jnp.asarray(mean_u, dtype)
        start = dict(params, coef=jnp.zeros_like(coef))
        if isinstance(self.family, Normal):
            variance = mean_u[1] - mean_u[0] ** 2
            start.update(intercept=mean_u[0], log_variance=jnp.log(variance))
        elif isinstance(self.family, Gamma):
            eta = self.family.natural_parameters(mean_u)
            start.update(intercept=jnp.log(mean_u[1]), log_shape=jnp.log(eta[0] + 1))
        else:
            eta = self.family.natural_parameters(mean_u.reshape(self._linear_shape))
            start.update(intercept=eta)
        return jax.tree_util.tree_map(
            lambda new, old: jnp.where(jnp.isfinite(new), new, old).astype(old.dtype),
            start,
            params,
        )

    def _target_center(self, targets: Array) -> Array | None:
        """A centre c of the targets such that fitting y − c, with the
        intercept moved by −c, is this model's fit (a Normal GLM's), else
        None. In float32, targets far from 0 against their spread otherwise
        lose the variance to rounding in E[y²] − m²: y ≈ 1000 ± 0.1 gave
        σ² ≈ 1.2e6 for 0.0094. c is 0 where the targets are near 0 (the
        family's ``_mle_center``)."""
        if not isinstance(self.family, Normal):
            return None
        return self.family._mle_center(jnp.asarray(targets))

    def linear_predictor(self, params: dict[str, Array], x: Array) -> Array:
        """ν(x) = xᵀW + b."""
        shape = jnp.shape(x)  # static, so checked under jit and vmap too
        if not shape or shape[-1] != self.num_features:
            raise _model_error(
                self,
                f"an input x has shape {shape}, but this GLM takes "
                f"{self.num_features} features: shape ({self.num_features},)",
            )
        x = jnp.asarray(x, params["coef"].dtype)
        coef = params["coef"]
        return jnp.tensordot(x, coef, 1, precision=FULL_PRECISION) + params["intercept"]

    def natural(self, params: dict[str, Array], x: Array) -> Array:
        """η(x) by the family's link (see the class docstring)."""
        nu = self.linear_predictor(params, x)
        if isinstance(self.family, Normal):
            precision = jnp.exp(-params["log_variance"])
            return jnp.stack([nu * precision, -0.5 * precision])
        if isinstance(self.family, Gamma):
            shape = jnp.exp(params["log_shape"])
            return jnp.stack([shape - 1, -shape * jnp.exp(-nu)])
        return nu

    def _has_penalty(self) -> bool:
        return self.C is not None

    def _check_inputs(self, inputs: Any, caller: str = "fit") -> None:
        shape = jnp.shape(inputs)
        if len(shape) != 2 or shape[1] != self.num_features:
            raise _model_error(
                self,
                f"{caller}: inputs have shape {shape}, but a GLM with "
                f"num_features={self.num_features} takes (n, {self.num_features})",
            )

    def penalty(self, params: dict[str, Array]) -> Array:
        """‖W‖²/(2C) (centered over the k classes for the softmax families)."""
        coef = params["coef"]
        if self.C is None:
            return jnp.zeros((), coef.dtype)
        if isinstance(self.family, _SOFTMAX):
            full = jnp.concatenate([coef, jnp.zeros_like(coef[:, :1])], axis=1)
            coef = full - jnp.mean(full, axis=1, keepdims=True)
        return jnp.sum(coef * coef) / (2 * self.C)


# --------------------------------------------------------------------------- #
# Fisher scoring
# --------------------------------------------------------------------------- #


class _PointAt(Protocol):
    """(θ, slopes_zero=False) -> the point at θ (see ``_System.point``)."""

    def __call__(self, theta: Array, slopes_zero: bool = False) -> Any: ...


@dataclasses.dataclass(frozen=True)
class _System:
    """One model's Newton system, as closures over a point.

    A point is what a step moves: θ (flat) for any model, (θ, η) for a
    canonical GLM, whose line search then needs no pass over the inputs.

    Attributes:
      point: (θ, slopes_zero) -> the point at θ; ``slopes_zero`` (static)
        says θ's coefficients on the inputs are all zero, as at the
        intercept-only start, where a GLM's η needs no pass over the inputs.
      objective: point -> Σ_i −log p(y_i | x_i) + R(θ).
      score: point -> −∇_θ objective.
      scored: point -> (score, information), the information being
        Σ_i J_iᵀ ∇²A(η_i) J_i + ∇²R (the Fisher metric); together because
        they can share their passes over the data.
      step: (point, Δθ) -> what a move along Δθ needs (Δθ, or (Δθ, Δη)).
      move: (point, step, t) -> the point at θ + tΔθ.
      travel: (point, step) -> the move's largest relative change of η per
        unit step, max_i |Δη_i| / (1 + |η_i|) over samples and components,
        Δη = J Δθ.
    """

    point: _PointAt
    objective: Callable[[Any], Array]
    score: Callable[[Any], Array]
    scored: Callable[[Any], tuple[Array, Array]]
    step: Callable[[Any, Array], Any]
    move: Callable[[Any, Any, Array], Any]
    travel: Callable[[Any, Any], Array]


def _relative_change(eta: Array, delta: Array) -> Array:
    """max_i |Δη_i| / (1 + |η_i|), one reduction."""
    return jnp.max(jnp.abs(delta) / (1 + jnp.abs(eta)))


def _summed_log_base_measure(family: ExponentialFamily, targets: Array, dtype):
    if _overrides(family, "log_base_measure"):
        return jnp.sum(jax.vmap(family.log_base_measure)(targets)).astype(dtype)
    return jnp.zeros((), dtype)


def _sample_shape(e: int) -> tuple[int, ...]:
    """The shape of one sample's η (e numbers) in the solvers' per-sample
    arrays: () where e = 1. XLA:CPU vectorizes an elementwise loop along the
    last axis; a trailing axis of length 1 leaves it a scalar loop (the
    Poisson residual pass ran 3× slower as (n, 1) than as (n,))."""
    return () if e == 1 else (e,)


# For one number per sample and at most this many features, the canonical
# system's two passes over X per chord step (the move X·Δθ and the score rᵀX)
# are fused multiply-and-sums instead of matrix-vector products. Poisson
# regression on 10^5 rows, ab.py against the products (5 rounds each): p = 5
# 0.83, p = 10 0.82, p = 15 0.98, p = 20 1.11, p = 32 1.09, p = 64 1.36: XLA:CPU's
# sum over the samples of p columns slows as p grows.
_FUSED_MAX_FEATURES = 12


def _fused(x: Array, e: int) -> bool:
    return e == 1 and x.shape[1] <= _FUSED_MAX_FEATURES


def _times_rows(x: Array, w: Array) -> Array:
    """x w for x (n, p): per-sample values (n, *w.shape[1:]); a fused
    multiply-and-sum where ``_fused``."""
    if w.ndim == 1 and _fused(x, 1):
        return jnp.sum(x * w[None], axis=1)
    return matmul(x, w)


def _sum_of_outer(r: Array, x: Array) -> Array:
    """Σ_i r_i x_iᵀ = rᵀx, (e, p), for r (n, e) and x (n, p); a fused
    multiply-and-sum over the samples where ``_fused``."""
    if _fused(x, r.shape[1]):
        return jnp.sum(r * x, axis=0)[None]
    return matmul(r.T, x)


def _generic_system(
    model: ConditionalModel, flat: Array, unravel, inputs, targets, penalty_scale=1.0
) -> _System:
    """Any model: the Jacobians J_i by forward-mode autodiff (n × dim η × dim θ).

    ``penalty_scale`` multiplies R(θ) (a subsample's share of the penalty).
    Per-sample η and u have shape (n, *_sample_shape(e)).
    """
    family = model.family
    first = jax.tree_util.tree_map(lambda a: a[0], inputs)
    first_eta, unravel_eta = ravel_pytree(model.natural(unravel(flat), first))
    n, e = targets.shape[0], first_eta.size
    row = _sample_shape(e)

    def etas(theta: Array) -> Array:
        p = unravel(theta)
        return jax.vmap(lambda x: ravel_pytree(model.natural(p, x))[0].reshape(row))(
            inputs
        )

    def log_partition(eta: Array) -> Array:
        return family.log_partition(unravel_eta(eta.reshape(e)))

    u = jax.vmap(lambda y: ravel_pytree(family.sufficient_statistics(y))[0])(targets)
    u = u.astype(flat.dtype).reshape(n, *row)
    log_h = _summed_log_base_measure(family, targets, flat.dtype)

    def penalty(theta: Array) -> Array:
        return penalty_scale * model.penalty(unravel(theta))

    def objective(theta: Array) -> Array:
        eta = etas(theta)
        nll = jnp.sum(jax.vmap(log_partition)(eta)) - jnp.sum(eta * u) - log_h
        return nll + penalty(theta)

    def information(theta: Array) -> Array:
        jac = jax.jacfwd(etas)(theta).reshape(n, e, -1)  # (n, e, d)
        fisher = jax.vmap(jax.hessian(log_partition))(etas(theta)).reshape(n, e, e)
        weighted = einsum("nef,nfc->nec", fisher, jac)
        return einsum("ned,nec->dc", jac, weighted) + jax.hessian(penalty)(theta)

    def score(theta: Array) -> Array:
        return -jax.grad(objective)(theta)

    return _System(
        point=lambda theta, slopes_zero=False: theta,
        objective=objective,
        score=score,
        scored=lambda theta: (score(theta), information(theta)),
        step=lambda theta, delta: delta,
        move=lambda theta, delta, t: theta + t * delta,
        travel=lambda theta, delta: _relative_change(
            *jax.jvp(etas, (theta,), (delta,))
        ),
    )


def _canonical_system(
    model: GLM, flat: Array, unravel, inputs: Array, targets: Array, penalty_scale=1.0
) -> _System:
    """A canonical GLM, η_i = Wᵀx_i + b: the Jacobians [x_i, 1] ⊗ I are never formed.

    With x̃ = [x, 1] and θ = ravel({coef: W (p, e), intercept: b (e)}), i.e.
    [W; b] of shape (p + 1, e) raveled, η_i = x̃_iᵀ[W; b]. The score is
    Σ_i x̃_i ⊗ (u(y_i) − ∇A(η_i)) and the information Σ_i x̃_i x̃_iᵀ ⊗ ∇²A(η_i),
    one weighted Gram product. The point carries η and a step carries
    Δη = X̃ Δθ, so the line search is one elementwise pass over (η, u) that
    never touches the inputs: Σ_i [A(η_i) − ⟨η_i, u(y_i)⟩], one sum.

    Per-sample η and u have shape (n, *_sample_shape(e)); the matrix
    products see them as (n, e).
    """
    family = model.family
    shape = model._linear_shape
    dtype = flat.dtype
    x = jnp.asarray(inputs, dtype)
    n, p = x.shape
    e = math.prod(shape)
    row = _sample_shape(e)
    u = jax.vmap(family.sufficient_statistics)(targets).astype(dtype)
    u = u.reshape(n, *row)

    def by_tilde(rows: Array, sums: Array) -> Array:
        """Σ_i rows_i x̃_iᵀ, (k, p + 1), given Σ_i rows_i x_iᵀ and Σ_i rows_i."""
        return jnp.concatenate([rows, sums[:, None]], 1)

    log_h = _summed_log_base_measure(family, targets, dtype)

    def penalty(theta: Array) -> Array:
        return penalty_scale * model.penalty(unravel(theta))

    def log_partition(eta: Array) -> Array:
        return family.log_partition(eta.reshape(shape))

    def linear(theta: Array, slopes_zero: bool = False) -> Array:
        """X̃ θ, per sample; with ``slopes_zero``, the intercept broadcast."""
        coef = theta.reshape(p + 1, *row)
        if slopes_zero:
            return jnp.broadcast_to(coef[p:], (n, *row))
        return _times_rows(x, coef[:p]) + coef[p:]

    def objective(point) -> Array:
        theta, eta = point
        inner = jnp.sum(eta * u, axis=tuple(range(1, eta.ndim)))  # ⟨η_i, u_i⟩
        nll = jnp.sum(jax.vmap(log_partition)(eta) - inner) - log_h
        return nll + penalty(theta)

    def residuals(eta: Array) -> Array:
        """u(y_i) − ∇A(η_i) as (n, e)."""
        return (u - jax.vmap(jax.grad(log_partition))(eta)).reshape(n, e)

    def assemble_score(theta: Array, sums: Array) -> Array:
        """Σ_i x̃_i ⊗ r_i − ∇R, from the (e, p + 1) sums Σ_i r_i x̃_iᵀ."""
        return sums.T.ravel() - jax.grad(penalty)(theta)

    def score(point) -> Array:
        theta, eta = point
        r = residuals(eta)
        return assemble_score(theta, by_tilde(_sum_of_outer(r, x), jnp.sum(r, 0)))

    def scored(point) -> tuple[Array, Array]:
        theta, eta = point
        fisher = jax.vmap(jax.hessian(log_partition))(eta).reshape(n, e * e)
        r = residuals(eta)
        # Score and information from one matrix product, one pass over X: the
        # rows [∇²A(η_i) ⊗ x_i, ∇²A(η_i), r_i] times x_iᵀ, summed over i (the
        # x̃ = [x, 1] column sums of the last two come from η alone).
        weighted = (fisher[:, :, None] * x[:, None, :]).reshape(n, e * e * p)
        by_x = matmul(jnp.concatenate([weighted, fisher, r], 1).T, x)
        wp, fp = e * e * p, e * e * (p + 1)
        sums = jnp.concatenate([by_x[wp:fp].ravel(), jnp.sum(fisher, 0)])
        full = by_tilde(by_x[:fp], sums)  # Σ_i [∇²A ⊗ x̃]_i x̃_iᵀ
        info = jnp.concatenate(
            [full[:wp].reshape(e, e, p, p + 1), full[wp:].reshape(e, e, 1, p + 1)], 2
        )
        info = info.transpose(2, 0, 3, 1).reshape((p + 1) * e, (p + 1) * e)
        info = info + jax.hessian(penalty)(theta)
        return assemble_score(theta, by_tilde(by_x[fp:], jnp.sum(r, 0))), info

    return _System(
        point=lambda theta, slopes_zero=False: (theta, linear(theta, slopes_zero)),
        objective=objective,
        score=score,
        scored=scored,
        step=lambda point, delta: (delta, linear(delta)),
        move=lambda point, step, t: (point[0] + t * step[0], point[1] + t * step[1]),
        travel=lambda point, step: _relative_change(point[1], step[1]),
    )


# The default damping λ in units of the dtype's machine epsilon: above the
# matrix's rounding, so that singular systems (duplicated features, an
# unobserved class, fewer samples than parameters) solve in float32 (with
# λ = 1e-12 they gave a direction that is not finite), and far below any
# curvature a well-posed problem has in float64 (3.6e-15: the statsmodels and
# scikit-learn comparisons keep their 1e-9 agreement and step counts).
_DAMPING_EPS = 16.0


# A GLM started without ``init`` (n ≥ this) first solves on every
# _WARM_START_STRIDE-th row: a start within O(p / n) of the optimum in a
# fraction of one full step's cost, which saves the full passes Newton would
# spend getting there from the intercept-only start.
_WARM_START_ROWS = 1 << 14
_WARM_START_STRIDE = 8
_WARM_START_STEPS = 8
# The subsample's optimum is O(p / n) from the data's in relative objective:
# solving it much tighter than this buys nothing.
_WARM_START_TOL = 1e-6
# A reused factorization is kept while each chord step's Newton decrement is
# at most this fraction of the step before's (three digits of the objective
# gap per step, about what a fresh step from there would gain, at a third of
# its cost).
_CHORD_CONTRACTION = 1e-3


def _newton(
    system: _System,
    point,
    n: int,
    num_steps: int,
    tol,
    damping,
    factor=None,
    reuse=False,
    value=None,
    settle=True,
):
    """Damped Newton with the Fisher metric; see :func:`fisher_scoring`.

    ``factor`` (an LU factorization of an information matrix near ``point``)
    is used by the first step where ``reuse`` is True, as a chord step;
    ``value`` is the objective at ``point`` where the caller has it.
    ``settle=False`` stops on the decrement alone, without the settled-step
    test: for the warm start's subsample solve, a start and not an answer.
    Returns (point, steps, converged, values, norms, factor), values and
    norms the mean objective and score norm per step, factor the last one.
    """
    dtype = tol.dtype
    halvings = 0.5 ** jnp.arange(40, dtype=dtype)
    # Below this relative decrement the step left the weights ∇²A(η_i) all
    # but unchanged: the next steps reuse the factorization (chord steps,
    # each contracting the error by about the weights' relative change) and
    # recompute only the score, a cheap pass, to confirm convergence. A
    # reused factorization is also kept while it contracts fast (each chord
    # step's decrement at most _CHORD_CONTRACTION of the one before: a
    # factorization from nearby, such as the warm start's); a slower
    # contraction or a failed line search brings a fresh one.
    reuse_below = jnp.sqrt(tol)

    def factorize(info: Array):
        # Marquardt's damping: each diagonal entry grows by the same relative
        # amount, so the damped step does not depend on the features' units
        # (relative to the mean diagonal, a column of small-scale features
        # was damped by orders of magnitude more than the others). A diagonal
        # below eps² of the largest is zero to the matrix's precision (a
        # feature that is always 0, a class whose weights underflow): the
        # floor keeps its damping positive, and its step 0. Only the matrix
        # is damped: the optimum, where the score is 0, does not move.
        diagonal = jnp.abs(jnp.diagonal(info))
        eps = jnp.finfo(dtype).eps
        floor = jnp.maximum(eps * eps * jnp.max(diagonal), jnp.finfo(dtype).tiny)
        scale = jnp.maximum(diagonal, floor)
        return jax.scipy.linalg.lu_factor(info + jnp.diag(damping * scale))

    def fresh(point):
        score, info = system.scored(point)
        return score, factorize(info)

    def cond(carry):
        step, done = carry[1], carry[2]
        return (step < num_steps) & ~done

    def body(carry):
        point, step, _, _, was_small, value, values, norms = carry[:8]
        factor, reuse, chord, last, travel_before = carry[8:]
        score, factor = jax.lax.cond(
            reuse, lambda: (system.score(point), factor), lambda: fresh(point)
        )
        direction = jax.scipy.linalg.lu_solve(factor, score)
        decrement = matmul(score, direction)  # ≈ 2 (L(θ) − L(θ*)) · n
        move = system.step(point, direction)
        # A decrement this small on a fresh factorization: the step about to
        # be taken lands at the optimum to rounding (quadratic convergence).
        # So does the first chord step after the fresh one that triggered
        # reuse (that fresh step started within √tol). Later chord steps only
        # contract the error, so they need a second small decrement in a row
        # (the parameters then agree to ~10⁻¹¹ relative in float64).
        scale = 1 + jnp.abs(value)
        small = decrement <= 2 * tol * scale

        # Backtracking (Armijo) along the Fisher-scoring direction. Once the
        # decrement is at the objective's rounding floor, the objective can no
        # longer judge the step (float32 especially): a finite one is taken.
        def search(state):
            i, _, _ = state
            trial = system.objective(system.move(point, move, halvings[i]))
            decrease = trial <= value - 1e-4 * halvings[i] * decrement
            return i + 1, jnp.isfinite(trial) & (decrease | small), trial

        # A direction that is not finite (a singular matrix) is not searched.
        first = jnp.where(jnp.isfinite(decrement), 0, halvings.shape[0])
        i, ok, trial = jax.lax.while_loop(
            lambda s: (s[0] < halvings.shape[0]) & ~s[1], search, (first, False, value)
        )
        t = halvings[jnp.maximum(i - 1, 0)]
        values = values.at[step].set(value / n)
        norms = norms.at[step].set(jnp.linalg.norm(score) / n)
        # A small decrement alone does not mean the optimum is near: on
        # separable data (or a class never observed) the weights ∇²A(η_i)
        # vanish as η runs off to infinity, and the decrement with them,
        # while the steps in η shrink only like 1/k (in float32 the
        # decrement reached tol after 37 steps of logistic regression on 4
        # separable points, each step still moving η by 0.3 % relative).
        # So the step must also have settled: δ = max_i |Δη_i| / (1 + |η_i|)
        # (on η = Jθ, not θ: invariant to the features' units, and blind to
        # moves of θ that leave η unchanged, such as the split between
        # duplicated features, which rounding sets). After this step the
        # error is about the next step, δ · r with r = δ / δ_prev the
        # contraction (Newton: quadratic, r ~ δ_prev; chord steps: linear);
        # that must be below √tol. Near an optimum r is tiny (the step that
        # converges has δ ~ √tol or less), so this costs no step; on
        # separable data r ~ 1 − 1/k, and δ itself must fall below √tol:
        # about 1000 steps. The first step, with no contraction seen, needs
        # δ ≤ √tol. (The decrements' ratio is no measure of r: on data with
        # a class never observed they fall fast while η still runs.) δ is t
        # times the move's change per unit step, taken once per step (not in
        # every trial of the line search).
        travel = jnp.where(ok, t * system.travel(point, move), 0.0)
        ratio = jnp.minimum(travel / travel_before, 1.0)
        settled = (travel * jnp.where(jnp.isnan(ratio), 1.0, ratio) <= reuse_below) | (
            not settle
        )
        converged = small & settled & (~reuse | ~chord | was_small)
        # A failed search with a reused factorization retries with a fresh one.
        done = (~ok & ~reuse) | converged | ~jnp.isfinite(decrement)
        contracting = reuse & (decrement <= _CHORD_CONTRACTION * last)
        reuse_next = ok & ((decrement <= 2 * reuse_below * scale) | contracting)
        new_value = jnp.where(ok, trial, value)
        # Where the search failed the point stays as it was: a select, since
        # moving by t = 0 would turn a direction that is not finite into
        # 0 · NaN = NaN parameters.
        moved = system.move(point, move, t)
        point = tree_select(ok, moved, point)
        carry = (point, step + 1, done, converged, small, new_value, values, norms)
        return (*carry, factor, reuse_next, reuse, decrement, travel)

    nan = jnp.full((num_steps,), jnp.nan, dtype)
    false = jnp.asarray(False)
    if factor is None:
        factor = jax.eval_shape(lambda point: fresh(point)[1], point)
        factor = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), factor)
    # A given factorization counts as a chord (two small decrements to stop).
    reuse = jnp.asarray(reuse)
    value = system.objective(point) if value is None else value
    head = (point, jnp.asarray(0), false, false, false, value, nan, nan)
    inf, zero = jnp.asarray(jnp.inf, dtype), jnp.zeros((), dtype)
    init = (*head, factor, reuse, reuse, inf, zero)
    # ``converged`` is the last step's own verdict (its small decrement alone
    # is not: a chord step stopped by num_steps needs a second one).
    point, steps, _, converged, _, _, values, norms, factor, *_ = jax.lax.while_loop(
        cond, body, init
    )
    return point, steps, converged, values, norms, factor


def _theta(point) -> Array:
    return point[0] if isinstance(point, tuple) else point


@functools.partial(_xla.solver_jit, static_argnums=(0, 4, 7))
def _scoring(
    model: ConditionalModel,
    params: PyTree,
    inputs: Any,
    targets: Array,
    num_steps: int,
    tol: Array,
    damping: Array,
    start: bool,
):
    """Fisher scoring, jitted: the start, the warm start and the Newton loop."""
    if isinstance(model, GLM) and model._canonical:
        build = functools.partial(_canonical_system, model)
    else:
        build = functools.partial(_generic_system, model)
    n = targets.shape[0]
    if start:
        assert isinstance(model, GLM)  # fisher_scoring starts only a GLM
        mean_u = jax.tree_util.tree_map(
            lambda u: jnp.mean(u, 0),
            jax.vmap(model.family.sufficient_statistics)(targets),
        )
        params = model.intercept_only(params, mean_u)
    flat, unravel = ravel_pytree(params)
    system = build(flat, unravel, inputs, targets)
    point = system.point(flat, start)
    if start and n >= _WARM_START_ROWS:
        rows = slice(None, None, _WARM_START_STRIDE)
        sub_inputs = jax.tree_util.tree_map(lambda a: a[rows], inputs)
        sub_targets = targets[rows]
        m = sub_targets.shape[0]
        sub = build(flat, unravel, sub_inputs, sub_targets, m / n)
        sub_tol = jnp.maximum(tol, _WARM_START_TOL)
        sub_point, *_, (lu, pivots) = _newton(
            sub,
            sub.point(flat, True),
            m,
            _WARM_START_STEPS,
            sub_tol,
            damping,
            settle=False,
        )
        # Kept where it beats the intercept-only start on all the data (a
        # subsample can be separable where the data are not). The
        # subsample's information is about m/n of the data's there: its
        # factors with U scaled by n/m make the first full step a chord step.
        warm = system.point(_theta(sub_point))
        warm_value, start_value = system.objective(warm), system.objective(point)
        better = warm_value < start_value
        point = tree_select(better, warm, point)
        value = jnp.where(better, warm_value, start_value)
        lu = jnp.where(jnp.triu(jnp.ones(lu.shape, bool)), lu * (n / m), lu)
        result = _newton(
            system, point, n, num_steps, tol, damping, (lu, pivots), better, value
        )
    else:
        result = _newton(system, point, n, num_steps, tol, damping)
    point, steps, converged, values, norms, _ = result
    steps = steps.astype(jnp.int32)
    zero = jnp.zeros_like(steps)
    # The data's values are checked here rather than by programs of their
    # own before the solve; the caller names the problem where they fail.
    valid = _data_valid(model.family, inputs, targets)
    return unravel(_theta(point)), steps, zero, converged, values, norms, valid


def fisher_scoring(
    model: ConditionalModel,
    data: tuple[Any, Array],
    *,
    init: PyTree = None,
    num_steps: int = 50,
    tol: float | None = None,
    damping: float | None = None,
    key: Array | None = None,
):
    r"""Full-batch Fisher scoring for a conditional model (IRLS for a GLM).

    Each step solves (Σ_i J_iᵀ ∇²A(η_i) J_i + ∇²R) Δ = Σ_i J_iᵀ (u(y_i) − ∇A(η_i))
    − ∇R, with J_i = ∂η_i/∂θ, and backtracks θ + tΔ (t = 1, ½, …) to a
    sufficient decrease of the objective Σ_i −log p(y_i | x_i) + R(θ). For a
    canonical link (η linear in θ) the matrix is the exact Hessian: this is
    Newton's method, i.e. iteratively reweighted least squares, converging
    quadratically in a few steps. For other models it is Gauss–Newton with the
    Fisher information as the metric.

    For a canonical-link :class:`GLM` the matrix is one weighted Gram product
    Σ_i x̃_i x̃_iᵀ ⊗ ∇²A(η_i) (x̃ = [x, 1]), the line search works on η without
    touching the inputs. Without ``init`` a GLM starts at its intercept-only
    MLE (:meth:`GLM.intercept_only`: W = 0, the intercept and dispersion
    matching the targets' moments); from 2^14 samples on it first solves on
    every 8th sample (with 1/8 of the penalty, to a relative tolerance of
    1e-6), and starts from there where that beats the intercept-only start
    on all the data, its first step reusing the subsample's information
    matrix scaled to n. The optimum is the same; the full passes over the
    data are cheaper (Poisson regression on 10^5 × 10: six chord steps and
    no full-data Gram product, instead of four Gram products). Those
    subsample steps are not counted in ``num_steps`` or the history. Other
    models form the Jacobians densely (n × dim η × dim θ): meant for GLMs and
    small models.

    Stops when the Newton decrement (score · Δ), about twice the distance to
    the optimum of the summed objective, falls below 2·``tol``·(1 + |objective|)
    (default ``tol``: 10× the dtype's machine epsilon) and the step has
    settled (no η_i moves by more than √``tol`` relative, after the
    contraction seen from the step before), when no step decreases
    the objective, or after ``num_steps``. Once the decrement is below
    √``tol`` relative the weights ∇²A(η_i) have stopped changing, and later
    steps reuse the last factorization (only the score is recomputed); they
    keep reusing it while each shrinks the decrement a thousandfold. Such a
    chord step counts as converged on its second small decrement in a row.

    On separable data (logistic regression without a penalty) no optimum
    exists: the objective keeps decreasing towards 0 while the coefficients
    grow; the solver stops (at ``num_steps`` or at the rounding floor of the
    objective) with finite parameters, ``converged`` False and a
    ``RuntimeWarning`` that says so.

    Args:
      model: a :class:`GLM` or :class:`Conditional`.
      data: ``(inputs, targets)`` with the samples on axis 0.
      init: starting parameters, or a previous result (of this model, or of
        one of its kind over the same response family: a GLM with another
        penalty C warm-starts a regularization path); default
        ``model.init(key)`` (for a :class:`GLM`, moved to its intercept-only
        MLE).
      num_steps: the most Newton steps on all the data.
      tol: the relative stopping tolerance.
      damping: λ, the Marquardt damping: the information matrix's diagonal
        entries grow by the factor 1 + λ (a zero entry by λ times eps² of the
        largest), so the step does not depend on the features' units; the
        optimum does not move. Default 16× the dtype's machine epsilon, just
        above the rounding of the matrix: rank-deficient systems (duplicated
        features, fewer samples than parameters) then solve in float32 too.
        ``damping=0`` solves the undamped system.
      key: for ``model.init``; default ``jax.random.key(0)``.

    Returns:
      A :class:`expfam.FitResult` with ``params`` the fitted parameters,
      ``natural`` None, and per-step history: the mean objective and the norm
      of the mean score.
    """
    from expfam._fit import FitHistory, FitResult, FitState

    if not (is_int(num_steps) and num_steps >= 1):
        raise _model_error(
            model, f"fisher_scoring: num_steps must be an int >= 1, got {num_steps!r}"
        )
    for name, value in (("tol", tol), ("damping", damping)):
        if value is not None and not float(value) >= 0:
            raise _model_error(model, f"fisher_scoring: {name}={value!r} must be >= 0")
    if (problem := key_problem(key)) is not None:
        raise _model_error(model, f"fisher_scoring: {problem}")
    inputs, targets = model._check_data(data, values=False, caller="fisher_scoring")
    center = model._target_center(targets) if isinstance(model, GLM) else None
    if center is not None:
        targets = targets - center
    start = False
    if init is None and isinstance(model, GLM):
        start = True
        init = model._zeros()  # shapes only: the solve starts at intercept_only
    elif init is None:
        init = model.init(jax.random.key(0) if key is None else key)
    else:
        init = _scoring_start(model, init, FitResult)
        model._check_params(init, inputs, "fisher_scoring")
        if center is not None:
            init = dict(init, intercept=init["intercept"] - center)
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(init))
    if tol is None:
        tol = 10 * float(jnp.finfo(dtype).eps)
    if damping is None:
        damping = _DAMPING_EPS * float(jnp.finfo(dtype).eps)
    params, steps, zero, converged, values, norms, valid = _scoring(
        model,
        init,
        inputs,
        targets,
        int(num_steps),
        np.asarray(tol, dtype),
        np.asarray(damping, dtype),
        start,
    )
    if center is not None:
        params = dict(params, intercept=params["intercept"] + center)
    state = FitState(
        unconstrained=params,
        opt_state=optax.EmptyState(),
        seed=zero,
        step=steps,
        epoch=zero,
        position=zero,
    )
    steps, converged, values, norms, valid = jax.device_get(
        (steps, converged, values, norms, valid)
    )
    if not valid:
        model._check_data(data, caller="fisher_scoring")  # names the one at fault
    steps, converged = int(steps), bool(converged)
    if not converged:
        objective = float(values[steps - 1]) if steps else math.nan
        norm = float(norms[steps - 1]) if steps else math.nan
        if steps < num_steps:  # stopped early: no step could be taken
            what = f"stopped after {steps} steps without converging"
            why = (
                "no step decreased the objective, or the Fisher information was "
                "singular there (e.g. a neural predictor at all-zero weights, "
                "where no parameter moves η: start elsewhere with init=), or the "
                "optimum does not exist (separable data without a penalty C)"
            )
        else:
            what = f"did not converge in {steps} steps"
            why = (
                "the optimum may not exist (e.g. separable data in logistic "
                "regression without a penalty: the likelihood keeps growing as "
                "the coefficients diverge; set a penalty C), or the solve needs "
                "more num_steps or a start closer to the optimum (init=)"
            )
        warnings.warn(
            f"fisher_scoring({model!r}) {what} (mean objective {objective:.6g}, "
            f"score norm {norm:.3g}): {why}",
            RuntimeWarning,
            stacklevel=2,
        )
    return FitResult(
        natural=None,
        params=params,
        history=FitHistory(nll=values[:steps], residual_norm=norms[:steps]),
        converged=converged,
        num_steps=steps,
        state=state,
        family=model,
    )


def _same_model(a: Any, b: Any) -> bool:
    """Whether a result of fitting ``a`` may start a fit of ``b`` (``ef.fit``
    and ``fisher_scoring`` alike): the same family, or conditional models of
    one kind over the same response family (a GLM's penalty C may differ: a
    warm start along a regularization path)."""
    if isinstance(a, ConditionalModel) and isinstance(b, ConditionalModel):
        return type(a) is type(b) and bool(a.family == b.family)
    if isinstance(a, ConditionalModel) or isinstance(b, ConditionalModel):
        return False
    return a is b or bool(a == b)


def _scoring_start(model: ConditionalModel, init: Any, result_type: type) -> PyTree:
    """``fisher_scoring``'s ``init`` as parameters, or a ValueError naming the
    model: a previous result gives its parameters (a result of another kind
    of model is refused, see ``_same_model``); the rest must be
    floating-point arrays of the model's structure and shapes (where the
    model knows them: a GLM, or a Conditional with ``init_fn``).
    Half-precision parameters are taken in float32."""
    if isinstance(init, result_type):
        previous: Any = init
        if previous.family is not None and not _same_model(previous.family, model):
            raise _model_error(
                model, f"fisher_scoring: init is a result of {previous.family!r}"
            )
        init = previous.params
    leaves = jax.tree_util.tree_leaves(init)
    if not leaves or not all(
        jnp.issubdtype(jnp.result_type(leaf), jnp.inexact) for leaf in leaves
    ):
        raise _model_error(
            model,
            f"fisher_scoring: init={describe_value(init)} is not floating-point "
            "parameters",
        )
    template = model._parameter_template()
    if template is not None and not same_shapes(init, template):
        shapes = jax.tree_util.tree_map(jnp.shape, template)
        raise _model_error(
            model,
            f"fisher_scoring: init={describe_value(init)} does not have the "
            f"model's parameter structure and shapes {shapes}",
        )
    return jax.tree_util.tree_map(
        lambda a: a if jnp.result_type(a).itemsize >= 4 else jnp.asarray(a, "float32"),
        init,
    )
