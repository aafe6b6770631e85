"""ef.fit and the natural gradient: correctness, inputs, resume, devices."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import expfam as ef
from expfam._fit import _batch_moments, _objective_parts
from tests.helpers import flat, natural, tree_allclose
from tests.registry import PARAMS

ADAM = optax.adam(5e-2)  # one instance: fits share compiled code


@pytest.mark.parametrize("case", PARAMS)
def test_fit_reaches_the_mle(case):
    """Full-batch natural gradient from the default start equals moment matching."""
    with jax.enable_x64(True):
        fam = case.family
        eta = natural(case, case.typical, "float64")
        xs = fam.sample(jax.random.key(5), eta, (20_000,))  # shape shared with the kit
        result = ef.fit(
            fam,
            xs,
            optimizer=ef.natural_gradient(fam),
            batch_size=xs.shape[0],
            num_steps=200,
            tol=1e-9,
        )
        assert result.converged, result.history.residual_norm[-5:]
        eta_hat = fam.mle(xs)
        scale = max(1.0, np.abs(flat(eta_hat)).max())
        tree_allclose(result.natural, eta_hat, rtol=1e-6, atol=1e-6 * scale)
        assert result.num_steps == len(result.history.nll) - 1  # the last met tol


def test_streamed_batches_are_checked_in_the_callers_precision():
    """The prefetch thread checks batches under the caller's jax.enable_x64
    context (thread-local): 1e40 is finite in float64, not inf in float32."""
    with jax.enable_x64(True):
        xs = np.random.default_rng(0).normal(size=2000) * 1e40
        result = ef.fit(ef.Normal(), iter(np.split(xs, 4)), batch_size=500)
    assert result.num_steps == 4


def test_natural_gradient_on_correlated_data_in_float32():
    """Iris (4 correlated features), float32: the Newton step stays within the
    symmetric directions of the MVN's matrix parameter, whose Fisher over all
    d² entries is singular, and reaches the MLE's NLL in a few steps."""
    from sklearn.datasets import load_iris

    X = load_iris().data
    z = jnp.asarray((X - X.mean(0)) / X.std(0), jnp.float32)
    mvn = ef.MultivariateNormal(4)
    result = ef.fit(
        mvn, z, optimizer=ef.natural_gradient(mvn), batch_size=150, num_steps=30
    )
    best = -float(jnp.mean(jax.vmap(mvn.log_prob, (None, 0))(mvn.mle(z), z)))
    assert result.history.nll[15] == pytest.approx(best, abs=1e-4)


def test_gradient_is_the_pulled_back_residual_and_equals_autodiff():
    gamma = ef.Gamma()
    xs = gamma.sample(
        jax.random.key(0), gamma.natural_from(shape=2.0, rate=3.0), (500,)
    )
    z = jnp.array([0.3, -0.7])

    def mean_nll(z):
        eta = gamma.natural_domain.forward(z)
        return -jnp.mean(jax.vmap(gamma.log_prob, (None, 0))(eta, xs))

    grad_z, nll, norm, _ = _objective_parts(gamma, z, _batch_moments(gamma, xs, None))
    np.testing.assert_allclose(grad_z, jax.grad(mean_nll)(z), rtol=1e-5)
    np.testing.assert_allclose(nll, mean_nll(z), rtol=1e-6)
    eta = gamma.natural_domain.forward(z)
    np.testing.assert_allclose(
        norm, jnp.linalg.norm(gamma.residual(eta, xs)), rtol=1e-6
    )


def test_no_step_leaves_the_domain():
    normal = ef.Normal()
    xs = normal.sample(
        jax.random.key(1), normal.natural_from(mean=3.0, variance=0.5), (1000,)
    )
    # The fit stays in the domain, and says that it stood still far from
    # where it had been (a warning, new; it was silent).
    with pytest.warns(RuntimeWarning, match="did not move the parameters"):
        result = ef.fit(
            normal, xs, optimizer=optax.sgd(50.0), batch_size=100, num_steps=300
        )
    assert bool(normal.natural_domain.contains(result.natural))
    assert np.all(np.isfinite(result.history.nll))


