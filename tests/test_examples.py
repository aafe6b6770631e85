"""Smoke test of the quickstart example (the README's first table)."""

from __future__ import annotations

from tests.example_runner import load_example


def test_quickstart_mle_and_natural_gradient_fit_agree(capsys, monkeypatch):
    quickstart = load_example("quickstart")
    # Four of its ten families, a scalar, a bounded, a discrete and a
    # multivariate one: each family costs its own compiles (the suite's
    # longest test with all ten), and tests/test_fit.py fits every family.
    subset = [quickstart.MODELS[i] for i in (0, 4, 7, 9)]
    monkeypatch.setattr(quickstart, "MODELS", subset)
    gaps = quickstart.main(["--n", "3000"])
    out = capsys.readouterr().out
    assert "| family | parameter | true | mle | fit (steps) |" in out
    assert len(gaps) == len(subset)
    # Both maximize the same likelihood: the float32 fits agree to ~1e-5.
    assert max(gaps.values()) < 1e-3, gaps
