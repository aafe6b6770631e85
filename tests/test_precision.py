"""Every floating-point matrix product expfam writes asks for full precision.

On NVIDIA GPUs since Ampere XLA's default float32 matrix product rounds its
operands to TF32 (10 mantissa bits), on TPUs to bfloat16: a multivariate
normal's covariance read back from η came out ~1e-3 off on an H100. On CPU the
default is exact, so no value computed here can show a product left at the
default; these tests read the traced programs instead and find every
``dot_general`` in them, nested programs (loops, conds, custom derivatives)
included. Tracing compiles nothing, so this costs well under a second a family.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import expfam as ef
from expfam._conditional import _scoring
from tests.helpers import natural, small_draws
from tests.registry import CASES, IDS

FULL = lax.Precision.HIGHEST


def _subprograms(value: Any):
    if isinstance(value, jax.extend.core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jax.extend.core.Jaxpr):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _subprograms(item)


def _float_products(jaxpr) -> list:
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general" and jnp.issubdtype(
            eqn.invars[0].aval.dtype, jnp.floating
        ):
            found.append(eqn)
        for value in eqn.params.values():
            for sub in _subprograms(value):
                found.extend(_float_products(sub))
    return found


def _is_full(precision: Any) -> bool:
    pair = precision if isinstance(precision, tuple) else (precision, precision)
    return all(p == FULL for p in pair)


def assert_full_precision(name: str, fn, *args, static_argnums=()) -> int:
    """Traces fn(*args) and fails naming each product below full precision;
    returns how many products it checked."""
    jaxpr = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args).jaxpr
    products = _float_products(jaxpr)
    loose = [
        f"{eqn.params['precision']!r} at {eqn.source_info.traceback}"
        for eqn in products
        if not _is_full(eqn.params["precision"])
    ]
    assert not loose, f"{name}: products below full precision:\n" + "\n".join(loose)
    return len(products)


def test_the_walker_sees_a_default_product():
    """The check can fail: a plain ``@``, inside a loop, is found and refused."""

    def loop(a):
        return lax.fori_loop(0, 2, lambda i, m: m @ a, a)

    with pytest.raises(AssertionError, match="below full precision"):
        assert_full_precision("loop", loop, jnp.eye(3))

    def exact(a):
        return lax.fori_loop(0, 2, lambda i, m: jnp.matmul(m, a, precision=FULL), a)

    assert assert_full_precision("exact loop", exact, jnp.eye(3)) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_family_programs_use_full_precision(case):
    fam = case.family
    eta = natural(case, case.typical, "float32")
    xs = small_draws(case, "float32")
    mu = fam.mean_parameters(eta)
    z = fam.natural_domain.inverse(eta)
    programs = {
        "log_prob": lambda e: fam.log_prob(e, xs[0]),
        "grad log_prob": jax.grad(lambda e: fam.log_prob(e, xs[0])),
        "mean_parameters": fam.mean_parameters,
        "fisher_information": fam.fisher_information,
        "entropy": fam.entropy,
        "kl_divergence": lambda e: fam.kl_divergence(e, eta),
        "residual": lambda e: fam.residual(e, xs),
        "sample": lambda e: fam.sample(jax.random.key(0), e, (3,)),
        "params_from": fam.params_from,
        "domain inverse": fam.natural_domain.inverse,
    }
    for name, fn in programs.items():
        assert_full_precision(f"{case.id} {name}", fn, eta)
    assert_full_precision(f"{case.id} natural_parameters", fam.natural_parameters, mu)
    assert_full_precision(f"{case.id} domain forward", fam.natural_domain.forward, z)
    params = {
        k: jnp.asarray(np.asarray(v, np.float32)) for k, v in case.typical.items()
    }
    assert_full_precision(
        f"{case.id} natural_from", lambda p: fam.natural_from(**p), params
    )


@pytest.mark.parametrize(
    "family",
    [ef.MultivariateNormal(3), ef.Gamma()],
    ids=["MultivariateNormal3", "Gamma"],
)
def test_natural_gradient_step_uses_full_precision(family):
    z = family.natural_domain.inverse(family.default_natural())
    opt = ef.natural_gradient(family)
    state = opt.init(z)
    assert assert_full_precision("natural_gradient", opt.update, z, state, z) > 0


@pytest.mark.parametrize(
    "model",
    [
        ef.GLM(ef.Poisson(), 3),
        ef.GLM(ef.Categorical(3), 3),
        ef.GLM(ef.Normal(), 3),
        # The predictor is the user's (its precision is theirs): exact here, so
        # that any product found below full precision is expfam's own.
        ef.Conditional(ef.Gamma(), lambda p, x: jnp.matmul(p, x, precision=FULL)),
    ],
    ids=["PoissonGLM", "CategoricalGLM", "NormalGLM", "GammaConditional"],
)
def test_conditional_programs_use_full_precision(model):
    x = jnp.ones((16, 3), jnp.float32)
    y = jnp.ones((16,), jnp.int32 if model.family.discrete else jnp.float32)
    if isinstance(model, ef.GLM):
        params = model.init(jax.random.key(0))
        own = ("log_prob", "predict")
        for name in own:
            method = getattr(model, name)
            args = (params, x[0], y[0]) if name == "log_prob" else (params, x[0])
            assert_full_precision(f"{model!r} {name}", method, *args)
    else:
        params = jnp.zeros((2, 3), jnp.float32)
    n = assert_full_precision(
        f"{model!r} fisher_scoring",
        _scoring.__wrapped__,
        *(model, params, x, y, 5, np.float32(1e-6), np.float32(0), False),
        static_argnums=(0, 4, 7),
    )
    assert n > 0