def test_minibatch_adam_approaches_the_mle_and_tol_stops_early():
    poisson = ef.Poisson()
    xs = poisson.sample(jax.random.key(2), jnp.log(4.0), (20_000,))
    result = ef.fit(poisson, xs, optimizer=ADAM, batch_size=2000, num_steps=2000)
    assert abs(float(result.natural) - float(poisson.mle(xs))) < 0.02
    early = ef.fit(
        poisson, xs, optimizer=ADAM, batch_size=20_000, num_steps=5000, tol=1e-3
    )
    assert early.converged and early.num_steps < 5000
    assert early.history.residual_norm[-1] < 1e-3
    assert np.all(early.history.residual_norm[:-1] >= 1e-3)
    assert early.params["rate"] == pytest.approx(float(jnp.mean(xs)), rel=1e-3)


def test_full_batch_steps_read_the_data_once(monkeypatch):
    """The full-batch gradient depends on the data only through (ū, mean
    log h): the compiled steps are handed those, never the batch (before,
    every step summed u over all rows again), and the fit is unchanged."""
    from expfam import _fit

    handed = []
    make = _fit._make_chunk_runner

    def recording(config):
        runner = make(config)

        def run(state, data, batches, limit, tol):
            handed.append((batches, [np.shape(a) for a in jax.tree.leaves(data)]))
            return runner(state, data, batches, limit, tol)

        return run

    monkeypatch.setattr(_fit, "_cached_runner", recording)
    poisson = ef.Poisson()
    xs = poisson.sample(jax.random.key(2), jnp.log(4.0), (20_000,))
    result = ef.fit(
        poisson, xs, optimizer=ADAM, batch_size=20_000, num_steps=30, chunk=10
    )
    assert len(handed) == 3
    assert all(b is None and shapes == [(), ()] for b, shapes in handed)
    # The same steps on the same ū as minibatches that happen to be the data.
    manual = ADAM.init(jnp.zeros(()))
    z = jnp.zeros(())
    for _ in range(30):
        grad, *_ = _objective_parts(poisson, z, _batch_moments(poisson, xs, None))
        updates, manual = ADAM.update(grad, manual, z)
        z = z + updates
    np.testing.assert_allclose(result.natural, z, rtol=1e-6)


def _gamma_memmap(tmp_path, *, seed, n):
    """(data, path, memmap): n float32 gamma draws written to a file and
    mapped back read-only."""
    data = np.random.default_rng(seed).gamma(2.0, 0.5, size=n).astype(np.float32)
    path = tmp_path / "gamma.f32"
    data.tofile(path)
    return data, path, np.memmap(path, dtype=np.float32, mode="r", shape=data.shape)


def test_full_batch_over_a_memmap_streams_one_pass(tmp_path, monkeypatch):
    """A full-batch fit of a host array is summarized block by block (every
    block checked, the last one padded), never stacked per step: before, each
    chunk of steps held chunk copies of the whole array."""
    from expfam import _fit, _stats

    monkeypatch.setattr(_stats, "CHUNK_ROWS", 1000)  # blocks: 3 × 1000 + 500
    gamma = ef.Gamma()
    data, path, memmap = _gamma_memmap(tmp_path, seed=4, n=3500)
    opt = ef.natural_gradient(gamma)
    result = ef.fit(gamma, memmap, optimizer=opt, batch_size=10_000, num_steps=30)
    tree_allclose(result.natural, gamma.mle(data), rtol=1e-4)
    u_bar, _ = _fit._host_summary(gamma, memmap, None)
    tree_allclose(u_bar, gamma.average_sufficient_statistics(data), rtol=1e-6)
    # Big-endian files (FITS, some binary formats) are read in native order.
    swapped = tmp_path / "gamma.be"
    data.astype(">f4").tofile(swapped)
    big = np.memmap(swapped, dtype=">f4", mode="r", shape=data.shape)
    again = ef.fit(gamma, big, optimizer=opt, batch_size=10_000, num_steps=30)
    tree_allclose(again.natural, result.natural, rtol=1e-6)
    data[2600] = -1.0
    data.tofile(path)
    with pytest.raises(ValueError, match=r"Gamma.*data\[2000:3000\]"):
        ef.fit(
            gamma,
            np.memmap(path, dtype=np.float32, mode="r", shape=data.shape),
            optimizer=opt,
            batch_size=10_000,
            num_steps=3,
        )


