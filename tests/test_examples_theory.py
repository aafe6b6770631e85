"""Smoke tests of the theory examples: MLE = min KL = min cross-entropy, the
residual as the gradient, least squares as Gaussian MLE, MSE vs cross-entropy.

Each runs the example in-process at a reduced size and checks the numbers it is
about."""

from __future__ import annotations

import math

from tests.example_runner import run_example


def test_mle_kl_cross_entropy_share_one_minimizer(tmp_path):
    r = run_example("mle_kl_cross_entropy", tmp_path, "--n", "200")
    # NLL = H(p̂) + KL(p̂ ‖ p) = H(p̂, p) along the whole path, to float64 rounding.
    assert r["max_gap_nll_vs_entropy_plus_kl"] < 1e-12
    assert r["max_gap_nll_vs_cross_entropy"] < 1e-12
    # mle is moment matching: p̂ itself, with zero residual.
    assert r["mle_vs_empirical"] < 1e-12
    assert r["residual_at_mle"] < 1e-12
    # The three minimizers are the MLE (t = 1 on the path), and min KL is 0.
    for name in ("argmin_nll", "argmin_cross_entropy", "argmin_kl"):
        assert abs(r[name] - 1.0) < 1e-6, (name, r[name])
    assert abs(r["min_kl"]) < 1e-12
    assert 0.0 < r["entropy"] < math.log(6)


def test_residual_descent_all_methods_reach_the_mle(tmp_path):
    r = run_example("residual_descent", tmp_path, "--n", "500", "--steps", "1200")
    # The residual is the gradient of the mean log-likelihood.
    assert r["residual_vs_autodiff"] < 1e-12
    assert r["mle_vs_scipy"] < 1e-6
    for method in ("gradient_ascent", "adam", "natural_gradient"):
        # Each reaches a residual below 1e-6 (steps_* is −1 if it never does).
        assert r[f"steps_{method}"] > 0, method
        assert r[f"final_residual_{method}"] < 1e-6 * r[f"initial_residual_{method}"]
        assert r[f"distance_{method}"] < 1e-5, method
    # Newton's method needs a handful of steps, first-order methods hundreds.
    assert r["steps_natural_gradient"] <= 12
    assert r["steps_gradient_ascent"] > 5 * r["steps_natural_gradient"]
    assert r["steps_adam"] > 5 * r["steps_natural_gradient"]


def test_linear_regression_is_least_squares(tmp_path):
    r = run_example("linear_regression", tmp_path, "--n", "60")
    assert r["converged"]
    assert math.isclose(r["slope"], r["slope_lstsq"], rel_tol=1e-9)
    assert math.isclose(r["intercept"], r["intercept_lstsq"], rel_tol=1e-9)
    # σ̂² is the MLE SSE/n, not the unbiased SSE/(n − 2).
    assert math.isclose(r["sigma2"], r["sigma2_mle"], rel_tol=1e-7)
    assert r["sigma2_unbiased"] > r["sigma2"] * (1 + 1e-3)
    assert math.isclose(r["mean_nll"], r["mean_nll_closed_form"], rel_tol=1e-12)
    # NLL = ½ log 2πσ̂² + MSE / (2σ̂²) along the path of slopes.
    assert r["affine_gap"] < 1e-10
    assert math.isclose(r["nll_vs_mse_slope"], 0.5 / r["sigma2"], rel_tol=1e-9)
    assert math.isclose(
        r["nll_vs_mse_intercept"],
        0.5 * math.log(2 * math.pi * r["sigma2"]),
        rel_tol=1e-9,
    )


def test_mse_stalls_where_cross_entropy_recovers(tmp_path):
    r = run_example("mse_vs_cross_entropy", tmp_path, "--n", "300", "--steps", "80")
    assert r["ce_start_accuracy"] == r["mse_start_accuracy"] < 0.4
    # Cross-entropy reaches the optimum's accuracy; MSE barely moves.
    assert abs(r["ce_final_accuracy"] - r["reference_accuracy"]) <= 0.03
    assert r["mse_final_accuracy"] < 0.4
    assert r["mse_final_bce"] > 5 * r["ce_final_bce"]
    # On the misclassified samples MSE's gradient is many times smaller.
    assert r["mean_grad_ce_wrong"] > 10 * r["mean_grad_mse_wrong"]
    assert r["factor_gap"] < 1e-6
