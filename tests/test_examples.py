"""The quickstart runs (reduced size) and its two fits agree."""

from __future__ import annotations

from tests.example_runner import load_example


def test_quickstart_mle_and_natural_gradient_fit_agree(capsys):
    gaps = load_example("quickstart").main(["--n", "3000"])
    out = capsys.readouterr().out
    assert "| family | parameter | true | mle | fit (steps) |" in out
    assert len(gaps) == 10
    # Both maximize the same likelihood: the float32 fits agree to ~1e-5.
    assert max(gaps.values()) < 1e-3, gaps