def test_memmap_and_iterator_inputs(tmp_path):
    gamma = ef.Gamma()
    data, _, memmap = _gamma_memmap(tmp_path, seed=3, n=8192)
    opt = ef.natural_gradient(gamma)
    target = gamma.mle(data)
    from_memmap = ef.fit(gamma, memmap, optimizer=opt, batch_size=8192, num_steps=30)
    tree_allclose(from_memmap.natural, target, rtol=1e-4)
    # Minibatches from a memmap: contiguous blocks in random order, all in range.
    mini = ef.fit(gamma, memmap, optimizer=ADAM, batch_size=1024, num_steps=400)
    tree_allclose(mini.natural, target, rtol=0.1)
    batches = (data[i : i + 1000] for i in range(0, 8192, 1000))
    from_iter = ef.fit(gamma, batches, optimizer=ADAM, batch_size=1000, num_steps=100)
    assert from_iter.num_steps == 9  # the iterator ran out after 9 batches
    bad = iter([data[:10], -data[:10]])
    with pytest.raises(ValueError, match=r"Gamma.*iterator batch 1"):
        ef.fit(gamma, bad, batch_size=10, num_steps=5)


def test_resume_continues_exactly_and_state_round_trips(tmp_path):
    normal = ef.Normal()
    xs = normal.sample(
        jax.random.key(4), normal.natural_from(mean=1.0, variance=2.0), (5000,)
    )
    kwargs = dict(optimizer=ADAM, batch_size=500, key=jax.random.key(9), chunk=50)
    whole = ef.fit(normal, xs, num_steps=200, **kwargs)
    first = ef.fit(normal, xs, num_steps=100, **kwargs)
    path = tmp_path / "state.pkl"
    ef.save_state(str(path), first)
    resumed = ef.fit(normal, xs, num_steps=100, init=ef.load_state(str(path)), **kwargs)
    tree_allclose(resumed.natural, whole.natural, rtol=1e-6)
    np.testing.assert_allclose(
        np.concatenate([first.history.nll, resumed.history.nll]),
        whole.history.nll,
        rtol=1e-6,
    )
    assert int(resumed.state.step) == 200


def test_an_interrupted_fit_loses_nothing(tmp_path):
    """Ctrl-C (here raised by a callback) or a bad block deep in a memmap stops
    the fit with ``error.fit_state``, the last whole state, from which the fit
    resumes to the uninterrupted answer; the callback's ``state`` checkpoints
    every chunk."""
    normal = ef.Normal()
    xs = normal.sample(
        jax.random.key(4), normal.natural_from(mean=1.0, variance=2.0), (5000,)
    )
    kwargs = dict(optimizer=ADAM, batch_size=500, key=jax.random.key(9), chunk=50)
    whole = ef.fit(normal, xs, num_steps=200, **kwargs)
    saved = []

    def checkpoint_then_stop(info):
        ef.save_state(str(tmp_path / f"step{info['step']}.pkl"), info["state"])
        saved.append(info["step"])
        if info["step"] == 150:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        ef.fit(normal, xs, num_steps=200, callback=checkpoint_then_stop, **kwargs)
    state = stopped.value.fit_state
    assert int(state.step) == 150 and saved == [50, 100, 150]
    resumed = ef.fit(normal, xs, num_steps=50, init=state, **kwargs)
    tree_allclose(resumed.natural, whole.natural, rtol=1e-6)
    checkpoint = ef.load_state(str(tmp_path / "step100.pkl"))
    again = ef.fit(normal, xs, num_steps=100, init=checkpoint, **kwargs)
    tree_allclose(again.natural, whole.natural, rtol=1e-6)

    # A NaN in the last block of a memmap: the error names it and keeps the
    # state of the steps taken before it.
    data = np.asarray(xs, np.float32).copy()
    data[-1] = np.nan
    path = tmp_path / "data.f32"
    data.tofile(path)
    memmap = np.memmap(path, dtype=np.float32, mode="r", shape=data.shape)
    with pytest.raises(ValueError, match="NaN") as bad:
        ef.fit(normal, memmap, num_steps=200, **kwargs)
    assert isinstance(bad.value.fit_state, ef.FitState)
    assert 0 <= int(bad.value.fit_state.step) < 200


