"""Accurate, one-pass sums of sufficient statistics over a batch.

The average ū = (1/n) Σ u(x_i) is the only way the likelihood sees the data, so
this is the hot path of every fit. Three concerns live here:

* speed: the sum is taken through u's jaxpr (:class:`_SumPlan`) rather than over
  ``vmap(u)(xs)``. Linear steps of u (stacking, reshapes, scaling, sums) move
  outside the sum, and a product of two data-dependent factors becomes one
  contraction over the batch axis: Σ [x, x²] is Σx and Σx·x, two reductions XLA
  fuses with their elementwise inputs, and the multivariate normal's Σ x xᵀ is
  the matrix product Xᵀ X. No per-sample array of statistics is built;
* accuracy: a float32 running sum over 10^8 terms loses digits. Reductions are
  XLA's (blocked or tree-shaped on every backend), float32 contractions run on
  blocks of ``_BLOCK_ROWS`` samples whose partial products are summed, and data too
  large for one device call (numpy memmaps, iterables of chunks) are summed
  chunk by chunk with the chunk totals accumulated on the host in float64;
* one compile: chunks are padded to a fixed size and masked, so a long stream of
  chunks compiles the per-chunk reduction once (or once per power of two for
  ragged iterables).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import core as jex_core

from expfam._dtypes import leaf_dtype, to_device
from expfam._linalg import FULL_PRECISION
from expfam._validation import is_concrete

if TYPE_CHECKING:
    from expfam._family import ExponentialFamily

PyTree = Any

_BLOCK = 256
CHUNK_ROWS = 1 << 20
# Samples per partial product in a contraction over the batch (see _contract):
# the largest divisor of n up to _BLOCK_ROWS, if at least _MIN_BLOCK_ROWS, else
# n is padded. A float32 Xᵀ X over 2^23 samples in 8192-row blocks measured
# within 2e-7 of float64; 1024-row blocks made MultivariateNormal(10)'s Xᵀ X
# over 10^6 float64 rows 40% slower (measured while float64 products were
# blocked too; they no longer are, see _contract).
_BLOCK_ROWS = 8192
_MIN_BLOCK_ROWS = 256
# A computed value that several sums read (the log-normal's log x, read by
# Σ log x and Σ log² x; the von Mises' reduced angle, by Σ cos x and Σ sin x)
# is written to memory for the whole batch before the sums read it back:
# summed in blocks of this many numbers it stays in cache (2^23 float32
# samples: 27 -> 7.1 ms for the von Mises, 17.6 -> 6.8 for the log-normal). The
# same blocks made the sums of 18 other families 1.2-13x slower, hence only
# where a value is shared (_SumPlan.shares_a_computed_value).
_SHARED_BLOCK = 1 << 16
# Samples narrower than this many bytes are folded before a sum (_column_sum).
_FOLD_BYTES = 128

__all__ = ["CHUNK_ROWS", "blocked_sum", "chunked_average", "weighted_sums"]


def blocked_sum(values: jax.Array) -> jax.Array:
    """Sums over axis 0 as a tree of partial sums with fan-in ``_BLOCK``.

    Each level sums at most ``_BLOCK`` terms, so the rounding error grows like
    log(n) rather than n. Zero padding keeps the shapes static.
    """
    while values.shape[0] > _BLOCK:
        n = values.shape[0]
        rows = math.ceil(n / _BLOCK)
        pad = rows * _BLOCK - n
        if pad:
            widths = [(0, pad)] + [(0, 0)] * (values.ndim - 1)
            values = jnp.pad(values, widths)
        values = values.reshape((rows, _BLOCK, *values.shape[1:])).sum(axis=1)
    return values.sum(axis=0)


def weighted_sums(
    family: ExponentialFamily,
    xs: jax.Array,
    weights: jax.Array | None,
    center: jax.Array | None = None,
) -> tuple[PyTree, jax.Array]:
    """(Σ w_i u(x_i), Σ w_i) over axis 0; w = 1 when ``weights`` is None.

    The sum is taken through ``u``'s jaxpr (see :class:`_SumPlan`): linear steps
    move outside the sum, products of two data-dependent factors become one
    contraction over the batch, so the per-sample statistics are never stacked.
    With a ``center`` c, the sums are of the family's centred statistics
    (``_centered_batch``: the batch moved by −c and the statistics over it).
    Where one computed value feeds several sums, the batch is summed in
    blocks of ``_SHARED_BLOCK`` numbers (see there).
    """
    statistics = family.sufficient_statistics
    if center is not None:
        xs, statistics = family._centered_batch(xs, center)
    plan = _SumPlan(statistics, xs, weights)
    totals = plan.totals()
    if plan.shares_a_computed_value() and xs.shape[0] >= 2 * _block_rows(xs):
        # The plain totals, traced above, are dead code XLA drops.
        totals = _blocked_totals(statistics, xs, weights)
    if weights is None:
        count = jnp.asarray(xs.shape[0], leaf_dtype(totals))
    else:
        count = jnp.sum(weights).astype(leaf_dtype(totals))
    return totals, count


def _block_rows(xs: jax.Array) -> int:
    return max(1, _SHARED_BLOCK // max(1, math.prod(xs.shape[1:])))


def _blocked_totals(
    statistics: Callable, xs: jax.Array, weights: jax.Array | None
) -> PyTree:
    """The plan's totals over blocks of ``_block_rows`` samples (``lax.map``),
    then over the blocks; the rows left over are one more plan."""
    rows = _block_rows(xs)
    n = xs.shape[0]
    m = n // rows
    head = xs[: m * rows].reshape(m, rows, *xs.shape[1:])
    head_weights = None if weights is None else weights[: m * rows].reshape(m, rows)
    per_block = lax.map(
        lambda block: _SumPlan(statistics, *block).totals(), (head, head_weights)
    )
    totals = jax.tree_util.tree_map(lambda t: jnp.sum(t, axis=0), per_block)
    if m * rows < n:
        rest_weights = None if weights is None else weights[m * rows :]
        rest = _SumPlan(statistics, xs[m * rows :], rest_weights).totals()
        totals = jax.tree_util.tree_map(jnp.add, totals, rest)
    return totals


def vmapped_sums(
    family: ExponentialFamily, xs: jax.Array, weights: jax.Array | None
) -> tuple[PyTree, jax.Array]:
    """The same sums as :func:`weighted_sums`, the plain way: u(x) for every
    sample (``jax.vmap``), then a blocked sum per leaf. A reference for tests and
    benchmarks."""
    u = jax.vmap(family.sufficient_statistics)(xs)
    if weights is None:
        total = jax.tree_util.tree_map(blocked_sum, u)
        count = jnp.asarray(xs.shape[0], leaf_dtype(u))
        return total, count

    def weigh(leaf: jax.Array) -> jax.Array:
        w = weights.reshape(weights.shape + (1,) * (leaf.ndim - 1)).astype(leaf.dtype)
        # where, not a product: a zero weight must silence an infinite statistic.
        return blocked_sum(jnp.where(w != 0, w * leaf, 0))

    return jax.tree_util.tree_map(weigh, u), blocked_sum(weights).astype(leaf_dtype(u))


# --------------------------------------------------------------------------- #
# Σ_i u(x_i) through u's jaxpr.
# --------------------------------------------------------------------------- #

# Primitives linear in all their operands: Σ_i f(a_i, b_i) = f(Σ a, Σ b).
_ADDITIVE = frozenset(
    {
        "add",
        "add_any",
        "sub",
        "neg",
        "concatenate",
        "stack",
        "pad",
        "broadcast_in_dim",
        "reshape",
        "squeeze",
        "expand_dims",
        "transpose",
        "rev",
        "slice",
        "copy",
        "copy_p",
        "reduce_sum",
        "cumsum",
    }
)
# Of those, the sums of operands: the sum of a constant and a value linear in
# the data is not pushed (``_SumPlan._located``).
_SUMS = frozenset({"add", "add_any", "sub"})
# Linear in the operands after the first, which must not depend on the data
# (select_n's predicate).
_ADDITIVE_AFTER_FIRST = frozenset({"select_n"})
# Linear in the first operand; the rest (indices) must not depend on the data.
_ADDITIVE_FIRST = frozenset({"dynamic_slice"})
_LINEAR = _ADDITIVE | _ADDITIVE_AFTER_FIRST | _ADDITIVE_FIRST
# Call primitives whose body is inlined, and the parameter that holds it.
_CALLS = {
    "jit": "jaxpr",
    "pjit": "jaxpr",
    "closed_call": "call_jaxpr",
    "core_call": "call_jaxpr",
    "remat2": "jaxpr",
    "checkpoint": "jaxpr",
}


class _Eqn:
    """One primitive application of u's jaxpr; its values are built lazily."""

    __slots__ = ("inputs", "params", "primitive", "values")

    def __init__(self, primitive: Any, params: dict, inputs: list[_Node]) -> None:
        self.primitive = primitive
        self.params = params
        self.inputs = inputs
        self.values: list[jax.Array] | None = None


