"""ef.fit at its edges: rejected steps, init, resume, odd arguments."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import expfam as ef
from tests.helpers import tree_allclose

ADAM = optax.adam(5e-2)  # one instance: fits share compiled code


# --------------------------------------------------------------------------- #
# 1. A non-finite step is rejected: z and the optimizer state stay as they were
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("family", [ef.Wishart(2), ef.MultivariateNormal(2)])
def test_a_huge_sgd_step_never_poisons_the_fit(family):
    """sgd with learning rate 50 overflows; every step that cannot be made
    finite is refused, so the fit ends at a finite η in the domain."""
    W = np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]]] * 50, np.float32)
    data = W if isinstance(family, ef.Wishart) else W.reshape(-1, 2)
    with pytest.warns(RuntimeWarning, match="did not move the parameters"):
        result = ef.fit(family, data, optimizer=optax.sgd(50.0), num_steps=100)
    assert bool(family._contains(result.natural))
    leaves = jax.tree_util.tree_leaves(result.natural)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)


def test_an_infinite_gradient_is_skipped_with_the_optimizer_state():
    """A batch whose ū overflows (x² = inf in float32) gives an inf gradient:
    the step is rejected and adam's moments are left as they were, so the fit
    equals the same fit without that batch (before: z + 0·inf = NaN)."""
    rng = np.random.default_rng(0)
    batches = list(rng.normal(1.0, 2.0, (6, 20)).astype(np.float32))
    bad = batches[2].copy()
    bad[0] = 1e30
    normal = ef.Normal()
    with_bad = ef.fit(
        normal, iter([*batches[:2], bad, *batches[2:]]), optimizer=ADAM, batch_size=20
    )
    without = ef.fit(normal, iter(batches), optimizer=ADAM, batch_size=20)
    assert with_bad.num_steps == 7 and not np.isfinite(with_bad.history.nll[2])
    np.testing.assert_array_equal(with_bad.natural, without.natural)


def test_a_conditional_fit_skips_an_infinite_gradient_with_the_optimizer_state():
    """The same for a GLM: one batch with an overflowing row (x = 1e20) gives
    an inf gradient; before, adam's moments took the NaN and every later step
    was refused (the coefficients froze)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2)).astype(np.float32)
    y = rng.poisson(np.exp(X @ [0.3, -0.2] + 0.5)).astype(np.float32)
    pairs = [(X[i : i + 20], y[i : i + 20]) for i in range(0, 120, 20)]
    X_bad = pairs[1][0].copy()
    X_bad[0] = 1e20
    glm = ef.GLM(ef.Poisson(), 2)
    kw = dict(optimizer=ADAM, batch_size=20)
    with_bad = ef.fit(glm, iter([*pairs[:1], (X_bad, pairs[1][1]), *pairs[1:]]), **kw)
    without = ef.fit(glm, iter(pairs), **kw)
    assert with_bad.num_steps == 7
    assert not np.isfinite(with_bad.history.residual_norm[1])
    tree_allclose(with_bad.params, without.params, rtol=0, atol=0)


# --------------------------------------------------------------------------- #
# 2. init: dtypes, another family's result, another optimizer's state
# --------------------------------------------------------------------------- #

XS = np.random.default_rng(0).normal(1.0, 2.0, 1000).astype(np.float32)


def test_init_of_another_float_dtype_is_cast_to_the_familys():
    """η is computed in the family's dtype (float32; float64 under x64): an
    init in float16 (before: a crash inside JAX's vjp) or, under x64, a
    float32 init for float64 data fits as the same init in that dtype."""
    normal = ef.Normal()
    start = [0.0, -1.0]
    ref = ef.fit(normal, XS, num_steps=5, init=jnp.array(start, jnp.float32))
    half = ef.fit(normal, XS, num_steps=5, init=jnp.array(start, jnp.float16))
    np.testing.assert_array_equal(half.natural, ref.natural)
    with jax.enable_x64(True):
        xs64 = XS.astype(np.float64)
        ref64 = ef.fit(normal, xs64, num_steps=5, init=jnp.array(start, jnp.float64))
        single = ef.fit(normal, xs64, num_steps=5, init=jnp.array(start, jnp.float32))
        assert single.natural.dtype == jnp.float64
        np.testing.assert_array_equal(single.natural, ref64.natural)
        # A float32 state resumes in float64, its adam moments cast too.
        resumed = ef.fit(normal, xs64, num_steps=5, init=ref.state)
        assert resumed.natural.dtype == jnp.float64
    longer = ef.fit(normal, XS, num_steps=10, init=jnp.array(start, jnp.float32))
    np.testing.assert_allclose(resumed.natural, longer.natural, rtol=1e-5)