def test_user_family_without_conventional_parameters_fits():
    from tests.test_core import RAYLEIGH

    xs = RAYLEIGH.sample(jax.random.key(0), jnp.asarray(-0.125), (4000,))
    result = ef.fit(
        RAYLEIGH,
        xs,
        optimizer=ef.natural_gradient(RAYLEIGH),
        batch_size=4000,
        num_steps=50,
    )
    assert result.params is None
    np.testing.assert_allclose(result.natural, RAYLEIGH.mle(xs), rtol=1e-4)


def test_bad_data_and_arguments_raise_before_fitting():
    with pytest.raises(ValueError, match=r"Poisson.*data\[1\]"):
        ef.fit(ef.Poisson(), jnp.array([1.0, -2.0]), num_steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        ef.fit(ef.Poisson(), jnp.array([1.0, 2.0]), batch_size=0)


def test_callback_can_stop_and_progress_is_off_without_a_terminal(capsys):
    seen = []

    def callback(info):
        seen.append(info["step"])
        return info["step"] >= 20

    xs = jnp.arange(10.0)
    result = ef.fit(
        ef.Poisson(), xs, optimizer=ADAM, num_steps=100, chunk=10, callback=callback
    )
    assert seen == [10, 20] and result.num_steps == 20
    assert "fit Poisson" not in capsys.readouterr().err


_SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, optax, expfam as ef
    assert len(jax.devices()) == 4
    normal = ef.Normal()
    eta = normal.natural_from(mean=2.0, variance=3.0)
    xs = normal.sample(jax.random.key(0), eta, (4003,))
    opt = optax.adam(5e-2)
    out = []
    for devices in (1, 4):
        r = ef.fit(normal, xs, optimizer=opt, batch_size=400, num_steps=150,
                   key=jax.random.key(1), devices=devices)
        out.append(np.asarray(r.natural))
    full = ef.fit(normal, xs, optimizer=ef.natural_gradient(normal), batch_size=4003,
                  num_steps=30, devices=4)
    print(repr(out[0].tolist()), repr(out[1].tolist()))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5)
    np.testing.assert_allclose(full.natural, normal.mle(xs), rtol=1e-5)
    # One device by name runs there (it ran on the default device), with
    # data in memory, on the host and from an iterator.
    sources = (lambda: xs, lambda: np.asarray(xs),
               lambda: iter([np.asarray(xs[:400])] * 5))
    for source in sources:
        for devices in (jax.devices()[3], [jax.devices()[2]]):
            r = ef.fit(normal, source(), optimizer=opt, batch_size=400,
                       num_steps=5, devices=devices)
            assert r.num_steps == 5
            want = devices if isinstance(devices, list) else [devices]
            assert r.natural.devices() == set(want), (r.natural.devices(), want)
    print("OK")
    """
)


def test_sharded_fit_equals_single_device():
    flags = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    )
    env = dict(os.environ, XLA_FLAGS=flags.strip())
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", _SHARDED],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
