"""Every family against scipy.stats: log-density, mean and variance, entropy.

float64: every parameter draw of the case (extremes included) to 1e-6 relative.
float32: the first two (moderate) draws, to float32 accuracy (1e-4).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam as ef
from tests.helpers import flat, natural
from tests.registry import CASES
from tests.registry import params as case_params

SCIPY_CASES = [c for c in CASES if c.scipy is not None]


def _draws(case, dtype):
    return case.params if dtype == "float64" else case.params[:2]


def _tol(dtype):
    return (1e-6, 1e-9) if dtype == "float64" else (1e-4, 1e-4)


@pytest.mark.parametrize("case", case_params(SCIPY_CASES))
def test_log_prob_matches_scipy(case, dtype):
    rtol, atol = _tol(dtype)
    log_prob = jax.jit(jax.vmap(case.family.log_prob, (None, 0)))
    for i, params in enumerate(_draws(case, dtype)):
        dist = case.scipy(params)
        x = np.asarray(dist.rvs(size=16, random_state=np.random.default_rng(i)))
        x = x.reshape((16, *case.family.event_shape))
        eta = natural(case, params, dtype)
        xs = jnp.asarray(x.astype(dtype) if np.issubdtype(x.dtype, np.floating) else x)
        ours = np.asarray(log_prob(eta, xs), np.float64)
        ref = getattr(dist, case.logpdf)(case.to_scipy(np.asarray(xs, np.float64)))
        # float32 rounds ⟨η, u⟩ and A(η) before they cancel: allow eps-scale
        # error relative to the log-density's own size there.
        atol_i = atol if dtype == "float64" else atol * float(1 + np.max(np.abs(ref)))
        np.testing.assert_allclose(
            ours, ref, rtol=rtol, atol=atol_i, err_msg=f"params={params}"
        )


@pytest.mark.parametrize("case", case_params([c for c in SCIPY_CASES if c.moments]))
def test_moments_match_scipy(case, dtype):
    rtol, atol = _tol(dtype)
    for params in _draws(case, dtype):
        dist = case.scipy(params)
        eta = natural(case, params, dtype)
        mu = flat(case.family.mean_parameters(eta))
        fisher = np.asarray(case.family.fisher_information(eta), np.float64)
        mean, var = case.moments(mu, fisher, params)
        ref_mean, ref_var = (
            case.scipy_moments(dist)
            if case.scipy_moments
            else (dist.mean(), dist.var())
        )
        np.testing.assert_allclose(
            mean, ref_mean, rtol=rtol, atol=atol, err_msg=f"mean, params={params}"
        )
        np.testing.assert_allclose(
            var, ref_var, rtol=rtol, atol=atol, err_msg=f"variance, params={params}"
        )


@pytest.mark.parametrize("case", case_params(SCIPY_CASES))
def test_entropy_matches_scipy(case, dtype):
    rtol, atol = _tol(dtype)
    for params in _draws(case, dtype):
        dist = case.scipy(params)
        eta = natural(case, params, dtype)
        ours = float(case.family.entropy(eta))
        if case.reference_entropy is not None:
            ref = float(case.reference_entropy(params))
        else:
            ref = float(np.sum(dist.entropy()))
        np.testing.assert_allclose(
            ours, ref, rtol=rtol, atol=atol, err_msg=f"params={params}"
        )


def test_poisson_base_measure_is_log_factorial_to_the_last_digits(dtype):
    """−log h(x) = log x! by a table and Stirling's series, as accurate as
    scipy's gammaln(x + 1) from 0 to 10^15 (a few ulps)."""
    from scipy.special import gammaln

    counts = np.concatenate(
        [np.arange(200.0), np.unique(np.round(np.geomspace(200, 1e15, 3000)))]
    ).astype(dtype)
    log_h = jax.jit(jax.vmap(ef.Poisson().log_base_measure))(jnp.asarray(counts))
    ours = -np.asarray(log_h, np.float64)
    ref = gammaln(counts.astype(np.float64) + 1)
    np.testing.assert_allclose(ours[2:], ref[2:], rtol=4 * np.finfo(dtype).eps)
    assert np.all(ours[:2] == 0)  # 0! = 1! = 1
