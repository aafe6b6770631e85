"""Conditional models: GLMs against scikit-learn and statsmodels, the residual
gradient against autodiff, Fisher scoring, and ef.fit on (inputs, targets).

All in float64; small data and one compile per model keep the file fast.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import expfam as ef
from tests.helpers import flat

pytestmark = pytest.mark.xdist_group("conditional")

ADAM = optax.adam(5e-2)  # one instance: fits share compiled code


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


@functools.partial(jax.jit, static_argnums=0)
def _log_lik(model, params, X, y):
    return jnp.mean(jax.vmap(model.log_prob, (None, 0, 0))(params, X, y))


def _mean_log_lik(model, params, X, y) -> float:
    """(1/n) Σ log p(y_i | x_i) by vmap of ``model.log_prob``."""
    return float(_log_lik(model, params, jnp.asarray(X), jnp.asarray(y)))


@functools.partial(jax.jit, static_argnums=0)
def _objective(model, params, X, y):
    return model.objective(params, X, y)


@pytest.fixture(scope="module")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y.astype(np.float64)


def _generated(key: int, n: int, p: int):
    rng = np.random.default_rng(key)
    X = rng.normal(size=(n, p))
    w = rng.normal(size=p) / np.sqrt(p)
    return X, w, rng


# --------------------------------------------------------------------------- #
# Logistic regression
# --------------------------------------------------------------------------- #


def test_logistic_breast_cancer_matches_sklearn_default_c(breast_cancer):
    """C=1 (sklearn's default): Σ NLL + ‖w‖²/2, intercept unpenalized."""
    from sklearn.linear_model import LogisticRegression

    X, y = breast_cancer
    model = ef.GLM(ef.Bernoulli(), X.shape[1], C=1.0)
    sk = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=100)
    sk.fit(X, y)

    result = ef.fisher_scoring(model, (X, y))
    assert result.converged and result.num_steps <= 30
    np.testing.assert_allclose(result.params["coef"], sk.coef_[0], atol=1e-9)
    np.testing.assert_allclose(result.params["intercept"], sk.intercept_[0], atol=1e-9)
    sk_log_lik = -np.mean(
        np.logaddexp(0, X @ sk.coef_[0] + sk.intercept_[0]) * 1.0
        - y * (X @ sk.coef_[0] + sk.intercept_[0])
    )
    ours = _mean_log_lik(model, result.params, X, y)
    assert ours == pytest.approx(sk_log_lik, rel=1e-11)
    # The objective that fit minimizes, at both optima.
    penalty = 0.5 * np.sum(sk.coef_**2) / len(y)
    objective = _objective(model, result.params, jnp.asarray(X), jnp.asarray(y))
    assert float(objective) == pytest.approx(-sk_log_lik + penalty, rel=1e-11)

    # ef.fit with adam, full batch, reaches the same optimum.
    fitted = ef.fit(model, (X, y), optimizer=ADAM, batch_size=len(y), num_steps=1500)
    assert fitted.natural is None
    np.testing.assert_allclose(fitted.params["coef"], sk.coef_[0], atol=1e-5)
    assert fitted.history.nll[-1] == pytest.approx(float(objective), rel=1e-9)

    # predict is E[y | x] = sigmoid; one observation, like every method.
    np.testing.assert_allclose(
        model.predict(result.params, X[0]), sk.predict_proba(X[:1])[0, 1], rtol=1e-9
    )