def test_init_from_another_family_is_refused_by_name():
    gamma = ef.fit(ef.Gamma(), np.abs(XS) + 0.1, num_steps=5)
    with pytest.raises(ValueError, match=r"Normal\(\).*Gamma\(\)"):
        ef.fit(ef.Normal(), XS, num_steps=5, init=gamma)
    # A bare state carries no family: its parameter shapes are checked.
    with pytest.raises(ValueError, match=r"Wishart.*another family"):
        ef.fit(ef.Wishart(2), np.stack([np.eye(2)] * 4), init=gamma.state)


def test_a_saved_state_records_its_family(tmp_path):
    """A saved state did not record its family: load_state gave a Normal's
    state to a fit of any family with the same shapes. The file now records
    the family's repr, and load_state(path, family) refuses another's. A file
    of the old format (a bare FitState) still loads."""
    import pickle

    normal = ef.Normal()
    result = ef.fit(normal, XS, num_steps=3)
    path, bare = tmp_path / "result.pkl", tmp_path / "bare.pkl"
    ef.save_state(str(path), result)
    ef.save_state(str(bare), result.state, family=normal)
    for p in (path, bare):
        state = ef.load_state(str(p), normal)
        np.testing.assert_array_equal(state.unconstrained, result.state.unconstrained)
        with pytest.raises(ValueError, match=r"LogNormal.*holds a fit state of Normal"):
            ef.load_state(str(p), ef.LogNormal())
    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps(jax.tree_util.tree_map(np.asarray, result.state)))
    state = ef.load_state(str(old), ef.LogNormal())  # nothing recorded to refuse
    np.testing.assert_array_equal(state.step, result.state.step)


def test_init_from_another_optimizers_result_starts_that_optimizer_afresh():
    """natural_gradient's and fisher_scoring's optimizer states (no arrays)
    do not fit adam's: adam starts afresh at the result's parameters, as
    from init=<those parameters> (before: optax's 'number of updates and
    states' error)."""
    normal = ef.Normal()
    newton = ef.fit(normal, XS, optimizer=ef.natural_gradient(normal), num_steps=3)
    adam = ef.fit(normal, XS, optimizer=ADAM, num_steps=5, init=newton)
    plain = ef.fit(normal, XS, optimizer=ADAM, num_steps=5, init=newton.natural)
    assert adam.num_steps == 5
    np.testing.assert_allclose(adam.natural, plain.natural, rtol=1e-6)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = rng.poisson(np.exp(X @ [0.3, -0.2] + 0.5)).astype(np.float32)
    glm = ef.GLM(ef.Poisson(), 2)
    scored = ef.fisher_scoring(glm, (X, y))
    warm = ef.fit(glm, (X, y), optimizer=ADAM, num_steps=5, init=scored)
    cold = ef.fit(glm, (X, y), optimizer=ADAM, num_steps=5, init=scored.params)
    tree_allclose(warm.params, cold.params, rtol=0, atol=0)


# --------------------------------------------------------------------------- #
# 3. Resuming continues the one long run's batch sequence
# --------------------------------------------------------------------------- #

RESUME = dict(optimizer=ADAM, batch_size=32, chunk=10, key=jax.random.key(3))


def _in_pieces(family, data, pieces, **kwargs):
    """Fits ``sum(pieces)`` steps as several resumed fits; the histories."""
    result, nlls = None, []
    for steps in pieces:
        result = ef.fit(family, data, num_steps=steps, init=result, **kwargs)
        nlls.append(result.history.nll)
    return result, np.concatenate(nlls)


@pytest.mark.parametrize("source", ["array", "memmap"])
def test_resume_after_any_number_of_steps_is_one_long_run(source, tmp_path):
    """Splits that are not chunk multiples, across epoch ends (200 rows in
    batches of 32: 6 per epoch): before, the plan's position jumped by a whole
    chunk (the producer's, read ahead), so the resumed fit skipped batches."""
    data = XS[:200]
    if source == "memmap":
        path = tmp_path / "xs.f32"
        data.tofile(path)
        data = np.memmap(path, dtype=np.float32, mode="r", shape=(200,))
    normal = ef.Normal()
    whole = ef.fit(normal, data, num_steps=40, **RESUME)
    pieces, nll = _in_pieces(normal, data, [7, 16, 17], **RESUME)
    np.testing.assert_allclose(nll, whole.history.nll, rtol=1e-6)
    np.testing.assert_allclose(pieces.natural, whole.natural, rtol=1e-6)
    assert int(pieces.state.step) == 40


