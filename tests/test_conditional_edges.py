"""Fisher scoring at the edges: singular systems, badly scaled and collinear
features, separable data in float32, non-finite inputs and bad arguments.

Each test reproduces a reviewed bug; results are compared with statsmodels,
closed forms or the float64 solve.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import expfam as ef

pytestmark = pytest.mark.xdist_group("conditional")


@pytest.fixture
def _x64():
    with jax.enable_x64(True):
        yield


@pytest.mark.usefixtures("_x64")
def test_a_direction_that_is_not_finite_keeps_the_finite_point():
    """Without damping a feature that is always 0 makes the information matrix
    exactly singular, and the Newton direction is NaN. The solver stops where
    it was (the intercept-only MLE, log ȳ), not at 0 · NaN = NaN."""
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=50), np.zeros(50)]
    y = rng.poisson(2.0, 50).astype(np.float64)
    with pytest.warns(RuntimeWarning, match="singular"):
        result = ef.fisher_scoring(ef.GLM(ef.Poisson(), 2), (X, y), damping=0.0)
    assert not result.converged and result.num_steps == 1
    np.testing.assert_array_equal(result.params["coef"], [0.0, 0.0])
    assert float(result.params["intercept"]) == pytest.approx(np.log(y.mean()))


@pytest.mark.usefixtures("_x64")
def test_damping_does_not_depend_on_the_features_units():
    """Income in dollars (~5e4) next to a fraction (~5e-3): the diagonal of
    the information spans 14 orders of magnitude. Damping relative to its
    mean diagonal swamped the fraction's entry (not converged in 50 steps,
    coef 44 instead of 125); damping each entry relative to itself converges
    like the undamped solve and matches statsmodels."""
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    income, fraction = rng.normal(5e4, 1.5e4, 500), rng.uniform(0, 0.01, 500)
    X = np.c_[income, fraction]
    logit = -1 + 2e-5 * (income - 5e4) + 100 * fraction
    y = (rng.random(500) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    model = ef.GLM(ef.Bernoulli(), 2)
    result = ef.fisher_scoring(model, (X, y))
    undamped = ef.fisher_scoring(model, (X, y), damping=0.0)
    assert result.converged and result.num_steps == undamped.num_steps <= 8
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(result.params["coef"], ref.params[1:], rtol=1e-9)
    np.testing.assert_allclose(result.params["intercept"], ref.params[0], rtol=1e-9)


def test_float32_singular_systems_solve():
    """float32: damping below rounding left rank-deficient systems singular.
    Two samples and three parameters (the optimum fits both counts exactly,
    exp(η_i) = y_i, on a line of solutions) and a duplicated feature (the
    two coefficients' sum is the single feature's statsmodels coefficient)
    now converge to the optimum."""
    import statsmodels.api as sm

    X = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    counts = np.array([3.0, 1.0], np.float32)
    result = ef.fisher_scoring(ef.GLM(ef.Poisson(), 2), (X, counts))
    assert result.converged
    eta = X @ np.asarray(result.params["coef"]) + result.params["intercept"]
    np.testing.assert_allclose(np.exp(eta), counts, rtol=1e-5)

    rng = np.random.default_rng(1)
    x = rng.normal(size=200).astype(np.float32)
    y = (rng.random(200) < 1 / (1 + np.exp(-(0.5 + x)))).astype(np.float32)
    result = ef.fisher_scoring(ef.GLM(ef.Bernoulli(), 2), (np.c_[x, x], y))
    single = ef.fisher_scoring(ef.GLM(ef.Bernoulli(), 1), (x[:, None], y))
    assert result.converged and single.converged
    coef = np.asarray(result.params["coef"], np.float64)
    assert coef.sum() == pytest.approx(float(single.params["coef"][0]), rel=1e-5)
    intercept = float(result.params["intercept"])
    assert intercept == pytest.approx(float(single.params["intercept"]), rel=1e-5)
    # float32 itself is this close to the float64 optimum (the objective is
    # flat to rounding within √tol of it).
    design = sm.add_constant(x.astype(np.float64))
    ref = sm.GLM(y, design, family=sm.families.Binomial()).fit(tol=1e-14).params
    np.testing.assert_allclose([intercept, coef.sum()], ref, rtol=3e-4)


def _separable_categorical(n: int = 60):
    """Three classes split by thresholds on one feature: no optimum exists."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, 1)).astype(np.float32)
    return x, np.digitize(x[:, 0], [-0.4, 0.4]).astype(np.float32)