def test_fisher_scoring_at_a_singular_start_says_so():
    """A small network at all-zero weights: no parameter moves η, the Fisher
    information is singular, and the solver stops with a warning saying so
    (not the 'more num_steps' advice of a slow solve)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = rng.poisson(2.0, 64).astype(np.float32)

    def network(p, xi):
        return jnp.tanh(xi @ p["w1"]) @ p["w2"]

    model = ef.Conditional(ef.Poisson(), network)
    zeros = {"w1": jnp.zeros((3, 4)), "w2": jnp.zeros((4, 1))}
    with pytest.warns(RuntimeWarning, match="singular"):
        result = ef.fisher_scoring(model, (x, y), init=zeros)
    assert not result.converged and result.num_steps < 50


def test_unpenalized_logistic_on_separable_data_does_not_crash(breast_cancer):
    """Standardized breast-cancer data are linearly separable: no MLE exists.

    Fisher scoring says so (warning, converged False) with finite parameters;
    ef.fit keeps improving the likelihood without NaN.
    """
    X, y = breast_cancer
    model = ef.GLM(ef.Bernoulli(), X.shape[1])
    with pytest.warns(RuntimeWarning, match="separable"):
        result = ef.fisher_scoring(model, (X, y), num_steps=40)
    assert not result.converged
    assert np.all(np.isfinite(flat(result.params)))
    assert result.history.nll[-1] < 1e-6  # the likelihood tends to its sup, 1
    margin = (X @ np.asarray(result.params["coef"]) + result.params["intercept"]) * (
        2 * y - 1
    )
    assert np.all(margin > 0)  # a separating hyperplane

    fitted = ef.fit(model, (X, y), optimizer=ADAM, batch_size=len(y), num_steps=600)
    nll = fitted.history.nll
    assert np.all(np.isfinite(nll)) and np.all(np.isfinite(flat(fitted.params)))
    assert nll[-1] < 0.95 * nll[300] < 0.95 * nll[100]  # still improving


def test_unpenalized_logistic_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    X, w, rng = _generated(1, 400, 5)
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(float)
    model = ef.GLM(ef.Bernoulli(), 5)
    result = ef.fisher_scoring(model, (X, y))
    assert result.converged and result.num_steps <= 15
    # C=inf is sklearn's spelling of penalty=None.
    sk = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12).fit(X, y)
    np.testing.assert_allclose(result.params["coef"], sk.coef_[0], rtol=1e-8)
    np.testing.assert_allclose(result.params["intercept"], sk.intercept_[0], rtol=1e-8)
    sk_ll = np.mean(np.log(sk.predict_proba(X)[np.arange(400), y.astype(int)]))
    assert _mean_log_lik(model, result.params, X, y) == pytest.approx(sk_ll, rel=1e-11)


def test_multinomial_logistic_matches_sklearn():
    """Categorical GLM with sklearn's symmetric softmax penalty (C=1) and without."""
    from sklearn.linear_model import LogisticRegression

    n, p, k = 500, 4, 3
    X, _, rng = _generated(2, n, p)
    W = rng.normal(size=(p, k))
    logits = X @ W
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=q) for q in probs], np.float64)
    for C, atol in ((1.0, 1e-7), (None, 1e-9)):
        model = ef.GLM(ef.Categorical(k), p, C=C)
        result = ef.fisher_scoring(model, (X, y))
        assert result.converged and result.num_steps <= 20
        sk = LogisticRegression(
            C=np.inf if C is None else C, solver="newton-cholesky", tol=1e-14
        ).fit(X, y)
        # Ours is relative to the last class: η_j = w_j − w_{k−1}.
        sk_coef = (sk.coef_[:-1] - sk.coef_[-1]).T
        sk_intercept = sk.intercept_[:-1] - sk.intercept_[-1]
        np.testing.assert_allclose(result.params["coef"], sk_coef, atol=atol)
        np.testing.assert_allclose(result.params["intercept"], sk_intercept, atol=atol)
        log_probs = np.log(sk.predict_proba(X)[np.arange(n), y.astype(int)])
        ours = _mean_log_lik(model, result.params, X, y)
        # With a penalty the log-likelihood's gradient is not zero at the optimum,
        # so coefficients within atol move it to first order: compare at that scale.
        ll_rel = 1e-9 if C is None else 1e-7
        assert ours == pytest.approx(np.mean(log_probs), rel=ll_rel)
        # sklearn's own objective (all k class vectors penalized) = ours.
        sk_objective = -np.mean(log_probs)
        if C is not None:
            sk_objective += 0.5 * np.sum(sk.coef_**2) / (C * n)
        objective = _objective(model, result.params, jnp.asarray(X), jnp.asarray(y))
        assert float(objective) == pytest.approx(sk_objective, rel=1e-13)
        mean = model.predict(result.params, X[0])  # probabilities of classes < k−1
        np.testing.assert_allclose(mean, sk.predict_proba(X[:1])[0, :-1], atol=1e-7)