def test_resume_after_tol_stopped_mid_chunk_is_one_long_run():
    normal = ef.Normal()
    whole = ef.fit(normal, XS[:200], num_steps=40, **RESUME)
    norms = whole.history.residual_norm
    tol = float(np.min(norms[:14])) * (1 + 1e-6)  # first below it: step ≤ 14
    early = ef.fit(normal, XS[:200], num_steps=40, tol=tol, **RESUME)
    stop = early.num_steps
    assert early.converged and stop % RESUME["chunk"] != 0
    rest = ef.fit(normal, XS[:200], num_steps=40 - stop, init=early, **RESUME)
    np.testing.assert_allclose(rest.natural, whole.natural, rtol=1e-6)


def test_an_iterator_is_read_only_as_far_as_the_steps_go():
    """150 steps of 10 read 150 batches (before: 400, the rest of a chunk and
    one prefetched), so a fit resumed on the same iterator loses nothing."""
    reads = [0]

    def stream():
        for i in range(1000):
            reads[0] += 1
            yield XS[(i % 100) * 10 : (i % 100) * 10 + 10]

    normal = ef.Normal()
    kw = dict(optimizer=ADAM, batch_size=10, chunk=100)
    it = stream()
    first = ef.fit(normal, it, num_steps=150, **kw)
    assert reads[0] == 150
    second = ef.fit(normal, it, num_steps=50, init=first, **kw)
    assert reads[0] == 200
    whole = ef.fit(normal, stream(), num_steps=200, **kw)
    np.testing.assert_allclose(second.natural, whole.natural, rtol=1e-6)


def test_an_early_stop_on_an_iterator_drops_at_most_the_chunk_read_ahead():
    """A callback stop after the first chunk of 10 steps: the next chunk may
    have been read ahead (and is dropped), nothing further (before: up to
    two chunks ahead)."""
    reads = [0]

    def stream():
        for _ in range(1000):
            reads[0] += 1
            yield XS[:10]

    result = ef.fit(
        ef.Normal(),
        stream(),
        optimizer=ADAM,
        batch_size=10,
        chunk=10,
        num_steps=500,
        callback=lambda info: True,
    )
    assert result.num_steps == 10 and 10 <= reads[0] <= 20


def test_a_stopped_fit_no_longer_reads_the_iterator():
    """After a callback stop the prefetching worker went on reading the
    user's generator, so a fit resumed on it raised "generator already
    executing". The worker now ends at the next item, before fit returns
    (here it is mid-way through the second chunk when the first stops)."""
    import time

    reads = [0]

    def slow():
        while True:
            if reads[0] >= 10:
                time.sleep(0.1)
            reads[0] += 1
            yield XS[:10]

    items = slow()
    kwargs = dict(optimizer=ADAM, batch_size=10)
    first = ef.fit(
        ef.Normal(), items, num_steps=500, chunk=10, callback=lambda i: True, **kwargs
    )
    seen = reads[0]
    time.sleep(0.3)
    assert reads[0] == seen  # nobody reads it any more
    resumed = ef.fit(ef.Normal(), items, num_steps=3, chunk=3, init=first, **kwargs)
    assert resumed.num_steps == 3


# --------------------------------------------------------------------------- #
# 4. Odd arguments raise a ValueError naming the family; callbacks stop
# --------------------------------------------------------------------------- #


