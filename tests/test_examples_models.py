"""Smoke tests of the model examples, run in-process at reduced sizes.

is_it_a_seven (logistic regression against scikit-learn), new_family (the
continuous Bernoulli through the conformance kit and three fits), mvn_at_scale
(a multivariate normal by one pass and by minibatches), heteroscedastic (an MLP
predicting both Normal parameters against a homoscedastic GLM).
"""

from __future__ import annotations

from tests.example_runner import run_example


def test_is_it_a_seven_matches_scikit_learn(tmp_path):
    r = run_example("is_it_a_seven", tmp_path, "--adam-steps", "200")
    assert r["fisher_converged"]
    assert r["fisher_steps"] <= 20
    # The same optimum: float32 weights within float32 rounding of scikit-learn's
    # float64 Newton solution (largest weight ~1.8).
    assert r["max_coef_diff"] < 1e-4
    assert r["max_prob_diff"] < 1e-4
    assert r["accuracy_expfam"] == r["accuracy_sklearn"]
    assert r["accuracy_expfam"] > r["accuracy_never_7"] + 0.05


def test_new_family_passes_the_kit_and_fits_like_scipy(tmp_path):
    r = run_example("new_family", tmp_path, "--n", "20000", "--check-etas", "0")
    assert r["checks_passed"] == r["checks_run"] == 1
    assert r["stable_mean_max_rel_error"] < 1e-6  # η = 0 and 1e-6 included
    assert r["scipy_density_gap"] < 1e-5
    assert abs(r["eta_fit"] - r["eta_scipy"]) < 1e-4
    assert abs(r["eta_mle"] - r["eta_scipy"]) < 0.05 * r["standard_error"]
    assert abs(r["eta_mle"] - r["eta_true"]) < 4 * r["standard_error"]


def test_mvn_at_scale_one_pass_and_minibatches_reach_the_truth(tmp_path):
    r = run_example(
        "mvn_at_scale",
        tmp_path,
        *("--n", "100000", "--steps", "100", "--batch-size", "4096"),
    )
    assert r["data_mean_gap"] < 1e-5
    assert r["data_cov_gap"] < 1e-5
    # An MLE on n rows: KL(truth ‖ fit) ≈ (#parameters)/(2n), χ²-distributed.
    assert r["mle_kl"] < 3 * r["expected_mle_kl"]
    assert r["fit_kl"] < 5e-3  # from KL ≈ 1 at the start
    assert abs(r["fit_final_nll"] - r["entropy"]) < 0.2  # minibatch noise ~0.04
    assert r["mle_samples_per_s"] > 0 and r["fit_samples_per_s"] > 0


def test_heteroscedastic_beats_the_constant_variance_glm(tmp_path):
    r = run_example(
        "heteroscedastic",
        tmp_path,
        *("--n", "2000", "--n-test", "4000", "--steps", "1500", "--lr", "0.03"),
    )
    # Held-out NLL: the MLP is close to the truth, the GLM far above both.
    assert r["nll_heteroscedastic"] < r["nll_homoscedastic"] - 0.2
    assert r["nll_heteroscedastic"] < r["nll_truth"] + 0.1
    assert r["std_rmse_heteroscedastic"] < 0.05
    assert r["std_rmse_homoscedastic"] > 0.1
    # The GLM is least squares: σ̂ = root mean squared residual.
    assert abs(r["glm_sigma"] - r["glm_sigma_lstsq"]) < 1e-4
    # One shared std is too narrow where the noise is large.
    assert r["coverage_middle_homoscedastic"] < 0.85
    assert r["coverage_middle_heteroscedastic"] > 0.9