# --------------------------------------------------------------------------- #
# Poisson, binomial, normal, gamma
# --------------------------------------------------------------------------- #


def test_poisson_regression_matches_statsmodels():
    import statsmodels.api as sm

    X, w, rng = _generated(3, 500, 4)
    y = rng.poisson(np.exp(X @ w + 0.5)).astype(np.float64)
    model = ef.GLM(ef.Poisson(), 4)
    result = ef.fisher_scoring(model, (X, y))
    assert result.converged and result.num_steps <= 15
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-14)
    np.testing.assert_allclose(result.params["intercept"], ref.params[0], rtol=1e-9)
    np.testing.assert_allclose(result.params["coef"], ref.params[1:], rtol=1e-9)
    ll = _mean_log_lik(model, result.params, X, y) * len(y)
    assert ll == pytest.approx(ref.llf, rel=1e-12)

    fitted = ef.fit(model, (X, y), optimizer=ADAM, batch_size=len(y), num_steps=800)
    np.testing.assert_allclose(fitted.params["coef"], ref.params[1:], atol=1e-6)


def test_warm_start_on_a_subsample_keeps_the_data_optimum():
    """From 2^14 rows a GLM without init first solves on every 8th row. The
    optimum stays the data's: Poisson against statsmodels, Normal against
    least squares, a strong penalty against scikit-learn (the subsample
    carries its share m/n of it), and a design whose every 8th row is
    separable, so that the subsample's solve runs off towards infinity and
    the intercept-only start must be kept."""
    import statsmodels.api as sm
    from sklearn.linear_model import LogisticRegression

    n = 1 << 15
    X, w, rng = _generated(11, n, 3)
    y = rng.poisson(np.exp(X @ w + 0.5)).astype(np.float64)
    result = ef.fisher_scoring(ef.GLM(ef.Poisson(), 3), (X, y))
    assert result.converged and result.num_steps <= 6
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-14)
    np.testing.assert_allclose(result.params["intercept"], ref.params[0], rtol=1e-9)
    np.testing.assert_allclose(result.params["coef"], ref.params[1:], rtol=1e-9)

    # A Normal GLM warms up through the generic (dense Jacobian) system.
    heights = 1.0 + X @ w + 0.7 * rng.normal(size=n)
    result = ef.fisher_scoring(ef.GLM(ef.Normal(), 3), (X, heights))
    beta, rss, *_ = np.linalg.lstsq(sm.add_constant(X), heights, rcond=None)
    assert result.converged and result.num_steps <= 8
    got = np.r_[result.params["intercept"], result.params["coef"]]
    np.testing.assert_allclose(got, beta, rtol=1e-9)
    variance = np.exp(result.params["log_variance"])
    assert variance == pytest.approx(rss[0] / n, rel=1e-12)

    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ w))).astype(np.float64)
    labels[::8] = X[::8, 0] > 0  # the subsample alone is separable
    for C in (1e-3, None):
        model = ef.GLM(ef.Bernoulli(), 3, C=C)
        result = ef.fisher_scoring(model, (X, labels))
        # From the subsample's optimum the unpenalized solve would start at a
        # mean objective of 18.5 and need 8 steps; the kept start needs 4.
        assert result.converged and result.num_steps <= 6
        sk = LogisticRegression(
            C=np.inf if C is None else C, solver="newton-cholesky", tol=1e-14
        ).fit(X, labels)
        np.testing.assert_allclose(result.params["coef"], sk.coef_[0], rtol=1e-8)
        np.testing.assert_allclose(
            result.params["intercept"], sk.intercept_[0], rtol=1e-8, atol=1e-12
        )


