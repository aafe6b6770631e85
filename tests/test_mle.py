"""The MLE and the batch helpers: moment matching, inputs of every kind, accuracy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam as ef
from tests.helpers import flat, natural, tree_allclose
from tests.registry import PARAMS


@pytest.mark.parametrize("case", PARAMS)
def test_mle_moment_matches(case):
    """∇A(η̂) = ū, and η̂ recovers the truth within Monte Carlo error."""
    with jax.enable_x64(True):
        fam = case.family
        eta = natural(case, case.typical, "float64")
        n = 20_000
        xs = fam.sample(jax.random.key(7), eta, (n,))
        eta_hat = fam.mle(xs)
        u_bar = fam.average_sufficient_statistics(xs)
        tree_allclose(fam.mean_parameters(eta_hat), u_bar, rtol=1e-8, atol=1e-10)
        # The residual at the MLE vanishes (the likelihood's gradient).
        assert np.abs(flat(fam.residual(eta_hat, xs))).max() < 1e-8 * (
            1 + np.abs(flat(u_bar)).max()
        )
        # Asymptotic normality: η̂ − η ≈ N(0, I⁻¹/n); check in the Fisher metric.
        diff = flat(eta_hat) - flat(eta)
        fisher = np.asarray(fam.fisher_information(eta))
        stat = n * diff @ fisher @ diff  # ≈ χ² with dim(η) degrees of freedom
        dim = np.linalg.matrix_rank(fisher)
        assert stat < dim + 8 * np.sqrt(2 * dim) + 10, stat


def test_mle_same_answer_for_every_input_kind(tmp_path):
    gamma = ef.Gamma()
    rng = np.random.default_rng(0)
    data = rng.gamma(2.0, 1 / 3.0, size=10_001).astype(np.float32)
    path = tmp_path / "data.f32"
    data.tofile(path)
    memmap = np.memmap(path, dtype=np.float32, mode="r", shape=(10_001,))
    chunks = [data[i : i + 1000] for i in range(0, data.size, 1000)]
    answers = [
        gamma.mle(jnp.asarray(data)),
        gamma.mle(data),
        gamma.mle(memmap),
        gamma.mle(iter(chunks)),
        gamma.mle(chunks),
    ]
    for other in answers[1:]:
        tree_allclose(other, answers[0], rtol=1e-5)
    params = gamma.params_from(answers[0])
    assert abs(params["shape"] - 2.0) < 0.1 and abs(params["rate"] - 3.0) < 0.15


def test_a_zero_centre_means_the_plain_sums_on_every_path():
    """A centre of 0 says the plain sums are accurate: the chunked paths
    returned no centre, while the one-program path summed the centred
    statistics about 0 (a second compiled program) and returned the zeros."""
    normal = ef.Normal()
    data = np.random.default_rng(1).normal(size=2000).astype(np.float32)
    chunks = [data[:1000], data[1000:]]
    answers = [
        normal._average_sufficient_statistics(xs, None, centered=True)
        for xs in (data, jnp.asarray(data), chunks)
    ]
    assert [center for _, center in answers] == [None] * 3
    for u_bar, _ in answers[1:]:
        tree_allclose(u_bar, answers[0][0], rtol=1e-6)
    # Far from 0 (a location 100 spreads away) every path centres.
    far = 1e3 + data
    for xs in (far, [far[:1000], far[1000:]]):
        center = normal._average_sufficient_statistics(xs, None, centered=True)[1]
        assert center is not None and abs(float(center) - 1e3) < 5


def test_big_endian_numpy_data(tmp_path):
    """Big-endian arrays (as FITS files store them), which JAX itself rejects,
    give the answers of the same data in native byte order: the one-program
    path (small, and split at the 64-byte boundary), weights, memmaps (read
    chunk by chunk), iterables, minibatch fits and a GLM's (inputs, targets)."""
    gamma = ef.Gamma()
    rng = np.random.default_rng(1)
    native = rng.gamma(2.0, 1 / 3.0, size=300_001).astype(np.float32)  # > 1 MiB
    big = native.astype(">f4")
    weights = rng.random(native.size).astype(np.float32)
    maps = []
    for name, array in (("big", big), ("native", native)):
        array.tofile(tmp_path / name)
        maps.append(np.memmap(tmp_path / name, array.dtype, "r", shape=array.shape))
    for ours, theirs in [  # each against the same kind of input, native
        (big, native),
        (big[:1000], native[:1000]),
        (maps[0], maps[1]),
        ([big[:500], big[500:1000]], [native[:500], native[500:1000]]),
    ]:
        tree_allclose(gamma.mle(ours), gamma.mle(theirs), rtol=1e-6)
    # The weighted copy's alignment splits the float32 sums at other rows too,
    # and η₁ = k − 1 amplifies the rounding of ū: the shape k solves
    # log k − ψ(k) = log E[x] − E[log x] (≈ 0.27 here, against |E[log x]| ≈ 0.68),
    # and k / (k − 1) ≈ 2: ~5 times ū's own relative rounding (~3e-7).
    tree_allclose(
        gamma.mle(big, weights=weights.astype(">f4")),
        gamma.mle(native, weights=weights),
        rtol=3e-6,
    )
    eta = gamma.natural_from(shape=2.0, rate=3.0)
    # The residual cancels ū against ∇A(η) (entries ~1): compare on that scale
    # (the copy's alignment splits the float32 sum at other rows).
    tree_allclose(
        gamma.residual(eta, big), gamma.residual(eta, native), rtol=0, atol=1e-6
    )
    fits = [
        ef.fit(gamma, xs, batch_size=256, num_steps=3, key=jax.random.key(0))
        for xs in (big[:4096], native[:4096])
    ]
    tree_allclose(fits[0].natural, fits[1].natural, rtol=1e-6)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    y = rng.poisson(2.0, 300).astype(np.float32)
    glm = ef.GLM(ef.Poisson(), 2)
    tree_allclose(
        ef.fisher_scoring(glm, (x.astype(">f4"), y.astype(">f4"))).params,
        ef.fisher_scoring(glm, (x, y)).params,
        rtol=1e-6,
    )