class _Node:
    """A value of u's jaxpr: the observation, a constant or an equation output.

    ``batched`` says whether it depends on the observation; ``value`` holds a
    constant, or the batch of observations for the root.
    """

    __slots__ = ("aval", "batched", "eqn", "index", "value")

    def __init__(
        self,
        aval: Any,
        *,
        batched: bool,
        value: Any = None,
        eqn: _Eqn | None = None,
        index: int = 0,
    ) -> None:
        self.aval = aval
        self.batched = batched
        self.value = value
        self.eqn = eqn
        self.index = index


def _graph(jaxpr: Any, consts: list[Any], inputs: list[_Node]) -> list[_Node]:
    """The nodes of ``jaxpr``'s outputs, with nested calls inlined."""
    env: dict[Any, _Node] = {}

    def read(atom: Any) -> _Node:
        if isinstance(atom, jex_core.Literal):
            return _Node(atom.aval, batched=False, value=atom.val)
        return env[atom]

    for var, const in zip(jaxpr.constvars, consts, strict=True):
        env[var] = _Node(var.aval, batched=False, value=const)
    for var, node in zip(jaxpr.invars, inputs, strict=True):
        env[var] = node
    for eqn in jaxpr.eqns:
        args = [read(atom) for atom in eqn.invars]
        body = _CALLS.get(eqn.primitive.name)
        if body is not None and body in eqn.params:
            inner = eqn.params[body]
            if isinstance(inner, jex_core.ClosedJaxpr):
                outs = _graph(inner.jaxpr, list(inner.consts), args)
            else:
                outs = _graph(inner, [], args)
        else:
            record = _Eqn(eqn.primitive, eqn.params, args)
            batched = any(a.batched for a in args)
            outs = [
                _Node(v.aval, batched=batched, eqn=record, index=k)
                for k, v in enumerate(eqn.outvars)
            ]
        for var, node in zip(eqn.outvars, outs, strict=True):
            env[var] = node
    return [read(atom) for atom in jaxpr.outvars]