def test_binomial_normal_gamma_glms_match_statsmodels():
    import statsmodels.api as sm

    X, w, rng = _generated(4, 300, 3)
    design = sm.add_constant(X)

    # Binomial with n = 5 trials: statsmodels takes (successes, failures).
    y = rng.binomial(5, 1 / (1 + np.exp(-(X @ w)))).astype(np.float64)
    result = ef.fisher_scoring(ef.GLM(ef.Binomial(5), 3), (X, y))
    ref = sm.GLM(
        np.column_stack([y, 5 - y]), design, family=sm.families.Binomial()
    ).fit(tol=1e-14)
    assert result.converged
    np.testing.assert_allclose(result.params["coef"], ref.params[1:], rtol=1e-9)

    # Normal: ordinary least squares, and the variance MLE RSS / n.
    y = X @ w + 1.0 + 0.5 * rng.normal(size=300)
    result = ef.fisher_scoring(ef.GLM(ef.Normal(), 3), (X, y))
    beta, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert result.converged
    np.testing.assert_allclose(result.params["intercept"], beta[0], rtol=1e-9)
    np.testing.assert_allclose(result.params["coef"], beta[1:], rtol=1e-9)
    variance = float(jnp.exp(result.params["log_variance"]))
    assert variance == pytest.approx(rss[0] / 300, rel=1e-9)

    # Gamma, log link: the mean coefficients do not depend on the shape.
    shape = 3.0
    y = rng.gamma(shape, np.exp(X @ w + 0.2) / shape)
    result = ef.fisher_scoring(ef.GLM(ef.Gamma(), 3), (X, y))
    ref = sm.GLM(y, design, family=sm.families.Gamma(sm.families.links.Log())).fit(
        tol=1e-14
    )
    assert result.converged
    np.testing.assert_allclose(result.params["coef"], ref.params[1:], atol=1e-9)
    np.testing.assert_allclose(result.params["intercept"], ref.params[0], atol=1e-9)
    assert float(jnp.exp(result.params["log_shape"])) == pytest.approx(shape, rel=0.2)