def test_weighted_average_matches_repeated_data():
    normal = ef.Normal()
    xs = jnp.array([1.0, 2.0, 5.0])
    weighted = normal.average_sufficient_statistics(
        xs, weights=jnp.array([2.0, 0.0, 1.0])
    )
    repeated = normal.average_sufficient_statistics(jnp.array([1.0, 1.0, 5.0]))
    tree_allclose(weighted, repeated, rtol=1e-6)


def test_float32_average_of_1e8_samples_is_accurate():
    """10^8 float32 samples average to within 1e-6 of the float64 reference."""
    rng = np.random.default_rng(1)
    n = 100_000_000
    xs = rng.standard_normal(n, dtype=np.float32)
    xs += np.float32(3.0)
    u_bar = np.asarray(ef.Normal().average_sufficient_statistics(xs), np.float64)
    # The float64 reference by blocks (no 800 MB copies): within ~1e-15.
    sums = np.zeros(2)
    for block in np.split(xs, 10):
        b64 = block.astype(np.float64)
        sums += [b64.sum(), b64 @ b64]
    np.testing.assert_allclose(u_bar, sums / n, rtol=1e-6)


def test_chunked_and_iterable_inputs_are_validated():
    poisson = ef.Poisson()
    with pytest.raises(ValueError, match=r"Poisson.*chunk 1"):
        poisson.mle([np.array([1.0, 2.0]), np.array([3.0, -1.0])])
    with pytest.raises(ValueError, match="no data"):
        poisson.mle([])


@pytest.mark.parametrize("offset", [0, 8, 16, 24, 56])
def test_numpy_batches_at_every_alignment(offset):
    """A large numpy batch is reduced as its 64-byte-aligned bulk (aliased on
    CPU) plus the few rows around it (copied): same ū, same weights, and a bad
    value in either part is named by its index in the whole batch."""
    from expfam._dtypes import aligned_rows

    with jax.enable_x64(True):
        rng = np.random.default_rng(offset)
        n, d = 40_000, 5  # 1.6 MB: past the split threshold
        buffer = np.empty(n * d + 8)
        start = (-buffer.ctypes.data % 64 + offset) % 64 // 8
        xs = buffer[start : start + n * d].reshape(n, d)
        xs[:] = rng.normal(size=(n, d))
        assert xs.ctypes.data % 64 == offset
        # 40-byte rows: some row within 8 of the start is aligned. The split
        # is for CPU, where jit aliases aligned host memory; elsewhere the
        # batch is copied to the device whole.
        split = offset != 0 and jax.default_backend() == "cpu"
        assert (aligned_rows(xs) is not None) == split
        mvn = ef.MultivariateNormal(d)
        u_bar = mvn.average_sufficient_statistics(xs)
        np.testing.assert_allclose(u_bar[0], xs.mean(0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(u_bar[1], xs.T @ xs / n, rtol=1e-12, atol=1e-15)
        w = rng.random(n)
        u_w = mvn.average_sufficient_statistics(xs, weights=w)
        np.testing.assert_allclose(u_w[0], w @ xs / w.sum(), rtol=1e-12, atol=1e-15)
        for row in (0, n - 1, n // 2):  # around the bulk, and inside it
            xs[row, 2] = np.nan
            with pytest.raises(ValueError, match=rf"xs\[{row}\]"):
                mvn.mle(xs)
            xs[row, 2] = 0.5