def test_float32_separable_data_is_not_called_converged():
    """float32 reaches the objective's rounding floor on separable data: the
    Newton decrement falls below tol while every step still moves η. The
    step test keeps such solves unconverged, with the separable warning, in
    the three reviewed cases: four separable points, the standardized
    breast-cancer data and a separable Categorical(3); likewise a class that
    is never observed, whose η runs off to infinity."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    cancer = ((X - X.mean(0)) / X.std(0)).astype(np.float32), y.astype(np.float32)
    points = np.array([[-2.0], [-1.0], [1.0], [2.0]], np.float32)
    rng = np.random.default_rng(3)
    unobserved = rng.normal(size=(50, 2)).astype(np.float32), rng.integers(0, 2, 50)
    cases = [
        (ef.GLM(ef.Bernoulli(), 1), (points, np.array([0, 0, 1, 1], np.float32))),
        (ef.GLM(ef.Bernoulli(), 30), cancer),
        (ef.GLM(ef.Categorical(3), 1), _separable_categorical()),
        (ef.GLM(ef.Categorical(3), 2), unobserved),
    ]
    for model, data in cases:
        with pytest.warns(RuntimeWarning, match="separable"):
            result = ef.fisher_scoring(model, data)
        assert not result.converged, model
        assert np.all(
            np.isfinite(
                np.concatenate(
                    [
                        np.ravel(leaf)
                        for leaf in jax.tree_util.tree_leaves(result.params)
                    ]
                )
            )
        )


def test_float32_poisson_with_offset_features_is_not_called_converged():
    """Features offset by 1e4: the information matrix is singular to float32
    (the features' spread is 1e-8 of their mean square), and the solve creeps
    (intercept −62 after 50 steps where statsmodels, in float64, has −1927).
    It said converged after 2 steps at −1.7 (damped relative to the mean
    diagonal); it now says it did not converge,
    and float64 converges to statsmodels' optimum."""
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 2)) + 1e4
    y = rng.poisson(np.exp(0.5 + (X - 1e4) @ np.array([0.3, -0.2]))).astype(float)
    model = ef.GLM(ef.Poisson(), 2)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        single = ef.fisher_scoring(model, (X.astype(np.float32), y.astype(np.float32)))
    assert not single.converged
    with jax.enable_x64(True):
        double = ef.fisher_scoring(model, (X, y))
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-14)
    assert double.converged
    np.testing.assert_allclose(double.params["intercept"], ref.params[0], rtol=1e-9)
    np.testing.assert_allclose(double.params["coef"], ref.params[1:], rtol=1e-8)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_inputs_that_are_not_finite_are_named(bad):
    # A NaN feature gave fisher_scoring NaN coefficients and froze ef.fit;
    # targets were checked, inputs were not.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    y = rng.poisson(np.exp(x @ [0.3, -0.2] + 0.5)).astype(np.float32)
    x[7, 1] = bad
    model = ef.GLM(ef.Poisson(), 2)
    # Each names its caller (fisher_scoring's said "fit:").
    for solve, name in (
        (ef.fisher_scoring, "fisher_scoring"),
        (lambda m, d: ef.fit(m, d, num_steps=2), "fit"),
    ):
        with pytest.raises(ValueError, match=rf"GLM.*: {name}: inputs\[7, 1\] = "):
            solve(model, (x, y))
    with pytest.raises(ValueError, match=r"fisher_scoring: inputs have shape"):
        ef.fisher_scoring(model, (x[:, :1], y))
    # A pytree of inputs to a Conditional: the leaf is named by its path.
    net = ef.Conditional(ef.Poisson(), lambda p, xs: p * xs["a"].sum(keepdims=True))
    with pytest.raises(ValueError, match=r"inputs\['a'\]\[7, 1\]"):
        ef.fisher_scoring(net, ({"a": x}, y), init=np.zeros(1, np.float32))


def test_fisher_scoring_arguments_are_checked():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2)).astype(np.float32)
    y = rng.poisson(np.exp(x @ [0.3, -0.2] + 0.5)).astype(np.float32)
    glm = ef.GLM(ef.Poisson(), 2)
    with pytest.raises(ValueError, match=r"GLM.*key=0 is not a JAX PRNG key"):
        ef.fisher_scoring(glm, (x, y), key=0)
    for init, match in [
        (
            {"coef": np.zeros(3, np.float32), "intercept": np.zeros((), np.float32)},
            "shapes",
        ),
        (
            {"coef": np.zeros(2, np.int32), "intercept": np.zeros((), np.int32)},
            "floating",
        ),
        ({"coef": np.zeros(2, np.float32)}, "structure"),
    ]:
        with pytest.raises(ValueError, match=rf"GLM.*init=.*{match}"):
            ef.fisher_scoring(glm, (x, y), init=init)
    # A previous result, or half-precision parameters, are starting points.
    first = ef.fisher_scoring(glm, (x, y))
    again = ef.fisher_scoring(glm, (x, y), init=first)
    half = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float16), first.params)
    from_half = ef.fisher_scoring(glm, (x, y), init=half)
    # float32 solves from different starts stop within ~1e-4 of each other.
    for fit in (again, from_half):
        assert fit.converged
        np.testing.assert_allclose(fit.params["coef"], first.params["coef"], rtol=1e-3)
    # Another penalty C is a warm start (as in ef.fit): a regularization path.
    penalized = ef.GLM(glm.family, 2, C=1.0)
    warm = ef.fisher_scoring(penalized, (x, y), init=first)
    cold = ef.fisher_scoring(penalized, (x, y))
    assert warm.converged
    np.testing.assert_allclose(warm.params["coef"], cold.params["coef"], rtol=1e-3)
    logistic = ef.GLM(ef.Bernoulli(), 2)  # another response family: refused
    with pytest.raises(ValueError, match="result of GLM"):
        ef.fisher_scoring(logistic, (x, (y > 1).astype(np.float32)), init=first)


