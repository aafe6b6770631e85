"""Eager input checks that stay out of the way of jit, vmap and grad.

Every check looks at concrete values only. A traced value (inside ``jax.jit``,
``jax.vmap`` or ``jax.grad``) is let through unchecked: the caller's jitted code
is documented as unchecked, and fitting checks its data once, eagerly, before
the compiled loop starts.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

__all__ = ["describe_value", "family_error", "is_concrete", "real_dtype_problem"]


def is_concrete(*trees: Any) -> bool:
    """Whether no leaf of ``trees`` is a JAX tracer."""
    leaves = jax.tree_util.tree_leaves(trees)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def describe_value(value: Any, limit: int = 6) -> str:
    """A short printable form of a value (a scalar, an array head, a tuple)."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(describe_value(v, limit) for v in value) + ")"
    if isinstance(value, dict):
        items = ", ".join(f"{k}={describe_value(v, limit)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (jax.core.Tracer, jax.ShapeDtypeStruct)):
        # Traced (inside vmap or jit) or abstract: only shape and dtype exist.
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    try:
        arr = np.asarray(value)
    except Exception:
        return repr(value)
    if arr.ndim == 0:
        return repr(arr.item())
    flat = arr.reshape(-1)
    head = ", ".join(repr(v.item()) for v in flat[:limit])
    more = ", …" if flat.size > limit else ""
    return f"array(shape={arr.shape}, [{head}{more}])"


def family_error(family: Any, message: str) -> ValueError:
    """A ``ValueError`` whose message starts with the family's name."""
    return ValueError(f"{family!r}: {message}")


def hashable_problem(owner: Any) -> str | None:
    """Why ``owner`` (a family or model) cannot key expfam's compiled
    functions, or None: they are cached per family, which must be hashable."""
    try:
        hash(owner)
    except TypeError as error:
        return (
            f"is not hashable ({error}): expfam compiles a family's functions "
            "once and keys them by the family, so a family must be hashable: a "
            "frozen dataclass whose fields are hashable (tuples and floats, not "
            "arrays or lists), or a class with __hash__ and __eq__"
        )
    return None


def key_problem(key: Any) -> str | None:
    """Why ``key`` cannot be a ``jax.random`` key (an int seed), or None."""
    if isinstance(key, (int, np.integer)):
        return f"key={key!r} is not a JAX PRNG key: pass jax.random.key(0)"
    return None


def real_dtype_problem(value: Any) -> str | None:
    """Why ``value`` (data) is not an array of real numbers, or None if it is.

    Bools, integers and floats of every width (bfloat16 included) are real
    numbers; complex values, strings, objects (a None among the numbers) and
    dates are not. Without this, JAX either fails with a TypeError about
    abstract arrays or, for complex data, silently drops the imaginary part.
    """
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(value).dtype
        except (TypeError, ValueError):  # ragged nesting and the like
            return "is not an array of numbers"
    dtype = np.dtype(dtype)
    if dtype.kind in "biuf":  # numpy's own bool, int, uint and float kinds
        return None
    if any(jax.numpy.issubdtype(dtype, kind) for kind in _REAL_KINDS):
        return None
    if jax.numpy.issubdtype(dtype, np.complexfloating):
        return f"has the complex dtype {dtype}: the data must be real numbers"
    return f"has dtype {dtype}: the data must be numbers (bool, int or float)"


_REAL_KINDS = (np.bool_, np.integer, np.floating)


def is_int(value: Any) -> bool:
    """A Python or numpy integer (``np.int64(64)`` from array arithmetic
    included), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def int_field(obj: Any, name: str, low: int, owner: str) -> None:
    """Checks that the (frozen dataclass) field ``name`` of ``obj`` is an int
    (Python or numpy, not bool) of at least ``low`` (a ValueError led by
    ``owner`` otherwise), and stores it as a Python int, so that numpy and
    Python sizes give the same family, repr and shapes."""
    value = getattr(obj, name)
    if not (is_int(value) and value >= low):
        raise ValueError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    object.__setattr__(obj, name, int(value))