class _SumPlan:
    """Σ_i w_i u(x_i) for each leaf of u, taken through u's jaxpr.

    u is traced once for one observation. The sum over the batch is then pushed
    through u's equations from its outputs back:

    * through linear steps (stacking, concatenation, reshapes, broadcasts,
      sums, scaling by a constant): Σ_i f(a_i) = f(Σ_i a_i), so
      ``stack([x, x * x])`` becomes ``stack([Σx, Σx²])``. Except the sum
      of a constant and a value linear in the data: Σ(x − c) pushed is
      Σx − N c, which cancels where c is near the data (the centring a user
      writes into u), so the elementwise x − c is summed (one fused
      reduction). Other sums are pushed: the Wishart's X + Xᵀ summed
      elementwise transposed every matrix of the batch (2.3× its
      residual's time), and the categorical's 1 − sign|x − j| summed
      elementwise ran 2.6× slower than N − Σ sign|x − j|;
    * into products of two data-dependent factors: Σ_i a_i ⊗ b_i is one
      ``dot_general`` that contracts the batch axis, so the outer product
      x xᵀ of the multivariate normal becomes Xᵀ X (a matrix product) and x · x
      a fused multiply-reduce;
    * anything else is evaluated for the whole batch (``vmap`` of that
      equation, fused by XLA into the reduction that consumes it) and summed.

    The result is what ``vmap(u)(xs)`` summed over axis 0 gives, without
    building the per-sample statistics. Sums are XLA reductions (tree or
    blocked on every backend) and contractions at ``Precision.HIGHEST``.
    """

    def __init__(self, fn: Callable, xs: jax.Array, weights: jax.Array | None) -> None:
        self.xs = xs
        self.weights = weights
        x = jax.ShapeDtypeStruct(xs.shape[1:], xs.dtype)
        closed, shapes = jax.make_jaxpr(fn, return_shape=True)(x)
        self.treedef = jax.tree_util.tree_structure(shapes)
        root = _Node(closed.in_avals[0], batched=True, value=xs)
        self.outputs = _graph(closed.jaxpr, list(closed.consts), [root])
        self._totals: dict[int, jax.Array] = {}
        self._located_memo: dict[int, bool] = {}
        # id of each computed per-sample equation -> the sums that read it
        self._readers: dict[int, set[int]] = {}

    def totals(self) -> PyTree:
        leaves = [self.total(node) for node in self.outputs]
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def shares_a_computed_value(self) -> bool:
        """Whether, after ``totals``, one computed per-sample equation (not
        the data itself) feeds two or more of the sums: XLA then writes its
        values for the whole batch to memory before the sums read them (see
        :func:`weighted_sums`)."""
        return any(len(readers) > 1 for readers in self._readers.values())

    def _read(self, node: _Node, reader: int) -> jax.Array:
        """``value(node)`` for the sum identified by ``reader``."""
        if node.batched and node.eqn is not None:
            self._readers.setdefault(id(node.eqn), set()).add(reader)
        return self.value(node)

    # ---- values of single equations ----------------------------------------- #

    def value(self, node: _Node) -> jax.Array:
        """The node's value: per sample (leading batch axis) if batched.

        A batched value is computed from the observations by one ``vmap`` of
        its whole per-sample computation, not a ``vmap`` per equation: JAX's
        batching then keeps each intermediate's batch axis where its rule
        puts it, and only the result is laid out batch-first. Per equation,
        every intermediate was moved to batch-first: the Wishart's log det
        (a stack of pivots, then a sum of their logs) paid a transpose of the
        batch for it, 4x the time of the computation itself.
        """
        eqn = node.eqn
        if eqn is None:
            return node.value
        if eqn.values is None:
            if node.batched:
                eqn.values = jax.vmap(functools.partial(self._per_sample, eqn))(self.xs)
            else:
                args = [self.value(a) for a in eqn.inputs]
                eqn.values = _apply(eqn.primitive, eqn.params, *args)
        return eqn.values[node.index]

    def _per_sample(self, eqn: _Eqn, x: jax.Array) -> list[jax.Array]:
        """The outputs of a batched equation for one observation x (traced
        under ``value``'s vmap), from the observation up."""
        memo: dict[int, list[jax.Array]] = {}

        def outputs(e: _Eqn) -> list[jax.Array]:
            if id(e) not in memo:
                memo[id(e)] = _apply(e.primitive, e.params, *map(evaluate, e.inputs))
            return memo[id(e)]

        def evaluate(n: _Node) -> jax.Array:
            if n.eqn is None:
                return x if n.batched else n.value
            if not n.batched:
                return self.value(n)
            return outputs(n.eqn)[n.index]

        return outputs(eqn)

    # ---- sums ----------------------------------------------------------------- #

    def total(self, node: _Node) -> jax.Array:
        """Σ_i w_i node_i (the node's value times Σ w_i for a constant)."""
        key = id(node)
        if key not in self._totals:
            self._totals[key] = self._total(node)
        return self._totals[key]

    def _total(self, node: _Node) -> jax.Array:
        if not node.batched:
            value = jnp.asarray(self.value(node))
            dtype = _sum_dtype(value.dtype)
            return value.astype(dtype) * self._count().astype(dtype)
        pushed = None
        if node.eqn is not None and jnp.issubdtype(node.aval.dtype, jnp.inexact):
            pushed = self._push(node)
        if pushed is not None:
            return pushed
        # Only the data itself is folded: folding a computed value (log x)
        # stops XLA from fusing its computation into the reduction.
        return self._reduce(self._read(node, id(node)), fold=node.eqn is None)

    def _count(self) -> jax.Array:
        if self.weights is None:
            return jnp.asarray(self.xs.shape[0])
        return jnp.sum(self.weights)

    def _reduce(self, values: jax.Array, *, fold: bool = False) -> jax.Array:
        if self.weights is not None:
            w = self._weights_like(values)
            # where, not a product: a zero weight must silence an infinite statistic.
            values = jnp.where(w != 0, w * values, 0)
        return _column_sum(values) if fold else jnp.sum(values, axis=0)

    def _weights_like(self, values: jax.Array) -> jax.Array:
        assert self.weights is not None  # only called with weights
        w = self.weights.astype(values.dtype)
        return w.reshape(w.shape + (1,) * (values.ndim - 1))

    def _push(self, node: _Node) -> jax.Array | None:
        """Σ_i of an equation's output from sums of its inputs, or None."""
        eqn = node.eqn
        assert eqn is not None  # only equation outputs are pushed (``_total``)
        name = eqn.primitive.name
        args = eqn.inputs
        fixed = [not a.batched for a in args]
        if name in _SUMS and any(fixed) and all(map(self._located, args)):
            # Σ(x ± c) over the elementwise result: one fused reduction, and
            # no cancellation. Pushed, Σ(x − c) was Σx − N c, which undid a
            # user's centring (float32 data 1e4 + N(0, 1) about c = 1e4:
            # the mean of x − c came out 40 % off).
            return None
        if name in _ADDITIVE:
            summed = [True] * len(args)
        elif name in _ADDITIVE_AFTER_FIRST and fixed[0]:
            summed = [False] + [True] * (len(args) - 1)
        elif name in _ADDITIVE_FIRST and all(fixed[1:]):
            summed = [True] + [False] * (len(args) - 1)
        elif name == "convert_element_type" and (
            eqn.params.get("new_dtype") == args[0].aval.dtype
        ):
            summed = [True]
        elif name in ("mul", "dot_general") and any(fixed):
            summed = [not f for f in fixed]
        elif name == "div" and fixed[1]:
            summed = [True, False]
        elif name in ("mul", "square") or (
            name == "integer_pow" and eqn.params.get("y") == 2
        ):
            first, second = (args[0], args[0]) if len(args) == 1 else args
            return self._product(first, second, node.aval.shape, id(node))
        elif name == "dot_general":
            return self._contraction(eqn)
        else:
            return None
        operands = [
            self.total(a) if s else self.value(a)
            for a, s in zip(args, summed, strict=True)
        ]
        return _apply(eqn.primitive, eqn.params, *operands)[node.index]

    def _located(self, node: _Node) -> bool:
        """Whether the node is a constant or, through linear steps (no
        product of two data-dependent factors), the data itself: the values
        a sum about a constant must not be pushed through, as the constant
        may be near them (a location)."""
        key = id(node)
        if key not in self._located_memo:
            self._located_memo[key] = self._is_located(node)
        return self._located_memo[key]

    def _is_located(self, node: _Node) -> bool:
        eqn = node.eqn
        if eqn is None or not node.batched:
            return True
        name = eqn.primitive.name
        batched = [a.batched for a in eqn.inputs]
        linear = (
            name in _LINEAR
            or name == "convert_element_type"
            or (name in ("mul", "dot_general") and sum(batched) == 1)
            or (name == "div" and batched == [True, False])
        )
        return linear and all(self._located(a) for a in eqn.inputs if a.batched)

    def _factor(
        self, node: _Node, shape: tuple[int, ...], reader: int
    ) -> tuple[jax.Array, list[int]]:
        """A factor of an elementwise product of result shape ``shape``: its
        batched value stripped of broadcasting, and the result axis of each of
        its per-sample axes."""
        axes = list(range(len(shape))) if node.aval.ndim else []
        while (
            node.eqn is not None
            and node.eqn.primitive.name == "broadcast_in_dim"
            and len(node.eqn.inputs) == 1
            and node.eqn.inputs[0].batched
        ):
            dims = node.eqn.params["broadcast_dimensions"]
            axes = [axes[d] for d in dims]
            node = node.eqn.inputs[0]
        value = self._read(node, reader)
        keep = [j for j, axis in enumerate(axes) if node.aval.shape[j] == shape[axis]]
        if len(keep) < len(axes):
            value = value.reshape((value.shape[0], *(node.aval.shape[j] for j in keep)))
        return value, [axes[j] for j in keep]

    def _weighed(self, a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(w a, b) with both zero where w = 0: a zero weight silences a sample."""
        if self.weights is None:
            return a, b
        wa, wb = self._weights_like(a), self._weights_like(b)
        return jnp.where(wa != 0, wa * a, 0), jnp.where(wb != 0, b, 0)

    def _product(
        self, first: _Node, second: _Node, shape: tuple[int, ...], reader: int
    ) -> jax.Array:
        """Σ_i a_i * b_i (elementwise, broadcasting) as one contraction."""
        a, axes_a = self._factor(first, shape, reader)
        b, axes_b = self._factor(second, shape, reader)
        a, b = self._weighed(a, b)
        common = [axis for axis in axes_a if axis in axes_b]
        free_a = [axis for axis in axes_a if axis not in common]
        free_b = [axis for axis in axes_b if axis not in common]
        batch = (
            [1 + axes_a.index(axis) for axis in common],
            [1 + axes_b.index(axis) for axis in common],
        )
        out = _contract(a, b, ([0], [0]), batch)
        order = common + free_a + free_b
        out = jnp.transpose(out, sorted(range(len(order)), key=order.__getitem__))
        return lax.broadcast_in_dim(out, shape, tuple(sorted(order)))

    def _contraction(self, eqn: _Eqn) -> jax.Array:
        """Σ_i dot_general(a_i, b_i): the batch axis joins the contraction."""
        (contract_a, contract_b), (batch_a, batch_b) = eqn.params["dimension_numbers"]
        a, b = self._weighed(*(self._read(arg, id(eqn)) for arg in eqn.inputs))
        return _contract(
            a,
            b,
            ([0, *(1 + d for d in contract_a)], [0, *(1 + d for d in contract_b)]),
            ([1 + d for d in batch_a], [1 + d for d in batch_b]),
            eqn.params.get("preferred_element_type"),
        )


def _contract(
    a: jax.Array,
    b: jax.Array,
    contract: tuple[list[int], list[int]],
    batch: tuple[list[int], list[int]],
    preferred: Any = None,
) -> jax.Array:
    """``dot_general`` of two batches whose contraction includes the batch axis 0.

    A float32 product with free axes (a matrix product such as Xᵀ X) runs on
    blocks of ``_BLOCK_ROWS`` samples whose partial products are then summed: a
    matrix product accumulates along the contraction one term after another,
    which over 10^7 samples loses digits. A float64 product is one call: over
    10^7 rows its rounding measured 8e-15 relative (numpy's ``X.T @ X`` 7e-15,
    8192-row blocks 8e-16), while the blocks' many small products cost the
    multivariate normal's ``mle`` on 10^6 × 10 float64 rows 15 % (jaxlib
    0.10.2, 2 cores; ``benchmarks/ab.py``: 0.84 and 0.87 without them).

    A product without free axes (Σ x · x) is an elementwise product summed over
    the contracted axes, written as that: XLA's reductions are blocked, while
    its dot of two vectors was not before jaxlib 0.10.2 (float32 Σ x² over
    2^20 samples 1.8e-5 off with jax 0.10.0, 7e-8 as a reduction).
    """
    n = a.shape[0]
    free = a.ndim + b.ndim - 2 * (len(contract[0]) + len(batch[0]))
    if free == 0:
        if preferred is not None:
            a, b = a.astype(preferred), b.astype(preferred)
        # Contracted axes first (the batch axis 0 among them), in pairs.
        a = jnp.transpose(a, [*contract[0], *batch[0]])
        b = jnp.transpose(b, [*contract[1], *batch[1]])
        return jnp.sum(a * b, axis=tuple(range(len(contract[0]))))
    out_dtype = jnp.result_type(a, b) if preferred is None else preferred
    if n <= _BLOCK_ROWS or jnp.dtype(out_dtype) == jnp.float64:
        return lax.dot_general(
            a,
            b,
            (contract, batch),
            precision=FULL_PRECISION,
            preferred_element_type=preferred,
        )
    rows = _divisor_at_most(n, _BLOCK_ROWS)
    if rows < _MIN_BLOCK_ROWS:  # an awkward n: pad with samples of zeros
        rows = _BLOCK_ROWS
        padded = -(-n // rows) * rows
        a, b = (jnp.pad(v, [(0, padded - n)] + [(0, 0)] * (v.ndim - 1)) for v in (a, b))
        n = padded
    a = a.reshape(n // rows, rows, *a.shape[1:])
    b = b.reshape(n // rows, rows, *b.shape[1:])
    dims = (
        ([1 + d for d in contract[0]], [1 + d for d in contract[1]]),
        ([0, *(1 + d for d in batch[0])], [0, *(1 + d for d in batch[1])]),
    )
    out = lax.dot_general(
        a, b, dims, precision=FULL_PRECISION, preferred_element_type=preferred
    )
    return jnp.sum(out, axis=0)


def _column_sum(values: jax.Array) -> jax.Array:
    """Σ over axis 0. A narrow sample is folded: (n, m) is summed as
    (n / k, k m) and then over k, with k m numbers filling at most
    ``_FOLD_BYTES``, since a reduction keeping only a few numbers per row runs
    several times slower than a wider one, and a much wider one slower again.

    Measured (jaxlib 0.10.2, 2 cores, 10^6 rows, ms; unfolded / folded to 64
    numbers as before / to 128 bytes): float32 width 2 2.81 / 0.65 / 0.43,
    width 8 1.69 / 1.46 / 1.10; float64 width 2 1.76 / 1.11 / 0.62, width 8
    2.42 / 4.45 / 2.39, width 10 (the multivariate normal's Σ x) 2.75 / 3.88 /
    2.91 (not folded: k would be 1).
    """
    n = values.shape[0]
    width = math.prod(values.shape[1:])
    k = 1
    if width > 1:
        k = _divisor_at_most(n, _FOLD_BYTES // (width * values.dtype.itemsize))
    if k == 1:
        return jnp.sum(values, axis=0)
    folded = values.reshape(n // k, k * width).sum(axis=0)
    return folded.reshape(k, *values.shape[1:]).sum(axis=0)


def _divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of ``n`` that is at most ``limit`` (>= 1)."""
    for k in range(min(n, limit), 1, -1):
        if n % k == 0:
            return k
    return 1


def _apply(primitive: Any, params: dict, *args: Any) -> list[jax.Array]:
    out = primitive.bind(*args, **primitive.get_bind_params(params))
    return list(out) if primitive.multiple_results else [out]


def _sum_dtype(dtype: Any) -> jnp.dtype:
    """The dtype ``jnp.sum`` gives for ``dtype`` (ints and bools widen)."""
    return jax.eval_shape(
        lambda a: jnp.sum(a, axis=0), jax.ShapeDtypeStruct((1,), dtype)
    ).dtype


@functools.partial(jax.jit, static_argnums=0)
def _chunk_sums(
    family: ExponentialFamily,
    xs: jax.Array,
    weights: jax.Array | None,
    center: jax.Array | None,
) -> tuple[PyTree, jax.Array]:
    return weighted_sums(family, xs, weights, center)


def _padded(chunk: np.ndarray, weights: np.ndarray | None, rows: int):
    n = chunk.shape[0]
    w = np.ones(n, dtype=np.float64) if weights is None else np.asarray(weights)
    if n == rows:
        return chunk, w
    # Pad by repeating the first row (a point of the support) with weight 0.
    reps = np.repeat(chunk[:1], rows - n, axis=0)
    return (
        np.concatenate([chunk, reps], axis=0),
        np.concatenate([w, np.zeros(rows - n, dtype=w.dtype)]),
    )


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def mle_center(family: ExponentialFamily, xs: jax.Array) -> jax.Array | None:
    """The family's centre of a batch (``_mle_center``), or None where it has
    none or the centre is a concrete 0: near 0 already, the plain sums serve
    (one program fewer, and the same ū by every path). A traced centre is
    returned as it is; the centred hooks hold at 0."""
    center = family._mle_center(xs)
    if center is not None and is_concrete(center) and not np.any(np.asarray(center)):
        return None
    return center


def chunked_average(
    family: ExponentialFamily,
    chunks: Iterable[tuple[np.ndarray, np.ndarray | None]],
    *,
    rows: int | None = None,
    check: Any = None,
    centered: bool = False,
    sums: Callable = _chunk_sums,
    device: Any = None,
) -> tuple[PyTree, jax.Array | None]:
    """(ū, None): the weighted average of u over a stream of (chunk, weights)
    pairs; with ``centered``, (ū_c, c): the average of the family's centred
    statistics about the centre c of the first chunk (see
    ``ExponentialFamily._mle_center``; c is None where the family has none).

    Chunk totals come back to the host and are added in float64; the result is
    cast to the dtype the family computes in. ``rows`` fixes the padded chunk
    size (one compile); without it each chunk pads to a power of two. ``check``
    is called on every raw chunk first (the family's data validation).
    ``sums(family, xs, weights, center)`` gives a chunk's (totals, Σ w), by
    default those of u (:func:`weighted_sums`); the chunks go to ``device``
    (by default JAX's).
    """
    total: list[np.ndarray] | None = None
    treedef = None
    count = 0.0
    dtype = None
    center = None
    for index, (chunk, weights) in enumerate(chunks):
        if check is not None:
            check(chunk, weights, index)
        if centered and index == 0:
            center = mle_center(family, to_device(chunk, device))
        size = rows if rows is not None else _next_power_of_two(chunk.shape[0])
        if weights is None and chunk.shape[0] == size:
            totals, n = sums(family, to_device(chunk, device), None, center)
        else:
            xs, w = _padded(chunk, weights, size)
            xs, w = to_device(xs, device), to_device(w, device)
            totals, n = sums(family, xs, w, center)
        leaves, treedef = jax.tree_util.tree_flatten(totals)
        dtype = leaves[0].dtype
        leaves64 = [np.asarray(leaf, dtype=np.float64) for leaf in leaves]
        total = (
            leaves64
            if total is None
            else [a + b for a, b in zip(total, leaves64, strict=False)]
        )
        count += float(n)
    if total is None:
        raise ValueError(f"{family!r}: no data (an empty iterable of chunks)")
    if count <= 0:
        raise ValueError(f"{family!r}: the weights sum to {count}, not > 0")
    mean = [jnp.asarray(t / count, dtype=dtype) for t in total]
    return jax.tree_util.tree_unflatten(treedef, mean), center
