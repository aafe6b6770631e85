"""The exponential-family abstraction and everything derived from u, A and h.

A family is p(x | η) = h(x) exp(⟨η, u(x)⟩ − A(η)). A subclass gives
``sufficient_statistics`` (u), ``log_partition`` (A), optionally
``log_base_measure`` (log h), a ``natural_domain``, a ``sample`` method and an
``in_support`` check. This module derives the rest once, for every family.

Mechanics that every derived method shares:

* Checked and compiled. Public derived methods are declared with
  ``@_derived(...)``, which names which arguments are natural parameters, mean
  parameters, one observation or a batch. On concrete input the wrapper checks
  them and raises a ``ValueError`` naming the family and the value; traced input
  (inside the caller's jit/vmap/grad) passes unchecked. The computation itself
  runs through ``jax.jit`` with the family as a static argument, so an eager call
  compiles once per family and shape and is fast afterwards.
* Overrides stay checked. A subclass that overrides a derived method (a closed
  form, say) gets the same wrapper automatically (``__init_subclass__``), and the
  generic derivation stays reachable as ``ExponentialFamily.<method>`` for the
  conformance kit to compare against.
"""

from __future__ import annotations

import abc
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from expfam import _divergence, _stats
from expfam._domains import Domain
from expfam._dtypes import (
    as_array,
    as_float,
    batch_parts,
    data_as_float,
    leaf_dtype,
    observation_like,
)
from expfam._newton import natural_by_newton
from expfam._tree import same_structure, tree_sub, tree_vdot
from expfam._validation import (
    describe_value,
    family_error,
    hashable_problem,
    is_concrete,
    is_int,
    key_problem,
    real_dtype_problem,
)

Array = jax.Array
PyTree = Any

__all__ = ["ExponentialFamily"]


# --------------------------------------------------------------------------- #
# The wrapper that checks concrete arguments and compiles the computation.
# --------------------------------------------------------------------------- #


def _derived(
    checks: Mapping[str, str], *, static: tuple[str, ...] = (), result: str = ""
) -> Callable[[Callable], Callable]:
    """Declares a derived method: which arguments to check, which are static."""

    def decorate(fn: Callable) -> Callable:
        fn._expfam_spec = (dict(checks), tuple(static), result)  # type: ignore[attr-defined]
        return _wrap(fn)

    return decorate