def test_odd_data_and_arguments_are_named(tmp_path):
    normal = ef.Normal()
    np.save(tmp_path / "e.npy", np.zeros(0, np.float32))
    empty = np.load(tmp_path / "e.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"Normal\(\).*empty"):
        ef.fit(normal, empty, num_steps=5)
    np.save(tmp_path / "m.npy", np.zeros((999, 3), np.float32))
    wrong = np.load(tmp_path / "m.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"Normal\(\).*shape \(999, 3\)"):
        ef.fit(normal, wrong, num_steps=5)
    with pytest.raises(ValueError, match=r"Normal\(\).*iterator batch 0.*numbers"):
        ef.fit(normal, iter([[1.0, [2.0, 3.0]]]), batch_size=10)
    with pytest.raises(ValueError, match=r"Normal\(\).*num_steps=2147483648"):
        ef.fit(normal, XS, num_steps=2**31)
    for bad in ("cpu", -1, 0, [0], len(jax.local_devices()) + 1):
        with pytest.raises(ValueError, match=r"Normal\(\).*devices="):
            ef.fit(normal, XS, num_steps=1, devices=bad)
    (tmp_path / "not.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="does not hold an expfam FitState"):
        ef.load_state(str(tmp_path / "not.pkl"))
    one = ef.fit(normal, XS, num_steps=3, devices=jax.devices()[0])
    ref = ef.fit(normal, XS, num_steps=3)
    np.testing.assert_array_equal(one.natural, ref.natural)


@pytest.mark.parametrize(
    "stop", [True, np.True_, jnp.asarray(True), np.asarray(True), 1, np.int64(1)]
)
def test_a_boolean_like_true_from_the_callback_stops_the_fit(stop):
    seen = []

    def callback(info):
        seen.append(info["step"])
        return stop if info["step"] >= 20 else np.False_

    result = ef.fit(
        ef.Poisson(),
        jnp.arange(10.0),
        optimizer=ADAM,
        num_steps=100,
        chunk=10,
        callback=callback,
    )
    assert seen == [10, 20] and result.num_steps == 20


def test_numpy_integers_are_counts_and_strings_are_not_tolerances():
    # np.int64 (from array arithmetic) was refused as batch_size, num_steps
    # and chunk, while tol="1e-3" was accepted.
    normal = ef.Normal()
    xs = np.random.default_rng(0).normal(size=64).astype(np.float32)
    plain = ef.fit(normal, xs, batch_size=16, num_steps=5, chunk=5)
    numpy = ef.fit(
        normal, xs, batch_size=np.int64(16), num_steps=np.int32(5), chunk=np.int64(5)
    )
    np.testing.assert_array_equal(numpy.natural, plain.natural)
    for bad in ("1e-3", True, [1e-3]):
        with pytest.raises(ValueError, match=r"Normal.*tol="):
            ef.fit(normal, xs, num_steps=1, tol=bad)


# --------------------------------------------------------------------------- #
# 5. tol, line-search optimizers, natural_gradient's family
# --------------------------------------------------------------------------- #


def test_the_step_that_meets_tol_does_not_move():
    """A fit started at the MLE meets tol on its first evaluation and returns
    that point (before: one adam step of the learning rate's
    size past it), and with any start the returned η is where the residual
    was measured below tol."""
    gamma = ef.Gamma()
    xs = gamma.sample(
        jax.random.key(3), gamma.natural_from(shape=2.0, rate=3.0), (400,)
    )
    mle = gamma.mle(xs)
    at_mle = ef.fit(gamma, xs, optimizer=ADAM, init=mle, tol=1e-3, num_steps=10)
    assert at_mle.converged and at_mle.num_steps == 0
    assert at_mle.history.residual_norm.size == 1
    # to the round trip η → z → η (an adam step would move it by ~5e-2)
    np.testing.assert_allclose(at_mle.natural, mle, rtol=1e-6)
    from_zero = ef.fit(gamma, xs, optimizer=ADAM, tol=1e-3, num_steps=3000)
    assert from_zero.converged
    final = float(jnp.linalg.norm(gamma.residual(from_zero.natural, xs)))
    np.testing.assert_allclose(final, from_zero.history.residual_norm[-1], rtol=1e-4)


def test_a_line_search_optimizer_gets_the_minibatch_objective():
    """optax.lbfgs needs value and value_fn besides the gradient (before: a
    raw TypeError). value_fn is the minibatch NLL, from its ū: it equals the
    autodiff-checked objective at any other z, and lbfgs reaches the MLE."""
    from expfam._fit import _batch_moments, _objective_parts

    gamma = ef.Gamma()
    xs = gamma.sample(
        jax.random.key(4), gamma.natural_from(shape=2.0, rate=3.0), (400,)
    )
    moments = _batch_moments(gamma, xs, None)
    *_, value_fn = _objective_parts(gamma, jnp.zeros(2), moments)
    z = jnp.array([0.4, -0.2])
    eta = gamma.natural_domain.forward(z)
    want = -jnp.mean(jax.vmap(gamma.log_prob, (None, 0))(eta, xs))
    np.testing.assert_allclose(value_fn(z), want, rtol=1e-6)
    result = ef.fit(gamma, xs, optimizer=optax.lbfgs(), num_steps=40)
    tree_allclose(result.params, gamma.params_from(gamma.mle(xs)), rtol=2e-4)


def test_natural_gradient_of_another_family_is_refused():
    """Its metric and its reading of the gradient are its family's: fitting
    another family, or a conditional model, with it raises by name."""
    gamma, xs = ef.Gamma(), np.full(8, 2.0, np.float32)
    with pytest.raises(ValueError, match=r"natural_gradient\(Normal\(\)\)"):
        ef.fit(gamma, xs, optimizer=ef.natural_gradient(ef.Normal()), num_steps=1)
    glm = ef.GLM(ef.Poisson(), 2)
    data = (np.ones((8, 2), np.float32), np.ones(8, np.float32))
    with pytest.raises(ValueError, match="fisher_scoring"):
        ef.fit(glm, data, optimizer=ef.natural_gradient(ef.Poisson()), num_steps=1)


def test_natural_gradient_inside_a_chain_is_checked_too():
    """fit read natural_gradient's family from its update function, which an
    optax.chain hides: natural_gradient(Normal()) chained with a scale fitted
    a Gamma with the normal's metric, silently. The family is now in the
    optimizer's state (a static pytree node), where a chain keeps it."""
    gamma, xs = ef.Gamma(), np.full(8, 2.0, np.float32)
    xs[::2] = 3.0
    wrong = optax.chain(ef.natural_gradient(ef.Normal()), optax.scale(1.0))
    with pytest.raises(ValueError, match=r"natural_gradient\(Normal\(\)\)"):
        ef.fit(gamma, xs, optimizer=wrong, num_steps=1)
    right = optax.chain(ef.natural_gradient(gamma), optax.scale(1.0))
    result = ef.fit(gamma, xs, optimizer=right, num_steps=20, tol=1e-5)
    assert result.converged
    tree_allclose(result.natural, gamma.mle(xs), rtol=1e-4)
    resumed = ef.fit(gamma, xs, optimizer=right, num_steps=2, init=result)
    assert resumed.num_steps <= 2


def test_an_optimizer_whose_init_needs_concrete_parameters_still_fits():
    """fit traces optimizer.init to find a natural_gradient's family; an init
    that reads its parameters' values cannot be traced, and fit runs it as
    before rather than failing on the check."""

    def init(params):
        assert float(jnp.sum(params)) == float(jnp.sum(params))  # concrete
        return optax.EmptyState()

    def update(updates, state, params=None):
        return jax.tree_util.tree_map(lambda g: -0.1 * g, updates), state

    opt = optax.GradientTransformation(init, update)
    xs = np.random.default_rng(0).normal(size=200).astype(np.float32)
    assert ef.fit(ef.Normal(), xs, optimizer=opt, num_steps=5).num_steps == 5


def test_a_natural_gradient_state_saves_whatever_its_family(tmp_path):
    """The state holds the family, and an ef.family of lambdas does not
    pickle: it is saved empty and rebuilt by init when the fit resumes."""
    normal = ef.Normal()
    fam = ef.family(
        sufficient_statistics=lambda x: jnp.stack([x, x * x]),
        log_partition=normal.log_partition,
        natural_domain=normal.natural_domain,
        name="normal by lambdas",
    )
    xs = np.random.default_rng(0).normal(size=100).astype(np.float32)
    first = ef.fit(fam, xs, optimizer=ef.natural_gradient(fam), num_steps=3)
    path = str(tmp_path / "state.pkl")
    ef.save_state(path, first)
    state = ef.load_state(path, fam)
    more = ef.fit(fam, xs, optimizer=ef.natural_gradient(fam), num_steps=2, init=state)
    assert more.num_steps == 2 and int(more.state.step) == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 0.0},
        {"learning_rate": -1.0},
        {"learning_rate": float("nan")},
        {"learning_rate": True},
        {"damping": -1e-3},
        {"damping": float("inf")},
    ],
)
def test_natural_gradient_arguments_are_checked(kwargs):
    """A learning rate <= 0 or NaN was taken, and the fit never moved."""
    with pytest.raises(ValueError, match=r"natural_gradient\(Normal\(\)\)"):
        ef.natural_gradient(ef.Normal(), **kwargs)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (ef.GLM(ef.Bernoulli(), 2), "fisher_scoring"),  # was an AttributeError
        (ef.Normal, r"class Normal.*Normal\(\)"),  # was accepted
        ("normal", "not an ExponentialFamily"),
    ],
)
def test_natural_gradient_of_what_is_not_a_family_is_refused(target, message):
    with pytest.raises(ValueError, match=message):
        ef.natural_gradient(target)


def test_a_fit_that_stands_still_where_it_converged_does_not_warn():
    """adam at the optimum: its updates round away against the coordinates
    (the parameters stop moving) at the best NLL of the fit: no warning.
    The same stand-still after sgd(50) overflowed is warned about (above)."""
    x = np.random.default_rng(0).normal(1.0, 2.0, 5000).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = ef.fit(
            ef.Normal(), x, optimizer=optax.adam(0.1), num_steps=2000, batch_size=5000
        )
    np.testing.assert_allclose(result.natural, ef.Normal().mle(x), rtol=1e-4)
