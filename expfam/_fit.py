"""Maximum-likelihood fitting with optax: minibatch residuals, compiled loops.

The gradient of the mean negative log-likelihood in the natural parameters is
∇A(η) − ū, minus the residual, and it depends on a minibatch only through
ū = E_emp[u]. ``fit`` optimizes the unconstrained coordinates z of the family's
natural domain (η = f(z)), so no step, however large, leaves the domain; the
gradient in z is the residual pulled back through f with one vjp,
−Df(z)ᵀ (ū − ∇A(f(z))), which equals autodiff of the mean log-likelihood
without differentiating through the data.

Conditional models (``expfam._conditional``) share the loop: their minibatch
gradient is the per-sample residual u(y_i) − ∇A(η_i) pulled back through the
predictor with one vjp; ``_step_functions`` is the one place the two differ.

Pieces, optax-style: ``FitState`` (a NamedTuple pytree: z, the optimizer
state, the key, counters), a pure compiled step run ``chunk`` steps at a time
by ``lax.scan``, and any optax ``GradientTransformation`` as the optimizer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import pickle
import queue
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from expfam import _shuffle, _stats
from expfam._conditional import ConditionalModel, _same_model
from expfam._dtypes import leaf_dtype, to_device
from expfam._family import ExponentialFamily, _all_finite, _overrides
from expfam._natural_gradient import NaturalGradientState
from expfam._tree import (
    same_shapes,
    tree_any,
    tree_scale,
    tree_select,
    tree_sub,
    tree_vdot,
)
from expfam._validation import (
    family_error,
    hashable_problem,
    is_concrete,
    is_int,
    key_problem,
)

PyTree = Any

__all__ = [
    "FitHistory",
    "FitResult",
    "FitState",
    "fit",
    "load_state",
    "save_state",
]

# Above this many bytes a numpy array stays on the host and is streamed.
_DEVICE_BYTES = 1 << 30
# One instance, so that fits with the default optimizer share compiled code.
_DEFAULT_OPTIMIZER = optax.adam(1e-2)


class FitState(NamedTuple):
    """Everything a fit needs to resume: a pytree of arrays.

    Attributes:
      unconstrained: z, with η = natural_domain.forward(z).
      opt_state: the optax optimizer's state.
      seed: the seed of the minibatch order (drawn from the fit's key).
      step: steps taken so far, over every call that resumed this state.
      epoch: the current epoch; its order is a permutation seeded by
        (seed, epoch), so an interrupted fit resumes the same sequence.
      position: batches of the current epoch already used by the steps taken
        (not those read ahead), so a fit stopped after any number of steps
        (by ``num_steps``, ``tol`` or a callback) resumes the same sequence.
    """

    unconstrained: PyTree
    opt_state: PyTree
    seed: jax.Array
    step: jax.Array
    epoch: jax.Array
    position: jax.Array


class FitHistory(NamedTuple):
    """Per-step records: the minibatch's mean negative log-likelihood and the
    Euclidean norm of its residual ū − ∇A(η) (at the parameters before the
    step); when ``tol`` stopped the fit, the last record is the evaluation
    that met it, which takes no step. For a conditional model: the mean
    penalized objective and the norm of its gradient in the model
    parameters."""

    nll: np.ndarray
    residual_norm: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of :func:`fit`. Compared and hashed by identity (its fields
    hold arrays, whose ``==`` is elementwise).

    Attributes:
      natural: the fitted natural parameter η (None for a conditional model).
      params: conventional parameters (``family.params_from``), or None for a
        family without a conventional parameterization; for a conditional
        model, the fitted model parameters.
      history: per-step :class:`FitHistory`.
      converged: whether the residual norm fell below ``tol`` (False without
        ``tol``).
      num_steps: steps taken by this call (not counting the evaluation that
        met ``tol``).
      state: the :class:`FitState` to resume from (``fit(..., init=result)``).
      family: the family or conditional model fitted (None where unknown), so
        that ``init=result`` can refuse a result of another family.
    """

    natural: PyTree
    params: PyTree
    history: FitHistory
    converged: bool
    num_steps: int
    state: FitState
    family: Any = None


def _attach_state(error: BaseException, state: FitState) -> None:
    """Gives an exception that stops a fit (Ctrl-C, a bad batch in a stream, a
    failing callback) the last whole state, ``error.fit_state``, from which
    ``fit(..., init=error.fit_state)`` resumes: nothing done is lost."""
    try:
        error.fit_state = state  # type: ignore[attr-defined]
        step = int(state.step)
    except Exception:  # no attributes on this type, or no device to read
        return
    if hasattr(error, "add_note"):  # Python >= 3.11
        error.add_note(
            f"expfam.fit stopped after step {step}; resume with "
            "fit(..., init=error.fit_state)"
        )


@dataclasses.dataclass(frozen=True)
class _SavedKey:
    """A typed PRNG key array on the host (an optimizer's state may hold one,
    as ``optax.add_noise`` does): its raw data and the name of its impl."""

    data: np.ndarray
    impl: str


def _to_host(leaf: Any) -> Any:
    if isinstance(leaf, NaturalGradientState):
        # No arrays, and its family may not pickle (an ef.family of lambdas):
        # saved empty, it is rebuilt by init when the fit resumes.
        return optax.EmptyState()
    dtype = getattr(leaf, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        data = np.asarray(jax.random.key_data(leaf))
        return _SavedKey(data, str(jax.random.key_impl(leaf)))
    return np.asarray(leaf)


def _from_host(leaf: Any) -> Any:
    if isinstance(leaf, _SavedKey):
        return jax.random.wrap_key_data(jnp.asarray(leaf.data), impl=leaf.impl)
    return jnp.asarray(leaf)


def save_state(path: str, state: FitState | FitResult, *, family: Any = None) -> None:
    """Writes a fit state (or a result's state) to ``path`` (a pickle of numpy
    arrays, typed PRNG keys as their raw data: no JAX objects, loadable on
    any machine), with the repr of the family fitted: a result's own, or
    ``family`` given here (for a bare state, e.g. a callback's
    ``info["state"]``), so that :func:`load_state` can refuse the file for
    another family."""
    if isinstance(state, FitResult):
        family = state.family if family is None else family
        state = state.state
    host = jax.tree_util.tree_map(
        _to_host, state, is_leaf=lambda n: isinstance(n, NaturalGradientState)
    )
    record = {"fit_state": host, "family": None if family is None else repr(family)}
    with open(path, "wb") as f:
        pickle.dump(record, f)


def load_state(path: str, family: Any = None) -> FitState:
    """Reads a state written by :func:`save_state`; pass it as ``fit(init=...)``.

    With ``family``, a file saved for a family of another repr (``Normal()``
    against ``Gamma()``, ``Wishart(d=3)`` against ``Wishart(d=4)``) raises a
    ``ValueError``; without it, or for a file that recorded none, ``fit``
    checks only the state's shapes against the family it is given.

    The file is a pickle: load only files you trust (unpickling can run
    code)."""
    with open(path, "rb") as f:
        try:
            record = pickle.load(f)
        except Exception as error:  # not a pickle, truncated, or foreign classes
            raise ValueError(
                f"{path} does not hold an expfam FitState ({type(error).__name__})"
            ) from error
    if isinstance(record, FitState):  # written before the family was recorded
        record = {"fit_state": record, "family": None}
    host = record.get("fit_state") if isinstance(record, dict) else None
    if not isinstance(host, FitState):
        raise ValueError(f"{path} does not hold an expfam FitState")
    saved_for = record.get("family")
    if family is not None and saved_for is not None and saved_for != repr(family):
        raise family_error(
            family, f"load_state: {path} holds a fit state of {saved_for}"
        )
    return jax.tree_util.tree_map(
        _from_host, host, is_leaf=lambda leaf: isinstance(leaf, _SavedKey)
    )


# --------------------------------------------------------------------------- #
# The step
# --------------------------------------------------------------------------- #


def _moment_totals(
    family: ExponentialFamily, xs: jax.Array, weights: jax.Array | None
) -> tuple[tuple[PyTree, jax.Array], jax.Array]:
    """((Σ w u, Σ w log h), Σ w) of a batch."""
    total, count = _stats.weighted_sums(family, xs, weights)
    if not _overrides(family, "log_base_measure"):
        return (total, jnp.zeros((), leaf_dtype(total))), count
    log_h = jax.vmap(family.log_base_measure)(xs)
    if weights is not None:
        w = weights.astype(log_h.dtype)
        log_h = jnp.where(w != 0, w * log_h, 0)
    return (total, jnp.sum(log_h)), count


def _batch_moments(
    family: ExponentialFamily, xs: jax.Array, weights: jax.Array | None
) -> tuple[PyTree, jax.Array]:
    """(ū, mean log h) of one minibatch: all that the mean NLL
    L(η) = A(η) − ⟨η, ū⟩ − mean log h needs of the data."""
    totals, count = _moment_totals(family, xs, weights)
    return jax.tree_util.tree_map(lambda t: t / count, totals)


@functools.partial(jax.jit, static_argnums=0)
def _chunk_moment_totals(
    family: ExponentialFamily,
    xs: jax.Array,
    weights: jax.Array | None,
    center: None,
) -> tuple[tuple[PyTree, jax.Array], jax.Array]:
    """``_moment_totals`` as ``_stats.chunked_average`` calls its ``sums``
    (full-batch summaries are not centred)."""
    del center
    return _moment_totals(family, xs, weights)


def _objective_at(
    family: ExponentialFamily, z: PyTree, u_bar: PyTree, mean_log_h: jax.Array
) -> tuple[PyTree, jax.Array, jax.Array]:
    """(gradient in z, mean NLL, residual norm) at z = f⁻¹(η)."""
    eta, pullback = jax.vjp(family.natural_domain.forward, z)
    log_partition, grad_a = jax.value_and_grad(family.log_partition)(eta)
    residual = tree_sub(u_bar, grad_a)
    nll = log_partition - tree_vdot(eta, u_bar) - mean_log_h
    (grad_z,) = pullback(jax.tree_util.tree_map(jnp.negative, residual))
    norm = jnp.sqrt(tree_vdot(residual, residual))
    return grad_z, nll, norm


def _objective_parts(
    family: ExponentialFamily, z: PyTree, moments: tuple[PyTree, jax.Array]
) -> tuple[PyTree, jax.Array, jax.Array, Callable[[PyTree], jax.Array]]:
    """(gradient in z, mean NLL, residual norm, the NLL as a function of z)
    for a batch's (ū, mean log h). The function (an optimizer's line search
    calls it, as ``value_fn``) reuses them: no further pass over the data."""
    grad_z, nll, norm = _objective_at(family, z, *moments)

    def value_fn(other: PyTree) -> jax.Array:
        return _objective_at(family, other, *moments)[1]

    return grad_z, nll, norm, value_fn


_HALVINGS = 30


def _finite_step(
    family: ExponentialFamily, z: PyTree, updates: PyTree
) -> tuple[PyTree, jax.Array]:
    """(z + t·updates, accepted) for the largest t in 1, 1/2, 1/4, … whose
    η = f(z) is finite and numerically in the domain, with A(η) and ∇A(η)
    finite.

    η = f(z) is in the natural domain for every finite z, but a huge step (sgd
    with learning rate 50, say) can overflow f or A. Such a step is shrunk
    rather than taken; if no shrunk step is finite (an update that is itself
    inf or NaN, say), z stays where it is and ``accepted`` is False, so the
    caller keeps its optimizer state too.
    """

    def finite(candidate: PyTree) -> jax.Array:
        eta = family.natural_domain.forward(candidate)
        value, grad = jax.value_and_grad(family.log_partition)(eta)
        return _all_finite((eta, value, grad)) & family._contains(eta)

    def shrunk(_: PyTree) -> tuple[PyTree, jax.Array]:
        dtype = jax.tree_util.tree_leaves(z)[0].dtype
        ts = 0.5 ** jnp.arange(1, _HALVINGS, dtype=dtype)
        # The candidates are formed once and the accepted one is taken from
        # them, bit for bit the z that was checked (recomputing z + t·updates
        # may round differently, and near the domain's edge one ulp matters).
        step = jax.vmap(lambda t: optax.apply_updates(z, tree_scale(updates, t)))
        candidates = step(ts)
        ok = jax.vmap(finite)(candidates)
        accepted = jnp.any(ok)
        first = jnp.argmax(ok)
        new = jax.tree_util.tree_map(lambda c: c[first], candidates)
        return tree_select(accepted, new, z), accepted

    # The whole step is checked alone first: it is almost always taken, and
    # checking all the halvings at once cost every step of a
    # MultivariateNormal(30) fit 3x its time.
    whole = optax.apply_updates(z, updates)
    return jax.lax.cond(finite(whole), lambda w: (w, jnp.asarray(True)), shrunk, whole)


def _finite_update(z: PyTree, updates: PyTree) -> tuple[PyTree, jax.Array]:
    """(z + updates, True), or (z, False) where z + updates is not finite
    (conditional models)."""
    new = optax.apply_updates(z, updates)
    accepted = _all_finite(new)
    return tree_select(accepted, new, z), accepted


def _trailing(flags: np.ndarray) -> int:
    """How many of ``flags`` are True at its end, in a row."""
    return int(np.argmin(flags[::-1])) if not flags.all() else flags.size


def _warn_if_stuck(family: Any, stuck: int, nll: np.ndarray) -> None:
    """Warns where the fit ended standing still somewhere worse than it had
    been: its last steps were refused (each update, even shrunk
    2^-_HALVINGS-fold, overflowed η, A(η) or θ) or rounded away against huge
    coordinates (sgd(50) on a Normal: after two steps the NLL was 2.9e15 at
    variance 9e-16, for good). One such step among moving ones is no matter;
    nor is a fit that stands still at its best point (a converged adam's
    updates round away too)."""
    if not (nll.size and stuck >= min(2, nll.size)):
        return
    best, last = np.nanmin(nll) if np.isfinite(nll).any() else np.nan, nll[-1]
    if np.isfinite(last) and not last > best + 1e-3 * (abs(best) + 1):
        return
    warnings.warn(
        f"fit({family!r}): the last {stuck} steps did not move the parameters "
        f"(each update overflowed the model, or rounded away against "
        f"coordinates already huge), at a mean negative log-likelihood of "
        f"{last:.6g} against {best:.6g} earlier in the fit: the learning rate "
        "is too large for the data's scale; lower it, or start elsewhere "
        "(init=)",
        RuntimeWarning,
        stacklevel=3,
    )


def _warn_if_overflowed(model: ConditionalModel, nll: np.ndarray) -> bool:
    """Warns where a conditional model's fit ended at an objective that is not
    finite. Its steps are refused only where θ itself is not finite: whether
    the objective overflows at the new θ depends on the inputs, and checking
    it would cost a forward pass per step (a Poisson GLM fit 16 % slower).
    Once it overflows, every later gradient is NaN and refused, so the fit
    stays where it overflowed."""
    if nll.size and not np.isfinite(nll[-1]):
        first = int(np.argmax(~np.isfinite(nll)))
        warnings.warn(
            f"fit({model!r}): the minibatch objective is not finite since step "
            f"{first} of this call, and the fit stayed there: a step overflowed "
            "the model (a learning rate too large for the data's scale?); lower "
            "the learning rate, or start elsewhere (init=)",
            RuntimeWarning,
            stacklevel=3,
        )
        return True
    return False


def _step_functions(config: _Config) -> tuple[Callable, Callable, Callable]:
    """(batch summary, objective parts, step) for the model: the one place the
    unconditional and conditional fits differ inside the compiled loop.

    The summary is all that the objective needs of a batch: (ū, mean log h)
    for a family, so a full-batch fit takes it once (``_summarizer``) rather
    than once per step; the batch itself for a conditional model.
    """
    model = config.family

    def constrained(xs: Any) -> Any:
        if config.batch_sharding is None:
            return xs
        return jax.lax.with_sharding_constraint(xs, config.batch_sharding)

    if isinstance(model, ConditionalModel):

        def parts(z: PyTree, summary: tuple[Any, Any]) -> Any:
            batch, weights = summary

            def value_fn(other: PyTree) -> jax.Array:
                return model._objective_parts(other, batch, config.num_rows, weights)[1]

            grad, value, norm = model._objective_parts(
                z, batch, config.num_rows, weights
            )
            return grad, value, norm, value_fn

        return (lambda xs, weights: (constrained(xs), weights)), parts, _finite_update

    def summary(xs: jax.Array, weights: jax.Array | None) -> Any:
        return _batch_moments(model, constrained(xs), weights)

    return (
        summary,
        functools.partial(_objective_parts, model),
        functools.partial(_finite_step, model),
    )


def _take_rows(data: PyTree, rows: jax.Array) -> PyTree:
    return jax.tree_util.tree_map(lambda a: jnp.take(a, rows, axis=0), data)


@dataclasses.dataclass(frozen=True)
class _Config:
    family: ExponentialFamily | ConditionalModel
    optimizer: optax.GradientTransformation
    batch_size: int
    chunk: int
    batch_sharding: Any
    num_rows: int = 0  # n of a conditional model's data (scales its penalty)
    rows: int = 0  # rows that in-memory minibatches are drawn from (_shuffle)


def _chunk_runner(config: _Config) -> Callable:
    """The compiled chunk runner for ``config``, cached across ``fit`` calls."""
    try:
        return _cached_runner(config)
    except TypeError:  # an unhashable optimizer (the family is checked in fit)
        return _make_chunk_runner(config)


@functools.lru_cache(maxsize=64)
def _cached_runner(config: _Config) -> Callable:
    return _make_chunk_runner(config)


def _summarizer(config: _Config) -> Callable:
    """The compiled summary of the whole data for full-batch steps (see
    ``_step_functions``), cached like the runner."""
    try:
        return _cached_summarizer(config)
    except TypeError:  # an unhashable optimizer, as in _chunk_runner
        return _make_summarizer(config)


@functools.lru_cache(maxsize=64)
def _cached_summarizer(config: _Config) -> Callable:
    return _make_summarizer(config)


def _make_summarizer(config: _Config) -> Callable:
    return jax.jit(functools.partial(_step_functions(config)[0], weights=None))


def _make_chunk_runner(config: _Config) -> Callable:
    """A jitted function running ``config.chunk`` steps with ``lax.scan``."""
    optimizer = config.optimizer
    summarize, objective_parts, finite_step = _step_functions(config)

    def apply(state: FitState, summary: Any, tol: jax.Array):
        grad_z, nll, norm, value_fn = objective_parts(state.unconstrained, summary)
        # optax's convention: transformations with extra arguments take these
        # by name and ignore the ones they do not use (a line search, as in
        # optax.lbfgs, uses all three).
        extra = (
            {"value": nll, "grad": grad_z, "value_fn": value_fn}
            if isinstance(optimizer, optax.GradientTransformationExtraArgs)
            else {}
        )
        updates, opt_state = optimizer.update(
            grad_z, state.opt_state, state.unconstrained, **extra
        )
        # A rejected step (no finite update) keeps the optimizer state as well:
        # one inf gradient must not put NaN into adam's moments for good.
        z, accepted = finite_step(state.unconstrained, updates)
        # The evaluation whose residual meets ``tol`` ends the fit where it was
        # measured: no update (adam's would still be of the learning rate's
        # size), and it is not counted as a step, so the batch is still next.
        met = norm < tol
        accepted &= ~met
        z = tree_select(accepted, z, state.unconstrained)
        opt_state = tree_select(accepted, opt_state, state.opt_state)
        # A step that should have moved the fit and did not (a zero update,
        # at a stationary point, is no such step).
        moved = tree_any(jax.tree_util.tree_map(jnp.not_equal, z, state.unconstrained))
        nonzero = tree_any(jax.tree_util.tree_map(lambda u: u != 0, updates))  # NaN too
        still = ~met & ~moved & nonzero
        state = state._replace(
            unconstrained=z,
            opt_state=opt_state,
            step=state.step + jnp.where(met, 0, 1).astype(state.step.dtype),
        )
        return state, nll, norm, met, still

    def run(state: FitState, data: Any, batches: Any, limit: jax.Array, tol: jax.Array):
        """``batches``: (index rows, None) into ``data``, (xs, weights) stacked
        host batches, or None for full-batch steps, where ``data`` is the
        whole data's summary (``_summarizer``): taken once per fit."""

        def body(carry, batch):
            state, done = carry

            def take_step(s: FitState):
                if batches is None:
                    return apply(s, data, tol)
                if data is not None:
                    keys, first = batch[0]
                    rows = _shuffle.permuted_rows(
                        keys, first, config.batch_size, config.rows
                    )
                    return apply(s, summarize(_take_rows(data, rows), None), tol)
                return apply(s, summarize(batch[0], batch[1]), tol)

            def skip(s: FitState):
                dtype = jax.tree_util.tree_leaves(s.unconstrained)[0].dtype
                nan = jnp.asarray(jnp.nan, dtype)
                return s, nan, nan, jnp.asarray(False), jnp.asarray(False)

            active = ~done & (state.step < limit)
            state, nll, norm, met, still = jax.lax.cond(active, take_step, skip, state)
            done = done | ~active | met
            return (state, done), (nll, norm, active, met, still)

        length = config.chunk if batches is None else None
        (state, _), records = jax.lax.scan(
            body, (state, jnp.asarray(False)), batches, length=length
        )
        return state, records

    return jax.jit(run)


# --------------------------------------------------------------------------- #
# Data sources
# --------------------------------------------------------------------------- #


def _stack_batches(
    batches: list[PyTree], batch_size: int, chunk: int
) -> tuple[PyTree, np.ndarray]:
    """Pads ≤ ``chunk`` host batches (arrays, or pytrees of arrays with the
    rows on axis 0) to (chunk, batch_size, ...) with 0/1 row weights. Short
    batches repeat their first row and unused slots the last batch, all with
    weight 0 (the step limit skips unused slots)."""

    def stack(*leaves: np.ndarray) -> np.ndarray:
        dtype = np.result_type(*[a.dtype for a in leaves])
        out = np.empty((chunk, batch_size, *leaves[0].shape[1:]), dtype)
        for i in range(chunk):
            a = leaves[min(i, len(leaves) - 1)]
            out[i, : a.shape[0]] = a
            out[i, a.shape[0] :] = a[:1]
        return out

    w = np.zeros((chunk, batch_size), np.float32)
    for i, batch in enumerate(batches):
        w[i, : jax.tree_util.tree_leaves(batch)[0].shape[0]] = 1.0
    return jax.tree_util.tree_map(stack, *batches), w


class _Prefetcher:
    """Produces chunks of host batches in a background thread, one ahead: the
    next chunk is produced while the current one runs, and no further (an
    iterator is read no further ahead than that)."""

    def __init__(self, produce: Callable[[], Any], stop: threading.Event) -> None:
        self._produce = produce
        # jax's x64 switch is thread-local under ``jax.enable_x64(...)``: the
        # worker takes the caller's, so its checks see the caller's dtypes.
        # (jax.config registers its options as attributes at run time.)
        self._x64 = bool(cast(Any, jax.config).jax_enable_x64)
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._taken = threading.Semaphore(0)  # released when an item is taken
        self._stop = stop
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                with jax.enable_x64(self._x64):
                    item = self._produce()
            except BaseException as error:
                self._queue.put(error)
                return
            self._queue.put(item)
            if item is None:
                return
            self._taken.acquire()  # produce the next only once this one is taken

    def get(self) -> Any:
        item = self._queue.get()
        self._taken.release()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stops the worker and waits for it: a user's iterator (``_Stoppable``)
        ends at its next item, so a fit resumed on the same iterator is its
        only reader (a generator read by the stopped fit's worker raised
        "generator already executing" in the resumed one)."""
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            self._queue.get_nowait()
        self._taken.release()  # wakes a worker waiting for its item's taker
        self._thread.join()


class _Stoppable:
    """A user's iterator that ends once ``stop`` is set (see
    ``_Prefetcher.close``)."""

    def __init__(self, items: Iterator, stop: threading.Event) -> None:
        self._items, self._stop = items, stop

    def __iter__(self) -> _Stoppable:
        return self

    def __next__(self) -> Any:
        if self._stop.is_set():
            raise StopIteration
        return next(self._items)


class _EpochPlan:
    """The minibatch order, planned on the host and reproducible from a seed.

    Epoch e visits the data in an order drawn from ``numpy`` seeded by
    (seed, e): rows in a random permutation (``rows=True``, in-memory data,
    gathered on device; the plan gives each batch the epoch's keys and its
    first position, and the device computes its rows, see
    :mod:`expfam._shuffle`), or contiguous batch-sized blocks in a random
    order after a random offset (``rows=False``, host arrays and memmaps:
    slicing only). A partial last batch of an epoch is dropped. The plan
    advances (epoch, position) exactly as the state records them, so a
    resumed fit continues the same sequence.
    """

    def __init__(
        self, n: int, batch_size: int, seed: int, epoch: int, position: int, rows: bool
    ) -> None:
        self.n, self.batch_size, self.seed, self.rows = n, batch_size, seed, rows
        self.per_epoch = max(1, n // batch_size)
        self.epoch, self.position = epoch, position
        self._epoch_loaded = -1
        self._order = np.zeros(0, np.int64)  # rows=False: the blocks' order
        self._keys = np.zeros(0, np.uint32)  # rows=True: the permutation's keys
        self._offset = 0

    def _load(self) -> None:
        if self._epoch_loaded == self.epoch:
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.rows:
            self._keys = _shuffle.epoch_keys(rng)
        else:
            spare = self.n - self.per_epoch * self.batch_size
            self._offset = int(rng.integers(0, spare + 1))
            self._order = rng.permutation(self.per_epoch)
        self._epoch_loaded = self.epoch

    def _advance(self) -> int:
        """The next minibatch's position in its epoch's order."""
        if self.position >= self.per_epoch:
            self.epoch, self.position = self.epoch + 1, 0
        self._load()
        i = self.position
        self.position += 1
        return i

    def after(self, start: tuple[int, int], used: int) -> tuple[int, int]:
        """(epoch, position) after ``used`` batches taken from ``start``, as
        ``_advance`` would leave them: what a fit that stopped there records,
        however far the prefetching producer has read ahead."""
        epoch, position = start
        if used == 0:
            return epoch, position
        if position >= self.per_epoch:  # _advance rolls over before taking
            epoch, position = epoch + 1, 0
        taken = position + used - 1
        return epoch + taken // self.per_epoch, taken % self.per_epoch + 1

    def next_rows(self) -> tuple[np.ndarray, int]:
        """The next minibatch's rows (a ``rows=True`` plan), as the keys of
        its epoch's permutation and the batch's first position in it."""
        i = self._advance()
        return self._keys, i * self.batch_size

    def next_block(self) -> slice:
        """The next minibatch's contiguous block (a ``rows=False`` plan)."""
        i, b = self._advance(), self.batch_size
        start = self._offset + int(self._order[i]) * b
        return slice(start, start + b)


def _row_index_source(plan: _EpochPlan, chunk: int, steps: int) -> Callable[[], Any]:
    """Chunks of batch rows as (permutation keys, first positions), ``steps``
    batches in all (the last chunk's unused slots repeat its last batch; the
    step limit skips them)."""
    left = [steps]

    def produce() -> Any:
        if left[0] <= 0:
            return None
        start, used = (plan.epoch, plan.position), min(chunk, left[0])
        left[0] -= used
        rows = [plan.next_rows() for _ in range(used)]
        rows += rows[-1:] * (chunk - used)
        keys = np.stack([k for k, _ in rows])
        positions = np.array([p for _, p in rows], np.int32)
        return ((keys, positions), None), used, start

    return produce


def _host_summary(family: ExponentialFamily, data: np.ndarray, device: Any) -> Any:
    """(ū, mean log h) of a host array for full-batch steps: one streamed
    pass (``_stats.chunked_average``, in blocks of ``_stats.CHUNK_ROWS`` rows,
    each checked as the minibatch blocks are). Full-batch steps then never
    hold the data on the device, however large it is."""
    n = data.shape[0]
    rows = min(n, _stats.CHUNK_ROWS)

    def check(block: np.ndarray, weights: None, index: int) -> None:
        start = index * rows
        family._check("batch", f"data[{start}:{start + len(block)}]", block)

    blocks = ((np.asarray(data[i : i + rows]), None) for i in range(0, n, rows))
    summary, _ = _stats.chunked_average(
        family, blocks, rows=rows, check=check, sums=_chunk_moment_totals, device=device
    )
    return summary


def _host_block_source(
    family: ExponentialFamily,
    data: np.ndarray,
    plan: _EpochPlan,
    chunk: int,
    steps: int,
) -> Callable[[], Any]:
    """Chunks of contiguous host blocks, ``steps`` batches in all."""
    left = [steps]

    def block() -> np.ndarray:
        where = plan.next_block()
        values = np.asarray(data[where])
        family._check("batch", f"data[{where.start}:{where.stop}]", values)
        return values

    def produce() -> Any:
        if left[0] <= 0:
            return None
        start, used = (plan.epoch, plan.position), min(chunk, left[0])
        left[0] -= used
        batches = [block() for _ in range(used)]
        return _stack_batches(batches, plan.batch_size, chunk), used, start

    return produce


def _chunks_of(
    owner: Any,
    batches: Iterator,
    batch_size: int,
    chunk: int,
    steps: int,
    host_batch: Callable[[Any, int], PyTree],
) -> Callable[[], Any]:
    """Chunks of ≤ ``chunk`` iterator batches, each checked and brought to the
    host by ``host_batch(item, index)`` (a pytree of arrays, rows on axis 0),
    then padded and stacked. At most ``steps`` batches are read in all, so a
    fit of n steps takes n items from the iterator and no more; the fit ends
    when the iterator is exhausted."""
    count = [0]

    def produce() -> Any:
        taken: list[PyTree] = []
        want = min(chunk, steps - count[0])
        while len(taken) < want:
            try:
                item = next(batches)
            except StopIteration:
                break
            block = host_batch(item, count[0])
            rows = jax.tree_util.tree_leaves(block)[0].shape[0]
            if rows > batch_size:
                raise family_error(
                    owner,
                    f"iterator batch {count[0]} has {rows} rows, more than "
                    f"batch_size={batch_size}",
                )
            count[0] += 1
            taken.append(block)
        if not taken:
            return None
        return _stack_batches(taken, batch_size, chunk), len(taken), None

    return produce


def _iterator_source(
    family: ExponentialFamily,
    batches: Iterator,
    batch_size: int,
    chunk: int,
    steps: int,
) -> Callable[[], Any]:
    def host_batch(item: Any, index: int) -> np.ndarray:
        family._require_real(f"iterator batch {index}", item)
        block = np.asarray(item)
        if block.ndim == len(family.event_shape):
            raise family_error(family, "each item of the iterator must be a batch")
        family._check("batch", f"iterator batch {index}", block)
        return block

    return _chunks_of(family, batches, batch_size, chunk, steps, host_batch)


def _pairs_source(
    model: ConditionalModel,
    batches: Iterator,
    batch_size: int,
    chunk: int,
    steps: int,
) -> Callable[[], Any]:
    """(inputs, targets) batches for a conditional model."""

    def host_batch(item: Any, index: int) -> PyTree:
        try:
            model._check_data(item)
        except ValueError as error:
            raise ValueError(f"iterator batch {index}: {error}") from error
        return jax.tree_util.tree_map(np.asarray, (item[0], item[1]))

    return _chunks_of(model, batches, batch_size, chunk, steps, host_batch)


# --------------------------------------------------------------------------- #
# fit
# --------------------------------------------------------------------------- #


def _resolve_devices(family: Any, devices: Any) -> list:
    """The devices ``devices=`` names: None (all local devices), an int n >= 1
    (the first n), one ``jax.Device``, or an iterable of them."""
    if devices is None:
        return list(jax.local_devices())
    if isinstance(devices, jax.Device):
        return [devices]
    if is_int(devices):
        local = list(jax.local_devices())
        if not 1 <= devices <= len(local):
            raise family_error(
                family,
                f"fit: devices={devices!r} must be between 1 and the {len(local)} "
                "local devices",
            )
        return local[: int(devices)]
    if isinstance(devices, Iterable) and not isinstance(devices, (str, bytes)):
        chosen = list(devices)
        if all(isinstance(d, jax.Device) for d in chosen):
            return chosen
    raise family_error(
        family,
        f"fit: devices={devices!r} is not an int >= 1, a jax.Device or a list of "
        "them (e.g. jax.devices('cpu'))",
    )


def _stops(value: Any) -> bool:
    """Whether a callback's return value asks to stop: a true boolean-like
    scalar (True, ``np.True_``, a 0-d bool or integer array, a nonzero int).
    Anything else (None, a dict, a float) goes on."""
    if isinstance(value, (bool, int, np.bool_, np.integer)):
        return bool(value)
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == ():
        kind = np.dtype(value.dtype)
        return (kind == np.bool_ or np.issubdtype(kind, np.integer)) and bool(value)
    return False


@functools.partial(jax.jit, static_argnums=0)
def _unconstrained(family: ExponentialFamily, eta: Any) -> Any:
    """z = f⁻¹(η) (η default: ``default_natural()``), compiled once per family
    (families are hashable: fit checks): op by op, a matrix domain's inverse
    is dozens of small dispatches."""
    if eta is None:
        eta = family.default_natural()
    return family.natural_domain.inverse(eta)


def _shapes(tree: PyTree) -> tuple[Any, list[tuple[tuple[int, ...], Any]]]:
    """(tree structure, [(shape, dtype) per leaf]): what must match for a
    saved pytree to stand in for a freshly built one."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    leaves = [x if hasattr(x, "dtype") else jnp.asarray(x) for x in leaves]
    return treedef, [(tuple(x.shape), x.dtype) for x in leaves]


def _preconditioned_for(
    optimizer: optax.GradientTransformation,
    family: ExponentialFamily | ConditionalModel,
) -> ExponentialFamily | None:
    """The family of a :func:`expfam.natural_gradient` in the optimizer
    (alone or inside an ``optax.chain``), read from the state its ``init``
    gives for this fit's parameters (traced, nothing computed); None where
    there is none. Parameters without a template to trace (a conditional
    model's, at times) and an ``init`` that cannot be traced fall back to the
    tag on ``natural_gradient``'s own update function."""
    tag = getattr(optimizer.update, "expfam_family", None)
    shapes = _parameter_shapes(family)
    if shapes is None:
        return tag
    try:
        state = jax.eval_shape(optimizer.init, shapes)
    except jax.errors.JAXTypeError:
        return tag  # an init that needs concrete parameters: fit runs it later
    found = [
        node.family
        for node in jax.tree_util.tree_leaves(
            state, is_leaf=lambda node: isinstance(node, NaturalGradientState)
        )
        if isinstance(node, NaturalGradientState)
    ]
    return next((f for f in found if f != family), found[0] if found else None)


def _parameter_shapes(family: ExponentialFamily | ConditionalModel) -> PyTree | None:
    """The structure and shapes (``ShapeDtypeStruct``s) of the parameters the
    fit optimizes: z for a family; θ for a conditional model, or None where
    it has no default parameters to compare with."""
    if isinstance(family, ConditionalModel):
        return family._parameter_template()
    return jax.eval_shape(family.natural_domain.inverse, family.natural_shape)


def _as_dtype(tree: PyTree, old: Any, new: Any) -> PyTree:
    """``tree`` with its leaves of dtype ``old`` cast to ``new``."""
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(x).astype(new) if jnp.result_type(x) == old else x,
        tree,
    )


def _resumed_state(
    family: ExponentialFamily | ConditionalModel,
    optimizer: optax.GradientTransformation,
    state: FitState,
) -> FitState:
    """``state`` checked against ``family`` and fitted to ``optimizer``."""
    z = state.unconstrained
    expected = _parameter_shapes(family)
    if expected is not None and not same_shapes(expected, z):
        (want_tree, want), (got_tree, got) = _shapes(expected), _shapes(z)
        raise family_error(
            family,
            f"fit: init= holds parameters of structure {got_tree} with shapes "
            f"{[s for s, _ in got]}, but this fit optimizes {want_tree} with "
            f"shapes {[s for s, _ in want]}: a state of another family or model",
        )
    opt_state = state.opt_state
    if not isinstance(family, ConditionalModel):
        old, new = leaf_dtype(z), leaf_dtype(family.natural_shape)
        if old != new:  # the family's dtype, as for a natural parameter init
            z, opt_state = _as_dtype(z, old, new), _as_dtype(opt_state, old, new)
    if _shapes(jax.eval_shape(optimizer.init, z)) != _shapes(opt_state):
        # Another optimizer's state (natural_gradient's or fisher_scoring's
        # EmptyState for adam, say): start this optimizer afresh at z.
        opt_state = optimizer.init(z)
    return state._replace(unconstrained=z, opt_state=opt_state)


def _initial_state(
    family: ExponentialFamily | ConditionalModel,
    optimizer: optax.GradientTransformation,
    init: Any,
    key: jax.Array,
) -> FitState:
    if isinstance(init, FitResult):
        if init.family is not None and not _same_model(init.family, family):
            raise family_error(
                family,
                f"fit: init= is a result of fitting {init.family!r}, which cannot "
                f"start a fit of {family!r}",
            )
        init = init.state
    if isinstance(init, FitState):
        return _resumed_state(family, optimizer, init)
    if isinstance(family, ConditionalModel):
        z = family.init(jax.random.fold_in(key, 1)) if init is None else init
        z = jax.tree_util.tree_map(jnp.asarray, z)
    else:
        if init is not None and is_concrete(init):
            init = family._check("natural", "init", init)
        if init is not None:  # η in the family's dtype, whatever init's float
            dtype = leaf_dtype(family.natural_shape)
            init = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), init)
        z = _unconstrained(family, init)
    seed = jax.random.randint(key, (), 0, jnp.iinfo(jnp.int32).max, jnp.int32)
    zero = jnp.asarray(0, jnp.int32)
    return FitState(
        unconstrained=z,
        opt_state=optimizer.init(z),
        seed=seed,
        step=zero,
        epoch=zero,
        position=zero,
    )