def _wrap(fn: Callable, canonical: Callable | None = None) -> Callable:
    """``fn`` compiled, with its arguments checked by its spec.

    The spec names the arguments as ``canonical`` (the base class's method,
    when ``fn`` overrides it) does; an override may call them otherwise
    (``natural_parameters(self, mean)``), so the names are matched by
    position.
    """
    checks, static, result = fn._expfam_spec  # type: ignore[attr-defined]
    signature = inspect.signature(fn)
    own = list(signature.parameters)
    if canonical is not None:
        local = dict(zip(inspect.signature(canonical).parameters, own, strict=False))
        checks = {local.get(k, k): kind for k, kind in checks.items()}
        static = tuple(local.get(name, name) for name in static)
    else:
        local = {}
    key_name, shape_name = local.get("key", "key"), local.get("shape", "shape")
    static = tuple(name for name in static if name in own)
    compiled = jax.jit(fn, static_argnames=("self", *static))

    @functools.wraps(fn)
    def wrapper(self: ExponentialFamily, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        problem = key_problem(arguments.get(key_name))
        if problem is not None:
            raise family_error(self, f"{fn.__name__}: {problem}")
        self._require_hashable()
        if shape_name in static:
            shape = _as_shape(arguments[shape_name])
            if shape is None:
                raise family_error(
                    self,
                    f"{fn.__name__}: {shape_name}={arguments[shape_name]!r} must "
                    "be an int or a tuple of ints >= 0",
                )
            arguments[shape_name] = shape
        concrete = is_concrete([arguments[n] for n in checks if n in arguments])
        if concrete:
            # Concrete values closed over inside an outer jit are checked
            # while tracing: the checks' own jitted programs would be staged
            # into the outer trace, and their verdict a tracer.
            with jax.ensure_compile_time_eval():
                for name, kind in checks.items():
                    if name in arguments:
                        arguments[name] = self._check(kind, name, arguments[name])
        out = compiled(**arguments)  # the family is hashable (checked above)
        if result and concrete and is_concrete(out):
            self._check_result(result, fn.__name__, arguments, out)
        return out

    wrapper._expfam_spec = fn._expfam_spec  # type: ignore[attr-defined]
    wrapper._expfam_raw = fn  # type: ignore[attr-defined]
    return wrapper


def _on_float_data(method: Callable, position: int) -> Callable:
    """A subclass's u or log h, given x (argument ``position``: 1 after self,
    0 for a staticmethod) as floats.

    The documented rule is that integer and bool data count as the default
    float; a family written for floats (u(x) = x, or x²) would otherwise
    compute, and sum, in int32: 2^20 counts of 3000 averaged to −1096.
    """

    @functools.wraps(method)
    def on_floats(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position:
            args = (
                *args[:position],
                data_as_float(args[position]),
                *args[position + 1 :],
            )
        return method(*args, **kwargs)

    on_floats._expfam_float_data = True  # type: ignore[attr-defined]
    return on_floats


def _as_shape(shape: Any) -> tuple[int, ...] | None:
    """``shape`` as a tuple of ints >= 0 (an int n is (n,)), or None."""
    items = (shape,) if is_int(shape) else shape
    try:
        dims = tuple(items)
    except TypeError:
        return None
    ok = all(is_int(d) and d >= 0 for d in dims)
    return tuple(int(d) for d in dims) if ok else None


def _is_array_batch(data: Any) -> bool:
    return isinstance(data, (jax.Array, np.ndarray)) or np.isscalar(data)


# --------------------------------------------------------------------------- #
# The base class.
# --------------------------------------------------------------------------- #


class ExponentialFamily(abc.ABC):
    r"""An exponential family p(x | η) = h(x) exp(⟨η, u(x)⟩ − A(η)).

    Subclass it (or use :func:`expfam.family`) and give:

    * ``sufficient_statistics(x)``: u(x) for one observation, an array or a
      tuple of arrays; the natural parameter η has the same structure.
    * ``log_partition(eta)``: A(η) for one parameter.
    * ``natural_domain``: a :class:`expfam.domains.Domain`, the bijection from
      unconstrained space onto the natural parameter domain.
    * optionally ``log_base_measure(x)`` (default 0) and, when h is not
      constant, ``expected_log_base_measure(eta)`` = E[log h(x)] for the entropy;
      ``sample(key, eta, shape)``; ``in_support(x)`` (default: finite);
      ``event_shape`` (default ``()``); ``discrete`` (default False);
      conventional parameters through ``param_names``, ``_natural_from`` and
      ``_params_from``; ``support`` bounds (lo, hi) of a 1-D continuous family
      and ``breakpoints`` where its density has a kink (for quadrature);
      ``statistics_certify_support`` (default False): True when u(x) is finite
      only at points of the support, so that a finite batch total proves every
      observation in the support and the batch methods skip their separate
      support pass over the data (the conformance kit probes it).

    Everything else (log-density, mean parameters ∇A, Fisher information ∇²A,
    the inverse map by Newton, KL, entropy, the residual, the MLE) is derived.
    Methods take one observation and one parameter; ``jax.vmap`` batches them,
    except the batch helpers (``average_sufficient_statistics``, ``residual``,
    ``mle``), which reduce over axis 0.

    Checks. With concrete arguments, derived methods raise ``ValueError`` naming
    the family and the value for a parameter outside the natural domain, data
    outside the support, NaN or a wrong event shape. Under ``jax.jit``,
    ``jax.vmap`` or ``jax.grad`` the arguments are traced and not checked.
    The functions a family gives (``sufficient_statistics``,
    ``log_partition``, ``log_base_measure``, ``in_support``) are its raw
    definitions for one observation or one η and are not checked: given a
    batch they compute whatever their code computes (vmap them instead), and
    the derived methods are the checked way in. Integer, bool and half-float
    data reach u and log h as the default float.
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    statistics_certify_support: ClassVar[bool] = False

    if TYPE_CHECKING:
        # For the type checker: read-only, and a family may compute them from
        # its fields (Pareto's support from its minimum, Laplace's kink at its
        # loc), so declared as properties, which a subclass may override with a
        # class attribute or a property. At run time, plain class attributes.

        @property
        def discrete(self) -> bool: ...

        @property
        def support(self) -> tuple[float, float] | None: ...

        @property
        def breakpoints(self) -> tuple[float, ...]: ...

    else:
        discrete = False
        support = None
        breakpoints = ()

    # ---- what a family gives ------------------------------------------------ #

    @abc.abstractmethod
    def sufficient_statistics(self, x: Array) -> PyTree:
        """u(x) for one observation."""

    @abc.abstractmethod
    def log_partition(self, eta: PyTree) -> Array:
        """A(η) for one natural parameter."""

    @property
    @abc.abstractmethod
    def natural_domain(self) -> Domain:
        """The bijection from unconstrained space onto the natural domain."""

    def log_base_measure(self, x: Array) -> Array:
        """log h(x) for one observation (default 0)."""
        return jnp.zeros_like(as_float(x), shape=())

    @property
    def event_shape(self) -> tuple[int, ...]:
        """The shape of one observation."""
        return ()

    def in_support(self, x: Array) -> Array:
        """Whether one observation lies in the support (default: all finite)."""
        return jnp.all(jnp.isfinite(x))

    def sample(self, key: Array, eta: PyTree, shape: tuple[int, ...] = ()) -> Array:
        """Draws ``shape`` independent observations from p(x | η)."""
        raise NotImplementedError(f"{self!r} has no sampler")

    def _natural_from(self, *args: Any, **params: Any) -> PyTree:
        # Subclasses name their own parameters (``shape``, ``rate``, ...);
        # ``natural_from`` calls this with ``param_names`` as keywords. The
        # open signature is the one every such override is compatible with.
        raise NotImplementedError

    def _conventional_problem(self, **params: Array) -> str | None:
        """Why concrete conventional parameters are invalid in a way the
        natural domain cannot see (``_natural_from`` would silently project
        them, as a Cholesky factorization symmetrizes its matrix), or None."""
        del params
        return None

    def _params_from(self, eta: PyTree) -> dict[str, Array]:
        raise NotImplementedError

    def enumerate_support(self) -> Array | None:
        """Every point of a small finite support, stacked on axis 0, else None.

        The conformance kit sums the mass function over these points.
        """
        return None

    def free_coordinates(self, x: Array) -> Array:
        """One observation as a flat vector of free coordinates.

        The density is taken with respect to Lebesgue measure on these
        coordinates (e.g. the first k − 1 entries of a point of the simplex, the
        lower triangle of a symmetric matrix). Default: ``x`` flattened.
        """
        return jnp.ravel(x)

    def from_free_coordinates(self, v: Array) -> Array:
        """The inverse of ``free_coordinates``."""
        return jnp.reshape(v, self.event_shape)

    def natural_parameters_guess(self, mu: PyTree) -> PyTree:
        """A starting point for the Newton solve of ∇A(η) = μ.

        The default is ``default_natural()``, the image of 0 under the domain
        bijection. Families with a good closed-form approximation override it.
        """
        del mu
        return self.default_natural()

    # ---- optional: mle about a centre of the data ------------------------------ #

    def _mle_center(self, xs: Array) -> Array | None:
        """A rough centre c of a batch for ``mle`` to average u about, or None.

        Families whose statistics are moments of a location (the normal's x and
        x²) lose digits to cancellation when the spread is small against the
        location: float32 E[x²] − E[x]² for data 1e4 + N(0, 1) is mostly
        rounding. Such a family returns c here (from a few rows), defines
        ``_centered_batch(xs, c)`` as the batch moved by −c (an elementwise
        map, which XLA fuses into the sums) with the statistics to sum over it,
        and ``_natural_from_centered(mu_c, c)`` as the η of the original data
        from their average. A c of zeros says the plain sums are accurate
        enough: ``mle``'s one-pass program reports whether c ≠ 0, and only
        then is a second program, summing the centred statistics in one pass
        too, compiled and run. Under ``jax.jit`` the centred program runs
        whatever c is, so both hooks must also hold at c = 0 (there they
        should reduce to the plain statistics and inverse map). (ū is summed
        through u's jaxpr, which takes linear steps out of the sum but not
        the subtraction of a constant from the data: Σ(x − c) is summed
        elementwise, not as Σx − N c.) Default: None (u is averaged as it
        is).
        """
        del xs
        return None

    def _centered_batch(self, xs: Array, c: Array) -> tuple[Array, Callable]:
        raise NotImplementedError

    def _natural_from_centered(self, mu_c: PyTree, c: Array) -> PyTree:
        raise NotImplementedError

    def default_natural(self) -> PyTree:
        """The image of z = 0 under the domain bijection: a neutral η."""
        shapes = jax.eval_shape(self.natural_domain.inverse, self.natural_shape)
        zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        return self.natural_domain.forward(zeros)

    # ---- the shape of a natural parameter ----------------------------------- #

    @property
    def natural_shape(self) -> PyTree:
        """The structure, shapes and dtypes of η, as ``jax.ShapeDtypeStruct``s."""
        return _natural_shape(self)

    # ---- derived quantities -------------------------------------------------- #

    @_derived({"eta": "natural", "x": "observation"})
    def log_prob(self, eta: PyTree, x: Array) -> Array:
        """log p(x | η) = ⟨η, u(x)⟩ − A(η) + log h(x), for one observation.

        An observation of Python numbers, ints, bools or half floats is taken
        in η's dtype, as JAX's type promotion would: a float32 η gives a
        float32 log density, also under ``jax_enable_x64``. float32 and
        float64 observations keep theirs."""
        x = observation_like(x, leaf_dtype(eta))
        u = self.sufficient_statistics(x)
        return tree_vdot(eta, u) - self.log_partition(eta) + self.log_base_measure(x)

    @_derived({"eta": "natural"})
    def mean_parameters(self, eta: PyTree) -> PyTree:
        """μ = E[u(x)] = ∇A(η)."""
        return jax.grad(self.log_partition)(eta)

    @_derived({"eta": "natural"})
    def fisher_information(self, eta: PyTree) -> Array:
        """∇²A(η) = Cov[u(x)], a matrix over the flattened η (``ravel_pytree``)."""
        flat, unravel = ravel_pytree(eta)
        return jax.hessian(lambda f: self.log_partition(unravel(f)))(flat)

    @_derived({"mu": "mean"}, result="natural")
    def natural_parameters(self, mu: PyTree) -> PyTree:
        """The η with ∇A(η) = μ: the inverse of ``mean_parameters``.

        Generic form: damped Newton in the domain's unconstrained coordinates from
        ``natural_parameters_guess(mu)``, to a residual ‖∇A(η) − μ‖∞ of 1e-10
        ‖μ‖∞ in float64 (1e-5 ‖μ‖∞ in float32), then one polishing Newton step,
        which must be small against η (on the boundary of the mean domain,
        where ∇A(η) → μ only as η runs off, it is not). Never silently
        unconverged: on concrete input a failed solve raises ``ValueError`` (μ
        outside the mean domain, or on its boundary, where the MLE does not
        exist); under jit/vmap the entries of an unconverged solve are NaN.
        Gradients come from the implicit function theorem, dη = (∇²A)⁻¹ dμ,
        not from differentiating the iterations.
        """
        return natural_by_newton(self, mu)

    @_derived({"eta": "natural"})
    def expected_log_base_measure(self, eta: PyTree) -> Array:
        """E[log h(x)] under p(x | η); 0 for a family with constant h.

        A family whose ``log_base_measure`` is not constant must override this
        (a closed form, or a convergent series or quadrature) for ``entropy`` and
        ``cross_entropy`` to be defined.
        """
        if _overrides(self, "log_base_measure"):
            raise NotImplementedError(
                f"{self!r} has a non-constant base measure: override "
                "expected_log_base_measure(eta) to get entropy and cross-entropy"
            )
        return jnp.zeros((), leaf_dtype(eta))

    @_derived({"eta": "natural"})
    def entropy(self, eta: PyTree) -> Array:
        """H(p_η) = A(η) − ⟨η, ∇A(η)⟩ − E[log h(x)]."""
        mu = jax.grad(self.log_partition)(eta)
        return (
            self.log_partition(eta)
            - tree_vdot(eta, mu)
            - self.expected_log_base_measure(eta)
        )

    @_derived({"eta_p": "natural", "eta_q": "natural"})
    def cross_entropy(self, eta_p: PyTree, eta_q: PyTree) -> Array:
        """H(p, q) = −E_p[log q(x)] = A(η_q) − ⟨η_q, ∇A(η_p)⟩ − E_p[log h(x)]."""
        mu_p = jax.grad(self.log_partition)(eta_p)
        return (
            self.log_partition(eta_q)
            - tree_vdot(eta_q, mu_p)
            - self.expected_log_base_measure(eta_p)
        )

    @_derived({"eta_p": "natural", "eta_q": "natural"})
    def kl_divergence(self, eta_p: PyTree, eta_q: PyTree) -> Array:
        """KL(p ‖ q), the Bregman divergence A(η_q) − A(η_p) − ⟨η_q − η_p, ∇A(η_p)⟩.

        For close p and q those terms cancel (they are of the size of A); the
        same KL is then taken as ∫₀¹ (1 − t) δᵀ ∇²A(η_p + tδ) δ dt, δ = η_q − η_p,
        by Gauss–Legendre quadrature, whichever of the two has the smaller
        error estimate (see ``expfam._divergence``). KL(p, p) is exactly 0.
        """
        return _divergence.kl_divergence(self, eta_p, eta_q)

    # ---- batches -------------------------------------------------------------- #

    def average_sufficient_statistics(self, xs: Any, weights: Any = None) -> PyTree:
        """ū = Σ w_i u(x_i) / Σ w_i over axis 0 (w = 1 without ``weights``).

        ``xs`` is a jax or numpy array (a memmap included) with the batch on axis
        0, or an iterable of such chunks (then ``weights``, if given, is an
        iterable of per-chunk weights). Sums are blockwise on device; data too
        large for one call is reduced chunk by chunk and the chunk totals are
        added on the host in float64, so float32 data of 10^8 samples averages
        to within ~1e-7 relative. Inside jit, pass an array. A list or tuple
        of single observations (``[0.5, 1.2, ...]``) is a batch, like the
        array it makes; a list of arrays of several observations is a
        sequence of chunks.
        """
        # Concrete data closed over inside jit is checked and reduced now, and
        # ū enters the traced program as a constant; traced data is traced.
        self._require_hashable()
        with jax.ensure_compile_time_eval():
            return self._average_sufficient_statistics(xs, weights)[0]

    def _average_sufficient_statistics(
        self, xs: Any, weights: Any, *, centered: bool = False
    ) -> tuple[PyTree, Array | None]:
        """(ū, None), or with ``centered`` (ū_c, c): the average of the
        family's centred statistics about its centre c of the data (see
        ``_mle_center``), where the family has one."""
        xs, weights = self._list_as_batch(xs, weights)
        fast = self._one_program_input(xs, weights)
        if fast is not None:
            center = _stats.mle_center(self, fast[0][0]) if centered else None
            u_bar, ok = _checked_average(self, *fast, center)
            if bool(ok):
                return u_bar, center
        if _is_array_batch(xs) and not isinstance(xs, np.memmap):
            if is_concrete(xs, weights):
                # The checks name the problem (or pass: ū itself is returned).
                xs = self._check("batch", "xs", xs)
                weights = self._check_weights(weights, jnp.shape(xs)[0])
                if jnp.shape(xs)[0] > _stats.CHUNK_ROWS:
                    return self._average_in_chunks(np.asarray(xs), weights, centered)
            xs = as_array(xs)
            center = _stats.mle_center(self, xs) if centered else None
            return _average(self, xs, weights, center), center
        if isinstance(xs, np.memmap):
            return self._average_in_chunks(xs, weights, centered)
        return self._average_of_iterable(xs, weights, centered)

    def _list_as_batch(
        self, xs: Any, weights: Any, name: str = "xs"
    ) -> tuple[Any, Any]:
        """(xs, weights) as numpy arrays where ``xs`` is a list or tuple whose
        first item is one observation (shape ``event_shape``): a batch, not a
        sequence of chunks (a chunk holds several observations, so has one
        axis more). Anything else is returned as it is."""
        if not (isinstance(xs, (list, tuple)) and xs):
            return xs, weights
        if np.shape(xs[0]) != self.event_shape:
            return xs, weights
        if not is_concrete(xs, weights):  # traced items (inside jit): stack them
            w = jnp.asarray(weights) if isinstance(weights, (list, tuple)) else weights
            return jnp.asarray(xs), w
        self._require_real(name, xs)
        if isinstance(weights, (list, tuple)):
            weights = np.asarray(weights)
        return np.asarray(xs), weights

    def _one_program_input(self, xs: Any, weights: Any) -> tuple | None:
        """(parts, weight parts) when the batch can be checked and reduced in
        one compiled program: a concrete in-memory array of well-shaped rows
        that fits one device call, with weights of matching shape. Else None.

        The parts are arrays for one jitted call (numpy stays numpy; see
        :func:`expfam._dtypes.batch_parts`) whose rows together are the
        batch's: one array, or, for a large numpy array on CPU, its
        64-byte-aligned bulk (aliased, not copied) and the few rows around it
        (copied).
        """
        if not _is_array_batch(xs) or isinstance(xs, np.memmap):
            return None
        if not is_concrete(xs, weights):
            return None
        shape = np.shape(xs)
        if len(shape) < 1 or shape[1:] != self.event_shape:
            return None
        if not 0 < shape[0] <= _stats.CHUNK_ROWS:
            return None
        if weights is not None and np.shape(weights) != shape[:1]:
            return None
        if real_dtype_problem(xs) or (
            weights is not None and real_dtype_problem(weights)
        ):
            return None  # the checked path names it
        return batch_parts(xs, weights)

    @_derived({"eta": "natural"})
    def _residual(self, eta: PyTree, u_bar: PyTree) -> PyTree:
        return tree_sub(u_bar, jax.grad(self.log_partition)(eta))

    def residual(self, eta: PyTree, xs: Any, weights: Any = None) -> PyTree:
        """ū − ∇A(η) = E_emp[u] − E_model[u]: the gradient of the mean
        log-likelihood in η, and of −KL(p̂_data ‖ p_η) and −cross-entropy."""
        return self._residual(eta, self.average_sufficient_statistics(xs, weights))

    def mle(self, xs: Any, weights: Any = None) -> PyTree:
        """The maximum-likelihood η: moment matching, ∇A(η̂) = ū.

        Accepts what ``average_sufficient_statistics`` accepts (arrays, numpy
        memmaps, iterables of chunks) and gives the same answer for all (up to
        the rounding of sums taken in different blocks: float32 results can
        differ in the last place). Raises ``ValueError`` when ū lies on the
        boundary of the mean domain (e.g. all coin tosses heads), where no
        maximum exists.
        """
        self._require_hashable()
        with jax.ensure_compile_time_eval():  # as in average_sufficient_statistics
            return self._mle(xs, weights)

    def _mle(self, xs: Any, weights: Any) -> PyTree:
        xs, weights = self._list_as_batch(xs, weights)
        fast = self._one_program_input(xs, weights)
        if fast is not None:
            # Checks, ū and the inverse in one compiled program; on any failure
            # the checked path below names the problem.
            eta, ok, far = _fused_mle(self, *fast)
            ok, far = jax.device_get((ok, far))  # one transfer for both flags
            if far:  # a location large against the spread: centre
                eta, ok, _ = _fused_mle(self, *fast, True)
            if bool(ok):
                return eta
        u_bar, center = self._average_sufficient_statistics(xs, weights, centered=True)
        if is_concrete(u_bar) and not _tree_all_finite(u_bar):
            raise family_error(
                self,
                f"the average sufficient statistics {describe_value(u_bar)} "
                "are not finite",
            )
        if center is None:
            return self.natural_parameters(u_bar)
        try:
            return self._natural_from_centered(u_bar, center)
        except ValueError as error:
            if not is_concrete(u_bar):
                raise
            raise family_error(
                self,
                f"the average sufficient statistics about the data's centre "
                f"{describe_value(center)} are {describe_value(u_bar)}: on the "
                "boundary of the mean domain (all observations equal, say), "
                "where no maximum-likelihood estimate exists",
            ) from error

    # ---- conventional parameters ------------------------------------------------ #

    def natural_from(self, **params: Any) -> PyTree:
        """η from the family's conventional parameters (keywords: ``param_names``).

        Raises ``ValueError`` on missing or unknown keywords and on values that
        give a parameter outside the natural domain.
        """
        names = self.param_names
        if not names:
            raise family_error(self, "has no conventional parameterization")
        unknown = sorted(set(params) - set(names))
        missing = [n for n in names if n not in params]
        if unknown or missing:
            parts = []
            if missing:
                parts.append(f"missing keyword(s) {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown keyword(s) {', '.join(unknown)}")
            raise family_error(
                self,
                f"natural_from: {'; '.join(parts)} (expected: {', '.join(names)})",
            )
        values = {k: as_float(v) for k, v in params.items()}
        if not is_concrete(values):
            return _conversion(self, "_natural_from", **values)
        with jax.ensure_compile_time_eval():  # as in _wrap: closed over in jit
            problem = self._conventional_problem(**values)
            if problem is not None:
                raise family_error(self, f"natural_from: {problem}")
            eta = _conversion(self, "_natural_from", **values)
            inside = bool(self._contains(eta, batched=True))
        if not inside:
            dtype = leaf_dtype(eta)
            rounded = dtype != np.float64 and self._inside_in_float64(params)
            hint = (
                f"; the values are legal, but {dtype} rounds them out of it: use "
                "float64 (jax_enable_x64)"
                if rounded
                else ""
            )
            raise family_error(
                self,
                f"natural_from({describe_value(params)[1:-1]}) is outside the "
                f"family's parameter domain (in {dtype} it maps to "
                f"η = {describe_value(eta)}{hint})",
            )
        return eta

    def _inside_in_float64(self, params: dict[str, Any]) -> bool:
        """Whether conventional parameters that ``natural_from`` rejected are
        legal but lost to rounding: float32 Pareto α = 1e-9 gives
        η = −1 − α = −1.0, the domain's boundary. Only on that error path."""
        with jax.enable_x64(True):
            try:
                values = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
                eta = self._natural_from(**values)
                return bool(self._contains(eta, batched=True))
            except (TypeError, ValueError):
                return False

    def params_from(self, eta: PyTree) -> dict[str, Array]:
        """The conventional parameters of η, as a dict keyed by ``param_names``."""
        if not self.param_names:
            raise family_error(self, "has no conventional parameterization")
        if is_concrete(eta):
            eta = self._sequence_as_natural(eta)
            eta = jax.tree_util.tree_map(as_float, eta)
            with jax.ensure_compile_time_eval():  # as in _wrap: closed over in jit
                inside = bool(self._contains(eta, batched=True))
            if not inside:
                raise family_error(
                    self,
                    f"params_from: eta={describe_value(eta)} is not a natural "
                    f"parameter (or batch of them) of this family (shape "
                    f"{_shape_str(self.natural_shape)}, natural domain: "
                    f"{self.natural_domain.describe()})",
                )
        return _conversion(self, "_params_from", eta)

    # ---- subclass hook: keep overrides checked and compiled -------------------- #

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            base = getattr(ExponentialFamily, name, None)
            spec = getattr(base, "_expfam_spec", None)
            if spec is None or not callable(value):
                continue
            if getattr(value, "_expfam_spec", None) is not None:
                continue
            value._expfam_spec = spec
            setattr(cls, name, _wrap(value, getattr(base, "_expfam_raw", base)))
        for name in ("sufficient_statistics", "log_base_measure"):
            method = vars(cls).get(name)
            if hasattr(method, "_expfam_float_data"):
                continue
            if isinstance(method, staticmethod):
                setattr(cls, name, staticmethod(_on_float_data(method.__func__, 0)))
            elif inspect.isfunction(method):
                setattr(cls, name, _on_float_data(method, 1))
        sample = vars(cls).get("sample")
        if sample is not None and not hasattr(sample, "_expfam_raw"):
            sample._expfam_spec = ({"eta": "natural"}, ("shape",), "")
            # Replacing the method on the class is the point: the subclass's
            # sampler gets the same checks as the derived methods.
            cls.sample = _wrap(sample, ExponentialFamily.sample)  # type: ignore[method-assign]

    # ---- checks -------------------------------------------------------------- #

    def _contains(self, eta: PyTree, *, batched: bool = False) -> Array:
        """Whether η has the family's structure and shapes and lies in the
        domain; with ``batched``, every leaf may carry the same leading batch
        dimensions (conventional-parameter conversions accept batches)."""
        expected = jax.tree_util.tree_leaves(self.natural_shape)
        try:
            leaves = jax.tree_util.tree_leaves(eta)
            same_tree = same_structure(eta, self.natural_shape)
        except (TypeError, ValueError):
            return jnp.asarray(False)
        if not same_tree:
            return jnp.asarray(False)
        batch_shapes = set()
        for leaf, want in zip(leaves, expected, strict=True):
            shape = jnp.shape(leaf)
            cut = len(shape) - len(want.shape)
            if cut < 0 or shape[cut:] != want.shape or (cut and not batched):
                return jnp.asarray(False)
            batch_shapes.add(shape[:cut])
        if len(batch_shapes) > 1:
            return jnp.asarray(False)
        if hashable_problem(self) is not None:
            return self.natural_domain.contains(eta)
        return _in_domain(self, eta)

    def _check(self, kind: str, name: str, value: Any, *, support: bool = True) -> Any:
        if kind == "natural":
            value = self._sequence_as_natural(value)
            value = jax.tree_util.tree_map(as_float, value)
            if not bool(self._contains(value)):
                raise family_error(
                    self,
                    f"{name}={describe_value(value)} is not a natural parameter of "
                    f"this family (expected shape {_shape_str(self.natural_shape)} "
                    f"in the natural domain: {self.natural_domain.describe()})",
                )
            return value
        if kind == "mean":
            value = self._sequence_as_natural(value)  # μ has η's structure
            value = jax.tree_util.tree_map(as_float, value)
            if not same_structure(value, self.natural_shape) or not (
                _tree_all_finite(value)
            ):
                raise family_error(
                    self,
                    f"{name}={describe_value(value)} is not a finite mean parameter "
                    f"of shape {_shape_str(self.natural_shape)}",
                )
            return value
        if kind in ("observation", "batch"):
            self._require_real(name, value)
        if kind == "observation":
            x = as_array(value)
            if x.shape != self.event_shape:
                raise family_error(
                    self,
                    f"{name}={describe_value(value)} has shape {x.shape}, but one "
                    f"observation has shape {self.event_shape}",
                )
            self._check_support(name, x, one=True)
            return x
        if kind == "batch":
            x = as_array(value)
            if x.ndim < 1 or x.shape[1:] != self.event_shape:
                raise family_error(
                    self,
                    f"{name} has shape {x.shape}, but a batch must have shape "
                    f"(n, *{self.event_shape}) with the batch on axis 0",
                )
            if x.shape[0] == 0:
                raise family_error(self, f"{name} is empty")
            if support:
                self._check_support(name, x)
            return x
        raise AssertionError(kind)

    def _require_hashable(self) -> None:
        problem = hashable_problem(self)
        if problem is not None:
            raise ValueError(f"{type(self).__name__}: the family {problem}")

    def _require_real(self, name: str, value: Any) -> None:
        """A ValueError naming ``name`` where ``value`` is not real numbers."""
        problem = real_dtype_problem(value)
        if problem is not None:
            raise family_error(self, f"{name} {problem}")

    def _sequence_as_natural(self, value: Any) -> Any:
        """A list or tuple given as η in η's own form: an array where η is one
        array (``[0.0, -0.5]`` for the normal), a tuple where η is a tuple of
        that length (``[h, Lambda]`` for the multivariate normal)."""
        if not isinstance(value, (list, tuple)):
            return value
        shape = self.natural_shape
        if isinstance(shape, jax.ShapeDtypeStruct):
            if real_dtype_problem(value) is None:
                return np.asarray(value)
            return value
        if isinstance(shape, tuple) and len(value) == len(shape):
            if hasattr(type(shape), "_fields"):  # a NamedTuple η
                return type(shape)(*value)
            return tuple(value)
        return value

    def _check_support(self, name: str, xs: Array, *, one: bool = False) -> None:
        """A ValueError naming the first of ``xs`` (or the one observation
        ``xs``) that is NaN or outside the support. The check is one
        compiled call and one flag; the mask comes back only on failure."""
        if bool(_all_in_support(self, xs, one)):
            return
        xs = xs[None] if one else xs
        ok = np.asarray(_support_mask(self, xs))
        if not ok.all():
            index = int(np.argmin(ok))
            bad = np.asarray(xs[index])
            if np.isnan(bad).any():
                what = "NaN"
            elif _has_subnormal(bad):
                what = (
                    "subnormal, which compiled code on CPU reads as 0, and 0 is "
                    "outside the support (rescale the data)"
                )
            else:
                what = "outside the support"
            where = f"{name}[{index}]" if xs.shape[0] > 1 else name
            raise family_error(self, f"{where}={describe_value(bad)} is {what}")

    def _check_weights(self, weights: Any, n: int) -> Array | None:
        if weights is None:
            return None
        self._require_real("weights", weights)
        w = as_array(weights)
        if w.shape != (n,):
            raise family_error(
                self, f"weights have shape {w.shape}, expected ({n},) for {n} samples"
            )
        if not bool(jnp.all(jnp.isfinite(w) & (w >= 0))):
            raise family_error(
                self, f"weights={describe_value(w)} must be finite and >= 0"
            )
        if not bool(jnp.sum(w) > 0):
            raise family_error(self, "the weights sum to 0: no sample counts")
        return w

    def _check_result(
        self, kind: str, method: str, arguments: dict[str, Any], out: PyTree
    ) -> None:
        if kind == "natural" and not bool(self._contains(out)):
            inputs = {k: v for k, v in arguments.items() if k != "self"}
            raise family_error(
                self,
                f"{method}({describe_value(inputs)[1:-1]}) has no solution in the "
                "natural domain: the mean parameters lie outside or on the boundary "
                "of the mean domain, or the solve did not converge",
            )

    # ---- chunked averages (host side) --------------------------------------------- #

    def _average_in_chunks(
        self, xs: np.ndarray, weights: Any, centered: bool = False
    ) -> tuple[PyTree, Array | None]:
        n = xs.shape[0]
        if xs.ndim < 1 or xs.shape[1:] != self.event_shape:
            self._check("batch", "xs", xs[:1] if xs.ndim else xs)
        w = None if weights is None else np.asarray(weights)
        if w is not None:
            self._check_weights(w, n)
        rows = min(n, _stats.CHUNK_ROWS)

        def pieces():
            for start in range(0, n, rows):
                stop = min(n, start + rows)
                chunk = np.asarray(xs[start:stop])
                yield chunk, None if w is None else w[start:stop]

        return _stats.chunked_average(
            self, pieces(), rows=rows, check=self._chunk_check, centered=centered
        )

    def _average_of_iterable(
        self, chunks: Iterable, weights: Any, centered: bool = False
    ) -> tuple[PyTree, Array | None]:
        if chunks is None or isinstance(chunks, (str, bytes, Mapping)):
            raise family_error(
                self,
                f"cannot average over {type(chunks).__name__}: pass an array of "
                "observations or an iterable of chunks",
            )
        if isinstance(weights, (np.ndarray, jax.Array)) and np.ndim(weights) == 1:
            raise family_error(
                self,
                "with data given as chunks, weights must be an iterable of one "
                f"weights array per chunk, not one array of shape {np.shape(weights)}",
            )
        weight_iter = iter(weights) if weights is not None else None

        def pieces():
            for index, chunk in enumerate(chunks):
                w = None
                if weight_iter is not None:
                    w = next(weight_iter, None)
                    if w is None:
                        raise family_error(
                            self,
                            f"the weights ran out at chunk {index}: give one "
                            "weights array per chunk",
                        )
                    w = np.asarray(w)
                yield np.asarray(chunk), w

        return _stats.chunked_average(
            self, pieces(), check=self._chunk_check, centered=centered
        )

    def _chunk_check(self, chunk: np.ndarray, weights: Any, index: int) -> None:
        self._check("batch", f"chunk {index}", chunk)
        if weights is not None:
            self._check_weights(weights, chunk.shape[0])

    # ---- identity ------------------------------------------------------------- #

    def __repr__(self) -> str:  # dataclass subclasses replace this
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------- #
# Module-level helpers (compiled once per family).
# --------------------------------------------------------------------------- #


def _has_subnormal(value: np.ndarray) -> bool:
    if not np.issubdtype(value.dtype, np.floating):
        return False
    magnitude = np.abs(value)
    return bool(np.any((magnitude > 0) & (magnitude < np.finfo(value.dtype).tiny)))


def _subnormals_as_zero(xs: Array) -> Array:
    """``xs`` with every subnormal entry replaced by an exact 0.

    XLA's CPU kernels flush subnormal inputs to zero, but LLVM may fold a
    pair of comparisons (``(x > 0) & isfinite(x)``) into one on the bits,
    which does not: the same check of x = 1e-310 came out True in one program
    and False in another. Reading the data as the rest of compiled code does,
    as 0, makes the verdict the same in every program. ``|x| < tiny`` holds
    for a subnormal whether or not it is flushed first.
    """
    if not jnp.issubdtype(xs.dtype, jnp.floating):
        return xs
    tiny = jnp.finfo(xs.dtype).tiny
    return jnp.where(jnp.abs(xs) < tiny, jnp.zeros_like(xs), xs)


@functools.partial(jax.jit, static_argnums=0)
def _support_mask(family: ExponentialFamily, xs: Array) -> Array:
    xs = _subnormals_as_zero(jnp.asarray(xs))
    finite = jax.vmap(lambda x: jnp.all(~jnp.isnan(jnp.asarray(x, float))))(xs)
    return finite & jax.vmap(family.in_support)(xs)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _all_in_support(family: ExponentialFamily, xs: Array, one: bool) -> Array:
    return jnp.all(_support_mask(family, xs[None] if one else xs))


@functools.partial(jax.jit, static_argnums=0)
def _checked_average(
    family: ExponentialFamily,
    xs: tuple[Array, ...],
    weights: tuple | None,
    center: Array | None = None,
) -> tuple[PyTree, Array]:
    """(ū, ok): the average over the batch's parts (see ``_one_program_input``)
    and whether the data and weights pass the checks.

    When the family's statistics certify its support, a finite total is the
    check (any u(x_i) = ±inf or NaN, weighted by 0 included, makes it
    non-finite): one read of the data fewer. A non-finite total is only "not
    ok": the caller's checked path then names the problem.
    """
    part_weights = (None,) * len(xs) if weights is None else weights
    sums = [
        _stats.weighted_sums(family, x, w, center)
        for x, w in zip(xs, part_weights, strict=True)
    ]
    count = sum(c for _, c in sums)
    u_bar = jax.tree_util.tree_map(
        lambda *totals: sum(totals) / count, *(t for t, _ in sums)
    )
    if family.statistics_certify_support:
        ok = _all_finite(u_bar)
    else:
        ok = jnp.all(jnp.stack([jnp.all(_support_mask(family, x)) for x in xs]))
    if weights is not None:
        w = jnp.concatenate(weights)
        ok &= jnp.all(jnp.isfinite(w) & (w >= 0)) & (jnp.sum(w) > 0)
    return u_bar, ok


@functools.partial(jax.jit, static_argnums=(0, 3))
def _fused_mle(
    family: ExponentialFamily,
    xs: tuple[Array, ...],
    weights: tuple | None,
    centered: bool = False,
) -> tuple[PyTree, Array, Array]:
    """(η̂, ok, far): the MLE, whether every check passed, and whether the
    family's centre of the data is away from 0 (``_mle_center``), in one
    program. ``centered`` sums about that centre; the plain program only
    reports ``far``, so the centred one is compiled and run only for data
    that need it (the centred sums cost the multivariate normal a copy of
    the batch before its matrix product)."""
    center = family._mle_center(xs[0])
    far = jnp.asarray(False) if center is None else jnp.any(center != 0)
    if not centered:
        center = None
    u_bar, ok = _checked_average(family, xs, weights, center)
    if center is None:
        eta = family.natural_parameters(u_bar)
    else:
        eta = family._natural_from_centered(u_bar, center)
    ok &= _all_finite(u_bar)
    ok &= family.natural_domain.contains(eta)
    return eta, ok, far


@functools.partial(jax.jit, static_argnums=0)
def _average(
    family: ExponentialFamily,
    xs: Array,
    weights: Array | None,
    center: Array | None = None,
) -> PyTree:
    total, count = _stats.weighted_sums(family, xs, weights, center)
    return jax.tree_util.tree_map(lambda t: t / count, total)


@functools.cache
def _natural_shape_cached(family: ExponentialFamily, dtype: np.dtype) -> PyTree:
    x = jax.ShapeDtypeStruct(family.event_shape, jnp.float32)
    shapes = jax.eval_shape(family.sufficient_statistics, x)
    return jax.tree_util.tree_map(
        lambda s: jax.ShapeDtypeStruct(s.shape, dtype), shapes
    )


def _natural_shape(family: ExponentialFamily) -> PyTree:
    # The default float (float64 under x64): cached per dtype, as every
    # checked call asks for it.
    dtype = jax.dtypes.canonicalize_dtype(np.float64)
    if hashable_problem(family) is None:
        return _natural_shape_cached(family, dtype)
    return _natural_shape_cached.__wrapped__(family, dtype)


def _overrides(family: ExponentialFamily, name: str) -> bool:
    return getattr(type(family), name) is not getattr(ExponentialFamily, name)


def _conversion(
    family: ExponentialFamily, method: str, *args: Any, **kwargs: Any
) -> Any:
    """``family.<method>(*args, **kwargs)`` (η from conventional parameters or
    the reverse) as one compiled call where the family is hashable: op by op,
    the multivariate normal's ``natural_from`` took 0.57 ms warm (0.15)."""
    if hashable_problem(family) is None and (family, method) not in _EAGER:
        try:
            return _compiled_conversion(family, method, args, kwargs)
        except _VALUE_DEPENDENT:  # a user's conversion branches on values
            _EAGER.add((family, method))
    return getattr(family, method)(*args, **kwargs)


_EAGER: set[tuple[ExponentialFamily, str]] = set()  # conversions run op by op


_VALUE_DEPENDENT = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _compiled_conversion(
    family: ExponentialFamily, method: str, args: tuple, kwargs: dict
) -> Any:
    return getattr(family, method)(*args, **kwargs)


@functools.partial(jax.jit, static_argnums=0)
def _in_domain(family: ExponentialFamily, eta: PyTree) -> Array:
    """The domain check of a concrete η as one call: run op by op, the
    indexing and comparisons of a domain's ``contains`` made most of a warm
    ``entropy`` call (0.36 ms for a gamma)."""
    return family.natural_domain.contains(eta)


def _all_finite(tree: PyTree) -> Array:
    """Whether every entry of every leaf is finite (traceable)."""
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _tree_all_finite(tree: PyTree) -> bool:
    return bool(_all_finite_call(tree))


_all_finite_call = jax.jit(_all_finite)


def _shape_str(shapes: PyTree) -> str:
    leaves = jax.tree_util.tree_leaves(shapes)
    if len(leaves) == 1 and not isinstance(shapes, tuple):
        return str(leaves[0].shape)
    return "(" + ", ".join(str(s.shape) for s in leaves) + ")"
