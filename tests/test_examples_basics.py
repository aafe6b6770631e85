"""Smoke tests of the basic MLE examples (coin, heights, die, mutation counts),
run in-process at reduced sizes; each asserts the numbers the example is about."""

from __future__ import annotations

import jax
import pytest

from tests.example_runner import run_example


def test_coin_tosses_mle_is_the_frequency_and_average_converges(tmp_path):
    r = run_example("coin_tosses", tmp_path, "--m", "4000")
    # 70 heads in 100: mle, frequency and the argmax of the curve all give 0.7.
    assert r["frequency"] == 0.7
    assert r["p_hat"] == pytest.approx(0.7, abs=1e-6)
    assert r["p_argmax"] == pytest.approx(0.7, abs=1e-6)
    assert abs(r["residual"]) < 1e-6
    assert r["curve_error"] < 1e-3  # expfam's curve = 70 log p + 30 log(1 − p)
    # The exact limits: −H(p_data) and −cross-entropy, by the two-outcome sum.
    assert r["limit_true_model"] == pytest.approx(r["neg_entropy"], abs=1e-5)
    assert r["limit_wrong_model"] == pytest.approx(r["neg_cross_entropy"], abs=1e-5)
    assert r["limit_true_model"] - r["limit_wrong_model"] == pytest.approx(
        r["kl"], abs=1e-5
    )
    # The running averages end within 4 standard errors of their limits.
    assert abs(r["z_true_model"]) < 4
    assert abs(r["z_wrong_model"]) < 4
    assert r["inside_band_true_model"] > 0.5


def test_heights_closed_form_fit_and_variance_bias(tmp_path):
    r = run_example(
        "heights",
        tmp_path,
        *("--n", "2000", "--steps", "400", "--batch", "250"),
        *("--reps", "4000", "--max-size", "5"),
    )
    # Standardized float32 data give the float64 answer to float32 precision.
    assert r["mle_mean"] == pytest.approx(r["numpy_mean"], rel=1e-6)
    assert r["mle_variance"] == pytest.approx(r["numpy_variance"], rel=1e-5)
    # Adam on minibatches lands on the closed form; the full residual collapsed.
    assert r["fit_mean"] == pytest.approx(r["numpy_mean"], abs=0.05)
    assert r["fit_variance"] == pytest.approx(r["numpy_variance"], rel=5e-3)
    assert r["full_residual_end"] < r["full_residual_start"] / 100
    assert r["minibatch_residual_end"] == pytest.approx(r["noise_floor"], rel=0.5)
    # The 1/N bias: at N = 2 the average MLE variance is σ²/2, not σ².
    assert r["bias_expected_n2"] == pytest.approx(50.0)
    assert r["bias_mean_variance_n2"] == pytest.approx(50.0, abs=3.0)
    assert r["bias_max_abs_z"] < 4.5


def test_die_mle_is_frequency_and_lagrange_maximum(tmp_path):
    x64 = jax.config.jax_enable_x64
    r = run_example("die", tmp_path, "--n", "300", "--directions", "500")
    assert jax.config.jax_enable_x64 == x64  # main restores the x64 setting
    assert r["freq_error"] < 1e-12
    # ∂L/∂θ_k = n_k/θ̂_k = λ = N for every face.
    assert r["grad_min"] == pytest.approx(300.0, rel=1e-10)
    assert r["grad_max"] == pytest.approx(300.0, rel=1e-10)
    assert r["grad_true_spread"] > 1.0  # not stationary at the true θ
    assert r["ll_hat"] == pytest.approx(r["ll_textbook"], rel=1e-12)
    # No random point of the simplex beats θ̂.
    assert r["num_not_lower"] == 0
    assert r["ll_best_perturbed"] < r["ll_hat"]


def test_mutation_counts_poisson_mle_and_glm_match_statsmodels(tmp_path):
    r = run_example("mutation_counts", tmp_path, "--cells", "200", "--lineages", "150")
    assert r["rate_hat"] == pytest.approx(r["sample_mean"], rel=1e-6)
    assert r["converged"]
    # float32 Fisher scoring against statsmodels' float64 IRLS.
    assert r["coef_max_abs_diff"] < 1e-4
    assert r["a_expfam"] == pytest.approx(r["a_statsmodels"], abs=1e-4)
    assert r["b_expfam"] == pytest.approx(r["b_statsmodels"], abs=1e-4)
    # and near the truth (a = 0.3, b = 0.15) at 150 lineages
    assert r["b_expfam"] == pytest.approx(0.15, abs=0.03)