def _show_progress(progress: bool | None) -> bool | None:
    if progress is not None:
        return progress
    stream = sys.stderr
    return None if hasattr(stream, "isatty") and stream.isatty() else False


def fit(
    family: ExponentialFamily | ConditionalModel,
    data: Any,
    *,
    optimizer: optax.GradientTransformation | None = None,
    batch_size: int = 4096,
    num_steps: int = 1000,
    key: jax.Array | None = None,
    init: Any = None,
    tol: float | None = None,
    progress: bool | None = None,
    devices: Any = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
    chunk: int = 100,
) -> FitResult:
    """Fits ``family`` to ``data`` by maximum likelihood with an optax optimizer.

    Each step draws a minibatch, forms its residual ū − ∇A(η) in one pass, pulls
    it back to the domain's unconstrained coordinates with one vjp and applies
    the optimizer there. Steps run ``chunk`` at a time inside one compiled
    ``lax.scan``; nothing recompiles per step.

    Conditional models (:class:`expfam.GLM`, :class:`expfam.Conditional`) fit
    the same way: ``data`` is a pair ``(inputs, targets)`` of device-resident
    arrays (inputs may be a pytree of arrays) with the samples on axis 0, or an
    iterator of such pairs (each at most ``batch_size`` rows, one step per
    pair; a short pair is padded with weight-0 rows; a penalized model needs
    arrays, since its penalty R(θ)/n needs the data size n); each
    step's gradient is the per-sample residual u(y_i) − ∇A(η_i) pulled back
    through the predictor with one vjp (plus the model's penalty over n);
    ``init`` is the model parameters (default ``model.init``); the history
    records the mean penalized objective and the norm of its gradient in the
    parameters (what ``tol`` then bounds); ``result.params`` are the fitted
    parameters and ``result.natural`` is None.

    Args:
      family: any :class:`ExponentialFamily`, built in or user-defined, or a
        conditional model.
      data: a jax or numpy array with observations on axis 0 (minibatches are
        drawn without replacement within each epoch, by a permutation drawn from
        ``key``); a numpy memmap or a numpy array over 1 GiB, streamed from the
        host in contiguous batches visited in a random order each epoch, with
        the next chunk prefetched in a background thread; or an iterator of
        batches (each at most ``batch_size`` rows; one step per batch; the fit
        ends when it is exhausted). An iterator is read no further than
        ``num_steps`` items, so a fit resumed on the same iterator continues
        where the last one stopped; but an early stop (``tol``, a callback, an
        exception) drops the items already read and not used: the rest of
        the current chunk and the next chunk, read ahead in the background,
        at most ``2 * chunk - 1`` items (``chunk`` after a callback's stop).
      optimizer: an optax ``GradientTransformation``; default ``optax.adam(1e-2)``.
        :func:`expfam.natural_gradient` is Newton's method (for the family it
        was made for; another family or a conditional model raises).
        Transformations with extra arguments get optax's ``value`` (the
        minibatch objective), ``grad`` and ``value_fn`` (the objective as a
        function of the parameters, on the same minibatch), so line-search
        optimizers such as ``optax.lbfgs()`` work.
      batch_size: rows per step; at least the data size means full batch.
      num_steps: the most steps to take (with the steps a resumed state has
        taken, at most 2**31 - 1: the step counter is an int32).
      key: ``jax.random`` key for the minibatch order; default ``key(0)``.
      init: a starting natural parameter, a previous :class:`FitResult` or a
        :class:`FitState` (resume: the optimizer state, key and epoch position
        carry over). Default: the image of 0 under the domain bijection.
        η is computed in the family's dtype (float32, or float64 under
        ``jax_enable_x64``): an init or a state in another float dtype is
        cast to it. A result of fitting another family (for a conditional
        model: another kind of model or response family) raises a
        ``ValueError``, as does a state whose parameters have other shapes.
        A result or state whose optimizer state does not fit ``optimizer``
        (another tree structure, shapes or dtypes than
        ``optimizer.init(params)``: e.g. a :func:`expfam.natural_gradient` or
        :func:`expfam.fisher_scoring` result continued with adam) starts
        ``optimizer`` afresh at its parameters; step, seed and position
        carry over.
      tol: stop once a step's residual norm ‖ū − ∇A(η)‖ falls below ``tol``
        (with minibatches the residual includes sampling noise: use large
        batches or full batch for a tight ``tol``). That evaluation takes no
        step: the result is the η whose residual met ``tol`` (its norm is the
        history's last entry), and it is not counted in ``num_steps`` or the
        minibatch position, so a resumed fit goes on as one long run would.
      progress: a tqdm progress bar (steps, NLL, residual norm); default: shown
        when stderr is a terminal and the fit runs longer than ~2 s.
      devices: the devices to shard the data over (data-parallel, ū reduced
        across devices); default all local devices of the default backend; an
        int n >= 1 takes the first n; one ``jax.Device`` or a list of them
        names them. Anything else raises a ``ValueError``.
      callback: called after each chunk with a dict (``step``, ``nll``,
        ``residual_norm``, ``natural`` or, for a conditional model,
        ``params``, and ``state``, the :class:`FitState` to checkpoint with
        :func:`save_state`); returning a true boolean-like scalar (True,
        ``np.True_``, a 0-d bool or integer array, a nonzero int) stops the
        fit; None, False and any other value go on. An exception that
        stops a fit (Ctrl-C, a bad batch in a stream, a failing callback)
        carries the last whole state as ``error.fit_state``:
        ``fit(..., init=error.fit_state)`` resumes from it.
      chunk: steps per compiled scan (the logging interval).

    Returns:
      A :class:`FitResult`.

    Multi-host: call ``jax.distributed.initialize()`` first on every host and
    pass each host's shard of the data; the mesh then spans every process's
    devices and ū is reduced across hosts by the same sharded computation.
    """
    if not isinstance(family, (ExponentialFamily, ConditionalModel)):
        raise ValueError(
            "expfam.fit: the first argument must be a family or a conditional "
            f"model instance (e.g. ef.Normal()), got {family!r}"
        )
    if (problem := hashable_problem(family)) is not None:
        raise ValueError(f"fit: {type(family).__name__}: the family {problem}")
    optimizer = _DEFAULT_OPTIMIZER if optimizer is None else optimizer
    if not all(callable(getattr(optimizer, f, None)) for f in ("init", "update")):
        raise family_error(
            family,
            f"fit: optimizer={optimizer!r} is not an optax GradientTransformation "
            "(e.g. optax.adam(1e-2))",
        )
    metric = _preconditioned_for(optimizer, family)
    if metric is not None and (
        isinstance(family, ConditionalModel) or metric != family
    ):
        instead = (
            "ef.fisher_scoring(model, ...) is its natural-gradient solver"
            if isinstance(family, ConditionalModel)
            else f"use ef.natural_gradient({family!r})"
        )
        raise family_error(
            family,
            f"fit: optimizer=ef.natural_gradient({metric!r}) preconditions by "
            f"that family's Fisher information, not this model's; {instead}",
        )
    if (problem := key_problem(key)) is not None:
        raise family_error(family, f"fit: {problem}")
    key = jax.random.key(0) if key is None else key
    if not (is_int(chunk) and chunk >= 1):
        raise family_error(family, f"fit: chunk={chunk!r} must be an int >= 1")
    if tol is not None and not (
        np.ndim(tol) == 0
        and np.issubdtype(np.asarray(tol).dtype, np.number)
        and not isinstance(tol, (bool, np.bool_))
        and float(tol) >= 0
    ):
        raise family_error(family, f"fit: tol={tol!r} must be a number >= 0, or None")
    if not (is_int(batch_size) and batch_size >= 1):
        raise family_error(
            family, f"fit: batch_size={batch_size!r} must be an int >= 1"
        )
    if not (is_int(num_steps) and num_steps >= 0):
        raise family_error(family, f"fit: num_steps={num_steps!r} must be an int >= 0")
    chunk, batch_size, num_steps = int(chunk), int(batch_size), int(num_steps)
    tol_value = -math.inf if tol is None else float(tol)
    device_list = _resolve_devices(family, devices)
    if not device_list:
        raise family_error(family, f"fit: devices={devices!r} selects no device")
    mesh = Mesh(np.array(device_list), ("data",)) if len(device_list) > 1 else None
    row_sharding = NamedSharding(mesh, PartitionSpec("data")) if mesh else None
    # One device chosen by name: the state and in-memory data are put there,
    # and the compiled steps follow them (host batches included).
    single = device_list[0] if mesh is None and devices is not None else None

    state = _initial_state(family, optimizer, init, key)
    if single is not None:
        state = jax.device_put(state, single)
    seed, epoch, position = (int(state.seed), int(state.epoch), int(state.position))

    # ---- where the data lives ---------------------------------------------- #
    producer = None
    stop = threading.Event()  # ends the prefetching worker (_Prefetcher.close)
    plan: _EpochPlan | None = None  # the minibatch order of array data
    in_memory = None
    full = None  # the whole data's summary, for full-batch steps
    num_rows = 0
    conditional = isinstance(family, ConditionalModel)
    if not isinstance(family, ConditionalModel):
        data, _ = family._list_as_batch(data, None, "data")  # [x_1, ...]: a batch
    streamed_pairs = (
        conditional
        and isinstance(data, Iterable)
        and not isinstance(data, (tuple, list, np.ndarray, jax.Array))
    )
    if (
        streamed_pairs
        and isinstance(family, ConditionalModel)
        and family._has_penalty()
    ):
        raise family_error(
            family,
            "fit: an iterator gives no data size n, which scales the model's "
            "penalty R(θ)/n; pass (inputs, targets) arrays",
        )
    on_device = (conditional and not streamed_pairs) or (
        isinstance(data, (jax.Array, np.ndarray))
        and not (
            isinstance(data, np.memmap)
            or (isinstance(data, np.ndarray) and data.nbytes > _DEVICE_BYTES)
        )
    )
    if on_device:
        if isinstance(family, ConditionalModel):  # (inputs, targets), on device
            in_memory = family._check_data(data)
            if init is not None:
                family._check_params(state.unconstrained, in_memory[0], "fit")
        else:
            in_memory = family._check("batch", "data", data)
        num_rows = jax.tree_util.tree_leaves(in_memory)[0].shape[0]
        batch_size = min(batch_size, num_rows)
        if mesh is not None:
            pad = (-num_rows) % len(device_list)
            if pad:  # padding rows are never indexed
                in_memory = jax.tree_util.tree_map(
                    lambda a: jnp.concatenate([a, jnp.repeat(a[:1], pad, axis=0)]),
                    in_memory,
                )
            in_memory = jax.device_put(in_memory, row_sharding)
        elif single is not None:
            in_memory = jax.device_put(in_memory, single)
        if batch_size < num_rows:
            plan = _EpochPlan(num_rows, batch_size, seed, epoch, position, rows=True)
            producer = _row_index_source(plan, chunk, num_steps)
        elif mesh is not None and pad:
            in_memory = jax.tree_util.tree_map(lambda a: a[:num_rows], in_memory)
    elif isinstance(data, np.ndarray):
        # A conditional model's data is on device or streamed pairs: not here.
        assert not isinstance(family, ConditionalModel)
        if data.ndim < 1 or data.shape[1:] != family.event_shape:
            family._require_real("data", data[:1] if data.ndim else data)
            raise family_error(
                family,
                f"data has shape {data.shape}, but a batch must have shape "
                f"(n, *{family.event_shape}) with the batch on axis 0",
            )
        if data.shape[0] == 0:
            raise family_error(family, "fit: data is empty")
        batch_size = min(batch_size, data.shape[0])
        if batch_size < data.shape[0]:
            plan = _EpochPlan(
                data.shape[0], batch_size, seed, epoch, position, rows=False
            )
            producer = _host_block_source(family, data, plan, chunk, num_steps)
        else:
            full = _host_summary(family, data, single)
    elif streamed_pairs:
        assert isinstance(family, ConditionalModel)  # streamed_pairs says so
        items = _Stoppable(iter(data), stop)
        producer = _pairs_source(family, items, batch_size, chunk, num_steps)
        num_rows = 1  # scales a penalty; there is none (checked above)
    elif isinstance(data, Iterable):
        assert not isinstance(family, ConditionalModel)  # as for np.ndarray
        items = _Stoppable(iter(data), stop)
        producer = _iterator_source(family, items, batch_size, chunk, num_steps)
    else:
        raise family_error(family, f"fit: cannot fit to data of type {type(data)}")

    shard_batches = mesh is not None and batch_size % len(device_list) == 0
    config = _Config(
        family=family,
        optimizer=optimizer,
        batch_size=batch_size,
        chunk=chunk,
        batch_sharding=row_sharding if shard_batches else None,
        num_rows=num_rows if conditional else 0,
        rows=num_rows if plan is not None and plan.rows else 0,
    )
    runner = _chunk_runner(config)
    start_step = int(state.step)
    most = int(np.iinfo(np.int32).max)  # the step counter is an int32
    if start_step + num_steps > most:
        raise family_error(
            family,
            f"fit: num_steps={num_steps} after {start_step} steps exceeds the "
            f"step counter's range: at most {most - start_step}",
        )
    limit = jnp.asarray(start_step + num_steps, jnp.int32)
    tol_array = jnp.asarray(tol_value, jnp.result_type(float))

    nlls: list[np.ndarray] = []
    norms: list[np.ndarray] = []
    converged = False
    stuck = 0  # steps in a row, at the end so far, that did not move the fit
    bar = None
    show = _show_progress(progress)
    started = time.perf_counter()
    prefetch = _Prefetcher(producer, stop) if producer is not None else None
    try:
        while int(state.step) < start_step + num_steps and not converged:
            if prefetch is None:
                if full is None:
                    full = _summarizer(config)(in_memory)
                state, records = runner(state, full, None, limit, tol_array)
                nll, norm, active, met, still = (np.asarray(r) for r in records)
            else:
                item = prefetch.get()
                if item is None:
                    break
                (xs, w), used, start = item
                if w is None:  # rows of the device-resident data
                    batches = (jax.tree_util.tree_map(to_device, xs), None)
                else:
                    batches = jax.tree_util.tree_map(to_device, (xs, w))
                    if shard_batches:
                        assert mesh is not None  # shard_batches needs a mesh
                        spec = NamedSharding(mesh, PartitionSpec(None, "data"))
                        batches = jax.device_put(batches, spec)
                chunk_limit = jnp.minimum(limit, state.step + used)
                advanced, records = runner(
                    state, in_memory, batches, chunk_limit, tol_array
                )
                nll, norm, active, met, still = (np.asarray(r) for r in records)
                if plan is not None:
                    # The plan's position after the batches the steps used
                    # (not after those read ahead, or left by tol): a resumed
                    # fit continues the very same sequence. One assignment:
                    # an interruption leaves the last whole state.
                    epoch, position = plan.after(start, int((active & ~met).sum()))
                    advanced = advanced._replace(
                        epoch=jnp.asarray(epoch, jnp.int32),
                        position=jnp.asarray(position, jnp.int32),
                    )
                state = advanced
            nll, norm, still = nll[active], norm[active], still[active]
            stuck = stuck + still.size if still.all() else _trailing(still)
            nlls.append(nll)
            norms.append(norm)
            converged = bool(met.any())
            taken = norm.size - int(converged)  # the evaluation meeting tol is no step
            if show is None and time.perf_counter() - started > 2.0:
                show = True
            if show and bar is None:
                from tqdm.auto import tqdm

                bar = tqdm(total=num_steps, desc=f"fit {family!r}", unit="step")
                bar.update(int(state.step) - start_step - taken)
            if bar is not None and norm.size:
                bar.update(taken)
                bar.set_postfix(nll=f"{nll[-1]:.6g}", residual=f"{norm[-1]:.3g}")
            if callback is not None and norm.size:
                info = {
                    "step": int(state.step),
                    "nll": float(nll[-1]),
                    "residual_norm": float(norm[-1]),
                    "state": state,
                }
                if isinstance(family, ConditionalModel):
                    info["params"] = state.unconstrained
                else:
                    info["natural"] = family.natural_domain.forward(state.unconstrained)
                if _stops(callback(info)):
                    break
            if not active.any():
                break
    except BaseException as error:
        _attach_state(error, state)
        raise
    finally:
        if prefetch is not None:
            prefetch.close()
        if bar is not None:
            bar.close()

    if isinstance(family, ConditionalModel):
        natural, params = None, state.unconstrained
    else:
        natural = family.natural_domain.forward(state.unconstrained)
        params = family.params_from(natural) if family.param_names else None
    history = FitHistory(
        nll=np.concatenate(nlls) if nlls else np.zeros(0),
        residual_norm=np.concatenate(norms) if norms else np.zeros(0),
    )
    if not (
        isinstance(family, ConditionalModel)
        and _warn_if_overflowed(family, history.nll)
    ):
        _warn_if_stuck(family, stuck, history.nll)
    return FitResult(
        natural=natural,
        params=params,
        history=history,
        converged=converged,
        num_steps=int(state.step) - start_step,
        state=state,
        family=family,
    )