def test_float32_scoring_from_the_default_start():
    """float32: the Normal GLM from GLM.init (σ² = 1, far from the data's) and
    a Poisson GLM near the objective's rounding floor both reach the float64
    optimum to float32 accuracy (the start is the intercept-only MLE; the last
    Newton step is taken even where float32 can no longer see the decrease)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    x = rng.uniform(0, 10, 400)
    design = sm.add_constant(x)
    y = 1.0 + 0.8 * x + 1.5 * rng.normal(size=400)
    beta, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    counts = rng.poisson(np.exp(0.3 + 0.15 * x)).astype(np.float64)
    ref = sm.GLM(counts, design, family=sm.families.Poisson()).fit(tol=1e-14)
    with jax.enable_x64(False):
        inputs = jnp.asarray(x[:, None], jnp.float32)
        normal = ef.fisher_scoring(ef.GLM(ef.Normal(), 1), (inputs, jnp.asarray(y)))
        poisson = ef.fisher_scoring(
            ef.GLM(ef.Poisson(), 1), (inputs, jnp.asarray(counts, jnp.float32))
        )
    assert normal.converged and poisson.converged
    got = [normal.params["intercept"], normal.params["coef"][0]]
    np.testing.assert_allclose(np.asarray(got, np.float64), beta, rtol=2e-5)
    variance = np.exp(np.float64(normal.params["log_variance"]))
    assert variance == pytest.approx(rss[0] / 400, rel=2e-5)
    got = [poisson.params["intercept"], poisson.params["coef"][0]]
    np.testing.assert_allclose(np.asarray(got, np.float64), ref.params, atol=1e-6)


# --------------------------------------------------------------------------- #
# Conditional with a neural-network predictor; the residual gradient
# --------------------------------------------------------------------------- #


def _mlp(params, x):
    hidden = jnp.tanh(params["w1"] @ x + params["b1"])
    return params["w2"] @ hidden + params["b2"]  # (2,): Normal's unconstrained z


def _mlp_init(key):
    k1, k2 = jax.random.split(key)
    return {
        "w1": 0.5 * jax.random.normal(k1, (8, 2)),
        "b1": jnp.zeros(8),
        "w2": 0.5 * jax.random.normal(k2, (2, 8)),
        "b2": jnp.array([0.0, 1.0]),
    }


HETEROSCEDASTIC = ef.Conditional(ef.Normal(), _mlp, init_fn=_mlp_init)


@functools.partial(jax.jit, static_argnums=(0, 4))
def _gradients(model, params, X, y, num_rows):
    """(the residual pullback's parts, autodiff of the objective, mean NLL)."""
    parts = model._objective_parts(params, (X, y), num_rows)
    value, grad = jax.value_and_grad(model.objective)(params, X, y, num_rows)
    nll = -jnp.mean(jax.vmap(model.log_prob, (None, 0, 0))(params, X, y))
    return parts, (grad, value), nll


def _autodiff_check(model, params, X, y, num_rows):
    (grad, value, norm), (expected, objective), nll = _gradients(
        model, params, X, y, num_rows
    )
    np.testing.assert_allclose(flat(grad), flat(expected), rtol=1e-10, atol=1e-12)
    assert float(value) == pytest.approx(float(objective), rel=1e-12)
    assert float(norm) == pytest.approx(np.linalg.norm(flat(expected)), rel=1e-10)
    return float(objective), float(nll)


def test_gradient_is_the_pulled_back_residual_and_equals_autodiff():
    rng = np.random.default_rng(5)
    X = jnp.asarray(rng.normal(size=(64, 2)))
    y = jnp.asarray(X[:, 0] + np.exp(0.5 * X[:, 1]) * rng.normal(size=64))
    params = _mlp_init(jax.random.key(0))
    objective, nll = _autodiff_check(HETEROSCEDASTIC, params, X, y, 64)
    assert objective == pytest.approx(nll, rel=1e-12)  # no penalty

    # A penalized GLM with a dispersion parameter, minibatch scaling of R by n.
    gamma = ef.GLM(ef.Gamma(), 2, C=0.5)
    theta = {
        "coef": jnp.array([0.3, -0.2]),
        "intercept": jnp.array(0.1),
        "log_shape": jnp.array(0.4),
    }
    _autodiff_check(gamma, theta, X, jnp.abs(y) + 0.1, 1000)
    # A Categorical GLM (vector η, centered penalty).
    cat = ef.GLM(ef.Categorical(3), 2, C=2.0)
    theta = {"coef": jnp.array([[0.3, -0.2], [0.5, 0.1]]), "intercept": jnp.ones(2)}
    _autodiff_check(cat, theta, X, jnp.asarray(rng.integers(0, 3, 64), float), 64)


def test_fit_from_an_iterator_of_pairs():
    """(inputs, targets) batches from an iterator: short batches are padded
    with weight 0, so full-data batches padded to 512 rows retrace the
    in-memory full-batch fit, and a padded batch's gradient is the unpadded
    one. A penalized model needs n, which an iterator does not give."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 3))
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.2, 0.1]) + 0.5)).astype(np.float64)
    model = ef.GLM(ef.Poisson(), 3)
    opt = optax.sgd(0.02)
    in_memory = ef.fit(model, (X, y), optimizer=opt, batch_size=300, num_steps=60)
    streamed = ef.fit(
        model, iter([(X, y)] * 60), optimizer=opt, batch_size=512, num_steps=1000
    )
    assert streamed.num_steps == 60
    got, want = flat(streamed.params), flat(in_memory.params)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(streamed.history.nll, in_memory.history.nll, rtol=1e-12)

    params = model.init()
    padded = (jnp.concatenate([X[:100], X[:28]]), jnp.concatenate([y[:100], y[:28]]))
    weights = jnp.concatenate([jnp.ones(100), jnp.zeros(28)])
    got = model._objective_parts(params, padded, 300, weights)
    want = model._objective_parts(params, (X[:100], y[:100]), 300)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(flat(a), flat(b), rtol=1e-12)

    with pytest.raises(ValueError, match=r"iterator batch 1: .*outside the support"):
        ef.fit(model, iter([(X, y), (X, -y)]), batch_size=300, num_steps=5)
    with pytest.raises(ValueError, match="penalty"):
        ef.fit(ef.GLM(ef.Poisson(), 3, C=1.0), iter([(X, y)]), batch_size=300)


def test_conditional_neural_network_fit():
    """A small MLP predicting mean and variance, fitted by minibatch adam."""
    rng = np.random.default_rng(6)
    X = rng.uniform(-2, 2, size=(2000, 2))
    scale = np.exp(0.5 * X[:, 1])
    y = np.sin(X[:, 0]) + scale * rng.normal(size=2000)
    model = HETEROSCEDASTIC
    start = model.init(jax.random.key(1))
    before = float(_objective(model, start, jnp.asarray(X), jnp.asarray(y)))
    result = ef.fit(
        model, (X, y), optimizer=optax.adam(1e-2), batch_size=256, num_steps=1500
    )
    after = float(_objective(model, result.params, jnp.asarray(X), jnp.asarray(y)))
    # The true conditional law's mean NLL: ½ log 2π s² + ½.
    truth = np.mean(0.5 * np.log(2 * np.pi * scale**2) + 0.5)
    assert after < before and after == pytest.approx(truth, abs=0.05)
    mean = model.predict(result.params, jnp.array([0.5, 1.0]))  # E[y], E[y²]
    assert float(mean[0]) == pytest.approx(np.sin(0.5), abs=0.2)

    # The flat-vector and pytree outputs of a predictor are the same model.
    as_tree = ef.Conditional(ef.Normal(), lambda p, x: _mlp(p, x))
    eta = as_tree.natural(result.params, jnp.array([0.5, 1.0]))
    z = _mlp(result.params, jnp.array([0.5, 1.0]))
    np.testing.assert_allclose(eta, ef.Normal().natural_domain.forward(z))


def test_conditional_and_glm_validation():
    with pytest.raises(ValueError, match="init_fn"):
        ef.Conditional(ef.Normal(), _mlp).init(jax.random.key(0))
    with pytest.raises(ValueError, match="flat vector of length 2"):
        ef.Conditional(ef.Normal(), lambda p, x: jnp.zeros(3)).natural({}, 0.0)
    with pytest.raises(ValueError, match="num_features"):
        ef.GLM(ef.Poisson(), 0)
    with pytest.raises(ValueError, match="C must be"):
        ef.GLM(ef.Poisson(), 2, C=-1.0)
    with pytest.raises(ValueError, match="no canonical GLM"):
        ef.GLM(ef.Beta(), 2)
    model = ef.GLM(ef.Poisson(), 2)
    assert hash(model) == hash(ef.GLM(ef.Poisson(), 2))
    with pytest.raises(ValueError, match=r"Poisson.*targets\[1\]"):
        ef.fit(model, (np.zeros((2, 2)), np.array([1.0, -1.0])), num_steps=1)
    # fisher_scoring checks the support inside its solve, then names the sample.
    for bad in (-1.0, 0.5, np.nan):
        with pytest.raises(ValueError, match=r"Poisson.*targets\[1\]"):
            ef.fisher_scoring(model, (np.zeros((3, 2)), np.array([1.0, bad, 2.0])))
    with pytest.raises(ValueError, match="rows"):
        ef.fit(model, (np.zeros((3, 2)), np.array([1.0, 1.0])), num_steps=1)
    with pytest.raises(ValueError, match="pair"):
        ef.fit(model, np.zeros((3, 2)), num_steps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params = model.init(jax.random.key(0))
    assert model.log_prob(params, np.ones(2), 3.0) == pytest.approx(
        3 * 0.0 - 1.0 - np.log(6.0)
    )