def test_a_glm_input_of_the_wrong_width_is_named():
    """log_prob, predict and natural, eagerly and under vmap, name the width
    (before: JAX's raw TypeError from dot_general)."""
    glm = ef.GLM(ef.Poisson(), 3)
    params = glm.init(jax.random.key(0))
    with pytest.raises(ValueError, match=r"shape \(4,\).*takes 3 features"):
        glm.log_prob(params, np.ones(4, np.float32), 1.0)
    with pytest.raises(ValueError, match="takes 3 features"):
        glm.predict(params, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="takes 3 features"):
        jax.vmap(glm.natural, (None, 0))(params, np.ones((5, 2), np.float32))


def test_float32_normal_glm_of_targets_far_from_zero():
    """Targets of 1000 ± 0.1 (temperatures in kelvin, say): in float32 the
    Normal GLM's variance was lost to rounding in E[y²] − m² (σ² 1.2e6 for
    0.0094, reported converged). The solve now runs on the targets about a
    centre, with the intercept moved back; compared with float64 least
    squares, also from a warm start."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1000, 2)).astype(np.float32)
    y = (1000 + X @ [0.5, -0.2] + 0.1 * rng.normal(size=1000)).astype(np.float32)
    design = np.column_stack([X, np.ones(1000)]).astype(np.float64)
    beta = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]
    variance = np.mean((y - design @ beta) ** 2)
    model = ef.GLM(ef.Normal(), 2)
    result = ef.fisher_scoring(model, (X, y))
    assert result.converged
    np.testing.assert_allclose(result.params["coef"], beta[:2], rtol=1e-4)
    np.testing.assert_allclose(result.params["intercept"], beta[2], rtol=1e-6)
    np.testing.assert_allclose(
        np.exp(result.params["log_variance"]), variance, rtol=1e-3
    )
    again = ef.fisher_scoring(model, (X, y), init=result)
    np.testing.assert_allclose(again.params["intercept"], beta[2], rtol=1e-6)
    np.testing.assert_allclose(
        np.exp(again.params["log_variance"]), variance, rtol=1e-3
    )


def test_a_conditional_fit_that_overflows_warns():
    """sgd with learning rate 50 on a Poisson GLM overflowed the objective in
    one step; every later gradient was NaN and refused, and the fit returned
    θ with an infinite objective, silently."""
    import optax

    y = np.random.default_rng(0).poisson(3.0, 1000).astype(np.float32)
    data = (np.zeros((1000, 1), np.float32), y)
    with pytest.warns(RuntimeWarning, match="not finite since step 1"):
        ef.fit(
            ef.GLM(ef.Poisson(), 1),
            data,
            optimizer=optax.sgd(50.0),
            batch_size=1000,
            num_steps=20,
        )


def test_init_that_does_not_suit_the_predictor_is_named():
    """A result of fitting another Conditional (same response family) as
    init=: the predictor raised a bare KeyError from inside the fit."""
    import jax.numpy as jnp

    x = np.random.default_rng(0).normal(size=(200, 1)).astype(np.float32)
    y = x[:, 0]
    mlp = ef.Conditional(
        ef.Normal(),
        lambda p, x: jnp.tanh(x @ p["w1"]) @ p["w2"],
        init_fn=lambda k: {"w1": jnp.ones((1, 4)), "w2": jnp.zeros((4, 2))},
    )
    linear = ef.Conditional(ef.Normal(), lambda p, x: x @ p["w"] + p["b"])
    result = ef.fit(mlp, (x, y), num_steps=5)
    with pytest.raises(ValueError, match=r"Conditional.*fit: init.*KeyError"):
        ef.fit(linear, (x, y), init=result, num_steps=3)
    with pytest.raises(
        ValueError, match=r"Conditional.*fisher_scoring: init.*KeyError"
    ):
        ef.fisher_scoring(linear, (x, y), init=result)
